/*
 * index.h: the index of finished flows, pcapkit's `index` grown up: one
 * JSON object per line in <output>/index.jsonl, appended when a flow (or a
 * segment of a long one) is complete, so that anyone tailing it sees only
 * files that are in place.
 */
#ifndef TRACEFLOW_INDEX_H
#define TRACEFLOW_INDEX_H

#include <jansson.h>

#include "flow.h"
#include "label.h"

struct flow_index;

/*
 * Open (append to) index.jsonl in the folder dirfd (dirpath names it in
 * messages), never through a link nor a file another user owns; a torn
 * last line is cut. NULL and *cause on failure.
 */
struct flow_index *index_open(int dirfd, const char *dirpath, char **cause);
void index_close(struct flow_index *idx);

/*
 * A finished flow (or segment) as its index line tells it: what the main
 * thread knows when the flow ends, made small and self-contained so that
 * it can travel to the file writer thread and back without a JSON object
 * (building and freeing one per flow was a fifth of the time on a capture
 * of short connections). The filer fills in the file's side.
 */
struct index_record {
	char label[LABEL_MAX + 16]; /* with the -N suffix once the filer knows it */
	char src[48], dst[48];      /* addresses as the index writes them */
	uint16_t srcport, dstport;
	uint16_t vlan[DECODE_MAX_VLAN];
	uint8_t nvlan;
	uint8_t partial;
	uint8_t reason; /* enum flow_reason */
	uint32_t segment;
	const char *iface; /* the engine's name of the interface (lives as long as it), or NULL */
	uint64_t first_ns, last_ns, packets, bytes;
	uint64_t ipbytes; /* IP octets (bytes counts frames on the wire) */
	uint8_t tcpflags; /* union of the TCP flags seen */
	/* The file's side, set by the filer. */
	char fpout[448]; /* "" for none */
	uint64_t written;
	uint8_t truncated;
};

/* The record of the flow's current segment. iface: its interface name, NULL offline. */
void index_record_make(
    struct index_record *r, const struct flow *f, const char *iface, int nanosecond);

/* The same as a JSON object (for the control channel), without "index". */
json_t *index_record_json(const struct index_record *r);

/*
 * An active flow's entry for a listing, as index_record_json and the
 * state, age and file members would make it, written by hand like the
 * index's lines (jansson's objects cost most of a 100,000-flow listing):
 * malloc'd, NUL-terminated, its length in *len. reason_known 0: "reason"
 * is null (the flow is open). file NULL: null.
 */
char *index_active_text(const struct index_record *r, const char *state, int reason_known,
    uint64_t age_ns, const char *file, size_t *len);

/* Append the record's line, "index": frames (a JSON array text) last; as index_append. */
int index_append_record(struct flow_index *idx, const struct index_record *r, const char *frames);

/*
 * The JSON object describing the flow's current segment; fpout may be NULL.
 * iface names the input interface (NULL offline). With with_frames the
 * frame numbers are included ("index").
 */
json_t *index_entry(
    const struct flow *f, const char *fpout, const char *iface, int nanosecond, int with_frames);

/*
 * Append one entry as a line. Lines collect in memory and reach the file
 * whole, in one write per batch; -1 if the line had to be dropped (the
 * disk refused lines for so long that too many are waiting: counted).
 */
int index_append(struct flow_index *idx, json_t *entry);

/* What recovery knows of a file left in .active/ (index_append_recovered). */
struct index_recovered {
	const char *label;
	const char *fpout;
	int have_records; /* a pcap file: the times and counts below are known */
	uint64_t first_ns, last_ns, packets, bytes;
};

/* Its line: the same keys as any other, unknown ones null, "recovered": true. */
int index_append_recovered(struct flow_index *idx, const struct index_recovered *r);

/*
 * The frame numbers of a flow segment as a JSON array text ("[1,2,5]"),
 * from the LEB128 deltas struct flow keeps them in. Written by hand: a
 * json_t per frame number cost more than all the rest of the index line.
 */
char *index_frames_text(const uint8_t *fn, size_t len);

/*
 * Write the waiting lines to the file (at the end of a batch). On failure
 * (a full disk) a line cut short is cut back out of the file and every
 * line is kept for the next call: -1, logged once per episode.
 */
int index_flush(struct flow_index *idx);

/* Lines waiting, lines dropped, failed writes. */
void index_stats(const struct flow_index *idx, uint64_t *pending, uint64_t *lost, uint64_t *errors);

#endif
