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

struct flow_index;

/* Open (append to) index.jsonl in outdir; NULL and *cause on failure. */
struct flow_index *index_open(const char *outdir, char **cause);
void index_close(struct flow_index *idx);

/*
 * The JSON object describing the flow's current segment; fpout may be NULL.
 * iface names the input interface (NULL offline). With with_frames the
 * frame numbers are included ("index").
 */
json_t *index_entry(
    const struct flow *f, const char *fpout, const char *iface, int nanosecond, int with_frames);

/* Append one entry as a line. Returns -1 (logged) if the write failed. */
int index_append(struct flow_index *idx, json_t *entry);

/*
 * The frame numbers of a flow segment as a JSON array text ("[1,2,5]"),
 * from the LEB128 deltas struct flow keeps them in. Written by hand: a
 * json_t per frame number cost more than all the rest of the index line.
 */
char *index_frames_text(const uint8_t *fn, size_t len);

/* Append entry as a line, with "index": frames (a JSON array text) as its last member. */
int index_append_frames(struct flow_index *idx, json_t *entry, const char *frames);

/* Push buffered lines to the file (at the end of a batch of packets). */
void index_flush(struct flow_index *idx);

#endif
