/*
 * frames.c: the test frame builder (see frames.h).
 *
 * Speed matters a little: the capture generator builds a million frames a
 * second with it, so nothing here clears the 64 KB buffer or allocates.
 * Overflowing the buffer is a bug in the caller and aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "frames.h"

static const uint8_t mac_dst[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
static const uint8_t mac_src[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

static uint8_t *
fb_grow(struct fb *f, size_t n)
{
	uint8_t *p;

	if (n > FB_MAX - f->len) {
		fprintf(stderr, "frames: frame larger than %d bytes\n", FB_MAX);
		abort();
	}
	p = f->buf + f->len;
	f->len += n;
	return p;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Name the protocol about to be appended in the previous header, if it asked for one. */
static void
fb_chain(struct fb *f, uint8_t proto, size_t next_at)
{
	if (f->nh_at != FB_NONE)
		f->buf[f->nh_at] = proto;
	f->nh_at = next_at;
}

void
fb_init(struct fb *f)
{
	f->len = 0;
	f->l3 = f->l4 = FB_NONE;
	f->af = 0;
	f->l4proto = 0;
	f->nh_at = f->pppoe_at = f->jumbo_at = FB_NONE;
}

void
fb_bytes(struct fb *f, const void *p, size_t n)
{
	memcpy(fb_grow(f, n), p, n);
}

void
fb_fill(struct fb *f, uint8_t c, size_t n)
{
	memset(fb_grow(f, n), c, n);
}

void
fb_eth(struct fb *f, uint16_t type)
{
	uint8_t *p = fb_grow(f, 14);

	memcpy(p, mac_dst, 6);
	memcpy(p + 6, mac_src, 6);
	put16(p + 12, type);
}

void
fb_vlan(struct fb *f, uint16_t vid, uint16_t type)
{
	uint8_t *p = fb_grow(f, 4);

	put16(p, vid & 0x0fff);
	put16(p + 2, type);
}

void
fb_sll(struct fb *f, uint16_t proto)
{
	uint8_t *p = fb_grow(f, 16);

	put16(p, 0);     /* packet type: to us */
	put16(p + 2, 1); /* ARPHRD_ETHER */
	put16(p + 4, 6); /* address length */
	memcpy(p + 6, mac_src, 6);
	put16(p + 12, 0); /* address padding */
	put16(p + 14, proto);
}

void
fb_sll2(struct fb *f, uint16_t proto)
{
	uint8_t *p = fb_grow(f, 20);

	put16(p, proto);
	put16(p + 2, 0); /* reserved */
	put32(p + 4, 2); /* interface index */
	put16(p + 8, 1); /* ARPHRD_ETHER */
	p[10] = 0;       /* packet type */
	p[11] = 6;       /* address length */
	memcpy(p + 12, mac_src, 6);
	put16(p + 18, 0);
}

void
fb_null(struct fb *f, uint32_t af, int big_endian)
{
	uint8_t *p = fb_grow(f, 4);

	if (big_endian)
		put32(p, af);
	else {
		p[0] = (uint8_t)af;
		p[1] = (uint8_t)(af >> 8);
		p[2] = (uint8_t)(af >> 16);
		p[3] = (uint8_t)(af >> 24);
	}
}

void
fb_loop(struct fb *f, uint32_t af)
{
	fb_null(f, af, 1);
}

void
fb_pppoe(struct fb *f, uint16_t ppp_proto)
{
	uint8_t *p = fb_grow(f, 8);

	f->pppoe_at = (size_t)(p - f->buf);
	p[0] = 0x11; /* version 1, type 1 */
	p[1] = 0;    /* code: session data */
	put16(p + 2, 0x1234);
	put16(p + 4, 2); /* fb_finish sets it */
	put16(p + 6, ppp_proto);
}

void
fb_mpls(struct fb *f, uint32_t label, int bottom)
{
	put32(fb_grow(f, 4), (label & 0xfffff) << 12 | (bottom ? 0x100 : 0) | 64);
}

void
fb_pw_cw(struct fb *f)
{
	put32(fb_grow(f, 4), 0);
}

int
fb_link(struct fb *f, int dlt, int af)
{
	uint16_t et = af == 6 ? 0x86dd : 0x0800;

	switch (dlt) {
	case DLT_T_EN10MB:
		fb_eth(f, et);
		return 0;
	case DLT_T_SLL:
		fb_sll(f, et);
		return 0;
	case DLT_T_SLL2:
		fb_sll2(f, et);
		return 0;
	case DLT_T_NULL: /* as a little-endian host wrote it; IPv6 as the BSDs number it */
		fb_null(f, af == 6 ? 24 : 2, 0);
		return 0;
	case DLT_T_LOOP:
		fb_loop(f, af == 6 ? 24 : 2);
		return 0;
	case DLT_T_RAW:
	case DLT_T_RAW_OBSD:
	case DLT_T_RAW_LT:
	case DLT_T_IPV4:
	case DLT_T_IPV6:
		return 0;
	default:
		return -1;
	}
}

void
fb_ipv4(struct fb *f, const struct fb_ip4 *ip)
{
	size_t optlen = (ip->optlen + 3) & ~(size_t)3;
	uint8_t *p = fb_grow(f, 20 + optlen);

	f->l3 = (size_t)(p - f->buf);
	f->af = 4;
	p[0] = (uint8_t)(0x40 | (20 + optlen) / 4);
	p[1] = 0;
	put16(p + 2, 0); /* fb_finish */
	put16(p + 4, ip->id);
	put16(p + 6, (uint16_t)((ip->mf ? 0x2000 : 0) | (ip->frag_off & 0x1fff)));
	p[8] = ip->ttl ? ip->ttl : 64;
	p[9] = ip->proto;
	put16(p + 10, 0);
	put32(p + 12, ip->src);
	put32(p + 16, ip->dst);
	if (optlen > 0) {
		memset(p + 20, 0, optlen); /* EOL padding */
		memcpy(p + 20, ip->opt, ip->optlen);
	}
	f->nh_at = f->l3 + 9;
}

void
fb_ipv6(struct fb *f, const struct fb_ip6 *ip)
{
	uint8_t *p = fb_grow(f, 40);

	f->l3 = (size_t)(p - f->buf);
	f->af = 6;
	put32(p, 0x60000000);
	put16(p + 4, 0); /* fb_finish */
	p[6] = ip->nh;
	p[7] = ip->hlim ? ip->hlim : 64;
	memcpy(p + 8, ip->src, 16);
	memcpy(p + 24, ip->dst, 16);
	f->nh_at = f->l3 + 6;
}

void
fb_ip6_ext(struct fb *f, uint8_t type, size_t len)
{
	uint8_t *p;

	if (len < 8 || len % 8 != 0 || len > 2048)
		abort();
	p = fb_grow(f, len);
	fb_chain(f, type, (size_t)(p - f->buf));
	p[0] = 59; /* no next header, until something follows */
	p[1] = (uint8_t)(len / 8 - 1);
	if (type == 43) {
		/* Routing type 4 (segment routing) with no segments left: skipped by routers. */
		memset(p + 2, 0, len - 2);
		p[2] = 4;
		return;
	}
	/* One PadN option filling the rest. */
	p[2] = 1;
	p[3] = (uint8_t)(len - 4);
	memset(p + 4, 0, len - 4);
}

void
fb_ip6_ah(struct fb *f, size_t len)
{
	uint8_t *p;

	if (len < 12 || len % 4 != 0 || len > 1028)
		abort();
	p = fb_grow(f, len);
	fb_chain(f, 51, (size_t)(p - f->buf));
	p[0] = 59;
	p[1] = (uint8_t)(len / 4 - 2);
	memset(p + 2, 0, len - 2);
	put32(p + 4, 0x100); /* SPI */
	put32(p + 8, 1);     /* sequence number */
}

void
fb_ip6_frag(struct fb *f, uint8_t nh, uint16_t off8, int more, uint32_t id)
{
	uint8_t *p = fb_grow(f, 8);

	fb_chain(f, 44, (size_t)(p - f->buf));
	p[0] = nh;
	p[1] = 0;
	put16(p + 2, (uint16_t)(off8 << 3 | (more ? 1 : 0)));
	put32(p + 4, id);
}

void
fb_ip6_jumbo(struct fb *f)
{
	uint8_t *p = fb_grow(f, 8);

	fb_chain(f, 0, (size_t)(p - f->buf));
	p[0] = 59;
	p[1] = 0;
	p[2] = 0xc2;
	p[3] = 4;
	f->jumbo_at = (size_t)(p + 4 - f->buf);
	put32(p + 4, 0);
}

void
fb_ip6addr(uint8_t out[16], uint32_t a, uint32_t b)
{
	memset(out, 0, 16);
	out[0] = 0xfd;
	put32(out + 8, a);
	put32(out + 12, b);
}

void
fb_tcp(struct fb *f, const struct fb_tcp *t)
{
	size_t optlen = (t->optlen + 3) & ~(size_t)3;
	uint8_t *p = fb_grow(f, 20 + optlen);

	fb_chain(f, 6, FB_NONE);
	f->l4 = (size_t)(p - f->buf);
	f->l4proto = 6;
	put16(p, t->sport);
	put16(p + 2, t->dport);
	put32(p + 4, t->seq);
	put32(p + 8, t->ack);
	p[12] = (uint8_t)((20 + optlen) / 4 << 4);
	p[13] = t->flags;
	put16(p + 14, t->win ? t->win : 65535);
	put32(p + 16, 0); /* checksum, urgent pointer */
	if (optlen > 0) {
		memset(p + 20, 0, optlen);
		memcpy(p + 20, t->opt, t->optlen);
	}
	fb_fill(f, t->fill, t->paylen);
}

void
fb_udp(struct fb *f, uint16_t sport, uint16_t dport, size_t paylen)
{
	uint8_t *p = fb_grow(f, 8);

	fb_chain(f, 17, FB_NONE);
	f->l4 = (size_t)(p - f->buf);
	f->l4proto = 17;
	put16(p, sport);
	put16(p + 2, dport);
	put32(p + 4, 0); /* fb_finish */
	fb_fill(f, 'u', paylen);
}

void
fb_icmp_echo(struct fb *f, size_t paylen)
{
	uint8_t *p = fb_grow(f, 8);
	size_t at = (size_t)(p - f->buf);

	fb_chain(f, 1, FB_NONE);
	p[0] = 8;
	p[1] = 0;
	put16(p + 2, 0);
	put32(p + 4, 0x00010001);
	fb_fill(f, 'i', paylen);
	put16(f->buf + at + 2, fb_cksum(f->buf + at, 8 + paylen, 0));
}

void
fb_arp(struct fb *f)
{
	static const uint8_t body[28] = {0x00, 0x01, 0x08, 0x00, 6, 4, 0x00,
	    0x01,                                             /* Ethernet/IPv4 request */
	    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 10, 0, 0, 1,  /* sender */
	    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 10, 0, 0, 2}; /* target */

	fb_bytes(f, body, sizeof(body));
}

uint16_t
fb_cksum(const uint8_t *p, size_t n, uint32_t sum)
{
	uint64_t s = sum;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* The TCP/UDP pseudo-header sum (RFC 793, RFC 8200 section 8.1), unfolded. */
static uint32_t
fb_pseudo(const struct fb *f, size_t l4len)
{
	const uint8_t *ip = f->buf + f->l3;
	const uint8_t *a = f->af == 4 ? ip + 12 : ip + 8;
	size_t alen = f->af == 4 ? 8 : 32, i;
	uint32_t s = 0;

	for (i = 0; i < alen; i += 2)
		s += (uint32_t)a[i] << 8 | a[i + 1];
	return s + f->l4proto + (uint32_t)(l4len >> 16) + (uint32_t)(l4len & 0xffff);
}

void
fb_finish(struct fb *f)
{
	uint8_t *ip = f->l3 != FB_NONE ? f->buf + f->l3 : NULL;
	size_t iplen = f->l3 != FB_NONE ? f->len - f->l3 : 0, l4len;
	uint16_t ck;

	if (f->pppoe_at != FB_NONE)
		put16(f->buf + f->pppoe_at + 4, (uint16_t)(f->len - f->pppoe_at - 6));
	if (ip != NULL && f->af == 4) {
		put16(ip + 2, (uint16_t)iplen);
		put16(ip + 10, 0);
		put16(ip + 10, fb_cksum(ip, (size_t)(ip[0] & 0x0f) * 4, 0));
	} else if (ip != NULL && f->af == 6) {
		if (f->jumbo_at != FB_NONE) {
			put16(ip + 4, 0);
			put32(f->buf + f->jumbo_at, (uint32_t)(iplen - 40));
		} else
			put16(ip + 4, (uint16_t)(iplen - 40));
	}
	if (ip == NULL || f->l4 == FB_NONE)
		return;
	l4len = f->len - f->l4;
	if (f->l4proto == 17)
		put16(f->buf + f->l4 + 4, (uint16_t)l4len);
	ck = fb_cksum(f->buf + f->l4, l4len, fb_pseudo(f, l4len));
	if (f->l4proto == 17 && ck == 0)
		ck = 0xffff; /* 0 means "no checksum" in UDP */
	put16(f->buf + f->l4 + (f->l4proto == 6 ? 16 : 6), ck);
}
