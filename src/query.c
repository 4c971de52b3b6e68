/*
 * query.c: `traceflowctl query` (query.h). The expression becomes a WHERE
 * clause (qexpr.c) that SQLite runs over the catalog, read-only, in one
 * read transaction: what the daemon commits meanwhile is not seen, and a
 * file retention removes meanwhile is reported and skipped by the merge.
 * Rows come in the order flows began (first_ns, then the order they were
 * catalogued), so -w streams them into merge.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "catalog.h"
#include "merge.h"
#include "qexpr.h"
#include "query.h"
#include "xmalloc.h"

#define EXIT_FAIL  1
#define EXIT_USAGE 2
#define INDEX_FILE "index.jsonl" /* where a folder without a catalog lists its flows */
#define OPEN_MAX   1024          /* files the merge keeps open at once, at most */

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "traceflowctl: query: " and the message: EXIT_FAIL. */
static int
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("traceflowctl: query: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

/* --- the command line -------------------------------------------------------- */

static int
usage_fail(const char *what, const char *arg)
{
	fprintf(stderr, "traceflowctl: query: %s%s%s%s\nusage: traceflowctl query %s\n", what,
	    arg ? " \"" : "", arg ? arg : "", arg ? "\"" : "", QUERY_ARGS);
	return EXIT_USAGE;
}

/* The value of option words[*i] ("-w F", "--limit=5"): NULL if missing. */
static const char *
opt_value(int nwords, char **words, int *i, const char *eq)
{
	if (eq != NULL)
		return eq + 1;
	return *i + 1 < nwords ? words[++*i] : NULL;
}

int
query_parse(int nwords, char **words, struct query_opts *o)
{
	const char *w, *eq, *v;
	char *end;
	size_t n;
	int i, rest = 0;

	o->argv = xcalloc((size_t)nwords + 1, sizeof *o->argv);
	for (i = 1; i < nwords; i++) {
		w = words[i];
		if (rest || w[0] != '-' || w[1] == '\0') {
			o->argv[o->argc++] = words[i];
			continue;
		}
		if (strcmp(w, "--") == 0) {
			rest = 1;
			continue;
		}
		eq = strncmp(w, "--", 2) == 0 ? strchr(w, '=') : NULL;
		n = eq != NULL ? (size_t)(eq - w) : strlen(w);
		if (n == 7 && strncmp(w, "--limit", n) == 0) {
			if ((v = opt_value(nwords, words, &i, eq)) == NULL)
				return usage_fail("--limit needs a number", NULL);
			errno = 0;
			o->limit = strtoull(v, &end, 10);
			if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || o->limit == 0)
				return usage_fail("--limit: not a number above 0:", v);
		} else if (strcmp(w, "--oldest") == 0)
			o->newest = 0;
		else if (strcmp(w, "--newest") == 0)
			o->newest = 1;
		else if (strcmp(w, "-d") == 0 || (n == 11 && strncmp(w, "--spool-dir", n) == 0)) {
			if ((o->spool = opt_value(nwords, words, &i, eq)) == NULL)
				return usage_fail("-d needs a folder", NULL);
		} else if (strcmp(w, "-w") == 0 || (n == 7 && strncmp(w, "--write", n) == 0)) {
			if ((o->wfile = opt_value(nwords, words, &i, eq)) == NULL)
				return usage_fail(
				    "-w needs a file (or - for standard output)", NULL);
		} else if (n == 8 && strncmp(w, "--filter", n) == 0) {
			if ((o->filter = opt_value(nwords, words, &i, eq)) == NULL)
				return usage_fail("--filter needs a BPF expression", NULL);
		} else
			return usage_fail("unknown option", w);
	}
	if (o->filter != NULL && o->wfile == NULL)
		return usage_fail("--filter chooses packets: it needs -w", NULL);
	return 0;
}

/* --- the spool and its catalog --------------------------------------------------- */

/* EACCES: who may read the spool, and how to become one of them. */
static int
denied(const char *path)
{
	struct group *gr;
	struct stat sb;

	if (stat(path, &sb) == 0 && (gr = getgrgid(sb.st_gid)) != NULL)
		return fail("%s: permission denied: the spool is read by root and the members of "
		            "its group \"%s\" (adduser USER %s; a new login takes it)",
		    path, gr->gr_name, gr->gr_name);
	return fail("%s: permission denied: the spool is read by root and the members of its "
	            "group",
	    path);
}

/* The vlan column ("100,200") as index.jsonl's array. */
static json_t *
vlan_json(const char *text)
{
	json_t *a = json_array();
	const char *p = text;
	char *end;

	while (p != NULL && *p != '\0') {
		json_array_append_new(a, json_integer((json_int_t)strtoul(p, &end, 10)));
		p = *end == ',' ? end + 1 : NULL;
	}
	return a;
}

/* One index.jsonl line as a row for the temporary catalog (strings point into o). */
static int
row_of_line(json_t *o, struct catalog_row *r, char *vlan, size_t len, char **part)
{
	const char *slash;
	json_t *v;
	size_t i, n = 0;

	memset(r, 0, sizeof *r);
	if ((r->fpout = json_string_value(json_object_get(o, "fpout"))) == NULL)
		return -1; /* format none: nothing to query */
	slash = strrchr(r->fpout, '/');
	*part = slash != NULL ? strndup(r->fpout, (size_t)(slash - r->fpout)) : xstrdup("");
	r->part = *part;
	r->label = json_string_value(json_object_get(o, "label"));
	r->src = json_string_value(json_object_get(o, "src"));
	r->dst = json_string_value(json_object_get(o, "dst"));
	r->iface = json_string_value(json_object_get(o, "interface"));
	r->reason = json_string_value(json_object_get(o, "reason"));
	r->srcport = (uint16_t)json_integer_value(json_object_get(o, "srcport"));
	r->dstport = (uint16_t)json_integer_value(json_object_get(o, "dstport"));
	r->first_ns = (uint64_t)json_integer_value(json_object_get(o, "first_ns"));
	r->last_ns = (uint64_t)json_integer_value(json_object_get(o, "last_ns"));
	r->packets = (uint64_t)json_integer_value(json_object_get(o, "packets"));
	r->bytes = (uint64_t)json_integer_value(json_object_get(o, "bytes"));
	r->written = (uint64_t)json_integer_value(json_object_get(o, "written"));
	r->partial = json_is_true(json_object_get(o, "partial"));
	r->truncated = json_is_true(json_object_get(o, "truncated"));
	r->recovered = json_is_true(json_object_get(o, "recovered"));
	r->segment = (uint32_t)json_integer_value(json_object_get(o, "segment"));
	/* A flow in a shared capture: a probe's row, not the capture's */
	r->probe = json_is_integer(json_object_get(o, "offset"));
	r->offset = (uint64_t)json_integer_value(json_object_get(o, "offset"));
	r->length = (uint64_t)json_integer_value(json_object_get(o, "length"));
	vlan[0] = '\0';
	json_array_foreach(json_object_get(o, "vlan"), i, v) if (n < len) n += (size_t)snprintf(
	    vlan + n, len - n, "%s%" JSON_INTEGER_FORMAT, i ? "," : "", json_integer_value(v));
	r->vlan = vlan[0] ? vlan : NULL;
	return 0;
}

/*
 * A folder without a catalog (an offline output folder, a spool of an
 * older traceflow): its index.jsonl read into a temporary one, so that
 * the same query runs on it. Lines that are not flows are passed over.
 */
static struct catalog *
catalog_of_index(int spoolfd, const char *path)
{
	struct catalog *cat;
	struct catalog_row r;
	char *line = NULL, *cause = NULL, *part, vlan[64];
	size_t cap = 0;
	json_t *o;
	FILE *f;
	int fd;

	fd = openat(spoolfd, INDEX_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || (f = fdopen(fd, "r")) == NULL) {
		if (errno == EACCES)
			denied(path);
		else
			fail("%s: neither a catalog (.catalog) nor %s: %s", path, INDEX_FILE,
			    strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	if ((cat = catalog_open_temp(&cause)) == NULL || catalog_begin(cat) == -1) {
		fail("%s", cause != NULL ? cause : catalog_error(cat));
		free(cause);
		catalog_close(cat);
		fclose(f);
		return NULL;
	}
	while (getline(&line, &cap, f) != -1) {
		if ((o = json_loads(line, 0, NULL)) == NULL)
			continue;
		if (row_of_line(o, &r, vlan, sizeof vlan, &part) == 0) {
			if (r.probe)
				catalog_add_probe(cat, &r);
			else
				catalog_add(cat, &r);
			free(part);
		}
		json_decref(o);
	}
	free(line);
	fclose(f);
	if (catalog_commit(cat) == -1) {
		fail("%s: %s", INDEX_FILE, catalog_error(cat));
		catalog_close(cat);
		return NULL;
	}
	return cat;
}

/* The spool's catalog, read-only; or its index.jsonl's. NULL: said why. */
static struct catalog *
open_catalog(int spoolfd, const char *path, int *sized)
{
	struct catalog *cat;
	struct stat sb;
	char *cause = NULL;

	*sized = 0;
	if (fstatat(spoolfd, CATALOG_DIR, &sb, AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT)
		return catalog_of_index(spoolfd, path);
	*sized = 1;
	if ((cat = catalog_open(spoolfd, path, 1, &cause)) == NULL) {
		if (strstr(cause, strerror(EACCES)) != NULL)
			denied(path);
		else
			fail("%s", cause);
		free(cause);
		return NULL;
	}
	return cat;
}

/* --- listing ----------------------------------------------------------------------- */

static void
print_json(const struct catalog_row *r, int sized)
{
	json_t *o = json_object();
	char *s;

	json_object_set_new(o, "label", r->label ? json_string(r->label) : json_null());
	json_object_set_new(o, "fpout", r->fpout ? json_string(r->fpout) : json_null());
	json_object_set_new(o, "part", json_string(r->part));
	json_object_set_new(o, "src", r->src ? json_string(r->src) : json_null());
	json_object_set_new(o, "srcport", json_integer(r->srcport));
	json_object_set_new(o, "dst", r->dst ? json_string(r->dst) : json_null());
	json_object_set_new(o, "dstport", json_integer(r->dstport));
	json_object_set_new(o, "vlan", vlan_json(r->vlan));
	json_object_set_new(o, "interface", r->iface ? json_string(r->iface) : json_null());
	json_object_set_new(o, "first_ns", json_integer((json_int_t)r->first_ns));
	json_object_set_new(o, "last_ns", json_integer((json_int_t)r->last_ns));
	json_object_set_new(o, "packets", json_integer((json_int_t)r->packets));
	json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes));
	json_object_set_new(o, "written", json_integer((json_int_t)r->written));
	/* index.jsonl has no size: unknown where the rows came from it */
	json_object_set_new(o, "size", sized ? json_integer((json_int_t)r->size) : json_null());
	json_object_set_new(o, "reason", r->reason ? json_string(r->reason) : json_null());
	json_object_set_new(o, "partial", json_boolean(r->partial));
	json_object_set_new(o, "truncated", json_boolean(r->truncated));
	json_object_set_new(o, "recovered", json_boolean(r->recovered));
	json_object_set_new(o, "segment", json_integer(r->segment));
	/* A probe's records in its shared capture; a file of its own: null. */
	json_object_set_new(
	    o, "offset", r->probe ? json_integer((json_int_t)r->offset) : json_null());
	json_object_set_new(
	    o, "length", r->probe ? json_integer((json_int_t)r->length) : json_null());
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	puts(s != NULL ? s : "null");
	free(s);
	json_decref(o);
}

/* "[addr]:port" for IPv6, "addr:port" for IPv4, as people read endpoints. */
static void
endpoint(char *buf, size_t len, const char *addr, unsigned port)
{
	if (addr != NULL && strchr(addr, ':') != NULL)
		snprintf(buf, len, "[%s]:%u", addr, port);
	else
		snprintf(buf, len, "%s:%u", addr != NULL ? addr : "?", port);
}

static void
print_row(const struct catalog_row *r)
{
	char when[64], src[80], dst[80];
	time_t t = (time_t)(r->first_ns / 1000000000u);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
	endpoint(src, sizeof src, r->src, r->srcport);
	endpoint(dst, sizeof dst, r->dst, r->dstport);
	printf("%s.%03u %10.3f %-22s %-22s %7" PRIu64 " %10" PRIu64 " %-10s %s", when,
	    (unsigned)(r->first_ns % 1000000000u / 1000000u),
	    (double)(r->last_ns - r->first_ns) / 1e9, src, dst, r->packets, r->bytes,
	    r->reason ? r->reason : "-", r->fpout ? r->fpout : "-");
	if (r->probe && r->fpout != NULL)
		printf(" @%" PRIu64 "+%" PRIu64, r->offset, r->length);
	putchar('\n');
}

/* The table's head, even over no rows: people see the query ran. 1. */
static int
print_header(void)
{
	printf("%-23s %10s %-22s %-22s %7s %10s %-10s %s\n", "FIRST", "DURATION", "SRC", "DST",
	    "PACKETS", "BYTES", "REASON", "FILE");
	return 1;
}

/*
 * The flows of -w's first pass, kept for its second while they are few: the
 * select is then made once (for a thousand flows it was a third of the
 * time). Beyond KEEP_MAX they are selected again, so that memory does not
 * grow with the result.
 */
#define KEEP_MAX 4096

struct kept {
	char *fpout;
	uint64_t first_ns;
	uint64_t offset, length; /* a probe's records in a shared capture; length 0: a file */
};

struct walk {
	const struct query_opts *o;
	struct merge *m;
	int pass;  /* 1: the merge's survey; 2: its packets */
	int sized; /* the rows have sizes (a catalog, not an index.jsonl) */
	char *cause;
	int failed;
	uint64_t n;
	struct kept *kept; /* pass 1's rows, KEEP_MAX at most; NULL past it */
	size_t nkept;
};

static void
keep_row(struct walk *w, const struct catalog_row *r)
{
	if (w->kept == NULL)
		return;
	if (w->nkept == KEEP_MAX) {
		while (w->nkept > 0)
			free(w->kept[--w->nkept].fpout);
		free(w->kept);
		w->kept = NULL;
		return;
	}
	w->kept[w->nkept].fpout = xstrdup(r->fpout);
	w->kept[w->nkept].offset = r->offset;
	w->kept[w->nkept].length = r->probe ? r->length : 0;
	w->kept[w->nkept++].first_ns = r->first_ns;
}

static int
on_row(const struct catalog_row *r, void *arg)
{
	struct walk *w = arg;

	w->n++;
	if (w->m != NULL && (r->fpout == NULL || (r->probe && r->length == 0)))
		return 0; /* a probe counted, not kept (unanswered = count), or lost */
	if (w->m == NULL && w->o->json)
		print_json(r, w->sized);
	else if (w->m == NULL)
		print_row(r);
	else if (w->pass == 1) {
		merge_survey(w->m, r->fpout);
		keep_row(w, r);
	} else if (merge_add_range(w->m, r->fpout, r->first_ns, r->offset, r->probe ? r->length : 0,
	               &w->cause) == -1) {
		w->failed = 1;
		return 1;
	}
	return 0;
}

/*
 * The rows in time order, limited; --newest takes the last ones, which a
 * subquery turns back to time order.
 */
static int
select_rows(struct catalog *cat, const char *where, const struct query_opts *o, struct walk *w)
{
	char *tail;
	int rc;

	if (!o->newest && o->limit > 0)
		xasprintf(&tail, "ORDER BY first_ns, id LIMIT %" PRIu64, o->limit);
	else
		tail = xstrdup("ORDER BY first_ns, id");
	rc = catalog_select_flows(cat, where, tail, o->newest ? o->limit : 0, on_row, w);
	free(tail);
	return rc;
}

/* --- writing ----------------------------------------------------------------------- */

/*
 * The merge's bound: OPEN_MAX, or what the descriptor limit leaves. The
 * soft limit is raised toward the hard one first (Debian's soft 1024 would
 * leave a busy hour's thousand concurrent flows reopened packet by packet).
 */
static size_t
open_bound(void)
{
	struct rlimit rl;
	rlim_t want = OPEN_MAX + 32;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		return OPEN_MAX;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
		want = rl.rlim_max;
	if (want > rl.rlim_cur &&
	    setrlimit(RLIMIT_NOFILE, &(struct rlimit){want, rl.rlim_max}) == 0)
		rl.rlim_cur = want;
	if (rl.rlim_cur < OPEN_MAX + 32)
		return rl.rlim_cur > 48 ? (size_t)rl.rlim_cur - 32 : 16;
	return OPEN_MAX;
}

/* The merge's packets: over pass one's rows if kept, else selected again. 0 or -1. */
static int
pass_two(struct catalog *cat, const char *where, struct walk *w)
{
	size_t i;

	if (w->kept == NULL)
		return select_rows(cat, where, w->o, w);
	for (i = 0; i < w->nkept && !w->failed; i++)
		if (merge_add_range(w->m, w->kept[i].fpout, w->kept[i].first_ns, w->kept[i].offset,
		        w->kept[i].length, &w->cause) == -1)
			w->failed = 1;
	return 0;
}

static char outbuf[65536];

static int
write_capture(struct catalog *cat, int spoolfd, const char *where, const struct query_opts *o)
{
	struct walk w = {.o = o, .pass = 1};
	const char *shown = strcmp(o->wfile, "-") == 0 ? "standard output" : o->wfile;
	struct merge_stats st;
	FILE *out;
	int rc = EXIT_FAIL;

	w.m = merge_new(spoolfd, o->spool, open_bound());
	w.kept = xcalloc(KEEP_MAX, sizeof *w.kept);
	if (select_rows(cat, where, o, &w) == -1) {
		fail("%s: %s", o->spool, catalog_error(cat));
		goto out;
	}
	out = strcmp(o->wfile, "-") == 0 ? stdout : fopen(o->wfile, "wbx");
	if (out == NULL && errno == EEXIST)
		out = fopen(o->wfile, "wb"); /* as tcpdump -w: the file is replaced */
	if (out == NULL) {
		fail("%s: %s", o->wfile, strerror(errno));
		goto out;
	}
	/* 64 KiB a write, not stdio's 4 KiB; static: stdout's outlives this function */
	setvbuf(out, outbuf, _IOFBF, sizeof outbuf);
	if (merge_start(w.m, out, shown, o->filter, &w.cause) == -1) {
		rc = o->filter != NULL && strncmp(w.cause, "--filter", 8) == 0 ? EXIT_USAGE
		                                                               : EXIT_FAIL;
		fail("%s", w.cause);
	} else {
		w.pass = 2;
		if (pass_two(cat, where, &w) == -1)
			fail("%s: %s", o->spool, catalog_error(cat));
		else if (w.failed || merge_finish(w.m, &st, &w.cause) == -1)
			fail("%s", w.cause);
		else {
			fprintf(stderr,
			    "traceflowctl: query: %" PRIu64 " flows, %" PRIu64 " packets, %" PRIu64
			    " bytes written to %s",
			    st.flows, st.packets, st.bytes, shown);
			if (st.skipped > 0)
				fprintf(stderr, " (%" PRIu64 " files skipped)", st.skipped);
			fputc('\n', stderr);
			rc = 0;
		}
	}
	if (out != stdout && fclose(out) == EOF && rc == 0)
		rc = fail("%s: %s", o->wfile, strerror(errno));
out:
	free(w.cause);
	merge_free(w.m);
	if (w.kept != NULL)
		while (w.nkept > 0)
			free(w.kept[--w.nkept].fpout);
	free(w.kept);
	return rc;
}

int
query_run(const struct query_opts *o)
{
	struct catalog *cat = NULL;
	struct qexpr *q;
	struct timespec now;
	struct walk w = {.o = o};
	char *cause = NULL, *where = NULL;
	int word, spoolfd, rc = EXIT_FAIL;

	clock_gettime(CLOCK_REALTIME, &now);
	q = qexpr_parse(o->argc, o->argv,
	    (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec, &cause, &word);
	if (q == NULL) {
		fprintf(stderr, "traceflowctl: query: %s\n", cause);
		free(cause);
		return EXIT_USAGE;
	}
	if ((spoolfd = open(o->spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		rc = errno == EACCES ? denied(o->spool) : fail("%s: %s", o->spool, strerror(errno));
		goto out;
	}
	if ((cat = open_catalog(spoolfd, o->spool, &w.sized)) == NULL)
		goto out;
	/* One read transaction: the bounds and both passes of -w see the same rows. */
	if (qexpr_register(catalog_handle(cat)) == -1 ||
	    sqlite3_exec(catalog_handle(cat), "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    qexpr_bound(q, catalog_handle(cat)) == -1) {
		fail("%s: %s", o->spool, sqlite3_errmsg(catalog_handle(cat)));
		goto out;
	}
	where = qexpr_sql(q);
	if (o->wfile != NULL)
		rc = write_capture(cat, spoolfd, where, o);
	else if ((o->json || print_header()) && select_rows(cat, where, o, &w) == -1)
		fail("%s: %s", o->spool, catalog_error(cat));
	else
		rc = fflush(stdout) == EOF ? fail("standard output: %s", strerror(errno)) : 0;
out:
	if (cat != NULL)
		sqlite3_exec(catalog_handle(cat), "COMMIT", NULL, NULL, NULL);
	catalog_close(cat);
	if (spoolfd != -1)
		close(spoolfd);
	free(where);
	qexpr_free(q);
	return rc;
}
