/*
 * history.c: a ring of the last finished flows (history.h).
 */
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "xmalloc.h"

struct history {
	struct history_entry *slot; /* entry n lives in slot n % max */
	size_t max;
	size_t budget;    /* bytes of frame text kept */
	uint64_t added;   /* entries ever added: the next entry's number */
	uint64_t fcursor; /* oldest entry that may still hold frames */
	size_t fbytes;    /* frame text held */
};

struct history *
history_new(size_t max, size_t frames_budget)
{
	struct history *h = xcalloc(1, sizeof *h);

	h->max = max > 0 ? max : 1;
	h->budget = frames_budget;
	h->slot = xcalloc(h->max, sizeof *h->slot);
	return h;
}

static void
entry_clear(struct history *h, struct history_entry *e)
{
	if (e->frames != NULL)
		h->fbytes -= strlen(e->frames);
	free(e->summary);
	free(e->frames);
	free(e->label);
	free(e->src);
	free(e->dst);
	memset(e, 0, sizeof *e);
}

void
history_free(struct history *h)
{
	uint64_t n;

	if (h == NULL)
		return;
	for (n = history_first(h); n < h->added; n++)
		entry_clear(h, &h->slot[n % h->max]);
	free(h->slot);
	free(h);
}

/* Keep the newest frame lists within the budget. */
static void
trim_frames(struct history *h)
{
	struct history_entry *e;

	while (h->fbytes > h->budget && h->fcursor < h->added) {
		e = &h->slot[h->fcursor % h->max];
		if (e->frames != NULL) {
			h->fbytes -= strlen(e->frames);
			free(e->frames);
			e->frames = NULL;
		}
		h->fcursor++;
	}
}

static char *
dup_or_empty(const char *s)
{
	return xstrdup(s != NULL ? s : "");
}

void
history_add(struct history *h, const struct history_entry *in)
{
	struct history_entry *e = &h->slot[h->added % h->max];

	if (h->added >= h->max)
		entry_clear(h, e);
	if (h->fcursor + h->max <= h->added)
		h->fcursor = h->added + 1 - h->max;
	e->summary = dup_or_empty(in->summary);
	e->label = dup_or_empty(in->label);
	e->src = dup_or_empty(in->src);
	e->dst = dup_or_empty(in->dst);
	e->sport = in->sport;
	e->dport = in->dport;
	if (in->frames != NULL) {
		e->frames = xstrdup(in->frames);
		h->fbytes += strlen(e->frames);
	}
	h->added++;
	trim_frames(h);
}

uint64_t
history_first(const struct history *h)
{
	return h->added > h->max ? h->added - h->max : 0;
}

uint64_t
history_end(const struct history *h)
{
	return h->added;
}

const struct history_entry *
history_get(const struct history *h, uint64_t n)
{
	if (n >= h->added || n < history_first(h))
		return NULL;
	return &h->slot[n % h->max];
}
