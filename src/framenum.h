/*
 * framenum.h: the frame numbers of a flow's current segment (the index's
 * "index" list), appended as its packets come and read back in order.
 */
#ifndef TRACEFLOW_FRAMENUM_H
#define TRACEFLOW_FRAMENUM_H

#include <stdint.h>

/* Frame numbers as LEB128 deltas: 1-2 bytes a packet. Zeroed: none. */
struct frames {
	uint8_t *buf;
	uint32_t len;
	uint32_t cap;
	uint64_t last;
};

/* Append frame (not below the last one appended). */
void frames_push(struct frames *fr, uint64_t frame);

/* Iterate over them in order (flow.h's flow_fn_begin for a flow's). */
struct flow_fn_iter {
	const uint8_t *p;
	const uint8_t *end;
	uint64_t last;
};
void frames_begin(const struct frames *fr, struct flow_fn_iter *it);
int flow_fn_next(struct flow_fn_iter *it, uint64_t *frame);

#endif
