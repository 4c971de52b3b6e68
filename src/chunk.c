/*
 * chunk.c: the log of records that all flows' buffers point into (chunk.h).
 *
 * A chunk counts references: one per slot and per spill in it. The head's
 * are counted by the writer alone while it fills it (no atomic operation
 * per packet) and added when it moves on: the chunk starts at HEAD_BIAS,
 * which no number of releases can bring to zero, and leaving it takes away
 * the bias less what was counted. Whoever takes the count to zero frees it:
 * the writer leaving a chunk all of whose records are written, or the filer
 * releasing the last slot in it, which hands it back through the done job.
 *
 * Chunks come from posix_memalign, aligned to their size: glibc's malloc
 * would align them only to 16 bytes, and a slot would have to name its
 * chunk besides its address.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "chunk.h"
#include "log.h"
#include "xmalloc.h"

#define HEAD_BIAS (UINT64_C(1) << 62)

struct chunk {
	struct chunk *next;      /* on the free list, or on a list chunk_chain_release made */
	TAILQ_ENTRY(chunk) link; /* held: oldest first (the pool's thread) */
	_Atomic uint64_t refs;
	uint64_t seq; /* in the order chunks joined the log */
	size_t size;  /* bytes allocated, this header included */
	int own;      /* one record's alone: not pooled */
	_Alignas(64) uint8_t data[];
};

struct chunk_pool {
	struct chunk *head; /* where records go */
	uint8_t *at;        /* the next byte free in it */
	size_t room;
	uint64_t taken; /* references taken in the head, not yet added to its count */

	struct chunk *rsv; /* the last reservation: its chunk and place */
	uint8_t *rsvp;

	struct chunk *free; /* idle chunks */
	size_t idle;
	size_t idle_max;
	size_t held;
	uint64_t seq;
	TAILQ_HEAD(, chunk) live;
};

#define DATA_MAX (CHUNK_SIZE - offsetof(struct chunk, data))

static struct chunk *
chunk_of(const void *p)
{
	return (struct chunk *)((uintptr_t)p & ~(uintptr_t)(CHUNK_SIZE - 1));
}

struct chunk_pool *
chunk_pool_new(void)
{
	struct chunk_pool *p = xcalloc(1, sizeof *p);

	TAILQ_INIT(&p->live);
	p->idle_max = CHUNK_IDLE_MAX;
	return p;
}

void
chunk_pool_set_idle(struct chunk_pool *p, size_t max)
{
	p->idle_max = max < CHUNK_IDLE_MAX ? max : CHUNK_IDLE_MAX;
}

void
chunk_pool_free(struct chunk_pool *p)
{
	struct chunk *c;

	if (p == NULL)
		return;
	while ((c = TAILQ_FIRST(&p->live)) != NULL) {
		TAILQ_REMOVE(&p->live, c, link);
		free(c);
	}
	while ((c = p->free) != NULL) {
		p->free = c->next;
		free(c);
	}
	free(p);
}

static struct chunk *
chunk_new(struct chunk_pool *p, size_t data, int own)
{
	struct chunk *c;
	void *m;

	if (!own && p->free != NULL) {
		c = p->free;
		p->free = c->next;
		p->idle -= c->size;
	} else {
		if (posix_memalign(&m, CHUNK_SIZE, offsetof(struct chunk, data) + data) != 0)
			fatalx("out of memory");
		c = m;
		c->size = offsetof(struct chunk, data) + data;
		c->own = own;
	}
	c->next = NULL;
	atomic_init(&c->refs, own ? 0 : HEAD_BIAS);
	c->seq = ++p->seq;
	TAILQ_INSERT_TAIL(&p->live, c, link);
	p->held += c->size;
	return c;
}

/* A chunk nothing points into any more: to the pool, or to malloc. */
static void
chunk_drop(struct chunk_pool *p, struct chunk *c)
{
	TAILQ_REMOVE(&p->live, c, link);
	p->held -= c->size;
	if (c->own || p->idle + c->size > p->idle_max) {
		free(c);
		return;
	}
	c->next = p->free;
	p->free = c;
	p->idle += c->size;
}

/* The head is full: its count becomes what was taken in it. */
static void
head_leave(struct chunk_pool *p)
{
	struct chunk *c = p->head;
	uint64_t left = HEAD_BIAS - p->taken;

	if (c == NULL)
		return;
	p->head = NULL;
	if (atomic_fetch_sub_explicit(&c->refs, left, memory_order_acq_rel) == left)
		chunk_drop(p, c);
}

static void
take(struct chunk_pool *p, struct chunk *c)
{
	if (c == p->head)
		p->taken++;
	else
		atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

uint8_t *
chunk_reserve(struct chunk_pool *p, size_t n)
{
	if (n > DATA_MAX) {
		p->rsv = chunk_new(p, n, 1);
		p->rsvp = p->rsv->data;
		return p->rsvp;
	}
	if (p->head == NULL || p->room < n) {
		head_leave(p);
		p->head = chunk_new(p, DATA_MAX, 0);
		p->at = p->head->data;
		p->room = DATA_MAX;
		p->taken = 0;
	}
	p->rsv = p->head;
	p->rsvp = p->at;
	return p->at;
}

/* A full chain's slots go into the log, at the head like any record. */
static void
spill(struct chunk_pool *p, struct chunk_chain *ch)
{
	size_t pad = (size_t)(-(uintptr_t)p->at & (_Alignof(struct chunk_spill) - 1));
	struct chunk_spill *s;

	if (p->head != NULL && p->room >= pad + sizeof *s) {
		p->at += pad;
		p->room -= pad;
	} else
		p->room = 0; /* a new head: aligned */
	s = (struct chunk_spill *)(void *)chunk_reserve(p, sizeof *s);
	p->at += sizeof *s;
	p->room -= sizeof *s;
	take(p, p->head);
	s->prev = ch->spill;
	memcpy(s->p, ch->p, sizeof s->p);
	memcpy(s->len, ch->len, sizeof s->len);
	ch->spill = s;
	ch->nspill++;
	ch->n = 0;
}

size_t
chunk_commit(struct chunk_pool *p, struct chunk_chain *ch, size_t n)
{
	struct chunk *c = p->rsv;
	uint8_t *at = p->rsvp;

	if (n == 0) {
		if (c != p->head)
			chunk_drop(p, c); /* a record's own chunk, and no record */
		return 0;
	}
	if (c == p->head) {
		p->at += n;
		p->room -= n;
	}
	/* The record goes on where the chain's last one ended: one slot for both. */
	if (ch->n > 0 && c == p->head && ch->p[ch->n - 1] + ch->len[ch->n - 1] == at) {
		ch->len[ch->n - 1] += (uint32_t)n;
		return n;
	}
	take(p, c); /* before a spill can leave the head: it must not be freed under us */
	if (ch->n == CHUNK_SLOTS)
		spill(p, ch);
	ch->p[ch->n] = at;
	ch->len[ch->n] = (uint32_t)n;
	ch->n++;
	return n + CHUNK_SLOT_COST;
}

uint64_t
chunk_head_seq(const struct chunk_pool *p)
{
	return p->head != NULL ? p->head->seq : p->seq + 1;
}

uint64_t
chunk_oldest_seq(const struct chunk_pool *p)
{
	struct chunk *c;

	TAILQ_FOREACH(c, &p->live, link)
	{
		if (c != p->head)
			return c->seq;
	}
	return UINT64_MAX;
}

size_t
chunk_chain_slots(const struct chunk_chain *c)
{
	return (size_t)c->nspill * CHUNK_SLOTS + c->n;
}

/* Filled from the end: the spills are met newest first. */
void
chunk_walk_begin(struct chunk_walk *w, const struct chunk_chain *c, struct iovec *iov)
{
	int k;

	w->s = c->spill;
	w->iov = iov;
	w->i = chunk_chain_slots(c);
	for (k = (int)c->n - 1; k >= 0; k--) {
		iov[--w->i].iov_base = c->p[k];
		iov[w->i].iov_len = c->len[k];
	}
}

int
chunk_walk_step(struct chunk_walk *w)
{
	const struct chunk_spill *s = w->s;
	int k;

	if (s == NULL)
		return 0;
	for (k = CHUNK_SLOTS - 1; k >= 0; k--) {
		w->iov[--w->i].iov_base = s->p[k];
		w->iov[w->i].iov_len = s->len[k];
	}
	w->s = s->prev;
	return w->s != NULL;
}

static struct chunk *
unref(const void *at, struct chunk *freed)
{
	struct chunk *c = chunk_of(at);

	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return freed;
	c->next = freed;
	return c;
}

struct chunk *
chunk_chain_release(const struct chunk_chain *c, struct chunk *freed)
{
	const struct chunk_spill *s, *prev;
	uint32_t k;

	for (k = 0; k < c->n; k++)
		freed = unref(c->p[k], freed);
	for (s = c->spill; s != NULL; s = prev) {
		prev = s->prev;
		for (k = 0; k < CHUNK_SLOTS; k++)
			freed = unref(s->p[k], freed);
		freed = unref(s, freed);
	}
	return freed;
}

void
chunk_recycle(struct chunk_pool *p, struct chunk *list)
{
	struct chunk *next;

	for (; list != NULL; list = next) {
		next = list->next;
		chunk_drop(p, list);
	}
}

size_t
chunk_pool_held(const struct chunk_pool *p)
{
	return p->held;
}

size_t
chunk_pool_idle(const struct chunk_pool *p)
{
	return p->idle;
}
