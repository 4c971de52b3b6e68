/*
 * check_ipfix.c: unit tests for the IPFIX encoding (src/ipfix.c), read
 * straight from the bytes it makes: the message header, the template and
 * data set ids, each field at its place in a record, the NTP times, the
 * datagram bound, the enterprise elements and their descriptions.
 */
#include <arpa/inet.h>
#include <check.h>
#include <net/if.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "ipfix.h"

/* Where a v4 record's fields are (pen 0, interfaceName of 2 bytes: "lo"). */
#define OFF_PACKETS 32
#define OFF_OCTETS  40
#define OFF_IFNAME  48 /* its length byte */
#define OFF_SRC4    51
#define V4_LEN      75

static uint64_t
be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | *p++;
	return v;
}

static struct ipfix *
encoder(uint32_t pen, size_t msg_max)
{
	struct ipfix_config cfg = {.domain = 42, .pen = pen, .msg_max = msg_max};
	char *cause = NULL;
	struct ipfix *p = ipfix_new(&cfg, &cause);

	ck_assert_msg(p != NULL, "ipfix_new: %s", cause);
	return p;
}

static void
flow_v4(struct ipfix_flow *f)
{
	memset(f, 0, sizeof *f);
	f->first_ns = 1700000000123456789ULL;
	f->last_ns = 1700000005987654321ULL;
	f->packets = 12;
	f->ipbytes = 3456;
	f->af = 4;
	inet_pton(AF_INET, "10.1.2.3", f->src);
	inet_pton(AF_INET, "192.168.9.8", f->dst);
	f->srcport = 40000;
	f->dstport = 443;
	f->vlan[0] = 100;
	f->tcpflags = 0x1b;
	f->reason = FLOW_R_FIN;
	f->label = "flow-a";
	f->label_len = 6;
	f->fpout = "2024/flow-a.pcap";
	f->fpout_len = 16;
	f->iface = "lo";
	f->iface_len = 2;
}

/* The first set with this id in the message at m; its length (header included) in *len. */
static const uint8_t *
find_set(const uint8_t *m, uint16_t id, size_t *len)
{
	size_t off = 16, mlen = be(m + 2, 2);

	while (off + 4 <= mlen) {
		*len = be(m + off + 2, 2);
		if (be(m + off, 2) == id)
			return m + off;
		ck_assert_uint_ge(*len, 4);
		off += *len;
	}
	return NULL;
}

START_TEST(test_templates)
{
	struct ipfix *p = encoder(0, 0);
	const uint8_t *m, *set;
	size_t len, slen;

	ipfix_templates(p);
	m = ipfix_out(p, &len);
	ck_assert_uint_ge(len, 16);
	ck_assert_uint_eq(be(m, 2), 10);      /* IPFIX version */
	ck_assert_uint_eq(be(m + 2, 2), len); /* one message, whole */
	ck_assert_uint_eq(be(m + 12, 4), 42); /* observation domain */
	set = find_set(m, 2, &slen);          /* template set */
	ck_assert_ptr_nonnull(set);
	ck_assert_uint_eq(be(set + 4, 2), IPFIX_TID_V4);
	ck_assert_uint_eq(be(set + 6, 2), 17);     /* fields: all but the two IPv6 addresses */
	ck_assert_ptr_null(find_set(m, 3, &slen)); /* no element descriptions without a pen */
	ipfix_out_clear(p);
	ipfix_out(p, &len);
	ck_assert_uint_eq(len, 0);
	ipfix_free(p);
}
END_TEST

START_TEST(test_record_v4)
{
	struct ipfix *p = encoder(0, 0);
	struct ipfix_flow f;
	const uint8_t *m, *set, *r;
	char *cause = NULL;
	uint64_t ntp;
	size_t len, slen;

	flow_v4(&f);
	ck_assert_int_eq(ipfix_append(p, &f, &cause), 0);
	ipfix_out(p, &len);
	ck_assert_uint_eq(len, 0); /* in the message being made, not yet out */
	ipfix_emit(p);
	m = ipfix_out(p, &len);
	ck_assert_uint_eq(be(m + 2, 2), len);
	set = find_set(m, IPFIX_TID_V4, &slen);
	ck_assert_ptr_nonnull(set);
	ck_assert_uint_eq(slen, 4 + V4_LEN);
	r = set + 4;
	ck_assert_uint_eq(be(r, 8), f.first_ns / 1000000);
	ck_assert_uint_eq(be(r + 8, 8), f.last_ns / 1000000);
	/* flowStartNanoseconds: NTP seconds, and a fraction that reads back to the ns. */
	ntp = be(r + 16, 8);
	ck_assert_uint_eq(ntp >> 32, 1700000000ULL + 2208988800ULL);
	ck_assert_uint_eq(((ntp & 0xffffffffULL) * 1000000000ULL) >> 32, 123456789);
	ck_assert_uint_eq(be(r + OFF_PACKETS, 8), 12);
	ck_assert_uint_eq(be(r + OFF_OCTETS, 8), 3456);
	ck_assert_uint_eq(r[OFF_IFNAME], 2);
	ck_assert_int_eq(memcmp(r + OFF_IFNAME + 1, "lo", 2), 0);
	ck_assert_int_eq(memcmp(r + OFF_SRC4, f.src, 4), 0);
	ck_assert_int_eq(memcmp(r + OFF_SRC4 + 4, f.dst, 4), 0);
	ck_assert_uint_eq(be(r + OFF_SRC4 + 8, 4), if_nametoindex("lo"));
	ck_assert_uint_eq(be(r + OFF_SRC4 + 12, 2), 40000);
	ck_assert_uint_eq(be(r + OFF_SRC4 + 14, 2), 443);
	ck_assert_uint_eq(be(r + OFF_SRC4 + 16, 2), 100);
	ck_assert_uint_eq(be(r + OFF_SRC4 + 18, 2), 0);
	ck_assert_uint_eq(be(r + OFF_SRC4 + 20, 2), 0x1b);
	ck_assert_uint_eq(r[OFF_SRC4 + 22], 6); /* TCP */
	ck_assert_uint_eq(r[OFF_SRC4 + 23], 3); /* end of flow detected */
	ipfix_free(p);
}
END_TEST

START_TEST(test_record_v6)
{
	struct ipfix *p = encoder(0, 0);
	struct ipfix_flow f;
	const uint8_t *m, *set;
	char *cause = NULL;
	size_t len, slen;

	flow_v4(&f);
	f.af = 6;
	inet_pton(AF_INET6, "2001:db8::1", f.src);
	inet_pton(AF_INET6, "2001:db8::2", f.dst);
	ck_assert_int_eq(ipfix_append(p, &f, &cause), 0);
	ipfix_emit(p);
	m = ipfix_out(p, &len);
	ck_assert_ptr_null(find_set(m, IPFIX_TID_V4, &slen));
	set = find_set(m, IPFIX_TID_V6, &slen);
	ck_assert_ptr_nonnull(set);
	ck_assert_uint_eq(slen, 4 + V4_LEN + 24);
	ck_assert_int_eq(memcmp(set + 4 + OFF_SRC4, f.src, 16), 0);
	ck_assert_int_eq(memcmp(set + 4 + OFF_SRC4 + 16, f.dst, 16), 0);
	ipfix_free(p);
}
END_TEST

/* msg_max (a UDP datagram): many records, each message within it, none lost. */
START_TEST(test_msg_max)
{
	struct ipfix *p = encoder(0, 1400);
	struct ipfix_flow f;
	const uint8_t *m, *set;
	char *cause = NULL;
	size_t len, off = 0, slen, nmsg = 0, nrec = 0;
	int i;

	flow_v4(&f);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(ipfix_append(p, &f, &cause), 0);
	ipfix_emit(p);
	m = ipfix_out(p, &len);
	while (off < len) {
		size_t mlen = be(m + off + 2, 2);

		ck_assert_uint_le(mlen, 1400);
		ck_assert_uint_le(off + mlen, len);
		if ((set = find_set(m + off, IPFIX_TID_V4, &slen)) != NULL)
			nrec += (slen - 4) / V4_LEN;
		off += mlen;
		nmsg++;
	}
	ck_assert_uint_eq(off, len);
	ck_assert_uint_ge(nmsg, 6); /* 100 x 75 bytes do not fit fewer */
	ck_assert_uint_eq(nrec, 100);
	ipfix_free(p);
}
END_TEST

/* With a pen: the enterprise elements follow; their descriptions (RFC 5610) go with templates. */
START_TEST(test_enterprise)
{
	struct ipfix *p = encoder(32473, 0);
	struct ipfix_flow f;
	const uint8_t *m, *set, *r;
	char *cause = NULL;
	size_t len, slen;

	ipfix_templates(p);
	m = ipfix_out(p, &len);
	ck_assert_ptr_nonnull(memmem(m, len, "traceflowLabel", 14));
	ck_assert_ptr_nonnull(memmem(m, len, "traceflowFpout", 14));
	ipfix_out_clear(p);
	flow_v4(&f);
	f.partial = 1;
	ck_assert_int_eq(ipfix_append(p, &f, &cause), 0);
	ipfix_emit(p);
	m = ipfix_out(p, &len);
	set = find_set(m, IPFIX_TID_V4, &slen);
	ck_assert_ptr_nonnull(set);
	r = set + 4 + V4_LEN;
	ck_assert_uint_eq(r[0], 6);
	ck_assert_int_eq(memcmp(r + 1, "flow-a", 6), 0);
	ck_assert_uint_eq(r[7], 16);
	ck_assert_int_eq(memcmp(r + 8, "2024/flow-a.pcap", 16), 0);
	ck_assert_uint_eq(r[24], 3);
	ck_assert_int_eq(memcmp(r + 25, "fin", 3), 0);
	ck_assert_uint_eq(r[28], 1); /* partial */
	ck_assert_uint_eq(slen, 4 + V4_LEN + 29);
	ipfix_free(p);
}
END_TEST

/* A message thrown away (the connection broke) leaves nothing behind. */
START_TEST(test_abandon)
{
	struct ipfix *p = encoder(0, 0);
	struct ipfix_flow f;
	char *cause = NULL;
	size_t len;

	flow_v4(&f);
	ck_assert_int_eq(ipfix_append(p, &f, &cause), 0);
	ipfix_abandon(p);
	ipfix_out(p, &len);
	ck_assert_uint_eq(len, 0);
	ipfix_emit(p);
	ipfix_out(p, &len);
	ck_assert_uint_eq(len, 0);
	ipfix_free(p);
}
END_TEST

START_TEST(test_end_reason)
{
	ck_assert_uint_eq(ipfix_end_reason(FLOW_R_IDLE), 1);
	ck_assert_uint_eq(ipfix_end_reason(FLOW_R_ROTATE), 2);
	ck_assert_uint_eq(ipfix_end_reason(FLOW_R_FIN), 3);
	ck_assert_uint_eq(ipfix_end_reason(FLOW_R_RST), 3);
	ck_assert_uint_eq(ipfix_end_reason(FLOW_R_REUSE), 3);
	ck_assert_uint_eq(ipfix_end_reason(FLOW_R_SHUTDOWN), 4);
	ck_assert_uint_eq(ipfix_end_reason(FLOW_R_SUBMIT), 4);
	ck_assert_uint_eq(ipfix_end_reason(FLOW_R_EVICTED), 5);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ipfix");
	TCase *tc = tcase_create("encode");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_templates);
	tcase_add_test(tc, test_record_v4);
	tcase_add_test(tc, test_record_v6);
	tcase_add_test(tc, test_msg_max);
	tcase_add_test(tc, test_enterprise);
	tcase_add_test(tc, test_abandon);
	tcase_add_test(tc, test_end_reason);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
