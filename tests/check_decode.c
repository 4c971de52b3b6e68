/*
 * check_decode.c: unit tests for the frame decoder.
 *
 * Frames come from the builder in frames.c. Every decode runs on an exact-
 * size heap copy of the frame, so under AddressSanitizer or valgrind a read
 * one byte past caplen is an error, not a silent pass.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "frames.h"

#define SRC4 0x0a000001 /* 10.0.0.1 */
#define DST4 0xc0a80102 /* 192.168.1.2 */

static struct fb F;
static struct packet P;

static const struct fb_tcp TCP = {
    .sport = 40000,
    .dport = 443,
    .seq = 0x01020304,
    .ack = 0xa0b0c0d0,
    .flags = TCPF_PSH | TCPF_ACK,
    .paylen = 100,
    .fill = 'x',
};

/* Decode the first n bytes of F from a buffer of exactly n bytes. */
static enum decode_result
dec_n(int dlt, size_t n)
{
	enum decode_result r;
	uint8_t *copy;

	copy = malloc(n > 0 ? n : 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, F.buf, n);
	memset(&P, 0xa5, sizeof(P)); /* decode must not rely on a clean record */
	r = decode_frame(dlt, n > 0 ? copy : NULL, (uint32_t)n, &P);
	free(copy);
	return r;
}

static enum decode_result
dec(int dlt)
{
	return dec_n(dlt, F.len);
}

static void
ip4(void)
{
	fb_ipv4(&F, &(struct fb_ip4){.src = SRC4, .dst = DST4, .id = 0x4242});
}

static void
ip6(void)
{
	struct fb_ip6 h;

	memset(&h, 0, sizeof(h));
	fb_ip6addr(h.src, 1, 2);
	fb_ip6addr(h.dst, 3, 4);
	fb_ipv6(&F, &h);
}

static void
tcp(void)
{
	fb_tcp(&F, &TCP);
	fb_finish(&F);
}

/* The record of a decoded TCP segment built with TCP over ip4() or ip6(). */
static void
check_tcp(int af, size_t l3, size_t l4)
{
	uint8_t a[16], b[16];

	ck_assert_int_eq(P.af, af);
	if (af == 4) {
		static const uint8_t s4[16] = {10, 0, 0, 1}, d4[16] = {192, 168, 1, 2};
		ck_assert_mem_eq(P.src, s4, 16);
		ck_assert_mem_eq(P.dst, d4, 16);
	} else {
		fb_ip6addr(a, 1, 2);
		fb_ip6addr(b, 3, 4);
		ck_assert_mem_eq(P.src, a, 16);
		ck_assert_mem_eq(P.dst, b, 16);
	}
	ck_assert_uint_eq(P.srcport, 40000);
	ck_assert_uint_eq(P.dstport, 443);
	ck_assert_uint_eq(P.seq, 0x01020304);
	ck_assert_uint_eq(P.ack, 0xa0b0c0d0);
	ck_assert_uint_eq(P.flags, TCPF_PSH | TCPF_ACK);
	ck_assert_uint_eq(P.payload_len, 100);
	ck_assert_uint_eq(P.l3_off, l3);
	ck_assert_uint_eq(P.l4_off, l4);
	ck_assert_uint_eq(P.frag, FRAG_NONE);
	ck_assert_uint_eq(P.frag_more, 0);
}

/* --- link types ------------------------------------------------------- */

START_TEST(test_en10mb)
{
	fb_init(&F);
	fb_eth(&F, 0x0800);
	ip4();
	tcp();
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	check_tcp(4, 14, 34);
	ck_assert_uint_eq(P.nvlan, 0);

	fb_init(&F);
	fb_eth(&F, 0x86dd);
	ip6();
	tcp();
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	check_tcp(6, 14, 54);
}
END_TEST

START_TEST(test_null)
{
	static const uint32_t v6fams[] = {10, 24, 28, 30};
	int be, i;

	for (be = 0; be < 2; be++) {
		fb_init(&F);
		fb_null(&F, 2, be);
		ip4();
		tcp();
		ck_assert_int_eq(dec(DLT_T_NULL), DECODE_OK);
		check_tcp(4, 4, 24);
		for (i = 0; i < 4; i++) {
			fb_init(&F);
			fb_null(&F, v6fams[i], be);
			ip6();
			tcp();
			ck_assert_int_eq(dec(DLT_T_NULL), DECODE_OK);
			check_tcp(6, 4, 44);
		}
		fb_init(&F);
		fb_null(&F, 7, be); /* AF_ISO or the like */
		ip4();
		tcp();
		ck_assert_int_eq(dec(DLT_T_NULL), DECODE_NOT_TCP);
	}
}
END_TEST

START_TEST(test_loop)
{
	fb_init(&F);
	fb_loop(&F, 2);
	ip4();
	tcp();
	ck_assert_int_eq(dec(DLT_T_LOOP), DECODE_OK);
	check_tcp(4, 4, 24);

	fb_init(&F);
	fb_loop(&F, 24);
	ip6();
	tcp();
	ck_assert_int_eq(dec(DLT_T_LOOP), DECODE_OK);
	check_tcp(6, 4, 44);
}
END_TEST

START_TEST(test_raw)
{
	static const int dlts[] = {DLT_T_RAW, DLT_T_RAW_OBSD, DLT_T_RAW_LT};
	int i;

	for (i = 0; i < 3; i++) {
		fb_init(&F);
		ip4();
		tcp();
		ck_assert_int_eq(dec(dlts[i]), DECODE_OK);
		check_tcp(4, 0, 20);
		fb_init(&F);
		ip6();
		tcp();
		ck_assert_int_eq(dec(dlts[i]), DECODE_OK);
		check_tcp(6, 0, 40);
		F.buf[0] = 0x50; /* version 5 */
		ck_assert_int_eq(dec(dlts[i]), DECODE_BAD_IP);
	}

	fb_init(&F);
	ip4();
	tcp();
	ck_assert_int_eq(dec(DLT_T_IPV4), DECODE_OK);
	check_tcp(4, 0, 20);
	ck_assert_int_eq(dec(DLT_T_IPV6), DECODE_BAD_IP);

	fb_init(&F);
	ip6();
	tcp();
	ck_assert_int_eq(dec(DLT_T_IPV6), DECODE_OK);
	check_tcp(6, 0, 40);
	ck_assert_int_eq(dec(DLT_T_IPV4), DECODE_BAD_IP);
}
END_TEST

START_TEST(test_sll)
{
	fb_init(&F);
	fb_sll(&F, 0x0800);
	ip4();
	tcp();
	ck_assert_int_eq(dec(DLT_T_SLL), DECODE_OK);
	check_tcp(4, 16, 36);

	fb_init(&F);
	fb_sll(&F, 0x86dd);
	ip6();
	tcp();
	ck_assert_int_eq(dec(DLT_T_SLL), DECODE_OK);
	check_tcp(6, 16, 56);

	fb_init(&F);
	fb_sll(&F, 0x0806);
	fb_arp(&F);
	ck_assert_int_eq(dec(DLT_T_SLL), DECODE_NOT_TCP);
}
END_TEST

START_TEST(test_sll2)
{
	fb_init(&F);
	fb_sll2(&F, 0x0800);
	ip4();
	tcp();
	ck_assert_int_eq(dec(DLT_T_SLL2), DECODE_OK);
	check_tcp(4, 20, 40);

	fb_init(&F);
	fb_sll2(&F, 0x8100); /* cooked captures keep VLAN tags too */
	fb_vlan(&F, 7, 0x86dd);
	ip6();
	tcp();
	ck_assert_int_eq(dec(DLT_T_SLL2), DECODE_OK);
	check_tcp(6, 24, 64);
	ck_assert_uint_eq(P.nvlan, 1);
	ck_assert_uint_eq(P.vlan[0], 7);
}
END_TEST

/* --- link types read from files: PPP, HDLC, pflog, ipnet, ARCnet, nflog ----- */

static void
bytes(const char *p, size_t n)
{
	fb_bytes(&F, p, n);
}

START_TEST(test_ppp)
{
	fb_init(&F);
	bytes("\xff\x03\x00\x21", 4); /* address, control, IPv4 */
	ip4();
	tcp();
	ck_assert_int_eq(dec(DLT_T_PPP), DECODE_OK);
	check_tcp(4, 4, 24);
	ck_assert_int_eq(dec(DLT_T_PPP_HDLC), DECODE_OK);
	ck_assert_int_eq(dec_n(DLT_T_PPP, 3), DECODE_TRUNCATED);

	fb_init(&F);
	bytes("\x00\x57", 2); /* address and control left out, IPv6 */
	ip6();
	tcp();
	ck_assert_int_eq(dec(DLT_T_PPP), DECODE_OK);
	check_tcp(6, 2, 42);
	ck_assert_int_eq(dec(DLT_T_PPP_HDLC), DECODE_BAD_LINK); /* HDLC framing has them */

	fb_init(&F);
	bytes("\x21", 1); /* protocol field compressed */
	ip4();
	tcp();
	ck_assert_int_eq(dec(DLT_T_PPP), DECODE_OK);
	check_tcp(4, 1, 21);
	ck_assert_int_eq(dec_n(DLT_T_PPP, 1), DECODE_TRUNCATED);

	fb_init(&F);
	bytes("\xff\x03\xc0\x21\x01\x01\x00\x04", 8); /* LCP */
	ck_assert_int_eq(dec(DLT_T_PPP), DECODE_NOT_TCP);
}
END_TEST

START_TEST(test_chdlc)
{
	fb_init(&F);
	bytes("\x8f\x00\x86\xdd", 4);
	ip6();
	tcp();
	ck_assert_int_eq(dec(DLT_T_C_HDLC), DECODE_OK);
	check_tcp(6, 4, 44);
	/* Cisco HDLC frames in a PPP_HDLC file. */
	ck_assert_int_eq(dec(DLT_T_PPP_HDLC), DECODE_OK);
	check_tcp(6, 4, 44);
	ck_assert_int_eq(dec_n(DLT_T_C_HDLC, 3), DECODE_TRUNCATED);

	fb_init(&F);
	bytes("\x0f\x00\x81\x00\x00\x05\x08\x00", 8); /* a VLAN tag inside, as Ethernet has */
	ip4();
	tcp();
	ck_assert_int_eq(dec(DLT_T_C_HDLC), DECODE_OK);
	check_tcp(4, 8, 28);
	ck_assert_uint_eq(P.vlan[0], 5);

	fb_init(&F);
	bytes("\x0f\x00\x80\x35", 4); /* SLARP */
	fb_fill(&F, 0, 20);
	ck_assert_int_eq(dec(DLT_T_C_HDLC), DECODE_NOT_TCP);
}
END_TEST

START_TEST(test_pflog)
{
	fb_init(&F);
	bytes("\x3d\x02", 2); /* length 61 (64 with its padding), AF_INET */
	fb_fill(&F, 0, 62);
	ip4();
	tcp();
	ck_assert_int_eq(dec(DLT_T_PFLOG), DECODE_OK);
	check_tcp(4, 64, 84);
	ck_assert_int_eq(dec_n(DLT_T_PFLOG, 63), DECODE_TRUNCATED);
	F.buf[1] = 24; /* AF_INET6 on OpenBSD, but an IPv4 packet: its version says so */
	ck_assert_int_eq(dec(DLT_T_PFLOG), DECODE_BAD_IP);
	F.buf[1] = 7;
	ck_assert_int_eq(dec(DLT_T_PFLOG), DECODE_NOT_TCP);
	F.buf[0] = 20; /* shorter than any pflog header */
	ck_assert_int_eq(dec(DLT_T_PFLOG), DECODE_BAD_LINK);

	fb_init(&F);
	bytes("\x2d\x1c", 2); /* 45, the old length (48 padded); AF_INET6 on FreeBSD */
	fb_fill(&F, 0, 46);
	ip6();
	tcp();
	ck_assert_int_eq(dec(DLT_T_PFLOG), DECODE_OK);
	check_tcp(6, 48, 88);
}
END_TEST

START_TEST(test_ipnet)
{
	fb_init(&F);
	bytes("\x01\x02", 2); /* version 1, IPH_AF_INET */
	fb_fill(&F, 0, 22);
	ip4();
	tcp();
	ck_assert_int_eq(dec(DLT_T_IPNET), DECODE_OK);
	check_tcp(4, 24, 44);
	ck_assert_int_eq(dec_n(DLT_T_IPNET, 23), DECODE_TRUNCATED);
	F.buf[0] = 2;
	ck_assert_int_eq(dec(DLT_T_IPNET), DECODE_BAD_LINK);

	fb_init(&F);
	bytes("\x01\x1a", 2); /* IPH_AF_INET6 */
	fb_fill(&F, 0, 22);
	ip6();
	tcp();
	ck_assert_int_eq(dec(DLT_T_IPNET), DECODE_OK);
	check_tcp(6, 24, 64);
	F.buf[1] = 3;
	ck_assert_int_eq(dec(DLT_T_IPNET), DECODE_NOT_TCP);
}
END_TEST

START_TEST(test_arcnet)
{
	fb_init(&F);
	bytes("\x01\x02\x00\x00\xf0", 5); /* RFC 1051 IP: no split flag */
	ip4();
	tcp();
	ck_assert_int_eq(dec(DLT_T_ARCNET), DECODE_OK);
	check_tcp(4, 5, 25);
	ck_assert_int_eq(dec_n(DLT_T_ARCNET, 4), DECODE_TRUNCATED);

	fb_init(&F);
	bytes("\x01\x02\x00\x00\xd4\x00\x12\x34", 8); /* RFC 1201 IP: flag, sequence */
	ip4();
	tcp();
	ck_assert_int_eq(dec(DLT_T_ARCNET), DECODE_OK);
	check_tcp(4, 8, 28);
	ck_assert_int_eq(dec_n(DLT_T_ARCNET, 7), DECODE_TRUNCATED);

	fb_init(&F);
	bytes("\x01\x02\x00\x00\xc4\x00\x00\x01", 8); /* IPv6 (RFC 2497) */
	ip6();
	tcp();
	ck_assert_int_eq(dec(DLT_T_ARCNET), DECODE_OK);
	check_tcp(6, 8, 48);
	F.buf[4] = 0xd5; /* ARP */
	ck_assert_int_eq(dec(DLT_T_ARCNET), DECODE_NOT_TCP);
}
END_TEST

/* An nflog TLV: length (with its 4-byte head) and type in either order, value padded to 4. */
static void
nflog_tlv(int big, uint16_t type, const void *val, size_t n)
{
	uint16_t len = (uint16_t)(4 + n);
	uint8_t h[4] = {
	    big ? len >> 8 : len & 0xff,
	    big ? len & 0xff : len >> 8,
	    big ? type >> 8 : type & 0xff,
	    big ? type & 0xff : type >> 8,
	};

	fb_bytes(&F, h, 4);
	if (val != NULL) {
		fb_bytes(&F, val, n);
		fb_fill(&F, 0, (4 - n % 4) % 4);
	}
}

/* family, version, resource id; packet header, a prefix, the payload, a uid after it. */
static void
nflog_frame(int big, uint8_t family, int v6)
{
	struct fb ip;
	size_t i;

	fb_init(&F);
	fb_bytes(&F, (uint8_t[]){family, 0, 0, 1}, 4);
	nflog_tlv(big, 1, "\x08\x00\x00\x00", 4); /* NFULA_PACKET_HDR */
	nflog_tlv(big, 10, "drop:", 5);           /* NFULA_PREFIX */
	/* The IP packet on its own, then as the payload attribute's value. */
	memcpy(&ip, &F, sizeof ip);
	fb_init(&F);
	v6 ? ip6() : ip4();
	tcp();
	i = F.len;
	{
		static uint8_t pkt[FB_MAX];

		memcpy(pkt, F.buf, i);
		memcpy(&F, &ip, sizeof ip);
		nflog_tlv(big, 9, pkt, i); /* NFULA_PAYLOAD */
	}
	nflog_tlv(big, 11, "\0\0\0\0", 4); /* NFULA_UID */
}

START_TEST(test_nflog)
{
	int big = _i;

	nflog_frame(big, 2, 0);
	ck_assert_int_eq(dec(DLT_T_NFLOG), DECODE_OK);
	check_tcp(4, 4 + 8 + 12 + 4, 4 + 8 + 12 + 4 + 20);
	ck_assert_int_eq(dec_n(DLT_T_NFLOG, 4 + 8 + 12 + 4 + 30), DECODE_TRUNCATED);
	ck_assert_int_eq(dec_n(DLT_T_NFLOG, 3), DECODE_TRUNCATED);
	F.buf[1] = 1; /* version */
	ck_assert_int_eq(dec(DLT_T_NFLOG), DECODE_BAD_LINK);
	F.buf[1] = 0;
	F.buf[0] = 7; /* neither inet nor inet6 */
	ck_assert_int_eq(dec(DLT_T_NFLOG), DECODE_NOT_TCP);

	nflog_frame(big, 10, 1);
	ck_assert_int_eq(dec(DLT_T_NFLOG), DECODE_OK);
	check_tcp(6, 4 + 8 + 12 + 4, 4 + 8 + 12 + 4 + 40);
	/* The prefix attribute's length cut below its own head. */
	F.buf[4 + 8 + (big ? 1 : 0)] = 2;
	F.buf[4 + 8 + (big ? 0 : 1)] = 0;
	ck_assert_int_eq(dec(DLT_T_NFLOG), DECODE_BAD_LINK);

	/* No payload attribute at all. */
	fb_init(&F);
	fb_bytes(&F, (uint8_t[]){2, 0, 0, 1}, 4);
	nflog_tlv(big, 1, "\x08\x00\x00\x00", 4);
	ck_assert_int_eq(dec(DLT_T_NFLOG), DECODE_NOT_TCP);
}
END_TEST

START_TEST(test_unsupported)
{
	fb_init(&F);
	fb_eth(&F, 0x0800);
	ip4();
	tcp();
	ck_assert_int_eq(dec(105), DECODE_UNSUPPORTED); /* 802.11 */
	ck_assert_int_eq(dec(274), DECODE_UNSUPPORTED); /* ETHERNET_MPACKET */
	ck_assert(!decode_supported(274));
	ck_assert(decode_supported(DLT_T_PPP) && decode_supported(DLT_T_PPP_HDLC));
	ck_assert(decode_supported(DLT_T_C_HDLC) && decode_supported(DLT_T_PFLOG));
	ck_assert(decode_supported(DLT_T_IPNET) && decode_supported(DLT_T_ARCNET));
	ck_assert(decode_supported(DLT_T_NFLOG));
	ck_assert_int_eq(dec(-1), DECODE_UNSUPPORTED);
	ck_assert(decode_supported(DLT_T_EN10MB));
	ck_assert(decode_supported(DLT_T_NULL));
	ck_assert(decode_supported(DLT_T_RAW));
	ck_assert(decode_supported(DLT_T_RAW_OBSD));
	ck_assert(decode_supported(DLT_T_RAW_LT));
	ck_assert(decode_supported(DLT_T_LOOP));
	ck_assert(decode_supported(DLT_T_SLL));
	ck_assert(decode_supported(DLT_T_SLL2));
	ck_assert(decode_supported(DLT_T_IPV4));
	ck_assert(decode_supported(DLT_T_IPV6));
	ck_assert(!decode_supported(105));
	ck_assert(!decode_supported(127));
}
END_TEST

START_TEST(test_reason_names)
{
	ck_assert_str_eq(decode_reason_name(DECODE_OK), "ok");
	ck_assert_str_eq(decode_reason_name(DECODE_NOT_TCP), "not_tcp");
	ck_assert_str_eq(decode_reason_name(DECODE_TRUNCATED), "truncated");
	ck_assert_str_eq(decode_reason_name(DECODE_BAD_LINK), "bad_link");
	ck_assert_str_eq(decode_reason_name(DECODE_BAD_IP), "bad_ip");
	ck_assert_str_eq(decode_reason_name(DECODE_BAD_IP_LEN), "bad_ip_len");
	ck_assert_str_eq(decode_reason_name(DECODE_BAD_TCP), "bad_tcp");
	ck_assert_str_eq(decode_reason_name(DECODE_UNSUPPORTED), "unsupported_link");
	ck_assert_ptr_nonnull(decode_reason_name(DECODE_NREASONS));
}
END_TEST

/* --- encapsulations ----------------------------------------------------- */

START_TEST(test_vlan)
{
	fb_init(&F);
	fb_eth(&F, 0x8100);
	fb_vlan(&F, 100, 0x0800);
	ip4();
	tcp();
	F.buf[14] |= 0xe0; /* priority bits are not part of the VID */
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	check_tcp(4, 18, 38);
	ck_assert_uint_eq(P.nvlan, 1);
	ck_assert_uint_eq(P.vlan[0], 100);
}
END_TEST

START_TEST(test_qinq)
{
	static const uint16_t outer[] = {0x88a8, 0x9100, 0x8100};
	int i;

	for (i = 0; i < 3; i++) {
		fb_init(&F);
		fb_eth(&F, outer[i]);
		fb_vlan(&F, 300, 0x8100);
		fb_vlan(&F, 4000, 0x86dd);
		ip6();
		tcp();
		ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
		check_tcp(6, 22, 62);
		ck_assert_uint_eq(P.nvlan, 2);
		ck_assert_uint_eq(P.vlan[0], 300);
		ck_assert_uint_eq(P.vlan[1], 4000);
	}
}
END_TEST

START_TEST(test_vlan_overflow)
{
	int i;

	fb_init(&F);
	fb_eth(&F, 0x88a8);
	for (i = 1; i < DECODE_MAX_VLAN; i++)
		fb_vlan(&F, (uint16_t)i, 0x8100);
	fb_vlan(&F, DECODE_MAX_VLAN, 0x0800);
	ip4();
	tcp();
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	ck_assert_uint_eq(P.nvlan, DECODE_MAX_VLAN);
	for (i = 0; i < DECODE_MAX_VLAN; i++)
		ck_assert_uint_eq(P.vlan[i], i + 1);

	fb_init(&F);
	fb_eth(&F, 0x88a8);
	for (i = 0; i < DECODE_MAX_VLAN; i++)
		fb_vlan(&F, (uint16_t)i, 0x8100);
	fb_vlan(&F, 99, 0x0800);
	ip4();
	tcp();
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_BAD_LINK);
}
END_TEST

START_TEST(test_pppoe)
{
	fb_init(&F);
	fb_eth(&F, 0x8864);
	fb_pppoe(&F, 0x0021);
	ip4();
	tcp();
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	check_tcp(4, 22, 42);
	F.buf[14] = 0x12; /* version/type */
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_BAD_LINK);
	F.buf[14] = 0x11;
	F.buf[15] = 0x09; /* code: discovery, not session data */
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_BAD_LINK);

	fb_init(&F);
	fb_eth(&F, 0x8100);
	fb_vlan(&F, 10, 0x8864);
	fb_pppoe(&F, 0x0057);
	ip6();
	tcp();
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	check_tcp(6, 26, 66);
	ck_assert_uint_eq(P.vlan[0], 10);

	fb_init(&F);
	fb_eth(&F, 0x8864);
	fb_pppoe(&F, 0xc021); /* LCP */
	fb_fill(&F, 0, 20);
	fb_finish(&F);
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_NOT_TCP);
}
END_TEST

START_TEST(test_mpls)
{
	int i;

	fb_init(&F);
	fb_eth(&F, 0x8847);
	fb_mpls(&F, 16, 1);
	ip4();
	tcp();
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	check_tcp(4, 18, 38);

	fb_init(&F);
	fb_eth(&F, 0x8848);
	fb_mpls(&F, 16, 0);
	fb_mpls(&F, 17, 0);
	fb_mpls(&F, 18, 1);
	ip6();
	tcp();
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	check_tcp(6, 26, 66);

	/* Sixteen labels are accepted; a seventeenth is a crafted stack. */
	fb_init(&F);
	fb_eth(&F, 0x8847);
	for (i = 0; i < 16; i++)
		fb_mpls(&F, (uint32_t)i, i == 15);
	ip4();
	tcp();
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	fb_init(&F);
	fb_eth(&F, 0x8847);
	for (i = 0; i < 17; i++)
		fb_mpls(&F, (uint32_t)i, i == 16);
	ip4();
	tcp();
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_BAD_LINK);

	/* Something that is neither IP nor a control word. */
	fb_init(&F);
	fb_eth(&F, 0x8847);
	fb_mpls(&F, 16, 1);
	fb_fill(&F, 0x10, 60);
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_NOT_TCP);
}
END_TEST

START_TEST(test_mpls_pseudowire)
{
	fb_init(&F);
	fb_eth(&F, 0x8100);
	fb_vlan(&F, 5, 0x8847);
	fb_mpls(&F, 100, 0);
	fb_mpls(&F, 200, 1);
	fb_pw_cw(&F);
	fb_eth(&F, 0x8100);
	fb_vlan(&F, 6, 0x0800);
	ip4();
	tcp();
	/* 14 + 4 (vlan) + 8 (labels) + 4 (cw) + 14 + 4 (inner vlan) */
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	check_tcp(4, 48, 68);
	ck_assert_uint_eq(P.nvlan, 2);
	ck_assert_uint_eq(P.vlan[0], 5);
	ck_assert_uint_eq(P.vlan[1], 6);

	/* The inner frame can be anything, e.g. ARP. */
	fb_init(&F);
	fb_eth(&F, 0x8847);
	fb_mpls(&F, 100, 1);
	fb_pw_cw(&F);
	fb_eth(&F, 0x0806);
	fb_arp(&F);
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_NOT_TCP);
}
END_TEST

/* --- IPv4 --------------------------------------------------------------- */

START_TEST(test_ipv4_options)
{
	static const uint8_t opt[] = {0x94, 4, 0, 0, 1, 1, 0x44, 3};

	fb_init(&F);
	fb_eth(&F, 0x0800);
	fb_ipv4(&F, &(struct fb_ip4){.src = SRC4, .dst = DST4, .opt = opt, .optlen = sizeof(opt)});
	tcp();
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	check_tcp(4, 14, 42);
	ck_assert_int_eq(dec_n(DLT_T_EN10MB, 14 + 27), DECODE_TRUNCATED);
}
END_TEST

START_TEST(test_ipv4_bad)
{
	fb_init(&F);
	fb_eth(&F, 0x0800);
	ip4();
	tcp();

	F.buf[14] = 0x65; /* version 6 behind ethertype IPv4 */
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_BAD_IP);
	F.buf[14] = 0x44; /* IHL 4 */
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_BAD_IP);
	F.buf[14] = 0x40;
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_BAD_IP);
	F.buf[14] = 0x46; /* IHL 6, total length 19 */
	F.buf[16] = 0;
	F.buf[17] = 23;
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_BAD_IP_LEN);
	F.buf[14] = 0x45;
	F.buf[17] = 19;
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_BAD_IP_LEN);
}
END_TEST

START_TEST(test_ipv4_tso)
{
	fb_init(&F);
	fb_eth(&F, 0x0800);
	ip4();
	tcp();
	F.buf[16] = F.buf[17] = 0; /* total length 0: a TSO capture */
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	check_tcp(4, 14, 34);
	ck_assert_int_eq(dec_n(DLT_T_EN10MB, F.len - 30), DECODE_OK);
	ck_assert_uint_eq(P.payload_len, 70);
}
END_TEST

START_TEST(test_ipv4_fragments)
{
	fb_init(&F);
	fb_eth(&F, 0x0800);
	fb_ipv4(&F, &(struct fb_ip4){.src = SRC4, .dst = DST4, .id = 0xbeef, .mf = 1});
	tcp();
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	ck_assert_uint_eq(P.frag, FRAG_FIRST);
	ck_assert_uint_eq(P.frag_more, 1);
	ck_assert_uint_eq(P.frag_id, 0xbeef);
	ck_assert_uint_eq(P.srcport, 40000);
	ck_assert_uint_eq(P.dstport, 443);
	ck_assert_uint_eq(P.seq, 0x01020304);
	ck_assert_uint_eq(P.payload_len, 100);
	ck_assert_uint_eq(P.l4_off, 34);

	/* A middle fragment: data only. */
	fb_init(&F);
	fb_eth(&F, 0x0800);
	fb_ipv4(
	    &F, &(struct fb_ip4){
	            .src = SRC4, .dst = DST4, .id = 0xbeef, .proto = 6, .mf = 1, .frag_off = 15});
	fb_fill(&F, 'y', 120);
	fb_finish(&F);
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	ck_assert_uint_eq(P.frag, FRAG_LATER);
	ck_assert_uint_eq(P.frag_more, 1);
	ck_assert_uint_eq(P.frag_id, 0xbeef);
	ck_assert_uint_eq(P.af, 4);
	ck_assert_uint_eq(P.src[0], 10);
	ck_assert_uint_eq(P.dst[0], 192);
	ck_assert_uint_eq(P.srcport, 0);
	ck_assert_uint_eq(P.dstport, 0);
	ck_assert_uint_eq(P.flags, 0);
	ck_assert_uint_eq(P.seq, 0);
	ck_assert_uint_eq(P.ack, 0);
	ck_assert_uint_eq(P.l3_off, 14);
	ck_assert_uint_eq(P.l4_off, 0);
	ck_assert_uint_eq(P.payload_len, 120);

	/* The last fragment: fewer than 20 bytes is fine, there is no TCP header to read. */
	fb_init(&F);
	fb_eth(&F, 0x0800);
	fb_ipv4(
	    &F, &(struct fb_ip4){.src = SRC4, .dst = DST4, .id = 7, .proto = 6, .frag_off = 30});
	fb_fill(&F, 'z', 3);
	fb_finish(&F);
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	ck_assert_uint_eq(P.frag, FRAG_LATER);
	ck_assert_uint_eq(P.frag_more, 0);
	ck_assert_uint_eq(P.frag_id, 7);
	ck_assert_uint_eq(P.payload_len, 3);

	/* Fragments of UDP are not ours. */
	F.buf[14 + 9] = 17;
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_NOT_TCP);

	/* DF alone is not a fragment. */
	fb_init(&F);
	fb_eth(&F, 0x0800);
	ip4();
	tcp();
	F.buf[14 + 6] = 0x40;
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	ck_assert_uint_eq(P.frag, FRAG_NONE);
	ck_assert_uint_eq(P.frag_id, 0);
}
END_TEST

/* --- IPv6 --------------------------------------------------------------- */

START_TEST(test_ipv6_ext)
{
	static const uint8_t kinds[] = {0, 43, 60, 51};
	int i;

	for (i = 0; i < 4; i++) {
		fb_init(&F);
		fb_eth(&F, 0x86dd);
		ip6();
		if (kinds[i] == 51)
			fb_ip6_ah(&F, 24);
		else
			fb_ip6_ext(&F, kinds[i], kinds[i] == 43 ? 24 : 16);
		tcp();
		ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
		check_tcp(6, 14, kinds[i] == 43 || kinds[i] == 51 ? 78 : 70);
	}

	/* A chain of every kind, the way a router might stack them. */
	fb_init(&F);
	fb_eth(&F, 0x86dd);
	ip6();
	fb_ip6_ext(&F, 0, 8);
	fb_ip6_ext(&F, 60, 8);
	fb_ip6_ext(&F, 43, 8);
	fb_ip6_ah(&F, 16);
	fb_ip6_ext(&F, 60, 8);
	tcp();
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	check_tcp(6, 14, 14 + 40 + 48);
}
END_TEST

START_TEST(test_ipv6_ext_bad)
{
	int i;

	/* Eight extension headers pass, nine are a crafted chain. */
	fb_init(&F);
	fb_eth(&F, 0x86dd);
	ip6();
	for (i = 0; i < 8; i++)
		fb_ip6_ext(&F, 60, 8);
	tcp();
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	fb_init(&F);
	fb_eth(&F, 0x86dd);
	ip6();
	for (i = 0; i < 9; i++)
		fb_ip6_ext(&F, 60, 8);
	tcp();
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_BAD_IP);

	/* A header longer than the payload length says the datagram is. */
	fb_init(&F);
	fb_eth(&F, 0x86dd);
	ip6();
	fb_ip6_ext(&F, 60, 8);
	tcp();
	F.buf[14 + 40 + 1] = 200;
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_BAD_IP);
	/* ...and one that fits the datagram but not the capture. */
	F.buf[14 + 40 + 1] = 2; /* 24 bytes */
	ck_assert_int_eq(dec_n(DLT_T_EN10MB, 14 + 40 + 20), DECODE_TRUNCATED);

	/* Payload length too short for even the next-header byte pair. */
	fb_init(&F);
	fb_eth(&F, 0x86dd);
	ip6();
	fb_ip6_ext(&F, 60, 8);
	tcp();
	F.buf[14 + 4] = 0;
	F.buf[14 + 5] = 1;
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_BAD_IP);

	/* Version 4 behind ethertype IPv6. */
	fb_init(&F);
	fb_eth(&F, 0x86dd);
	ip6();
	tcp();
	F.buf[14] = 0x45;
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_BAD_IP);
}
END_TEST

START_TEST(test_ipv6_not_tcp)
{
	struct fb_ip6 h;

	/* No next header. */
	fb_init(&F);
	fb_eth(&F, 0x86dd);
	memset(&h, 0, sizeof(h));
	h.nh = 59;
	fb_ipv6(&F, &h);
	fb_finish(&F);
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_NOT_TCP);
	/* ...also after an extension header. */
	fb_init(&F);
	fb_eth(&F, 0x86dd);
	ip6();
	fb_ip6_ext(&F, 0, 8);
	fb_fill(&F, 0, 40);
	fb_finish(&F);
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_NOT_TCP);

	/* UDP and ICMPv6. */
	fb_init(&F);
	fb_eth(&F, 0x86dd);
	ip6();
	fb_udp(&F, 546, 547, 30);
	fb_finish(&F);
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_NOT_TCP);
	F.buf[14 + 6] = 58;
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_NOT_TCP);
}
END_TEST

START_TEST(test_ipv6_jumbo)
{
	fb_init(&F);
	fb_eth(&F, 0x86dd);
	ip6();
	fb_ip6_jumbo(&F);
	tcp();
	ck_assert_uint_eq(F.buf[14 + 4], 0);
	ck_assert_uint_eq(F.buf[14 + 5], 0);
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	check_tcp(6, 14, 62);

	/* A real jumbo: the length says 100000, the capture holds a snap of it. */
	F.buf[F.jumbo_at] = 0;
	F.buf[F.jumbo_at + 1] = 0x01;
	F.buf[F.jumbo_at + 2] = 0x86;
	F.buf[F.jumbo_at + 3] = 0xa0;
	ck_assert_int_eq(dec_n(DLT_T_EN10MB, 96), DECODE_OK);
	ck_assert_uint_eq(P.payload_len, 100000 - 8 - 20);

	/* Payload length 0 without a jumbo option: a TSO capture, use what is there. */
	fb_init(&F);
	fb_eth(&F, 0x86dd);
	ip6();
	fb_ip6_ext(&F, 0, 8);
	tcp();
	F.buf[14 + 4] = F.buf[14 + 5] = 0;
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	check_tcp(6, 14, 62);
	fb_init(&F);
	fb_eth(&F, 0x86dd);
	ip6();
	tcp();
	F.buf[14 + 4] = F.buf[14 + 5] = 0;
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	check_tcp(6, 14, 54);
}
END_TEST

START_TEST(test_ipv6_fragments)
{
	fb_init(&F);
	fb_eth(&F, 0x86dd);
	ip6();
	fb_ip6_frag(&F, 6, 0, 1, 0xdeadbeef);
	tcp();
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	ck_assert_uint_eq(P.frag, FRAG_FIRST);
	ck_assert_uint_eq(P.frag_more, 1);
	ck_assert_uint_eq(P.frag_id, 0xdeadbeef);
	ck_assert_uint_eq(P.srcport, 40000);
	ck_assert_uint_eq(P.payload_len, 100);
	ck_assert_uint_eq(P.l4_off, 62);

	fb_init(&F);
	fb_eth(&F, 0x86dd);
	ip6();
	fb_ip6_ext(&F, 0, 8);
	fb_ip6_frag(&F, 6, 100, 0, 0xdeadbeef);
	fb_fill(&F, 'q', 77);
	fb_finish(&F);
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	ck_assert_uint_eq(P.frag, FRAG_LATER);
	ck_assert_uint_eq(P.frag_more, 0);
	ck_assert_uint_eq(P.frag_id, 0xdeadbeef);
	ck_assert_uint_eq(P.payload_len, 77);
	ck_assert_uint_eq(P.srcport, 0);
	ck_assert_uint_eq(P.flags, 0);
	ck_assert_uint_eq(P.l4_off, 0);
	ck_assert_uint_eq(P.l3_off, 14);
	ck_assert_uint_eq(P.af, 6);

	/* A fragment of UDP. */
	fb_init(&F);
	fb_eth(&F, 0x86dd);
	ip6();
	fb_ip6_frag(&F, 17, 100, 1, 1);
	fb_fill(&F, 'q', 80);
	fb_finish(&F);
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_NOT_TCP);

	/* An atomic fragment (offset 0, no M) is a whole datagram. */
	fb_init(&F);
	fb_eth(&F, 0x86dd);
	ip6();
	fb_ip6_frag(&F, 6, 0, 0, 5);
	tcp();
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	check_tcp(6, 14, 62);
	ck_assert_uint_eq(P.frag_id, 0);
}
END_TEST

/* --- TCP ---------------------------------------------------------------- */

START_TEST(test_tcp_bad)
{
	fb_init(&F);
	fb_eth(&F, 0x0800);
	ip4();
	tcp();
	F.buf[34 + 12] = 0x40; /* data offset 4 */
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_BAD_TCP);
	F.buf[34 + 12] = 0x00;
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_BAD_TCP);

	/* Data offset beyond the segment the IP header describes. */
	fb_init(&F);
	fb_eth(&F, 0x0800);
	ip4();
	fb_tcp(&F, &(struct fb_tcp){.sport = 1, .dport = 2, .paylen = 0});
	fb_fill(&F, 0, 40); /* trailing bytes that are not part of the datagram */
	fb_finish(&F);
	F.buf[16] = 0;
	F.buf[17] = 40;
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	F.buf[34 + 12] = 0x60; /* 24 bytes of header in a 20-byte segment */
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_BAD_TCP);

	/* Same over IPv6. */
	fb_init(&F);
	fb_eth(&F, 0x86dd);
	ip6();
	fb_tcp(&F, &(struct fb_tcp){.sport = 1, .dport = 2, .paylen = 10});
	fb_finish(&F);
	F.buf[54 + 12] = 0xf0; /* 60 > 30 */
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_BAD_TCP);
}
END_TEST

START_TEST(test_tcp_flags_options)
{
	static const uint8_t opt[] = {2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2};

	fb_init(&F);
	fb_eth(&F, 0x0800);
	ip4();
	fb_tcp(&F, &(struct fb_tcp){.sport = 1,
	               .dport = 2,
	               .flags = TCPF_SYN | 0xc0,
	               .opt = opt,
	               .optlen = sizeof(opt),
	               .paylen = 0});
	fb_finish(&F);
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	ck_assert_uint_eq(P.flags, TCPF_SYN | 0xc0); /* ECE/CWR kept in the byte */
	ck_assert_uint_eq(P.payload_len, 0);
	/* Options cut short by the snap length are fine. */
	ck_assert_int_eq(dec_n(DLT_T_EN10MB, 34 + 21), DECODE_OK);
	ck_assert_uint_eq(P.payload_len, 0);
	ck_assert_uint_eq(P.srcport, 1);
}
END_TEST

START_TEST(test_snapped)
{
	fb_init(&F);
	fb_eth(&F, 0x0800);
	ip4();
	fb_tcp(&F, &(struct fb_tcp){.sport = 5, .dport = 6, .flags = TCPF_ACK, .paylen = 1400});
	fb_finish(&F);
	ck_assert_int_eq(dec_n(DLT_T_EN10MB, 96), DECODE_OK);
	ck_assert_uint_eq(P.payload_len, 1400);
	ck_assert_int_eq(dec_n(DLT_T_EN10MB, 54), DECODE_OK);
	ck_assert_uint_eq(P.payload_len, 1400);

	/* Ethernet padding past the IP total length is not payload. */
	fb_init(&F);
	fb_eth(&F, 0x0800);
	ip4();
	fb_tcp(&F, &(struct fb_tcp){.sport = 5, .dport = 6, .flags = TCPF_ACK});
	fb_finish(&F);
	fb_fill(&F, 0, 6);
	ck_assert_uint_eq(F.len, 60);
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_OK);
	ck_assert_uint_eq(P.payload_len, 0);
}
END_TEST

START_TEST(test_not_tcp)
{
	fb_init(&F);
	fb_eth(&F, 0x0800);
	ip4();
	fb_udp(&F, 53, 53, 40);
	fb_finish(&F);
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_NOT_TCP);

	fb_init(&F);
	fb_eth(&F, 0x0800);
	ip4();
	fb_icmp_echo(&F, 56);
	fb_finish(&F);
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_NOT_TCP);

	fb_init(&F);
	fb_eth(&F, 0x0806);
	fb_arp(&F);
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_NOT_TCP);

	fb_init(&F); /* 802.3 length + LLC (STP) */
	fb_eth(&F, 38);
	fb_fill(&F, 0x42, 38);
	ck_assert_int_eq(dec(DLT_T_EN10MB), DECODE_NOT_TCP);
}
END_TEST

/* --- truncation and garbage --------------------------------------------- */

enum kind {
	K_ETH4,
	K_VLAN6_EXT,
	K_PPPOE6,
	K_MPLS_PW,
	K_SLL2_OPTS,
	K_NULL6_FRAG,
	K_RAW4,
	K_SLL_JUMBO,
	K_N
};

/* Build a frame of a kind; returns its link type. */
static int
build_kind(enum kind k)
{
	static const uint8_t opt[] = {0x94, 4, 0, 0};

	fb_init(&F);
	switch (k) {
	case K_ETH4:
		fb_eth(&F, 0x0800);
		ip4();
		tcp();
		return DLT_T_EN10MB;
	case K_VLAN6_EXT:
		fb_eth(&F, 0x88a8);
		fb_vlan(&F, 1, 0x8100);
		fb_vlan(&F, 2, 0x86dd);
		ip6();
		fb_ip6_ext(&F, 0, 8);
		fb_ip6_ext(&F, 43, 16);
		fb_ip6_ah(&F, 12);
		tcp();
		return DLT_T_EN10MB;
	case K_PPPOE6:
		fb_eth(&F, 0x8864);
		fb_pppoe(&F, 0x0057);
		ip6();
		tcp();
		return DLT_T_EN10MB;
	case K_MPLS_PW:
		fb_eth(&F, 0x8847);
		fb_mpls(&F, 1, 0);
		fb_mpls(&F, 2, 1);
		fb_pw_cw(&F);
		fb_eth(&F, 0x8100);
		fb_vlan(&F, 9, 0x0800);
		ip4();
		tcp();
		return DLT_T_EN10MB;
	case K_SLL2_OPTS:
		fb_sll2(&F, 0x0800);
		fb_ipv4(&F, &(struct fb_ip4){.src = SRC4, .dst = DST4, .opt = opt, .optlen = 4});
		tcp();
		return DLT_T_SLL2;
	case K_NULL6_FRAG:
		fb_null(&F, 30, 0);
		ip6();
		fb_ip6_frag(&F, 6, 0, 1, 99);
		tcp();
		return DLT_T_NULL;
	case K_RAW4:
		ip4();
		tcp();
		return DLT_T_RAW;
	case K_SLL_JUMBO:
		fb_sll(&F, 0x86dd);
		ip6();
		fb_ip6_jumbo(&F);
		tcp();
		return DLT_T_SLL;
	default:
		ck_abort();
	}
	return -1;
}

START_TEST(test_truncation)
{
	int dlt = build_kind((enum kind)_i);
	size_t end, n;

	ck_assert_int_eq(dec(dlt), DECODE_OK);
	end = P.l4_off + 20;
	/* Every prefix that ends before the fixed TCP header does is truncated... */
	for (n = 0; n < end; n++)
		ck_assert_msg(dec_n(dlt, n) == DECODE_TRUNCATED, "kind %d len %zu: %s", _i, n,
		    decode_reason_name(dec_n(dlt, n)));
	/* ...and every longer one decodes, with the wire payload length. */
	for (n = end; n <= F.len; n++) {
		ck_assert_int_eq(dec_n(dlt, n), DECODE_OK);
		ck_assert_uint_eq(P.payload_len, 100);
		ck_assert_uint_eq(P.srcport, 40000);
	}
}
END_TEST

/* Random bytes and random mutations of good frames: any result, but no over-read. */
START_TEST(test_garbage)
{
	static const int dlts[] = {DLT_T_NULL, DLT_T_EN10MB, DLT_T_RAW, DLT_T_LOOP, DLT_T_SLL,
	    DLT_T_SLL2, DLT_T_IPV4, DLT_T_IPV6};
	uint64_t x = 88172645463325252ull;
	int i, j, dlt;
	size_t n;

	for (i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (i % 2) {
			dlt = build_kind((enum kind)(x % K_N));
			for (j = 0; j < 4; j++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				F.buf[x % F.len] = (uint8_t)(x >> 32);
			}
		} else {
			dlt = dlts[x % 8];
			F.len = (size_t)(x >> 8) % 200;
			for (n = 0; n < F.len; n++)
				F.buf[n] = (uint8_t)(x >> (n % 7 * 8)) ^ (uint8_t)n;
			/* Make the interesting type fields likely. */
			if (F.len > 14)
				F.buf[12] = (x >> 40) % 2 ? 0x88 : 0x81;
		}
		n = (size_t)(x >> 20) % (F.len + 1);
		(void)dec_n(dlt, n);
		ck_assert_uint_le(P.nvlan, DECODE_MAX_VLAN);
	}
}
END_TEST

static Suite *
decode_suite(void)
{
	Suite *s = suite_create("decode");
	TCase *tc;

	tc = tcase_create("link");
	tcase_add_test(tc, test_en10mb);
	tcase_add_test(tc, test_null);
	tcase_add_test(tc, test_loop);
	tcase_add_test(tc, test_raw);
	tcase_add_test(tc, test_sll);
	tcase_add_test(tc, test_sll2);
	tcase_add_test(tc, test_ppp);
	tcase_add_test(tc, test_chdlc);
	tcase_add_test(tc, test_pflog);
	tcase_add_test(tc, test_ipnet);
	tcase_add_test(tc, test_arcnet);
	tcase_add_loop_test(tc, test_nflog, 0, 2);
	tcase_add_test(tc, test_unsupported);
	tcase_add_test(tc, test_reason_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("encap");
	tcase_add_test(tc, test_vlan);
	tcase_add_test(tc, test_qinq);
	tcase_add_test(tc, test_vlan_overflow);
	tcase_add_test(tc, test_pppoe);
	tcase_add_test(tc, test_mpls);
	tcase_add_test(tc, test_mpls_pseudowire);
	suite_add_tcase(s, tc);

	tc = tcase_create("ip");
	tcase_add_test(tc, test_ipv4_options);
	tcase_add_test(tc, test_ipv4_bad);
	tcase_add_test(tc, test_ipv4_tso);
	tcase_add_test(tc, test_ipv4_fragments);
	tcase_add_test(tc, test_ipv6_ext);
	tcase_add_test(tc, test_ipv6_ext_bad);
	tcase_add_test(tc, test_ipv6_not_tcp);
	tcase_add_test(tc, test_ipv6_jumbo);
	tcase_add_test(tc, test_ipv6_fragments);
	suite_add_tcase(s, tc);

	tc = tcase_create("tcp");
	tcase_add_test(tc, test_tcp_bad);
	tcase_add_test(tc, test_tcp_flags_options);
	tcase_add_test(tc, test_snapped);
	tcase_add_test(tc, test_not_tcp);
	suite_add_tcase(s, tc);

	tc = tcase_create("robust");
	tcase_add_loop_test(tc, test_truncation, 0, K_N);
	tcase_add_test(tc, test_garbage);
	tcase_set_timeout(tc, 60); /* valgrind is slow */
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(decode_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
