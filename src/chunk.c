/*
 * chunk.c: chunks of write buffer by power-of-two size class, recycled
 * (chunk.h). A free list per class: glibc's malloc would recycle them too,
 * but gives the top of its heap back to the kernel when enough is free and
 * takes it again a moment later (page faults and pages cleared for every
 * refill), and realloc doubling copied each buffer about once more.
 */
#include <stdlib.h>

#include "chunk.h"
#include "xmalloc.h"

#define NCLASS 9 /* 256 B, 512 B, ... 64 KiB */

struct chunk_pool {
	struct chunk *free[NCLASS];
	size_t idle;
};

struct chunk_pool *
chunk_pool_new(void)
{
	return xcalloc(1, sizeof(struct chunk_pool));
}

void
chunk_pool_free(struct chunk_pool *p)
{
	struct chunk *c;
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < NCLASS; i++)
		while ((c = p->free[i]) != NULL) {
			p->free[i] = c->next;
			free(c);
		}
	free(p);
}

static size_t
class_size(int cls)
{
	return (size_t)CHUNK_MIN << cls;
}

struct chunk *
chunk_get(struct chunk_pool *p, size_t want)
{
	struct chunk *c;
	int cls = 0;

	if (want > CHUNK_MAX) {
		c = xmalloc(sizeof *c + want);
		c->cap = want;
		c->class = -1;
	} else {
		while (class_size(cls) < want)
			cls++;
		if ((c = p->free[cls]) != NULL) {
			p->free[cls] = c->next;
			p->idle -= c->cap;
		} else {
			c = xmalloc(sizeof *c + class_size(cls));
			c->cap = class_size(cls);
			c->class = (int8_t)cls;
		}
	}
	c->next = NULL;
	c->len = 0;
	return c;
}

void
chunk_put_chain(struct chunk_pool *p, struct chunk *c)
{
	struct chunk *next;

	for (; c != NULL; c = next) {
		next = c->next;
		if (c->class < 0 || p->idle + c->cap > CHUNK_IDLE_MAX) {
			free(c);
			continue;
		}
		c->next = p->free[c->class];
		p->free[c->class] = c;
		p->idle += c->cap;
	}
}

size_t
chunk_pool_idle(const struct chunk_pool *p)
{
	return p->idle;
}
