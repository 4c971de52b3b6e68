/*
 * chunk.h: the write buffers' memory. A flow's records collect in a chain
 * of chunks that double in size (256 bytes to 64 KiB) instead of one
 * buffer grown by realloc: nothing already buffered is ever copied again,
 * and the filer writes a chain with one writev. Chunks written out go back
 * to a pool, by size class, for the next flows: the packet path neither
 * allocates nor touches fresh pages once the pool is warm. The pool keeps
 * at most CHUNK_IDLE_MAX bytes idle; the rest goes back to malloc.
 *
 * One thread uses a pool (the writer's: the filer hands done chains back
 * to it, filer.c).
 */
#ifndef TRACEFLOW_CHUNK_H
#define TRACEFLOW_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#define CHUNK_MIN      256         /* small: a million idle flows must fit the budget */
#define CHUNK_MAX      (64 * 1024) /* the largest pooled chunk; bigger records get their own */
#define CHUNK_IDLE_MAX (8u << 20)  /* bytes the pool may keep idle */

struct chunk {
	struct chunk *next;
	size_t len;   /* bytes used */
	size_t cap;   /* bytes of data */
	int8_t class; /* its size class; -1: a record bigger than CHUNK_MAX, not pooled */
	uint8_t data[];
};

/*
 * What a chunk costs beyond its data: its header and malloc's. The write
 * budget counts it, so that it bounds memory, not just bytes of records.
 */
#define CHUNK_OVERHEAD (sizeof(struct chunk) + 16)

struct chunk_pool;

struct chunk_pool *chunk_pool_new(void);
void chunk_pool_free(struct chunk_pool *p);

/* An empty chunk of at least want bytes (CHUNK_MIN..CHUNK_MAX, or exactly want if larger). */
struct chunk *chunk_get(struct chunk_pool *p, size_t want);
/* The chain from c on goes back to the pool (or to malloc). */
void chunk_put_chain(struct chunk_pool *p, struct chunk *c);
/* Bytes idle in the pool now. */
size_t chunk_pool_idle(const struct chunk_pool *p);

#endif
