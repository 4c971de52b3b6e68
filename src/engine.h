/*
 * engine.h: the packet path, capture -> decode -> flow table -> writer ->
 * index, the same for a capture file and a live interface. Callers hand it
 * frames with their source and timestamp; it numbers them, traces them and
 * keeps the counters.
 */
#ifndef TRACEFLOW_ENGINE_H
#define TRACEFLOW_ENGINE_H

#include <stdint.h>

#include <jansson.h>

#include "decode.h"
#include "export.h"
#include "flow.h"
#include "writer.h"

struct engine_config {
	const char *outdir; /* names the output folder in messages (not kept) */
	int outfd;          /* the output folder, opened by spool_open (not kept: duplicated) */
	struct flow_config flow;
	struct writer_config writer;
	unsigned frag_max;        /* datagrams the fragment table remembers */
	uint64_t frag_timeout_ns; /* and for how long */
	/* IPFIX export of finished flows (collector "": none). */
	struct export_config export;
	int file_numbering; /* frames numbered across all sources, as in one file, not per source */
	/*
	 * Capture workers (daemon.c): each has an engine; the first made owns
	 * the filer and the exporter, the others (peer: the first) add a lane
	 * to its filer, share its exporter and number frames with it. A
	 * worker's engine reports finished flows only through engine_report,
	 * from the daemon's thread. NULL and 0: one engine, today's shape.
	 */
	struct engine *peer;
	int worker;
};

/* One input: a capture file or an interface. */
struct source {
	const char *name;  /* interface name; NULL for a capture file */
	int dlt;           /* pcap_datalink() */
	uint32_t linktype; /* what output files carry */
	uint32_t snaplen;
	int distinct;    /* a new id even for a name seen before (the interfaces of one file) */
	uint32_t id;     /* set by engine_add_source: part of every flow key */
	uint64_t frames; /* frames numbered so far (the next is frames + 1) */
};

struct engine_stats {
	uint64_t frames;
	uint64_t tcp;
	uint64_t not_tcp;
	uint64_t malformed; /* sum of the reasons below and frag_orphan */
	uint64_t reasons[DECODE_NREASONS];
	uint64_t frag_orphan; /* later fragments whose first fragment was not seen */
	uint64_t flows;       /* flows started */
	uint64_t finished;    /* flows ended */
	uint64_t segments;    /* index lines written */
	uint64_t ended[FLOW_R_NREASONS];
	uint64_t rekeys;     /* new secret hash keys: a chain outgrew its bound (flow.h) */
	uint64_t time_jumps; /* frames far ahead of the others, kept off the flow clock */
	/* Half-open flows (flow.h): now, their packets once ended unanswered, evicted. */
	uint64_t half_open;
	uint64_t unanswered_packets;
	uint64_t half_open_evicted;
	int half_open_overloaded;
};

struct engine;

#define ENGINE_MAX_SOURCES 4096

#define NS_PER_SEC 1000000000ULL

/*
 * What no setting names (the config table holds every default that one
 * does): a flow's buffer is handed over at this size, and the fragment
 * table's size and timeout.
 */
#define ENGINE_FLOW_BUFFER     (64 * 1024)
#define ENGINE_FRAG_MAX        4096
#define ENGINE_FRAG_TIMEOUT_NS (30 * NS_PER_SEC)

struct engine *engine_new(const struct engine_config *cfg, char **cause);
void engine_free(struct engine *e);

/*
 * Register an input and set src->id. A name registered before gets its old
 * id back, so an interface that comes back keeps its flows and its frame
 * numbering (unless src->distinct). Names are kept for the engine's life:
 * at most ENGINE_MAX_SOURCES inputs ever, beyond which -1 (src->id unset).
 */
int engine_add_source(struct engine *e, struct source *src);

/* The interface name of source id (NULL for a capture file or an unknown id). */
const char *engine_source_name(const struct engine *e, uint32_t id);

/* Frames numbered so far on source id (the next frame is this + 1). */
uint64_t engine_source_frames(const struct engine *e, uint32_t id);

/* One captured frame. ts is the capture timestamp in ns since the epoch. */
/*
 * A frame's time is its own in its flow's file, index line and label; the
 * flow clock (idle, linger, half-open timeouts) takes it only when it is no
 * more than ENGINE_JUMP_NS ahead of the latest time seen, or when the next
 * frame agrees with it (the capture's clock stepped): one frame decades
 * ahead must not end every flow. ts ENGINE_TS_BAD (capfile's CAPFILE_TS_BAD,
 * a time out of range) is counted malformed, bad_time.
 */
#define ENGINE_JUMP_NS (3600 * NS_PER_SEC)
#define ENGINE_TS_BAD  UINT64_MAX
void engine_frame(struct engine *e, struct source *src, uint64_t ts, uint32_t caplen,
    uint32_t wirelen, const uint8_t *data);
/*
 * The same, and the label of the frame's flow into label (LABEL_MAX bytes;
 * "" when the frame was not traced): libtraceflow's tf_trace answers with it.
 */
void engine_frame_label(struct engine *e, struct source *src, uint64_t ts, uint32_t caplen,
    uint32_t wirelen, const uint8_t *data, char *label);

/*
 * Frames of one source in a row, as engine_frame would take them one by
 * one (the same numbers, flows and files); faster once the table is
 * large (engine_wants_batches): the flow table's lookups of a batch
 * overlap (flow.h, flowtab_hint). data must stay valid until the call
 * returns.
 */
struct engine_rec {
	uint64_t ts;
	uint32_t caplen;
	uint32_t wirelen;
	const uint8_t *data;
};
void engine_frames(struct engine *e, struct source *src, const struct engine_rec *recs, size_t n);
/* Whether batches pay now: the flow table outgrew a core's cache (else one by one is cheaper). */
int engine_wants_batches(const struct engine *e);

/* A frame that the user's filter dropped: numbered, not traced. */
void engine_skip(struct engine *e, struct source *src);

/*
 * Called (from engine_poll) after every index line is written, with the
 * flow's key and initiator side, its index record (the line but for its
 * "index" member), that member's text (the frame numbers as a JSON array)
 * and whether the flow ended (0: a segment of a flow that goes on); rec
 * and frames are valid during the call. For the control channel's list of
 * finished flows and on_file.
 */
typedef void (*engine_end_hook)(const struct flow_key *key, uint8_t init,
    const struct index_record *rec, const char *frames, int ended, void *arg);
void engine_set_end_hook(struct engine *e, engine_end_hook fn, void *arg);

/* New settings on reload: flow timeouts and limits, writer limits. */
void engine_reconfigure(struct engine *e, const struct engine_config *cfg);

/*
 * Time passes without packets (live timers): expire flows, flush old
 * buffers. Follow it with engine_batch_end, which hands the work over.
 */
void engine_tick(struct engine *e, uint64_t now);

/* End of a batch of packets: index lines reach the file, finished flows are reported. */
void engine_batch_end(struct engine *e);

/*
 * Take back what the filer finished, and report the finished flows (calls
 * the end hook) unless the engine is a worker's.
 */
void engine_poll(struct engine *e);
/* Report finished flows whose files and index lines are done, whoever's thread runs it. */
void engine_report(struct engine *e);
/* The same in three steps (filer.h, filer_reports_take): only take and end under the lock. */
struct filer_reports *engine_reports_take(struct engine *e);
void engine_reports_run(const struct engine *e, struct filer_reports *r);
void engine_reports_end(struct engine *e, struct filer_reports *r);

/* Readable when engine_poll has something to report; -1 if everything is inline. */
int engine_event_fd(const struct engine *e);

/* Wait until every finished flow is on disk and indexed, then report them. */
void engine_sync(struct engine *e);

/* End every flow with reason (eof, shutdown, submit) and flush everything. */
void engine_finish_all(struct engine *e, enum flow_reason reason);
/*
 * End at most max flows with reason and hand them to the filer (not
 * waiting for the disk); the flows left. A daemon with a million flows
 * open finishes them in slices, telling systemd how far it got.
 */
uint32_t engine_finish_some(struct engine *e, enum flow_reason reason, uint32_t max);

const struct engine_stats *engine_stats(const struct engine *e);
const struct output_stats *engine_output_stats(struct engine *e);

/* Flows in the table now (open or lingering). */
uint32_t engine_active_count(const struct engine *e);

/* IP datagrams whose first fragment was seen and whose later ones are awaited. */
unsigned engine_frag_pending(const struct engine *e);

/* A cursor over the active flows (flowtab_cursor): a listing's walk, a step at a time. */
struct flow_cursor *engine_flows(struct engine *e);

/*
 * Submit the active flows of engines es[0..ne-1] (the workers': a label is
 * in one of them) labelled labels[0..n-1] (every one if n is 0):
 * file each one's current segment now with reason submit, the flow going
 * on in its next segment (flowtab_submit; a lingering flow ends), and wait
 * until they are filed and indexed. If a label names no active flow,
 * nothing is submitted: -1 and *missing its index. Returns how many
 * segments were filed (a flow without a packet since its last one files
 * none).
 */
int engine_submit(struct engine **es, unsigned ne, char *const *labels, int n, int *missing);

/*
 * Retention, on the file writer thread (filer_retain): the oldest files go
 * from the spool's catalog while over max_bytes or older than max_age_ns.
 */
void engine_retain(struct engine *e, uint64_t max_bytes, uint64_t max_age_ns, uint64_t now_ns);
/* Check the catalog against the disk again, in the background (spoolcat_reconcile). */
void engine_reconcile(struct engine *e);
/* The spool's files, bytes and ends from the catalog's running sums (any time, cheap). */
void engine_spool(const struct engine *e, struct spool_figures *out);

/* Reopen index.jsonl by name (SIGHUP), on the file writer thread. */
void engine_index_reopen(struct engine *e);

/* The IPFIX exporter (export_stats), NULL when export is off. */
struct exporter *engine_exporter(struct engine *e);

#endif
