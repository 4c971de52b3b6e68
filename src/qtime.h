/*
 * qtime.h: the times of `traceflowctl query` expressions ("after TIME",
 * "before TIME"): RFC 3339 (2026-12-06T10:00:00Z, 2026-12-06T10:00:00.5+01:00;
 * without a zone the local time, the process's TZ; a date alone is its
 * midnight; a date and a time may also come as two words, as nfdump and
 * people print them: 2026-12-06 10:00:00), epoch seconds (1796551200,
 * 1796551200.25), or a duration (duration.h) and "ago": "3m ago". Times
 * from 1970 to 2262: the catalog's are signed 64-bit ns. No I/O but the
 * time zone mktime reads.
 */
#ifndef TRACEFLOW_QTIME_H
#define TRACEFLOW_QTIME_H

#include <stdint.h>

#define TIME_FORMS                                                                          \
	"RFC 3339 (2026-12-06T10:00:00Z, 2026-12-06T10:00:00.5+01:00, 2026-12-06 10:00 in " \
	"local time), epoch seconds (1796551200.25) or a duration and \"ago\" (3m ago)"

/*
 * TIME as "after"/"before" read it: word, and next the word after it (or
 * NULL), in ns since the epoch, *used the words it took (2 for "3m ago"
 * and for a date and a time); 0, or -1 with *cause, which names word.
 */
int qtime_parse(
    const char *word, const char *next, uint64_t now_ns, uint64_t *ns, int *used, char **cause);

/* The same with the reason alone (not naming the word) in *why, for the parser's messages. */
int qtime_read(
    const char *word, const char *next, uint64_t now_ns, uint64_t *ns, int *used, const char **why);

#endif
