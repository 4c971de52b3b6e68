/*
 * label.h: flow labels, pcapkit's `{src}_{srcport}-{dst}_{dstport}-{timestamp}`.
 * src is the side that opened the connection (with flow_key = directional,
 * the direction's sender); the timestamp is the first packet's epoch seconds
 * with 6 decimals (9 with nanosecond output), or with label_time = shortest
 * as Python writes the float (pcapkit's labels); IPv6 colons become dots so
 * that a label is a portable file name. A label whose file name was taken
 * carries a suffix "-N".
 */
#ifndef TRACEFLOW_LABEL_H
#define TRACEFLOW_LABEL_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"

#define LABEL_MAX 128 /* two IPv6 addresses, two ports, a timestamp, a suffix */

/*
 * Write the flow's label into buf (LABEL_MAX bytes); returns its length. The
 * time is written as the flow's label_time says (fixed when it started).
 */
size_t label_make(char *buf, const struct flow *f, int nanosecond);

/* Text form of an address of family af (4 or 6) as it stands in labels (dots for colons). */
void label_addr(char *buf, size_t len, uint8_t af, const uint8_t *addr, int dots);

/* Epoch seconds with 6 or 9 decimals. */
void label_time(char *buf, size_t len, uint64_t ts_ns, int nanosecond);
/* The decimal digits of v at p, at least width (zero-padded), not terminated; the end. */
char *label_u64(char *p, uint64_t v, unsigned width);

/*
 * Epoch seconds as Python's repr() writes the float nearest to them (what
 * pcapkit's labels hold): the shortest decimal that reads back to the same
 * double, "1329327786.0" for a whole second, exponent form only below 1e-4.
 * At least 32 bytes.
 */
void label_time_shortest(char *buf, size_t len, uint64_t ts_ns);

#endif
