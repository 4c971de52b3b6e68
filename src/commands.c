/*
 * commands.c: the control commands' handlers (commands.h).
 *
 * Listings are streamed (ctl_reply_stream): the active flows are copied in
 * one quick pass (a memcpy per flow), then formatted a chunk at a time as
 * the client reads; finished flows come from the history by entry number,
 * so that what is overwritten meanwhile is skipped, never read freed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "history.h"
#include "label.h"
#include "log.h"
#include "metrics.h"
#include "names.h"
#include "record.h"
#include "spool.h"
#include "xmalloc.h"

#define STREAM_SCAN 4096 /* items looked at per turn (filters may skip most) */

struct commands {
	struct service svc;
	struct history *hist;
	json_t *submitted;     /* while submit runs: the entries it filed */
	json_t *submit_labels; /* ... and the labels it names (a set: label -> true) */
	struct text entry;     /* a finished flow's entry, made here (reused) */
};

static const struct tf_config *
cfg_of(const struct commands *cmds)
{
	return cmds->svc.config(cmds->svc.arg);
}

static uint64_t
wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* --- the history of finished flows --------------------------------------- */

/*
 * Did the submit running now file this entry? Flows that ended otherwise
 * may be reported in the same poll. A submitted flow's segment says
 * submit; a lingering one ends with its own reason (fin, rst), so it is
 * known by its label: any end but a rotation's of a flow the submit named.
 */
static int
submit_filed(const struct commands *cmds, const struct index_record *rec)
{
	if (rec->reason == FLOW_R_SUBMIT)
		return 1;
	return rec->reason != FLOW_R_ROTATE &&
	       json_object_get(cmds->submit_labels, rec->label) != NULL;
}

void
commands_flow_done(const struct flow_key *key, uint8_t init, const struct index_record *rec,
    const char *frames, int ended, void *arg)
{
	struct commands *cmds = arg;
	struct history_entry he;
	json_t *full;

	/*
	 * The entry as the index line has it, "state" added, written by hand
	 * (record.c): a jansson object, copy and dump per finished flow was
	 * most of the main thread's time at shutdown with many flows open.
	 */
	cmds->entry.len = 0;
	index_record_text(&cmds->entry, rec, 0);
	text_key(&cmds->entry, "state");
	text_add(&cmds->entry, "\"finished\"}", 12); /* the NUL too */
	he.summary = cmds->entry.s;
	he.frames = (char *)frames;
	he.label = (char *)rec->label;
	he.src = (char *)rec->src;
	he.dst = (char *)rec->dst;
	he.sport = rec->srcport;
	he.dport = rec->dstport;
	history_add(cmds->hist, &he);
	if (cmds->submitted != NULL && submit_filed(cmds, rec)) {
		/* The entry as the index has it, frame numbers included. */
		full = index_record_json(rec);
		json_object_set_new(full, "index", json_loads(frames ? frames : "[]", 0, NULL));
		json_array_append_new(cmds->submitted, full);
	}
}

/* --- list, labels ------------------------------------------------------ */

struct list_opts {
	int active;
	int finished;
	char *host; /* as the index writes addresses; NULL: no --host */
	int port;   /* -1: no --port */
	char *glob;
	uint64_t limit; /* 0: no limit */
	int labels_only;
};

/* A listing being streamed: copies of the active flows, a range of the history. */
struct listing {
	struct commands *cmds;
	struct list_opts o;
	const char *key; /* "flows" or "labels" */
	struct flow *active;
	size_t nactive;
	size_t next_active;
	uint64_t fin_next; /* history entries [fin_next, fin_end) */
	uint64_t fin_end;
	uint64_t emitted;
	uint64_t now;
	int started;
	struct text entry; /* one entry's text, reused: no allocation per flow */
};

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

/* --host in the index's own form, so that both kinds of flow compare as text. */
static int
parse_host(struct list_opts *o, const char *s)
{
	uint8_t a[16];
	char buf[64];

	if (inet_pton(AF_INET, s, a) == 1)
		label_addr(buf, sizeof buf, 4, a, 0);
	else if (inet_pton(AF_INET6, s, a) == 1)
		label_addr(buf, sizeof buf, 6, a, 0);
	else
		return -1;
	free(o->host);
	o->host = xstrdup(buf);
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

	for (i = 1; i < argc; i++)
		if (parse_list_opt(o, argc, argv, &i, cause) == -1)
			return -1;
	if (!o->active && !o->finished)
		o->active = o->finished = 1;
	return 0;
}

static int
match_endpoints(
    const struct list_opts *o, const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
	if (o->port >= 0 && sport != o->port && dport != o->port)
		return 0;
	if (o->host != NULL && strcmp(src, o->host) != 0 && strcmp(dst, o->host) != 0)
		return 0;
	return 1;
}

static struct listing *
listing_new(struct commands *cmds, const char *key)
{
	struct listing *l = xcalloc(1, sizeof *l);

	l->cmds = cmds;
	l->key = key;
	l->o.port = -1;
	return l;
}

static void
listing_free(void *arg)
{
	struct listing *l = arg;

	free(l->o.glob);
	free(l->o.host);
	free(l->entry.s);
	flow_copies_free(l->active, l->nactive);
	free(l);
}

/* Where an active flow's file grows, or null without files. */
static json_t *
active_file(const struct tf_config *cfg, const struct flow *f)
{
	char name[512];

	if (cfg->format == FMT_NONE)
		return json_null();
	names_flow_file(cfg->format, cfg->nanosecond, f, name, sizeof name);
	return json_sprintf(NAMES_ACTIVE "/%s", name);
}

/* An active flow's entry: what the index will say, plus state, age and file. */
static json_t *
active_entry(struct commands *cmds, const struct flow *f, uint64_t now, int with_frames)
{
	const struct tf_config *cfg = cfg_of(cmds);
	int closing = f->state != FLOW_OPEN;
	json_t *o;

	o = index_entry(
	    f, NULL, cmds->svc.iface_name(cmds->svc.arg, f->iface), cfg->nanosecond, with_frames);
	/* A torn-down flow lingers for trailing packets: its reason is known already. */
	json_object_set_new(o, "state", json_string(closing ? "closing" : "active"));
	json_object_set_new(
	    o, "reason", closing ? json_string(flow_reason_name(f->reason)) : json_null());
	json_object_set_new(
	    o, "age", json_real(now > f->first ? (double)(now - f->first) / NS_PER_SEC : 0.0));
	json_object_set_new(o, "file", active_file(cfg, f));
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
stream_active(struct listing *l, const struct flow *f, struct evbuffer *chunk)
{
	const struct tf_config *cfg = cfg_of(l->cmds);
	char file[464];
	struct index_record rec;
	int closing = f->state != FLOW_OPEN;
	size_t n;

	/* The label and the addresses once: the filters, the file name and the entry read them. */
	index_record_make(
	    &rec, f, l->cmds->svc.iface_name(l->cmds->svc.arg, f->iface), cfg->nanosecond);
	if (!match_endpoints(&l->o, rec.src, rec.srcport, rec.dst, rec.dstport))
		return;
	if (l->o.glob != NULL && fnmatch(l->o.glob, rec.label, 0) != 0)
		return;
	if (l->o.labels_only) {
		emit_label(l, chunk, rec.label);
		return;
	}
	if (cfg->format != FMT_NONE) {
		n = sizeof NAMES_ACTIVE;
		memcpy(file, NAMES_ACTIVE "/", n);
		names_compose(file + n, sizeof file - n, rec.label, 0, f->seg_no, cfg->format);
	}
	/* By hand (record.c), not through jansson: most of a big listing's time was there. */
	l->entry.len = 0;
	if (l->emitted++ > 0)
		text_add(&l->entry, ",", 1);
	index_active_text(&l->entry, &rec, closing ? "closing" : "active", closing,
	    l->now > f->first ? l->now - f->first : 0, cfg->format != FMT_NONE ? file : NULL);
	evbuffer_add(chunk, l->entry.s, l->entry.len);
}

static void
stream_finished(struct listing *l, uint64_t n, struct evbuffer *chunk)
{
	const struct history_entry *he = history_get(l->cmds->hist, n);

	if (he == NULL) /* overwritten while the listing went on */
		return;
	if (!match_endpoints(&l->o, he->src, he->sport, he->dst, he->dport))
		return;
	if (l->o.glob != NULL && fnmatch(l->o.glob, he->label, 0) != 0)
		return;
	if (l->o.labels_only)
		emit_label(l, chunk, he->label);
	else
		emit(l, chunk, he->summary);
}

/* ctl_stream_step: the next items of the listing into chunk; 1 when it is complete. */
/*
 * What the spool holds, from the catalog's sums: a listing of finished
 * flows knows only those since start (the history); this says the rest.
 */
static void
spool_figures_json(struct commands *cmds, struct evbuffer *out)
{
	struct service_counters sc;

	cmds->svc.counters(cmds->svc.arg, &sc);
	json_decref(sc.ipfix);
	evbuffer_add_printf(out, ",\"spool\":{\"files\":%" PRIu64 ",\"bytes\":%" PRIu64,
	    sc.spool.files, sc.spool.bytes);
	if (sc.spool.oldest_ns != 0)
		evbuffer_add_printf(out, ",\"oldest_ns\":%" PRIu64 ",\"newest_ns\":%" PRIu64,
		    sc.spool.oldest_ns, sc.spool.newest_ns);
	else
		evbuffer_add_printf(out, ",\"oldest_ns\":null,\"newest_ns\":null");
	evbuffer_add_printf(out, ",\"catalog_ready\":%s}", sc.spool.ready ? "true" : "false");
}

static int
listing_step(void *arg, struct evbuffer *chunk, size_t room)
{
	struct listing *l = arg;
	unsigned scanned = 0;
	int done = 0;

	if (!l->started) {
		evbuffer_add_printf(chunk, "{\"%s\":[", l->key);
		l->started = 1;
	}
	while (!done && evbuffer_get_length(chunk) < room && scanned++ < STREAM_SCAN) {
		if (listing_full(l))
			done = 1;
		else if (l->next_active < l->nactive)
			stream_active(l, &l->active[l->next_active++], chunk);
		else if (l->fin_next < l->fin_end)
			stream_finished(l, l->fin_next++, chunk);
		else
			done = 1;
	}
	done =
	    done || listing_full(l) || (l->next_active == l->nactive && l->fin_next == l->fin_end);
	if (done) {
		evbuffer_add_printf(chunk, "],\"count\":%" PRIu64, l->emitted);
		if (l->o.finished && !l->o.labels_only)
			spool_figures_json(l->cmds, chunk);
		evbuffer_add(chunk, "}", 1);
	}
	return done;
}

static void
start_listing(struct ctl_client *c, struct listing *l)
{
	struct commands *cmds = l->cmds;

	l->now = wall_ns();
	if (l->o.active)
		l->nactive = cmds->svc.active(cmds->svc.arg, NULL, &l->active);
	if (l->o.finished) {
		l->fin_next = history_first(cmds->hist);
		l->fin_end = history_end(cmds->hist);
	}
	ctl_reply_stream(c, listing_step, listing_free, l);
}

static void
cmd_list(struct ctl_client *c, int argc, char **argv, void *arg)
{
	struct listing *l = listing_new(arg, "flows");
	char *cause = NULL;

	if (parse_list_opts(&l->o, argc, argv, &cause) == -1) {
		ctl_reply_error(c, "list: %s", cause);
		free(cause);
		listing_free(l);
		return;
	}
	start_listing(c, l);
}

static void
cmd_labels(struct ctl_client *c, int argc, char **argv, void *arg)
{
	struct listing *l = listing_new(arg, "labels");

	l->o.labels_only = 1;
	l->o.active = 1;
	if (argc == 2 && strcmp(argv[1], "--active") != 0) {
		ctl_reply_error(c, "labels: unknown option %s", argv[1]);
		listing_free(l);
		return;
	}
	l->o.finished = argc == 1;
	start_listing(c, l);
}

/* --- show, submit ------------------------------------------------------- */

static json_t *
finished_entry(const struct history_entry *he)
{
	json_t *o = json_loads(he->summary, 0, NULL), *frames;

	if (o == NULL)
		return json_null();
	if (he->frames != NULL && (frames = json_loads(he->frames, 0, NULL)) != NULL)
		json_object_set_new(o, "index", frames);
	else /* beyond the history's budget for frame numbers */
		json_object_set_new(o, "index", json_null());
	return o;
}

static int
is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* A label as given, or every label the glob matches. */
static int
show_match(const char *pattern, const char *label)
{
	return is_glob(pattern) ? fnmatch(pattern, label, 0) == 0 : strcmp(pattern, label) == 0;
}

/* The active flows show names: one by its label (frames copied), or by a glob. */
static size_t
show_active(struct commands *cmds, const char *pattern, struct flow **out)
{
	const struct tf_config *cfg = cfg_of(cmds);
	char label[LABEL_MAX];
	struct flow *all;
	size_t n, i, k = 0;

	if (!is_glob(pattern))
		return cmds->svc.active(cmds->svc.arg, pattern, out);
	n = cmds->svc.active(cmds->svc.arg, NULL, &all);
	for (i = 0; i < n; i++) {
		label_make(label, &all[i], cfg->nanosecond);
		if (fnmatch(pattern, label, 0) == 0)
			all[k++] = all[i];
	}
	*out = all;
	return k;
}

static void
cmd_show(struct ctl_client *c, int argc, char **argv, void *arg)
{
	struct commands *cmds = arg;
	const struct history_entry *he;
	json_t *segs = json_array();
	struct flow *act;
	uint64_t n, now = wall_ns();
	size_t na, i;

	for (n = history_first(cmds->hist); n < history_end(cmds->hist); n++)
		if ((he = history_get(cmds->hist, n)) != NULL && show_match(argv[1], he->label))
			json_array_append_new(segs, finished_entry(he));
	na = show_active(cmds, argv[1], &act);
	for (i = 0; i < na; i++)
		json_array_append_new(segs, active_entry(cmds, &act[i], now, !is_glob(argv[1])));
	flow_copies_free(act, na);
	if (json_array_size(segs) == 0) {
		json_decref(segs);
		ctl_reply_error(c, "no flow labelled %s (active or among the last %zu finished)",
		    argv[1], (size_t)(history_end(cmds->hist) - history_first(cmds->hist)));
		return;
	}
	ctl_reply_json(c, PROTO_OK, json_pack("{s:s,s:o}", "label", argv[1], "segments", segs));
}

/* The labels a submit names: those given, or every active flow's. */
static json_t *
submit_label_set(struct commands *cmds, int n, char **labels)
{
	const struct tf_config *cfg = cfg_of(cmds);
	json_t *set = json_object();
	char label[LABEL_MAX];
	struct flow *all;
	size_t na, i;
	int k;

	for (k = 0; k < n; k++)
		json_object_set_new(set, labels[k], json_true());
	if (n > 0)
		return set;
	na = cmds->svc.active(cmds->svc.arg, NULL, &all);
	for (i = 0; i < na; i++) {
		label_make(label, &all[i], cfg->nanosecond);
		json_object_set_new(set, label, json_true());
	}
	flow_copies_free(all, na);
	return set;
}

static void
cmd_submit(struct ctl_client *c, int argc, char **argv, void *arg)
{
	struct commands *cmds = arg;
	int n, missing = 0;
	json_t *doc;

	/* The end hook collects what each submitted flow files (its index entries). */
	cmds->submitted = json_array();
	cmds->submit_labels = submit_label_set(cmds, argc - 1, argv + 1);
	n = cmds->svc.submit(cmds->svc.arg, argv + 1, argc - 1, &missing);
	doc = cmds->submitted;
	cmds->submitted = NULL;
	json_decref(cmds->submit_labels);
	cmds->submit_labels = NULL;
	if (n == -1) {
		json_decref(doc);
		ctl_reply_error(
		    c, "no active flow labelled %s: nothing submitted", argv[1 + missing]);
		return;
	}
	log_info("control: uid %d submitted %d flows", (int)ctl_client_uid(c), n);
	ctl_reply_json(c, PROTO_OK, json_pack("{s:o,s:i}", "submitted", doc, "count", n));
}

/* --- stats, interfaces, reload, config, version -------------------------- */

static json_t *
interfaces_json(struct commands *cmds)
{
	struct service_iface si;
	json_t *a = json_array();
	unsigned i;

	for (i = 0; cmds->svc.interface(cmds->svc.arg, i, &si) == 0; i++)
		json_array_append_new(
		    a, json_pack("{s:s,s:b,s:I,s:I,s:I,s:I,s:o}", "name", si.name, "up", si.up,
		           "received", (json_int_t)si.received, "kernel_drops",
		           (json_int_t)si.kernel_drops, "if_drops", (json_int_t)si.if_drops,
		           "frames", (json_int_t)si.frames, "error",
		           si.error != NULL && si.error[0] != '\0' ? json_string(si.error)
		                                                   : json_null()));
	return a;
}

static json_t *
malformed_json(const struct engine_stats *st)
{
	json_t *m = json_object();
	int i;

	for (i = DECODE_TRUNCATED; i < DECODE_NREASONS; i++)
		json_object_set_new(
		    m, decode_reason_name(i), json_integer((json_int_t)st->reasons[i]));
	json_object_set_new(m, "frag_orphan", json_integer((json_int_t)st->frag_orphan));
	return m;
}

static json_t *
ended_json(const struct engine_stats *st)
{
	json_t *e = json_object();
	int i;

	for (i = FLOW_R_FIN; i < FLOW_R_NREASONS; i++)
		json_object_set_new(e, flow_reason_name(i), json_integer((json_int_t)st->ended[i]));
	return e;
}

/* on_file's commands: started, how they ended, and what waits or was not run. */
static json_t *
hooks_json(const struct hook_stats *h)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "started", (json_int_t)h->started,
	    "succeeded", (json_int_t)h->succeeded, "failed", (json_int_t)h->failed, "timed_out",
	    (json_int_t)h->timed_out, "dropped", (json_int_t)h->dropped, "running",
	    (json_int_t)h->running, "queued", (json_int_t)h->queued);
}

static json_t *
totals_json(const struct service_counters *sc, unsigned clients)
{
	const struct engine_stats *st = &sc->engine;
	const struct output_stats *ws = &sc->output;
	uint64_t now = wall_ns();
	json_t *tot;

	tot = json_pack("{s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:I,s:I,s:o}", "frames",
	    (json_int_t)st->frames, "tcp", (json_int_t)st->tcp, "not_tcp", (json_int_t)st->not_tcp,
	    "malformed", (json_int_t)st->malformed, "malformed_by_reason", malformed_json(st),
	    "flows_active", (json_int_t)sc->flows_active, "flows_started", (json_int_t)st->flows,
	    "flows_finished", (json_int_t)st->finished, "segments", (json_int_t)st->segments,
	    "ended_by_reason", ended_json(st));
	json_object_update_new(tot,
	    json_pack("{s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:i}", "open_files",
	        (int)ws->open_files, "files_written", (json_int_t)ws->files, "bytes_written",
	        (json_int_t)ws->bytes, "write_errors", (json_int_t)ws->write_errors, "buffered",
	        (json_int_t)ws->buffered, "rss", (json_int_t)sc->rss_bytes, "spool_files",
	        (json_int_t)sc->spool.files, "spool_bytes", (json_int_t)sc->spool.bytes, "uptime",
	        now > sc->started_ns ? (double)(now - sc->started_ns) / NS_PER_SEC : 0.0,
	        "control_clients", (int)clients));
	/* Accepted but not on disk (a full disk): never silent. */
	json_object_update_new(tot,
	    json_pack("{s:I,s:I,s:I,s:I}", "frames_lost", (json_int_t)ws->frames_lost, "bytes_lost",
	        (json_int_t)ws->bytes_lost, "index_lines_pending", (json_int_t)ws->index_pending,
	        "index_lines_lost", (json_int_t)ws->index_lost));
	json_object_set_new(tot, "fragments_pending", json_integer((json_int_t)sc->frag_pending));
	json_object_set_new(tot, "hash_rekeys", json_integer((json_int_t)st->rekeys));
	json_object_set_new(tot, "spool_oldest",
	    sc->spool.oldest_ns ? json_real((double)sc->spool.oldest_ns / NS_PER_SEC)
	                        : json_null());
	json_object_set_new(tot, "spool_newest",
	    sc->spool.newest_ns ? json_real((double)sc->spool.newest_ns / NS_PER_SEC)
	                        : json_null());
	json_object_set_new(tot, "spool_catalog_ready", json_boolean(sc->spool.ready));
	/* IPFIX export: records sent and lost (null when off). */
	json_object_set_new(tot, "ipfix", sc->ipfix != NULL ? sc->ipfix : json_null());
	json_object_set_new(tot, "on_file", hooks_json(&sc->hooks));
	return tot;
}

static void
cmd_stats(struct ctl_client *c, int argc, char **argv, void *arg)
{
	struct commands *cmds = arg;
	struct service_counters sc;
	uint64_t requests, refused;
	unsigned clients;
	char *text;

	if (argc == 2 && strcmp(argv[1], "--prometheus") == 0) {
		text = metrics_text(&cmds->svc);
		ctl_reply_json(c, PROTO_OK, json_pack("{s:s}", "prometheus", text));
		free(text);
		return;
	}
	if (argc == 2) {
		ctl_reply_error(c, "stats: unknown option %s", argv[1]);
		return;
	}
	cmds->svc.counters(cmds->svc.arg, &sc);
	control_counts(ctl_client_control(c), &clients, &requests, &refused);
	ctl_reply_json(c, PROTO_OK,
	    json_pack("{s:o,s:o}", "interfaces", interfaces_json(cmds), "totals",
	        totals_json(&sc, clients)));
}

static void
cmd_interfaces(struct ctl_client *c, int argc, char **argv, void *arg)
{
	ctl_reply_json(c, PROTO_OK, json_pack("{s:o}", "interfaces", interfaces_json(arg)));
}

static void
cmd_reload(struct ctl_client *c, int argc, char **argv, void *arg)
{
	struct commands *cmds = arg;
	const struct tf_config *cfg;
	char *cause = NULL;

	log_info("control: reload requested by uid %d", (int)ctl_client_uid(c));
	if (cmds->svc.reload(cmds->svc.arg, &cause) == -1) {
		ctl_reply_error(c, "reload refused, the running configuration stays: %s", cause);
		free(cause);
		return;
	}
	cfg = cfg_of(cmds);
	ctl_reply_json(c, PROTO_OK,
	    json_pack("{s:b,s:s?}", "reloaded", 1, "config", cfg->path ? cfg->path : NULL));
}

static void
cmd_config(struct ctl_client *c, int argc, char **argv, void *arg)
{
	ctl_reply_json(c, PROTO_OK, config_json(cfg_of(arg)));
}

static void
cmd_version(struct ctl_client *c, int argc, char **argv, void *arg)
{
	ctl_reply_json(c, PROTO_OK,
	    json_pack("{s:s,s:i}", "version", PACKAGE_VERSION, "protocol", PROTO_VERSION));
}

/* The handlers, in cmd_table's order: a command without one does not build. */
#define CMD_HANDLER(n, fl, mn, mx, a, h) cmd_##n,
const control_handler commands_handlers[CMD_COUNT] = {CMD_TABLE(CMD_HANDLER)};
#undef CMD_HANDLER

struct commands *
commands_new(const struct service *svc, size_t history, size_t frames_budget)
{
	struct commands *cmds = xcalloc(1, sizeof *cmds);

	cmds->svc = *svc;
	cmds->hist = history_new(history, frames_budget);
	return cmds;
}

void
commands_free(struct commands *cmds)
{
	if (cmds == NULL)
		return;
	history_free(cmds->hist);
	json_decref(cmds->submitted);
	free(cmds->entry.s);
	free(cmds);
}
