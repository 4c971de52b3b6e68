/*
 * chunk.h: the write buffers' memory, one log for all flows. Every record
 * is appended at the log's head, in arrival order, whatever its flow; a
 * flow's buffer is the list of where its records lie (a chain of slots).
 * The log's head is the one place the packet path writes to, and it moves
 * forward: the caches and the hardware's prefetcher keep it warm, where a
 * buffer per flow had every packet store into a line of its own flow's
 * tail that had long left the cache (c10k: 2,000 tails, one cache miss
 * and a stalled store per packet; the whole copy cost less than that one
 * line). The filer writes a chain with writev from where its records lie.
 *
 * The log is a list of chunks (CHUNK_SIZE bytes, aligned to their size, so
 * that a record's address names its chunk); a record bigger than a chunk
 * gets one of its own. A chunk counts the slots that point into it and goes
 * back to the pool when the last of them is written; at most CHUNK_IDLE_MAX
 * bytes wait there (less with a small budget: chunk_pool_set_idle), the
 * rest goes back to malloc. Chunks are freed in bursts, as the flows that
 * share them end: with 8 MiB kept, c10k gave chunks back and took them anew
 * from the kernel (pages cleared, TLB shootdowns) for 8 % more CPU.
 *
 * A chain keeps its last CHUNK_SLOTS slots itself; a full set goes into the
 * log as a spill (at the head too, so still no stray store), and the chain
 * keeps the newest spill, which points to the one before.
 *
 * The writer's thread owns the pool; the filer's thread reads chains and
 * drops their references (chunk_chain_iov, chunk_chain_release), and hands
 * the chunks that this empties back for the writer to reuse.
 */
#ifndef TRACEFLOW_CHUNK_H
#define TRACEFLOW_CHUNK_H

#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

#define CHUNK_SIZE     (256 * 1024) /* a chunk of the log, and its alignment */
#define CHUNK_IDLE_MAX (64u << 20)  /* bytes the pool may keep idle, at most */
#define CHUNK_SLOTS    4            /* slots a chain keeps itself: one cache line */

struct chunk;
struct chunk_pool;

/* CHUNK_SLOTS slots of a chain, in the log. */
struct chunk_spill {
	struct chunk_spill *prev;
	uint8_t *p[CHUNK_SLOTS];
	uint32_t len[CHUNK_SLOTS];
};

/* A flow's buffered records: slots in order, the newest here, the older in spills. */
struct chunk_chain {
	struct chunk_spill *spill; /* the newest spill; NULL: none */
	uint32_t nspill;
	uint32_t n; /* slots used below */
	uint8_t *p[CHUNK_SLOTS];
	uint32_t len[CHUNK_SLOTS];
};

/* What a slot costs in memory beyond its bytes: its share of a spill. */
#define CHUNK_SLOT_COST (sizeof(struct chunk_spill) / CHUNK_SLOTS)

struct chunk_pool *chunk_pool_new(void);
void chunk_pool_free(struct chunk_pool *p);
/* Keep at most this many bytes idle (and never more than CHUNK_IDLE_MAX). */
void chunk_pool_set_idle(struct chunk_pool *p, size_t max);

/* Room for n bytes in one piece at the log's head. */
uint8_t *chunk_reserve(struct chunk_pool *p, size_t n);
/*
 * The n bytes written at the last reservation are chain c's next record
 * (or its next piece). Returns the memory the chain holds for it: n, and a
 * slot unless they continue its last slot.
 */
size_t chunk_commit(struct chunk_pool *p, struct chunk_chain *c, size_t n);
/* The sequence number of the chunk a reservation made now would start in. */
uint64_t chunk_head_seq(const struct chunk_pool *p);
/* Of the oldest chunk still held but the head's; UINT64_MAX if none. */
uint64_t chunk_oldest_seq(const struct chunk_pool *p);

/* Slots in a chain: the iovecs chunk_chain_iov fills. */
size_t chunk_chain_slots(const struct chunk_chain *c);
/*
 * The chain's records, in order, into iov (chunk_chain_slots entries), a
 * spill at a time: the spills are met one cache miss after the other, and
 * walks of several chains in step keep their misses in flight together.
 * chunk_walk_begin fills what the chain itself holds; each step one spill,
 * until it returns 0.
 */
struct chunk_walk {
	const struct chunk_spill *s;
	struct iovec *iov;
	size_t i; /* iovecs still to fill: those below i */
};
void chunk_walk_begin(struct chunk_walk *w, const struct chunk_chain *c, struct iovec *iov);
int chunk_walk_step(struct chunk_walk *w);
/*
 * The chain's references are dropped (any thread): the chunks this leaves
 * unreferenced are put in front of freed, for chunk_recycle.
 */
struct chunk *chunk_chain_release(const struct chunk_chain *c, struct chunk *freed);
/* Chunks from chunk_chain_release go back to the pool (the pool's thread). */
void chunk_recycle(struct chunk_pool *p, struct chunk *list);

/* Bytes of chunks held by the log now, the head's included. */
size_t chunk_pool_held(const struct chunk_pool *p);
/* Bytes idle in the pool now. */
size_t chunk_pool_idle(const struct chunk_pool *p);

#endif
