/*
 * flow.h: the flow table. One flow per TCP connection, both directions,
 * keyed canonically by address family, both endpoints, VLAN tags and input
 * interface; or (flow_key = directional, pcapkit's rule) one flow per
 * direction, keyed (src, srcport, dst, dstport), optionally without VLAN
 * and interface. Decides when a connection starts and ends; knows nothing of
 * files. Pure: no I/O, no clock of its own (time comes with each call), so
 * the same code serves a capture file and a live interface.
 */
#ifndef TRACEFLOW_FLOW_H
#define TRACEFLOW_FLOW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "decode.h"
#include "flowkey.h"  /* struct flow_key, enum flow_key_mode */
#include "framenum.h" /* struct frames */

enum flow_reason {
	FLOW_R_NONE = 0,
	FLOW_R_FIN,        /* FIN both ways and the last FIN acknowledged, then linger;
	                      first-fin mode: the first FIN */
	FLOW_R_RST,        /* reset, then linger (set in teardown mode only) */
	FLOW_R_IDLE,       /* no packet for idle_timeout */
	FLOW_R_SUBMIT,     /* forced by the operator */
	FLOW_R_EOF,        /* end of the input file */
	FLOW_R_EVICTED,    /* the table was full and this flow was the longest idle */
	FLOW_R_SHUTDOWN,   /* the daemon stopped */
	FLOW_R_RECOVERED,  /* found unfinished after a crash */
	FLOW_R_REUSE,      /* a new SYN (other ISN) took over the tuple */
	FLOW_R_ROTATE,     /* not an end: a segment file was full, the flow goes on */
	FLOW_R_UNANSWERED, /* half-open: nothing came back within half_open_timeout */
	FLOW_R_REFUSED,    /* half-open and reset: an RST was all that came back (or went) */
	FLOW_R_NREASONS
};

/*
 * Teardown: FIN both ways and the last one acknowledged, or an RST; then
 * linger. First-fin (pcapkit's rule): the first FIN ends the flow, that
 * packet included, whatever came before it (an RST ends nothing, and nothing
 * lingers): the packet after the FIN starts a new flow on the tuple. With a
 * directional key first-fin is pcapkit's rule whole: a SYN ends nothing
 * either (no port-reuse detection).
 */
enum flow_end_mode { FLOW_END_TEARDOWN = 0, FLOW_END_FIRST_FIN };

/* How a flow's label writes its time (label.h), fixed when the flow starts. */
enum label_time_mode { LABEL_TIME_FIXED = 0, LABEL_TIME_SHORTEST };

enum flow_state {
	FLOW_OPEN = 0,
	FLOW_LINGER, /* torn down; trailing packets still join until linger runs out */
	FLOW_CLOSED  /* first-fin mode: ends right after the current packet */
};

/* Per-flow flags. */
#define FLOWF_PARTIAL  0x01 /* first packet was not a SYN: started mid-stream */
#define FLOWF_ISN_A    0x02 /* isn[0] holds side a's SYN sequence number */
#define FLOWF_ISN_B    0x04
#define FLOWF_FIN_A    0x08 /* side a sent FIN; fin_seq[0] is its sequence number */
#define FLOWF_FIN_B    0x10
#define FLOWF_FINACK_A 0x20 /* side a's FIN was acknowledged by side b */
#define FLOWF_FINACK_B 0x40
#define FLOWF_PROVEN   0x80 /* answered (both sides spoke) or past half_open_packets */

struct flow {
	struct flow_key key;
	SLIST_ENTRY(flow) hlink; /* hash chain */
	TAILQ_ENTRY(flow) link;  /* on the open list (idle order) or the linger list */
	TAILQ_ENTRY(flow) all;   /* on the table's list of every flow, in creation order */
	uint64_t id;             /* unique per table, in creation order */

	uint64_t first;   /* first packet's timestamp, ns: the label's (maybe not the earliest) */
	uint64_t last;    /* latest timestamp seen, ns */
	uint64_t touch;   /* table clock at the last packet (never goes backwards) */
	uint64_t packets; /* whole flow */
	uint64_t bytes;   /* whole flow, wire lengths */

	/*
	 * The current segment: what the next index line will describe. Its
	 * times are the earliest and latest of its packets, so first <= last
	 * even where the capture's clock stepped back.
	 */
	uint64_t seg_first;
	uint64_t seg_last;
	uint64_t seg_bytes;
	uint64_t seg_size; /* pcap record bytes (headers + captured bytes) */
	/* IP octets (total lengths), for IPFIX's octetDeltaCount. */
	uint64_t seg_ipbytes;
	uint64_t seg_packets; /* 64 bits: an unbounded segment may pass 2^32 packets */
	uint32_t seg_no;
	struct frames fn; /* frame numbers of the segment (framenum.h) */

	uint32_t isn[2];
	uint32_t fin_seq[2];
	uint8_t flags;   /* FLOWF_* */
	uint8_t sides;   /* a bit per side (1 << dir) that sent a packet other than an RST */
	uint8_t state;   /* enum flow_state */
	uint8_t reason;  /* enum flow_reason: why it ends (set on teardown or at end) */
	uint8_t init;    /* 0 if side a initiated (sent the SYN, or the first packet), else 1 */
	uint16_t suffix; /* label suffix when a file name was taken; owned by the writer */
	uint8_t dir;     /* side that sent the packet just classified (0 = a) */
	uint8_t seg_tcpflags; /* union of the segment's TCP flags */
	uint8_t ltime;        /* label time, enum label_time_mode: the table's when it started */
	uint8_t goes_on;      /* in the end callback: only the segment ends (rotate, submit) */
	uint32_t iface;       /* input of the first packet (key.iface is 0 in a bare key) */

	void *wstate; /* the writer's per-flow state; opaque here */
};

struct flow_config {
	uint64_t idle_ns;     /* idle timeout; 0 = none (offline pcapkit compatibility) */
	uint64_t linger_ns;   /* linger after teardown */
	uint32_t max_flows;   /* longest-idle flow evicted beyond this */
	int end_mode;         /* enum flow_end_mode */
	uint32_t seg_packets; /* a flow goes on in a new segment beyond this; 0 = no bound */
	uint64_t seg_size;    /* ... or beyond this many bytes of pcap records; 0 = no bound */
	uint64_t seed;        /* 0: a secret hash key from getrandom() (always, but in tests) */
	int key_mode;         /* enum flow_key_mode; not changed by flowtab_setconfig */
	int key_bare;         /* no VLAN tags, no interface in the key; ditto */
	int label_time;       /* enum label_time_mode, given to each new flow */
	/*
	 * Half-open flows: until a flow is answered (a packet other than an RST
	 * from each side) or has more than half_packets packets, it ends after
	 * half_ns without a packet (reason unanswered), and at most half_max
	 * such flows are kept (beyond, the oldest is evicted; never a proven
	 * one for room: table_evict takes half-open ones first). When the
	 * bound is reached the table is overloaded, and their timeout is a
	 * fifth, until they fall to half the bound. half_ns 0: no such rule.
	 */
	uint64_t half_ns;
	uint32_t half_packets;
	uint32_t half_max; /* 0: no bound but max_flows */
};

/* The half-open side of the table, for stats and logs. */
struct flowtab_half {
	uint32_t now;     /* half-open flows in the table */
	uint64_t evicted; /* ended for room among them (also counted as evicted) */
	int overloaded;   /* the bound was reached and they have not fallen to half of it */
};

/*
 * Called for every flow that ends, with f->reason set, just before it is
 * freed; and with f->goes_on set when only a segment ends, just before the
 * flow goes on in a new one: f->reason is FLOW_R_ROTATE when the segment is
 * full, FLOW_R_SUBMIT when flowtab_submit hands it over. A flow submitted
 * and then ending without a packet since comes with f->seg_packets 0: there
 * is nothing to file, only the end to count.
 */
typedef void (*flow_end_cb)(struct flow *f, void *arg);

struct flow_table;

struct flow_table *flowtab_new(const struct flow_config *cfg, flow_end_cb cb, void *arg);
void flowtab_free(struct flow_table *t);
/* New timeouts and limits; the key (key_mode, key_bare, seed) stays the table's. */
void flowtab_setconfig(struct flow_table *t, const struct flow_config *cfg);

/*
 * Classify one TCP packet (ports filled in) at table time now: find or create
 * its flow, end an earlier flow on the tuple when this packet starts a new
 * connection, update state and counters, record the frame number. Returns
 * the flow the packet belongs to; f->dir tells its direction.
 */
struct flow *flowtab_packet(
    struct flow_table *t, const struct packet *pkt, uint32_t iface, uint64_t now);

/*
 * A packet's place in the table worked out ahead: a reader holding a batch
 * of frames hints each one (its key and hash; its bucket is prefetched),
 * fetches the first flow of a frame's chain a few frames before handling
 * it, so that the lookups' cache misses overlap instead of stalling one by
 * one. Only a hint: flowtab_packet_hinted looks the flow up as
 * flowtab_packet does (a hash made before a rekey is made again), so the
 * table decides exactly what it would without it.
 */
struct flow_hint {
	struct flow_key key;
	uint64_t hash;
	uint32_t keygen; /* the table's hash key when it was made */
	uint8_t dir;
};
void flowtab_hint(
    const struct flow_table *t, const struct packet *pkt, uint32_t iface, struct flow_hint *h);
void flowtab_hint_fetch(const struct flow_table *t, const struct flow_hint *h);
struct flow *flowtab_packet_hinted(struct flow_table *t, const struct packet *pkt,
    const struct flow_hint *h, uint32_t iface, uint64_t now);

/* After the packet was written: end the flow now if its state says so (first-fin). */
void flowtab_release(struct flow_table *t, struct flow *f);

/* End flows whose idle or linger time ran out at now. Cheap when none is due. */
void flowtab_expire(struct flow_table *t, uint64_t now);

/*
 * Submit (pcapkit's submit() is a snapshot): hand the current segment over
 * now with reason submit; the flow stays open and goes on in its next
 * segment under the same label, as after a rotation. A flow already torn
 * down (lingering) ends instead with the reason it has: its connection is
 * over, and the index keeps how it ended. A flow without a packet since its
 * last segment hands nothing over. Returns 1 if something was handed over.
 */
int flowtab_submit(struct flow_table *t, struct flow *f);

/* End one flow, at most max of them (oldest first; how many are left), or all, with reason. */
void flowtab_end(struct flow_table *t, struct flow *f, enum flow_reason reason);
uint32_t flowtab_end_some(struct flow_table *t, enum flow_reason reason, uint32_t max);
void flowtab_end_all(struct flow_table *t, enum flow_reason reason);

void flowtab_half(const struct flow_table *t, struct flowtab_half *out);

/* The frame numbers of f's current segment, from the first: flow_fn_next. */
static inline void
flow_fn_begin(const struct flow *f, struct flow_fn_iter *it)
{
	frames_begin(&f->fn, it);
}

/* Every flow still in the table (open first, oldest activity first). */
void flowtab_foreach(struct flow_table *t, void (*fn)(struct flow *, void *), void *arg);
uint32_t flowtab_count(const struct flow_table *t);

/*
 * The flow table's worst case: a lookup that walks more than FLOW_CHAIN_MAX
 * flows of one chain gives the table a new secret key and lays it out anew
 * (a rekey, counted). With a secret key no chain grows that long but by
 * an attack on the key; the bound holds whatever the traffic.
 */
#define FLOW_CHAIN_MAX 32
uint64_t flowtab_rekeys(const struct flow_table *t);
/* The longest chain now: a walk of every bucket, for tests and checks. */
uint32_t flowtab_longest_chain(const struct flow_table *t);
/* The table's hash of a key, with its secret key (tests: which keys share a chain). */
uint64_t flowtab_hash(const struct flow_table *t, const struct flow_key *k);

/*
 * A walk of the flows in the table when it begins, in creation order, a
 * step at a time between which the table may change: flows that end are
 * not returned (a cursor about to reach one steps past it), flows made
 * later are not returned either. Memory is the cursor's, whatever the
 * table holds, so that a listing of a million flows costs no copy of them
 * (issue: 16 listings of 200,000 flows took 736 MB as copies). A flow
 * returned is valid until the table next changes. A cursor may outlive
 * its table (it then returns nothing); free it with flowtab_cursor_free.
 */
struct flow_cursor;
struct flow_cursor *flowtab_cursor(struct flow_table *t);
const struct flow *flowtab_cursor_next(struct flow_cursor *c);
void flowtab_cursor_free(struct flow_cursor *c);

/* Initiator and responder endpoints, for labels and the index. */
static inline const uint8_t *
flow_src(const struct flow *f, uint16_t *port)
{
	return flow_key_src(&f->key, f->init, port);
}

static inline const uint8_t *
flow_dst(const struct flow *f, uint16_t *port)
{
	return flow_key_dst(&f->key, f->init, port);
}

#endif
