/*
 * duration.h: durations as people write them, "10", "1.5", "500ms",
 * "0.5s", "5m", "1h30m", "2d", read and written in one place for the
 * config file, traceflowd's command line and traceflowctl --timeout.
 * Pure: no I/O, no globals, no engine, so the client links it alone.
 */
#ifndef TRACEFLOW_DURATION_H
#define TRACEFLOW_DURATION_H

#include <stddef.h>
#include <stdint.h>

#define DURATION_NS_PER_SEC 1000000000ULL

/* What duration_parse() accepts, for error messages. */
#define DURATION_FORMS "seconds, or numbers with units d, h, m, s, ms, us, ns: 10, 1.5s, 1h30m"

/*
 * s in nanoseconds. A number alone is seconds ("10", "1.5"); otherwise one
 * or more number-and-unit terms, units from the largest down, each at most
 * once ("1h30m", "1m0.5s"); a number may have decimals ("0.5s", "1.25h").
 * Blanks may surround the whole and sit between a number and its unit.
 * Digits beyond a nanosecond are dropped. -1 if s is none of these, is
 * negative, or does not fit 64 bits of nanoseconds.
 */
int duration_parse(const char *s, uint64_t *ns);

/*
 * ns exactly, with the largest unit that divides it: "5m", "500ms", "90s";
 * "0" for zero. What the config file prints and reads back.
 */
void duration_format(char *buf, size_t len, uint64_t ns);

/* The wall clock (CLOCK_REALTIME) in ns since the epoch: what the spool's times count in. */
uint64_t duration_wall_ns(void);

#endif
