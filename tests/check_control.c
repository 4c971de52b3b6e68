/*
 * check_control.c: unit tests for the control channel without root and
 * without a daemon: the transport (src/control.c) on a socket in a
 * scratch folder, driven by one libevent loop in this thread, and the
 * command handlers (src/commands.c) over it, against a fake daemon
 * (service.h). What is checked is what a client reads back.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "cmd.h"
#include "commands.h"
#include "control.h"
#include "proto.h"
#include "record.h"

static struct event_base *base;
static struct control *ctl;
static struct commands *cmds;
static char dir[] = "/tmp/check_control.XXXXXX";
static char path[128];
static struct tf_config cfg;

/* --- the fake daemon ------------------------------------------------------ */

#define NFAKE 3
static struct flow fake[NFAKE];
static char *submitted[8];
static int nsubmitted;

static const struct tf_config *
fake_config(void *arg)
{
	return &cfg;
}

static void
fake_counters(void *arg, struct service_counters *out)
{
	memset(out, 0, sizeof *out);
	out->engine.frames = 1234;
	out->engine.tcp = 1200;
	out->output.frames_lost = 7;
	out->flows_active = NFAKE;
	out->spool.files = 42;
	out->frag_pending = 3;
	out->spool.deleted = 3;
	out->engine.reasons[DECODE_BAD_TCP] = 2;
	out->engine.ended[FLOW_R_IDLE] = 4;
	out->ipfix = json_pack("{s:I,s:I}", "sent", (json_int_t)9, "lost", (json_int_t)1);
}

static int
fake_interface(void *arg, unsigned i, struct service_iface *out)
{
	if (i > 0)
		return -1;
	memset(out, 0, sizeof *out);
	out->name = "eth9";
	out->kernel_drops = 5;
	out->error = "eth9: gone";
	return 0;
}

/* The service's walk of the active flows: fake[] in order. */
static void *
fake_flows_begin(void *arg)
{
	size_t *at = calloc(1, sizeof *at);

	ck_assert_ptr_nonnull(at);
	return at;
}

static const struct flow *
fake_flows_next(void *arg, void *walk)
{
	size_t *at = walk;

	return *at < NFAKE ? &fake[(*at)++] : NULL;
}

static void
fake_flows_end(void *arg, void *walk)
{
	free(walk);
}

static const char *
fake_iface_name(void *arg, uint32_t id)
{
	return id == 0 ? "eth9" : NULL;
}

static int
fake_submit(void *arg, char *const *labels, int n, int *missing)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(labels[i], "nosuch") == 0) {
			*missing = i;
			return -1;
		}
	for (i = 0; i < n && nsubmitted < 8; i++)
		submitted[nsubmitted++] = strdup(labels[i]);
	return n;
}

static int
fake_reload(void *arg, char **cause)
{
	*cause = strdup("/etc/traceflow.conf:3: idle_timeout: bad value");
	return -1;
}

static void
make_fake_flows(void)
{
	int i;

	memset(fake, 0, sizeof fake);
	for (i = 0; i < NFAKE; i++) {
		struct flow *f = &fake[i];

		f->key.af = 4;
		memcpy(f->key.a, (uint8_t[]){10, 0, 0, 1}, 4);
		memcpy(f->key.b, (uint8_t[]){10, 0, 0, (uint8_t)(2 + i)}, 4);
		f->key.aport = (uint16_t)(40000 + i);
		f->key.bport = i == 2 ? 443 : 80;
		f->first = f->seg_first = 1300475168855330000ULL + (uint64_t)i * 1000000000ULL;
		f->last = f->seg_last = f->first + 1000;
		f->packets = f->seg_packets = 3;
	}
}

/* --- a client, by hand ---------------------------------------------------- */

/* Run the loop for about ms milliseconds. */
static void
pump(int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static int
dial(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	ck_assert_int_ge(fd, 0);
	strcpy(sun.sun_path, path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	return fd;
}

static void
send_request(int fd, int argc, char **argv)
{
	char *cause = NULL;
	size_t len;
	uint8_t *msg = proto_request_encode(argc, argv, &len, &cause);

	ck_assert_ptr_nonnull(msg);
	ck_assert_int_eq(write(fd, msg, len), (ssize_t)len);
	free(msg);
}

/*
 * Read a whole reply (pumping the loop meanwhile) within ms: its JSON
 * text (malloc'd) and exit status; NULL if the connection closed without
 * one or time ran out.
 */
static char *
read_reply(int fd, uint32_t *status, int ms)
{
	size_t cap = 1 << 16, len = 0, off = 0;
	uint8_t *buf = malloc(cap);
	char *doc = calloc(1, 1);
	size_t dlen = 0;
	struct proto_hdr h;
	ssize_t n;
	int waited;

	for (waited = 0; waited < ms; waited += 5) {
		pump(5);
		for (;;) {
			if (cap - len < 65536)
				buf = realloc(buf, cap *= 2);
			n = read(fd, buf + len, cap - len);
			if (n <= 0)
				break;
			len += (size_t)n;
		}
		while (len - off >= sizeof h) {
			memcpy(&h, buf + off, sizeof h);
			if (len - off < sizeof h + h.len)
				break;
			if (h.type == PROTO_EXIT) {
				memcpy(status, buf + off + sizeof h, sizeof *status);
				free(buf);
				return doc;
			}
			doc = realloc(doc, dlen + h.len + 1);
			memcpy(doc + dlen, buf + off + sizeof h, h.len);
			dlen += h.len;
			doc[dlen] = '\0';
			off += sizeof h + h.len;
		}
		if (n == 0)
			break; /* closed */
	}
	free(buf);
	free(doc);
	return NULL;
}

/* One request, its reply parsed. */
static json_t *
ask(uint32_t *status, int argc, char **argv)
{
	int fd = dial();
	char *doc;
	json_t *j;

	send_request(fd, argc, argv);
	doc = read_reply(fd, status, 2000);
	close(fd);
	ck_assert_msg(doc != NULL, "no reply to %s", argv[0]);
	j = json_loads(doc, 0, NULL);
	ck_assert_msg(j != NULL, "reply is not JSON: %s", doc);
	free(doc);
	return j;
}

/* Whether the daemon closed fd (read returns 0) within ms. */
static int
closed_within(int fd, int ms)
{
	char b[4096];
	int waited;
	ssize_t n;

	for (waited = 0; waited < ms; waited += 10) {
		pump(10);
		while ((n = read(fd, b, sizeof b)) > 0)
			;
		if (n == 0 || (n == -1 && errno != EAGAIN))
			return 1;
	}
	return 0;
}

/* --- set-up --------------------------------------------------------------- */

static void
start(unsigned request_ms, unsigned max_per_uid)
{
	struct service svc = {NULL, fake_config, fake_counters, fake_interface, fake_flows_begin,
	    fake_flows_next, fake_flows_end, fake_iface_name, fake_submit, fake_reload};
	struct control_params p = {0};
	char *cause = NULL;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(path, sizeof path, "%s/control.sock", dir);
	config_defaults(&cfg);
	make_fake_flows();
	base = event_base_new();
	event_base_priority_init(base, 3);
	cmds = commands_new(&svc, 4, 1 << 20);
	p.path = path;
	p.mode = 0666; /* a test connects as nobody too */
	p.priority = 2;
	p.handlers = commands_handlers;
	p.arg = cmds;
	p.request_ms = request_ms;
	p.max_per_uid = max_per_uid;
	ctl = control_new(base, &p, &cause);
	ck_assert_msg(ctl != NULL, "control_new: %s", cause);
	control_enable(ctl);
}

static void
setup(void)
{
	start(0, 0);
}

static void
teardown(void)
{
	int i;

	control_free(ctl);
	commands_free(cmds);
	event_base_free(base);
	config_free(&cfg);
	rmdir(dir);
	strcpy(dir, "/tmp/check_control.XXXXXX");
	for (i = 0; i < nsubmitted; i++)
		free(submitted[i]);
	nsubmitted = 0;
}

/* A finished flow, as the engine reports it after its index line. */
static void
finish(const char *label, const char *src, int sport, const char *frames)
{
	struct flow_key key = {0};
	struct index_record r;

	memset(&r, 0, sizeof r);
	snprintf(r.label, sizeof r.label, "%s", label);
	snprintf(r.src, sizeof r.src, "%s", src);
	r.srcport = (uint16_t)sport;
	snprintf(r.dst, sizeof r.dst, "192.0.2.1");
	r.dstport = 25;
	r.reason = FLOW_R_FIN;
	commands_flow_done(&key, 0, &r, frames, 1, cmds);
}

/* --- transport ------------------------------------------------------------ */

START_TEST(test_version)
{
	char *argv[] = {"version"};
	uint32_t st = 9;
	json_t *j = ask(&st, 1, argv);

	ck_assert_uint_eq(st, PROTO_OK);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "protocol")), PROTO_VERSION);
	json_decref(j);
}
END_TEST

START_TEST(test_unknown_and_arity)
{
	char *a1[] = {"frobnicate"}, *a2[] = {"show"};
	uint32_t st;
	json_t *j;

	j = ask(&st, 1, a1);
	ck_assert_uint_eq(st, PROTO_ERROR);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "error")), "frobnicate"));
	json_decref(j);
	j = ask(&st, 1, a2);
	ck_assert_uint_eq(st, PROTO_ERROR);
	json_decref(j);
}
END_TEST

/* A bad header gets an error reply, and the channel goes on serving. */
START_TEST(test_bad_header)
{
	struct proto_hdr h = {0x12345678, PROTO_VERSION, PROTO_REQUEST, 0};
	char *argv[] = {"version"}, *doc;
	uint32_t st = 9;
	json_t *j;
	int fd = dial();

	ck_assert_int_eq(write(fd, &h, sizeof h), (ssize_t)sizeof h);
	doc = read_reply(fd, &st, 2000);
	ck_assert_ptr_nonnull(doc);
	ck_assert_uint_eq(st, PROTO_ERROR);
	ck_assert_ptr_nonnull(strstr(doc, "bad request"));
	free(doc);
	close(fd);
	j = ask(&st, 1, argv);
	ck_assert_uint_eq(st, PROTO_OK);
	json_decref(j);
}
END_TEST

/*
 * The deadline is for the whole request: a client dribbling one byte
 * every 50 ms is closed after 300 ms, however long it goes on.
 */
START_TEST(test_request_deadline)
{
	char *argv[] = {"version"}, *cause = NULL;
	struct timespec t0, t1;
	size_t len, i;
	uint8_t *msg = proto_request_encode(1, argv, &len, &cause);
	int fd, closed = 0;
	char b[64];

	teardown();
	start(300, 0);
	fd = dial();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i + 1 < len && !closed; i++) {
		if (write(fd, msg + i, 1) != 1) {
			closed = 1; /* the daemon closed it already */
			break;
		}
		pump(50);
		closed = read(fd, b, sizeof b) == 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_msg(closed || closed_within(fd, 400), "a dribbling client was never closed");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_lt((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000, 900);
	free(msg);
	close(fd);
}
END_TEST

/* An idle client is closed at the deadline; one that sends nothing costs nothing after. */
START_TEST(test_idle_closed)
{
	int fd;

	teardown();
	start(200, 0);
	fd = dial();
	ck_assert(closed_within(fd, 1000));
	close(fd);
}
END_TEST

/*
 * Connect as a user other than root: as root, with the effective uid of
 * nobody for the connect (the peer's credentials are taken then).
 */
static int
dial_as_user(void)
{
	int fd;

	if (geteuid() != 0)
		return dial();
	ck_assert_int_eq(seteuid(65534), 0);
	fd = dial();
	ck_assert_int_eq(seteuid(0), 0);
	return fd;
}

/* One uid holds at most max_per_uid connections; the next is told so and closed. */
START_TEST(test_per_uid_cap)
{
	char *argv[] = {"version"}, *doc;
	int fds[3], fd, i;
	uint32_t st = 9;

	teardown();
	start(0, 3);
	for (i = 0; i < 3; i++)
		fds[i] = dial_as_user();
	pump(50);
	fd = dial_as_user();
	doc = read_reply(fd, &st, 1000);
	ck_assert_ptr_nonnull(doc);
	ck_assert_uint_eq(st, PROTO_ERROR);
	ck_assert_ptr_nonnull(strstr(doc, "connections open already"));
	free(doc);
	close(fd);
	/* Once one is gone, the uid is served again (whatever its permissions say). */
	close(fds[0]);
	pump(50);
	fd = dial_as_user();
	send_request(fd, 1, argv);
	doc = read_reply(fd, &st, 1000);
	ck_assert_ptr_nonnull(doc);
	ck_assert_ptr_null(strstr(doc, "connections open already"));
	free(doc);
	close(fd);
	close(fds[1]);
	close(fds[2]);
}
END_TEST

/* Root is not capped: its bursts wait for their turn instead. */
START_TEST(test_root_not_capped)
{
	char *argv[] = {"version"}, *doc;
	int fds[8], i;
	uint32_t st = 9;

	if (geteuid() != 0)
		return; /* only root can be root */
	teardown();
	start(0, 3);
	for (i = 0; i < 8; i++)
		fds[i] = dial();
	for (i = 0; i < 8; i++) {
		send_request(fds[i], 1, argv);
		doc = read_reply(fds[i], &st, 1000);
		ck_assert_ptr_nonnull(doc);
		ck_assert_uint_eq(st, PROTO_OK);
		free(doc);
		close(fds[i]);
	}
}
END_TEST

START_TEST(test_permission_rule)
{
	gid_t groups[] = {50, 60};

	/* root and the daemon's own user may do anything */
	ck_assert(control_may(0, 0, NULL, 0, CMD_ADMIN, 100, 10, (gid_t)-1));
	ck_assert(control_may(100, 100, NULL, 0, CMD_ADMIN, 100, 10, (gid_t)-1));
	/* read-only: the socket's group, primary or supplementary */
	ck_assert(control_may(500, 10, NULL, 0, CMD_READONLY, 100, 10, 20));
	ck_assert(control_may(500, 1, groups, 2, CMD_READONLY, 100, 60, 20));
	ck_assert(!control_may(500, 1, groups, 2, CMD_READONLY, 100, 10, 20));
	/* admin: admin_group only, not the socket's group */
	ck_assert(!control_may(500, 10, NULL, 0, CMD_ADMIN, 100, 10, 20));
	ck_assert(control_may(500, 1, groups, 2, CMD_ADMIN, 100, 10, 50));
	ck_assert(!control_may(500, 1, groups, 2, CMD_ADMIN, 100, 10, (gid_t)-1));
}
END_TEST

/* --- commands ------------------------------------------------------------- */

START_TEST(test_list_all)
{
	char *argv[] = {"list"};
	uint32_t st;
	json_t *j, *flows;

	finish("done-1", "10.9.9.9", 5555, "[1,4]");
	j = ask(&st, 1, argv);
	ck_assert_uint_eq(st, PROTO_OK);
	flows = json_object_get(j, "flows");
	ck_assert_int_eq(json_array_size(flows), NFAKE + 1);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), NFAKE + 1);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(flows, 0), "state")), "active");
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(flows, 0), "interface")), "eth9");
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(flows, NFAKE), "state")), "finished");
	json_decref(j);
}
END_TEST

START_TEST(test_list_filters)
{
	char *byport[] = {"list", "--port", "443"}, *byhost[] = {"list", "--host", "10.9.9.9"},
	     *bylabel[] = {"list", "--label", "10.0.0.1_40001-*"},
	     *limit[] = {"list", "--limit", "2"}, *fin[] = {"list", "--finished"},
	     *bad[] = {"list", "--port", "http"}, *act[] = {"list", "--active"};
	uint32_t st;
	json_t *j;

	finish("done-1", "10.9.9.9", 5555, "[1,4]");
	j = ask(&st, 3, byport);
	ck_assert_int_eq(json_array_size(json_object_get(j, "flows")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(
	                     json_array_get(json_object_get(j, "flows"), 0), "dstport")),
	    443);
	json_decref(j);
	j = ask(&st, 3, byhost);
	ck_assert_int_eq(json_array_size(json_object_get(j, "flows")), 1);
	json_decref(j);
	j = ask(&st, 3, bylabel);
	ck_assert_int_eq(json_array_size(json_object_get(j, "flows")), 1);
	json_decref(j);
	j = ask(&st, 3, limit);
	ck_assert_int_eq(json_array_size(json_object_get(j, "flows")), 2);
	json_decref(j);
	j = ask(&st, 2, fin);
	ck_assert_int_eq(json_array_size(json_object_get(j, "flows")), 1);
	/* With --finished, the whole spool as its catalog has it, not only the history. */
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(j, "spool"), "files")), 42);
	json_decref(j);
	j = ask(&st, 2, act); /* active flows alone: no spool */
	ck_assert_int_eq(json_array_size(json_object_get(j, "flows")), NFAKE);
	ck_assert_ptr_null(json_object_get(j, "spool"));
	json_decref(j);
	j = ask(&st, 3, bad);
	ck_assert_uint_eq(st, PROTO_ERROR);
	json_decref(j);
}
END_TEST

/* The history keeps its last entries only (4 here): a listing shows those. */
START_TEST(test_list_history_bounded)
{
	char *argv[] = {"list", "--finished"};
	char label[32];
	uint32_t st;
	json_t *j;
	int i;

	for (i = 0; i < 10; i++) {
		snprintf(label, sizeof label, "done-%d", i);
		finish(label, "10.9.9.9", 5555, "[1]");
	}
	j = ask(&st, 2, argv);
	ck_assert_int_eq(json_array_size(json_object_get(j, "flows")), 4);
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_array_get(json_object_get(j, "flows"), 0), "label")),
	    "done-6");
	json_decref(j);
}
END_TEST

START_TEST(test_show)
{
	char *one[] = {"show", "10.0.0.1_40000-10.0.0.2_80-1300475168.855330"},
	     *glob[] = {"show", "10.0.0.1_4000*"}, *fin[] = {"show", "done-1"},
	     *none[] = {"show", "nosuch"};
	uint32_t st;
	json_t *j, *segs;

	finish("done-1", "10.9.9.9", 5555, "[1,4]");
	j = ask(&st, 2, one);
	ck_assert_uint_eq(st, PROTO_OK);
	segs = json_object_get(j, "segments");
	ck_assert_int_eq(json_array_size(segs), 1);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(segs, 0), "state")), "active");
	json_decref(j);
	j = ask(&st, 2, glob);
	ck_assert_uint_eq(st, PROTO_OK);
	ck_assert_int_eq(json_array_size(json_object_get(j, "segments")), NFAKE);
	json_decref(j);
	j = ask(&st, 2, fin);
	segs = json_object_get(j, "segments");
	ck_assert_int_eq(json_array_size(segs), 1);
	ck_assert_int_eq(json_array_size(json_object_get(json_array_get(segs, 0), "index")), 2);
	json_decref(j);
	j = ask(&st, 2, none);
	ck_assert_uint_eq(st, PROTO_ERROR);
	json_decref(j);
}
END_TEST

START_TEST(test_submit)
{
	char *some[] = {"submit", "a", "b"}, *bad[] = {"submit", "a", "nosuch"};
	uint32_t st;
	json_t *j;

	j = ask(&st, 3, bad);
	ck_assert_uint_eq(st, PROTO_ERROR);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "error")), "nosuch"));
	ck_assert_int_eq(nsubmitted, 0);
	json_decref(j);
	j = ask(&st, 3, some);
	ck_assert_uint_eq(st, PROTO_OK);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "count")), 2);
	ck_assert_int_eq(nsubmitted, 2);
	ck_assert_str_eq(submitted[1], "b");
	json_decref(j);
}
END_TEST

START_TEST(test_stats_and_reload)
{
	char *stats[] = {"stats"}, *reload[] = {"reload"}, *ifs[] = {"interfaces"};
	uint32_t st;
	json_t *j, *tot;

	j = ask(&st, 1, stats);
	ck_assert_uint_eq(st, PROTO_OK);
	tot = json_object_get(j, "totals");
	ck_assert_int_eq(json_integer_value(json_object_get(tot, "frames")), 1234);
	ck_assert_int_eq(json_integer_value(json_object_get(tot, "frames_lost")), 7);
	ck_assert_int_eq(json_integer_value(json_object_get(tot, "spool_files")), 42);
	ck_assert_int_eq(json_integer_value(json_object_get(tot, "flows_active")), NFAKE);
	ck_assert_int_eq(json_integer_value(json_object_get(tot, "control_clients")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(tot, "fragments_pending")), 3);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(tot, "ipfix"), "lost")), 1);
	json_decref(j);
	j = ask(&st, 1, ifs);
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_array_get(json_object_get(j, "interfaces"), 0), "error")),
	    "eth9: gone");
	json_decref(j);
	j = ask(&st, 1, reload);
	ck_assert_uint_eq(st, PROTO_ERROR);
	ck_assert_ptr_nonnull(
	    strstr(json_string_value(json_object_get(j, "error")), "traceflow.conf:3"));
	json_decref(j);
}
END_TEST

/* stats --prometheus: the daemon renders the text (metrics.c) from the service alone. */
START_TEST(test_stats_prometheus)
{
	char *prom[] = {"stats", "--prometheus"}, *bad[] = {"stats", "--nosuch"};
	const char *t;
	uint32_t st;
	json_t *j;

	j = ask(&st, 2, prom);
	ck_assert_uint_eq(st, PROTO_OK);
	t = json_string_value(json_object_get(j, "prometheus"));
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(strstr(t, "\n# TYPE traceflow_frames_total counter\n"
	                                "traceflow_frames_total 1234\n"));
	ck_assert_ptr_nonnull(strstr(t, "\ntraceflow_lost_frames_total 7\n"));
	ck_assert_ptr_nonnull(strstr(t, "\ntraceflow_spool_files 42\n"));
	ck_assert_ptr_nonnull(strstr(t, "\ntraceflow_retention_deleted_files_total 3\n"));
	ck_assert_ptr_nonnull(strstr(t, "\ntraceflow_flows_active 3\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "\ntraceflow_kernel_dropped_packets_total{interface=\"eth9\"} 5\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "\ntraceflow_malformed_frames_total{reason=\"bad_tcp\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "\ntraceflow_flows_finished_total{reason=\"idle\"} 4\n"));
	ck_assert_ptr_nonnull(strstr(t, "\ntraceflow_ipfix_lost_records_total 1\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "traceflow_build_info{version=\"" PACKAGE_VERSION "\"} 1\n"));
	ck_assert_ptr_null(strstr(t, "reason=\"rotate\""));
	json_decref(j);
	j = ask(&st, 2, bad);
	ck_assert_uint_eq(st, PROTO_ERROR);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "error")), "--nosuch"));
	json_decref(j);
}
END_TEST

/* A listing longer than the stream's window arrives whole, item by item. */
START_TEST(test_long_listing)
{
	char *argv[] = {"list", "--finished"};
	char label[64], frames[4096];
	uint32_t st;
	json_t *j;
	int i, fd;
	char *doc;

	teardown();
	start(0, 0);
	commands_free(cmds);
	/* a history big enough for a reply of several windows */
	{
		struct service svc = {NULL, fake_config, fake_counters, fake_interface,
		    fake_flows_begin, fake_flows_next, fake_flows_end, fake_iface_name, fake_submit,
		    fake_reload};
		struct control_params p = {0};
		char *cause = NULL;

		control_free(ctl);
		cmds = commands_new(&svc, 5000, 1 << 20);
		p.path = path;
		p.mode = 0600;
		p.priority = 2;
		p.handlers = commands_handlers;
		p.arg = cmds;
		ctl = control_new(base, &p, &cause);
		ck_assert_ptr_nonnull(ctl);
		control_enable(ctl);
	}
	memset(frames, 0, sizeof frames);
	strcpy(frames, "[1");
	for (i = 0; i < 400; i++)
		strcat(frames, ",1");
	strcat(frames, "]");
	for (i = 0; i < 3000; i++) {
		snprintf(label, sizeof label, "flow-%06d-with-a-long-label-to-fill-the-window", i);
		finish(label, "10.9.9.9", 5555, frames);
	}
	fd = dial();
	send_request(fd, 2, argv);
	doc = read_reply(fd, &st, 10000);
	ck_assert_ptr_nonnull(doc);
	ck_assert_uint_gt(strlen(doc), 3 * 64 * 1024);
	j = json_loads(doc, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_array_size(json_object_get(j, "flows")), 3000);
	json_decref(j);
	free(doc);
	close(fd);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("control");
	TCase *tt = tcase_create("transport"), *tc = tcase_create("commands");
	SRunner *sr;
	int failed;

	signal(SIGPIPE, SIG_IGN); /* a test writes on after the daemon closed */
	tcase_add_checked_fixture(tt, setup, teardown);
	tcase_add_test(tt, test_version);
	tcase_add_test(tt, test_unknown_and_arity);
	tcase_add_test(tt, test_bad_header);
	tcase_add_test(tt, test_request_deadline);
	tcase_add_test(tt, test_idle_closed);
	tcase_add_test(tt, test_per_uid_cap);
	tcase_add_test(tt, test_root_not_capped);
	tcase_add_test(tt, test_permission_rule);
	tcase_set_timeout(tt, 30);
	suite_add_tcase(s, tt);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_list_all);
	tcase_add_test(tc, test_list_filters);
	tcase_add_test(tc, test_list_history_bounded);
	tcase_add_test(tc, test_show);
	tcase_add_test(tc, test_submit);
	tcase_add_test(tc, test_stats_and_reload);
	tcase_add_test(tc, test_stats_prometheus);
	tcase_add_test(tc, test_long_listing);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
