/*
 * frag.c: the IP fragment table.
 *
 * Only the first fragment of a datagram carries the TCP header, so the ports
 * of later fragments must be remembered from it. Entries live in a fixed
 * pool allocated once: a hash table (chained, full-key compare) finds them,
 * and a doubly linked list ordered by last touch makes expiry and eviction
 * O(1) per entry removed. Nothing is allocated per packet, and memory is
 * bounded by max_entries whatever the traffic does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frag.h"
#include "xmalloc.h"

/* Everything that names a datagram; zero-padded so memcmp() compares it. */
struct frag_key {
	uint8_t src[16];
	uint8_t dst[16];
	uint32_t id;
	uint16_t vlan[DECODE_MAX_VLAN];
	uint8_t af;
	uint8_t nvlan;
	uint8_t pad[2];
};

struct frag_entry {
	struct frag_key key;
	uint32_t hash;
	uint16_t srcport;
	uint16_t dstport;
	uint64_t last;            /* time of the last fragment seen */
	struct frag_entry *hnext; /* hash chain; also the free list */
	struct frag_entry *older; /* touch order, oldest at ft->oldest */
	struct frag_entry *newer;
};

struct frag_table {
	struct frag_entry *pool;
	struct frag_entry *free;
	struct frag_entry **buckets;
	uint32_t mask;
	unsigned count;
	unsigned max;
	uint64_t timeout;
	struct frag_entry *oldest;
	struct frag_entry *newest;
};

static void
frag_key_make(struct frag_key *k, const struct packet *pkt)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->src, pkt->src, sizeof(k->src));
	memcpy(k->dst, pkt->dst, sizeof(k->dst));
	k->id = pkt->frag_id;
	k->af = pkt->af;
	k->nvlan = pkt->nvlan > DECODE_MAX_VLAN ? DECODE_MAX_VLAN : pkt->nvlan;
	memcpy(k->vlan, pkt->vlan, k->nvlan * sizeof(k->vlan[0]));
}

/* FNV-1a over the key: fragments are rare, so simplicity beats speed here. */
static uint32_t
frag_hash(const struct frag_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < sizeof(*k); i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static int
frag_expired(const struct frag_table *ft, const struct frag_entry *e, uint64_t now)
{
	/* Timestamps may step back a little across inputs; that is not idleness. */
	return now > e->last && now - e->last >= ft->timeout;
}

static void
frag_unlink_age(struct frag_table *ft, struct frag_entry *e)
{
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		ft->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		ft->newest = e->older;
	e->older = e->newer = NULL;
}

static void
frag_link_newest(struct frag_table *ft, struct frag_entry *e)
{
	e->older = ft->newest;
	e->newer = NULL;
	if (ft->newest != NULL)
		ft->newest->newer = e;
	else
		ft->oldest = e;
	ft->newest = e;
}

static void
frag_remove(struct frag_table *ft, struct frag_entry *e)
{
	struct frag_entry **pp;

	for (pp = &ft->buckets[e->hash & ft->mask]; *pp != e; pp = &(*pp)->hnext)
		;
	*pp = e->hnext;
	frag_unlink_age(ft, e);
	e->hnext = ft->free;
	ft->free = e;
	ft->count--;
}

static struct frag_entry *
frag_lookup(struct frag_table *ft, const struct frag_key *k, uint32_t hash)
{
	struct frag_entry *e;

	for (e = ft->buckets[hash & ft->mask]; e != NULL; e = e->hnext) {
		if (e->hash == hash && memcmp(&e->key, k, sizeof(*k)) == 0)
			return e;
	}
	return NULL;
}

static void
frag_touch(struct frag_table *ft, struct frag_entry *e, uint64_t now)
{
	e->last = now;
	frag_unlink_age(ft, e);
	frag_link_newest(ft, e);
}

struct frag_table *
frag_new(unsigned max_entries, uint64_t timeout_ns)
{
	struct frag_table *ft;
	uint32_t nbuckets;
	unsigned i;

	if (max_entries == 0)
		max_entries = 1;
	if (max_entries > (1u << 30))
		max_entries = 1u << 30;
	ft = xcalloc(1, sizeof(*ft));
	ft->max = max_entries;
	ft->timeout = timeout_ns;

	/* Load factor at most 1/2 keeps chains short without a resize path. */
	for (nbuckets = 16; nbuckets < 2 * (uint64_t)max_entries; nbuckets *= 2)
		;
	ft->buckets = xcalloc(nbuckets, sizeof(*ft->buckets));
	ft->mask = nbuckets - 1;

	ft->pool = xcalloc(max_entries, sizeof(*ft->pool));
	for (i = 0; i < max_entries; i++) {
		ft->pool[i].hnext = ft->free;
		ft->free = &ft->pool[i];
	}
	return ft;
}

void
frag_free(struct frag_table *ft)
{
	if (ft == NULL)
		return;
	free(ft->pool);
	free(ft->buckets);
	free(ft);
}

void
frag_first(struct frag_table *ft, const struct packet *pkt, uint64_t now)
{
	struct frag_key k;
	struct frag_entry *e;
	uint32_t hash;

	frag_key_make(&k, pkt);
	hash = frag_hash(&k);
	if ((e = frag_lookup(ft, &k, hash)) == NULL) {
		if (ft->free == NULL)
			frag_remove(ft, ft->oldest);
		e = ft->free;
		ft->free = e->hnext;
		e->key = k;
		e->hash = hash;
		e->hnext = ft->buckets[hash & ft->mask];
		ft->buckets[hash & ft->mask] = e;
		e->last = now;
		frag_link_newest(ft, e);
		ft->count++;
	} else
		frag_touch(ft, e, now);
	/* A repeated first fragment (a retransmission) simply refreshes the ports. */
	e->srcport = pkt->srcport;
	e->dstport = pkt->dstport;
}

int
frag_later(struct frag_table *ft, struct packet *pkt, uint64_t now)
{
	struct frag_key k;
	struct frag_entry *e;
	uint32_t hash;

	frag_key_make(&k, pkt);
	hash = frag_hash(&k);
	if ((e = frag_lookup(ft, &k, hash)) == NULL)
		return -1;
	if (frag_expired(ft, e, now)) {
		frag_remove(ft, e);
		return -1;
	}
	pkt->srcport = e->srcport;
	pkt->dstport = e->dstport;
	if (!pkt->frag_more)
		frag_remove(ft, e);
	else
		frag_touch(ft, e, now);
	return 0;
}

void
frag_expire(struct frag_table *ft, uint64_t now)
{
	/* The list is in touch order: stop at the first entry still alive. */
	while (ft->oldest != NULL && frag_expired(ft, ft->oldest, now))
		frag_remove(ft, ft->oldest);
}

unsigned
frag_count(const struct frag_table *ft)
{
	return ft->count;
}
