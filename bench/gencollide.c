/*
 * gencollide.c: a capture whose TCP flows all fall into one bucket of the
 * flow table as it was hashed before 98aca8d; it reproduces the finding of
 * issue 23 (part 1): with the daemon's seed always 0 and a seed-independent
 * multiply-xorshift hash, anyone who can send packets past the capturing
 * interface could chain every flow into one bucket, and every packet then
 * walks the chain.
 *
 *   gencollide [-o] [-n FLOWS] [-k ACKS] [-b BITS] -w FILE
 *
 * Writes a pcap (Ethernet, IPv4, TCP, 54-byte frames, 50 us apart, i.e.
 * 20,000 frames/s at capture speed) of FLOWS flows (default 16,384), each a
 * SYN then ACKS pure ACKs (default 11) from the client: first the SYNs of
 * all flows, then ACKS rounds of one ACK per flow, in the same order (so
 * every ACK finds the table full). Clients are 10.x.y.z, ports 1024-65535;
 * the server is 192.0.2.1:80.
 *
 * By default the (client address, client port) pairs are searched in order
 * and kept only when the old hash of the daemon's key (src/flow.c at
 * 0c424fd: key_hash with seed 0 over struct flow_key, side a the client
 * since 10.x sorts below 192.x, ports in host order, no VLAN, interface id
 * 0: the first and only interface of a live daemon) has its low BITS bits
 * (default 15) equal to the first pair's: the keys share one bucket at
 * every table size up to 2^BITS buckets, so the table's chain holds every
 * flow. With -o the flows are ordinary: client 10.0.0.1, ports 1024 up,
 * same shape and size. Either way stderr says the longest chain the flows
 * make in a table of the size the old daemon grows to.
 *
 * Standalone on purpose (no libpcap, no traceflow headers: the hash and the
 * key layout are copied from 0c424fd), built by bench/collide with cc.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* struct flow_key at 0c424fd (src/flow.h), DECODE_MAX_VLAN 4. */
struct old_key {
	uint8_t a[16];
	uint8_t b[16];
	uint16_t aport;
	uint16_t bport;
	uint16_t vlan[4];
	uint32_t iface;
	uint8_t af;
	uint8_t nvlan;
	uint8_t pad[2];
};
_Static_assert(sizeof(struct old_key) == 52, "the old key is 52 bytes");

/* key_hash at 0c424fd (src/flow.c). */
static uint64_t
old_hash(const struct old_key *k, uint64_t seed)
{
	const uint8_t *p = (const uint8_t *)k;
	uint64_t h = seed ^ 0x9e3779b97f4a7c15ULL, w;
	size_t i;

	for (i = 0; i + 8 <= sizeof *k; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
	}
	for (; i < sizeof *k; i++)
		h = (h ^ p[i]) * 0x94d049bb133111ebULL;
	return h ^ (h >> 29);
}

#define SERVER_ADDR 0xc0000201u /* 192.0.2.1 */
#define SERVER_PORT 80
#define CLIENT_BASE 0x0a000001u /* 10.0.0.1 */
#define PORT_LO     1024
#define NPORTS      (65536 - PORT_LO)

struct flow {
	uint32_t caddr; /* host order */
	uint16_t cport;
};

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* The daemon's key for a client's packet (the reply's key is the same). */
static void
key_of(struct old_key *k, uint32_t caddr, uint16_t cport)
{
	memset(k, 0, sizeof *k);
	put32(k->a, caddr); /* network order; 10.x < 192.x by memcmp: the client is side a */
	put32(k->b, SERVER_ADDR);
	k->aport = cport;
	k->bport = SERVER_PORT;
	k->iface = 0;
	k->af = 4;
}

static uint64_t
hash_of(uint32_t caddr, uint16_t cport)
{
	struct old_key k;

	key_of(&k, caddr, cport);
	return old_hash(&k, 0);
}

/*
 * old_hash of the key, its first 32 bytes (the addresses) hashed once per
 * client address: the state after them, then the words of the ports and
 * VLAN tags, the word of VLAN tags and interface (all zero) and the last 4
 * bytes (af 4, nvlan 0, padding). Checked against old_hash for every pair
 * kept.
 */
static uint64_t
prefix_of(uint32_t caddr)
{
	struct old_key k;
	const uint8_t *p = (const uint8_t *)&k;
	uint64_t h = 0x9e3779b97f4a7c15ULL, w;
	size_t i;

	key_of(&k, caddr, 0);
	for (i = 0; i < 32; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
	}
	return h;
}

static uint64_t
finish(uint64_t h, uint16_t cport)
{
	struct old_key k;
	const uint8_t *p = (const uint8_t *)&k;
	uint64_t w;
	size_t i;

	memset(&k, 0, sizeof k);
	k.aport = cport;
	k.bport = SERVER_PORT;
	k.af = 4;
	for (i = 32; i + 8 <= sizeof k; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
	}
	for (; i < sizeof k; i++)
		h = (h ^ p[i]) * 0x94d049bb133111ebULL;
	return h ^ (h >> 29);
}

/* The pairs whose old hash agrees with the first one's in the low bits. */
static void
search(struct flow *fl, uint32_t n, unsigned bits, uint64_t *tried)
{
	uint32_t mask = (uint32_t)((1ULL << bits) - 1), want = 0, got = 0, ai, p;
	int first = 1;

	*tried = 0;
	for (ai = 0; got < n; ai++) {
		uint32_t caddr = CLIENT_BASE + ai;
		uint64_t pre = prefix_of(caddr);

		for (p = 0; p < NPORTS && got < n; p++) {
			uint32_t b = (uint32_t)finish(pre, (uint16_t)(PORT_LO + p)) & mask;

			++*tried;
			if (first) {
				want = b;
				first = 0;
			}
			if (b == want) {
				if (((uint32_t)hash_of(caddr, (uint16_t)(PORT_LO + p)) & mask) !=
				    want)
					abort(); /* finish() is not old_hash */
				fl[got].caddr = caddr;
				fl[got].cport = (uint16_t)(PORT_LO + p);
				got++;
			}
		}
	}
}

/* The longest chain of the flows in a table of nb buckets (a power of two). */
static uint32_t
longest_chain(const struct flow *fl, uint32_t n, uint32_t nb)
{
	uint32_t *cnt = calloc(nb, sizeof *cnt), i, m = 0;

	if (cnt == NULL)
		abort();
	for (i = 0; i < n; i++) {
		uint32_t b = (uint32_t)hash_of(fl[i].caddr, fl[i].cport) & (nb - 1);

		if (++cnt[b] > m)
			m = cnt[b];
	}
	free(cnt);
	return m;
}

static uint16_t
csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t
csum_add(uint32_t s, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	return s;
}

static void
putle32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

#define FRAME_LEN 54

/* One frame from the client: SYN (seq isn) or ACK (seq isn+1, ack 1). */
static void
frame(uint8_t *f, const struct flow *fl, uint32_t isn, int syn, uint16_t ipid)
{
	static const uint8_t dmac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
	static const uint8_t smac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
	uint8_t *ip = f + 14, *tcp = ip + 20, pseudo[12];
	uint32_t s;

	memset(f, 0, FRAME_LEN);
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, 40);
	put16(ip + 4, ipid);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = 6;
	put32(ip + 12, fl->caddr);
	put32(ip + 16, SERVER_ADDR);
	put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	put16(tcp, fl->cport);
	put16(tcp + 2, SERVER_PORT);
	put32(tcp + 4, syn ? isn : isn + 1);
	put32(tcp + 8, syn ? 0 : 1);
	tcp[12] = 5 << 4;
	tcp[13] = syn ? 0x02 : 0x10;
	put16(tcp + 14, 64240);
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = 6;
	put16(pseudo + 10, 20);
	s = csum_add(csum_add(0, pseudo, 12), tcp, 20);
	put16(tcp + 16, csum_fold(s));
}

static void
usage(void)
{
	fprintf(stderr, "usage: gencollide [-o] [-n FLOWS] [-k ACKS] [-b BITS] -w FILE\n"
	                "  -o  ordinary flows (sequential client ports), not colliding ones\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	uint32_t n = 16384, acks = 11, i, r, nb;
	unsigned bits = 15;
	int ordinary = 0, ch;
	const char *out = NULL;
	struct flow *fl;
	uint64_t tried = 0, usec = 0;
	uint8_t hdr[24], rec[16], f[FRAME_LEN];
	uint16_t ipid = 0;
	FILE *fp;

	while ((ch = getopt(argc, argv, "ob:k:n:w:")) != -1) {
		switch (ch) {
		case 'o':
			ordinary = 1;
			break;
		case 'b':
			bits = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'k':
			acks = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			n = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'w':
			out = optarg;
			break;
		default:
			usage();
		}
	}
	if (out == NULL || n == 0 || bits == 0 || bits > 31)
		usage();
	if ((fl = calloc(n, sizeof *fl)) == NULL)
		abort();
	if (ordinary) {
		for (i = 0; i < n; i++) {
			fl[i].caddr = CLIENT_BASE + i / NPORTS;
			fl[i].cport = (uint16_t)(PORT_LO + i % NPORTS);
		}
	} else
		search(fl, n, bits, &tried);

	if ((fp = fopen(out, "wb")) == NULL) {
		perror(out);
		return 1;
	}
	putle32(hdr, 0xa1b2c3d4);
	hdr[4] = 2, hdr[5] = 0, hdr[6] = 4, hdr[7] = 0;
	memset(hdr + 8, 0, 8);
	putle32(hdr + 16, 65535);
	putle32(hdr + 20, 1); /* DLT_EN10MB */
	fwrite(hdr, 1, sizeof hdr, fp);
	for (r = 0; r <= acks; r++) {
		for (i = 0; i < n; i++) {
			uint64_t t = 1767225600ULL * 1000000 + usec; /* 2026-01-01 */

			frame(f, &fl[i], 1000u + i * 7919u, r == 0, ipid++);
			putle32(rec, (uint32_t)(t / 1000000));
			putle32(rec + 4, (uint32_t)(t % 1000000));
			putle32(rec + 8, FRAME_LEN);
			putle32(rec + 12, FRAME_LEN);
			fwrite(rec, 1, sizeof rec, fp);
			fwrite(f, 1, sizeof f, fp);
			usec += 50;
		}
	}
	if (fclose(fp) != 0) {
		perror(out);
		return 1;
	}
	/* The old table doubles when it holds as many flows as buckets. */
	for (nb = 1024; nb < n; nb *= 2)
		;
	fprintf(stderr,
	    "gencollide: %s: %u %s flows, %u frames; old hash (seed 0, interface 0): "
	    "longest chain %u at %u buckets, %u at 1024",
	    out, n, ordinary ? "ordinary" : "colliding", n * (acks + 1), longest_chain(fl, n, nb),
	    nb, longest_chain(fl, n, 1024));
	if (!ordinary)
		fprintf(stderr, "; %llu pairs tried for %u equal low bits",
		    (unsigned long long)tried, bits);
	fprintf(stderr, "\n");
	free(fl);
	return 0;
}
