/*
 * flow.c: the flow table and the TCP connection state machine.
 *
 * Lookup is a chained hash over the full canonical key (the hash only picks
 * the bucket; identity is a full compare, unlike peers that key by a 32-bit
 * hash). Timeouts need no timer wheel: every flow is on exactly one of two
 * lists, open or linger, and moves to the tail on each packet, so each list
 * is ordered by last activity and expiry only ever looks at list heads. The
 * open list doubles as the LRU for eviction. All of it is O(1) per packet.
 */
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "siphash.h"
#include "xmalloc.h"

TAILQ_HEAD(flow_list, flow);
TAILQ_HEAD(flow_all, flow);
SLIST_HEAD(flow_chain, flow);

struct flow_table {
	struct flow_config cfg;
	flow_end_cb cb;
	void *cbarg;

	struct flow_chain *buckets;
	uint32_t nbuckets; /* a power of two */
	uint32_t count;
	struct sipkey hkey; /* the hash's secret key (cfg.seed only picks it in tests) */
	int rekey_due;      /* a lookup walked a chain longer than FLOW_CHAIN_MAX */
	uint64_t rekeys;
	uint32_t keygen; /* bumped with hkey: a flow_hint's hash made before is stale */
	uint64_t next_id;
	uint64_t clock; /* the latest time seen: packet times can step back */

	struct flow_list open;
	struct flow_list half; /* open but not proven (half_ns): idle order */
	struct flow_list linger;
	uint32_t nhalf;
	uint64_t half_evicted;
	int overloaded;
	struct flow_all all;              /* every flow, in creation order */
	LIST_HEAD(, flow_cursor) cursors; /* listings under way (flowtab_cursor) */
};

struct flow_cursor {
	struct flow_table *t; /* NULL once the table is gone */
	struct flow *next, *last;
	LIST_ENTRY(flow_cursor) link;
};

static void
list_append(struct flow_list *l, struct flow *f)
{
	TAILQ_INSERT_TAIL(l, f, link);
}

static void
list_remove(struct flow_list *l, struct flow *f)
{
	TAILQ_REMOVE(l, f, link);
}

static struct flow_list *
flow_list_of(struct flow_table *t, const struct flow *f)
{
	if (f->state == FLOW_LINGER)
		return &t->linger;
	return f->flags & FLOWF_PROVEN ? &t->open : &t->half;
}

/*
 * SipHash with a secret key over the whole key (siphash.h): an attacker who
 * picks addresses and ports cannot aim at one chain. The multiply-xorshift
 * hash this replaces had collisions that held whatever its seed (flip bit
 * 63 of one word and bits 63 and 32 of the next: the same hash).
 */
static uint64_t
key_hash(const struct flow_table *t, const struct flow_key *k)
{
	return siphash13(&t->hkey, k, sizeof *k);
}

struct flow_table *
flowtab_new(const struct flow_config *cfg, flow_end_cb cb, void *arg)
{
	struct flow_table *t;

	t = xcalloc(1, sizeof *t);
	t->cfg = *cfg;
	t->cb = cb;
	t->cbarg = arg;
	t->nbuckets = 1024;
	t->buckets = xcalloc(t->nbuckets, sizeof *t->buckets); /* zeroed: empty chains */
	if (cfg->seed != 0)
		sipkey_from_seed(&t->hkey, cfg->seed);
	else
		sipkey_random(&t->hkey);
	TAILQ_INIT(&t->open);
	TAILQ_INIT(&t->half);
	TAILQ_INIT(&t->linger);
	TAILQ_INIT(&t->all);
	LIST_INIT(&t->cursors);
	return t;
}

void
flowtab_setconfig(struct flow_table *t, const struct flow_config *cfg)
{
	uint64_t seed = t->cfg.seed;
	int key_mode = t->cfg.key_mode, key_bare = t->cfg.key_bare;

	t->cfg = *cfg;
	/* The flows were keyed the old way (the hash key is the table's own). */
	t->cfg.seed = seed;
	t->cfg.key_mode = key_mode;
	t->cfg.key_bare = key_bare;
}

static void
flow_destroy(struct flow *f)
{
	free(f->fn.buf);
	free(f);
}

/* Off the creation-order list: a cursor about to reach f steps past it. */
static void
all_remove(struct flow_table *t, struct flow *f)
{
	struct flow_cursor *c;

	int was_last;

	LIST_FOREACH(c, &t->cursors, link)
	{
		was_last = c->last == f;
		if (was_last)
			c->last = TAILQ_PREV(f, flow_all, all);
		if (c->next == f)
			c->next = was_last ? NULL : TAILQ_NEXT(f, all);
	}
	TAILQ_REMOVE(&t->all, f, all);
}

void
flowtab_free(struct flow_table *t)
{
	struct flow_cursor *c;
	struct flow *f;

	if (t == NULL)
		return;
	while ((c = LIST_FIRST(&t->cursors)) != NULL) {
		LIST_REMOVE(c, link);
		c->t = NULL;
		c->next = c->last = NULL;
	}
	while ((f = TAILQ_FIRST(&t->open)) != NULL) {
		list_remove(&t->open, f);
		flow_destroy(f);
	}
	while ((f = TAILQ_FIRST(&t->linger)) != NULL) {
		list_remove(&t->linger, f);
		flow_destroy(f);
	}
	while ((f = TAILQ_FIRST(&t->half)) != NULL) {
		list_remove(&t->half, f);
		flow_destroy(f);
	}
	free(t->buckets);
	free(t);
}

static uint32_t
bucket_of(const struct flow_table *t, const struct flow_key *k)
{
	return (uint32_t)key_hash(t, k) & (t->nbuckets - 1);
}

/* Lay every flow out again in n buckets, by the hash key the table has now. */
static void
table_rehash(struct flow_table *t, uint32_t n)
{
	struct flow_chain *old = t->buckets;
	uint32_t i, oldn = t->nbuckets, b;
	struct flow *f;

	t->nbuckets = n;
	t->buckets = xcalloc(t->nbuckets, sizeof *t->buckets); /* zeroed: empty chains */
	for (i = 0; i < oldn; i++) {
		while ((f = SLIST_FIRST(&old[i])) != NULL) {
			SLIST_REMOVE_HEAD(&old[i], hlink);
			b = bucket_of(t, &f->key);
			SLIST_INSERT_HEAD(&t->buckets[b], f, hlink);
		}
	}
	free(old);
}

static void
table_grow(struct flow_table *t)
{
	table_rehash(t, t->nbuckets * 2);
}

/*
 * A chain longer than FLOW_CHAIN_MAX does not happen by chance (at a load
 * of at most one flow a bucket, a chain of 32 has odds below 1e-30): the
 * key leaked or was found. A new secret key, and every flow laid out anew,
 * O(flows) once, puts the colliding flows back among the others.
 */
static void
table_rekey(struct flow_table *t)
{
	sipkey_random(&t->hkey);
	t->keygen++;
	table_rehash(t, t->nbuckets);
	t->rekey_due = 0;
	t->rekeys++;
}

static struct flow *
table_lookup(struct flow_table *t, const struct flow_key *k, uint32_t b)
{
	struct flow *f;
	unsigned walked = 0;

	SLIST_FOREACH(f, &t->buckets[b], hlink)
	{
		if (++walked > FLOW_CHAIN_MAX)
			t->rekey_due = 1;
		if (memcmp(&f->key, k, sizeof *k) == 0)
			return f;
	}
	return NULL;
}

static void
table_unlink(struct flow_table *t, struct flow *f)
{
	SLIST_REMOVE(&t->buckets[bucket_of(t, &f->key)], f, flow, hlink);
}

/*
 * End a flow: off its list and out of the table, hand it to the callback,
 * free it. A flow that was already torn down keeps the reason it had.
 */
static void
flow_finish(struct flow_table *t, struct flow *f, enum flow_reason reason)
{
	struct flow_list *l = flow_list_of(t, f);

	if (f->state == FLOW_OPEN || f->reason == FLOW_R_NONE)
		f->reason = reason;
	/* Reset before anyone spoke both ways: a refused connection, not a torn-down one. */
	if (f->reason == FLOW_R_RST && !(f->flags & FLOWF_PROVEN))
		f->reason = FLOW_R_REFUSED;
	list_remove(l, f);
	if (l == &t->half)
		t->nhalf--;
	all_remove(t, f);
	table_unlink(t, f);
	t->count--;
	if (t->cb != NULL)
		t->cb(f, t->cbarg);
	flow_destroy(f);
}

void
flowtab_end(struct flow_table *t, struct flow *f, enum flow_reason reason)
{
	flow_finish(t, f, reason);
}

uint32_t
flowtab_end_some(struct flow_table *t, enum flow_reason reason, uint32_t max)
{
	for (; max > 0 && TAILQ_FIRST(&t->open) != NULL; max--)
		flow_finish(t, TAILQ_FIRST(&t->open), reason);
	for (; max > 0 && TAILQ_FIRST(&t->half) != NULL; max--)
		flow_finish(t, TAILQ_FIRST(&t->half), reason);
	for (; max > 0 && TAILQ_FIRST(&t->linger) != NULL; max--)
		flow_finish(t, TAILQ_FIRST(&t->linger), reason);
	return t->count;
}

void
flowtab_end_all(struct flow_table *t, enum flow_reason reason)
{
	flowtab_end_some(t, reason, UINT32_MAX);
}

/*
 * Make room: a flow already torn down goes first, then the longest idle
 * half-open one (a flood of probes never pushes out a connection), else
 * the longest idle one.
 */
static void
table_evict(struct flow_table *t)
{
	if (TAILQ_FIRST(&t->linger) != NULL)
		flow_finish(t, TAILQ_FIRST(&t->linger), FLOW_R_NONE);
	else if (TAILQ_FIRST(&t->half) != NULL) {
		t->half_evicted++;
		flow_finish(t, TAILQ_FIRST(&t->half), FLOW_R_EVICTED);
	} else if (TAILQ_FIRST(&t->open) != NULL)
		flow_finish(t, TAILQ_FIRST(&t->open), FLOW_R_EVICTED);
}

/* Room for one more half-open flow: the oldest goes beyond half_max (overloaded). */
static void
half_make_room(struct flow_table *t)
{
	if (t->cfg.half_max == 0 || t->nhalf < t->cfg.half_max)
		return;
	t->overloaded = 1;
	t->half_evicted++;
	flow_finish(t, TAILQ_FIRST(&t->half), FLOW_R_EVICTED);
}

/* Proven: answered, or more packets than half_packets. Off the half-open list. */
static void
half_check(struct flow_table *t, struct flow *f, const struct packet *p, uint8_t dir)
{
	if (f->flags & FLOWF_PROVEN)
		return;
	if (!(p->flags & TCPF_RST))
		f->sides |= (uint8_t)(1u << dir);
	if (f->sides != 3 && f->packets <= t->cfg.half_packets)
		return;
	if (f->state == FLOW_OPEN) {
		list_remove(&t->half, f);
		t->nhalf--;
		f->flags |= FLOWF_PROVEN;
		list_append(&t->open, f);
	} else
		f->flags |= FLOWF_PROVEN; /* lingering: its list stays the linger one */
}

static int
is_pure_syn(const struct packet *p)
{
	return (p->flags & (TCPF_SYN | TCPF_ACK | TCPF_RST)) == TCPF_SYN;
}

/* Does the packet open its flow? A directional flow also opens with a SYN-ACK. */
static int
is_opening(const struct flow_table *t, const struct packet *p)
{
	if (t->cfg.key_mode == FLOW_KEY_DIRECTIONAL)
		return (p->flags & (TCPF_SYN | TCPF_RST)) == TCPF_SYN;
	return is_pure_syn(p);
}

/*
 * Does this packet open a new connection on a tuple that has a flow? Returns
 * the reason the old flow ends, or FLOW_R_NONE when the packet belongs to it.
 * A SYN after teardown, a SYN with another ISN (the tuple was reused after an
 * unseen close), or a SYN on a flow that began mid-stream all start anew;
 * a retransmitted SYN (same ISN) does not.
 */
static enum flow_reason
starts_new(const struct flow_table *t, const struct flow *f, const struct packet *p, uint8_t dir)
{
	uint8_t isnflag = dir ? FLOWF_ISN_B : FLOWF_ISN_A;

	if (f->state == FLOW_CLOSED)
		return f->reason;
	/* pcapkit's rule, directional first-fin: only a FIN ends a flow, never a SYN. */
	if (t->cfg.key_mode == FLOW_KEY_DIRECTIONAL && t->cfg.end_mode == FLOW_END_FIRST_FIN)
		return FLOW_R_NONE;
	if (!is_opening(t, p))
		return FLOW_R_NONE;
	if (f->state == FLOW_LINGER && f->reason == FLOW_R_RST && (f->flags & isnflag) &&
	    f->isn[dir] == p->seq)
		return FLOW_R_NONE; /* its own SYN again after the RST: a retry (flow_retry) */
	if (f->state == FLOW_LINGER)
		return f->reason;
	if (f->flags & isnflag)
		return f->isn[dir] != p->seq ? FLOW_R_REUSE : FLOW_R_NONE;
	if (f->flags & (FLOWF_ISN_A | FLOWF_ISN_B))
		return FLOW_R_NONE; /* the other side opened: simultaneous open */
	return FLOW_R_REUSE;
}

static struct flow *
flow_create(struct flow_table *t, const struct flow_key *k, uint32_t b, const struct packet *p,
    uint8_t dir, uint32_t iface)
{
	struct flow *f;

	if (t->cfg.max_flows > 0 && t->count >= t->cfg.max_flows) {
		table_evict(t);
		b = bucket_of(t, k);
	}
	if (t->cfg.half_ns != 0)
		half_make_room(t);
	if (t->count >= t->nbuckets) {
		table_grow(t);
		b = bucket_of(t, k);
	}
	f = xcalloc(1, sizeof *f);
	f->key = *k;
	f->id = ++t->next_id;
	f->first = f->seg_first = p->ts;
	f->iface = iface;
	f->ltime = (uint8_t)t->cfg.label_time;
	if (t->cfg.key_mode == FLOW_KEY_DIRECTIONAL)
		f->init = 0; /* the sender is side a */
	else if (is_pure_syn(p))
		f->init = dir;
	else if ((p->flags & (TCPF_SYN | TCPF_ACK)) == (TCPF_SYN | TCPF_ACK))
		f->init = !dir; /* the SYN was missed; its sender is this packet's target */
	else
		f->init = dir;
	if (!is_opening(t, p))
		f->flags |= FLOWF_PARTIAL;
	if (t->cfg.half_ns == 0)
		f->flags |= FLOWF_PROVEN; /* no half-open rule: every flow is an open one */
	else
		t->nhalf++;
	SLIST_INSERT_HEAD(&t->buckets[b], f, hlink);
	t->count++;
	list_append(flow_list_of(t, f), f);
	TAILQ_INSERT_TAIL(&t->all, f, all);
	return f;
}

static void
flow_new_segment(struct flow *f)
{
	f->seg_no++;
	f->seg_size = 0;
	f->seg_first = f->seg_last = 0;
	f->seg_packets = 0;
	f->seg_bytes = 0;
	f->seg_ipbytes = 0;
	f->seg_tcpflags = 0;
	f->fn.len = 0;
	f->fn.last = 0;
}

static void
enter_linger(struct flow_table *t, struct flow *f, enum flow_reason reason)
{
	if (!(f->flags & FLOWF_PROVEN))
		t->nhalf--;
	list_remove(flow_list_of(t, f), f);
	f->state = FLOW_LINGER;
	f->reason = reason;
	list_append(&t->linger, f);
}

/* Serial-number arithmetic (RFC 1982): is a at or after b? */
static int
seq_geq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

/*
 * First-fin mode: this packet's FIN ends the flow once it is written. Nothing
 * that came before matters, not even an RST: a flow still lingering from a
 * teardown (the mode was switched by a reload) comes back to the open list,
 * where a closed flow lives until flowtab_release.
 */
static void
close_on_fin(struct flow_table *t, struct flow *f)
{
	if (f->state == FLOW_LINGER) {
		list_remove(&t->linger, f);
		f->flags |= FLOWF_PROVEN; /* first-fin has no half-open rule (config.c) */
		list_append(&t->open, f);
	}
	f->state = FLOW_CLOSED;
	f->reason = FLOW_R_FIN;
}

/*
 * Follow the teardown: FIN both ways, each acknowledged, or a reset. In
 * first-fin mode (pcapkit's rule) only a FIN ends the flow; an RST does not.
 */
static void
track_state(struct flow_table *t, struct flow *f, const struct packet *p, uint8_t dir)
{
	uint8_t other = !dir;
	uint8_t fin_other = other ? FLOWF_FIN_B : FLOWF_FIN_A;
	uint8_t all = FLOWF_FIN_A | FLOWF_FIN_B | FLOWF_FINACK_A | FLOWF_FINACK_B;

	if (p->flags & TCPF_SYN) {
		f->isn[dir] = p->seq;
		f->flags |= dir ? FLOWF_ISN_B : FLOWF_ISN_A;
	}
	if ((p->flags & TCPF_ACK) && (f->flags & fin_other) &&
	    seq_geq(p->ack, f->fin_seq[other] + 1))
		f->flags |= other ? FLOWF_FINACK_B : FLOWF_FINACK_A;
	if (p->flags & TCPF_FIN) {
		f->fin_seq[dir] = p->seq + p->payload_len + !!(p->flags & TCPF_SYN);
		f->flags |= dir ? FLOWF_FIN_B : FLOWF_FIN_A;
	}
	if (t->cfg.end_mode == FLOW_END_FIRST_FIN) {
		if ((p->flags & TCPF_FIN) && f->state != FLOW_CLOSED)
			close_on_fin(t, f);
		return;
	}
	if (f->state != FLOW_OPEN)
		return;
	if (p->flags & TCPF_RST)
		enter_linger(t, f, FLOW_R_RST);
	else if (t->cfg.key_mode == FLOW_KEY_DIRECTIONAL && (p->flags & TCPF_FIN))
		enter_linger(t, f, FLOW_R_FIN); /* the peer's FIN and ACK are another flow's */
	else if ((f->flags & all) == all)
		enter_linger(t, f, FLOW_R_FIN);
}

/* The current segment ends, the flow goes on in the next one (same label). */
static void
segment_hand_over(struct flow_table *t, struct flow *f, enum flow_reason why)
{
	f->reason = (uint8_t)why;
	f->goes_on = 1;
	if (t->cb != NULL)
		t->cb(f, t->cbarg);
	f->goes_on = 0;
	flow_new_segment(f);
}

/* A full segment is handed over (reason rotate) before the packet that would overflow it. */
static void
segment_check(struct flow_table *t, struct flow *f, const struct packet *p)
{
	uint8_t reason = f->reason;
	uint64_t size = 16 + (uint64_t)p->caplen;

	if (f->seg_packets == 0)
		return;
	if ((t->cfg.seg_packets == 0 || f->seg_packets < t->cfg.seg_packets) &&
	    (t->cfg.seg_size == 0 || f->seg_size + size <= t->cfg.seg_size))
		return;
	segment_hand_over(t, f, FLOW_R_ROTATE);
	f->reason = reason;
}

static void
flow_account(struct flow_table *t, struct flow *f, const struct packet *p)
{
	struct flow_list *l;

	segment_check(t, f, p);
	/*
	 * Times are the earliest and latest seen, not the first and last
	 * packet's: a capture's clock may step back. Idle and linger count
	 * from touch, the table's clock, which never does.
	 */
	if (p->ts > f->last)
		f->last = p->ts;
	f->touch = t->clock;
	f->packets++;
	f->bytes += p->wirelen;
	if (f->seg_packets == 0 || p->ts < f->seg_first)
		f->seg_first = p->ts;
	if (f->seg_packets == 0 || p->ts > f->seg_last)
		f->seg_last = p->ts;
	f->seg_packets++;
	f->seg_bytes += p->wirelen;
	f->seg_size += 16 + (uint64_t)p->caplen;
	f->seg_ipbytes += p->ip_len;
	f->seg_tcpflags |= p->flags;
	frames_push(&f->fn, p->frame);
	half_check(t, f, p, f->dir);
	l = flow_list_of(t, f);
	if (TAILQ_LAST(l, flow_list) != f) {
		list_remove(l, f);
		list_append(l, f);
	}
}

/*
 * A connection refused (RST) whose SYN comes again with its ISN while it
 * lingers: the same connect() retried (Windows sends it twice more), one
 * stream for tshark too; the flow is open again, not a new one
 * (traceflowd(8), Connections).
 */
static void
flow_retry(struct flow_table *t, struct flow *f, const struct packet *p)
{
	if (f->state != FLOW_LINGER || f->reason != FLOW_R_RST || !is_pure_syn(p))
		return;
	list_remove(&t->linger, f);
	f->state = FLOW_OPEN;
	f->reason = FLOW_R_NONE;
	if (!(f->flags & FLOWF_PROVEN))
		t->nhalf++;
	list_append(flow_list_of(t, f), f);
}

void
flowtab_hint(
    const struct flow_table *t, const struct packet *p, uint32_t iface, struct flow_hint *h)
{
	flow_key_of(t->cfg.key_mode, t->cfg.key_bare, p, iface, &h->key, &h->dir);
	h->hash = key_hash(t, &h->key);
	h->keygen = t->keygen;
	__builtin_prefetch(&t->buckets[h->hash & (t->nbuckets - 1)]);
}

void
flowtab_hint_fetch(const struct flow_table *t, const struct flow_hint *h)
{
	/* flowtab_hint prefetched the bucket: the first lines of its first flow now. */
	const struct flow *f =
	    h->keygen == t->keygen ? SLIST_FIRST(&t->buckets[h->hash & (t->nbuckets - 1)]) : NULL;

	if (f != NULL) {
		__builtin_prefetch(f);
		__builtin_prefetch((const char *)f + 64);
	}
}

struct flow *
flowtab_packet(struct flow_table *t, const struct packet *p, uint32_t iface, uint64_t now)
{
	struct flow_hint h;

	flowtab_hint(t, p, iface, &h);
	return flowtab_packet_hinted(t, p, &h, iface, now);
}

struct flow *
flowtab_packet_hinted(struct flow_table *t, const struct packet *p, const struct flow_hint *h,
    uint32_t iface, uint64_t now)
{
	struct flow *f;
	enum flow_reason r;
	uint32_t b;

	if (now > t->clock)
		t->clock = now;
	b = (uint32_t)(h->keygen == t->keygen ? h->hash : key_hash(t, &h->key)) & (t->nbuckets - 1);
	f = table_lookup(t, &h->key, b);
	if (t->rekey_due) {
		table_rekey(t);
		b = bucket_of(t, &h->key);
	}
	if (f != NULL && (r = starts_new(t, f, p, h->dir)) != FLOW_R_NONE) {
		flow_finish(t, f, r);
		f = NULL;
	}
	if (f == NULL)
		f = flow_create(t, &h->key, b, p, h->dir, iface);
	else
		flow_retry(t, f, p);
	f->dir = h->dir;
	flow_account(t, f, p);
	track_state(t, f, p, h->dir);
	return f;
}

int
flowtab_submit(struct flow_table *t, struct flow *f)
{
	uint8_t reason = f->reason;
	int filed = f->seg_packets > 0;

	if (f->state != FLOW_OPEN) {
		flow_finish(t, f, FLOW_R_SUBMIT); /* keeps a teardown's reason */
		return filed;
	}
	if (!filed)
		return 0;
	segment_hand_over(t, f, FLOW_R_SUBMIT);
	f->reason = reason;
	return 1;
}

void
flowtab_release(struct flow_table *t, struct flow *f)
{
	if (f->state == FLOW_CLOSED)
		flow_finish(t, f, f->reason);
}

void
flowtab_expire(struct flow_table *t, uint64_t now)
{
	uint64_t half;
	struct flow *f;

	if (now > t->clock)
		t->clock = now;
	now = t->clock;
	/* now - touch, not touch + timeout: touch is never past now, a sum may wrap. */
	while (t->cfg.idle_ns != 0 && (f = TAILQ_FIRST(&t->open)) != NULL &&
	       now - f->touch >= t->cfg.idle_ns)
		flow_finish(t, f, FLOW_R_IDLE);
	while ((f = TAILQ_FIRST(&t->linger)) != NULL && now - f->touch >= t->cfg.linger_ns)
		flow_finish(t, f, f->reason);
	half = t->overloaded ? t->cfg.half_ns / 5 : t->cfg.half_ns;
	if (t->cfg.idle_ns != 0 && t->cfg.idle_ns < half)
		half = t->cfg.idle_ns;
	while (t->cfg.half_ns != 0 && (f = TAILQ_FIRST(&t->half)) != NULL && now - f->touch >= half)
		flow_finish(t, f, FLOW_R_UNANSWERED);
	if (t->overloaded && t->nhalf <= t->cfg.half_max / 2)
		t->overloaded = 0;
}

void
flowtab_half(const struct flow_table *t, struct flowtab_half *out)
{
	out->now = t->nhalf;
	out->evicted = t->half_evicted;
	out->overloaded = t->overloaded;
}

void
flowtab_foreach(struct flow_table *t, void (*fn)(struct flow *, void *), void *arg)
{
	struct flow *f, *next;

	for (f = TAILQ_FIRST(&t->open); f != NULL; f = next) {
		next = TAILQ_NEXT(f, link);
		fn(f, arg);
	}
	for (f = TAILQ_FIRST(&t->half); f != NULL; f = next) {
		next = TAILQ_NEXT(f, link);
		fn(f, arg);
	}
	for (f = TAILQ_FIRST(&t->linger); f != NULL; f = next) {
		next = TAILQ_NEXT(f, link);
		fn(f, arg);
	}
}

struct flow_cursor *
flowtab_cursor(struct flow_table *t)
{
	struct flow_cursor *c = xcalloc(1, sizeof *c);

	c->t = t;
	c->next = TAILQ_FIRST(&t->all);
	c->last = TAILQ_LAST(&t->all, flow_all);
	LIST_INSERT_HEAD(&t->cursors, c, link);
	return c;
}

const struct flow *
flowtab_cursor_next(struct flow_cursor *c)
{
	struct flow *f = c->next;

	if (f != NULL)
		c->next = f == c->last ? NULL : TAILQ_NEXT(f, all);
	return f;
}

void
flowtab_cursor_free(struct flow_cursor *c)
{
	if (c == NULL)
		return;
	if (c->t != NULL)
		LIST_REMOVE(c, link);
	free(c);
}

uint64_t
flowtab_hash(const struct flow_table *t, const struct flow_key *k)
{
	return key_hash(t, k);
}

uint64_t
flowtab_rekeys(const struct flow_table *t)
{
	return t->rekeys;
}

uint32_t
flowtab_longest_chain(const struct flow_table *t)
{
	uint32_t i, n, longest = 0;
	const struct flow *f;

	for (i = 0; i < t->nbuckets; i++) {
		n = 0;
		SLIST_FOREACH(f, &t->buckets[i], hlink)
		n++;
		if (n > longest)
			longest = n;
	}
	return longest;
}

uint32_t
flowtab_count(const struct flow_table *t)
{
	return t->count;
}
