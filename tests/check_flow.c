/*
 * check_flow.c: unit tests for the flow table (src/flow.c) and flow labels
 * (src/label.c).
 *
 * Packets are built by hand as struct packet records, so every test states
 * exactly the flags, sequence numbers and times the state machine sees. An
 * end callback copies what a flow looked like when it ended (reason, label,
 * segment, frame numbers) into a log that the tests then check.
 */
#include <arpa/inet.h>
#include <check.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "label.h"
#include "reason.h"
#include "siphash.h"

#define NS             1000000000ULL
#define MS             1000000ULL
#define BASE_TS        (1700000000ULL * NS + 100000ULL) /* 1700000000.000100 */
#define IDLE_NS        (60 * NS)
#define LINGER_NS      (2 * NS)
#define MAX_FRAMES     64
#define MAX_RECORDS    64
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* What a flow looked like when the callback saw it. */
struct rec {
	int reason;
	char label[LABEL_MAX];
	char label_ns[LABEL_MAX];
	uint64_t id;
	uint32_t seg_no;
	uint64_t seg_packets;
	uint64_t seg_first;
	uint64_t seg_last;
	uint64_t seg_bytes;
	uint64_t packets;
	uint64_t bytes;
	uint8_t flags;
	uint8_t init;
	uint8_t goes_on;
	uint64_t frames[MAX_FRAMES];
	size_t nframes;
};

struct ctx {
	struct flow_config cfg;
	struct flow_table *t;
	struct rec rec[MAX_RECORDS];
	size_t n;
	uint64_t frame;   /* last frame number handed out */
	struct flow last; /* copy of the flow of the last packet, taken before release */
};

static void
on_end(struct flow *f, void *arg)
{
	struct ctx *c = arg;
	struct rec *r;
	struct flow_fn_iter it;
	uint64_t fr;

	ck_assert_uint_lt(c->n, MAX_RECORDS);
	r = &c->rec[c->n++];
	memset(r, 0, sizeof *r);
	r->reason = f->reason;
	label_make(r->label, f, 0);
	label_make(r->label_ns, f, 1);
	r->id = f->id;
	r->seg_no = f->seg_no;
	r->seg_packets = f->seg_packets;
	r->seg_first = f->seg_first;
	r->seg_last = f->seg_last;
	r->seg_bytes = f->seg_bytes;
	r->packets = f->packets;
	r->bytes = f->bytes;
	r->flags = f->flags;
	r->init = f->init;
	r->goes_on = f->goes_on;
	flow_fn_begin(f, &it);
	while (flow_fn_next(&it, &fr)) {
		ck_assert_uint_lt(r->nframes, MAX_FRAMES);
		r->frames[r->nframes++] = fr;
	}
}

static void
ctx_cfg_default(struct flow_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->idle_ns = IDLE_NS;
	cfg->linger_ns = LINGER_NS;
	cfg->max_flows = 1000;
	cfg->end_mode = FLOW_END_TEARDOWN;
	cfg->seed = 0x1234;
}

static void
ctx_init(struct ctx *c, const struct flow_config *cfg)
{
	memset(c, 0, sizeof *c);
	if (cfg != NULL)
		c->cfg = *cfg;
	else
		ctx_cfg_default(&c->cfg);
	c->t = flowtab_new(&c->cfg, on_end, c);
}

static void
ctx_free(struct ctx *c)
{
	flowtab_free(c->t);
	c->t = NULL;
}

/*
 * When the next flow falls due, from what the table shows of its flows
 * (flowtab_cursor, as a listing sees them): an open flow idle_timeout after
 * its last packet, a lingering one linger after. UINT64_MAX if none.
 */
static uint64_t
next_due(struct ctx *c)
{
	uint64_t due = UINT64_MAX, at;
	struct flow_cursor *cur = flowtab_cursor(c->t);
	const struct flow *f;

	while ((f = flowtab_cursor_next(cur)) != NULL) {
		if (f->state == FLOW_LINGER)
			at = f->touch + c->cfg.linger_ns;
		else if (c->cfg.idle_ns != 0)
			at = f->touch + c->cfg.idle_ns;
		else
			continue;
		if (at < due)
			due = at;
	}
	flowtab_cursor_free(cur);
	return due;
}

/* An IPv4 TCP packet; addresses in host order. */
static struct packet
pkt4(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint8_t flags, uint32_t seq,
    uint32_t ack, uint32_t plen, uint64_t ts)
{
	struct packet p;
	uint32_t s = htonl(src), d = htonl(dst);

	memset(&p, 0, sizeof p);
	p.af = 4;
	memcpy(p.src, &s, 4);
	memcpy(p.dst, &d, 4);
	p.srcport = sport;
	p.dstport = dport;
	p.flags = flags;
	p.seq = seq;
	p.ack = ack;
	p.payload_len = plen;
	p.ts = ts;
	p.caplen = p.wirelen = 54 + plen;
	return p;
}

static struct packet
pkt6(const char *src, uint16_t sport, const char *dst, uint16_t dport, uint8_t flags, uint32_t seq,
    uint32_t ack, uint32_t plen, uint64_t ts)
{
	struct packet p;

	memset(&p, 0, sizeof p);
	p.af = 6;
	ck_assert_int_eq(inet_pton(AF_INET6, src, p.src), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, dst, p.dst), 1);
	p.srcport = sport;
	p.dstport = dport;
	p.flags = flags;
	p.seq = seq;
	p.ack = ack;
	p.payload_len = plen;
	p.ts = ts;
	p.caplen = p.wirelen = 74 + plen;
	return p;
}

/*
 * Feed one packet on interface iface at its own time, as the engine does:
 * classify, (write), release. Returns the flow's id; c->last keeps a copy
 * of the flow taken before the release (its frame buffer is not to be used).
 */
static uint64_t
feed_if(struct ctx *c, struct packet *p, uint32_t iface)
{
	struct flow *f;

	p->frame = ++c->frame;
	f = flowtab_packet(c->t, p, iface, p->ts);
	ck_assert_ptr_nonnull(f);
	c->last = *f;
	flowtab_release(c->t, f);
	return c->last.id;
}

static uint64_t
feed(struct ctx *c, struct packet p)
{
	return feed_if(c, &p, 0);
}

static void
assert_frames(const struct rec *r, uint64_t first, size_t n)
{
	size_t i;

	ck_assert_uint_eq(r->nframes, n);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(r->frames[i], first + i);
}

#define A  IP(10, 0, 0, 1)
#define B  IP(10, 0, 0, 2)
#define AP 1234
#define BP 80

/*
 * A full connection A:1234 -> B:80 starting at ts: handshake, 100 bytes of
 * data each way, FIN/ACK, FIN/ACK, ACK. Returns the time of the last packet.
 */
static uint64_t
conn_full(struct ctx *c, uint64_t ts, uint64_t *id)
{
	uint64_t i0;

	i0 = feed(c, pkt4(A, AP, B, BP, TCPF_SYN, 1000, 0, 0, ts));
	ck_assert_uint_eq(
	    feed(c, pkt4(B, BP, A, AP, TCPF_SYN | TCPF_ACK, 5000, 1001, 0, ts + MS)), i0);
	feed(c, pkt4(A, AP, B, BP, TCPF_ACK, 1001, 5001, 0, ts + 2 * MS));
	feed(c, pkt4(A, AP, B, BP, TCPF_ACK | TCPF_PSH, 1001, 5001, 100, ts + 3 * MS));
	feed(c, pkt4(B, BP, A, AP, TCPF_ACK | TCPF_PSH, 5001, 1101, 100, ts + 4 * MS));
	feed(c, pkt4(A, AP, B, BP, TCPF_FIN | TCPF_ACK, 1101, 5101, 0, ts + 5 * MS));
	feed(c, pkt4(B, BP, A, AP, TCPF_FIN | TCPF_ACK, 5101, 1102, 0, ts + 6 * MS));
	ck_assert_uint_eq(feed(c, pkt4(A, AP, B, BP, TCPF_ACK, 1102, 5102, 0, ts + 7 * MS)), i0);
	if (id != NULL)
		*id = i0;
	return ts + 7 * MS;
}

/* --- teardown ----------------------------------------------------------- */

START_TEST(test_handshake_fin)
{
	struct ctx c;
	uint64_t last, id;
	struct rec *r;

	ctx_init(&c, NULL);
	last = conn_full(&c, BASE_TS, &id);
	ck_assert_uint_eq(c.n, 0);
	ck_assert_uint_eq(flowtab_count(c.t), 1);
	ck_assert_int_eq(c.last.state, FLOW_LINGER);
	ck_assert_int_eq(c.last.reason, FLOW_R_FIN);
	ck_assert_uint_eq(next_due(&c), last + LINGER_NS);

	/* Nothing ends before the linger time is up. */
	flowtab_expire(c.t, last + LINGER_NS - 1);
	ck_assert_uint_eq(c.n, 0);
	flowtab_expire(c.t, last + LINGER_NS);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(flowtab_count(c.t), 0);
	ck_assert_uint_eq(next_due(&c), UINT64_MAX);

	r = &c.rec[0];
	ck_assert_int_eq(r->reason, FLOW_R_FIN);
	ck_assert_uint_eq(r->id, id);
	assert_frames(r, 1, 8);
	ck_assert_uint_eq(r->packets, 8);
	ck_assert_uint_eq(r->bytes, 8 * 54 + 200);
	ck_assert_uint_eq(r->seg_packets, 8);
	ck_assert_uint_eq(r->seg_bytes, 8 * 54 + 200);
	ck_assert_uint_eq(r->seg_no, 0);
	ck_assert_uint_eq(r->seg_first, BASE_TS);
	ck_assert_uint_eq(r->seg_last, last);
	ck_assert_uint_eq(r->init, 0);
	ck_assert_uint_eq(r->flags & FLOWF_PARTIAL, 0);
	ck_assert_str_eq(r->label, "10.0.0.1_1234-10.0.0.2_80-1700000000.000100");
	ck_assert_str_eq(r->label_ns, "10.0.0.1_1234-10.0.0.2_80-1700000000.000100000");
	ck_assert_str_eq(flow_reason_name(r->reason), "fin");
	ctx_free(&c);
}
END_TEST

/* The SYN sender is the source even when it is the higher side of the key. */
START_TEST(test_init_side_b)
{
	struct ctx c;
	uint32_t cl = IP(192, 168, 1, 9), sv = IP(10, 0, 0, 1);

	ctx_init(&c, NULL);
	feed(&c, pkt4(cl, 40000, sv, 443, TCPF_SYN, 7, 0, 0, BASE_TS + 123));
	ck_assert_uint_eq(c.last.init, 1);
	feed(&c, pkt4(sv, 443, cl, 40000, TCPF_SYN | TCPF_ACK, 70, 8, 0, BASE_TS + MS));
	ck_assert_uint_eq(c.last.init, 1);
	flowtab_end_all(c.t, FLOW_R_EOF);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_str_eq(c.rec[0].label, "192.168.1.9_40000-10.0.0.1_443-1700000000.000100");
	ck_assert_str_eq(c.rec[0].label_ns, "192.168.1.9_40000-10.0.0.1_443-1700000000.000100123");
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_EOF);
	ctx_free(&c);
}
END_TEST

START_TEST(test_label_ipv6)
{
	struct ctx c;
	char buf[64];

	ctx_init(&c, NULL);
	feed(&c, pkt6("2001:db8::2", 5555, "2001:db8::1", 443, TCPF_SYN, 1, 0, 0,
	             1700000001ULL * NS + 999999999ULL));
	flowtab_end_all(c.t, FLOW_R_EOF);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_str_eq(c.rec[0].label, "2001.db8..2_5555-2001.db8..1_443-1700000001.999999");
	ck_assert_str_eq(
	    c.rec[0].label_ns, "2001.db8..2_5555-2001.db8..1_443-1700000001.999999999");
	ctx_free(&c);

	/* The plain address form (index, dumpers) keeps its colons. */
	{
		uint8_t a[16];

		ck_assert_int_eq(inet_pton(AF_INET6, "fe80::1:2", a), 1);
		label_addr(buf, sizeof buf, 6, a, 0);
		ck_assert_str_eq(buf, "fe80::1:2");
		label_addr(buf, sizeof buf, 6, a, 1);
		ck_assert_str_eq(buf, "fe80..1.2");
	}
	label_time(buf, sizeof buf, 0, 0);
	ck_assert_str_eq(buf, "0.000000");
	label_time(buf, sizeof buf, 5 * NS + 1, 1);
	ck_assert_str_eq(buf, "5.000000001");
	label_time(buf, sizeof buf, 5 * NS + 999, 0);
	ck_assert_str_eq(buf, "5.000000");
}
END_TEST

START_TEST(test_label_suffix)
{
	struct flow f;
	char buf[LABEL_MAX];
	uint32_t a = htonl(A), b = htonl(B);
	size_t n;

	memset(&f, 0, sizeof f);
	f.key.af = 4;
	memcpy(f.key.a, &a, 4);
	memcpy(f.key.b, &b, 4);
	f.key.aport = 1;
	f.key.bport = 2;
	f.first = BASE_TS;
	f.init = 1;
	n = label_make(buf, &f, 0);
	ck_assert_str_eq(buf, "10.0.0.2_2-10.0.0.1_1-1700000000.000100");
	ck_assert_uint_eq(n, strlen(buf));
	f.suffix = 3;
	label_make(buf, &f, 0);
	ck_assert_str_eq(buf, "10.0.0.2_2-10.0.0.1_1-1700000000.000100-3");
}
END_TEST

/* --- keys --------------------------------------------------------------- */

START_TEST(test_key_canonical)
{
	struct ctx c;
	uint64_t ab, ba, swapped, v10, v20, v10b, qinq, if1;
	struct packet p;

	ctx_init(&c, NULL);
	ab = feed(&c, pkt4(A, 1, B, 2, TCPF_SYN, 1, 0, 0, BASE_TS));
	ck_assert_uint_eq(c.last.dir, 0);
	ba = feed(&c, pkt4(B, 2, A, 1, TCPF_SYN | TCPF_ACK, 9, 2, 0, BASE_TS + MS));
	ck_assert_uint_eq(c.last.dir, 1);
	ck_assert_uint_eq(ab, ba);
	ck_assert_uint_eq(c.last.packets, 2);
	ck_assert_uint_eq(flowtab_count(c.t), 1);

	/* Same addresses, ports swapped between them: another connection. */
	swapped = feed(&c, pkt4(A, 2, B, 1, TCPF_SYN, 1, 0, 0, BASE_TS + 2 * MS));
	ck_assert_uint_ne(swapped, ab);
	ck_assert_uint_eq(c.last.packets, 1);
	ck_assert_uint_eq(flowtab_count(c.t), 2);
	/* ... and its reply direction finds it, not the first one. */
	ck_assert_uint_eq(feed(&c, pkt4(B, 1, A, 2, TCPF_ACK, 5, 2, 0, BASE_TS + 3 * MS)), swapped);

	/* VLAN tags are part of the key. */
	p = pkt4(A, 1, B, 2, TCPF_SYN, 1, 0, 0, BASE_TS + 4 * MS);
	p.nvlan = 1;
	p.vlan[0] = 10;
	v10 = feed_if(&c, &p, 0);
	p = pkt4(B, 2, A, 1, TCPF_ACK, 1, 2, 0, BASE_TS + 5 * MS);
	p.nvlan = 1;
	p.vlan[0] = 10;
	v10b = feed_if(&c, &p, 0);
	ck_assert_uint_eq(v10, v10b);
	p = pkt4(A, 1, B, 2, TCPF_SYN, 1, 0, 0, BASE_TS + 6 * MS);
	p.nvlan = 1;
	p.vlan[0] = 20;
	v20 = feed_if(&c, &p, 0);
	p = pkt4(A, 1, B, 2, TCPF_SYN, 1, 0, 0, BASE_TS + 7 * MS);
	p.nvlan = 2;
	p.vlan[0] = 10;
	p.vlan[1] = 20;
	qinq = feed_if(&c, &p, 0);
	/* The input interface too. */
	p = pkt4(A, 1, B, 2, TCPF_SYN, 1, 0, 0, BASE_TS + 8 * MS);
	if1 = feed_if(&c, &p, 1);

	ck_assert_uint_ne(v10, ab);
	ck_assert_uint_ne(v20, ab);
	ck_assert_uint_ne(v20, v10);
	ck_assert_uint_ne(qinq, v10);
	ck_assert_uint_ne(qinq, v20);
	ck_assert_uint_ne(if1, ab);
	ck_assert_uint_eq(flowtab_count(c.t), 6);
	ck_assert_uint_eq(c.n, 0);

	/* The same tuple again on interface 1 joins that flow. */
	p = pkt4(B, 2, A, 1, TCPF_ACK, 1, 2, 0, BASE_TS + 9 * MS);
	ck_assert_uint_eq(feed_if(&c, &p, 1), if1);
	ck_assert_uint_eq(flowtab_count(c.t), 6);

	flowtab_end_all(c.t, FLOW_R_EOF);
	ck_assert_uint_eq(c.n, 6);
	ck_assert_uint_eq(flowtab_count(c.t), 0);
	ctx_free(&c);
}
END_TEST

/* Same address on both sides (loopback): the ports decide the canonical order. */
START_TEST(test_key_same_address)
{
	struct ctx c;
	uint64_t a, b;
	uint32_t lo = IP(127, 0, 0, 1);

	ctx_init(&c, NULL);
	a = feed(&c, pkt4(lo, 50000, lo, 80, TCPF_SYN, 1, 0, 0, BASE_TS));
	ck_assert_uint_eq(c.last.init, 1);
	b = feed(&c, pkt4(lo, 80, lo, 50000, TCPF_SYN | TCPF_ACK, 1, 2, 0, BASE_TS + 1));
	ck_assert_uint_eq(a, b);
	flowtab_end_all(c.t, FLOW_R_EOF);
	ck_assert_str_eq(c.rec[0].label, "127.0.0.1_50000-127.0.0.1_80-1700000000.000100");
	ctx_free(&c);
}
END_TEST

/* --- more teardowns ------------------------------------------------------- */

START_TEST(test_simultaneous_close)
{
	struct ctx c;
	uint64_t id, t0 = BASE_TS;

	ctx_init(&c, NULL);
	id = feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 100, 0, 0, t0));
	feed(&c, pkt4(B, BP, A, AP, TCPF_SYN | TCPF_ACK, 200, 101, 0, t0 + 1));
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 101, 201, 0, t0 + 2));
	/* Both FINs cross: each acknowledges only the data, not the other FIN. */
	feed(&c, pkt4(A, AP, B, BP, TCPF_FIN | TCPF_ACK, 101, 201, 0, t0 + 3));
	feed(&c, pkt4(B, BP, A, AP, TCPF_FIN | TCPF_ACK, 201, 101, 0, t0 + 4));
	ck_assert_int_eq(c.last.state, FLOW_OPEN);
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 102, 202, 0, t0 + 5));
	ck_assert_int_eq(c.last.state, FLOW_OPEN);
	ck_assert_uint_eq(feed(&c, pkt4(B, BP, A, AP, TCPF_ACK, 202, 102, 0, t0 + 6)), id);
	ck_assert_int_eq(c.last.state, FLOW_LINGER);
	flowtab_expire(c.t, t0 + 6 + LINGER_NS);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_FIN);
	assert_frames(&c.rec[0], 1, 7);
	ctx_free(&c);
}
END_TEST

START_TEST(test_half_close_then_idle)
{
	struct ctx c;
	uint64_t t0 = BASE_TS, tl = t0 + 4 * MS;

	ctx_init(&c, NULL);
	feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 100, 0, 0, t0));
	feed(&c, pkt4(B, BP, A, AP, TCPF_SYN | TCPF_ACK, 200, 101, 0, t0 + MS));
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 101, 201, 0, t0 + 2 * MS));
	feed(&c, pkt4(A, AP, B, BP, TCPF_FIN | TCPF_ACK, 101, 201, 0, t0 + 3 * MS));
	feed(&c, pkt4(B, BP, A, AP, TCPF_ACK, 201, 102, 0, tl));
	ck_assert_int_eq(c.last.state, FLOW_OPEN);
	ck_assert_uint_eq(next_due(&c), tl + IDLE_NS);
	/* No linger: well past the linger time, the half-closed flow stays. */
	flowtab_expire(c.t, tl + 10 * LINGER_NS);
	ck_assert_uint_eq(c.n, 0);
	flowtab_expire(c.t, tl + IDLE_NS - 1);
	ck_assert_uint_eq(c.n, 0);
	flowtab_expire(c.t, tl + IDLE_NS);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_IDLE);
	assert_frames(&c.rec[0], 1, 5);
	ctx_free(&c);
}
END_TEST

START_TEST(test_retransmitted_fin)
{
	struct ctx c;
	uint64_t id, t0 = BASE_TS;

	ctx_init(&c, NULL);
	id = feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 100, 0, 0, t0));
	feed(&c, pkt4(B, BP, A, AP, TCPF_SYN | TCPF_ACK, 200, 101, 0, t0 + 1));
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 101, 201, 0, t0 + 2));
	feed(&c, pkt4(A, AP, B, BP, TCPF_FIN | TCPF_ACK, 101, 201, 0, t0 + 3));
	feed(&c, pkt4(A, AP, B, BP, TCPF_FIN | TCPF_ACK, 101, 201, 0, t0 + 4)); /* again */
	feed(&c, pkt4(B, BP, A, AP, TCPF_FIN | TCPF_ACK, 201, 102, 0, t0 + 5));
	feed(&c, pkt4(B, BP, A, AP, TCPF_FIN | TCPF_ACK, 201, 102, 0, t0 + 6)); /* again */
	ck_assert_uint_eq(feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 102, 202, 0, t0 + 7)), id);
	ck_assert_int_eq(c.last.state, FLOW_LINGER);
	/* A retransmitted last ACK during linger joins the flow too. */
	ck_assert_uint_eq(feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 102, 202, 0, t0 + 8)), id);
	ck_assert_uint_eq(flowtab_count(c.t), 1);
	flowtab_expire(c.t, t0 + 8 + LINGER_NS);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_FIN);
	assert_frames(&c.rec[0], 1, 9);
	ctx_free(&c);
}
END_TEST

/* A FIN acknowledged by an ACK that does not cover it does not count. */
START_TEST(test_fin_ack_must_cover)
{
	struct ctx c;
	uint64_t t0 = BASE_TS;

	ctx_init(&c, NULL);
	feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 100, 0, 0, t0));
	feed(&c, pkt4(B, BP, A, AP, TCPF_SYN | TCPF_ACK, 200, 101, 0, t0 + 1));
	/* FIN with 10 bytes of data: it stands at 111, acknowledged by 112. */
	feed(&c, pkt4(A, AP, B, BP, TCPF_FIN | TCPF_ACK | TCPF_PSH, 101, 201, 10, t0 + 2));
	feed(&c, pkt4(B, BP, A, AP, TCPF_FIN | TCPF_ACK, 201, 111, 0, t0 + 3)); /* data only */
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 112, 202, 0, t0 + 4));
	ck_assert_int_eq(c.last.state, FLOW_OPEN);
	feed(&c, pkt4(B, BP, A, AP, TCPF_ACK, 202, 112, 0, t0 + 5));
	ck_assert_int_eq(c.last.state, FLOW_LINGER);
	ck_assert_int_eq(c.last.reason, FLOW_R_FIN);
	ctx_free(&c);
}
END_TEST

START_TEST(test_rst_linger)
{
	struct ctx c;
	uint64_t id, t0 = BASE_TS;

	ctx_init(&c, NULL);
	id = feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 100, 0, 0, t0));
	feed(&c, pkt4(B, BP, A, AP, TCPF_SYN | TCPF_ACK, 200, 101, 0, t0 + MS));
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 101, 201, 0, t0 + 2 * MS));
	feed(&c, pkt4(B, BP, A, AP, TCPF_RST, 201, 0, 0, t0 + 3 * MS));
	ck_assert_int_eq(c.last.state, FLOW_LINGER);
	ck_assert_int_eq(c.last.reason, FLOW_R_RST);
	/* A trailing ACK during linger joins the same flow and restarts linger. */
	ck_assert_uint_eq(feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 101, 201, 0, t0 + 1 * NS)), id);
	ck_assert_uint_eq(c.last.packets, 5);
	flowtab_expire(c.t, t0 + 3 * MS + LINGER_NS);
	ck_assert_uint_eq(c.n, 0);
	ck_assert_uint_eq(next_due(&c), t0 + 1 * NS + LINGER_NS);
	flowtab_expire(c.t, t0 + 1 * NS + LINGER_NS);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_RST);
	assert_frames(&c.rec[0], 1, 5);
	ctx_free(&c);
}
END_TEST

/*
 * A SYN during the linger after an RST: with the ISN the flow's SYN had,
 * the same connect() retried (one stream for tshark): the flow is open
 * again (issue 26's decision, traceflowd(8)); with another ISN, a new
 * connection.
 */
START_TEST(test_syn_during_linger)
{
	struct ctx c;
	uint64_t id, id2, t0 = BASE_TS;

	ctx_init(&c, NULL);
	id = feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 100, 0, 0, t0));
	feed(&c, pkt4(B, BP, A, AP, TCPF_RST | TCPF_ACK, 0, 101, 0, t0 + MS));
	ck_assert_int_eq(c.last.state, FLOW_LINGER);
	/* The client retries at once with its ISN: the same attempt, open again. */
	ck_assert_uint_eq(feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 100, 0, 0, t0 + 2 * MS)), id);
	ck_assert_uint_eq(c.n, 0);
	ck_assert_int_eq(c.last.state, FLOW_OPEN);
	ck_assert_uint_eq(c.last.packets, 3);
	feed(&c, pkt4(B, BP, A, AP, TCPF_RST | TCPF_ACK, 0, 101, 0, t0 + 3 * MS));
	ck_assert_int_eq(c.last.state, FLOW_LINGER);

	/* Another ISN: a new connection; the first ends rst with its four packets. */
	id2 = feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 500, 0, 0, t0 + 4 * MS));
	ck_assert_uint_ne(id2, id);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.rec[0].id, id);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_RST);
	assert_frames(&c.rec[0], 1, 4);
	ck_assert_uint_eq(flowtab_count(c.t), 1);
	ck_assert_int_eq(c.last.state, FLOW_OPEN);
	ck_assert_uint_eq(c.last.packets, 1);
	ck_assert_uint_eq(c.last.flags & FLOWF_PARTIAL, 0);
	ck_assert_uint_eq(c.last.first, t0 + 4 * MS);

	/* A SYN/ACK during linger is not a new connection. */
	feed(&c, pkt4(B, BP, A, AP, TCPF_RST | TCPF_ACK, 0, 501, 0, t0 + 5 * MS));
	ck_assert_uint_eq(
	    feed(&c, pkt4(B, BP, A, AP, TCPF_SYN | TCPF_ACK, 5, 501, 0, t0 + 6 * MS)), id2);
	flowtab_end_all(c.t, FLOW_R_EOF);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_int_eq(c.rec[1].reason, FLOW_R_RST);
	assert_frames(&c.rec[1], 5, 3);
	ctx_free(&c);
}
END_TEST

/* --- reuse ---------------------------------------------------------------- */

START_TEST(test_port_reuse_after_end)
{
	struct ctx c;
	uint64_t last, id, id2;

	ctx_init(&c, NULL);
	last = conn_full(&c, BASE_TS, &id);
	flowtab_expire(c.t, last + LINGER_NS);
	ck_assert_uint_eq(c.n, 1);
	id2 = feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 9000, 0, 0, last + 3 * NS));
	ck_assert_uint_ne(id2, id);
	ck_assert_uint_eq(c.last.packets, 1);
	ck_assert_uint_eq(c.last.flags & FLOWF_PARTIAL, 0);
	flowtab_end_all(c.t, FLOW_R_EOF);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_int_eq(c.rec[1].reason, FLOW_R_EOF);
	assert_frames(&c.rec[1], 9, 1);
	ctx_free(&c);
}
END_TEST

START_TEST(test_reuse_new_isn)
{
	struct ctx c;
	uint64_t id, id2, t0 = BASE_TS;

	ctx_init(&c, NULL);
	id = feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 1000, 0, 0, t0));
	/* A retransmitted SYN (same ISN) belongs to the flow. */
	ck_assert_uint_eq(feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 1000, 0, 0, t0 + 1 * NS)), id);
	ck_assert_uint_eq(c.last.packets, 2);
	feed(&c, pkt4(B, BP, A, AP, TCPF_SYN | TCPF_ACK, 5000, 1001, 0, t0 + 1 * NS + 1));
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 1001, 5001, 0, t0 + 1 * NS + 2));
	ck_assert_uint_eq(c.n, 0);
	/* The close was never seen; a SYN with another ISN takes over the tuple. */
	id2 = feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 777777, 0, 0, t0 + 5 * NS));
	ck_assert_uint_ne(id2, id);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_REUSE);
	assert_frames(&c.rec[0], 1, 4);
	ck_assert_uint_eq(flowtab_count(c.t), 1);
	ck_assert_uint_eq(c.last.packets, 1);
	ck_assert_uint_eq(c.last.first, t0 + 5 * NS);
	ck_assert_str_eq(flow_reason_name(FLOW_R_REUSE), "reuse");
	ctx_free(&c);
}
END_TEST

/* Both sides send a SYN (simultaneous open): one flow. */
START_TEST(test_simultaneous_open)
{
	struct ctx c;
	uint64_t id;

	ctx_init(&c, NULL);
	id = feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 1000, 0, 0, BASE_TS));
	ck_assert_uint_eq(feed(&c, pkt4(B, BP, A, AP, TCPF_SYN, 5000, 0, 0, BASE_TS + 1)), id);
	ck_assert_uint_eq(flowtab_count(c.t), 1);
	ck_assert_uint_eq(c.n, 0);
	ctx_free(&c);
}
END_TEST

/* --- missing SYN ---------------------------------------------------------- */

START_TEST(test_partial_data_first)
{
	struct ctx c;
	uint32_t hi = IP(10, 9, 9, 9), lo = IP(10, 0, 0, 1);
	uint64_t id, id2;

	ctx_init(&c, NULL);
	/* The higher side sends first: it becomes the source. */
	id = feed(&c, pkt4(hi, 5555, lo, 80, TCPF_ACK | TCPF_PSH, 1, 1, 10, BASE_TS));
	ck_assert_uint_eq(c.last.flags & FLOWF_PARTIAL, FLOWF_PARTIAL);
	ck_assert_uint_eq(c.last.init, 1);
	feed(&c, pkt4(lo, 80, hi, 5555, TCPF_ACK, 1, 11, 0, BASE_TS + 1));
	ck_assert_uint_eq(c.last.init, 1);
	/* A SYN on a flow that began mid-stream starts a new one. */
	id2 = feed(&c, pkt4(hi, 5555, lo, 80, TCPF_SYN, 50, 0, 0, BASE_TS + 2));
	ck_assert_uint_ne(id, id2);
	ck_assert_uint_eq(c.last.flags & FLOWF_PARTIAL, 0);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.rec[0].flags & FLOWF_PARTIAL, FLOWF_PARTIAL);
	ck_assert_str_eq(c.rec[0].label, "10.9.9.9_5555-10.0.0.1_80-1700000000.000100");
	ctx_free(&c);
}
END_TEST

START_TEST(test_partial_synack_first)
{
	struct ctx c;
	uint32_t hi = IP(10, 9, 9, 9), lo = IP(10, 0, 0, 1);

	ctx_init(&c, NULL);
	/* SYN/ACK from the lower side: the SYN's sender (the target) is the source. */
	feed(&c, pkt4(lo, 80, hi, 5555, TCPF_SYN | TCPF_ACK, 1, 1, 0, BASE_TS));
	ck_assert_uint_eq(c.last.flags & FLOWF_PARTIAL, FLOWF_PARTIAL);
	ck_assert_uint_eq(c.last.init, 1);
	/* SYN/ACK from the higher side: the lower one opened. */
	feed(&c, pkt4(hi, 443, lo, 6666, TCPF_SYN | TCPF_ACK, 1, 1, 0, BASE_TS + 1));
	ck_assert_uint_eq(c.last.init, 0);
	ck_assert_uint_eq(c.last.flags & FLOWF_PARTIAL, FLOWF_PARTIAL);
	flowtab_end_all(c.t, FLOW_R_EOF);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_str_eq(c.rec[0].label, "10.9.9.9_5555-10.0.0.1_80-1700000000.000100");
	ck_assert_str_eq(c.rec[1].label, "10.0.0.1_6666-10.9.9.9_443-1700000000.000100");
	ctx_free(&c);
}
END_TEST

/* --- timers --------------------------------------------------------------- */

START_TEST(test_idle)
{
	struct ctx c;
	uint64_t t0 = BASE_TS, t1 = BASE_TS + 10 * NS, t2 = BASE_TS + 20 * NS;
	uint64_t f1, f2;

	ctx_init(&c, NULL);
	ck_assert_uint_eq(next_due(&c), UINT64_MAX);
	f1 = feed(&c, pkt4(A, 1, B, 2, TCPF_SYN, 1, 0, 0, t0));
	ck_assert_uint_eq(next_due(&c), t0 + IDLE_NS);
	f2 = feed(&c, pkt4(A, 3, B, 4, TCPF_SYN, 1, 0, 0, t1));
	ck_assert_uint_eq(next_due(&c), t0 + IDLE_NS);
	/* Activity on the first flow moves the due time to the second. */
	feed(&c, pkt4(B, 2, A, 1, TCPF_SYN | TCPF_ACK, 1, 2, 0, t2));
	ck_assert_uint_eq(next_due(&c), t1 + IDLE_NS);
	flowtab_expire(c.t, t1 + IDLE_NS - 1);
	ck_assert_uint_eq(c.n, 0);
	flowtab_expire(c.t, t1 + IDLE_NS);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.rec[0].id, f2);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_IDLE);
	ck_assert_uint_eq(next_due(&c), t2 + IDLE_NS);
	flowtab_expire(c.t, t2 + IDLE_NS);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_uint_eq(c.rec[1].id, f1);
	ck_assert_int_eq(c.rec[1].reason, FLOW_R_IDLE);
	ck_assert_uint_eq(c.rec[1].nframes, 2);
	ck_assert_uint_eq(c.rec[1].frames[0], 1);
	ck_assert_uint_eq(c.rec[1].frames[1], 3);
	ck_assert_uint_eq(next_due(&c), UINT64_MAX);
	ctx_free(&c);
}
END_TEST

/* Linger and idle due times together: next_due is the earlier. */
START_TEST(test_next_due_linger)
{
	struct ctx c;
	uint64_t last;

	ctx_init(&c, NULL);
	feed(&c, pkt4(A, 7, B, 8, TCPF_SYN, 1, 0, 0, BASE_TS));
	last = conn_full(&c, BASE_TS + 1 * NS, NULL);
	ck_assert_uint_eq(next_due(&c), last + LINGER_NS);
	flowtab_expire(c.t, last + LINGER_NS);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(next_due(&c), BASE_TS + IDLE_NS);
	ctx_free(&c);
}
END_TEST

START_TEST(test_time_backwards)
{
	struct ctx c;
	uint64_t t0 = BASE_TS + 100 * NS, old = BASE_TS, f1, f2;

	ctx_init(&c, NULL);
	f1 = feed(&c, pkt4(A, 1, B, 2, TCPF_SYN, 1, 0, 0, t0));
	/* A packet stamped 100 s earlier (another input, or a clock step). */
	f2 = feed(&c, pkt4(A, 3, B, 4, TCPF_SYN, 1, 0, 0, old));
	ck_assert_uint_eq(c.last.first, old);
	ck_assert_uint_eq(c.last.touch, t0);
	/* Its idle time counts from the table clock, not from its own stamp. */
	ck_assert_uint_eq(next_due(&c), t0 + IDLE_NS);
	flowtab_expire(c.t, old + IDLE_NS);
	ck_assert_uint_eq(c.n, 0);
	/* An expire call with an older time does not step the clock back either. */
	flowtab_expire(c.t, 0);
	ck_assert_uint_eq(c.n, 0);
	/* An old packet on the first flow keeps it in activity order. */
	feed(&c, pkt4(B, 2, A, 1, TCPF_ACK, 1, 2, 0, old + 1));
	flowtab_expire(c.t, t0 + IDLE_NS);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_uint_eq(c.rec[0].id, f2);
	ck_assert_uint_eq(c.rec[1].id, f1);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_IDLE);
	ck_assert_int_eq(c.rec[1].reason, FLOW_R_IDLE);
	ck_assert_str_eq(c.rec[0].label, "10.0.0.1_3-10.0.0.2_4-1700000000.000100");
	/* The first flow's times are its earliest and latest, whatever their order. */
	ck_assert_uint_eq(c.rec[1].seg_first, old + 1);
	ck_assert_uint_eq(c.rec[1].seg_last, t0);
	ck_assert_uint_eq(flowtab_count(c.t), 0);
	ctx_free(&c);
}
END_TEST

/*
 * The capture's clock steps back 3 h in the middle of a connection (and of
 * its second segment): the index's first and last are the earliest and
 * latest times of each segment, never last before first; the label keeps the
 * first packet's time, and idle time still counts from the table's clock
 * (arrival order), not from the stamps.
 */
START_TEST(test_time_steps_back)
{
	struct flow_config cfg;
	struct ctx c;
	uint64_t t0 = BASE_TS + 3 * 3600 * NS, back = BASE_TS, id;

	ctx_cfg_default(&cfg);
	cfg.seg_packets = 4;
	ctx_init(&c, &cfg);
	id = feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 1000, 0, 0, t0));
	feed(&c, pkt4(B, BP, A, AP, TCPF_SYN | TCPF_ACK, 5000, 1001, 0, t0 + MS));
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 1001, 5001, 0, t0 + 2 * MS));
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK | TCPF_PSH, 1001, 5001, 100, t0 + 3 * MS));
	/* Segment 1: one packet before the step, three after it. */
	feed(&c, pkt4(B, BP, A, AP, TCPF_ACK | TCPF_PSH, 5001, 1101, 100, t0 + 4 * MS));
	feed(&c, pkt4(A, AP, B, BP, TCPF_FIN | TCPF_ACK, 1101, 5101, 0, back + 5 * MS));
	feed(&c, pkt4(B, BP, A, AP, TCPF_FIN | TCPF_ACK, 5101, 1102, 0, back + 7 * MS));
	ck_assert_uint_eq(feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 1102, 5102, 0, back + 6 * MS)), id);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.rec[0].seg_first, t0);
	ck_assert_uint_eq(c.rec[0].seg_last, t0 + 3 * MS);
	/* The flow's own times: first is its first packet's (the label's), last the latest. */
	ck_assert_uint_eq(c.last.first, t0);
	ck_assert_uint_eq(c.last.last, t0 + 4 * MS);
	ck_assert_uint_eq(c.last.touch, t0 + 4 * MS);
	ck_assert_int_eq(c.last.state, FLOW_LINGER);
	/* Linger counts from the table clock: nothing ends at the old stamps' time. */
	ck_assert_uint_eq(next_due(&c), t0 + 4 * MS + LINGER_NS);
	flowtab_expire(c.t, back + 7 * MS + LINGER_NS);
	ck_assert_uint_eq(c.n, 1);
	flowtab_expire(c.t, t0 + 4 * MS + LINGER_NS);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_int_eq(c.rec[1].reason, FLOW_R_FIN);
	ck_assert_uint_eq(c.rec[1].seg_no, 1);
	ck_assert_uint_eq(c.rec[1].seg_packets, 4);
	ck_assert_uint_eq(c.rec[1].seg_first, back + 5 * MS);
	ck_assert_uint_eq(c.rec[1].seg_last, t0 + 4 * MS);
	ck_assert_uint_le(c.rec[1].seg_first, c.rec[1].seg_last);
	ck_assert_str_eq(c.rec[1].label, c.rec[0].label);
	ck_assert_str_eq(c.rec[1].label, "10.0.0.1_1234-10.0.0.2_80-1700010800.000100");

	/* A flow whose packets all run backwards: first is the last packet's time. */
	feed(&c, pkt4(A, 7, B, 8, TCPF_ACK, 1, 1, 10, back + 3 * MS));
	feed(&c, pkt4(A, 7, B, 8, TCPF_ACK, 11, 1, 10, back + 2 * MS));
	feed(&c, pkt4(A, 7, B, 8, TCPF_ACK, 21, 1, 10, back + 1 * MS));
	flowtab_end_all(c.t, FLOW_R_EOF);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_uint_eq(c.rec[2].seg_first, back + 1 * MS);
	ck_assert_uint_eq(c.rec[2].seg_last, back + 3 * MS);
	ctx_free(&c);
}
END_TEST

/* --- eviction ------------------------------------------------------------- */

START_TEST(test_eviction_idle_order)
{
	struct flow_config cfg;
	struct ctx c;
	uint64_t f1, f2, f3, f4;

	ctx_cfg_default(&cfg);
	cfg.max_flows = 3;
	ctx_init(&c, &cfg);
	f1 = feed(&c, pkt4(A, 1, B, 80, TCPF_SYN, 1, 0, 0, BASE_TS + 1));
	f2 = feed(&c, pkt4(A, 2, B, 80, TCPF_SYN, 1, 0, 0, BASE_TS + 2));
	f3 = feed(&c, pkt4(A, 3, B, 80, TCPF_SYN, 1, 0, 0, BASE_TS + 3));
	feed(&c, pkt4(B, 80, A, 1, TCPF_SYN | TCPF_ACK, 1, 2, 0, BASE_TS + 4)); /* f1 busy */
	ck_assert_uint_eq(c.n, 0);
	f4 = feed(&c, pkt4(A, 4, B, 80, TCPF_SYN, 1, 0, 0, BASE_TS + 5));
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.rec[0].id, f2);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_EVICTED);
	ck_assert_uint_eq(flowtab_count(c.t), 3);
	/* The survivors are the ones we expect. */
	ck_assert_uint_eq(feed(&c, pkt4(A, 1, B, 80, TCPF_ACK, 2, 2, 0, BASE_TS + 6)), f1);
	ck_assert_uint_eq(feed(&c, pkt4(A, 3, B, 80, TCPF_ACK, 2, 2, 0, BASE_TS + 7)), f3);
	ck_assert_uint_eq(feed(&c, pkt4(A, 4, B, 80, TCPF_ACK, 2, 2, 0, BASE_TS + 8)), f4);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_str_eq(flow_reason_name(FLOW_R_EVICTED), "evicted");
	ctx_free(&c);
}
END_TEST

START_TEST(test_eviction_linger_first)
{
	struct flow_config cfg;
	struct ctx c;
	uint64_t f1, f3;

	ctx_cfg_default(&cfg);
	cfg.max_flows = 3;
	ctx_init(&c, &cfg);
	f1 = feed(&c, pkt4(A, 1, B, 80, TCPF_SYN, 1, 0, 0, BASE_TS + 1));
	feed(&c, pkt4(A, 2, B, 80, TCPF_SYN, 1, 0, 0, BASE_TS + 2));
	f3 = feed(&c, pkt4(A, 3, B, 80, TCPF_SYN, 1, 0, 0, BASE_TS + 3));
	feed(&c, pkt4(B, 80, A, 3, TCPF_RST | TCPF_ACK, 0, 2, 0, BASE_TS + 4));
	ck_assert_int_eq(c.last.state, FLOW_LINGER);
	feed(&c, pkt4(A, 4, B, 80, TCPF_SYN, 1, 0, 0, BASE_TS + 5));
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.rec[0].id, f3);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_RST); /* keeps its reason */
	/* The next one evicts the longest idle open flow. */
	feed(&c, pkt4(A, 5, B, 80, TCPF_SYN, 1, 0, 0, BASE_TS + 6));
	ck_assert_uint_eq(c.n, 2);
	ck_assert_uint_eq(c.rec[1].id, f1);
	ck_assert_int_eq(c.rec[1].reason, FLOW_R_EVICTED);
	ck_assert_uint_eq(flowtab_count(c.t), 3);
	ctx_free(&c);
}
END_TEST

/* --- first-fin mode --------------------------------------------------------- */

START_TEST(test_first_fin_mode)
{
	struct flow_config cfg;
	struct ctx c;
	uint64_t id, id2, t0 = BASE_TS;

	ctx_cfg_default(&cfg);
	cfg.end_mode = FLOW_END_FIRST_FIN;
	ctx_init(&c, &cfg);
	id = feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 100, 0, 0, t0));
	feed(&c, pkt4(B, BP, A, AP, TCPF_SYN | TCPF_ACK, 200, 101, 0, t0 + 1));
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK | TCPF_PSH, 101, 201, 10, t0 + 2));
	ck_assert_uint_eq(c.n, 0);
	feed(&c, pkt4(B, BP, A, AP, TCPF_FIN | TCPF_ACK, 201, 111, 0, t0 + 3));
	/* Ended by the release right after the FIN, which it includes. */
	ck_assert_int_eq(c.last.state, FLOW_CLOSED);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.rec[0].id, id);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_FIN);
	assert_frames(&c.rec[0], 1, 4);
	ck_assert_uint_eq(flowtab_count(c.t), 0);
	/* The next packet on the tuple starts a new (partial) flow. */
	id2 = feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 111, 202, 0, t0 + 4));
	ck_assert_uint_ne(id2, id);
	ck_assert_uint_eq(c.last.flags & FLOWF_PARTIAL, FLOWF_PARTIAL);
	ck_assert_uint_eq(c.last.init, 0);
	feed(&c, pkt4(A, AP, B, BP, TCPF_FIN | TCPF_ACK, 111, 202, 0, t0 + 5));
	ck_assert_uint_eq(c.n, 2);
	ck_assert_uint_eq(c.rec[1].id, id2);
	assert_frames(&c.rec[1], 5, 2);
	ck_assert_uint_eq(flowtab_count(c.t), 0);
	ctx_free(&c);
}
END_TEST

/* Without the release call the closed flow is still ended by the next packet. */
START_TEST(test_first_fin_no_release)
{
	struct flow_config cfg;
	struct ctx c;
	struct packet p;
	struct flow *f;

	ctx_cfg_default(&cfg);
	cfg.end_mode = FLOW_END_FIRST_FIN;
	ctx_init(&c, &cfg);
	p = pkt4(A, AP, B, BP, TCPF_FIN | TCPF_ACK, 1, 1, 0, BASE_TS);
	p.frame = 1;
	f = flowtab_packet(c.t, &p, 0, p.ts);
	ck_assert_int_eq(f->state, FLOW_CLOSED);
	p = pkt4(B, BP, A, AP, TCPF_ACK, 1, 2, 0, BASE_TS + 1);
	p.frame = 2;
	f = flowtab_packet(c.t, &p, 0, p.ts);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_FIN);
	assert_frames(&c.rec[0], 1, 1);
	ck_assert_uint_eq(f->packets, 1);
	flowtab_release(c.t, f);
	ck_assert_uint_eq(flowtab_count(c.t), 1);
	ctx_free(&c);
}
END_TEST

/*
 * The sequence data, RST, FIN, RST, ACK, RST on one tuple (no handshake
 * seen). Frame numbers 1..6; dt apart.
 */
static void
feed_rst_fin_sequence(struct ctx *c, uint64_t t0)
{
	feed(c, pkt4(A, AP, B, BP, TCPF_ACK | TCPF_PSH, 1001, 5001, 100, t0));
	feed(c, pkt4(B, BP, A, AP, TCPF_RST, 5001, 0, 0, t0 + 1 * MS));
	feed(c, pkt4(A, AP, B, BP, TCPF_FIN | TCPF_ACK, 1101, 5001, 0, t0 + 2 * MS));
	feed(c, pkt4(B, BP, A, AP, TCPF_RST, 5001, 0, 0, t0 + 3 * MS));
	feed(c, pkt4(A, AP, B, BP, TCPF_ACK, 1102, 5001, 0, t0 + 4 * MS));
	feed(c, pkt4(B, BP, A, AP, TCPF_RST, 5001, 0, 0, t0 + 5 * MS));
}

/*
 * pcapkit's rule: only a FIN ends a flow, so an RST before it changes
 * nothing. Two flows of three frames: data,RST,FIN | RST,ACK,RST.
 */
START_TEST(test_first_fin_after_rst)
{
	struct flow_config cfg;
	struct ctx c;
	uint64_t t0 = BASE_TS;

	ctx_cfg_default(&cfg);
	cfg.end_mode = FLOW_END_FIRST_FIN;
	ctx_init(&c, &cfg);
	feed_rst_fin_sequence(&c, t0);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_FIN);
	ck_assert_uint_eq(c.rec[0].packets, 3);
	assert_frames(&c.rec[0], 1, 3);
	/* The second flow is still open: its RSTs end nothing. */
	ck_assert_int_eq(c.last.state, FLOW_OPEN);
	ck_assert_uint_ne(c.last.id, c.rec[0].id);
	ck_assert_uint_eq(c.last.flags & FLOWF_PARTIAL, FLOWF_PARTIAL);
	ck_assert_uint_eq(flowtab_count(c.t), 1);
	ck_assert_uint_eq(next_due(&c), t0 + 5 * MS + IDLE_NS);
	flowtab_end_all(c.t, FLOW_R_EOF);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_int_eq(c.rec[1].reason, FLOW_R_EOF);
	ck_assert_uint_eq(c.rec[1].packets, 3);
	assert_frames(&c.rec[1], 4, 3);
	ctx_free(&c);
}
END_TEST

/*
 * The same sequence in the default mode: the first RST ends the connection
 * and the rest are stragglers caught by linger, so one flow of six frames,
 * reason rst, ended when linger runs out after the last packet.
 */
START_TEST(test_teardown_rst_then_fin)
{
	struct ctx c;
	uint64_t t0 = BASE_TS;

	ctx_init(&c, NULL);
	feed_rst_fin_sequence(&c, t0);
	ck_assert_uint_eq(c.n, 0);
	ck_assert_int_eq(c.last.state, FLOW_LINGER);
	ck_assert_int_eq(c.last.reason, FLOW_R_RST);
	ck_assert_uint_eq(flowtab_count(c.t), 1);
	ck_assert_uint_eq(next_due(&c), t0 + 5 * MS + LINGER_NS);
	flowtab_expire(c.t, t0 + 5 * MS + LINGER_NS - 1);
	ck_assert_uint_eq(c.n, 0);
	flowtab_expire(c.t, t0 + 5 * MS + LINGER_NS);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_RST);
	ck_assert_uint_eq(c.rec[0].packets, 6);
	assert_frames(&c.rec[0], 1, 6);
	ck_assert_uint_eq(flowtab_count(c.t), 0);
	ctx_free(&c);
}
END_TEST

/* First-fin mode: an RST alone ends nothing; no linger, the idle timeout applies. */
START_TEST(test_first_fin_rst_ignored)
{
	struct flow_config cfg;
	struct ctx c;
	uint64_t id, t0 = BASE_TS;

	ctx_cfg_default(&cfg);
	cfg.end_mode = FLOW_END_FIRST_FIN;
	ctx_init(&c, &cfg);
	id = feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 100, 0, 0, t0));
	feed(&c, pkt4(B, BP, A, AP, TCPF_SYN | TCPF_ACK, 200, 101, 0, t0 + MS));
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 101, 201, 0, t0 + 2 * MS));
	feed(&c, pkt4(B, BP, A, AP, TCPF_RST, 201, 0, 0, t0 + 3 * MS));
	ck_assert_int_eq(c.last.state, FLOW_OPEN);
	ck_assert_int_eq(c.last.reason, FLOW_R_NONE);
	ck_assert_uint_eq(next_due(&c), t0 + 3 * MS + IDLE_NS);
	/* Past linger, well within idle: still the same flow. */
	flowtab_expire(c.t, t0 + 3 * MS + 2 * LINGER_NS);
	ck_assert_uint_eq(c.n, 0);
	ck_assert_uint_eq(
	    feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 101, 201, 0, t0 + 3 * MS + 2 * LINGER_NS)), id);
	flowtab_expire(c.t, t0 + 3 * MS + 2 * LINGER_NS + IDLE_NS);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_IDLE);
	assert_frames(&c.rec[0], 1, 5);
	ctx_free(&c);
}
END_TEST

/*
 * Switched to first-fin (a reload) while a flow lingers after an RST: its
 * next FIN ends it, that packet included, and the tuple starts anew.
 */
START_TEST(test_first_fin_reload_during_linger)
{
	struct flow_config cfg;
	struct ctx c;
	uint64_t id, t0 = BASE_TS;

	ctx_init(&c, NULL);
	id = feed(&c, pkt4(A, AP, B, BP, TCPF_ACK | TCPF_PSH, 1001, 5001, 100, t0));
	feed(&c, pkt4(B, BP, A, AP, TCPF_RST, 5001, 0, 0, t0 + MS));
	ck_assert_int_eq(c.last.state, FLOW_LINGER);
	cfg = c.cfg;
	cfg.end_mode = FLOW_END_FIRST_FIN;
	flowtab_setconfig(c.t, &cfg);
	ck_assert_uint_eq(
	    feed(&c, pkt4(A, AP, B, BP, TCPF_FIN | TCPF_ACK, 1101, 5001, 0, t0 + 2 * MS)), id);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_FIN);
	assert_frames(&c.rec[0], 1, 3);
	ck_assert_uint_eq(flowtab_count(c.t), 0);
	ck_assert_uint_eq(next_due(&c), UINT64_MAX);
	ck_assert_uint_ne(feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 1102, 5001, 0, t0 + 3 * MS)), id);
	ck_assert_uint_eq(flowtab_count(c.t), 1);
	ctx_free(&c);
}
END_TEST

/* --- segments ------------------------------------------------------------------ */

START_TEST(test_segments_packets)
{
	struct flow_config cfg;
	struct ctx c;
	uint64_t id, t0 = BASE_TS;
	int i;

	ctx_cfg_default(&cfg);
	cfg.seg_packets = 3;
	ctx_init(&c, &cfg);
	id = feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 100, 0, 0, t0));
	feed(&c, pkt4(B, BP, A, AP, TCPF_SYN | TCPF_ACK, 200, 101, 0, t0 + 1));
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 101, 201, 0, t0 + 2));
	ck_assert_uint_eq(c.n, 0);
	/* The fourth packet hands over the full segment first. */
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK | TCPF_PSH, 101, 201, 5, t0 + 3));
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_ROTATE);
	ck_assert_uint_eq(c.rec[0].id, id);
	ck_assert_uint_eq(c.rec[0].seg_no, 0);
	ck_assert_uint_eq(c.rec[0].seg_packets, 3);
	ck_assert_uint_eq(c.rec[0].seg_first, t0);
	ck_assert_uint_eq(c.rec[0].seg_last, t0 + 2);
	ck_assert_uint_eq(c.rec[0].seg_bytes, 3 * 54);
	assert_frames(&c.rec[0], 1, 3);
	ck_assert_uint_eq(c.last.seg_no, 1);
	ck_assert_uint_eq(c.last.seg_packets, 1);
	ck_assert_uint_eq(c.last.seg_first, t0 + 3);
	ck_assert_uint_eq(c.last.packets, 4);
	for (i = 0; i < 3; i++)
		feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 106, 201, 0, t0 + 4 + (uint64_t)i));
	ck_assert_uint_eq(c.n, 2);
	ck_assert_int_eq(c.rec[1].reason, FLOW_R_ROTATE);
	ck_assert_uint_eq(c.rec[1].seg_no, 1);
	assert_frames(&c.rec[1], 4, 3);
	ck_assert_uint_eq(c.rec[1].seg_bytes, 3 * 54 + 5);
	flowtab_end_all(c.t, FLOW_R_EOF);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_int_eq(c.rec[2].reason, FLOW_R_EOF);
	ck_assert_uint_eq(c.rec[2].seg_no, 2);
	ck_assert_uint_eq(c.rec[2].seg_packets, 1);
	assert_frames(&c.rec[2], 7, 1);
	ck_assert_uint_eq(c.rec[2].packets, 7);
	ck_assert_uint_eq(c.rec[2].bytes, 7 * 54 + 5);
	ck_assert_uint_eq(c.rec[2].id, id);
	/* One label for the whole flow: its first packet's time. */
	ck_assert_str_eq(c.rec[2].label, c.rec[0].label);
	ctx_free(&c);
}
END_TEST

/* A segment ends before the packet whose record would take it past seg_size. */
START_TEST(test_segments_size)
{
	struct flow_config cfg;
	struct ctx c;

	ctx_cfg_default(&cfg);
	cfg.seg_size = 3 * (16 + 54) + 10; /* three empty segments fit, plus 10 bytes */
	ctx_init(&c, &cfg);
	feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 100, 0, 0, BASE_TS));
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 101, 0, 0, BASE_TS + 1));
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 101, 0, 10, BASE_TS + 2)); /* exactly fits */
	ck_assert_uint_eq(c.n, 0);
	ck_assert_uint_eq(c.last.seg_size, cfg.seg_size);
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 111, 0, 0, BASE_TS + 3));
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_ROTATE);
	assert_frames(&c.rec[0], 1, 3);
	ck_assert_uint_eq(c.last.seg_size, 16 + 54);
	/* A single packet larger than the bound still makes a segment of its own. */
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 111, 0, 1000, BASE_TS + 4));
	ck_assert_uint_eq(c.n, 2);
	assert_frames(&c.rec[1], 4, 1);
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 1111, 0, 0, BASE_TS + 5));
	ck_assert_uint_eq(c.n, 3);
	assert_frames(&c.rec[2], 5, 1);
	ck_assert_uint_eq(c.rec[2].seg_no, 2);
	ctx_free(&c);
}
END_TEST

/* Rotation keeps the teardown state: a lingering flow rotates and still ends fin. */
START_TEST(test_segments_keep_reason)
{
	struct flow_config cfg;
	struct ctx c;
	uint64_t last;

	ctx_cfg_default(&cfg);
	cfg.seg_packets = 8;
	ctx_init(&c, &cfg);
	last = conn_full(&c, BASE_TS, NULL);
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 1102, 5102, 0, last + 1)); /* 9th: rotates */
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_ROTATE);
	ck_assert_int_eq(c.last.state, FLOW_LINGER);
	ck_assert_int_eq(c.last.reason, FLOW_R_FIN);
	flowtab_expire(c.t, last + 1 + LINGER_NS);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_int_eq(c.rec[1].reason, FLOW_R_FIN);
	ck_assert_uint_eq(c.rec[1].seg_no, 1);
	assert_frames(&c.rec[1], 9, 1);
	ctx_free(&c);
}
END_TEST

/* --- submit ------------------------------------------------------------------ */

struct flow_ptrs {
	struct flow *f[16];
	size_t n;
};

static void
collect_ptr(struct flow *f, void *arg)
{
	struct flow_ptrs *p = arg;

	ck_assert_uint_lt(p->n, 16);
	p->f[p->n++] = f;
}

/* Submit every flow in the table, as engine_submit does; how many handed something over. */
static int
submit_all(struct ctx *c)
{
	struct flow_ptrs p = {{NULL}, 0};
	size_t i;
	int n = 0;

	flowtab_foreach(c->t, collect_ptr, &p);
	for (i = 0; i < p.n; i++)
		n += flowtab_submit(c->t, p.f[i]);
	return n;
}

/*
 * Submit is a snapshot (pcapkit's): the segment so far is handed over with
 * reason submit, the flow stays, and its later packets go on in the next
 * segment of the same flow (same id, same label, frame numbers going on).
 */
START_TEST(test_submit_goes_on)
{
	struct ctx c;
	uint64_t id, t0 = BASE_TS;

	ctx_init(&c, NULL);
	id = feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 1000, 0, 0, t0));
	feed(&c, pkt4(B, BP, A, AP, TCPF_SYN | TCPF_ACK, 5000, 1001, 0, t0 + MS));
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 1001, 5001, 0, t0 + 2 * MS));
	ck_assert_int_eq(submit_all(&c), 1);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_SUBMIT);
	ck_assert_int_eq(c.rec[0].goes_on, 1);
	ck_assert_uint_eq(c.rec[0].id, id);
	ck_assert_uint_eq(c.rec[0].seg_no, 0);
	assert_frames(&c.rec[0], 1, 3);
	ck_assert_uint_eq(flowtab_count(c.t), 1);
	/* Nothing new since: nothing handed over again (no empty segments). */
	ck_assert_int_eq(submit_all(&c), 0);
	ck_assert_uint_eq(c.n, 1);
	/* The connection goes on: the same flow, its next segment. */
	ck_assert_uint_eq(
	    feed(&c, pkt4(A, AP, B, BP, TCPF_ACK | TCPF_PSH, 1001, 5001, 100, t0 + 3 * MS)), id);
	ck_assert_int_eq(c.last.state, FLOW_OPEN);
	ck_assert_int_eq(c.last.reason, FLOW_R_NONE);
	ck_assert_uint_eq(c.last.seg_no, 1);
	ck_assert_uint_eq(c.last.seg_first, t0 + 3 * MS);
	feed(&c, pkt4(A, AP, B, BP, TCPF_FIN | TCPF_ACK, 1101, 5001, 0, t0 + 4 * MS));
	feed(&c, pkt4(B, BP, A, AP, TCPF_FIN | TCPF_ACK, 5001, 1102, 0, t0 + 5 * MS));
	ck_assert_uint_eq(feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 1102, 5002, 0, t0 + 6 * MS)), id);
	ck_assert_int_eq(c.last.state, FLOW_LINGER);
	flowtab_expire(c.t, t0 + 6 * MS + LINGER_NS);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_int_eq(c.rec[1].reason, FLOW_R_FIN);
	ck_assert_int_eq(c.rec[1].goes_on, 0);
	ck_assert_uint_eq(c.rec[1].id, id);
	ck_assert_uint_eq(c.rec[1].seg_no, 1);
	assert_frames(&c.rec[1], 4, 4);
	ck_assert_uint_eq(c.rec[1].packets, 7);
	ck_assert_uint_eq(c.rec[1].seg_first, t0 + 3 * MS);
	/* One label for the connection: its first packet's time. */
	ck_assert_str_eq(c.rec[1].label, c.rec[0].label);
	ck_assert_uint_eq(flowtab_count(c.t), 0);
	ctx_free(&c);
}
END_TEST

/*
 * A lingering flow (torn down) that is submitted ends with its own reason;
 * a flow submitted and ending with nothing since comes to the callback with
 * no packet in its segment (the engine files nothing then).
 */
START_TEST(test_submit_linger_and_empty)
{
	struct ctx c;
	uint64_t done, open, last;
	size_t i;

	ctx_init(&c, NULL);
	last = conn_full(&c, BASE_TS, &done);
	open = feed(&c, pkt4(A, 4000, B, BP, TCPF_SYN, 1, 0, 0, last + 1));
	ck_assert_int_eq(submit_all(&c), 2);
	ck_assert_uint_eq(c.n, 2);
	for (i = 0; i < 2; i++) {
		if (c.rec[i].id == done) {
			ck_assert_int_eq(c.rec[i].reason, FLOW_R_FIN);
			ck_assert_int_eq(c.rec[i].goes_on, 0);
			assert_frames(&c.rec[i], 1, 8);
		} else {
			ck_assert_uint_eq(c.rec[i].id, open);
			ck_assert_int_eq(c.rec[i].reason, FLOW_R_SUBMIT);
			ck_assert_int_eq(c.rec[i].goes_on, 1);
			assert_frames(&c.rec[i], 9, 1);
		}
	}
	ck_assert_uint_eq(flowtab_count(c.t), 1);
	flowtab_end_all(c.t, FLOW_R_SHUTDOWN);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_uint_eq(c.rec[2].id, open);
	ck_assert_int_eq(c.rec[2].reason, FLOW_R_SHUTDOWN);
	ck_assert_uint_eq(c.rec[2].seg_no, 1);
	ck_assert_uint_eq(c.rec[2].seg_packets, 0);
	ck_assert_uint_eq(c.rec[2].packets, 1);
	ctx_free(&c);
}
END_TEST

/* --- ending everything ---------------------------------------------------------- */

START_TEST(test_end_all)
{
	struct ctx c;
	uint64_t t0 = BASE_TS, fo, ff, fr;
	size_t i;
	int seen = 0;

	ctx_init(&c, NULL);
	fo = feed(&c, pkt4(A, 1, B, 2, TCPF_SYN, 1, 0, 0, t0));
	ff = feed(&c, pkt4(A, 3, B, 4, TCPF_FIN | TCPF_ACK, 1, 1, 0, t0 + 1));
	feed(&c, pkt4(B, 4, A, 3, TCPF_FIN | TCPF_ACK, 1, 2, 0, t0 + 2));
	feed(&c, pkt4(A, 3, B, 4, TCPF_ACK, 2, 2, 0, t0 + 3));
	ck_assert_int_eq(c.last.state, FLOW_LINGER);
	fr = feed(&c, pkt4(A, 5, B, 6, TCPF_RST, 1, 0, 0, t0 + 4));
	ck_assert_int_eq(c.last.state, FLOW_LINGER);
	ck_assert_uint_eq(flowtab_count(c.t), 3);
	flowtab_end_all(c.t, FLOW_R_EOF);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_uint_eq(flowtab_count(c.t), 0);
	for (i = 0; i < c.n; i++) {
		if (c.rec[i].id == fo) {
			ck_assert_int_eq(c.rec[i].reason, FLOW_R_EOF);
			seen |= 1;
		} else if (c.rec[i].id == ff) {
			ck_assert_int_eq(c.rec[i].reason, FLOW_R_FIN);
			seen |= 2;
		} else if (c.rec[i].id == fr) {
			ck_assert_int_eq(c.rec[i].reason, FLOW_R_RST);
			ck_assert_uint_eq(c.rec[i].flags & FLOWF_PARTIAL, FLOWF_PARTIAL);
			seen |= 4;
		}
	}
	ck_assert_int_eq(seen, 7);
	ck_assert_uint_eq(next_due(&c), UINT64_MAX);
	ctx_free(&c);
}
END_TEST

START_TEST(test_end_one)
{
	struct ctx c;
	struct packet p;
	struct flow *f;

	ctx_init(&c, NULL);
	feed(&c, pkt4(A, 1, B, 2, TCPF_SYN, 1, 0, 0, BASE_TS));
	p = pkt4(A, 3, B, 4, TCPF_SYN, 1, 0, 0, BASE_TS + 1);
	p.frame = 2;
	f = flowtab_packet(c.t, &p, 0, p.ts);
	flowtab_end(c.t, f, FLOW_R_SUBMIT);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_SUBMIT);
	assert_frames(&c.rec[0], 2, 1);
	ck_assert_uint_eq(flowtab_count(c.t), 1);
	ck_assert_str_eq(flow_reason_name(FLOW_R_SUBMIT), "submit");
	ck_assert_str_eq(flow_reason_name(FLOW_R_NREASONS), "unknown");
	ctx_free(&c);
}
END_TEST

/* The flows a fresh cursor walks to the end, by their source ports, into ports. */
static size_t
walk_ports(struct flow_cursor *cur, uint16_t *ports, size_t max)
{
	const struct flow *f;
	uint16_t port;
	size_t n = 0;

	while ((f = flowtab_cursor_next(cur)) != NULL) {
		ck_assert_uint_lt(n, max);
		flow_src(f, &port);
		ports[n++] = port;
	}
	return n;
}

/*
 * A listing's cursor: the flows there when it began, in creation order,
 * once each, whatever happens between its steps: flows ending (the one
 * it would return next, the last one), new flows (not returned), packets
 * moving flows on the idle list, a rekey laying the table out anew; and
 * a cursor outliving its table returns nothing.
 */
START_TEST(test_cursor)
{
	struct flow *fl[10], *f;
	struct flow_cursor *cur, *cur2;
	struct flow_config cfg;
	const struct flow *g;
	uint16_t ports[64];
	struct ctx c;
	struct packet p;
	size_t n;
	int i;

	ctx_cfg_default(&cfg);
	cfg.max_flows = 0; /* no eviction: the table grows below */
	ctx_init(&c, &cfg);
	for (i = 0; i < 10; i++) {
		p = pkt4(A, (uint16_t)(100 + i), B, 80, TCPF_SYN, 1, 0, 0, BASE_TS + (uint64_t)i);
		p.frame = (uint64_t)i + 1;
		fl[i] = flowtab_packet(c.t, &p, 0, p.ts);
	}
	cur = flowtab_cursor(c.t);
	cur2 = flowtab_cursor(c.t);
	g = flowtab_cursor_next(cur);
	ck_assert_ptr_eq(g, fl[0]);
	ck_assert_ptr_eq(flowtab_cursor_next(cur), fl[1]);
	/* the next one ends, and the last one; two new flows come; packets move others */
	flowtab_end(c.t, fl[2], FLOW_R_SUBMIT);
	flowtab_end(c.t, fl[9], FLOW_R_SUBMIT);
	for (i = 0; i < 2; i++) {
		p = pkt4(A, (uint16_t)(200 + i), B, 80, TCPF_SYN, 1, 0, 0, BASE_TS + 50);
		p.frame = 50 + (uint64_t)i;
		flowtab_packet(c.t, &p, 0, p.ts);
	}
	p = pkt4(B, 80, A, 103, TCPF_SYN | TCPF_ACK, 9, 2, 0, BASE_TS + 60);
	p.frame = 60;
	flowtab_packet(c.t, &p, 0, p.ts); /* fl[3] to the idle list's tail */
	f = fl[1];
	p = pkt4(B, 80, A, 101, TCPF_SYN | TCPF_ACK, 9, 2, 0, BASE_TS + 61);
	p.frame = 61;
	ck_assert_ptr_eq(flowtab_packet(c.t, &p, 0, p.ts), f); /* one returned already */
	n = walk_ports(cur, ports, 64);
	ck_assert_uint_eq(n, 6);
	for (i = 0; i < 6; i++)
		ck_assert_uint_eq(ports[i], 103 + i);
	ck_assert_ptr_null(flowtab_cursor_next(cur)); /* and stays done */
	flowtab_cursor_free(cur);

	/* the second, untouched so far: the 8 left of the 10, through a rekey */
	ck_assert_ptr_eq(flowtab_cursor_next(cur2), fl[0]);
	flowtab_end(c.t, fl[8], FLOW_R_SUBMIT); /* the last now */
	/* past 1,024 flows the table grows: every flow laid out anew, as by a rekey */
	for (i = 0; i < 1100; i++) {
		p = pkt4(
		    IP(10, 0, 0, 3), (uint16_t)(1000 + i), B, 80, TCPF_SYN, 1, 0, 0, BASE_TS + 80);
		p.frame = 1000 + (uint64_t)i;
		flowtab_packet(c.t, &p, 0, p.ts);
	}
	n = walk_ports(cur2, ports, 64);
	ck_assert_uint_eq(n, 6);
	ck_assert_uint_eq(ports[0], 101);
	ck_assert_uint_eq(ports[5], 107);
	flowtab_cursor_free(cur2);

	/* one that outlives its table (freed without ending its flows) */
	cur = flowtab_cursor(c.t);
	ctx_free(&c);
	ck_assert_ptr_null(flowtab_cursor_next(cur));
	flowtab_cursor_free(cur);

	/* a cursor over a table emptied meanwhile */
	ctx_init(&c, NULL);
	feed(&c, pkt4(A, 300, B, 80, TCPF_SYN, 1, 0, 0, BASE_TS));
	feed(&c, pkt4(A, 301, B, 80, TCPF_SYN, 1, 0, 0, BASE_TS + 1));
	cur = flowtab_cursor(c.t);
	flowtab_end_all(c.t, FLOW_R_SHUTDOWN);
	ck_assert_ptr_null(flowtab_cursor_next(cur));
	flowtab_cursor_free(cur);
	ctx_free(&c);
}
END_TEST

/* A table with the half-open rule: 5 s, proven past 4 packets, at most half_max. */
static void
ctx_half(struct ctx *c, uint32_t max_flows, uint32_t half_max)
{
	struct flow_config cfg;

	ctx_cfg_default(&cfg);
	cfg.half_ns = 5 * NS;
	cfg.half_packets = 4;
	cfg.half_max = half_max;
	cfg.max_flows = max_flows;
	ctx_init(c, &cfg);
}

/* The reason the flow with id ended, or -1 while it has not. */
static int
ended(const struct ctx *c, uint64_t id)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->rec[i].id == id)
			return c->rec[i].reason;
	return -1;
}

/*
 * The half-open rule (issue 25): a SYN alone ends unanswered after 5 s;
 * answered by a SYN-ACK, or a mid-stream flow once the other side speaks,
 * it is an open flow (idle_timeout); an RST answer is a teardown, not an
 * answer; retransmitted SYNs stay half-open up to half_packets packets.
 */
START_TEST(test_half_open)
{
	struct flowtab_half h;
	uint64_t syn, answered, mid, rst, retx;
	struct ctx c;
	int i;

	ctx_half(&c, 1000, 0);
	syn = feed(&c, pkt4(A, 1, B, 80, TCPF_SYN, 1, 0, 0, BASE_TS));
	answered = feed(&c, pkt4(A, 2, B, 80, TCPF_SYN, 1, 0, 0, BASE_TS));
	feed(&c, pkt4(B, 80, A, 2, TCPF_SYN | TCPF_ACK, 7, 2, 0, BASE_TS + MS));
	mid = feed(&c, pkt4(A, 3, B, 80, TCPF_ACK, 100, 7, 10, BASE_TS));
	rst = feed(&c, pkt4(A, 4, B, 80, TCPF_SYN, 1, 0, 0, BASE_TS));
	feed(&c, pkt4(B, 80, A, 4, TCPF_RST | TCPF_ACK, 0, 2, 0, BASE_TS + MS));
	retx = feed(&c, pkt4(A, 5, B, 80, TCPF_SYN, 1, 0, 0, BASE_TS));
	for (i = 1; i <= 3; i++)
		feed(&c, pkt4(A, 5, B, 80, TCPF_SYN, 1, 0, 0, BASE_TS + (uint64_t)i * NS));
	flowtab_half(c.t, &h);
	ck_assert_uint_eq(h.now, 3); /* syn, mid, retx (rst lingers) */
	feed(&c, pkt4(B, 80, A, 3, TCPF_ACK, 7, 110, 0, BASE_TS + 2 * NS)); /* mid answered */
	flowtab_half(c.t, &h);
	ck_assert_uint_eq(h.now, 2);

	flowtab_expire(c.t, BASE_TS + 5 * NS - 1);
	ck_assert_int_eq(ended(&c, syn), -1);
	flowtab_expire(c.t, BASE_TS + 5 * NS);
	ck_assert_int_eq(ended(&c, syn), FLOW_R_UNANSWERED);
	ck_assert_int_eq(ended(&c, rst), FLOW_R_REFUSED); /* lingered 2 s; only an RST came */
	ck_assert_int_eq(ended(&c, retx), -1);            /* its last SYN at 3 s */
	flowtab_expire(c.t, BASE_TS + 8 * NS);
	ck_assert_int_eq(ended(&c, retx), FLOW_R_UNANSWERED);
	ck_assert_int_eq(ended(&c, answered), -1);
	ck_assert_int_eq(ended(&c, mid), -1);
	flowtab_expire(c.t, BASE_TS + 3 * NS + IDLE_NS); /* the table's clock was at 3 s */
	ck_assert_int_eq(ended(&c, answered), FLOW_R_IDLE);
	ck_assert_int_eq(ended(&c, mid), FLOW_R_IDLE);
	ck_assert_str_eq(flow_reason_name(FLOW_R_UNANSWERED), "unanswered");
	ck_assert_str_eq(flow_reason_name(FLOW_R_REFUSED), "refused");

	/* a fifth SYN: more than half_packets, a flow of its own like any */
	retx = feed(&c, pkt4(A, 6, B, 80, TCPF_SYN, 1, 0, 0, BASE_TS + 100 * NS));
	for (i = 1; i <= 4; i++)
		feed(&c, pkt4(A, 6, B, 80, TCPF_SYN, 1, 0, 0, BASE_TS + (100 + (uint64_t)i) * NS));
	flowtab_expire(c.t, BASE_TS + 110 * NS);
	ck_assert_int_eq(ended(&c, retx), -1);
	ctx_free(&c);
}
END_TEST

/*
 * A flood: the table (max_flows 20) full of probes while connections come.
 * No connection is evicted; half-open flows beyond half_max (10) go oldest
 * first, counted; the table says it is overloaded (probes then end after a
 * fifth of half_open_timeout) until they fall to half the bound.
 */
START_TEST(test_half_open_flood)
{
	uint64_t conn[8];
	struct flowtab_half h;
	struct ctx c;
	size_t k;
	int i;

	ctx_half(&c, 20, 10);
	for (i = 0; i < 40; i++) {
		if (i % 5 == 0) { /* a connection now and then */
			conn[i / 5] = feed(&c, pkt4(A, (uint16_t)(1000 + i), B, 443, TCPF_SYN, 1, 0,
			                           0, BASE_TS + (uint64_t)i * MS));
			feed(&c, pkt4(B, 443, A, (uint16_t)(1000 + i), TCPF_SYN | TCPF_ACK, 9, 2, 0,
			             BASE_TS + (uint64_t)i * MS));
		}
		feed(&c, pkt4(IP(10, 9, 0, 1), (uint16_t)(2000 + i), B, 22, TCPF_SYN, 1, 0, 0,
		             BASE_TS + (uint64_t)i * MS));
	}
	for (k = 0; k < c.n; k++) {
		ck_assert_int_eq(c.rec[k].reason, FLOW_R_EVICTED);
		ck_assert_uint_eq(
		    c.rec[k].label[0] == '1' && strstr(c.rec[k].label, "_22-") != NULL, 1);
	}
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(ended(&c, conn[i]), -1);
	flowtab_half(c.t, &h);
	ck_assert_uint_eq(h.now, 10);
	ck_assert_uint_eq(h.evicted, 30);
	ck_assert_int_eq(h.overloaded, 1);
	ck_assert_uint_eq(flowtab_count(c.t), 18);
	/* overloaded: a probe ends after 1 s, not 5 */
	flowtab_expire(c.t, BASE_TS + 39 * MS + NS);
	flowtab_half(c.t, &h);
	ck_assert_uint_eq(h.now, 0);
	ck_assert_int_eq(h.overloaded, 0);
	ck_assert_int_eq(c.rec[c.n - 1].reason, FLOW_R_UNANSWERED);
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(ended(&c, conn[i]), -1);
	ctx_free(&c);
}
END_TEST

/* flowtab_free with flows still in it frees them without calling back. */
START_TEST(test_free_with_flows)
{
	struct ctx c;
	uint64_t last;

	ctx_init(&c, NULL);
	feed(&c, pkt4(A, 1, B, 2, TCPF_SYN, 1, 0, 0, BASE_TS));
	last = conn_full(&c, BASE_TS + 1, NULL);
	(void)last;
	ck_assert_uint_eq(flowtab_count(c.t), 2);
	ctx_free(&c);
	ck_assert_uint_eq(c.n, 0);
}
END_TEST

/* --- stress ------------------------------------------------------------------------ */

#define STRESS_FLOWS 100000
#define STRESS_PKTS  4

struct stress {
	uint64_t frames[STRESS_FLOWS][STRESS_PKTS];
	uint8_t nf[STRESS_FLOWS];
	uint8_t ended[STRESS_FLOWS];
	uint64_t nended;
	uint64_t bad;
};

static uint64_t
xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void
stress_end(struct flow *f, void *arg)
{
	struct stress *s = arg;
	struct flow_fn_iter it;
	uint64_t fr, i = f->isn[f->init];
	unsigned k = 0;

	if (i >= STRESS_FLOWS || s->ended[i] || f->reason != FLOW_R_EOF || f->packets != s->nf[i] ||
	    f->seg_packets != s->nf[i]) {
		s->bad++;
		return;
	}
	s->ended[i] = 1;
	s->nended++;
	flow_fn_begin(f, &it);
	while (flow_fn_next(&it, &fr)) {
		if (k >= s->nf[i] || s->frames[i][k] != fr)
			s->bad++;
		k++;
	}
	if (k != s->nf[i])
		s->bad++;
}

/* Flow i: a unique 10/8 source (an odd multiplier is a bijection), random rest. */
static struct packet
stress_pkt(uint32_t i, uint64_t r, int reply, uint8_t flags, uint64_t ts)
{
	uint32_t src = IP(10, 0, 0, 0) | ((i * 2654435761u) & 0xffffff);
	uint32_t dst = IP(172, 16, 0, 0) | (uint32_t)(r & 0xfffff);
	uint16_t sp = (uint16_t)(r >> 20), dp = (uint16_t)(r >> 36);
	struct packet p;

	if (reply)
		p = pkt4(dst, dp, src, sp, flags, 0, i + 1, 0, ts);
	else
		p = pkt4(src, sp, dst, dp, flags, i, 0, 0, ts);
	return p;
}

START_TEST(test_stress)
{
	struct flow_config cfg;
	struct flow_table *t;
	struct stress *s;
	uint64_t *rnd, seed = 0x9e3779b97f4a7c15ULL, frame = 0, ts = BASE_TS;
	struct packet p;
	struct flow *f;
	uint32_t i, j;

	s = calloc(1, sizeof *s);
	rnd = calloc(STRESS_FLOWS, sizeof *rnd);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(rnd);
	ctx_cfg_default(&cfg);
	cfg.max_flows = 10 * STRESS_FLOWS;
	cfg.idle_ns = 1000000 * NS;
	t = flowtab_new(&cfg, stress_end, s);
	for (i = 0; i < STRESS_FLOWS; i++) {
		rnd[i] = xorshift(&seed);
		p = stress_pkt(i, rnd[i], 0, TCPF_SYN, ts++);
		p.frame = ++frame;
		f = flowtab_packet(t, &p, 0, p.ts);
		ck_assert_uint_eq(f->packets, 1);
		s->frames[i][s->nf[i]++] = p.frame;
		flowtab_release(t, f);
		/* Now and then a packet, either way, on a random earlier flow. */
		if (xorshift(&seed) % 3 == 0) {
			j = (uint32_t)(xorshift(&seed) % (i + 1));
			if (s->nf[j] < STRESS_PKTS) {
				p = stress_pkt(j, rnd[j], s->nf[j] & 1, TCPF_ACK, ts++);
				p.frame = ++frame;
				f = flowtab_packet(t, &p, 0, p.ts);
				ck_assert_uint_eq(f->isn[f->init], j);
				s->frames[j][s->nf[j]++] = p.frame;
				ck_assert_uint_eq(f->packets, s->nf[j]);
				flowtab_release(t, f);
			}
		}
	}
	ck_assert_uint_eq(flowtab_count(t), STRESS_FLOWS);
	ck_assert_uint_eq(s->nended, 0);
	flowtab_end_all(t, FLOW_R_EOF);
	ck_assert_uint_eq(s->bad, 0);
	ck_assert_uint_eq(s->nended, STRESS_FLOWS);
	ck_assert_uint_eq(flowtab_count(t), 0);
	flowtab_free(t);
	free(rnd);
	free(s);
}
END_TEST

/* --- the keyed hash (hostile traffic) ----------------------------------------------- */

/*
 * SipHash-1-3 against Python's (3.11+: sys.hash_info.algorithm is
 * siphash13, and PYTHONHASHSEED=0 keys it with zeros):
 * PYTHONHASHSEED=0 python3 -c 'print(hash(bytes(range(N))) % 2**64)'.
 */
START_TEST(test_siphash_vectors)
{
	static const struct {
		size_t len;
		uint64_t h;
	} v[] = {{1, 7541581120933061747ULL}, {7, 3389392686435873370ULL},
	    {8, 16921169381604339434ULL}, {15, 17514137373579004394ULL},
	    {52, 16057047341037159258ULL}};
	struct sipkey zero = {0, 0};
	uint8_t buf[64];
	size_t i;

	for (i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)i;
	for (i = 0; i < sizeof v / sizeof v[0]; i++)
		ck_assert_uint_eq(siphash13(&zero, buf, v[i].len), v[i].h);
}
END_TEST

/* The key of SYN number i of a scan from many sources to B:80. */
static struct packet
probe(uint32_t i)
{
	return pkt4(IP(10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff),
	    (uint16_t)(1024 + (i % 60000)), B, BP, TCPF_SYN, i, 0, 0, BASE_TS + i);
}

/*
 * n packets whose flows share bucket 0 of a 1,024-bucket table under t's
 * hash: what an attacker who knows the key (or the seed, or a hash with
 * none) sends. Filled into out; the candidates tried, for the next call.
 */
static uint32_t
colliding(struct flow_table *t, const struct flow_config *cfg, struct packet *out, size_t n,
    uint32_t from)
{
	struct flow_key k;
	struct packet p;
	uint8_t dir;
	size_t got = 0;

	for (; got < n; from++) {
		p = probe(from);
		flow_key_of(cfg->key_mode, cfg->key_bare, &p, 0, &k, &dir);
		if ((flowtab_hash(t, &k) & 1023) == 0)
			out[got++] = p;
	}
	return from;
}

#define COLLIDING 300

/*
 * Keys that share one chain for a known seed (the daemon's was always 0)
 * share nothing in a table made as the daemon and the offline mode make
 * theirs (seed 0: a secret key from getrandom), and two such tables have
 * two keys.
 */
START_TEST(test_hash_key_secret)
{
	struct flow_config fixed, secret;
	struct flow_table *known, *t1, *t2;
	struct packet *p = calloc(COLLIDING, sizeof *p);
	struct flow_key k;
	struct flow *f;
	uint8_t dir;
	size_t i;

	ck_assert_ptr_nonnull(p);
	ctx_cfg_default(&fixed);
	fixed.max_flows = 0;
	secret = fixed;
	secret.seed = 0;
	known = flowtab_new(&fixed, NULL, NULL);
	colliding(known, &fixed, p, COLLIDING, 0);
	t1 = flowtab_new(&secret, NULL, NULL);
	t2 = flowtab_new(&secret, NULL, NULL);
	flow_key_of(secret.key_mode, secret.key_bare, &p[0], 0, &k, &dir);
	ck_assert_uint_ne(flowtab_hash(t1, &k), flowtab_hash(known, &k));
	ck_assert_uint_ne(flowtab_hash(t1, &k), flowtab_hash(t2, &k));
	for (i = 0; i < COLLIDING; i++) {
		p[i].frame = i + 1;
		f = flowtab_packet(t1, &p[i], 0, p[i].ts);
		flowtab_release(t1, f);
	}
	ck_assert_uint_eq(flowtab_count(t1), COLLIDING);
	/* 300 flows in 1,024 buckets at random: a chain of 6 has odds of about 1e-4. */
	ck_assert_uint_le(flowtab_longest_chain(t1), 8);
	ck_assert_uint_eq(flowtab_rekeys(t1), 0);
	flowtab_free(known);
	flowtab_free(t1);
	flowtab_free(t2);
	free(p);
}
END_TEST

/*
 * Whoever knows the key can fill one chain; the table bounds the walk:
 * past FLOW_CHAIN_MAX it takes a new key and every flow is still found.
 */
START_TEST(test_hash_chain_bounded)
{
	struct packet *p = calloc(COLLIDING, sizeof *p);
	struct flow_config cfg;
	struct flow_table *t;
	struct flow *f;
	size_t i;

	ck_assert_ptr_nonnull(p);
	ctx_cfg_default(&cfg);
	cfg.max_flows = 0;
	t = flowtab_new(&cfg, NULL, NULL);
	colliding(t, &cfg, p, COLLIDING, 0);
	for (i = 0; i < COLLIDING; i++) {
		p[i].frame = i + 1;
		f = flowtab_packet(t, &p[i], 0, p[i].ts);
		ck_assert_uint_eq(f->packets, 1);
		flowtab_release(t, f);
		ck_assert_uint_le(flowtab_longest_chain(t), FLOW_CHAIN_MAX + 1);
	}
	ck_assert_uint_ge(flowtab_rekeys(t), 1);
	ck_assert_uint_le(flowtab_longest_chain(t), 8);
	/* Every flow is found again under the new key: a second packet joins it. */
	for (i = 0; i < COLLIDING; i++) {
		p[i].flags = TCPF_ACK;
		p[i].frame = COLLIDING + i + 1;
		f = flowtab_packet(t, &p[i], 0, p[i].ts + MS);
		ck_assert_uint_eq(f->packets, 2);
		flowtab_release(t, f);
	}
	ck_assert_uint_eq(flowtab_count(t), COLLIDING);
	flowtab_free(t);
	free(p);
}
END_TEST

/*
 * Hints made for a whole batch before any of its packets is handled (as
 * engine_frames makes them), while the table changes under them: the
 * colliding flows rekey it half way (the hashes made before are stale),
 * the others grow it past 1,024 buckets (the buckets move). Every packet
 * still finds its own flow: one flow per connection, the second packet
 * joins the first's.
 */
#define HINTED (COLLIDING + 1500)

START_TEST(test_hint_stale)
{
	struct packet *p = calloc(HINTED, sizeof *p);
	struct flow_hint *h = calloc(HINTED, sizeof *h);
	struct flow_config cfg;
	struct flow_table *t;
	struct flow *f;
	size_t i, round;

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(h);
	ctx_cfg_default(&cfg);
	cfg.max_flows = 0;
	t = flowtab_new(&cfg, NULL, NULL);
	colliding(t, &cfg, p, COLLIDING, 0);
	for (i = COLLIDING; i < HINTED; i++)
		p[i] = probe(1000000 + (uint32_t)i);
	for (round = 1; round <= 2; round++) {
		for (i = 0; i < HINTED; i++) {
			p[i].frame = (round - 1) * HINTED + i + 1;
			flowtab_hint(t, &p[i], 0, &h[i]);
		}
		for (i = 0; i < HINTED; i++) {
			f = flowtab_packet_hinted(t, &p[i], &h[i], 0, p[i].ts + round * MS);
			ck_assert_msg(f->packets == round,
			    "packet %zu of round %zu: flow of %" PRIu64, i, round, f->packets);
			flowtab_release(t, f);
			p[i].flags = TCPF_ACK;
		}
		ck_assert_uint_eq(flowtab_count(t), HINTED);
	}
	ck_assert_uint_ge(flowtab_rekeys(t), 1);
	flowtab_free(t);
	free(h);
	free(p);
}
END_TEST

/*
 * Segments unbounded (segment_packets 0): a flow past 2^32 packets counts
 * on; a 32-bit counter wrapped to 0, and a flow of 0 packets is filed as
 * one with nothing in it. (The count is set near the edge by hand: four
 * billion packets would take a test an hour.)
 */
START_TEST(test_segment_packets_wide)
{
	struct flow_config cfg;
	struct flow *f;
	struct ctx c;
	struct packet p;

	ctx_cfg_default(&cfg);
	cfg.seg_packets = 0;
	ctx_init(&c, &cfg);
	p = pkt4(A, AP, B, BP, TCPF_ACK, 1, 1, 0, BASE_TS);
	p.frame = 1;
	f = flowtab_packet(c.t, &p, 0, p.ts);
	flowtab_release(c.t, f);
	f->seg_packets = UINT32_MAX;
	p.frame = 2;
	f = flowtab_packet(c.t, &p, 0, p.ts + MS);
	flowtab_release(c.t, f);
	ck_assert_uint_eq(f->seg_packets, (uint64_t)UINT32_MAX + 1);
	flowtab_end_all(c.t, FLOW_R_EOF);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.rec[0].seg_packets, (uint64_t)UINT32_MAX + 1);
	ctx_free(&c);
}
END_TEST

/* --- frame numbers ------------------------------------------------------------------ */

START_TEST(test_frame_varint)
{
	static const uint64_t fr[] = {
	    1, 2, 130, 20000, 1ULL << 40, (1ULL << 40) + 127, (1ULL << 40) + 255, (1ULL << 62)};
	size_t n = sizeof fr / sizeof fr[0], i;
	struct flow_fn_iter it;
	struct flow_config cfg;
	struct ctx c;
	struct packet p;
	struct flow *f = NULL;
	uint64_t v;

	ctx_cfg_default(&cfg);
	ctx_init(&c, &cfg);
	for (i = 0; i < n; i++) {
		p = pkt4(A, AP, B, BP, TCPF_ACK, 1, 1, 0, BASE_TS + i);
		p.frame = fr[i];
		f = flowtab_packet(c.t, &p, 0, p.ts);
		flowtab_release(c.t, f);
	}
	ck_assert_uint_eq(f->packets, n);
	/* 1 + 1 + 2 + 3 + 6 + 1 + 2 + 9 bytes of deltas. */
	ck_assert_uint_eq(f->fn.len, 25);
	flow_fn_begin(f, &it);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(flow_fn_next(&it, &v), 1);
		ck_assert_uint_eq(v, fr[i]);
	}
	ck_assert_int_eq(flow_fn_next(&it, &v), 0);
	ck_assert_int_eq(flow_fn_next(&it, &v), 0);
	flowtab_end_all(c.t, FLOW_R_EOF);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.rec[0].nframes, n);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(c.rec[0].frames[i], fr[i]);
	ctx_free(&c);
}
END_TEST

/* Many frames: the buffer grows and keeps every number. */
START_TEST(test_frame_many)
{
	struct flow_fn_iter it;
	struct ctx c;
	struct packet p;
	struct flow *f = NULL;
	uint64_t v, i, want = 0;

	ctx_init(&c, NULL);
	for (i = 0; i < 5000; i++) {
		p = pkt4(A, AP, B, BP, TCPF_ACK, 1, 1, 0, BASE_TS + i);
		p.frame = 1 + i * i; /* deltas grow from 1 to ~10000 bytes */
		f = flowtab_packet(c.t, &p, 0, p.ts);
		flowtab_release(c.t, f);
	}
	flow_fn_begin(f, &it);
	for (i = 0; flow_fn_next(&it, &v); i++) {
		want = 1 + i * i;
		ck_assert_uint_eq(v, want);
	}
	ck_assert_uint_eq(i, 5000);
	ctx_free(&c);
}
END_TEST

/* --- pcapkit compatibility: directional key, shortest label times ------- */

/* Python's repr of the float epoch: pcapkit's label times. */
START_TEST(test_label_shortest)
{
	static const struct {
		uint64_t ns;
		const char *want;
	} cases[] = {
	    {1300475168855330000ULL, "1300475168.85533"},   /* .855330 s */
	    {1329327786000000000ULL, "1329327786.0"},       /* a whole second */
	    {1418145369924505500ULL, "1418145369.9245055"}, /* ns past double precision */
	    {1418145369924505512ULL, "1418145369.9245055"}, /* the same double */
	    {1700000000000100000ULL, "1700000000.0001"},
	    {1700000001999999999ULL, "1700000002.0"}, /* rounds up to the second */
	    {0, "0.0"},
	    {1, "1e-09"}, /* Python's exponent form below 1e-4 */
	    {10000, "1e-05"},
	    {100000, "0.0001"},
	    {1500000000, "1.5"},
	    {18446744073709551615ULL, "18446744073.709553"},
	};
	char buf[64];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		label_time_shortest(buf, sizeof buf, cases[i].ns);
		ck_assert_msg(strcmp(buf, cases[i].want) == 0, "%llu: got %s, want %s",
		    (unsigned long long)cases[i].ns, buf, cases[i].want);
	}
}
END_TEST

static void
cfg_pcapkit(struct flow_config *cfg)
{
	ctx_cfg_default(cfg);
	cfg->end_mode = FLOW_END_FIRST_FIN;
	cfg->key_mode = FLOW_KEY_DIRECTIONAL;
	cfg->key_bare = 1;
	cfg->label_time = LABEL_TIME_SHORTEST;
	cfg->idle_ns = 0;
}

/* IPv6 in a shortest label: compressed, colons to dots; microseconds unless nanosecond. */
START_TEST(test_label_shortest_ipv6)
{
	struct flow_config cfg;
	struct ctx c;

	cfg_pcapkit(&cfg);
	ctx_init(&c, &cfg);
	feed(&c, pkt6("2001:db8:0:0:0:0:0:2", 5555, "2001:db8::1", 443, TCPF_SYN, 1, 0, 0,
	             1300475168855330999ULL));
	flowtab_end_all(c.t, FLOW_R_EOF);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_str_eq(c.rec[0].label, "2001.db8..2_5555-2001.db8..1_443-1300475168.85533");
	ck_assert_str_eq(c.rec[0].label_ns, "2001.db8..2_5555-2001.db8..1_443-1300475168.855331");
	ctx_free(&c);
}
END_TEST

/*
 * pcapkit's rule: each direction its own flow, its FIN (included) ends it,
 * the next packet with that key starts a new one; what is open at the end
 * is submitted.
 */
START_TEST(test_directional_first_fin)
{
	struct flow_config cfg;
	struct ctx c;
	uint64_t ab, ba, t0 = BASE_TS;

	cfg_pcapkit(&cfg);
	ctx_init(&c, &cfg);
	ab = feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 1000, 0, 0, t0));
	ba = feed(&c, pkt4(B, BP, A, AP, TCPF_SYN | TCPF_ACK, 5000, 1001, 0, t0 + MS));
	ck_assert_uint_ne(ab, ba);
	ck_assert_uint_eq(c.last.init, 0);
	ck_assert_uint_eq(c.last.flags & FLOWF_PARTIAL, 0); /* a SYN-ACK opens its direction */
	ck_assert_uint_eq(feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 1001, 5001, 0, t0 + 2 * MS)), ab);
	feed(&c, pkt4(A, AP, B, BP, TCPF_ACK | TCPF_PSH, 1001, 5001, 100, t0 + 3 * MS));
	ck_assert_uint_eq(
	    feed(&c, pkt4(B, BP, A, AP, TCPF_ACK | TCPF_PSH, 5001, 1101, 100, t0 + 4 * MS)), ba);
	ck_assert_uint_eq(flowtab_count(c.t), 2);
	feed(&c, pkt4(A, AP, B, BP, TCPF_FIN | TCPF_ACK, 1101, 5101, 0, t0 + 5 * MS));
	ck_assert_uint_eq(c.n, 1);
	feed(&c, pkt4(B, BP, A, AP, TCPF_FIN | TCPF_ACK, 5101, 1102, 0, t0 + 6 * MS));
	ck_assert_uint_eq(c.n, 2);
	ck_assert_uint_eq(flowtab_count(c.t), 0);
	ck_assert_uint_ne(feed(&c, pkt4(A, AP, B, BP, TCPF_ACK, 1102, 5102, 0, t0 + 7 * MS)), ab);
	flowtab_end_all(c.t, FLOW_R_EOF);
	ck_assert_uint_eq(c.n, 3);

	ck_assert_str_eq(c.rec[0].label, "10.0.0.1_1234-10.0.0.2_80-1700000000.0001");
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_FIN);
	ck_assert_uint_eq(c.rec[0].nframes, 4);
	ck_assert_uint_eq(c.rec[0].frames[0], 1);
	ck_assert_uint_eq(c.rec[0].frames[1], 3);
	ck_assert_uint_eq(c.rec[0].frames[2], 4);
	ck_assert_uint_eq(c.rec[0].frames[3], 6);
	ck_assert_str_eq(c.rec[1].label, "10.0.0.2_80-10.0.0.1_1234-1700000000.0011");
	ck_assert_int_eq(c.rec[1].reason, FLOW_R_FIN);
	ck_assert_uint_eq(c.rec[1].init, 0);
	ck_assert_uint_eq(c.rec[1].nframes, 3);
	ck_assert_uint_eq(c.rec[1].frames[0], 2);
	ck_assert_uint_eq(c.rec[1].frames[1], 5);
	ck_assert_uint_eq(c.rec[1].frames[2], 7);
	ck_assert_str_eq(c.rec[2].label, "10.0.0.1_1234-10.0.0.2_80-1700000000.0071");
	ck_assert_int_eq(c.rec[2].reason, FLOW_R_EOF);
	assert_frames(&c.rec[2], 8, 1);
	ck_assert_uint_eq(c.rec[2].flags & FLOWF_PARTIAL, FLOWF_PARTIAL);
	ctx_free(&c);
}
END_TEST

/* Nothing but a FIN ends a flow: no RST, no new SYN (port reuse), no idle timeout. */
START_TEST(test_directional_nothing_else_ends)
{
	struct flow_config cfg;
	struct ctx c;
	uint64_t id, t0 = BASE_TS;

	cfg_pcapkit(&cfg);
	ctx_init(&c, &cfg);
	id = feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 1000, 0, 0, t0));
	ck_assert_uint_eq(feed(&c, pkt4(A, AP, B, BP, TCPF_RST, 1001, 0, 0, t0 + MS)), id);
	ck_assert_uint_eq(next_due(&c), UINT64_MAX);
	flowtab_expire(c.t, t0 + 3650 * 86400 * NS);
	ck_assert_uint_eq(c.n, 0);
	/* A day later, a SYN with another ISN: still the same flow. */
	ck_assert_uint_eq(feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 77777, 0, 0, t0 + 86400 * NS)), id);
	ck_assert_uint_eq(
	    feed(&c, pkt4(A, AP, B, BP, TCPF_FIN | TCPF_ACK, 77778, 1, 0, t0 + 86401 * NS)), id);
	ck_assert_uint_eq(c.n, 1);
	assert_frames(&c.rec[0], 1, 4);
	ctx_free(&c);
}
END_TEST

/* A bare key has no VLAN and no interface; the flow remembers its first packet's interface. */
START_TEST(test_bare_key)
{
	struct flow_config cfg;
	struct ctx c;
	struct packet p;
	uint64_t id;

	cfg_pcapkit(&cfg);
	ctx_init(&c, &cfg);
	p = pkt4(A, AP, B, BP, TCPF_SYN, 1, 0, 0, BASE_TS);
	p.nvlan = 1;
	p.vlan[0] = 10;
	id = feed_if(&c, &p, 3);
	ck_assert_uint_eq(c.last.iface, 3);
	ck_assert_uint_eq(c.last.key.iface, 0);
	ck_assert_uint_eq(c.last.key.nvlan, 0);
	p = pkt4(A, AP, B, BP, TCPF_ACK, 2, 0, 0, BASE_TS + 1);
	p.nvlan = 1;
	p.vlan[0] = 20;
	ck_assert_uint_eq(feed_if(&c, &p, 1), id);
	ck_assert_uint_eq(c.last.iface, 3);
	ctx_free(&c);

	/* Directional alone keeps both in the key. */
	cfg.key_bare = 0;
	ctx_init(&c, &cfg);
	p = pkt4(A, AP, B, BP, TCPF_SYN, 1, 0, 0, BASE_TS);
	p.nvlan = 1;
	p.vlan[0] = 10;
	id = feed_if(&c, &p, 3);
	p = pkt4(A, AP, B, BP, TCPF_ACK, 2, 0, 0, BASE_TS + 1);
	ck_assert_uint_ne(feed_if(&c, &p, 3), id);
	p = pkt4(A, AP, B, BP, TCPF_ACK, 3, 0, 0, BASE_TS + 2);
	p.nvlan = 1;
	p.vlan[0] = 10;
	ck_assert_uint_ne(feed_if(&c, &p, 1), id);
	ck_assert_uint_eq(flowtab_count(c.t), 3);
	ctx_free(&c);
}
END_TEST

/*
 * Directional with teardown: the peer's FIN is another flow's, so this
 * direction's FIN (or an RST) tears it down, and it lingers for trailing
 * packets; a SYN after it starts anew.
 */
START_TEST(test_directional_teardown)
{
	struct flow_config cfg;
	struct ctx c;
	uint64_t ab, t0 = BASE_TS;

	ctx_cfg_default(&cfg);
	cfg.key_mode = FLOW_KEY_DIRECTIONAL;
	ctx_init(&c, &cfg);
	ab = feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 1000, 0, 0, t0));
	feed(&c, pkt4(A, AP, B, BP, TCPF_FIN | TCPF_ACK, 1001, 1, 0, t0 + MS));
	ck_assert_int_eq(c.last.state, FLOW_LINGER);
	ck_assert_int_eq(c.last.reason, FLOW_R_FIN);
	/* The retransmitted FIN joins. */
	ck_assert_uint_eq(
	    feed(&c, pkt4(A, AP, B, BP, TCPF_FIN | TCPF_ACK, 1001, 1, 0, t0 + 2 * MS)), ab);
	/* The other direction is its own flow, reset. */
	feed(&c, pkt4(B, BP, A, AP, TCPF_RST, 1, 0, 0, t0 + 3 * MS));
	ck_assert_int_eq(c.last.reason, FLOW_R_RST);
	ck_assert_uint_eq(flowtab_count(c.t), 2);
	/* A new SYN during linger starts a new flow. */
	ck_assert_uint_ne(feed(&c, pkt4(A, AP, B, BP, TCPF_SYN, 9000, 0, 0, t0 + 4 * MS)), ab);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(c.rec[0].reason, FLOW_R_FIN);
	assert_frames(&c.rec[0], 1, 3);
	ck_assert_str_eq(c.rec[0].label, "10.0.0.1_1234-10.0.0.2_80-1700000000.000100");
	flowtab_expire(c.t, t0 + 3 * MS + LINGER_NS);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_str_eq(c.rec[1].label, "10.0.0.2_80-10.0.0.1_1234-1700000000.003100");
	ctx_free(&c);
}
END_TEST

static Suite *
flow_suite(void)
{
	Suite *s = suite_create("flow");
	TCase *tc;

	tc = tcase_create("labels");
	tcase_add_test(tc, test_handshake_fin);
	tcase_add_test(tc, test_init_side_b);
	tcase_add_test(tc, test_label_ipv6);
	tcase_add_test(tc, test_label_suffix);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_test(tc, test_key_canonical);
	tcase_add_test(tc, test_key_same_address);
	suite_add_tcase(s, tc);

	tc = tcase_create("teardown");
	tcase_add_test(tc, test_simultaneous_close);
	tcase_add_test(tc, test_half_close_then_idle);
	tcase_add_test(tc, test_retransmitted_fin);
	tcase_add_test(tc, test_fin_ack_must_cover);
	tcase_add_test(tc, test_rst_linger);
	tcase_add_test(tc, test_syn_during_linger);
	tcase_add_test(tc, test_port_reuse_after_end);
	tcase_add_test(tc, test_reuse_new_isn);
	tcase_add_test(tc, test_simultaneous_open);
	tcase_add_test(tc, test_partial_data_first);
	tcase_add_test(tc, test_partial_synack_first);
	suite_add_tcase(s, tc);

	tc = tcase_create("timers");
	tcase_add_test(tc, test_idle);
	tcase_add_test(tc, test_next_due_linger);
	tcase_add_test(tc, test_time_backwards);
	tcase_add_test(tc, test_time_steps_back);
	tcase_add_test(tc, test_eviction_idle_order);
	tcase_add_test(tc, test_eviction_linger_first);
	suite_add_tcase(s, tc);

	tc = tcase_create("modes");
	tcase_add_test(tc, test_first_fin_mode);
	tcase_add_test(tc, test_first_fin_no_release);
	tcase_add_test(tc, test_first_fin_after_rst);
	tcase_add_test(tc, test_teardown_rst_then_fin);
	tcase_add_test(tc, test_first_fin_rst_ignored);
	tcase_add_test(tc, test_first_fin_reload_during_linger);
	tcase_add_test(tc, test_segments_packets);
	tcase_add_test(tc, test_segments_size);
	tcase_add_test(tc, test_segments_keep_reason);
	tcase_add_test(tc, test_submit_goes_on);
	tcase_add_test(tc, test_submit_linger_and_empty);
	tcase_add_test(tc, test_end_all);
	tcase_add_test(tc, test_end_one);
	tcase_add_test(tc, test_cursor);
	tcase_add_test(tc, test_half_open);
	tcase_add_test(tc, test_half_open_flood);
	tcase_add_test(tc, test_free_with_flows);
	suite_add_tcase(s, tc);

	tc = tcase_create("pcapkit");
	tcase_add_test(tc, test_label_shortest);
	tcase_add_test(tc, test_label_shortest_ipv6);
	tcase_add_test(tc, test_directional_first_fin);
	tcase_add_test(tc, test_directional_nothing_else_ends);
	tcase_add_test(tc, test_bare_key);
	tcase_add_test(tc, test_directional_teardown);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_add_test(tc, test_siphash_vectors);
	tcase_add_test(tc, test_hash_key_secret);
	tcase_add_test(tc, test_hash_chain_bounded);
	tcase_add_test(tc, test_hint_stale);
	tcase_add_test(tc, test_segment_packets_wide);
	suite_add_tcase(s, tc);

	tc = tcase_create("scale");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_stress);
	tcase_add_test(tc, test_frame_varint);
	tcase_add_test(tc, test_frame_many);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(flow_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
