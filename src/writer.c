/*
 * writer.c: per-flow output buffers. Records collect in a buffer per flow
 * and go to the filer (filer.c, which owns the files, on a thread of its
 * own in the daemon) when the buffer is full, when all buffers together
 * exceed their budget (oldest first), when it is older than the flush
 * interval, or when the flow ends: the packet path makes no system call.
 *
 * The dirty list orders flows with buffered bytes, oldest first: the order
 * in which the budget and the flush interval hand them over. A flow that
 * has not proved itself (flow.h) moves to the held list when its time is
 * up instead: it stays in memory, within the budget, until it is answered
 * (back to the dirty list) or ends (then, unanswered, to the shared
 * capture: writer.h), so that a scan's probes cost no file each.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <jansson.h>

#include "chunk.h"
#include "filer.h"
#include "label.h"
#include "log.h"
#include "pcapfile.h"
#include "shared.h"
#include "writer.h"
#include "xmalloc.h"

struct wfile {
	/* What the packet path touches first: the buffer (chunk.h). */
	struct chunk_chain chain;
	size_t len;    /* bytes of records in the chain */
	size_t cap;    /* memory the chain holds: its bytes and slots */
	uint64_t nrec; /* records in it */
	uint64_t dirty_since;
	uint64_t first_seq; /* the log's chunk of its first record, or one before (chunk.h) */
	uint8_t dirty;      /* on the dirty list, or the held list */
	uint8_t held;       /* on the held list */

	struct flow *flow;
	TAILQ_ENTRY(wfile) dlink; /* on the dirty list */
	struct ifile *io;         /* the file, on the filer's side; made at the first hand-over */
	struct fname *name;       /* the flow's name, kept from segment to segment (files.h) */
	uint32_t linktype;
	uint32_t snaplen;
	const char
	    *ifname; /* the engine's name of the interface (lives as long as it); NULL: none */
};

struct writer {
	struct writer_config cfg;
	struct filer *filer;
	struct chunk_pool *pool;   /* the filer's: done chains go back to it */
	TAILQ_HEAD(, wfile) dirty; /* oldest first */
	TAILQ_HEAD(, wfile) held;  /* unproven flows past their time, oldest first */
	uint64_t shared_since; /* the first flow handed to the shared capture since it was filed */
	uint64_t buffered;     /* capacity of the buffers held here */
};

/* --- set-up ------------------------------------------------------------ */

void
writer_filer_config(const struct writer_config *cfg, struct filer_config *fc)
{
	fc->format = cfg->format;
	fc->big = cfg->big;
	fc->nanosecond = cfg->nanosecond;
	fc->layout = cfg->layout;
	fc->max_open_files = cfg->max_open_files;
	fc->catalog = cfg->catalog;
	fc->partition_files = cfg->partition_files;
	fc->unanswered_bytes = SHARED_MAX_BYTES;
}

struct writer *
writer_new(struct filer *fl, const struct writer_config *cfg)
{
	struct writer *w;

	w = xcalloc(1, sizeof *w);
	w->cfg = *cfg;
	w->cfg.layout = NULL; /* the filer's: it keeps a copy */
	w->filer = fl;
	w->pool = filer_pool(fl);
	/* Idle chunks are held memory too: a quarter of the budget at most. */
	chunk_pool_set_idle(w->pool, cfg->buffer_total / 4);
	TAILQ_INIT(&w->dirty);
	TAILQ_INIT(&w->held);
	return w;
}

void
writer_free(struct writer *w)
{
	free(w);
}

uint64_t
writer_buffered(const struct writer *w)
{
	return w->buffered;
}

/* --- buffers ------------------------------------------------------------ */

static void
dlist_append(struct writer *w, struct wfile *wf)
{
	TAILQ_INSERT_TAIL(&w->dirty, wf, dlink);
}

static void
dlist_remove(struct writer *w, struct wfile *wf)
{
	if (wf->held)
		TAILQ_REMOVE(&w->held, wf, dlink);
	else
		TAILQ_REMOVE(&w->dirty, wf, dlink);
	wf->held = 0;
}

/* Unproven, and unanswered flows are not filed alone: it waits (writer.h). */
static int
waits(const struct writer *w, const struct wfile *wf)
{
	return w->cfg.unanswered != UNANSWERED_OWN_FILE && !(wf->flow->flags & FLOWF_PROVEN);
}

/* Its time is up but it has not proved itself: off the dirty list, onto the held one. */
static void
hold(struct writer *w, struct wfile *wf)
{
	TAILQ_REMOVE(&w->dirty, wf, dlink);
	TAILQ_INSERT_TAIL(&w->held, wf, dlink);
	wf->held = 1;
}

/* Proven since: back to the dirty list, due now. */
static void
unhold(struct writer *w, struct wfile *wf, uint64_t now)
{
	TAILQ_REMOVE(&w->held, wf, dlink);
	wf->held = 0;
	wf->dirty_since = now - (w->cfg.flush_ns < now ? w->cfg.flush_ns : now);
	TAILQ_INSERT_HEAD(&w->dirty, wf, dlink);
}

/* The oldest buffer of either list: the one the log's oldest chunk is likeliest in. */
static struct wfile *
oldest_buffer(struct writer *w)
{
	struct wfile *d = TAILQ_FIRST(&w->dirty), *h = TAILQ_FIRST(&w->held);

	if (d == NULL || (h != NULL && h->first_seq < d->first_seq))
		return h;
	return d;
}

/*
 * Room for n bytes in one piece (a pcap record's header is written in
 * place), at the log's head. A chain is written out as a whole, so a file
 * still gets whole records whatever is cut.
 */
static inline uint8_t *
buf_reserve(struct writer *w, struct wfile *wf, size_t n)
{
	if (wf->len == 0)
		wf->first_seq = chunk_head_seq(w->pool);
	return chunk_reserve(w->pool, n);
}

/* The n bytes written at what buf_reserve gave. */
static inline void
buf_commit(struct writer *w, struct wfile *wf, size_t n)
{
	wf->cap += chunk_commit(w->pool, &wf->chain, n);
	wf->len += n;
}

static void
buf_add(struct writer *w, struct wfile *wf, const void *p, size_t n)
{
	memcpy(buf_reserve(w, wf, n), p, n);
	buf_commit(w, wf, n);
}

/*
 * What the buffers hold, what waits for the disk and the chunks kept for
 * reuse share one budget. If the disk falls behind by more than that, wait
 * for it: the kernel's ring then fills and counts what it drops, instead
 * of our memory growing without bound.
 */
static void
backpressure(struct writer *w)
{
	uint64_t total = w->cfg.buffer_total, held = w->buffered + chunk_pool_idle(w->pool);

	/* Chunks idle in the pool are memory too: the budget holds them. */
	filer_wait_below(w->filer, total > held ? total - held : 0);
}

/*
 * The filer's side of the file, made when there is something to hand over:
 * a flow whose packets all still sit in its buffer costs no more memory.
 */
static struct ifile *
wfile_io(struct writer *w, struct wfile *wf)
{
	if (wf->io == NULL)
		wf->io =
		    filer_open(w->filer, wf->flow, wf->linktype, wf->snaplen, wf->ifname, wf->name);
	return wf->io;
}

/* Hand the buffer to the filer: it is theirs now, and an idle flow holds none. */
static void
wfile_flush(struct writer *w, struct wfile *wf)
{
	if (wf->dirty) {
		dlist_remove(w, wf);
		wf->dirty = 0;
	}
	w->buffered -= wf->cap;
	if (wf->len > 0) {
		filer_write(w->filer, wfile_io(w, wf), &wf->chain, wf->len, wf->cap, wf->nrec);
		backpressure(w);
	}
	memset(&wf->chain, 0, sizeof wf->chain);
	wf->len = wf->cap = 0;
	wf->nrec = 0;
}

/*
 * The log's chunks live until the last record in them is written: a few
 * records of flows that stay quiet can hold many chunks whose other records
 * are long written. Past the budget, the flows that hold the oldest chunk
 * hand their buffers over (the dirty list is in the order of their first
 * records), and the filer's progress is awaited an eighth of its queue at a
 * time (waiting for all of it held the capture up for as long as the disk
 * took to write the whole budget), until the log fits again.
 */
static void
log_enforce(struct writer *w)
{
	uint64_t seq, inflight;
	struct wfile *wf;

	while (chunk_pool_held(w->pool) > w->cfg.buffer_total &&
	       (seq = chunk_oldest_seq(w->pool)) != UINT64_MAX) {
		while ((wf = oldest_buffer(w)) != NULL && wf->first_seq <= seq)
			wfile_flush(w, wf);
		if ((inflight = filer_inflight(w->filer)) > 0) {
			filer_wait_below(w->filer, inflight - 1);
			continue;
		}
		filer_poll(w->filer); /* all of it is done: what is left is taken back */
		if (chunk_oldest_seq(w->pool) == seq)
			break; /* nothing holds it: cannot be, but never spin */
	}
}

static void
budget_enforce(struct writer *w)
{
	struct wfile *wf;

	while (w->buffered > w->cfg.buffer_total && (wf = oldest_buffer(w)) != NULL)
		wfile_flush(w, wf);
	if (chunk_pool_held(w->pool) > w->cfg.buffer_total)
		log_enforce(w);
}

/* --- records ------------------------------------------------------------ */

/* A packet record as pcapkit's dumpers see it, shared by json, plist and tree. */
struct rec_field {
	const char *name;
	enum { RF_UINT, RF_BOOL, RF_STR, RF_TIME, RF_VLAN } type;
	uint64_t u;
	const char *s;
};

static size_t
rec_fields(const struct packet *p, struct rec_field *r, char *src, char *dst)
{
	size_t n = 0;

	label_addr(src, 64, p->af, p->src, 0);
	label_addr(dst, 64, p->af, p->dst, 0);
#define RF(nm, t, uv, sv) r[n++] = (struct rec_field){nm, t, uv, sv}
	RF("frame", RF_UINT, p->frame, NULL);
	RF("timestamp", RF_TIME, p->ts, NULL);
	RF("src", RF_STR, 0, src);
	RF("srcport", RF_UINT, p->srcport, NULL);
	RF("dst", RF_STR, 0, dst);
	RF("dstport", RF_UINT, p->dstport, NULL);
	RF("syn", RF_BOOL, !!(p->flags & TCPF_SYN), NULL);
	RF("fin", RF_BOOL, !!(p->flags & TCPF_FIN), NULL);
	RF("rst", RF_BOOL, !!(p->flags & TCPF_RST), NULL);
	RF("ack", RF_BOOL, !!(p->flags & TCPF_ACK), NULL);
	RF("seq", RF_UINT, p->seq, NULL);
	RF("ack_seq", RF_UINT, p->ack, NULL);
	RF("payload_len", RF_UINT, p->payload_len, NULL);
	RF("caplen", RF_UINT, p->caplen, NULL);
	RF("wirelen", RF_UINT, p->wirelen, NULL);
	RF("fragment", RF_BOOL, p->frag != FRAG_NONE, NULL);
	RF("vlan", RF_VLAN, 0, NULL);
#undef RF
	return n;
}

static void
rec_json(struct writer *w, struct wfile *wf, const struct packet *p, const struct rec_field *r,
    size_t n, int nano)
{
	json_t *o = json_object(), *v;
	char ts[32], *s;
	size_t i, j;

	for (i = 0; i < n; i++) {
		switch (r[i].type) {
		case RF_UINT:
			v = json_integer((json_int_t)r[i].u);
			break;
		case RF_BOOL:
			v = json_boolean(r[i].u);
			break;
		case RF_STR:
			v = json_string(r[i].s);
			break;
		case RF_TIME:
			/* A number of epoch seconds: a double keeps microseconds exactly. */
			label_time(ts, sizeof ts, r[i].u, nano);
			v = json_real(strtod(ts, NULL));
			break;
		default:
			v = json_array();
			for (j = 0; j < p->nvlan; j++)
				json_array_append_new(v, json_integer(p->vlan[j]));
			break;
		}
		json_object_set_new(o, r[i].name, v);
	}
	if ((s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		fatalx("json_dumps: out of memory");
	buf_add(w, wf, s, strlen(s));
	buf_add(w, wf, "\n", 1);
	free(s);
	json_decref(o);
}

static void
rec_text(struct writer *w, struct wfile *wf, const struct packet *p, const struct rec_field *r,
    size_t n, int nano, int plist)
{
	char line[256], val[128], ts[32];
	size_t i, j, k;
	int len;

	if (plist)
		buf_add(w, wf, "\t<dict>\n", 8);
	else {
		len = snprintf(line, sizeof line, "Frame %llu\n", (unsigned long long)p->frame);
		buf_add(w, wf, line, (size_t)len);
	}
	for (i = 0; i < n; i++) {
		const char *tag = "integer";

		switch (r[i].type) {
		case RF_UINT:
			snprintf(val, sizeof val, "%llu", (unsigned long long)r[i].u);
			break;
		case RF_BOOL:
			snprintf(val, sizeof val, "%s", r[i].u ? "true" : "false");
			tag = r[i].u ? "true" : "false";
			break;
		case RF_STR:
			snprintf(val, sizeof val, "%s", r[i].s);
			tag = "string";
			break;
		case RF_TIME:
			label_time(ts, sizeof ts, r[i].u, nano);
			snprintf(val, sizeof val, "%s", ts);
			tag = "real";
			break;
		default:
			for (j = 0, k = 0; j < p->nvlan && k < sizeof val - 8; j++)
				k += (size_t)snprintf(
				    val + k, sizeof val - k, "%s%u", j ? "," : "", p->vlan[j]);
			val[k] = '\0';
			tag = "string";
			break;
		}
		if (!plist)
			len = snprintf(line, sizeof line, " |-- %s: %s\n", r[i].name, val);
		else if (r[i].type == RF_BOOL)
			len =
			    snprintf(line, sizeof line, "\t\t<key>%s</key><%s/>\n", r[i].name, tag);
		else
			len = snprintf(line, sizeof line, "\t\t<key>%s</key><%s>%s</%s>\n",
			    r[i].name, tag, val, tag);
		buf_add(w, wf, line, (size_t)len);
	}
	buf_add(w, wf, plist ? "\t</dict>\n" : "\n", plist ? 9 : 1);
}

static void
rec_pcap(struct writer *w, struct wfile *wf, const struct packet *p, const uint8_t *data)
{
	uint8_t *out = buf_reserve(w, wf, PCAP_RECHDR_LEN + p->caplen);

	pcapfile_record(out, p->ts, p->caplen, p->wirelen, w->cfg.big, w->cfg.nanosecond);
	memcpy(out + PCAP_RECHDR_LEN, data, p->caplen);
	buf_commit(w, wf, PCAP_RECHDR_LEN + p->caplen);
}

/* A pcapng record: an Enhanced Packet Block on the file's one interface. */
static void
rec_pcapng(struct writer *w, struct wfile *wf, const struct packet *p, const uint8_t *data)
{
	uint8_t *out = buf_reserve(w, wf, PCAPNG_EPB_HEAD + p->caplen + PCAPNG_EPB_TAIL_MAX);

	pcapng_epb_head(out, p->ts, p->caplen, p->wirelen, w->cfg.big, w->cfg.nanosecond);
	memcpy(out + PCAPNG_EPB_HEAD, data, p->caplen);
	buf_commit(w, wf,
	    PCAPNG_EPB_HEAD + p->caplen +
	        pcapng_epb_tail(out + PCAPNG_EPB_HEAD + p->caplen, p->caplen, w->cfg.big));
}

static struct wfile *
wfile_get(struct writer *w, struct flow *f, uint32_t linktype, uint32_t snaplen, const char *ifname)
{
	struct wfile *wf = f->wstate;

	if (wf != NULL)
		return wf;
	wf = xcalloc(1, sizeof *wf);
	wf->flow = f;
	wf->linktype = linktype;
	wf->snaplen = snaplen;
	wf->ifname = w->cfg.format == FMT_PCAPNG ? ifname : NULL;
	wf->name = files_fname_new();
	f->wstate = wf;
	return wf;
}

void
writer_packet(struct writer *w, struct flow *f, const struct packet *p, const uint8_t *data,
    uint32_t linktype, uint32_t snaplen, const char *ifname, uint64_t now)
{
	struct rec_field r[24];
	char src[64], dst[64];
	struct wfile *wf;
	size_t before, n;

	if (w->cfg.format == FMT_NONE)
		return;
	wf = wfile_get(w, f, linktype, snaplen, ifname);
	before = wf->cap;
	if (w->cfg.format == FMT_PCAP)
		rec_pcap(w, wf, p, data);
	else if (w->cfg.format == FMT_PCAPNG)
		rec_pcapng(w, wf, p, data);
	else {
		n = rec_fields(p, r, src, dst);
		if (w->cfg.format == FMT_JSON)
			rec_json(w, wf, p, r, n, w->cfg.nanosecond);
		else
			rec_text(w, wf, p, r, n, w->cfg.nanosecond, w->cfg.format == FMT_PLIST);
	}
	/* The budget counts what buffers hold in memory, not just what they hold. */
	w->buffered += wf->cap - before;
	wf->nrec++;
	if (!wf->dirty) {
		wf->dirty = 1;
		wf->dirty_since = now;
		dlist_append(w, wf);
	} else if (wf->held && !waits(w, wf))
		unhold(w, wf, now);
	if (wf->len >= w->cfg.flow_buffer)
		wfile_flush(w, wf);
	budget_enforce(w);
}

void
writer_setlimits(struct writer *w, const struct writer_config *cfg)
{
	w->cfg.max_open_files = cfg->max_open_files < 1 ? 1 : cfg->max_open_files;
	w->cfg.flow_buffer = cfg->flow_buffer;
	w->cfg.buffer_total = cfg->buffer_total;
	w->cfg.flush_ns = cfg->flush_ns;
	w->cfg.unanswered = cfg->unanswered;
	w->cfg.unanswered_rotate = cfg->unanswered_rotate;
	chunk_pool_set_idle(w->pool, cfg->buffer_total / 4);
	budget_enforce(w);
}

void
writer_tick(struct writer *w, uint64_t now)
{
	struct wfile *wf;

	if (w->cfg.flush_ns != 0)
		while ((wf = TAILQ_FIRST(&w->dirty)) != NULL &&
		       wf->dirty_since + w->cfg.flush_ns <= now) {
			if (waits(w, wf))
				hold(w, wf);
			else
				wfile_flush(w, wf);
		}
	/* The shared capture is filed at its age bound, probes coming or not. */
	if (w->shared_since != 0 && now - w->shared_since >= w->cfg.unanswered_rotate) {
		filer_shared_rotate(w->filer, w->shared_since);
		w->shared_since = 0;
	}
}

void
writer_shared_due(struct writer *w)
{
	uint64_t due = filer_shared_due(w->filer);

	if (due != 0 && (w->shared_since == 0 || due < w->shared_since))
		w->shared_since = due;
}

void
writer_flush_all(struct writer *w)
{
	struct wfile *wf;

	while ((wf = oldest_buffer(w)) != NULL)
		wfile_flush(w, wf);
}

/* --- completion ---------------------------------------------------------- */

/* A flow's state at its end: its name goes with it. */
static void
wfile_free(struct wfile *wf)
{
	files_fname_unref(wf->name);
	free(wf);
}

void
writer_forget(struct writer *w, struct flow *f)
{
	struct wfile *wf = f->wstate;

	if (wf == NULL)
		return;
	wfile_flush(w, wf); /* nothing since its last segment: nothing to hand over */
	f->wstate = NULL;
	wfile_free(wf);
}

/*
 * An unproven flow ends with all its records still here: they go to the
 * shared capture (or, count, nowhere) with its index line, not to a file
 * of its own. One handed over already (the budget) has its file: as any.
 */
static int
finish_shared(struct writer *w, struct wfile *wf, struct flow *f, struct index_record *rec)
{
	if (wf == NULL || wf->io != NULL || rec == NULL || !waits(w, wf))
		return 0;
	if (wf->dirty) {
		dlist_remove(w, wf);
		wf->dirty = 0;
	}
	w->buffered -= wf->cap;
	if (w->shared_since == 0 || w->shared_since > f->seg_last)
		w->shared_since = f->seg_last;
	filer_shared(w->filer, f, &wf->chain, wf->len, wf->cap, wf->nrec, wf->linktype, wf->snaplen,
	    rec, w->cfg.unanswered == UNANSWERED_COUNT);
	f->wstate = NULL;
	wfile_free(wf);
	backpressure(w);
	return 1;
}

void
writer_finish_entry(struct writer *w, struct flow *f, struct index_record *rec, int ended)
{
	struct wfile *wf = f->wstate;

	if (ended && finish_shared(w, wf, f, rec))
		return;
	if (wf != NULL) {
		wfile_flush(w, wf);
		f->wstate = NULL;
	}
	filer_finish(w->filer, wf ? wfile_io(w, wf) : NULL, f, rec, ended);
	if (wf != NULL && !ended) {
		/* The flow goes on in a new segment: a new file, the same name. */
		wf->io = NULL;
		f->wstate = wf;
	} else if (wf != NULL)
		wfile_free(wf);
	backpressure(w);
}
