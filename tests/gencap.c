/*
 * gencap.c: a reproducible capture generator for traceflow's tests.
 *
 * Writes a pcap file of complete, well-formed TCP connections (handshake,
 * data both ways, close) interleaved the way concurrent connections are on
 * a real link. The output depends only on the options and the seed, so a
 * test can regenerate its input instead of storing it, and a benchmark can
 * make a million packets in about a second. With -m the connections also
 * carry the encapsulations and TCP edge cases traceflow must handle, mixed
 * with non-TCP frames. With -O PCT about PCT percent of the connections
 * (chosen by a hash of the seed and the connection's number, so the same
 * ones every time) stop after their data with no FIN or RST: they are
 * still open when the capture ends, as a reader or a live daemon stopped
 * then would find them. -O draws nothing from the random sequence: without
 * it (or with -O 0) every capture a test or benchmark makes stays what it
 * was, byte for byte. No libpcap: the file format is simple enough to
 * write by hand, which also keeps the generator independent of the code it
 * tests.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* getopt, with -std=c11 */
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"
#include "frames.h"

#define MAX_PAYLOAD 60000

/* What a connection does next; OP_DATA repeats for the -p data packets. */
enum op {
	OP_END,
	OP_SYN,
	OP_SYNACK,
	OP_ACK_C,    /* client ACK of everything the server sent */
	OP_ACK_S,    /* server ACK of everything the client sent */
	OP_DATA,     /* data packets alternating client/server */
	OP_FIN_C,    /* client FIN/ACK */
	OP_FIN_C_RE, /* the same FIN again: a retransmission */
	OP_FINACK_S, /* server FIN/ACK, acking the client's FIN */
	OP_SIMFIN_S, /* server FIN sent before the client's FIN arrived */
	OP_RST_C,    /* client RST/ACK */
	OP_REUSE,    /* same 4-tuple, new ISNs: the next SYN starts a new connection */
	OP_RST_S,    /* server RST/ACK of a SYN: the port is closed */
	OP_SYN_RE    /* the client's SYN again, same ISN: a retry after the RST */
};

/* Edge cases of -m, spread over the connections by index. */
enum behavior { B_NORMAL, B_IPOPTS, B_FRAG, B_RST, B_NOSYN, B_REUSE, B_SIMCLOSE, B_REFIN, B_N };
enum encap { E_NONE, E_VLAN, E_QINQ, E_PPPOE, E_MPLS, E_N };

#define HANDSHAKE OP_SYN, OP_SYNACK, OP_ACK_C
#define CLOSE     OP_FIN_C, OP_FINACK_S, OP_ACK_C

static const uint8_t script_normal[] = {HANDSHAKE, OP_DATA, CLOSE, OP_END};
static const uint8_t script_rst[] = {HANDSHAKE, OP_DATA, OP_RST_C, OP_END};
static const uint8_t script_nosyn[] = {OP_DATA, CLOSE, OP_END};
static const uint8_t script_reuse[] = {
    HANDSHAKE, OP_DATA, CLOSE, OP_REUSE, HANDSHAKE, OP_DATA, CLOSE, OP_END};
static const uint8_t script_simclose[] = {
    HANDSHAKE, OP_DATA, OP_FIN_C, OP_SIMFIN_S, OP_ACK_C, OP_ACK_S, OP_END};
static const uint8_t script_refin[] = {
    HANDSHAKE, OP_DATA, OP_FIN_C, OP_FIN_C_RE, OP_FINACK_S, OP_ACK_C, OP_END};
/* -P: a scanner's probe, nothing answers it; or the port is closed. */
static const uint8_t script_probe[] = {OP_SYN, OP_END};
static const uint8_t script_refused[] = {OP_SYN, OP_RST_S, OP_END};
static const uint8_t script_retried[] = {OP_SYN, OP_RST_S, OP_SYN_RE, OP_RST_S, OP_END};

struct conn {
	uint64_t idx;
	int af;
	int behavior;
	int encap;
	const uint8_t *script;
	int pc;         /* index into script */
	int stop;       /* where it stops: OP_END, or after its last OP_DATA with -O */
	uint64_t ndata; /* data packets sent by the current OP_DATA */
	uint32_t caddr, saddr;
	uint8_t caddr6[16], saddr6[16];
	uint16_t cport, sport;
	uint32_t cnxt, snxt; /* next sequence number of each side */
	uint16_t cipid, sipid;
	uint32_t frag_id;
};

struct gen {
	/* options */
	uint64_t nconns;
	unsigned concurrent;
	uint64_t pkts;
	size_t payload;
	unsigned pct6;
	unsigned pct_open;   /* -O: share of the connections never closed */
	unsigned pct_probe;  /* -P: share of the connections that are a scanner's probes */
	uint64_t jump_frame; /* -J: this frame (1-based) is stamped 30 years ahead */
	uint64_t bad_offset; /* -X: seconds added to every pcapng interface's if_tsoffset */
	uint64_t nprobes;
	int mixed;
	int dlt;           /* DLT_T_* used to build frames */
	uint32_t linktype; /* LINKTYPE_* written in the file */
	int big;
	int nano;
	int ng;     /* pcapng, three interfaces */
	int cur_if; /* -g: the interface of the frame being built */
	uint64_t seed;
	uint64_t start;

	/* state */
	uint64_t rng;
	uint64_t ts; /* nanoseconds */
	FILE *out;
	struct fb f;
	struct fb dgram; /* a whole datagram, before fragmentation */
	uint64_t npackets, ntcp, nsessions, ntuples, nopen;
};

static const struct {
	const char *name;
	int dlt;
	uint32_t linktype;
} links[] = {
    {"en10mb", DLT_T_EN10MB, 1},
    {"sll", DLT_T_SLL, 113},
    {"sll2", DLT_T_SLL2, 276},
    {"null", DLT_T_NULL, 0},
    {"loop", DLT_T_LOOP, 108},
    {"raw", DLT_T_RAW, 101},
};

/* -g: the interfaces, in IDB order. tsresol: 10^-n, or 2^-n with the high bit. */
static const struct {
	const char *name;
	int dlt;
	uint16_t linktype;
	uint32_t snaplen;
	uint8_t tsresol;
	int64_t tsoffset; /* seconds */
} ng_ifs[] = {
    {"eth0", DLT_T_EN10MB, 1, 262144, 6, 0},
    {"tun0", DLT_T_RAW, 101, 65535, 9, 0},
    {"any", DLT_T_SLL, 113, 262144, 0x80 | 20, 1000000},
};
#define NG_IFS (sizeof(ng_ifs) / sizeof(ng_ifs[0]))

static const uint8_t opt_mss[] = {2, 4, 0x05, 0xb4};      /* MSS 1460 */
static const uint8_t opt_ra[] = {0x94, 0x04, 0x00, 0x00}; /* IPv4 Router Alert */
static const uint16_t server_ports[] = {80, 443, 8080, 5432};

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
	    "usage: gencap [-c CONNS] [-C CONCURRENT] [-p PKTS] [-s PAYLOAD] [-6 PCT] [-m]\n"
	    "              [-O PCT] [-P PCT] [-J N] [-X SEC]\n"
	    "              [-l en10mb|sll|sll2|null|loop|raw] [-b] [-n] [-g]\n"
	    "              [-S SEED] [-t START] -o OUT.pcap|-\n"
	    "  -O PCT  about PCT percent of the connections end with no FIN or RST\n"
	    "          (open at the end of the capture); which ones depends on -S\n"
	    "  -P PCT  about PCT percent of the connections are a scanner's probes\n"
	    "          (10.9.0.1): a SYN nothing answers, every third refused by an RST\n"
	    "          (every sixth retried with the same ISN and refused again)\n"
	    "  -J N    frame N alone is stamped 30 years ahead of the others\n"
	    "  -X SEC  (-g) SEC seconds more in every interface's if_tsoffset: times\n"
	    "          past what 64-bit nanoseconds hold, with a large SEC\n");
	exit(2);
}

/* splitmix64's output function: also a good hash of one 64-bit number. */
static uint64_t
mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* splitmix64: tiny, fast, and the same sequence on every platform. */
static uint64_t
rnd(struct gen *g)
{
	return mix(g->rng += 0x9e3779b97f4a7c15ull);
}

static uint64_t
number(const char *s, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s == '\0' || *s == '-' || *end != '\0' || errno != 0 || v < min || v > max)
		usage();
	return v;
}

static void
put32x(uint8_t *p, uint32_t v, int big)
{
	int i;

	for (i = 0; i < 4; i++)
		p[big ? i : 3 - i] = (uint8_t)(v >> (24 - 8 * i));
}

static void
put16x(uint8_t *p, uint16_t v, int big)
{
	p[big ? 0 : 1] = (uint8_t)(v >> 8);
	p[big ? 1 : 0] = (uint8_t)v;
}

static void
put64x(uint8_t *p, uint64_t v, int big)
{
	put32x(p + (big ? 0 : 4), (uint32_t)(v >> 32), big);
	put32x(p + (big ? 4 : 0), (uint32_t)v, big);
}

/* A pcapng block: type, length, body (padded to 4), length. */
static void
write_block(struct gen *g, uint32_t type, const uint8_t *body, size_t len)
{
	static const uint8_t zero[4];
	uint8_t h[8];
	size_t pad = (4 - len % 4) % 4;
	uint32_t total = (uint32_t)(12 + len + pad);

	put32x(h, type, g->big);
	put32x(h + 4, total, g->big);
	fwrite(h, 1, 8, g->out);
	fwrite(body, 1, len, g->out);
	fwrite(zero, 1, pad, g->out);
	put32x(h, total, g->big);
	fwrite(h, 1, 4, g->out);
}

static void
write_ng_header(struct gen *g)
{
	uint8_t b[64];
	size_t i, n, k;

	put32x(b, 0x1a2b3c4d, g->big);
	put16x(b + 4, 1, g->big);
	put16x(b + 6, 0, g->big);
	put64x(b + 8, UINT64_MAX, g->big); /* section length not given */
	put32x(b + 16, 0, g->big);         /* opt_endofopt */
	write_block(g, 0x0a0d0d0a, b, 20);
	for (i = 0; i < NG_IFS; i++) {
		memset(b, 0, sizeof(b));
		put16x(b, ng_ifs[i].linktype, g->big);
		put32x(b + 4, ng_ifs[i].snaplen, g->big);
		n = 8;
		k = strlen(ng_ifs[i].name);
		put16x(b + n, 2, g->big); /* if_name */
		put16x(b + n + 2, (uint16_t)k, g->big);
		memcpy(b + n + 4, ng_ifs[i].name, k);
		n += 4 + (k + 3) / 4 * 4;
		put16x(b + n, 9, g->big); /* if_tsresol */
		put16x(b + n + 2, 1, g->big);
		b[n + 4] = ng_ifs[i].tsresol;
		n += 8;
		if (ng_ifs[i].tsoffset != 0 || g->bad_offset != 0) {
			put16x(b + n, 14, g->big); /* if_tsoffset */
			put16x(b + n + 2, 8, g->big);
			put64x(b + n + 4, (uint64_t)ng_ifs[i].tsoffset + g->bad_offset, g->big);
			n += 12;
		}
		n += 4; /* opt_endofopt */
		write_block(g, 1, b, n);
	}
}

static void
write_header(struct gen *g)
{
	uint8_t h[24];

	if (g->ng) {
		write_ng_header(g);
		return;
	}
	put32x(h, g->nano ? 0xa1b23c4d : 0xa1b2c3d4, g->big);
	put16x(h + 4, 2, g->big);
	put16x(h + 6, 4, g->big);
	put32x(h + 8, 0, g->big);  /* thiszone */
	put32x(h + 12, 0, g->big); /* sigfigs */
	put32x(h + 16, 262144, g->big);
	put32x(h + 20, g->linktype, g->big);
	fwrite(h, 1, sizeof(h), g->out);
}

/* -g: the frame in g->f as an Enhanced Packet Block on g->cur_if, at g->ts. */
static void
write_epb(struct gen *g)
{
	static const uint8_t zero[4];
	uint8_t h[28];
	uint64_t sec = g->ts / 1000000000 - (uint64_t)ng_ifs[g->cur_if].tsoffset;
	uint64_t frac = g->ts % 1000000000, ticks, tps = 1;
	uint8_t r = ng_ifs[g->cur_if].tsresol;
	uint32_t total = (uint32_t)(32 + (g->f.len + 3) / 4 * 4);
	int i;

	if (r & 0x80)
		tps = 1ull << (r & 0x7f);
	else
		for (i = 0; i < r; i++)
			tps *= 10;
	ticks = sec * tps + frac * tps / 1000000000;
	put32x(h, 6, g->big);
	put32x(h + 4, total, g->big);
	put32x(h + 8, (uint32_t)g->cur_if, g->big);
	put32x(h + 12, (uint32_t)(ticks >> 32), g->big);
	put32x(h + 16, (uint32_t)ticks, g->big);
	put32x(h + 20, (uint32_t)g->f.len, g->big);
	put32x(h + 24, (uint32_t)g->f.len, g->big);
	fwrite(h, 1, sizeof(h), g->out);
	fwrite(g->f.buf, 1, g->f.len, g->out);
	fwrite(zero, 1, (4 - g->f.len % 4) % 4, g->out);
	put32x(h, total, g->big);
	fwrite(h, 1, 4, g->out);
}

#define JUMP_NS (30ull * 365 * 86400 * 1000000000) /* -J: 30 years */

/* Write the frame in g->f, a little later than the previous one. */
static void
write_frame(struct gen *g)
{
	uint8_t h[16];
	uint64_t sub;
	/* -J: this frame alone is ahead, the next one back in time */
	uint64_t jump = g->jump_frame == g->npackets + 1 ? JUMP_NS : 0;

	/* 50..150 us apart: about 100 us, never equal, with sub-microsecond digits. */
	g->ts += 50000 + rnd(g) % 100000 + jump;
	if (g->ng)
		write_epb(g);
	else {
		sub = g->ts % 1000000000;
		put32x(h, (uint32_t)(g->ts / 1000000000), g->big);
		put32x(h + 4, (uint32_t)(g->nano ? sub : sub / 1000), g->big);
		put32x(h + 8, (uint32_t)g->f.len, g->big);
		put32x(h + 12, (uint32_t)g->f.len, g->big);
		fwrite(h, 1, sizeof(h), g->out);
		fwrite(g->f.buf, 1, g->f.len, g->out);
	}
	g->npackets++;
	g->ts -= jump;
}

static void
put_link(struct gen *g, struct fb *f, const struct conn *c)
{
	uint16_t et = c->af == 6 ? 0x86dd : 0x0800;
	int dlt = g->dlt;

	if (g->ng) {
		g->cur_if = (int)(c->idx % NG_IFS);
		dlt = ng_ifs[g->cur_if].dlt;
	}
	if (dlt != DLT_T_EN10MB || c->encap == E_NONE) {
		fb_link(f, dlt, c->af);
		return;
	}
	switch (c->encap) {
	case E_VLAN:
		fb_eth(f, 0x8100);
		fb_vlan(f, (uint16_t)(100 + c->idx % 50), et);
		break;
	case E_QINQ:
		fb_eth(f, 0x88a8);
		fb_vlan(f, (uint16_t)(200 + c->idx % 50), 0x8100);
		fb_vlan(f, (uint16_t)(300 + c->idx % 50), et);
		break;
	case E_PPPOE:
		fb_eth(f, 0x8864);
		fb_pppoe(f, c->af == 6 ? 0x0057 : 0x0021);
		break;
	case E_MPLS: /* one or two labels, alternating by connection */
		fb_eth(f, 0x8847);
		if ((c->idx / E_N) % 2)
			fb_mpls(f, (uint32_t)(1000 + c->idx % 1000), 0);
		fb_mpls(f, (uint32_t)(2000 + c->idx % 1000), 1);
		break;
	}
}

/*
 * The IP header of a packet of c sent by the client (from_client) or the
 * server. A fragment passes its id and position; a whole datagram passes
 * frag_id 0 and fragment 0.
 */
static void
put_ip(struct fb *f, struct conn *c, int from_client, int fragment, uint32_t frag_id, int mf,
    uint16_t off8)
{
	struct fb_ip4 ip4;
	struct fb_ip6 ip6;

	if (c->af == 4) {
		memset(&ip4, 0, sizeof(ip4));
		ip4.src = from_client ? c->caddr : c->saddr;
		ip4.dst = from_client ? c->saddr : c->caddr;
		if (fragment)
			ip4.id = (uint16_t)frag_id;
		else
			ip4.id = from_client ? c->cipid++ : c->sipid++;
		ip4.proto = 6;
		ip4.mf = mf;
		ip4.frag_off = off8;
		if (c->behavior == B_IPOPTS) {
			ip4.opt = opt_ra;
			ip4.optlen = sizeof(opt_ra);
		}
		fb_ipv4(f, &ip4);
		return;
	}
	memset(&ip6, 0, sizeof(ip6));
	memcpy(ip6.src, from_client ? c->caddr6 : c->saddr6, 16);
	memcpy(ip6.dst, from_client ? c->saddr6 : c->caddr6, 16);
	ip6.nh = 6;
	fb_ipv6(f, &ip6);
	if (c->behavior == B_IPOPTS) {
		fb_ip6_ext(f, 0, 8);
		fb_ip6_ext(f, 60, 8);
	}
	if (fragment)
		fb_ip6_frag(f, 6, off8, mf, frag_id);
}

static uint32_t
round8(uint32_t n)
{
	return (n + 7) & ~7u;
}

/*
 * Send the TCP segment in g->dgram as 2 or 3 IP fragments, in order: the
 * first carries the TCP header, the others only data. Returns 0, or -1 when
 * the segment is too small to split (the caller sends it whole).
 */
static int
send_fragments(struct gen *g, struct conn *c, int from_client)
{
	const uint8_t *seg = g->dgram.buf + g->dgram.l4;
	uint32_t seglen = (uint32_t)(g->dgram.len - g->dgram.l4);
	uint32_t hlen = (uint32_t)(seg[12] >> 4) * 4;
	uint32_t nfr = 2 + (uint32_t)(rnd(g) % 2), cut[4], i, id;

	cut[0] = 0;
	cut[1] = round8(seglen / nfr > hlen ? seglen / nfr : hlen);
	if (cut[1] >= seglen)
		return -1;
	cut[2] = cut[1] + round8((seglen - cut[1]) / 2);
	if (nfr == 2 || cut[2] >= seglen || cut[2] == cut[1]) {
		nfr = 2;
		cut[2] = seglen;
	} else
		cut[3] = seglen;
	id = c->af == 6 ? ++c->frag_id : (from_client ? c->cipid++ : c->sipid++);

	for (i = 0; i < nfr; i++) {
		fb_init(&g->f);
		put_link(g, &g->f, c);
		put_ip(&g->f, c, from_client, 1, id, i + 1 < nfr, (uint16_t)(cut[i] / 8));
		fb_bytes(&g->f, seg + cut[i], cut[i + 1] - cut[i]);
		fb_finish(&g->f);
		write_frame(g);
		g->ntcp++;
	}
	return 0;
}

static void
send_tcp(struct gen *g, struct conn *c, int from_client, uint8_t flags, uint32_t seq, uint32_t ack,
    size_t paylen)
{
	struct fb_tcp t;

	memset(&t, 0, sizeof(t));
	t.sport = from_client ? c->cport : c->sport;
	t.dport = from_client ? c->sport : c->cport;
	t.seq = seq;
	t.ack = ack;
	t.flags = flags;
	t.paylen = paylen;
	t.fill = (uint8_t)('a' + c->idx % 26);
	if (flags & TCPF_SYN) {
		t.opt = opt_mss;
		t.optlen = sizeof(opt_mss);
	}

	if (c->behavior == B_FRAG && paylen > 0) {
		fb_init(&g->dgram);
		put_ip(&g->dgram, c, from_client, 0, 0, 0, 0);
		fb_tcp(&g->dgram, &t);
		fb_finish(&g->dgram);
		if (send_fragments(g, c, from_client) == 0)
			return;
	}
	fb_init(&g->f);
	put_link(g, &g->f, c);
	put_ip(&g->f, c, from_client, 0, 0, 0, 0);
	fb_tcp(&g->f, &t);
	fb_finish(&g->f);
	write_frame(g);
	g->ntcp++;
}

/* A UDP datagram or, on Ethernet, an ARP request: frames that are not TCP. */
static void
send_other(struct gen *g)
{
	struct fb_ip4 ip4;

	fb_init(&g->f);
	g->cur_if = 0; /* -g: on eth0 */
	if (g->dlt == DLT_T_EN10MB && rnd(g) % 2) {
		fb_eth(&g->f, 0x0806);
		fb_arp(&g->f);
	} else {
		fb_link(&g->f, g->dlt, 4);
		memset(&ip4, 0, sizeof(ip4));
		ip4.src = 0x0a020001; /* 10.2.0.1 */
		ip4.dst = 0x0a000009; /* 10.0.0.9 */
		ip4.id = (uint16_t)g->npackets;
		fb_ipv4(&g->f, &ip4);
		fb_udp(&g->f, 40000, 9, 32); /* discard: no dissector guesses at it */
	}
	fb_finish(&g->f);
	write_frame(g);
}

static void
conn_isn(struct gen *g, struct conn *c)
{
	c->cnxt = (uint32_t)rnd(g);
	c->snxt = (uint32_t)rnd(g);
}

/*
 * -O: whether connection idx is left open. A hash of the seed and idx, not
 * rnd(): the sequence, and so every other byte of the file, stays what it
 * is without -O.
 */
static int
conn_left_open(const struct gen *g, uint64_t idx)
{
	return mix(g->seed ^ mix(idx + 0x6f70656eull /* "open" */)) % 100 < g->pct_open;
}

/*
 * -P: whether connection idx is a probe of a scanner (10.9.0.1) instead,
 * to a port of its own on one of the servers: one SYN that nothing
 * answers, or every third one refused by an RST (every sixth then sent
 * again with its ISN, and refused again, as Windows retries a connect).
 * As -O, a hash, not rnd().
 */
static int
conn_probe(const struct gen *g, uint64_t idx)
{
	return mix(g->seed ^ mix(idx + 0x70726f6265ull /* "probe" */)) % 100 < g->pct_probe;
}

static void
probe_init(struct gen *g, struct conn *c, uint64_t idx)
{
	c->script = idx % 6 == 5 ? script_retried : idx % 3 == 2 ? script_refused : script_probe;
	c->caddr = 0x0a090001;
	c->cport = (uint16_t)(40000 + idx % 25000);
	c->sport = (uint16_t)(1000 + idx % 30000);
	c->af = 4;
	c->behavior = B_NORMAL;
	c->encap = E_NONE;
	g->nprobes++;
}

/* Where script stops: its OP_END, or for an open connection right after its last data. */
static int
script_stop(const uint8_t *script, int open)
{
	int i, last_data = 0;

	for (i = 0; script[i] != OP_END; i++)
		if (script[i] == OP_DATA)
			last_data = i;
	return open ? last_data + 1 : i;
}

static void
conn_init(struct gen *g, struct conn *c, uint64_t idx)
{
	int probe;

	memset(c, 0, sizeof(*c));
	c->idx = idx;
	c->af = rnd(g) % 100 < g->pct6 ? 6 : 4;
	c->behavior = g->mixed ? (int)(idx % B_N) : B_NORMAL;
	c->encap = g->mixed && g->dlt == DLT_T_EN10MB ? (int)(idx % E_N) : E_NONE;

	/*
	 * Client ports from Linux's ephemeral range, where no tshark dissector
	 * claims the traffic. (client address, client port) is unique for 7 M
	 * connections: the port repeats every 28000 connections, and then the
	 * third octet differs.
	 */
	c->cport = (uint16_t)(32768 + idx % 28000);
	c->caddr = 0x0a010000 | (uint32_t)(idx / 28000 % 256) << 8 | (uint32_t)(1 + idx % 250);
	c->sport = server_ports[idx % 4];
	c->saddr = 0x0a000001 + (uint32_t)(idx % 4);
	fb_ip6addr(
	    c->caddr6, 0x000c0000 | (uint32_t)(idx / 64000 % 65536), (uint32_t)(1 + idx % 250));
	fb_ip6addr(c->saddr6, 0x00050000, (uint32_t)(1 + idx % 4));

	switch (c->behavior) {
	case B_RST:
		c->script = script_rst;
		break;
	case B_NOSYN:
		c->script = script_nosyn;
		break;
	case B_REUSE:
		c->script = script_reuse;
		break;
	case B_SIMCLOSE:
		c->script = script_simclose;
		break;
	case B_REFIN:
		c->script = script_refin;
		break;
	default:
		c->script = script_normal;
		break;
	}
	probe = g->pct_probe > 0 && conn_probe(g, idx);
	if (probe)
		probe_init(g, c, idx);
	c->stop = script_stop(c->script, !probe && conn_left_open(g, idx));
	g->nopen += c->script[c->stop] != OP_END;
	conn_isn(g, c);
	c->cipid = (uint16_t)rnd(g);
	c->sipid = (uint16_t)rnd(g);
	c->frag_id = (uint32_t)rnd(g);
	g->nsessions++;
	g->ntuples++;
}

/* Send the connection's next packet. Returns 0 while it has more to send, 1 when done. */
static int
conn_step(struct gen *g, struct conn *c)
{
	const uint8_t A = TCPF_ACK;
	int client;

	for (;;) {
		if (c->pc == c->stop) /* an open connection, after its data */
			return 1;
		switch (c->script[c->pc]) {
		case OP_END:
			return 1;
		case OP_SYN:
			send_tcp(g, c, 1, TCPF_SYN, c->cnxt++, 0, 0);
			break;
		case OP_SYNACK:
			send_tcp(g, c, 0, TCPF_SYN | A, c->snxt++, c->cnxt, 0);
			break;
		case OP_ACK_C:
			send_tcp(g, c, 1, A, c->cnxt, c->snxt, 0);
			break;
		case OP_ACK_S:
			send_tcp(g, c, 0, A, c->snxt, c->cnxt, 0);
			break;
		case OP_DATA:
			if (c->ndata == g->pkts) {
				c->ndata = 0;
				c->pc++;
				continue;
			}
			client = c->ndata++ % 2 == 0;
			if (client) {
				send_tcp(g, c, 1, TCPF_PSH | A, c->cnxt, c->snxt, g->payload);
				c->cnxt += (uint32_t)g->payload;
			} else {
				send_tcp(g, c, 0, TCPF_PSH | A, c->snxt, c->cnxt, g->payload);
				c->snxt += (uint32_t)g->payload;
			}
			return 0; /* stay on OP_DATA */
		case OP_FIN_C:
			send_tcp(g, c, 1, TCPF_FIN | A, c->cnxt++, c->snxt, 0);
			break;
		case OP_FIN_C_RE:
			send_tcp(g, c, 1, TCPF_FIN | A, c->cnxt - 1, c->snxt, 0);
			break;
		case OP_FINACK_S:
			send_tcp(g, c, 0, TCPF_FIN | A, c->snxt++, c->cnxt, 0);
			break;
		case OP_SIMFIN_S: /* crosses the client's FIN: does not ack it */
			send_tcp(g, c, 0, TCPF_FIN | A, c->snxt++, c->cnxt - 1, 0);
			break;
		case OP_RST_C:
			send_tcp(g, c, 1, TCPF_RST | A, c->cnxt, c->snxt, 0);
			break;
		case OP_RST_S:
			send_tcp(g, c, 0, TCPF_RST | A, 0, c->cnxt, 0);
			break;
		case OP_SYN_RE:
			send_tcp(g, c, 1, TCPF_SYN, c->cnxt - 1, 0, 0);
			break;
		case OP_REUSE: /* no packet: the next SYN starts over on the same tuple */
			conn_isn(g, c);
			g->nsessions++;
			c->pc++;
			continue;
		}
		c->pc++;
		return c->pc == c->stop;
	}
}

static void
generate(struct gen *g)
{
	struct conn *active;
	uint64_t next = 0;
	unsigned nactive = 0, k;

	active = calloc(g->concurrent, sizeof(*active));
	if (active == NULL) {
		fprintf(stderr, "gencap: out of memory\n");
		exit(1);
	}
	write_header(g);
	while (nactive < g->concurrent && next < g->nconns)
		conn_init(g, &active[nactive++], next++);

	while (nactive > 0) {
		/* In mixed mode, a non-TCP frame early on for sure, then now and then. */
		if (g->mixed && (g->npackets == 2 || rnd(g) % 32 == 0))
			send_other(g);
		k = (unsigned)(rnd(g) % nactive);
		if (conn_step(g, &active[k]) == 0)
			continue;
		if (next < g->nconns)
			conn_init(g, &active[k], next++);
		else
			active[k] = active[--nactive];
	}
	free(active);
}

int
main(int argc, char **argv)
{
	struct gen *g;
	const char *out = NULL;
	size_t i;
	int ch, found;

	/* Large: two 64 KB frame buffers. */
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return 1;
	g->nconns = 20;
	g->concurrent = 5;
	g->pkts = 6;
	g->payload = 200;
	g->dlt = DLT_T_EN10MB;
	g->linktype = 1;
	g->seed = 1;
	g->start = 1700000000;

	while ((ch = getopt(argc, argv, "6:bC:c:gJ:l:mnO:o:P:p:S:s:t:X:")) != -1) {
		switch (ch) {
		case '6':
			g->pct6 = (unsigned)number(optarg, 0, 100);
			break;
		case 'b':
			g->big = 1;
			break;
		case 'C':
			g->concurrent = (unsigned)number(optarg, 1, 1000000);
			break;
		case 'c':
			g->nconns = number(optarg, 0, 7000000);
			break;
		case 'g':
			g->ng = 1;
			break;
		case 'l':
			found = 0;
			for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
				if (strcmp(optarg, links[i].name) == 0) {
					g->dlt = links[i].dlt;
					g->linktype = links[i].linktype;
					found = 1;
				}
			}
			if (!found)
				usage();
			break;
		case 'm':
			g->mixed = 1;
			break;
		case 'n':
			g->nano = 1;
			break;
		case 'O':
			g->pct_open = (unsigned)number(optarg, 0, 100);
			break;
		case 'J':
			g->jump_frame = number(optarg, 1, UINT64_MAX);
			break;
		case 'X':
			g->bad_offset = number(optarg, 1, INT64_MAX);
			break;
		case 'P':
			g->pct_probe = (unsigned)number(optarg, 0, 100);
			break;
		case 'o':
			out = optarg;
			break;
		case 'p':
			g->pkts = number(optarg, 0, UINT32_MAX);
			break;
		case 'S':
			g->seed = number(optarg, 0, UINT64_MAX);
			break;
		case 's':
			g->payload = number(optarg, 0, MAX_PAYLOAD);
			break;
		case 't':
			g->start = number(optarg, 0, UINT32_MAX);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || out == NULL)
		usage();

	if (strcmp(out, "-") == 0)
		g->out = stdout;
	else if ((g->out = fopen(out, "wb")) == NULL) {
		fprintf(stderr, "gencap: %s: %s\n", out, strerror(errno));
		return 1;
	}
	/* One write per megabyte, not per packet. */
	setvbuf(g->out, NULL, _IOFBF, 1 << 20);
	g->rng = g->seed;
	/* Start off the whole second with sub-microsecond digits, for -n. */
	g->ts = g->start * 1000000000ull + 123456789;

	generate(g);
	if (fflush(g->out) != 0 || ferror(g->out) || (g->out != stdout && fclose(g->out) != 0)) {
		fprintf(stderr, "gencap: %s: write error\n", out);
		return 1;
	}
	fprintf(stderr,
	    "gencap: %" PRIu64 " packets, %" PRIu64 " tcp packets, %" PRIu64
	    " connections (%" PRIu64 " 4-tuples)",
	    g->npackets, g->ntcp, g->nsessions, g->ntuples);
	if (g->pct_open > 0) /* the line tests read stays as it was without -O */
		fprintf(stderr, ", %" PRIu64 " left open", g->nopen);
	if (g->pct_probe > 0)
		fprintf(stderr, ", %" PRIu64 " probes", g->nprobes);
	fputc('\n', stderr);
	free(g);
	return 0;
}
