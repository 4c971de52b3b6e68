/*
 * frames.h: a small builder for test frames, shared by the unit tests and
 * the capture generator.
 *
 * A frame is built outside in: link header, encapsulations, IP, extension
 * headers, TCP or UDP, payload, each call appending to the buffer. The IP
 * "next protocol" fields chain themselves (each header patches the one
 * before it), and fb_finish() fills every length and checksum, so a test
 * only states what it cares about and can then poke bytes to break it.
 */
#ifndef TRACEFLOW_TESTS_FRAMES_H
#define TRACEFLOW_TESTS_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#define FB_MAX  65600
#define FB_NONE ((size_t)-1)

struct fb {
	uint8_t buf[FB_MAX];
	size_t len;
	size_t l3;       /* IP header, FB_NONE until fb_ipv4/fb_ipv6 */
	size_t l4;       /* TCP/UDP header, FB_NONE until fb_tcp/fb_udp */
	int af;          /* 4 or 6 once l3 is set */
	uint8_t l4proto; /* 6 or 17 once l4 is set */
	size_t nh_at;    /* byte that will name the next IP protocol */
	size_t pppoe_at; /* PPPoE header whose length field fb_finish fills */
	size_t jumbo_at; /* IPv6 Jumbo Payload value fb_finish fills */
};

/* Start an empty frame. Cheap: the buffer itself is not cleared. */
void fb_init(struct fb *f);
void fb_bytes(struct fb *f, const void *p, size_t n);
void fb_fill(struct fb *f, uint8_t c, size_t n);

/* Link layers. Ethertypes and protocols are given explicitly. */
void fb_eth(struct fb *f, uint16_t type);
void fb_vlan(struct fb *f, uint16_t vid, uint16_t type); /* after fb_eth(f, 0x8100 or 0x88a8) */
void fb_sll(struct fb *f, uint16_t proto);
void fb_sll2(struct fb *f, uint16_t proto);
void fb_null(struct fb *f, uint32_t af, int big_endian); /* DLT_NULL: host order, either */
void fb_loop(struct fb *f, uint32_t af);                 /* DLT_LOOP: network order */
void fb_pppoe(struct fb *f, uint16_t ppp_proto);         /* session header + PPP protocol */
void fb_mpls(struct fb *f, uint32_t label, int bottom);
void fb_pw_cw(struct fb *f); /* pseudowire control word; an Ethernet frame follows */

/*
 * The link header for an IP packet of family af (4/6) on link type dlt (a
 * DLT_T_* value); raw types add nothing. Returns -1 for an unknown type.
 */
int fb_link(struct fb *f, int dlt, int af);

struct fb_ip4 {
	uint32_t src; /* host order */
	uint32_t dst;
	uint16_t id;
	uint8_t proto; /* patched by fb_tcp/fb_udp; set it for raw fragment bytes */
	uint8_t ttl;   /* 0 means 64 */
	int mf;
	uint16_t frag_off; /* in 8-byte units */
	const uint8_t *opt;
	size_t optlen; /* padded with EOL to a multiple of 4 */
};
void fb_ipv4(struct fb *f, const struct fb_ip4 *ip);

struct fb_ip6 {
	uint8_t src[16];
	uint8_t dst[16];
	uint8_t nh;   /* patched by what follows; set it for raw bytes */
	uint8_t hlim; /* 0 means 64 */
};
void fb_ipv6(struct fb *f, const struct fb_ip6 *ip);
/* Hop-by-hop (0), destination options (60) or routing (43), len bytes (multiple of 8). */
void fb_ip6_ext(struct fb *f, uint8_t type, size_t len);
void fb_ip6_ah(struct fb *f, size_t len); /* len multiple of 4, >= 12 */
void fb_ip6_frag(struct fb *f, uint8_t nh, uint16_t off8, int more, uint32_t id);
/* Hop-by-hop header with a Jumbo Payload option; fb_finish sets it and payload length 0. */
void fb_ip6_jumbo(struct fb *f);

/* fd00::a:b, for tests and the generator. */
void fb_ip6addr(uint8_t out[16], uint32_t a, uint32_t b);

struct fb_tcp {
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint8_t flags;
	uint16_t win; /* 0 means 65535 */
	const uint8_t *opt;
	size_t optlen; /* padded with NOP... EOL to a multiple of 4 */
	size_t paylen;
	uint8_t fill; /* payload byte value */
};
void fb_tcp(struct fb *f, const struct fb_tcp *t);
void fb_udp(struct fb *f, uint16_t sport, uint16_t dport, size_t paylen);
void fb_icmp_echo(struct fb *f, size_t paylen); /* ICMPv4 echo request */
void fb_arp(struct fb *f);                      /* ARP request body, after fb_eth(f, 0x0806) */

/* Fill IP lengths, the IPv4 header checksum, the TCP/UDP checksum, PPPoE length. */
void fb_finish(struct fb *f);

/* The Internet checksum of n bytes, folded, starting from a partial sum. */
uint16_t fb_cksum(const uint8_t *p, size_t n, uint32_t sum);

#endif
