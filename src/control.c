/*
 * control.c: the daemon's side of the control channel.
 *
 * A Unix stream socket, one request per connection (proto.h). Clients are
 * libevent bufferevents with timeouts and bounded buffers, and at most
 * MAX_CLIENTS are served at once (the rest wait in the listen backlog), so
 * a slow, stuck or hostile client costs the capture nothing but a little
 * memory. A malformed request gets an error reply and the connection is
 * closed; nothing a client sends can stop the daemon.
 *
 * Long listings are streamed: the active flows are copied in one quick
 * pass (a memcpy per flow), then formatted a chunk at a time, only as fast
 * as the client reads, so packets get their turn between chunks.
 *
 * Finished flows are kept in a ring (the last RING_MAX index entries) as
 * compact JSON text; their frame numbers only within a byte budget, oldest
 * dropped first, since a long flow's frame list can be megabytes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <grp.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <jansson.h>

#include "capture.h"
#include "cmd.h"
#include "control.h"
#include "index.h"
#include "label.h"
#include "log.h"
#include "spool.h"
#include "xmalloc.h"

#define MAX_CLIENTS        64          /* served at once; more wait in the backlog */
#define BACKLOG            512         /* a burst of clients waits here, not refused */
#define READ_TIMEOUT_SEC   5           /* to send the whole request */
#define WRITE_TIMEOUT_SEC  10          /* without the client reading anything */
#define STREAM_HIGH        (64 * 1024) /* a listing is formatted up to this much ahead */
#define STREAM_LOW         (16 * 1024) /* ... and resumes when the client drained to this */
#define STREAM_SCAN        4096        /* items looked at per turn (filters may skip most) */
#define RING_MAX           100000      /* finished flows kept for list and show */
#define RING_FRAMES_BUDGET (32u << 20) /* bytes of frame-number text kept in the ring */
#define MAX_PEER_GROUPS    65536

/* --- the ring of finished flows ----------------------------------------- */

struct done {
	char *summary; /* the index entry without frame numbers, "state":"finished" */
	char *frames;  /* its frame numbers as JSON text; NULL once dropped */
	char *label;
	uint8_t af;
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
};

struct ring {
	struct done *slot; /* RING_MAX slots; entry number n lives in slot n % RING_MAX */
	uint64_t added;    /* entries ever added: the next entry's number */
	uint64_t fcursor;  /* oldest entry that may still hold frames */
	size_t fbytes;     /* frame text held */
};

/* --- clients ------------------------------------------------------------ */

struct list_opts {
	int active;
	int finished;
	int host_af; /* 0: no --host */
	uint8_t host[16];
	int port; /* -1: no --port */
	char *glob;
	uint64_t limit; /* 0: no limit */
	int labels_only;
};

/* A listing being streamed: a snapshot of the active flows, a range of the ring. */
struct listing {
	struct list_opts o;
	struct flow *active; /* copies, without frame numbers or writer state */
	size_t nactive;
	size_t next_active;
	uint64_t fin_next; /* ring entry numbers [fin_next, fin_end) */
	uint64_t fin_end;
	uint64_t emitted;
	uint64_t now;
};

enum client_state { C_READ, C_STREAM, C_DONE };

struct client {
	struct control *ctl;
	struct bufferevent *bev;
	struct event *more; /* resumes a listing when nothing was left to write */
	enum client_state state;
	int have_hdr;
	struct proto_hdr hdr;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	gid_t *groups; /* supplementary groups (SO_PEERGROUPS) */
	int ngroups;
	struct listing *list;
	TAILQ_ENTRY(client) entry;
};
TAILQ_HEAD(client_list, client);

struct control {
	struct daemon *d;
	struct event_base *base;
	struct engine *engine;
	struct evconnlistener *listener;
	char *path;
	gid_t group; /* control_group */
	struct client_list clients;
	unsigned nclients;
	int paused; /* MAX_CLIENTS reached: not accepting */
	struct ring ring;
	json_t *submitted; /* while submit runs: the entries it filed */
	uint64_t requests;
	uint64_t refused;
};

typedef void (*cmd_handler)(struct client *c, int argc, char **argv);

static void client_free(struct client *c);
static void stream_more(struct client *c);

/* --- the ring ---------------------------------------------------------- */

static void
done_clear(struct ring *r, struct done *dn)
{
	free(dn->summary);
	if (dn->frames != NULL)
		r->fbytes -= strlen(dn->frames);
	free(dn->frames);
	free(dn->label);
	memset(dn, 0, sizeof *dn);
}

/* Keep the newest frame lists within the budget. */
static void
ring_trim_frames(struct ring *r)
{
	struct done *dn;

	while (r->fbytes > RING_FRAMES_BUDGET && r->fcursor < r->added) {
		dn = &r->slot[r->fcursor % RING_MAX];
		if (dn->frames != NULL) {
			r->fbytes -= strlen(dn->frames);
			free(dn->frames);
			dn->frames = NULL;
		}
		r->fcursor++;
	}
}

static void
ring_add(struct ring *r, const struct flow_key *key, uint8_t init, json_t *entry,
    const char *frames_text)
{
	struct done *dn = &r->slot[r->added % RING_MAX];
	json_t *copy, *label;
	const uint8_t *a;

	if (r->added >= RING_MAX)
		done_clear(r, dn);
	if (r->fcursor + RING_MAX <= r->added)
		r->fcursor = r->added + 1 - RING_MAX;
	copy = json_copy(entry); /* shallow: only the top level changes */
	if (frames_text != NULL)
		dn->frames = xstrdup(frames_text);
	json_object_set_new(copy, "state", json_string("finished"));
	dn->summary = json_dumps(copy, JSON_COMPACT | JSON_PRESERVE_ORDER);
	label = json_object_get(copy, "label");
	dn->label = xstrdup(json_is_string(label) ? json_string_value(label) : "");
	json_decref(copy);
	dn->af = key->af;
	a = flow_key_src(key, init, &dn->sport);
	memcpy(dn->src, a, sizeof dn->src);
	a = flow_key_dst(key, init, &dn->dport);
	memcpy(dn->dst, a, sizeof dn->dst);
	if (dn->frames != NULL)
		r->fbytes += strlen(dn->frames);
	r->added++;
	ring_trim_frames(r);
}

/* The entry numbered n, or NULL if it was overwritten since. */
static struct done *
ring_get(struct ring *r, uint64_t n)
{
	if (n >= r->added || (r->added > RING_MAX && n < r->added - RING_MAX))
		return NULL;
	return &r->slot[n % RING_MAX];
}

static uint64_t
ring_first(const struct ring *r)
{
	return r->added > RING_MAX ? r->added - RING_MAX : 0;
}

static void
on_flow_done(const struct flow_key *key, uint8_t init, json_t *entry, const char *frames, int ended,
    void *arg)
{
	struct control *ctl = arg;
	json_t *full;

	ring_add(&ctl->ring, key, init, entry, frames);
	/* Flows that ended otherwise may be reported in the same poll. */
	if (ctl->submitted != NULL &&
	    strcmp(json_string_value(json_object_get(entry, "reason")) ?: "", "submit") == 0) {
		/* The entry as the index has it, frame numbers included. */
		full = json_copy(entry);
		json_object_set_new(full, "index", json_loads(frames ? frames : "[]", 0, NULL));
		json_array_append_new(ctl->submitted, full);
	}
}

/* --- replies ------------------------------------------------------------ */

static void
send_msg(struct client *c, uint32_t type, const void *p, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct proto_hdr h;

	proto_hdr_make(&h, type, (uint32_t)len);
	evbuffer_add(out, &h, sizeof h);
	evbuffer_add(out, p, len);
}

/* A piece of the JSON document, in messages of at most PROTO_MAX_DATA bytes. */
static void
send_data(struct client *c, const char *s, size_t len)
{
	size_t n;

	while (len > 0) {
		n = len < PROTO_MAX_DATA ? len : PROTO_MAX_DATA;
		send_msg(c, PROTO_DATA, s, n);
		s += n;
		len -= n;
	}
}

/* The end of the reply: no more reading, close once the client has it all. */
static void
send_exit(struct client *c, uint32_t status)
{
	send_msg(c, PROTO_EXIT, &status, sizeof status);
	c->state = C_DONE;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_enable(c->bev, EV_WRITE);
}

/* Send doc (and drop the reference) as the whole reply. */
static void
reply_json(struct client *c, uint32_t status, json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(doc);
	if (s == NULL) /* out of memory in jansson */
		s = xstrdup("{\"error\":\"cannot format the reply\"}"), status = PROTO_ERROR;
	send_data(c, s, strlen(s));
	free(s);
	send_exit(c, status);
}

static void reply_error(struct client *c, const char *fmt, ...) LOG_PRINTF(2, 3);

static void
reply_error(struct client *c, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	reply_json(c, PROTO_ERROR, json_pack("{s:s}", "error", msg ? msg : "error"));
	free(msg);
}

/* --- permissions ------------------------------------------------------- */

static int
peer_in_group(const struct client *c, gid_t g)
{
	int i;

	if (c->gid == g)
		return 1;
	for (i = 0; i < c->ngroups; i++)
		if (c->groups[i] == g)
			return 1;
	return 0;
}

/*
 * Read-only commands: root, the daemon's own user, the socket's group.
 * Mutating ones: root, the daemon's own user (it may signal the daemon
 * anyway) and admin_group, looked up per request so that a reload changes it.
 */
static int
peer_allowed(const struct client *c, const struct cmd_entry *ce)
{
	const char *admin = daemon_config(c->ctl->d)->admin_group;
	struct group *gr;

	if (c->uid == 0 || c->uid == geteuid())
		return 1;
	if (!(ce->flags & CMD_ADMIN))
		return peer_in_group(c, c->ctl->group);
	if (admin == NULL || admin[0] == '\0' || (gr = getgrnam(admin)) == NULL)
		return 0;
	return peer_in_group(c, gr->gr_gid);
}

static void
peer_credentials(struct client *c, int fd)
{
	struct ucred uc;
	socklen_t len = sizeof uc;

	c->uid = (uid_t)-1;
	c->gid = (gid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0) {
		c->uid = uc.uid;
		c->gid = uc.gid;
		c->pid = uc.pid;
	}
	/* Supplementary groups: ask with a small buffer, then with the size the kernel wants. */
	len = 32 * sizeof(gid_t);
	c->groups = xmalloc(len);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, c->groups, &len) == -1) {
		if (errno != ERANGE || len > MAX_PEER_GROUPS * sizeof(gid_t))
			return;
		c->groups = xreallocarray(c->groups, 1, len);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, c->groups, &len) == -1)
			return;
	}
	c->ngroups = (int)(len / sizeof(gid_t));
}

/* --- list, labels ------------------------------------------------------ */

static int
parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	char *end;
	unsigned long long n;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || n > max)
		return -1;
	*v = n;
	return 0;
}

static int
parse_host(struct list_opts *o, const char *s)
{
	if (inet_pton(AF_INET, s, o->host) == 1)
		o->host_af = 4;
	else if (inet_pton(AF_INET6, s, o->host) == 1)
		o->host_af = 6;
	else
		return -1;
	return 0;
}

/* One option of list; its value (if it takes one) is argv[*i + 1]. */
static int
parse_list_opt(struct list_opts *o, int argc, char **argv, int *i, char **cause)
{
	const char *opt = argv[*i], *val = *i + 1 < argc ? argv[*i + 1] : NULL;
	uint64_t n;

	if (strcmp(opt, "--active") == 0)
		return o->active = 1, 0;
	if (strcmp(opt, "--finished") == 0)
		return o->finished = 1, 0;
	if (strcmp(opt, "--host") != 0 && strcmp(opt, "--port") != 0 &&
	    strcmp(opt, "--label") != 0 && strcmp(opt, "--limit") != 0) {
		xasprintf(cause, "unknown option %s", opt);
		return -1;
	}
	if (val == NULL) {
		xasprintf(cause, "%s needs a value", opt);
		return -1;
	}
	(*i)++;
	if (strcmp(opt, "--host") == 0 && parse_host(o, val) == 0)
		return 0;
	if (strcmp(opt, "--port") == 0 && parse_u64(val, 65535, &n) == 0)
		return o->port = (int)n, 0;
	if (strcmp(opt, "--limit") == 0 && parse_u64(val, UINT64_MAX, &o->limit) == 0)
		return 0;
	if (strcmp(opt, "--label") == 0) {
		free(o->glob);
		o->glob = xstrdup(val);
		return 0;
	}
	xasprintf(cause, "%s: bad value \"%s\"", opt, val);
	return -1;
}

static int
parse_list_opts(struct list_opts *o, int argc, char **argv, char **cause)
{
	int i;

	memset(o, 0, sizeof *o);
	o->port = -1;
	for (i = 1; i < argc; i++)
		if (parse_list_opt(o, argc, argv, &i, cause) == -1)
			return -1;
	if (!o->active && !o->finished)
		o->active = o->finished = 1;
	return 0;
}

static int
match_endpoints(const struct list_opts *o, uint8_t af, const uint8_t *src, uint16_t sport,
    const uint8_t *dst, uint16_t dport)
{
	size_t alen = af == 6 ? 16 : 4;

	if (o->port >= 0 && sport != o->port && dport != o->port)
		return 0;
	if (o->host_af != 0 && (af != o->host_af || (memcmp(src, o->host, alen) != 0 &&
	                                                memcmp(dst, o->host, alen) != 0)))
		return 0;
	return 1;
}

struct snap_ctx {
	struct listing *l;
	size_t cap;
};

/* Copy one active flow: a memcpy, so that the whole pass stays short. */
static void
snap_flow(struct flow *f, void *arg)
{
	struct snap_ctx *sc = arg;
	struct listing *l = sc->l;
	const uint8_t *src, *dst;
	uint16_t sport, dport;
	struct flow *cp;

	if (l->o.limit != 0 && l->o.glob == NULL && l->nactive >= l->o.limit)
		return;
	src = flow_src(f, &sport);
	dst = flow_dst(f, &dport);
	if (!match_endpoints(&l->o, f->key.af, src, sport, dst, dport))
		return;
	if (l->nactive == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 1024;
		l->active = xreallocarray(l->active, sc->cap, sizeof *l->active);
	}
	cp = &l->active[l->nactive++];
	*cp = *f;
	cp->fn_buf = NULL;
	cp->fn_len = cp->fn_cap = 0;
	cp->wstate = NULL;
	cp->hnext = cp->prev = cp->next = NULL;
}

static void
listing_free(struct listing *l)
{
	if (l == NULL)
		return;
	free(l->o.glob);
	free(l->active);
	free(l);
}

/* Where an active flow's file grows, or NULL without files. */
static json_t *
active_file(const struct control *ctl, const struct flow *f)
{
	const struct tf_config *cfg = daemon_config(ctl->d);
	char name[512];

	if (cfg->format == FMT_NONE)
		return json_null();
	writer_file_name(cfg->format, cfg->nanosecond, f, name, sizeof name);
	return json_sprintf(".active/%s", name);
}

/* An active flow's entry: what the index will say, plus state, age and file. */
static json_t *
active_entry(struct control *ctl, const struct flow *f, uint64_t now, int with_frames)
{
	const struct tf_config *cfg = daemon_config(ctl->d);
	int closing = f->state != FLOW_OPEN;
	json_t *o;

	o = index_entry(
	    f, NULL, engine_source_name(ctl->engine, f->iface), cfg->nanosecond, with_frames);
	/* A torn-down flow lingers for trailing packets: its reason is known already. */
	json_object_set_new(o, "state", json_string(closing ? "closing" : "active"));
	json_object_set_new(
	    o, "reason", closing ? json_string(flow_reason_name(f->reason)) : json_null());
	json_object_set_new(
	    o, "age", json_real(now > f->first ? (double)(now - f->first) / NS_PER_SEC : 0.0));
	json_object_set_new(o, "file", active_file(ctl, f));
	return o;
}

/* Append one item's JSON text to chunk, a comma first unless it is the first. */
static void
emit(struct listing *l, struct evbuffer *chunk, const char *text)
{
	if (l->emitted++ > 0)
		evbuffer_add(chunk, ",", 1);
	evbuffer_add(chunk, text, strlen(text));
}

static void
emit_label(struct listing *l, struct evbuffer *chunk, const char *label)
{
	json_t *s = json_string(label);
	char *t = json_dumps(s, JSON_ENCODE_ANY);

	emit(l, chunk, t);
	free(t);
	json_decref(s);
}

static int
listing_full(const struct listing *l)
{
	return l->o.limit != 0 && l->emitted >= l->o.limit;
}

static void
stream_active(struct client *c, const struct flow *f, struct evbuffer *chunk)
{
	struct listing *l = c->list;
	const struct tf_config *cfg = daemon_config(c->ctl->d);
	char label[LABEL_MAX], *t;
	json_t *o;

	label_make(label, f, cfg->nanosecond);
	if (l->o.glob != NULL && fnmatch(l->o.glob, label, 0) != 0)
		return;
	if (l->o.labels_only) {
		emit_label(l, chunk, label);
		return;
	}
	o = active_entry(c->ctl, f, l->now, 0);
	t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (t != NULL)
		emit(l, chunk, t);
	free(t);
}

static void
stream_finished(struct client *c, uint64_t n, struct evbuffer *chunk)
{
	struct listing *l = c->list;
	struct done *dn = ring_get(&c->ctl->ring, n);

	if (dn == NULL) /* overwritten while the listing went on */
		return;
	if (!match_endpoints(&l->o, dn->af, dn->src, dn->sport, dn->dst, dn->dport))
		return;
	if (l->o.glob != NULL && fnmatch(l->o.glob, dn->label, 0) != 0)
		return;
	if (l->o.labels_only)
		emit_label(l, chunk, dn->label);
	else
		emit(l, chunk, dn->summary);
}

/* Format the next items into chunk; 1 when the listing is complete. */
static int
stream_step(struct client *c, struct evbuffer *chunk, size_t room)
{
	struct listing *l = c->list;
	unsigned scanned = 0;

	while (evbuffer_get_length(chunk) < room && scanned++ < STREAM_SCAN) {
		if (listing_full(l))
			return 1;
		if (l->next_active < l->nactive)
			stream_active(c, &l->active[l->next_active++], chunk);
		else if (l->fin_next < l->fin_end)
			stream_finished(c, l->fin_next++, chunk);
		else
			return 1;
	}
	return listing_full(l) || (l->next_active == l->nactive && l->fin_next == l->fin_end);
}

static void
stream_more(struct client *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev), *chunk;
	size_t have = evbuffer_get_length(out);
	struct timeval now = {0, 0};
	char tail[64];
	int done;

	if (c->state != C_STREAM || have >= STREAM_HIGH)
		return;
	chunk = evbuffer_new();
	done = stream_step(c, chunk, STREAM_HIGH - have);
	if (done) {
		snprintf(tail, sizeof tail, "],\"count\":%" PRIu64 "}", c->list->emitted);
		evbuffer_add(chunk, tail, strlen(tail));
	}
	send_data(c, (const char *)evbuffer_pullup(chunk, -1), evbuffer_get_length(chunk));
	evbuffer_free(chunk);
	if (done)
		send_exit(c, PROTO_OK);
	else if (evbuffer_get_length(out) == 0)
		evtimer_add(c->more, &now); /* filters skipped everything: go on next turn */
}

static void
on_more(evutil_socket_t fd, short what, void *arg)
{
	stream_more(arg);
}

static void
start_listing(struct client *c, struct listing *l, const char *key)
{
	struct flow_table *t = engine_flows(c->ctl->engine);
	struct snap_ctx sc = {l, 0};
	char head[32];

	l->now = now_ns();
	if (l->o.active)
		flowtab_foreach(t, snap_flow, &sc);
	if (l->o.finished) {
		l->fin_next = ring_first(&c->ctl->ring);
		l->fin_end = c->ctl->ring.added;
	}
	c->list = l;
	c->state = C_STREAM;
	snprintf(head, sizeof head, "{\"%s\":[", key);
	send_data(c, head, strlen(head));
	bufferevent_setwatermark(c->bev, EV_WRITE, STREAM_LOW, 0);
	stream_more(c);
}

static void
cmd_list(struct client *c, int argc, char **argv)
{
	struct listing *l = xcalloc(1, sizeof *l);
	char *cause = NULL;

	if (parse_list_opts(&l->o, argc, argv, &cause) == -1) {
		reply_error(c, "list: %s", cause);
		free(cause);
		listing_free(l);
		return;
	}
	start_listing(c, l, "flows");
}

static void
cmd_labels(struct client *c, int argc, char **argv)
{
	struct listing *l = xcalloc(1, sizeof *l);

	l->o.port = -1;
	l->o.labels_only = 1;
	l->o.active = 1;
	if (argc == 2 && strcmp(argv[1], "--active") != 0) {
		reply_error(c, "labels: unknown option %s", argv[1]);
		listing_free(l);
		return;
	}
	l->o.finished = argc == 1;
	start_listing(c, l, "labels");
}

/* --- show, submit ------------------------------------------------------- */

struct find_ctx {
	const struct control *ctl;
	int argc;
	char **argv;
	int *found; /* per argument */
	struct flow **flows;
	size_t n;
	size_t cap;
};

/* Collect the active flows whose label is among the arguments (all of them if none). */
static void
find_flow(struct flow *f, void *arg)
{
	struct find_ctx *fc = arg;
	char label[LABEL_MAX];
	int i, hit = fc->argc == 0;

	if (!hit) {
		label_make(label, f, daemon_config(fc->ctl->d)->nanosecond);
		for (i = 0; i < fc->argc; i++)
			if (strcmp(fc->argv[i], label) == 0)
				hit = fc->found[i] = 1;
	}
	if (!hit)
		return;
	if (fc->n == fc->cap) {
		fc->cap = fc->cap ? fc->cap * 2 : 64;
		fc->flows = xreallocarray(fc->flows, fc->cap, sizeof *fc->flows);
	}
	fc->flows[fc->n++] = f;
}

static void
find_flows(struct client *c, struct find_ctx *fc, int argc, char **argv)
{
	memset(fc, 0, sizeof *fc);
	fc->ctl = c->ctl;
	fc->argc = argc;
	fc->argv = argv;
	fc->found = xcalloc((size_t)argc + 1, sizeof *fc->found);
	flowtab_foreach(engine_flows(c->ctl->engine), find_flow, fc);
}

static json_t *
finished_entry(const struct done *dn)
{
	json_t *o = json_loads(dn->summary, 0, NULL), *frames;

	if (o == NULL)
		return json_null();
	if (dn->frames != NULL && (frames = json_loads(dn->frames, 0, NULL)) != NULL)
		json_object_set_new(o, "index", frames);
	else /* beyond the ring's budget for frame numbers */
		json_object_set_new(o, "index", json_null());
	return o;
}

static void
cmd_show(struct client *c, int argc, char **argv)
{
	struct ring *r = &c->ctl->ring;
	struct find_ctx fc;
	json_t *segs = json_array();
	struct done *dn;
	uint64_t n;

	for (n = ring_first(r); n < r->added; n++)
		if ((dn = ring_get(r, n)) != NULL && strcmp(dn->label, argv[1]) == 0)
			json_array_append_new(segs, finished_entry(dn));
	find_flows(c, &fc, 1, argv + 1);
	if (fc.n > 0)
		json_array_append_new(segs, active_entry(c->ctl, fc.flows[0], now_ns(), 1));
	free(fc.found);
	free(fc.flows);
	if (json_array_size(segs) == 0) {
		json_decref(segs);
		reply_error(c, "no flow labelled %s (active or among the last %d finished)",
		    argv[1], RING_MAX);
		return;
	}
	reply_json(c, PROTO_OK, json_pack("{s:s,s:o}", "label", argv[1], "segments", segs));
}

static void
cmd_submit(struct client *c, int argc, char **argv)
{
	struct control *ctl = c->ctl;
	struct find_ctx fc;
	json_t *doc;
	size_t i;
	unsigned k;
	int a;

	/* Packets the kernel already handed over belong to the flows being submitted. */
	for (k = 0; k < daemon_ncaptures(ctl->d); k++)
		capture_drain(daemon_capture(ctl->d, k));
	find_flows(c, &fc, argc - 1, argv + 1);
	for (a = 0; a < fc.argc; a++) {
		if (!fc.found[a]) {
			reply_error(c, "no active flow labelled %s: nothing submitted", fc.argv[a]);
			goto out;
		}
	}
	/* The end hook collects what each flowtab_end files (the index entries). */
	ctl->submitted = json_array();
	for (i = 0; i < fc.n; i++)
		flowtab_end(engine_flows(ctl->engine), fc.flows[i], FLOW_R_SUBMIT);
	/* Files in place and indexed before the reply says so. */
	engine_sync(ctl->engine);
	log_info("control: uid %d submitted %zu flows", (int)c->uid, fc.n);
	doc = json_pack("{s:o,s:I}", "submitted", ctl->submitted, "count", (json_int_t)fc.n);
	ctl->submitted = NULL;
	reply_json(c, PROTO_OK, doc);
out:
	free(fc.found);
	free(fc.flows);
}

/* --- stats, interfaces, reload, config, version -------------------------- */

static uint64_t
rss_bytes(void)
{
	unsigned long long size, resident = 0;
	FILE *fp = fopen("/proc/self/statm", "re");

	if (fp == NULL)
		return 0;
	if (fscanf(fp, "%llu %llu", &size, &resident) != 2)
		resident = 0;
	fclose(fp);
	return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static json_t *
capture_json(struct capture *cap)
{
	struct capture_stats cs;
	const char *err = capture_error(cap);

	capture_stats(cap, &cs);
	return json_pack("{s:s,s:b,s:I,s:I,s:I,s:I,s:o}", "name", capture_name(cap), "up", cs.up,
	    "received", (json_int_t)cs.received, "kernel_drops", (json_int_t)cs.kernel_drops,
	    "if_drops", (json_int_t)cs.if_drops, "frames", (json_int_t)cs.frames, "error",
	    err != NULL && err[0] != '\0' ? json_string(err) : json_null());
}

static json_t *
interfaces_json(struct control *ctl)
{
	json_t *a = json_array();
	unsigned i;

	for (i = 0; i < daemon_ncaptures(ctl->d); i++)
		json_array_append_new(a, capture_json(daemon_capture(ctl->d, i)));
	return a;
}

static json_t *
reasons_json(const struct engine_stats *st)
{
	json_t *m = json_object(), *e = json_object();
	int i;

	for (i = DECODE_TRUNCATED; i < DECODE_NREASONS; i++)
		json_object_set_new(
		    m, decode_reason_name(i), json_integer((json_int_t)st->reasons[i]));
	json_object_set_new(m, "frag_orphan", json_integer((json_int_t)st->frag_orphan));
	for (i = FLOW_R_FIN; i < FLOW_R_NREASONS; i++)
		json_object_set_new(e, flow_reason_name(i), json_integer((json_int_t)st->ended[i]));
	return json_pack("{s:o,s:o}", "malformed", m, "ended", e);
}

static void
cmd_stats(struct client *c, int argc, char **argv)
{
	struct control *ctl = c->ctl;
	const struct engine_stats *st = engine_stats(ctl->engine);
	const struct writer_stats *ws = engine_writer_stats(ctl->engine);
	uint64_t files, bytes, now = now_ns(), start = daemon_started_ns(ctl->d);
	json_t *tot, *why = reasons_json(st);

	daemon_spool_usage(ctl->d, &files, &bytes);
	tot = json_pack("{s:I,s:I,s:I,s:I,s:O,s:I,s:I,s:I,s:I,s:O}", "frames",
	    (json_int_t)st->frames, "tcp", (json_int_t)st->tcp, "not_tcp", (json_int_t)st->not_tcp,
	    "malformed", (json_int_t)st->malformed, "malformed_by_reason",
	    json_object_get(why, "malformed"), "flows_active",
	    (json_int_t)flowtab_count(engine_flows(ctl->engine)), "flows_started",
	    (json_int_t)st->flows, "flows_finished", (json_int_t)st->finished, "segments",
	    (json_int_t)st->segments, "ended_by_reason", json_object_get(why, "ended"));
	json_object_update_new(
	    tot, json_pack("{s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:i}", "open_files",
	             (int)ws->open_files, "files_written", (json_int_t)ws->files, "bytes_written",
	             (json_int_t)ws->bytes, "write_errors", (json_int_t)ws->write_errors,
	             "buffered", (json_int_t)ws->buffered, "rss", (json_int_t)rss_bytes(),
	             "spool_files", (json_int_t)files, "spool_bytes", (json_int_t)bytes, "uptime",
	             now > start ? (double)(now - start) / NS_PER_SEC : 0.0, "control_clients",
	             (int)ctl->nclients));
	/* Accepted but not on disk (a full disk): never silent. */
	json_object_update_new(tot,
	    json_pack("{s:I,s:I,s:I,s:I}", "frames_lost", (json_int_t)ws->frames_lost, "bytes_lost",
	        (json_int_t)ws->bytes_lost, "index_lines_pending", (json_int_t)ws->index_pending,
	        "index_lines_lost", (json_int_t)ws->index_lost));
	json_decref(why);
	reply_json(
	    c, PROTO_OK, json_pack("{s:o,s:o}", "interfaces", interfaces_json(ctl), "totals", tot));
}

static void
cmd_interfaces(struct client *c, int argc, char **argv)
{
	reply_json(c, PROTO_OK, json_pack("{s:o}", "interfaces", interfaces_json(c->ctl)));
}

static void
cmd_reload(struct client *c, int argc, char **argv)
{
	const struct tf_config *cfg;
	char *cause = NULL;

	log_info("control: reload requested by uid %d", (int)c->uid);
	if (daemon_reload(c->ctl->d, &cause) == -1) {
		reply_error(c, "reload refused, the running configuration stays: %s", cause);
		free(cause);
		return;
	}
	cfg = daemon_config(c->ctl->d);
	reply_json(c, PROTO_OK,
	    json_pack("{s:b,s:s?}", "reloaded", 1, "config", cfg->path ? cfg->path : NULL));
}

static void
cmd_config(struct client *c, int argc, char **argv)
{
	reply_json(c, PROTO_OK, config_json(daemon_config(c->ctl->d)));
}

static void
cmd_version(struct client *c, int argc, char **argv)
{
	reply_json(c, PROTO_OK,
	    json_pack("{s:s,s:i}", "version", PACKAGE_VERSION, "protocol", PROTO_VERSION));
}

/* The handlers, in cmd_table's order: a command without one does not build. */
#define CMD_HANDLER(n, fl, mn, mx, a, h) cmd_##n,
static const cmd_handler handlers[CMD_COUNT] = {CMD_TABLE(CMD_HANDLER)};
#undef CMD_HANDLER

/* --- requests ------------------------------------------------------------ */

static void
dispatch(struct client *c, int argc, char **argv)
{
	const struct cmd_entry *ce = cmd_find(argv[0]);
	char *cause = NULL;

	c->ctl->requests++;
	if (ce == NULL) {
		reply_error(c, "unknown command \"%.64s\"", argv[0]);
		return;
	}
	if (cmd_check_args(ce, argc - 1, &cause) == -1) {
		reply_error(c, "%s", cause);
		free(cause);
		return;
	}
	if (!peer_allowed(c, ce)) {
		c->ctl->refused++;
		log_info(
		    "control: %s refused to uid %d (pid %d)", ce->name, (int)c->uid, (int)c->pid);
		reply_error(c, "%s: permission denied: %s", ce->name,
		    ce->flags & CMD_ADMIN ? "root or a member of admin_group only"
		                          : "not a member of the control group");
		return;
	}
	log_debug("control: %s from uid %d (pid %d)", ce->name, (int)c->uid, (int)c->pid);
	handlers[ce - cmd_table](c, argc, argv);
}

/* A whole request has arrived (or a bad header): check it and answer. */
static void
read_request(struct client *c, struct evbuffer *in)
{
	char *cause = NULL, **argv;
	int argc;

	if (!c->have_hdr) {
		if (evbuffer_get_length(in) < PROTO_HDR_LEN)
			return;
		evbuffer_remove(in, &c->hdr, PROTO_HDR_LEN);
		c->have_hdr = 1;
		if (proto_request_check_hdr(&c->hdr, &cause) == -1)
			goto bad;
	}
	if (evbuffer_get_length(in) < c->hdr.len)
		return;
	if (evbuffer_get_length(in) > c->hdr.len) {
		xasprintf(&cause, "bytes after the request");
		goto bad;
	}
	if (proto_request_decode(
	        evbuffer_pullup(in, c->hdr.len), c->hdr.len, &argc, &argv, &cause) == -1)
		goto bad;
	evbuffer_drain(in, c->hdr.len);
	bufferevent_disable(c->bev, EV_READ);
	dispatch(c, argc, argv);
	free(argv);
	return;
bad:
	log_debug("control: bad request from uid %d (pid %d): %s", (int)c->uid, (int)c->pid, cause);
	reply_error(c, "bad request: %s", cause);
	free(cause);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (c->state == C_READ)
		read_request(c, in);
	else
		evbuffer_drain(in, evbuffer_get_length(in));
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;

	if (c->state == C_STREAM)
		stream_more(c);
	else if (c->state == C_DONE && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		client_free(c);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;

	if (what & BEV_EVENT_TIMEOUT)
		log_debug("control: client uid %d (pid %d) timed out %s", (int)c->uid, (int)c->pid,
		    what & BEV_EVENT_READING ? "sending its request" : "reading the reply");
	client_free(c);
}

/* --- clients and the socket ---------------------------------------------- */

static void
client_free(struct client *c)
{
	struct control *ctl = c->ctl;

	TAILQ_REMOVE(&ctl->clients, c, entry);
	ctl->nclients--;
	bufferevent_free(c->bev);
	event_free(c->more);
	listing_free(c->list);
	free(c->groups);
	free(c);
	if (ctl->paused && ctl->listener != NULL) {
		ctl->paused = 0;
		evconnlistener_enable(ctl->listener);
	}
}

static void
on_accept(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct control *ctl = arg;
	struct timeval rto = {READ_TIMEOUT_SEC, 0}, wto = {WRITE_TIMEOUT_SEC, 0};
	struct client *c;

	c = xcalloc(1, sizeof *c);
	c->ctl = ctl;
	peer_credentials(c, fd);
	c->bev = bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev != NULL)
		bufferevent_priority_set(c->bev, PRIO_CONTROL); /* capture goes first */
	if (c->bev == NULL) {
		log_warnx("control: cannot serve a client");
		close(fd);
		free(c->groups);
		free(c);
		return;
	}
	c->more = evtimer_new(ctl->base, on_more, c);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_set_timeouts(c->bev, &rto, &wto);
	/* Never buffer more than one request's worth of input. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, PROTO_HDR_LEN + PROTO_MAX_REQUEST + 1);
	bufferevent_enable(c->bev, EV_READ);
	TAILQ_INSERT_TAIL(&ctl->clients, c, entry);
	if (++ctl->nclients >= MAX_CLIENTS) {
		ctl->paused = 1;
		evconnlistener_disable(lst);
	}
}

static int
fill_addr(struct sockaddr_un *sun, const char *path, char **cause)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun->sun_path) {
		xasprintf(cause, "control socket path %s is too long (at most %zu bytes)", path,
		    sizeof sun->sun_path - 1);
		return -1;
	}
	strcpy(sun->sun_path, path);
	return 0;
}

/*
 * A socket file already there: if a daemon answers on it, refuse to start
 * (never steal a live daemon's socket); if nobody does, it is stale: remove it.
 */
static int
remove_stale(const char *path, const struct sockaddr_un *sun, char **cause)
{
	struct stat st;
	int fd, err;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		xasprintf(cause, "%s exists and is not a socket: not replacing it", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -1;
	}
	err = connect(fd, (const struct sockaddr *)sun, sizeof *sun) == 0 ? 0 : errno;
	close(fd);
	if (err == 0 || err == EAGAIN || err == EINPROGRESS) {
		xasprintf(cause, "%s: another traceflowd is running and answers on it", path);
		return -1;
	}
	if (err != ECONNREFUSED && err != ENOENT) {
		xasprintf(
		    cause, "%s: cannot tell whether a daemon answers: %s", path, strerror(err));
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		xasprintf(cause, "cannot remove stale %s: %s", path, strerror(errno));
		return -1;
	}
	log_info("removed a stale control socket %s", path);
	return 0;
}

/* The socket's folder, if missing (without systemd's RuntimeDirectory). */
static void
make_parent(const char *path)
{
	char *copy = xstrdup(path), *dir = dirname(copy);

	if (access(dir, F_OK) == -1 && spool_mkdir(dir, 0755) == 0)
		log_info("created %s", dir);
	free(copy);
}

static int
resolve_group(struct control *ctl, const char *name, char **cause)
{
	struct group *gr;

	ctl->group = getegid();
	if (name == NULL || name[0] == '\0')
		return 0;
	if ((gr = getgrnam(name)) == NULL) {
		xasprintf(cause, "group \"%s\" (setting control_group) does not exist", name);
		return -1;
	}
	ctl->group = gr->gr_gid;
	return 0;
}

/*
 * Bind with a umask that leaves the socket to its owner, then hand it to
 * the group: no moment in which others could connect.
 */
static int
bind_socket(struct control *ctl, int mode, char **cause)
{
	struct sockaddr_un sun;
	mode_t old;
	gid_t egid;
	int fd, rc, saved;

	if (fill_addr(&sun, ctl->path, cause) == -1 || remove_stale(ctl->path, &sun, cause) == -1)
		return -1;
	make_parent(ctl->path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -1;
	}
	/*
	 * The socket is born with its mode and group: a chown or chmod by path
	 * after bind() would follow a link that the daemon user (who may own
	 * the socket's folder) renamed over it, and root would change the
	 * target. The mode comes from the umask, the group from the effective
	 * group while binding.
	 */
	old = umask(~(mode_t)mode & 0777);
	egid = getegid();
	if (geteuid() == 0 && ctl->group != egid && setegid(ctl->group) == -1) {
		umask(old);
		xasprintf(cause, "setegid %u: %s", (unsigned)ctl->group, strerror(errno));
		goto fail;
	}
	rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	saved = errno;
	umask(old);
	if (getegid() != egid && setegid(egid) == -1)
		fatal("setegid back to %u", (unsigned)egid);
	errno = saved;
	if (rc == -1) {
		xasprintf(cause, "bind %s: %s", ctl->path, strerror(errno));
		goto fail;
	}
	/* Not root: no link can turn this against anyone but ourselves. */
	if ((geteuid() != 0 && ctl->group != getegid() &&
	        chown(ctl->path, (uid_t)-1, ctl->group) == -1) ||
	    listen(fd, BACKLOG) == -1) {
		xasprintf(cause, "%s: %s", ctl->path, strerror(errno));
		unlink(ctl->path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

struct control *
control_new(struct daemon *d, struct event_base *base, char **cause)
{
	const struct tf_config *cfg = daemon_config(d);
	struct control *ctl;
	int fd;

	ctl = xcalloc(1, sizeof *ctl);
	ctl->d = d;
	ctl->base = base;
	ctl->path = xstrdup(cfg->control_socket);
	TAILQ_INIT(&ctl->clients);
	if (resolve_group(ctl, cfg->control_group, cause) == -1 ||
	    (fd = bind_socket(ctl, cfg->control_mode, cause)) == -1) {
		free(ctl->path);
		free(ctl);
		return NULL;
	}
	ctl->listener = evconnlistener_new(
	    base, on_accept, ctl, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (ctl->listener == NULL) {
		xasprintf(cause, "%s: cannot listen", ctl->path);
		close(fd);
		unlink(ctl->path);
		free(ctl->path);
		free(ctl);
		return NULL;
	}
	/* Clients are served once the engine exists. */
	evconnlistener_disable(ctl->listener);
	ctl->ring.slot = xcalloc(RING_MAX, sizeof *ctl->ring.slot);
	log_info("control socket %s (mode %04o, group %s)", ctl->path, cfg->control_mode,
	    cfg->control_group && cfg->control_group[0] ? cfg->control_group : "(daemon's)");
	return ctl;
}

void
control_attach_engine(struct control *ctl, struct engine *e)
{
	ctl->engine = e;
	engine_set_end_hook(e, on_flow_done, ctl);
	evconnlistener_enable(ctl->listener);
}

void
control_free(struct control *ctl)
{
	uint64_t n;

	if (ctl == NULL)
		return;
	if (ctl->engine != NULL)
		engine_set_end_hook(ctl->engine, NULL, NULL);
	evconnlistener_free(ctl->listener);
	ctl->listener = NULL;
	while (!TAILQ_EMPTY(&ctl->clients))
		client_free(TAILQ_FIRST(&ctl->clients));
	/* After the privilege drop this may fail; the next start replaces a stale socket. */
	if (unlink(ctl->path) == -1 && errno != ENOENT)
		log_debug("unlink %s: %s", ctl->path, strerror(errno));
	for (n = ring_first(&ctl->ring); n < ctl->ring.added; n++)
		done_clear(&ctl->ring, &ctl->ring.slot[n % RING_MAX]);
	free(ctl->ring.slot);
	free(ctl->path);
	free(ctl);
}
