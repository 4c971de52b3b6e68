/*
 * traceflowctl.c: the control client. Thin, as tmux's client is: it sends
 * the command line, the daemon checks and runs it and answers with a JSON
 * document and an exit status; this side only prints the document, as it
 * is (--json) or as aligned columns for people.
 *
 * It knows the protocol (proto.h) and the command table (cmd.h), nothing of
 * the engine or the config file: -c asks traceflowd itself to read a file
 * (traceflowd --print-config json), so that one parser owns the settings
 * and their defaults, and the client links neither libpcap, libconfig nor
 * libsystemd (tests/ctl-cli.sh checks with ldd).
 *
 * Exit codes: 0 ok, 1 the daemon answered with an error, 2 usage error,
 * 69 (EX_UNAVAILABLE) the daemon could not be reached or broke off the
 * reply, 75 (EX_TEMPFAIL) no whole reply within --timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd.h"
#include "ctlconn.h"
#include "ctlprint.h"
#include "duration.h"
#include "log.h"
#include "query.h"
#include "xmalloc.h"

#ifndef SBINDIR
#define SBINDIR "/usr/sbin"
#endif

#define DEFAULT_TIMEOUT (10 * DURATION_NS_PER_SEC) /* connect and the whole reply */
#define MAX_CONFIG_JSON (1U << 20)                 /* traceflowd --print-config json */
#define EXIT_DAEMON_ERR 1
#define EXIT_USAGE      2
#define EXIT_TIMEOUT    EX_TEMPFAIL

static const char *progname = "traceflowctl";

/*
 * xmalloc.c's fatalx(), the client's only use of log.h: written here so
 * that the client does not link log.c and, through it, libsystemd.
 */
/* "traceflowctl: " and the message, without its end of line. */
static void
vwarn(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_FAILURE);
}

/*
 * The catalog's (catalog.c) warnings, for query: to stderr, as the client's
 * other messages, not through log.c and its journal.
 */
void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* --- usage -------------------------------------------------------------- */

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp,
	    "usage: %s [-j] [-s SOCKET | -c CONFIG] [--timeout DURATION] COMMAND [ARGS]\n"
	    "       %s help [COMMAND]\n"
	    "The options may also follow the command; \"--\" ends them.\n\ncommands:\n",
	    progname, progname);
	for (i = 0; i < CMD_COUNT; i++) {
		if (cmd_table[i].flags & CMD_HIDDEN)
			continue;
		fprintf(fp, "  %s%s%s\n      %s%s\n", cmd_table[i].name,
		    cmd_table[i].args[0] ? " " : "", cmd_table[i].args, cmd_table[i].help,
		    cmd_table[i].flags & CMD_ADMIN ? " (root or admin_group)" : "");
	}
	fprintf(fp, "  %s %s\n      %s\n", QUERY_NAME, QUERY_ARGS, QUERY_HELP);
	fprintf(fp,
	    "\noptions:\n"
	    "  -j, --json               print the daemon's JSON document as it came\n"
	    "  -s, --socket SOCKET      the control socket (default %s)\n"
	    "  -c, --config FILE        the socket of this config file (control_socket)\n"
	    "      --timeout DURATION   give up after this long without the whole reply\n"
	    "                           (default 10s; 10, 1.5s, 2m)\n"
	    "  -h, --help               this text (after a command: its usage)\n"
	    "  -V, --version            the client's version\n"
	    "show takes a label, a file name or path in the spool, or a glob.\n",
	    PROTO_DEFAULT_SOCKET);
}

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try %s help)\n", progname);
	return EXIT_USAGE;
}

static int
query_usage(void)
{
	printf("usage: %s %s %s\n%s\n", progname, QUERY_NAME, QUERY_ARGS, QUERY_HELP);
	return 0;
}

static int
command_usage(const struct cmd_entry *ce)
{
	printf("usage: %s %s%s%s\n%s\n", progname, ce->name, ce->args[0] ? " " : "", ce->args,
	    ce->help);
	return 0;
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
		puts(QUERY_NAME);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], QUERY_NAME) == 0)
		return query_usage();
	if (argc > 1) {
		if ((ce = cmd_find(argv[1])) == NULL)
			return usage_error("unknown command \"%s\"", argv[1]);
		return command_usage(ce);
	}
	usage(stdout);
	return 0;
}

/* --- the command line ---------------------------------------------------- */

enum gopt_id { G_SOCKET, G_CONFIG, G_JSON, G_TIMEOUT, G_HELP, G_VERSION };

/* traceflowctl's own options, accepted before or after the command. */
static const struct gopt {
	char shortname; /* 0: none */
	const char *name;
	int has_arg;
	enum gopt_id id;
} gopts[] = {
    {'s', "socket", 1, G_SOCKET},
    {'c', "config", 1, G_CONFIG},
    {'j', "json", 0, G_JSON},
    {0, "timeout", 1, G_TIMEOUT},
    {'h', "help", 0, G_HELP},
    {'V', "version", 0, G_VERSION},
};

#define NGOPTS (sizeof gopts / sizeof gopts[0])

struct opts {
	const char *socket; /* -s, or NULL */
	const char *config; /* -c, or NULL (the last of -s and -c wins) */
	int json;
	int help;
	int version;
	uint64_t timeout_ns;
	char **words; /* the command and its arguments, as sent */
	int nwords;
};

static const struct gopt *
gopt_short(char c)
{
	size_t i;

	for (i = 0; i < NGOPTS; i++)
		if (gopts[i].shortname != 0 && gopts[i].shortname == c)
			return &gopts[i];
	return NULL;
}

static const struct gopt *
gopt_long(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NGOPTS; i++)
		if (strlen(gopts[i].name) == len && strncmp(gopts[i].name, name, len) == 0)
			return &gopts[i];
	return NULL;
}

static int
set_gopt(struct opts *o, const struct gopt *g, const char *val)
{
	switch (g->id) {
	case G_SOCKET:
		o->socket = val;
		o->config = NULL;
		break;
	case G_CONFIG:
		o->config = val;
		o->socket = NULL;
		break;
	case G_JSON:
		o->json = 1;
		break;
	case G_TIMEOUT:
		if (duration_parse(val, &o->timeout_ns) == -1 || o->timeout_ns == 0)
			return usage_error("--timeout: \"%s\" is not a duration above 0 (%s)", val,
			    DURATION_FORMS);
		break;
	case G_HELP:
		o->help = 1;
		break;
	case G_VERSION:
		o->version = 1;
		break;
	}
	return 0;
}

/*
 * A short cluster ("-j", "-js SOCK", "-sSOCK") when every letter is one of
 * ours: 1 if taken (*i moved past a value), 0 if it is not ours, or a usage
 * error.
 */
static int
take_short(struct opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i], *p;
	const struct gopt *g;
	int rc;

	for (p = a + 1; *p != '\0'; p++) {
		if ((g = gopt_short(*p)) == NULL)
			return 0;
		if (g->has_arg)
			break;
	}
	for (p = a + 1; *p != '\0'; p++) {
		g = gopt_short(*p);
		if (!g->has_arg) {
			if ((rc = set_gopt(o, g, NULL)) != 0)
				return -rc;
			continue;
		}
		if (p[1] == '\0' && *i + 1 >= argc)
			return -usage_error("option -%c needs a value", *p);
		rc = set_gopt(o, g, p[1] != '\0' ? p + 1 : argv[++*i]);
		return rc != 0 ? -rc : 1;
	}
	return 1;
}

/* "--json", "--socket S", "--socket=S": 1 if one of ours, 0 if not, or a usage error. */
static int
take_long(struct opts *o, int argc, char **argv, int *i)
{
	const char *name = argv[*i] + 2, *eq = strchr(name, '=');
	size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
	const struct gopt *g;
	int rc;

	if ((g = gopt_long(name, len)) == NULL)
		return 0;
	if (!g->has_arg && eq != NULL)
		return -usage_error("option --%s takes no value", g->name);
	if (g->has_arg && eq == NULL && *i + 1 >= argc)
		return -usage_error("option --%s needs a value", g->name);
	rc = set_gopt(o, g, !g->has_arg ? NULL : eq != NULL ? eq + 1 : argv[++*i]);
	return rc != 0 ? -rc : 1;
}

/*
 * Split argv into our options and the command line sent to the daemon. Our
 * options go anywhere ("list --json", "-j list"); a command's own options
 * are checked against its usage text (cmd_option), their values taken as
 * they are ("--label -x"); after "--" every word is the command's. 0, or a
 * usage error's exit status.
 */
static int
parse_args(int argc, char **argv, struct opts *o)
{
	const struct cmd_entry *ce = NULL;
	int i, r, rest = 0, arity;
	char *a;

	o->words = xcalloc((size_t)argc + 1, sizeof *o->words);
	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (!rest && strcmp(a, "--") == 0) {
			rest = 1;
			continue;
		}
		if (!rest && a[0] == '-' && a[1] != '\0') {
			r = a[1] == '-' ? take_long(o, argc, argv, &i)
			                : take_short(o, argc, argv, &i);
			if (r < 0)
				return -r;
			if (r == 1)
				continue;
			if (o->nwords == 0)
				return usage_error("unknown option %s", a);
			if (ce != NULL) {
				if ((arity = cmd_option(ce, a)) == -1)
					return usage_error("%s: unknown option %s; usage: %s %s",
					    ce->name, a, ce->name, ce->args);
				if (arity == 1 && i + 1 >= argc)
					return usage_error("%s: %s needs a value", ce->name, a);
				o->words[o->nwords++] = a;
				if (arity == 1)
					o->words[o->nwords++] = argv[++i];
				continue;
			}
		}
		if (o->nwords == 0)
			ce = cmd_find(a); /* NULL for help, or an unknown command */
		o->words[o->nwords++] = a;
	}
	return 0;
}

/* --- show's argument ------------------------------------------------------ */

/*
 * show takes what people have at hand: a label, a glob of labels (matched
 * by the daemon), or a flow's file, by name or path: "LABEL.pcap",
 * "/var/spool/traceflow/2024/05/01/LABEL.seg2.pcap". A file loses its
 * folder and extension, and ".segN" names one segment (*seg, else -1). A
 * label ends in a digit (its timestamp or "-N" suffix), never in ".word",
 * so no label is cut; a glob goes as it is.
 */
static char *
show_label(const char *arg, long *seg)
{
	const char *base = strrchr(arg, '/') != NULL ? strrchr(arg, '/') + 1 : arg;
	char *s = xstrdup(base), *dot, *p, *end;
	long n;

	*seg = -1;
	if ((dot = strrchr(s, '.')) != NULL && dot[1] != '\0') {
		for (p = dot + 1; *p >= 'a' && *p <= 'z'; p++)
			;
		if (*p == '\0')
			*dot = '\0';
	}
	if ((dot = strrchr(s, '.')) != NULL && strncmp(dot, ".seg", 4) == 0 && dot[4] >= '0' &&
	    dot[4] <= '9') {
		errno = 0;
		n = strtol(dot + 4, &end, 10);
		if (*end == '\0' && errno == 0) {
			*seg = n;
			*dot = '\0';
		}
	}
	return s;
}

/* Keep segment seg of a show reply alone; -1 if it has no such segment. */
static int
keep_segment(json_t *doc, long seg)
{
	json_t *segs = json_object_get(doc, "segments"), *kept = json_array(), *e;
	size_t i;

	json_array_foreach(segs, i, e) if (ctl_jint(e, "segment") == seg)
	    json_array_append(kept, e);
	if (json_array_size(kept) == 0) {
		json_decref(kept);
		return -1;
	}
	json_object_set_new(doc, "segments", kept);
	return 0;
}

/* --- the socket of a config file ----------------------------------------- */

/*
 * -c FILE: traceflowd reads the file (its messages, naming file, line and
 * setting, reach the user's stderr) and prints the effective configuration
 * as JSON; the setting key (control_socket; spool_dir for query) is taken
 * from that. Without a file, traceflowd's own (its default path, or the
 * defaults where there is none). $TRACEFLOWD names another traceflowd than
 * the installed one (the tests run the built one).
 */
static char *
setting_of_config(const char *file, const char *key)
{
	const char *prog = getenv("TRACEFLOWD");
	size_t len = 0;
	char *buf = xmalloc(MAX_CONFIG_JSON + 1), *path = NULL;
	json_error_t err;
	json_t *doc;
	ssize_t n;
	int p[2], status;
	pid_t pid;

	if (prog == NULL || *prog == '\0')
		prog = SBINDIR "/traceflowd";
	fflush(stdout);
	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		fprintf(stderr, "%s: cannot run %s: %s\n", progname, prog, strerror(errno));
		exit(EX_OSERR);
	}
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		if (file != NULL)
			execl(
			    prog, "traceflowd", "--print-config", "json", "-c", file, (char *)NULL);
		else
			execl(prog, "traceflowd", "--print-config", "json", (char *)NULL);
		fprintf(stderr, "%s: cannot run %s to read %s: %s\n", progname, prog,
		    file != NULL ? file : "its configuration", strerror(errno));
		_exit(EX_UNAVAILABLE);
	}
	close(p[1]);
	while (len < MAX_CONFIG_JSON && ((n = read(p[0], buf + len, MAX_CONFIG_JSON - len)) > 0 ||
	                                    (n == -1 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) == EX_UNAVAILABLE)
		exit(EX_UNAVAILABLE);
	if (WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s: no %s from %s: traceflowd refused it\n", progname, key,
		    file != NULL ? file : "the configuration");
		exit(EXIT_USAGE);
	}
	buf[len] = '\0';
	if ((doc = json_loads(buf, 0, &err)) != NULL && ctl_jstr(doc, key, NULL) != NULL)
		path = xstrdup(ctl_jstr(doc, key, NULL));
	json_decref(doc);
	free(buf);
	if (path == NULL) {
		fprintf(stderr, "%s: %s --print-config json gave no %s\n", progname, prog, key);
		exit(EX_UNAVAILABLE);
	}
	return path;
}

static int
show_reply(const struct cmd_entry *ce, const struct reply *r, int as_json, long seg)
{
	json_t *doc;
	json_error_t err;
	char *text;
	int rc = r->status == PROTO_OK ? 0 : EXIT_DAEMON_ERR;

	if (as_json && seg < 0) {
		printf("%s\n", r->doc);
		return rc;
	}
	if ((doc = json_loadb(r->doc, r->len, 0, &err)) == NULL) {
		fprintf(stderr, "%s: traceflowd sent invalid JSON: %s\n", progname, err.text);
		return EXIT_DAEMON_ERR;
	}
	if (rc == 0 && seg >= 0 && keep_segment(doc, seg) == -1) {
		fprintf(stderr, "%s: %s has no segment %ld\n", progname,
		    ctl_jstr(doc, "label", "?"), seg);
		rc = EXIT_DAEMON_ERR;
	} else if (as_json) {
		text = json_dumps(doc, JSON_COMPACT);
		printf("%s\n", text != NULL ? text : "null");
		free(text);
	} else if (rc != 0) {
		fprintf(stderr, "%s: %s\n", progname, ctl_jstr(doc, "error", "failed"));
		if (r->version != PROTO_VERSION)
			fprintf(stderr, "%s: this traceflowctl speaks protocol %d, traceflowd %u\n",
			    progname, PROTO_VERSION, r->version);
	} else
		ctl_print(ce, doc);
	json_decref(doc);
	return rc;
}

/* query runs here, not in the daemon (query.h); the spool is -d's, or the config's. */
static int
run_query(const struct opts *o)
{
	struct query_opts q;
	char *spool = NULL;
	int rc;

	memset(&q, 0, sizeof q);
	q.json = o->json;
	if (o->help)
		rc = query_usage();
	else if ((rc = query_parse(o->nwords, o->words, &q)) == 0) {
		if (q.spool == NULL)
			q.spool = spool = setting_of_config(o->config, "spool_dir");
		rc = query_run(&q);
	}
	free(q.argv);
	free(spool);
	return rc;
}

/* The command line: its request, the reply, what it shows; the exit status. */
static int
run(const struct opts *o)
{
	const struct cmd_entry *ce;
	struct conn c;
	struct reply r;
	char *cause = NULL, *label = NULL, *path = NULL;
	uint8_t *req;
	size_t len;
	long seg = -1;
	int rc;

	if (o->nwords == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(o->words[0], "help") == 0)
		return help(o->nwords, o->words);
	if (strcmp(o->words[0], QUERY_NAME) == 0)
		return run_query(o);
	if ((ce = cmd_find(o->words[0])) == NULL)
		return usage_error("unknown command \"%s\"", o->words[0]);
	if (o->help)
		return command_usage(ce);
	if (cmd_check_args(ce, o->nwords - 1, &cause) == -1) {
		rc = usage_error("%s", cause);
		free(cause);
		return rc;
	}
	if (ce == &cmd_table[CMD_show])
		o->words[1] = label = show_label(o->words[1], &seg);
	if ((req = proto_request_encode(o->nwords, o->words, &len, &cause)) == NULL) {
		rc = usage_error("%s", cause);
		free(cause);
		free(label);
		return rc;
	}
	if (o->config != NULL)
		path = setting_of_config(o->config, "control_socket");
	c.path = path != NULL ? path : o->socket != NULL ? o->socket : PROTO_DEFAULT_SOCKET;
	c.timeout_ns = o->timeout_ns;
	c.deadline = ctlconn_now() + o->timeout_ns;
	ctlconn_connect(&c);
	ctlconn_write(&c, req, len);
	ctlconn_read_reply(&c, &r);
	close(c.fd);
	rc = show_reply(ce, &r, o->json, seg);
	free(r.doc);
	free(req);
	free(label);
	free(path);
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o;
	int rc;

	memset(&o, 0, sizeof o);
	o.timeout_ns = DEFAULT_TIMEOUT;
	tzset();
	if ((rc = parse_args(argc, argv, &o)) != 0) {
		free(o.words);
		return rc;
	}
	if (o.version)
		printf("traceflowctl %s (protocol %d)\n", PACKAGE_VERSION, PROTO_VERSION);
	else if (o.help && o.nwords == 0)
		usage(stdout);
	else
		rc = run(&o);
	free(o.words);
	return rc;
}
