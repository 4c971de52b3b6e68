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
#include <sys/queue.h>

#include "frag.h"
#include "siphash.h"
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
	uint64_t last;                 /* time of the last fragment seen */
	SLIST_ENTRY(frag_entry) hlink; /* hash chain; also the free list */
	TAILQ_ENTRY(frag_entry) alink; /* touch order, oldest first */
};
SLIST_HEAD(frag_chain, frag_entry);

struct frag_table {
	struct frag_entry *pool;
	struct frag_chain free;
	struct frag_chain *buckets;
	uint32_t mask;
	unsigned count;
	unsigned max;
	uint64_t timeout;
	TAILQ_HEAD(, frag_entry) age;
	struct sipkey hkey; /* secret: fragments' addresses and ids are the sender's to pick */
	int rekey_due;
	uint64_t rekeys;
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

/* Keyed as the flow table is (siphash.h): an unkeyed hash let a sender fill one chain. */
static uint32_t
frag_hash(const struct frag_table *ft, const struct frag_key *k)
{
	return (uint32_t)siphash13(&ft->hkey, k, sizeof(*k));
}

static int
frag_expired(const struct frag_table *ft, const struct frag_entry *e, uint64_t now)
{
	/* Timestamps may step back a little across inputs; that is not idleness. */
	return now > e->last && now - e->last >= ft->timeout;
}

static void
frag_remove(struct frag_table *ft, struct frag_entry *e)
{
	SLIST_REMOVE(&ft->buckets[e->hash & ft->mask], e, frag_entry, hlink);
	TAILQ_REMOVE(&ft->age, e, alink);
	SLIST_INSERT_HEAD(&ft->free, e, hlink);
	ft->count--;
}

static struct frag_entry *
frag_lookup(struct frag_table *ft, const struct frag_key *k, uint32_t hash)
{
	struct frag_entry *e;

	unsigned walked = 0;

	SLIST_FOREACH(e, &ft->buckets[hash & ft->mask], hlink)
	{
		if (++walked > FRAG_CHAIN_MAX)
			ft->rekey_due = 1;
		if (e->hash == hash && memcmp(&e->key, k, sizeof(*k)) == 0)
			return e;
	}
	return NULL;
}

/* As the flow table does (flow.c, table_rekey): a chain this long means the key is known. */
static void
frag_rekey(struct frag_table *ft)
{
	struct frag_entry *e;
	uint32_t i;

	sipkey_random(&ft->hkey);
	for (i = 0; i <= ft->mask; i++)
		SLIST_INIT(&ft->buckets[i]);
	TAILQ_FOREACH(e, &ft->age, alink)
	{
		e->hash = frag_hash(ft, &e->key);
		SLIST_INSERT_HEAD(&ft->buckets[e->hash & ft->mask], e, hlink);
	}
	ft->rekey_due = 0;
	ft->rekeys++;
}

/* Find the datagram's entry; a long walk on the way rekeys the table first. */
static struct frag_entry *
frag_find(struct frag_table *ft, const struct frag_key *k, uint32_t *hash)
{
	struct frag_entry *e;

	*hash = frag_hash(ft, k);
	e = frag_lookup(ft, k, *hash);
	if (ft->rekey_due) {
		frag_rekey(ft);
		*hash = frag_hash(ft, k);
	}
	return e;
}

static void
frag_touch(struct frag_table *ft, struct frag_entry *e, uint64_t now)
{
	e->last = now;
	TAILQ_REMOVE(&ft->age, e, alink);
	TAILQ_INSERT_TAIL(&ft->age, e, alink);
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

	for (i = 0; i < nbuckets; i++)
		SLIST_INIT(&ft->buckets[i]);
	sipkey_random(&ft->hkey);
	TAILQ_INIT(&ft->age);
	SLIST_INIT(&ft->free);
	ft->pool = xcalloc(max_entries, sizeof(*ft->pool));
	for (i = 0; i < max_entries; i++)
		SLIST_INSERT_HEAD(&ft->free, &ft->pool[i], hlink);
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
	if ((e = frag_find(ft, &k, &hash)) == NULL) {
		if (SLIST_EMPTY(&ft->free))
			frag_remove(ft, TAILQ_FIRST(&ft->age));
		e = SLIST_FIRST(&ft->free);
		SLIST_REMOVE_HEAD(&ft->free, hlink);
		e->key = k;
		e->hash = hash;
		SLIST_INSERT_HEAD(&ft->buckets[hash & ft->mask], e, hlink);
		e->last = now;
		TAILQ_INSERT_TAIL(&ft->age, e, alink);
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
	if ((e = frag_find(ft, &k, &hash)) == NULL)
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
	while (!TAILQ_EMPTY(&ft->age) && frag_expired(ft, TAILQ_FIRST(&ft->age), now))
		frag_remove(ft, TAILQ_FIRST(&ft->age));
}

unsigned
frag_count(const struct frag_table *ft)
{
	return ft->count;
}

uint64_t
frag_rekeys(const struct frag_table *ft)
{
	return ft->rekeys;
}
