/*
 * ctlprint.c: traceflowctl's printers (ctlprint.h): a reply document as
 * people read it, one printer per command, in the command table's order
 * (the X-macro: a command without a printer does not build). Times in
 * local wall-clock time, durations with units, sizes with 1024 units.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cmd.h"
#include "ctlprint.h"
#include "duration.h"
#include "xmalloc.h"

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

/*
 * One style for every duration shown to people: seconds with two decimals
 * under a minute ("1.25s"), then two units ("3m12s", "2h05m", "3d04h").
 */
static void
human_duration(char *buf, size_t len, double s)
{
	uint64_t t;

	if (!(s > 0))
		s = 0;
	if (s < 59.995) {
		snprintf(buf, len, "%.2fs", s);
		return;
	}
	t = (uint64_t)s;
	if (t < 3600)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", t / 60, t % 60);
	else if (t < 86400)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", t / 3600, t / 60 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", t / 86400, t / 3600 % 24);
}

/* Epoch nanoseconds as local wall-clock time, "2011-03-19 06:26:08" (TZ applies). */
static void
human_time(char *buf, size_t len, json_int_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (ns <= 0 || localtime_r(&t, &tm) == NULL || strftime(buf, len, "%F %T", &tm) == 0)
		snprintf(buf, len, "-");
}

json_int_t
ctl_jint(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

const char *
ctl_jstr(const json_t *o, const char *key, const char *dflt)
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
	const char *a = ctl_jstr(e, addr, "?");

	if (strchr(a, ':') != NULL)
		snprintf(buf, len, "[%s]:%lld", a, (long long)ctl_jint(e, port));
	else
		snprintf(buf, len, "%s:%lld", a, (long long)ctl_jint(e, port));
}

static double
lasted(const json_t *e)
{
	return (double)(ctl_jint(e, "last_ns") - ctl_jint(e, "first_ns")) / 1e9;
}

/* With --finished: what the whole spool holds (its catalog), not only what ended since start. */
static void
print_spool(const json_t *sp)
{
	char by[32], t0[32], t1[32];

	if (!json_is_object(sp))
		return;
	human_size(by, sizeof by, (double)ctl_jint(sp, "bytes"));
	printf("the spool holds %lld files, %s", (long long)ctl_jint(sp, "files"), by);
	if (json_is_integer(json_object_get(sp, "oldest_ns"))) {
		human_time(t0, sizeof t0, ctl_jint(sp, "oldest_ns"));
		human_time(t1, sizeof t1, ctl_jint(sp, "newest_ns"));
		printf(", of flows that ended from %s to %s", t0, t1);
	}
	printf("%s\n", json_is_false(json_object_get(sp, "catalog_ready"))
	                   ? " (its check against the disk goes on)"
	                   : "");
}

/*
 * Two tables, so that no column means two things: active flows with their
 * AGE (since the first packet, by the daemon's clock), finished ones with
 * their DURATION (first to last packet) and REASON.
 */
static void
print_list(const json_t *doc)
{
	static const char *const ahead[] = {"STATE", "STARTED", "AGE", "SOURCE", "DESTINATION",
	    "PACKETS", "BYTES", "LABEL", "FILE"};
	static const char *const fhead[] = {"STARTED", "DURATION", "REASON", "SOURCE",
	    "DESTINATION", "PACKETS", "BYTES", "LABEL", "FILE"};
	static const int aright[] = {0, 0, 1, 0, 0, 1, 1, 0, 0};
	static const int fright[] = {0, 1, 0, 0, 0, 1, 1, 0, 0};
	struct table act = {9, ahead, aright, NULL, 0, 0}, fin = {9, fhead, fright, NULL, 0, 0};
	char src[80], dst[80], when[32], dur[32], pk[32], by[32];
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(doc, "flows"), i, e)
	{
		endpoint(src, sizeof src, e, "src", "srcport");
		endpoint(dst, sizeof dst, e, "dst", "dstport");
		human_time(when, sizeof when, ctl_jint(e, "first_ns"));
		snprintf(pk, sizeof pk, "%lld", (long long)ctl_jint(e, "packets"));
		human_size(by, sizeof by, (double)ctl_jint(e, "bytes"));
		if (strcmp(ctl_jstr(e, "state", "?"), "finished") == 0) {
			human_duration(dur, sizeof dur, lasted(e));
			table_add(&fin, when, dur, ctl_jstr(e, "reason", "-"), src, dst, pk, by,
			    ctl_jstr(e, "label", "?"), ctl_jstr(e, "fpout", "-"));
		} else {
			human_duration(
			    dur, sizeof dur, json_number_value(json_object_get(e, "age")));
			table_add(&act, ctl_jstr(e, "state", "?"), when, dur, src, dst, pk, by,
			    ctl_jstr(e, "label", "?"), ctl_jstr(e, "file", "-"));
		}
	}
	i = act.nrows;
	if (act.nrows > 0)
		table_print(&act);
	if (act.nrows > 0 && fin.nrows > 0)
		putchar('\n');
	if (fin.nrows > 0)
		table_print(&fin);
	printf("%zu flows: %zu active, %zu finished\n", i + fin.nrows, i, fin.nrows);
	print_spool(json_object_get(doc, "spool"));
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
	char src[80], dst[80], by[32], dur[32], t0[32], t1[32];
	const char *reason = ctl_jstr(e, "reason", NULL);
	int finished = strcmp(ctl_jstr(e, "state", "?"), "finished") == 0;

	endpoint(src, sizeof src, e, "src", "srcport");
	endpoint(dst, sizeof dst, e, "dst", "dstport");
	human_size(by, sizeof by, (double)ctl_jint(e, "bytes"));
	human_time(t0, sizeof t0, ctl_jint(e, "first_ns"));
	human_time(t1, sizeof t1, ctl_jint(e, "last_ns"));
	printf("segment %lld (%s%s%s)\n", (long long)ctl_jint(e, "segment"),
	    ctl_jstr(e, "state", "?"), reason ? ", " : "", reason ? reason : "");
	printf("  endpoints   %s -> %s on %s\n", src, dst, ctl_jstr(e, "interface", "?"));
	if (finished) {
		human_duration(dur, sizeof dur, lasted(e));
		printf("  time        %s to %s (duration %s)\n", t0, t1, dur);
	} else {
		human_duration(dur, sizeof dur, json_number_value(json_object_get(e, "age")));
		printf("  time        since %s (age %s)\n", t0, dur);
	}
	printf("  packets     %lld (%s)\n", (long long)ctl_jint(e, "packets"), by);
	printf("  file        %s\n", ctl_jstr(e, "file", ctl_jstr(e, "fpout", "-")));
	print_frames(json_object_get(e, "index"));
}

static void
print_show(const json_t *doc)
{
	const json_t *e;
	size_t i;

	printf("%s\n", ctl_jstr(doc, "label", "?"));
	json_array_foreach(json_object_get(doc, "segments"), i, e) print_segment(e);
}

static void
print_submit(const json_t *doc)
{
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(doc, "submitted"), i, e)
	    printf("%s\t%s\n", ctl_jstr(e, "label", "?"), ctl_jstr(e, "fpout", "-"));
	printf("%lld flows submitted\n", (long long)ctl_jint(doc, "count"));
}

/* received, kernel_drops, if_drops, frames as text. */
static void
iface_numbers(const json_t *e, char n[4][32])
{
	static const char *const keys[] = {"received", "kernel_drops", "if_drops", "frames"};
	size_t i;

	for (i = 0; i < 4; i++)
		snprintf(n[i], 32, "%lld", (long long)ctl_jint(e, keys[i]));
}

static void
print_interfaces(const json_t *doc)
{
	static const char *const heads[] = {
	    "INTERFACE", "STATE", "RECEIVED", "KERNEL DROPS", "IF DROPS", "FRAMES", "ERROR"};
	static const int right[] = {0, 0, 1, 1, 1, 1, 0};
	struct table t = {7, heads, right, NULL, 0, 0};
	char n[4][32], name[48];
	const json_t *e, *w;
	size_t i, k;

	json_array_foreach(json_object_get(doc, "interfaces"), i, e)
	{
		iface_numbers(e, n);
		table_add(&t, ctl_jstr(e, "name", "?"),
		    json_is_true(json_object_get(e, "up")) ? "up" : "down", n[0], n[1], n[2], n[3],
		    ctl_jstr(e, "error", ""));
		/* Capture workers: each one's share under the interface's sums. */
		json_array_foreach(json_object_get(e, "workers"), k, w)
		{
			iface_numbers(w, n);
			snprintf(name, sizeof name, "  worker %zu", k);
			table_add(&t, name, json_is_true(json_object_get(w, "up")) ? "up" : "-",
			    n[0], n[1], n[2], n[3], "");
		}
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
	    (long long)ctl_jint(x, "sent"), (long long)ctl_jint(x, "lost"),
	    (long long)ctl_jint(x, "queued"),
	    json_is_true(json_object_get(x, "connected")) ? "connected to" : "waiting for",
	    ctl_jstr(x, "collector", "?"), ctl_jstr(x, "transport", "?"));
}

/* The on_file line: when the daemon runs a command, or did. */
static void
print_on_file(const json_t *h)
{
	if (!json_is_object(h) ||
	    ctl_jint(h, "started") + ctl_jint(h, "dropped") + ctl_jint(h, "queued") == 0)
		return;
	printf("%-18s %lld started: %lld ok, %lld failed, %lld timed out; %lld running, "
	       "%lld queued, %lld not run\n",
	    "on_file", (long long)ctl_jint(h, "started"), (long long)ctl_jint(h, "succeeded"),
	    (long long)ctl_jint(h, "failed"), (long long)ctl_jint(h, "timed_out"),
	    (long long)ctl_jint(h, "running"), (long long)ctl_jint(h, "queued"),
	    (long long)ctl_jint(h, "dropped"));
}

static void
print_stats(const json_t *doc)
{
	const json_t *t = json_object_get(doc, "totals");
	char a[32], b[32];

	/* stats --prometheus: the daemon rendered it (metrics.c); printed as it is. */
	if (json_is_string(json_object_get(doc, "prometheus"))) {
		fputs(json_string_value(json_object_get(doc, "prometheus")), stdout);
		return;
	}
	print_interfaces(doc);
	putchar('\n');
	printf("%-18s %lld (%lld frames, %lld not TCP)\n", "TCP packets",
	    (long long)ctl_jint(t, "tcp"), (long long)ctl_jint(t, "frames"),
	    (long long)ctl_jint(t, "not_tcp"));
	printf("%-18s %lld\n", "malformed", (long long)ctl_jint(t, "malformed"));
	print_counts("  by reason:        ", json_object_get(t, "malformed_by_reason"));
	printf("%-18s %lld active, %lld finished (%lld started)\n", "flows",
	    (long long)ctl_jint(t, "flows_active"), (long long)ctl_jint(t, "flows_finished"),
	    (long long)ctl_jint(t, "flows_started"));
	print_counts("  ended by:         ", json_object_get(t, "ended_by_reason"));
	human_size(a, sizeof a, (double)ctl_jint(t, "bytes_written"));
	human_size(b, sizeof b, (double)ctl_jint(t, "buffered"));
	printf("%-18s %lld open, %lld written (%s), %s buffered, %lld write errors\n", "files",
	    (long long)ctl_jint(t, "open_files"), (long long)ctl_jint(t, "files_written"), a, b,
	    (long long)ctl_jint(t, "write_errors"));
	printf("%-18s %lld frames not written, %lld index lines waiting, %lld dropped\n", "lost",
	    (long long)ctl_jint(t, "frames_lost"), (long long)ctl_jint(t, "index_lines_pending"),
	    (long long)ctl_jint(t, "index_lines_lost"));
	print_ipfix(json_object_get(t, "ipfix"));
	print_on_file(json_object_get(t, "on_file"));
	human_size(a, sizeof a, (double)ctl_jint(t, "rss"));
	printf("%-18s %s\n", "memory (RSS)", a);
	human_size(a, sizeof a, (double)ctl_jint(t, "spool_bytes"));
	printf("%-18s %lld files, %s\n", "spool", (long long)ctl_jint(t, "spool_files"), a);
	human_duration(a, sizeof a, json_number_value(json_object_get(t, "uptime")));
	printf("%-18s %s\n", "uptime", a);
}

static void
print_reload(const json_t *doc)
{
	printf("reloaded %s\n", ctl_jstr(doc, "config", "(built-in defaults)"));
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
	printf("traceflowd %s (protocol %lld)\n", ctl_jstr(doc, "version", "?"),
	    (long long)ctl_jint(doc, "protocol"));
}

#define CMD_PRINTER(n, fl, mn, mx, a, h) print_##n,
static const printer printers[CMD_COUNT] = {CMD_TABLE(CMD_PRINTER)};
#undef CMD_PRINTER

void
ctl_print(const struct cmd_entry *ce, const json_t *doc)
{
	printers[ce - cmd_table](doc);
}
