/*
 * history.h: the flows finished since the daemon started, as `list` and
 * `show` report them: the last `max` index entries, as compact JSON text,
 * and their frame numbers only within a byte budget (oldest dropped first),
 * since one long flow's frame list can be megabytes. Entries are numbered
 * from 0 in the order they were added; a number stays valid until the
 * entry is overwritten, so a listing streamed over many turns of the loop
 * skips what went meanwhile and never reads a freed entry.
 */
#ifndef TRACEFLOW_HISTORY_H
#define TRACEFLOW_HISTORY_H

#include <stddef.h>
#include <stdint.h>

struct history_entry {
	char *summary; /* the index entry without frame numbers */
	char *frames;  /* its frame numbers as JSON text; NULL once dropped */
	char *label;
	char *src; /* addresses as the index writes them, for --host */
	char *dst;
	uint16_t sport;
	uint16_t dport;
};

struct history;

struct history *history_new(size_t max, size_t frames_budget);
void history_free(struct history *h);

/* Add a copy of e (frames may be NULL). */
void history_add(struct history *h, const struct history_entry *e);

/* Entries [history_first, history_end) may be there; history_get is NULL for one gone. */
uint64_t history_first(const struct history *h);
uint64_t history_end(const struct history *h);
const struct history_entry *history_get(const struct history *h, uint64_t n);

#endif
