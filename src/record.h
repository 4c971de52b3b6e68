/*
 * record.h: a finished flow's index record, and the JSON text of it that
 * the index's lines and the control channel's listings are made of,
 * written by hand as jansson would write it (record.c); index.c writes
 * the lines to the file.
 */
#ifndef TRACEFLOW_RECORD_H
#define TRACEFLOW_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "flow.h"
#include "label.h"

/* A growing text: the index lines waiting for the disk, and each line as it is made. */
struct text {
	char *s;
	size_t len, cap;
};

/* Room for n more bytes (text_grow when there is none). */
void text_grow(struct text *t, size_t n);

/*
 * Inline: a listing entry is some sixty pieces of a few bytes each, and a
 * call plus a memmove for each was a third of a 100,000-flow listing.
 */
static inline void
text_reserve(struct text *t, size_t n)
{
	if (t->cap - t->len < n)
		text_grow(t, n);
}

static inline void
text_add(struct text *t, const char *p, size_t n)
{
	text_reserve(t, n);
	memcpy(t->s + t->len, p, n);
	t->len += n;
}
/* A JSON string, escaped as jansson escapes it. */
void text_str(struct text *t, const char *p);
/* ,"key": (the first key of a line is written with its brace) */
void text_key(struct text *t, const char *key);
void text_u64(struct text *t, uint64_t v);
/* Epoch seconds as jansson writes a real: %.17g, ".0" if it looks like an integer. */
void text_time(struct text *t, uint64_t ns);

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
	uint64_t size; /* the file's bytes on disk (the catalog's, not the line's) */
	uint8_t truncated;
	/* A probe in a shared capture (fpout): its records' place in it. */
	uint8_t probe;
	uint64_t offset, length;
};

/* The record of the flow's current segment. iface: its interface name, NULL offline. */
void index_record_make(
    struct index_record *r, const struct flow *f, const char *iface, int nanosecond);

/* The same as a JSON object (for the control channel), without "index". */
json_t *index_record_json(const struct index_record *r);

/*
 * An active flow's entry for a listing, as index_record_json and the
 * state, age and file members would make it, written by hand like the
 * index's lines (jansson's objects cost most of a 100,000-flow listing),
 * appended to t (not NUL-terminated): a listing reuses one text for all
 * its entries. reason_known 0: "reason" is null (the flow is open). file
 * NULL: null.
 */
void index_active_text(struct text *t, const struct index_record *r, const char *state,
    int reason_known, uint64_t age_ns, const char *file);

/*
 * The record's members from "label" to "segment", the brace opened, not
 * closed: the index line and the listing of active flows add their own.
 * With reason_null the reason is null (an open flow does not know it yet).
 */
void index_record_text(struct text *t, const struct index_record *r, int reason_null);

/*
 * The JSON object describing the flow's current segment; fpout may be NULL.
 * iface names the input interface (NULL offline). With with_frames the
 * frame numbers are included ("index").
 */
json_t *index_entry(
    const struct flow *f, const char *fpout, const char *iface, int nanosecond, int with_frames);

/* What recovery knows of a file left in .active/ (index_append_recovered). */
struct index_recovered {
	const char *label;
	const char *fpout;
	int have_records; /* a pcap file: the times and counts below are known */
	uint64_t first_ns, last_ns, packets, bytes;
};

/* Its line's object: the same keys as any other, unknown ones null, "recovered": true. */
json_t *index_recovered_json(const struct index_recovered *r);

/*
 * The frame numbers of a flow segment as a JSON array text ("[1,2,5]"),
 * from the LEB128 deltas struct flow keeps them in. Written by hand: a
 * json_t per frame number cost more than all the rest of the index line.
 */
char *index_frames_text(const uint8_t *fn, size_t len);

#endif
