/*
 * listing.c: the replies of list, labels and show (listing.h).
 *
 * Listings are streamed (ctl_reply_stream), a chunk at a time as the client
 * reads: the active flows through a walk of the live table (svc.flows_*,
 * no copy: a listing's memory is its chunk, whatever the table holds; the
 * flows that end meanwhile are skipped), the finished ones from the
 * history by entry number, so that what is overwritten meanwhile is
 * skipped, never read freed. show with a glob streams the same way.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "history.h"
#include "label.h"
#include "listing.h"
#include "names.h"
#include "reason.h"
#include "record.h"
#include "spool.h"
#include "xmalloc.h"

#define STREAM_SCAN 4096 /* items looked at per turn (filters may skip most) */

static const struct tf_config *
cfg_of(const struct listing_src *src)
{
	return src->svc->config(src->svc->arg);
}

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
	const struct listing_src *src;
	struct list_opts o;
	const char *key;     /* "flows", "labels"; "segments" for show */
	const char *pattern; /* show's glob */
	void *walk;          /* the active flows still to go (svc.flows_*); NULL when done */
	uint64_t fin_next;   /* history entries [fin_next, fin_end) */
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
listing_new(const struct listing_src *src, const char *key)
{
	struct listing *l = xcalloc(1, sizeof *l);

	l->src = src;
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
	if (l->walk != NULL)
		l->src->svc->flows_end(l->src->svc->arg, l->walk);
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
active_entry(const struct listing_src *src, const struct flow *f, uint64_t now, int with_frames)
{
	const struct tf_config *cfg = cfg_of(src);
	int closing = f->state != FLOW_OPEN;
	json_t *o;

	o = index_entry(
	    f, NULL, src->svc->iface_name(src->svc->arg, f->iface), cfg->nanosecond, with_frames);
	/* A torn-down flow lingers for trailing packets: its reason is known already. */
	json_object_set_new(o, "state", json_string(closing ? "closing" : "active"));
	json_object_set_new(
	    o, "reason", closing ? json_string(flow_reason_name(f->reason)) : json_null());
	json_object_set_new(
	    o, "age", json_real(now > f->first ? (double)(now - f->first) / NS_PER_SEC : 0.0));
	json_object_set_new(o, "file", active_file(cfg, f));
	return o;
}

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

static void
emit_json(struct listing *l, struct evbuffer *chunk, json_t *o)
{
	char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	emit(l, chunk, t != NULL ? t : "null");
	free(t);
	json_decref(o);
}

static int
listing_full(const struct listing *l)
{
	return l->o.limit != 0 && l->emitted >= l->o.limit;
}

static void
stream_active(struct listing *l, const struct flow *f, struct evbuffer *chunk)
{
	const struct tf_config *cfg = cfg_of(l->src);
	char file[464];
	struct index_record rec;
	int closing = f->state != FLOW_OPEN;
	size_t n;

	/* The label and the addresses once: the filters, the file name and the entry read them. */
	index_record_make(
	    &rec, f, l->src->svc->iface_name(l->src->svc->arg, f->iface), cfg->nanosecond);
	if (!match_endpoints(&l->o, rec.src, rec.srcport, rec.dst, rec.dstport))
		return;
	if (l->o.glob != NULL && fnmatch(l->o.glob, rec.label, 0) != 0)
		return;
	if (l->o.labels_only) {
		emit_label(l, chunk, rec.label);
		return;
	}
	if (l->pattern != NULL) { /* show: as for one label, but no frame numbers */
		emit_json(l, chunk, active_entry(l->src, f, l->now, 0));
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
	const struct history_entry *he = history_get(l->src->hist, n);

	if (he == NULL) /* overwritten while the listing went on */
		return;
	if (!match_endpoints(&l->o, he->src, he->sport, he->dst, he->dport))
		return;
	if (l->o.glob != NULL && fnmatch(l->o.glob, he->label, 0) != 0)
		return;
	if (l->o.labels_only)
		emit_label(l, chunk, he->label);
	else if (l->pattern != NULL)
		emit_json(l, chunk, finished_entry(he));
	else
		emit(l, chunk, he->summary);
}

/*
 * What the spool holds, from the catalog's sums: a listing of finished
 * flows knows only those since start (the history); this says the rest.
 */
static void
spool_figures_json(const struct listing_src *src, struct evbuffer *out)
{
	struct service_counters sc;

	src->svc->counters(src->svc->arg, &sc);
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

/* The next active flow, or NULL when the cursor is done (and gone). */
static const struct flow *
next_active(struct listing *l)
{
	const struct flow *f = NULL;

	const struct service *svc = l->src->svc;

	if (l->walk != NULL && (f = svc->flows_next(svc->arg, l->walk)) == NULL) {
		svc->flows_end(svc->arg, l->walk);
		l->walk = NULL;
	}
	return f;
}

/* One more item of the listing into chunk: 0, or 1 when there is none left. */
static int
listing_item(struct listing *l, struct evbuffer *chunk)
{
	const struct flow *f;

	if (listing_full(l))
		return 1;
	/* show: finished segments first, as for one label; list: active flows first */
	if (l->pattern != NULL && l->fin_next < l->fin_end)
		stream_finished(l, l->fin_next++, chunk);
	else if ((f = next_active(l)) != NULL)
		stream_active(l, f, chunk);
	else if (l->fin_next < l->fin_end)
		stream_finished(l, l->fin_next++, chunk);
	else
		return 1;
	return 0;
}

/* The end of the document; 2 (an error) for a show that matched nothing. */
static int
listing_end(struct listing *l, struct evbuffer *chunk)
{
	json_t *msg;
	char *t;

	if (l->pattern != NULL && l->emitted == 0) {
		msg = json_sprintf(
		    "no flow labelled like %s (active or among the last %zu finished)", l->pattern,
		    (size_t)(history_end(l->src->hist) - history_first(l->src->hist)));
		t = msg != NULL ? json_dumps(msg, JSON_ENCODE_ANY) : NULL;
		evbuffer_add_printf(chunk, "],\"error\":%s}", t != NULL ? t : "\"no flow\"");
		free(t);
		json_decref(msg);
		return 2;
	}
	if (l->pattern != NULL) {
		evbuffer_add(chunk, "]}", 2);
		return 1;
	}
	evbuffer_add_printf(chunk, "],\"count\":%" PRIu64, l->emitted);
	if (l->o.finished && !l->o.labels_only)
		spool_figures_json(l->src, chunk);
	evbuffer_add(chunk, "}", 1);
	return 1;
}

static int
listing_step(void *arg, struct evbuffer *chunk, size_t room)
{
	struct listing *l = arg;
	unsigned scanned = 0;
	json_t *pat;
	char *t;

	if (!l->started && l->pattern != NULL) {
		pat = json_string(l->pattern);
		t = json_dumps(pat, JSON_ENCODE_ANY);
		evbuffer_add_printf(chunk, "{\"label\":%s,\"segments\":[", t ? t : "null");
		free(t);
		json_decref(pat);
	} else if (!l->started)
		evbuffer_add_printf(chunk, "{\"%s\":[", l->key);
	l->started = 1;
	while (evbuffer_get_length(chunk) < room && scanned++ < STREAM_SCAN)
		if (listing_item(l, chunk))
			return listing_end(l, chunk);
	return 0;
}

static void
start_listing(struct ctl_client *c, struct listing *l)
{
	const struct listing_src *src = l->src;

	l->now = duration_wall_ns();
	if (l->o.active)
		l->walk = src->svc->flows_begin(src->svc->arg);
	if (l->o.finished) {
		l->fin_next = history_first(src->hist);
		l->fin_end = history_end(src->hist);
	}
	ctl_reply_stream(c, listing_step, listing_free, l);
}

void
listing_list(struct ctl_client *c, int argc, char **argv, const struct listing_src *src)
{
	struct listing *l = listing_new(src, "flows");
	char *cause = NULL;

	if (parse_list_opts(&l->o, argc, argv, &cause) == -1) {
		ctl_reply_error(c, "list: %s", cause);
		free(cause);
		listing_free(l);
		return;
	}
	start_listing(c, l);
}

void
listing_labels(struct ctl_client *c, int argc, char **argv, const struct listing_src *src)
{
	struct listing *l = listing_new(src, "labels");

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

/* --- show ------------------------------------------------------------------ */

static int
is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* The active flow labelled label, with its frame numbers; NULL if none. */
static json_t *
show_active(const struct listing_src *src, const char *label, uint64_t now)
{
	const struct tf_config *cfg = cfg_of(src);
	void *walk = src->svc->flows_begin(src->svc->arg);
	const struct flow *f;
	char name[LABEL_MAX];
	json_t *o = NULL;

	while (o == NULL && (f = src->svc->flows_next(src->svc->arg, walk)) != NULL) {
		label_make(name, f, cfg->nanosecond);
		if (strcmp(name, label) == 0)
			o = active_entry(src, f, now, 1);
	}
	src->svc->flows_end(src->svc->arg, walk);
	return o;
}

/* show GLOB: streamed as a listing, whatever it matches (issue 23). */
static void
show_glob(struct ctl_client *c, const struct listing_src *src, const char *pattern)
{
	struct listing *l = listing_new(src, "segments");

	l->o.glob = xstrdup(pattern); /* the request's words go when this returns */
	l->pattern = l->o.glob;
	l->o.active = l->o.finished = 1;
	start_listing(c, l);
}

void
listing_show(struct ctl_client *c, int argc, char **argv, const struct listing_src *src)
{
	const struct history_entry *he;
	json_t *segs, *act;
	uint64_t n;

	if (is_glob(argv[1])) {
		show_glob(c, src, argv[1]);
		return;
	}
	segs = json_array();
	for (n = history_first(src->hist); n < history_end(src->hist); n++)
		if ((he = history_get(src->hist, n)) != NULL && strcmp(argv[1], he->label) == 0)
			json_array_append_new(segs, finished_entry(he));
	if ((act = show_active(src, argv[1], duration_wall_ns())) != NULL)
		json_array_append_new(segs, act);
	if (json_array_size(segs) == 0) {
		json_decref(segs);
		ctl_reply_error(c, "no flow labelled %s (active or among the last %zu finished)",
		    argv[1], (size_t)(history_end(src->hist) - history_first(src->hist)));
		return;
	}
	ctl_reply_json(c, PROTO_OK, json_pack("{s:s,s:o}", "label", argv[1], "segments", segs));
}
