/*
 * framenum.c: a flow segment's frame numbers (framenum.h), kept as LEB128
 * deltas from the previous one: 1-2 bytes a packet, where 8 would make the
 * history of a long flow the biggest thing in memory.
 */
#include <stdlib.h>

#include "framenum.h"
#include "xmalloc.h"

void
frames_push(struct frames *fr, uint64_t frame)
{
	uint64_t d = frame - fr->last;

	if (fr->cap - fr->len < 10) {
		fr->cap = fr->cap ? fr->cap * 2 : 16;
		fr->buf = xreallocarray(fr->buf, fr->cap, 1);
	}
	fr->last = frame;
	while (d >= 0x80) {
		fr->buf[fr->len++] = (uint8_t)(d | 0x80);
		d >>= 7;
	}
	fr->buf[fr->len++] = (uint8_t)d;
}

void
frames_begin(const struct frames *fr, struct flow_fn_iter *it)
{
	it->p = fr->buf;
	it->end = fr->buf + fr->len;
	it->last = 0;
}

int
flow_fn_next(struct flow_fn_iter *it, uint64_t *frame)
{
	uint64_t d = 0;
	unsigned shift = 0;

	if (it->p >= it->end)
		return 0;
	while (it->p < it->end) {
		uint8_t c = *it->p++;

		d |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
		if (!(c & 0x80))
			break;
	}
	it->last += d;
	*frame = it->last;
	return 1;
}
