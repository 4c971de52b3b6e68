/*
 * engine.c: wires decode, the fragment table, the flow table, the writer
 * and the index together. Owns the counters; makes no system call itself.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "frag.h"
#include "record.h"
#include "log.h"
#include "xmalloc.h"

#define MAX_SOURCES ENGINE_MAX_SOURCES

struct engine {
	struct engine_config cfg;
	struct flow_table *flows;
	struct frag_table *frags;
	struct filer *filer;   /* the files and the index, at the bottom */
	struct writer *writer; /* the buffers on top of it */
	struct output_stats out;
	char *source_names[MAX_SOURCES]; /* NULL for a capture file */
	uint64_t source_frames[MAX_SOURCES];
	uint32_t nsources;
	struct engine_stats st;
	engine_end_hook hook;
	void *hook_arg;
	struct exporter *exporter; /* NULL: no IPFIX export */
	struct engine *owner;      /* the filer's and exporter's (engine.h, peer): e or its peer */
	/* Frame numbers per source, counted by every worker's engine at once (the owner's). */
	_Atomic uint64_t *numbers;
	uint64_t clock; /* the flow clock: the latest frame time taken (engine.h) */
	uint64_t jump;  /* a frame's time beyond ENGINE_JUMP_NS, waiting for a second */
};

/*
 * A flow (or a segment of one: full, or submitted) is complete: its file
 * goes into place and its line into the index, in that order, on the
 * writer's side; what became of it comes back through engine_poll. A flow
 * that ends with nothing since it was submitted files nothing: no empty
 * segments, its pieces are all in place already.
 */
static void
on_segment_done(struct flow *f, void *arg)
{
	struct engine *e = arg;
	struct index_record *rec;
	const char *iface;

	e->st.ended[f->reason < FLOW_R_NREASONS ? f->reason : FLOW_R_NONE]++;
	if (f->reason == FLOW_R_UNANSWERED)
		e->st.unanswered_packets += f->packets;
	if (!f->goes_on)
		e->st.finished++;
	if (f->seg_packets == 0) {
		if (!f->goes_on) /* its name, kept from its last segment (writer.c) */
			writer_forget(e->writer, f);
		return;
	}
	rec = xmalloc(sizeof *rec);
	iface = f->iface < e->nsources ? e->source_names[f->iface] : NULL;
	/* Without frame numbers: the writer adds them to the line as text. */
	index_record_make(rec, f, iface, e->cfg.writer.nanosecond);
	writer_finish_entry(e->writer, f, rec, !f->goes_on);
	e->st.segments++;
}

/* A finished flow is filed and indexed: tell whoever listens (the control channel). */
static void
on_done(const struct filer_done *d, void *arg)
{
	struct engine *e = arg;

	/* Every indexed flow or segment goes to the collector too. */
	export_record(e->exporter, d->rec);
	if (e->hook != NULL)
		e->hook(&d->key, d->init, d->rec, d->frames, d->ended, e->hook_arg);
}

struct engine *
engine_new(const struct engine_config *cfg, char **cause)
{
	struct filer_config fc;
	struct engine *e;

	e = xcalloc(1, sizeof *e);
	e->cfg = *cfg;
	/* Pointers into the caller's config are not kept: a reload frees it. */
	e->cfg.outdir = NULL;
	e->cfg.writer.layout = NULL;
	e->cfg.export.collector = NULL;
	e->cfg.peer = NULL;
	e->owner = cfg->peer != NULL ? cfg->peer : e;
	if (cfg->peer != NULL)
		e->exporter = cfg->peer->exporter;
	else if (cfg->export.collector != NULL && cfg->export.collector[0] != '\0' &&
	         (e->exporter = export_new(&cfg->export, cause)) == NULL)
		goto fail;
	writer_filer_config(&cfg->writer, &fc);
	if (cfg->peer != NULL)
		e->filer = filer_lane(cfg->peer->filer, cause);
	else
		e->filer = filer_new(cfg->outfd, cfg->outdir, &fc, cfg->writer.threaded, cause);
	if (e->filer == NULL)
		goto fail;
	if (cfg->worker) {
		filer_defer_reports(e->filer);
		if (e->owner->numbers == NULL)
			e->owner->numbers = xcalloc(MAX_SOURCES, sizeof *e->numbers);
		e->numbers = e->owner->numbers;
	}
	e->writer = writer_new(e->filer, &cfg->writer);
	filer_set_done(e->filer, on_done, e);
	e->flows = flowtab_new(&cfg->flow, on_segment_done, e);
	e->frags = frag_new(cfg->frag_max, cfg->frag_timeout_ns);
	return e;
fail:
	engine_free(e);
	return NULL;
}

void
engine_free(struct engine *e)
{
	uint32_t i;

	if (e == NULL)
		return;
	if (e->flows != NULL)
		flowtab_free(e->flows);
	if (e->frags != NULL)
		frag_free(e->frags);
	writer_free(e->writer);
	filer_free(e->filer); /* its thread writes the index until it stops */
	if (e->owner == e) {
		export_free(
		    e->exporter); /* after the writer: every finished flow was handed over */
		free(e->numbers);
	}
	/* Last: index records and pcapng headers still queued point at these names. */
	for (i = 0; i < e->nsources; i++)
		free(e->source_names[i]);
	free(e);
}

int
engine_add_source(struct engine *e, struct source *src)
{
	uint32_t i;

	for (i = 0; src->name != NULL && !src->distinct && i < e->nsources; i++) {
		if (e->source_names[i] != NULL && strcmp(e->source_names[i], src->name) == 0) {
			src->id = i;
			return 0;
		}
	}
	/* Names are never forgotten (active flows and queued records use their ids). */
	if (e->nsources == MAX_SOURCES)
		return -1;
	src->id = e->nsources;
	e->source_names[e->nsources++] = src->name ? xstrdup(src->name) : NULL;
	return 0;
}

const char *
engine_source_name(const struct engine *e, uint32_t id)
{
	return id < e->nsources ? e->source_names[id] : NULL;
}

uint64_t
engine_source_frames(const struct engine *e, uint32_t id)
{
	return id < e->nsources ? e->source_frames[id] : 0;
}

/* The number of the source's next frame: its own, or the file's (file_numbering). */
static uint64_t
next_frame(struct engine *e, const struct source *src)
{
	e->st.frames++;
	e->source_frames[src->id]++;
	/* Workers: the interface's count, whichever worker a frame went to. */
	if (e->numbers != NULL)
		return atomic_fetch_add_explicit(&e->numbers[src->id], 1, memory_order_relaxed) + 1;
	return e->cfg.file_numbering ? e->st.frames : e->source_frames[src->id];
}

void
engine_skip(struct engine *e, struct source *src)
{
	next_frame(e, src);
}

static void
count_reject(struct engine *e, enum decode_result r)
{
	if (r == DECODE_NOT_TCP)
		e->st.not_tcp++;
	else {
		e->st.reasons[r]++;
		e->st.malformed++;
	}
}

/* Later fragments borrow the ports of their datagram's first fragment. */
static int
frag_resolve(struct engine *e, struct packet *p, uint64_t now)
{
	frag_expire(e->frags, now);
	if (p->frag == FRAG_FIRST)
		frag_first(e->frags, p, now);
	else if (p->frag == FRAG_LATER && frag_later(e->frags, p, now) == -1) {
		e->st.frag_orphan++;
		e->st.malformed++;
		return -1;
	}
	return 0;
}

/* Does a agree with b within ENGINE_JUMP_NS? */
static int
near(uint64_t a, uint64_t b)
{
	return (a > b ? a - b : b - a) <= ENGINE_JUMP_NS;
}

/* The time the flow clock takes from a frame at ts (engine.h). */
static uint64_t
flow_clock(struct engine *e, uint64_t ts)
{
	if (e->clock == 0 || ts <= e->clock || ts - e->clock <= ENGINE_JUMP_NS ||
	    (e->jump != 0 && near(ts, e->jump))) {
		e->jump = 0;
		if (ts > e->clock)
			e->clock = ts;
		return ts;
	}
	if (e->st.time_jumps++ == 0)
		log_warnx("a frame is %.0f s ahead of the capture's time: the flow clock takes no "
		          "frame more than %llu s ahead unless the next one agrees (counted as "
		          "time_jumps)",
		    (double)(ts - e->clock) / NS_PER_SEC,
		    (unsigned long long)(ENGINE_JUMP_NS / NS_PER_SEC));
	e->jump = ts;
	return e->clock;
}

/* Number and decode a frame (a frame that is not a TCP segment is counted). */
static enum decode_result
frame_decode(struct engine *e, struct source *src, const struct engine_rec *rec, struct packet *p)
{
	enum decode_result r;

	p->frame = next_frame(e, src);
	r = rec->ts == ENGINE_TS_BAD ? DECODE_BAD_TIME
	                             : decode_frame(src->dlt, rec->data, rec->caplen, p);
	if (r != DECODE_OK) {
		if (r == DECODE_BAD_TIME && e->st.reasons[r] == 0)
			log_warnx("frame %" PRIu64 ": a time before 1970 or past 2554 (a pcapng "
			          "interface's if_tsoffset or if_tsresol wrong?): such frames are "
			          "counted malformed (bad_time) and skipped",
			    p->frame);
		count_reject(e, r);
		return r;
	}
	p->ts = rec->ts;
	p->caplen = rec->caplen;
	p->wirelen = rec->wirelen;
	return r;
}

/* Trace a decoded frame: its flow (h: its place worked out ahead, or NULL), its file. */
static void
frame_trace(struct engine *e, struct source *src, const struct engine_rec *rec, struct packet *p,
    const struct flow_hint *h, char *label)
{
	struct flow *f;
	uint64_t now;

	now = flow_clock(e, p->ts);
	if (p->frag != FRAG_NONE && frag_resolve(e, p, now) == -1)
		return;
	e->st.tcp++;
	/* Expire first: a packet after the idle timeout starts a new flow. */
	flowtab_expire(e->flows, now);
	writer_tick(e->writer, now);
	if (h != NULL)
		f = flowtab_packet_hinted(e->flows, p, h, src->id, now);
	else
		f = flowtab_packet(e->flows, p, src->id, now);
	if (f->packets == 1)
		e->st.flows++;
	writer_packet(
	    e->writer, f, p, rec->data, src->linktype, src->snaplen, e->source_names[src->id], now);
	/* After the writer: it adds the suffix when the file name was taken. */
	if (label != NULL)
		label_make(label, f, e->cfg.writer.nanosecond);
	flowtab_release(e->flows, f);
}

void
engine_frame(struct engine *e, struct source *src, uint64_t ts, uint32_t caplen, uint32_t wirelen,
    const uint8_t *data)
{
	engine_frame_label(e, src, ts, caplen, wirelen, data, NULL);
}

void
engine_frame_label(struct engine *e, struct source *src, uint64_t ts, uint32_t caplen,
    uint32_t wirelen, const uint8_t *data, char *label)
{
	struct engine_rec rec = {.ts = ts, .caplen = caplen, .wirelen = wirelen, .data = data};
	struct packet p;

	if (label != NULL)
		label[0] = '\0';
	if (frame_decode(e, src, &rec, &p) == DECODE_OK)
		frame_trace(e, src, &rec, &p, NULL, label);
}

/*
 * A batch, in two passes of ENGINE_BATCH frames: decode them all and hint
 * their flows (the buckets are prefetched), then trace them in order,
 * fetching the flow of the frame ENGINE_AHEAD places on before each. The
 * lookup's two loads (bucket, flow) were the flow table's cost, cache
 * misses one after another (BENCHMARKS.md); fragments take no hint (a
 * later one's ports come from the fragment table, in order).
 */
#define ENGINE_BATCH 32
#define ENGINE_AHEAD 4

/*
 * Below this many flows the table stays in a core's cache (a flow is 264
 * bytes and its frame list) and hints only cost (measured: 10 to 17 % more
 * on the capture thread, BENCHMARKS.md): frames are traced one by one.
 */
#define ENGINE_HINT_FLOWS 16384

int
engine_wants_batches(const struct engine *e)
{
	return flowtab_count(e->flows) >= ENGINE_HINT_FLOWS;
}

void
engine_frames(struct engine *e, struct source *src, const struct engine_rec *recs, size_t n)
{
	struct packet p[ENGINE_BATCH];
	struct flow_hint h[ENGINE_BATCH];
	uint8_t hinted[ENGINE_BATCH], ok[ENGINE_BATCH];
	size_t i, m;

	if (!engine_wants_batches(e)) {
		for (; n > 0; recs++, n--)
			engine_frame(e, src, recs->ts, recs->caplen, recs->wirelen, recs->data);
		return;
	}
	for (; n > 0; recs += m, n -= m) {
		m = n < ENGINE_BATCH ? n : ENGINE_BATCH;
		for (i = 0; i < m; i++) {
			ok[i] = frame_decode(e, src, &recs[i], &p[i]) == DECODE_OK;
			hinted[i] = ok[i] && p[i].frag == FRAG_NONE;
			if (hinted[i])
				flowtab_hint(e->flows, &p[i], src->id, &h[i]);
		}
		for (i = 0; i < m; i++) {
			if (i + ENGINE_AHEAD < m && hinted[i + ENGINE_AHEAD])
				flowtab_hint_fetch(e->flows, &h[i + ENGINE_AHEAD]);
			if (ok[i])
				frame_trace(
				    e, src, &recs[i], &p[i], hinted[i] ? &h[i] : NULL, NULL);
		}
	}
}

void
engine_set_end_hook(struct engine *e, engine_end_hook fn, void *arg)
{
	e->hook = fn;
	e->hook_arg = arg;
}

void
engine_reconfigure(struct engine *e, const struct engine_config *cfg)
{
	flowtab_setconfig(e->flows, &cfg->flow);
	writer_setlimits(e->writer, &cfg->writer);
	filer_setlimits(e->filer, cfg->writer.max_open_files);
	e->cfg.flow = cfg->flow;
}

/*
 * A rekey of the flow or fragment table (a chain grew past its bound) is
 * no accident: someone sends addresses and ports that collide. Said once
 * per rekey (each needs keys found anew against a new secret) and counted.
 */
static void
rekeys_note(struct engine *e)
{
	uint64_t n = flowtab_rekeys(e->flows) + frag_rekeys(e->frags);

	if (n == e->st.rekeys)
		return;
	e->st.rekeys = n;
	log_warnx("a hash chain grew past %d entries: the flow tables took a new secret key "
	          "(%" PRIu64 " times so far); colliding addresses and ports are being sent",
	    FLOW_CHAIN_MAX, n);
}

/*
 * A flood of unanswered connections filled their share of the table: said
 * when it starts and when it ends (flow.h: their timeout is shorter
 * meanwhile, and the oldest are evicted), not per probe.
 */
static void
half_open_note(struct engine *e)
{
	struct flowtab_half h;

	flowtab_half(e->flows, &h);
	e->st.half_open = h.now;
	e->st.half_open_evicted = h.evicted;
	if (h.overloaded == e->st.half_open_overloaded)
		return;
	e->st.half_open_overloaded = h.overloaded;
	if (h.overloaded)
		log_warnx("unanswered connections filled their share of the flow table (%" PRIu32
		          "): the oldest are evicted and the rest time out sooner; a scan or a "
		          "flood is under way",
		    e->cfg.flow.half_max);
	else
		log_info("unanswered connections are back under half their share of the flow table "
		         "(%" PRIu64 " evicted so far)",
		    h.evicted);
}

void
engine_tick(struct engine *e, uint64_t now)
{
	flowtab_expire(e->flows, now);
	writer_tick(e->writer, now);
	frag_expire(e->frags, now);
}

void
engine_poll(struct engine *e)
{
	filer_poll(e->filer);
}

void
engine_report(struct engine *e)
{
	filer_report(e->filer);
}

struct filer_reports *
engine_reports_take(struct engine *e)
{
	return filer_reports_take(e->filer);
}

void
engine_reports_run(const struct engine *e, struct filer_reports *r)
{
	filer_reports_run(e->filer, r);
}

void
engine_reports_end(struct engine *e, struct filer_reports *r)
{
	filer_reports_end(e->filer, r);
}

int
engine_event_fd(const struct engine *e)
{
	return filer_event_fd(e->filer);
}

void
engine_sync(struct engine *e)
{
	filer_sync(e->filer);
	engine_report(e);
}

void
engine_batch_end(struct engine *e)
{
	rekeys_note(e);
	half_open_note(e);
	filer_batch_end(e->filer);
	engine_poll(e);
	/* Once a batch, not per packet: only a poll (ours or the reporter's) changes it. */
	writer_shared_due(e->writer);
}

uint32_t
engine_finish_some(struct engine *e, enum flow_reason reason, uint32_t max)
{
	uint32_t left = flowtab_end_some(e->flows, reason, max);

	engine_batch_end(e);
	return left;
}

void
engine_finish_all(struct engine *e, enum flow_reason reason)
{
	flowtab_end_all(e->flows, reason);
	writer_flush_all(e->writer);
	engine_sync(e);
}

void
engine_retain(struct engine *e, uint64_t max_bytes, uint64_t max_age_ns, uint64_t now_ns)
{
	filer_retain(e->filer, max_bytes, max_age_ns, now_ns);
}

void
engine_reconcile(struct engine *e)
{
	filer_reconcile(e->filer);
}

void
engine_spool(const struct engine *e, struct spool_figures *out)
{
	filer_spool(e->filer, out);
}

const struct engine_stats *
engine_stats(const struct engine *e)
{
	return &e->st;
}

const struct output_stats *
engine_output_stats(struct engine *e)
{
	filer_stats(e->filer, &e->out);
	e->out.buffered =
	    writer_buffered(e->writer) + filer_inflight(e->filer) + filer_held(e->filer);
	return &e->out;
}

uint32_t
engine_active_count(const struct engine *e)
{
	return flowtab_count(e->flows);
}

unsigned
engine_frag_pending(const struct engine *e)
{
	return frag_count(e->frags);
}

struct label_match {
	char *const *labels;
	int n;
	int nanosecond;
	int *found; /* per label */
};

static int
label_wanted(const struct flow *f, void *arg)
{
	struct label_match *m = arg;
	char label[LABEL_MAX];
	int i, hit = 0;

	if (m->n == 0)
		return 1;
	label_make(label, f, m->nanosecond);
	for (i = 0; i < m->n; i++)
		if (strcmp(m->labels[i], label) == 0)
			hit = m->found[i] = 1;
	return hit;
}

struct flow_cursor *
engine_flows(struct engine *e)
{
	return flowtab_cursor(e->flows);
}

/* The flows to submit, collected first: ending one (lingering) changes the table. */
struct submit_ctx {
	struct label_match m;
	struct flow **flows;
	size_t n, cap;
};

static void
submit_collect(struct flow *f, void *arg)
{
	struct submit_ctx *sc = arg;

	if (!label_wanted(f, &sc->m))
		return;
	if (sc->n == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 64;
		sc->flows = xreallocarray(sc->flows, sc->cap, sizeof *sc->flows);
	}
	sc->flows[sc->n++] = f;
}

int
engine_submit(struct engine **es, unsigned ne, char *const *labels, int n, int *missing)
{
	struct submit_ctx *sc = xcalloc(ne, sizeof *sc);
	int *found = xcalloc((size_t)n + 1, sizeof *found);
	int i, rc = 0;
	unsigned k;
	size_t j;

	for (k = 0; k < ne; k++) {
		sc[k].m = (struct label_match){labels, n, es[k]->cfg.writer.nanosecond, found};
		flowtab_foreach(es[k]->flows, submit_collect, &sc[k]);
	}
	for (i = 0; i < n; i++) {
		if (!found[i]) {
			*missing = i;
			rc = -1;
			goto out;
		}
	}
	for (k = 0; k < ne; k++)
		for (j = 0; j < sc[k].n; j++)
			rc += flowtab_submit(es[k]->flows, sc[k].flows[j]);
	/* Files in place and indexed before the caller says so. */
	for (k = 0; k < ne; k++)
		engine_sync(es[k]);
out:
	for (k = 0; k < ne; k++)
		free(sc[k].flows);
	free(sc);
	free(found);
	return rc;
}

void
engine_index_reopen(struct engine *e)
{
	filer_index_reopen(e->filer);
}

struct exporter *
engine_exporter(struct engine *e)
{
	return e->exporter;
}
