/*
 * traceflowctl.c: the control client. Thin, as tmux's client is: it sends
 * the command line, the daemon checks and runs it and answers with a JSON
 * document and an exit status; this side only prints the document, as it
 * is (--json) or as aligned columns for people.
 *
 * Exit codes: 0 ok, 1 the daemon answered with an error, 2 usage error,
 * 69 (EX_UNAVAILABLE) the daemon could not be reached.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd.h"
#include "config.h"
#include "xmalloc.h"

#define DEFAULT_SOCKET  "/run/traceflow/control.sock" /* as config.c's default */
#define REPLY_TIMEOUT   60                            /* seconds without a byte from the daemon */
#define MAX_REPLY       (1ULL << 32)                  /* a reply beyond this is not believed */
#define EXIT_DAEMON_ERR 1
#define EXIT_USAGE      2

static const char *progname = "traceflowctl";

/* --- output helpers ------------------------------------------------------ */

static void
human_size(char *buf, size_t len, double v)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	unsigned u = 0;

	while (v >= 1024 && u < sizeof units / sizeof units[0] - 1) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f %s", v, units[u]);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

static void
human_duration(char *buf, size_t len, double s)
{
	uint64_t t = (uint64_t)s;

	if (s < 0)
		s = 0, t = 0;
	if (s < 60)
		snprintf(buf, len, "%.1fs", s);
	else if (t < 3600)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", t / 60, t % 60);
	else if (t < 86400)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", t / 3600, t / 60 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", t / 86400, t / 3600 % 24);
}

static json_int_t
jint(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *
jstr(const json_t *o, const char *key, const char *dflt)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : dflt;
}

/* A table of strings printed with aligned columns; numbers right-aligned. */
struct table {
	int ncols;
	const char *const *heads;
	const int *right;
	char **cells;
	size_t nrows;
	size_t cap;
};

static void
table_add(struct table *t, ...)
{
	va_list ap;
	int i;

	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->cells = xreallocarray(t->cells, t->cap * (size_t)t->ncols, sizeof *t->cells);
	}
	va_start(ap, t);
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * (size_t)t->ncols + (size_t)i] =
		    xstrdup(va_arg(ap, const char *));
	va_end(ap);
	t->nrows++;
}

static void
table_print(struct table *t)
{
	size_t r, w[16] = {0}, n;
	int i;

	for (i = 0; i < t->ncols; i++)
		w[i] = strlen(t->heads[i]);
	for (r = 0; r < t->nrows; r++)
		for (i = 0; i < t->ncols; i++)
			if ((n = strlen(t->cells[r * (size_t)t->ncols + (size_t)i])) > w[i])
				w[i] = n;
	for (r = 0; r <= t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			const char *s =
			    r == 0 ? t->heads[i] : t->cells[(r - 1) * (size_t)t->ncols + (size_t)i];
			int last = i == t->ncols - 1;

			if (t->right[i])
				printf("%*s%s", (int)w[i], s, last ? "" : "  ");
			else
				printf("%-*s%s", last ? 0 : (int)w[i], s, last ? "" : "  ");
		}
		putchar('\n');
	}
	for (r = 0; r < t->nrows * (size_t)t->ncols; r++)
		free(t->cells[r]);
	free(t->cells);
}

/* --- printers, one per command (the X-macro keeps them in table order) --- */

typedef void (*printer)(const json_t *doc);

static void
endpoint(char *buf, size_t len, const json_t *e, const char *addr, const char *port)
{
	const char *a = jstr(e, addr, "?");

	if (strchr(a, ':') != NULL)
		snprintf(buf, len, "[%s]:%lld", a, (long long)jint(e, port));
	else
		snprintf(buf, len, "%s:%lld", a, (long long)jint(e, port));
}

static void
print_list(const json_t *doc)
{
	static const char *const heads[] = {
	    "STATE", "SOURCE", "DESTINATION", "AGE", "PACKETS", "BYTES", "LABEL", "FILE"};
	static const int right[] = {0, 0, 0, 1, 1, 1, 0, 0};
	struct table t = {8, heads, right, NULL, 0, 0};
	char src[80], dst[80], age[32], pk[32], by[32];
	size_t i, nactive = 0;
	const json_t *e;
	const char *state;

	json_array_foreach(json_object_get(doc, "flows"), i, e)
	{
		state = jstr(e, "state", "?");
		nactive += strcmp(state, "finished") != 0;
		endpoint(src, sizeof src, e, "src", "srcport");
		endpoint(dst, sizeof dst, e, "dst", "dstport");
		if (json_object_get(e, "age") != NULL)
			human_duration(
			    age, sizeof age, json_number_value(json_object_get(e, "age")));
		else
			human_duration(age, sizeof age,
			    (double)(jint(e, "last_ns") - jint(e, "first_ns")) / 1e9);
		snprintf(pk, sizeof pk, "%lld", (long long)jint(e, "packets"));
		human_size(by, sizeof by, (double)jint(e, "bytes"));
		table_add(&t, state, src, dst, age, pk, by, jstr(e, "label", "?"),
		    jstr(e, "file", jstr(e, "fpout", "-")));
	}
	table_print(&t);
	printf("%zu flows: %zu active, %zu finished\n", t.nrows, nactive, t.nrows - nactive);
}

static void
print_labels(const json_t *doc)
{
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(doc, "labels"), i, e) puts(json_string_value(e));
}

static void
print_frames(const json_t *frames)
{
	const json_t *v;
	size_t i, col = 0;

	if (!json_is_array(frames)) {
		printf("  frames      (not kept: beyond the daemon's budget for finished flows)\n");
		return;
	}
	printf("  frames     ");
	json_array_foreach(frames, i, v)
	{
		if (col >= 80) {
			printf("\n             ");
			col = 0;
		}
		col += (size_t)printf(" %lld", (long long)json_integer_value(v));
	}
	putchar('\n');
}

static void
print_segment(const json_t *e)
{
	char src[80], dst[80], by[32], dur[32];
	const char *reason = jstr(e, "reason", NULL);

	endpoint(src, sizeof src, e, "src", "srcport");
	endpoint(dst, sizeof dst, e, "dst", "dstport");
	human_size(by, sizeof by, (double)jint(e, "bytes"));
	human_duration(dur, sizeof dur, (double)(jint(e, "last_ns") - jint(e, "first_ns")) / 1e9);
	printf("segment %lld (%s%s%s)\n", (long long)jint(e, "segment"), jstr(e, "state", "?"),
	    reason ? ", " : "", reason ? reason : "");
	printf("  endpoints   %s -> %s on %s\n", src, dst, jstr(e, "interface", "?"));
	printf("  packets     %lld (%s) over %s\n", (long long)jint(e, "packets"), by, dur);
	printf("  file        %s\n", jstr(e, "file", jstr(e, "fpout", "-")));
	print_frames(json_object_get(e, "index"));
}

static void
print_show(const json_t *doc)
{
	const json_t *e;
	size_t i;

	printf("%s\n", jstr(doc, "label", "?"));
	json_array_foreach(json_object_get(doc, "segments"), i, e) print_segment(e);
}

static void
print_submit(const json_t *doc)
{
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(doc, "submitted"), i, e)
	    printf("%s\t%s\n", jstr(e, "label", "?"), jstr(e, "fpout", "-"));
	printf("%lld flows submitted\n", (long long)jint(doc, "count"));
}

static void
print_interfaces(const json_t *doc)
{
	static const char *const heads[] = {
	    "INTERFACE", "STATE", "RECEIVED", "KERNEL DROPS", "IF DROPS", "FRAMES", "ERROR"};
	static const int right[] = {0, 0, 1, 1, 1, 1, 0};
	struct table t = {7, heads, right, NULL, 0, 0};
	char n[4][32];
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(doc, "interfaces"), i, e)
	{
		snprintf(n[0], sizeof n[0], "%lld", (long long)jint(e, "received"));
		snprintf(n[1], sizeof n[1], "%lld", (long long)jint(e, "kernel_drops"));
		snprintf(n[2], sizeof n[2], "%lld", (long long)jint(e, "if_drops"));
		snprintf(n[3], sizeof n[3], "%lld", (long long)jint(e, "frames"));
		table_add(&t, jstr(e, "name", "?"),
		    json_is_true(json_object_get(e, "up")) ? "up" : "down", n[0], n[1], n[2], n[3],
		    jstr(e, "error", ""));
	}
	table_print(&t);
}

static void
print_counts(const char *title, const json_t *o)
{
	const char *k;
	const json_t *v;
	int any = 0;

	json_object_foreach((json_t *)o, k, v)
	{
		if (json_integer_value(v) == 0)
			continue;
		printf("%s%s %lld", any ? "," : title, k, (long long)json_integer_value(v));
		any = 1;
	}
	if (any)
		putchar('\n');
}

/* The IPFIX export line: only when the daemon exports. */
static void
print_ipfix(const json_t *x)
{
	if (!json_is_object(x))
		return;
	printf("%-18s %lld records sent, %lld lost, %lld queued; %s %s (%s)\n", "ipfix",
	    (long long)jint(x, "sent"), (long long)jint(x, "lost"), (long long)jint(x, "queued"),
	    json_is_true(json_object_get(x, "connected")) ? "connected to" : "waiting for",
	    jstr(x, "collector", "?"), jstr(x, "transport", "?"));
}

static void
print_stats(const json_t *doc)
{
	const json_t *t = json_object_get(doc, "totals");
	char a[32], b[32];

	print_interfaces(doc);
	putchar('\n');
	printf("%-18s %lld (%lld frames, %lld not TCP)\n", "TCP packets", (long long)jint(t, "tcp"),
	    (long long)jint(t, "frames"), (long long)jint(t, "not_tcp"));
	printf("%-18s %lld\n", "malformed", (long long)jint(t, "malformed"));
	print_counts("  by reason:        ", json_object_get(t, "malformed_by_reason"));
	printf("%-18s %lld active, %lld finished (%lld started)\n", "flows",
	    (long long)jint(t, "flows_active"), (long long)jint(t, "flows_finished"),
	    (long long)jint(t, "flows_started"));
	print_counts("  ended by:         ", json_object_get(t, "ended_by_reason"));
	human_size(a, sizeof a, (double)jint(t, "bytes_written"));
	human_size(b, sizeof b, (double)jint(t, "buffered"));
	printf("%-18s %lld open, %lld written (%s), %s buffered, %lld write errors\n", "files",
	    (long long)jint(t, "open_files"), (long long)jint(t, "files_written"), a, b,
	    (long long)jint(t, "write_errors"));
	printf("%-18s %lld frames not written, %lld index lines waiting, %lld dropped\n", "lost",
	    (long long)jint(t, "frames_lost"), (long long)jint(t, "index_lines_pending"),
	    (long long)jint(t, "index_lines_lost"));
	print_ipfix(json_object_get(t, "ipfix"));
	human_size(a, sizeof a, (double)jint(t, "rss"));
	printf("%-18s %s\n", "memory (RSS)", a);
	human_size(a, sizeof a, (double)jint(t, "spool_bytes"));
	printf("%-18s %lld files, %s\n", "spool", (long long)jint(t, "spool_files"), a);
	human_duration(a, sizeof a, json_number_value(json_object_get(t, "uptime")));
	printf("%-18s %s\n", "uptime", a);
}

static void
print_reload(const json_t *doc)
{
	printf("reloaded %s\n", jstr(doc, "config", "(built-in defaults)"));
}

static void
print_config(const json_t *doc)
{
	const char *k;
	const json_t *v;
	char *s;

	json_object_foreach((json_t *)doc, k, v)
	{
		s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		printf("%s = %s\n", k, s ? s : "?");
		free(s);
	}
}

static void
print_version(const json_t *doc)
{
	printf("traceflowctl %s (protocol %d)\n", PACKAGE_VERSION, PROTO_VERSION);
	printf("traceflowd %s (protocol %lld)\n", jstr(doc, "version", "?"),
	    (long long)jint(doc, "protocol"));
}

#define CMD_PRINTER(n, fl, mn, mx, a, h) print_##n,
static const printer printers[CMD_COUNT] = {CMD_TABLE(CMD_PRINTER)};
#undef CMD_PRINTER

/* --- usage -------------------------------------------------------------- */

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp,
	    "usage: %s [-s SOCKET | -c CONFIG] [--json] COMMAND [ARGS]\n"
	    "       %s help [COMMAND]\n\ncommands:\n",
	    progname, progname);
	for (i = 0; i < CMD_COUNT; i++) {
		if (cmd_table[i].flags & CMD_HIDDEN)
			continue;
		fprintf(fp, "  %s%s%s\n      %s%s\n", cmd_table[i].name,
		    cmd_table[i].args[0] ? " " : "", cmd_table[i].args, cmd_table[i].help,
		    cmd_table[i].flags & CMD_ADMIN ? " (root or admin_group)" : "");
	}
	fprintf(fp, "\nThe socket defaults to %s.\n", DEFAULT_SOCKET);
}

/* help [COMMAND]; --commands lists the names, for shell completion. */
static int
help(int argc, char **argv)
{
	const struct cmd_entry *ce;
	size_t i;

	if (argc > 1 && strcmp(argv[1], "--commands") == 0) {
		for (i = 0; i < CMD_COUNT; i++)
			if (!(cmd_table[i].flags & CMD_HIDDEN))
				puts(cmd_table[i].name);
		return 0;
	}
	if (argc > 1) {
		if ((ce = cmd_find(argv[1])) == NULL) {
			fprintf(stderr, "%s: unknown command \"%s\"\n", progname, argv[1]);
			return EXIT_USAGE;
		}
		printf("usage: %s %s%s%s\n%s\n", progname, ce->name, ce->args[0] ? " " : "",
		    ce->args, ce->help);
		return 0;
	}
	usage(stdout);
	return 0;
}

/* --- talking to the daemon ----------------------------------------------- */

static int
connect_daemon(const char *path)
{
	struct sockaddr_un sun;
	struct timeval tv = {REPLY_TIMEOUT, 0};
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		fprintf(stderr, "%s: socket path %s is too long\n", progname, path);
		exit(EX_UNAVAILABLE);
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		fprintf(stderr, "%s: cannot reach traceflowd at %s: %s%s\n", progname, path,
		    strerror(errno),
		    errno == ENOENT || errno == ECONNREFUSED ? " (is traceflowd running?)"
		    : errno == EACCES                        ? " (not in the socket's group?)"
		                                             : "");
		exit(EX_UNAVAILABLE);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

static void
lost(const char *path, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", progname, path, what);
	exit(EX_UNAVAILABLE);
}

/* Read exactly len bytes; 0 at a clean end of file before the first byte. */
static int
read_full(int fd, void *buf, size_t len, const char *path)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, (char *)buf + got, len - got);
		if (n == 0 && got == 0)
			return 0;
		if (n == 0)
			lost(path, "traceflowd closed the connection in the middle of a message");
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			lost(path, errno == EAGAIN ? "no answer from traceflowd (timed out)"
			                           : strerror(errno));
		got += (size_t)n;
	}
	return 1;
}

static void
write_full(int fd, const uint8_t *p, size_t len, const char *path)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1 && errno == EINTR)
			continue;
		if (n == -1)
			lost(path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

struct reply {
	char *doc; /* the JSON document, NUL-terminated */
	size_t len;
	uint32_t status;
	uint32_t version; /* the daemon's protocol version */
};

/* Read DATA pieces up to EXIT; any violation of proto.h ends with 69. */
static void
read_reply(int fd, const char *path, struct reply *r)
{
	struct proto_hdr h;
	uint8_t st[PROTO_EXIT_LEN];
	char *cause = NULL;

	memset(r, 0, sizeof *r);
	r->doc = xmalloc(1);
	for (;;) {
		if (!read_full(fd, &h, sizeof h, path))
			lost(path, "traceflowd closed the connection without an answer");
		if (proto_reply_check_hdr(&h, &cause) == -1)
			lost(path, cause);
		r->version = h.version;
		if (h.type == PROTO_EXIT)
			break;
		if (r->len + h.len > MAX_REPLY)
			lost(path, "reply too long");
		r->doc = xreallocarray(r->doc, 1, r->len + h.len + 1);
		read_full(fd, r->doc + r->len, h.len, path);
		r->len += h.len;
	}
	read_full(fd, st, sizeof st, path);
	if (proto_exit_decode(st, sizeof st, &r->status, &cause) == -1)
		lost(path, cause);
	r->doc[r->len] = '\0';
}

static int
show_reply(const struct cmd_entry *ce, const struct reply *r, int as_json)
{
	json_t *doc;
	json_error_t err;

	if (as_json) {
		printf("%s\n", r->doc);
		return r->status == PROTO_OK ? 0 : EXIT_DAEMON_ERR;
	}
	if ((doc = json_loadb(r->doc, r->len, 0, &err)) == NULL) {
		fprintf(stderr, "%s: traceflowd sent invalid JSON: %s\n", progname, err.text);
		return EXIT_DAEMON_ERR;
	}
	if (r->status != PROTO_OK) {
		fprintf(stderr, "%s: %s\n", progname, jstr(doc, "error", "failed"));
		if (r->version != PROTO_VERSION)
			fprintf(stderr, "%s: this traceflowctl speaks protocol %d, traceflowd %u\n",
			    progname, PROTO_VERSION, r->version);
	} else
		printers[ce - cmd_table](doc);
	json_decref(doc);
	return r->status == PROTO_OK ? 0 : EXIT_DAEMON_ERR;
}

/* The socket named by a config file (-c). */
static char *
socket_of_config(const char *file)
{
	struct tf_config cfg;
	char *cause = NULL, *path;

	memset(&cfg, 0, sizeof cfg);
	if (config_load(file, &cfg, &cause) == -1) {
		fprintf(stderr, "%s: %s\n", progname, cause);
		exit(EXIT_USAGE);
	}
	path = xstrdup(cfg.control_socket);
	config_free(&cfg);
	return path;
}

/* The command after the options: its request, the reply, what it shows; the exit status. */
static int
run(const char *path, int argc, char **argv, int as_json)
{
	const struct cmd_entry *ce;
	char *cause = NULL;
	struct reply r;
	uint8_t *req;
	size_t len;
	int fd, rc;

	if (argc == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0)
		return help(argc, argv);
	if ((ce = cmd_find(argv[0])) == NULL) {
		fprintf(stderr, "%s: unknown command \"%s\" (try %s help)\n", progname, argv[0],
		    progname);
		return EXIT_USAGE;
	}
	if (cmd_check_args(ce, argc - 1, &cause) == -1 ||
	    (req = proto_request_encode(argc, argv, &len, &cause)) == NULL) {
		fprintf(stderr, "%s: %s\n", progname, cause);
		free(cause);
		return EXIT_USAGE;
	}
	fd = connect_daemon(path);
	write_full(fd, req, len, path);
	read_reply(fd, path, &r);
	close(fd);
	rc = show_reply(ce, &r, as_json);
	free(r.doc);
	free(req);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {{"socket", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'}, {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0}};
	char *path = NULL;
	int ch, as_json = 0, rc;

	/* "+": options stop at the command, whose own options go to the daemon. */
	while ((ch = getopt_long(argc, argv, "+s:c:jhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			free(path);
			path = xstrdup(optarg);
			break;
		case 'c':
			free(path);
			path = socket_of_config(optarg);
			break;
		case 'j':
			as_json = 1;
			break;
		case 'h':
			free(path);
			usage(stdout);
			return 0;
		case 'V':
			free(path);
			printf("traceflowctl %s (protocol %d)\n", PACKAGE_VERSION, PROTO_VERSION);
			return 0;
		default:
			free(path);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	rc = run(path != NULL ? path : DEFAULT_SOCKET, argc - optind, argv + optind, as_json);
	free(path);
	return rc;
}
