/*
 * check_frag.c: unit tests for the IP fragment table.
 *
 * Packets are filled in by hand: the table only reads the fields decode
 * sets for fragments (af, addresses, VLAN tags, frag_id, frag_more, ports).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "frag.h"

#define SEC 1000000000ull

/* A fragment of datagram id between 10.0.0.1 and 10.0.0.2. */
static struct packet
frag_pkt(uint32_t id, int more)
{
	struct packet p;

	memset(&p, 0, sizeof(p));
	p.af = 4;
	p.src[0] = 10;
	p.src[3] = 1;
	p.dst[0] = 10;
	p.dst[3] = 2;
	p.frag_id = id;
	p.frag_more = (uint8_t)more;
	return p;
}

static struct packet
first_pkt(uint32_t id, uint16_t sport, uint16_t dport)
{
	struct packet p = frag_pkt(id, 1);

	p.frag = FRAG_FIRST;
	p.srcport = sport;
	p.dstport = dport;
	return p;
}

static struct packet
later_pkt(uint32_t id, int more)
{
	struct packet p = frag_pkt(id, more);

	p.frag = FRAG_LATER;
	return p;
}

START_TEST(test_first_then_later)
{
	struct frag_table *ft = frag_new(16, 30 * SEC);
	struct packet f = first_pkt(77, 1234, 80), l;

	frag_first(ft, &f, 1 * SEC);
	ck_assert_uint_eq(frag_count(ft), 1);

	l = later_pkt(77, 1);
	ck_assert_int_eq(frag_later(ft, &l, 2 * SEC), 0);
	ck_assert_uint_eq(l.srcport, 1234);
	ck_assert_uint_eq(l.dstport, 80);
	ck_assert_uint_eq(frag_count(ft), 1);

	/* The last fragment gets the ports, then the datagram is forgotten. */
	l = later_pkt(77, 0);
	ck_assert_int_eq(frag_later(ft, &l, 3 * SEC), 0);
	ck_assert_uint_eq(l.srcport, 1234);
	ck_assert_uint_eq(l.dstport, 80);
	ck_assert_uint_eq(frag_count(ft), 0);

	l = later_pkt(77, 0);
	ck_assert_int_eq(frag_later(ft, &l, 4 * SEC), -1);
	ck_assert_uint_eq(l.srcport, 0);
	frag_free(ft);
}
END_TEST

START_TEST(test_unknown)
{
	struct frag_table *ft = frag_new(16, 30 * SEC);
	struct packet l = later_pkt(5, 1);

	ck_assert_int_eq(frag_later(ft, &l, 0), -1);
	ck_assert_uint_eq(l.srcport, 0);
	ck_assert_uint_eq(l.dstport, 0);
	ck_assert_uint_eq(frag_count(ft), 0);
	frag_free(ft);
}
END_TEST

START_TEST(test_expiry)
{
	struct frag_table *ft = frag_new(16, 30 * SEC);
	struct packet f1 = first_pkt(1, 1, 2), f2 = first_pkt(2, 3, 4), l;

	frag_first(ft, &f1, 0);
	frag_first(ft, &f2, 10 * SEC);
	frag_expire(ft, 29 * SEC);
	ck_assert_uint_eq(frag_count(ft), 2);
	frag_expire(ft, 30 * SEC);
	ck_assert_uint_eq(frag_count(ft), 1);
	l = later_pkt(1, 0);
	ck_assert_int_eq(frag_later(ft, &l, 30 * SEC), -1);

	/* A later fragment refreshes its datagram. */
	l = later_pkt(2, 1);
	ck_assert_int_eq(frag_later(ft, &l, 35 * SEC), 0);
	frag_expire(ft, 64 * SEC);
	ck_assert_uint_eq(frag_count(ft), 1);
	frag_expire(ft, 65 * SEC);
	ck_assert_uint_eq(frag_count(ft), 0);

	/* Expired but not yet swept: frag_later still says unknown. */
	f1 = first_pkt(9, 1, 2);
	frag_first(ft, &f1, 100 * SEC);
	l = later_pkt(9, 1);
	ck_assert_int_eq(frag_later(ft, &l, 200 * SEC), -1);
	ck_assert_uint_eq(frag_count(ft), 0);

	/* A clock that steps back does not expire anything. */
	frag_first(ft, &f1, 300 * SEC);
	frag_expire(ft, 100 * SEC);
	ck_assert_uint_eq(frag_count(ft), 1);
	frag_free(ft);
}
END_TEST

START_TEST(test_bound)
{
	struct frag_table *ft = frag_new(3, 30 * SEC);
	struct packet p, l;
	uint32_t id;

	for (id = 1; id <= 3; id++) {
		p = first_pkt(id, (uint16_t)(1000 + id), 80);
		frag_first(ft, &p, id * SEC);
	}
	/* Touch datagram 1, so 2 is now the oldest. */
	l = later_pkt(1, 1);
	ck_assert_int_eq(frag_later(ft, &l, 4 * SEC), 0);

	p = first_pkt(4, 1004, 80);
	frag_first(ft, &p, 5 * SEC);
	ck_assert_uint_eq(frag_count(ft), 3);
	l = later_pkt(2, 1);
	ck_assert_int_eq(frag_later(ft, &l, 6 * SEC), -1);
	for (id = 1; id <= 4; id++) {
		if (id == 2)
			continue;
		l = later_pkt(id, 1);
		ck_assert_int_eq(frag_later(ft, &l, 6 * SEC), 0);
		ck_assert_uint_eq(l.srcport, 1000 + id);
	}

	/* Far more datagrams than room: the count stays bounded, the newest survive. */
	for (id = 100; id < 10100; id++) {
		p = first_pkt(id, (uint16_t)id, 80);
		frag_first(ft, &p, 10 * SEC + id);
		ck_assert_uint_le(frag_count(ft), 3);
	}
	l = later_pkt(10099, 0);
	ck_assert_int_eq(frag_later(ft, &l, 11 * SEC), 0);
	ck_assert_uint_eq(l.srcport, 10099 & 0xffff);
	l = later_pkt(10096, 0);
	ck_assert_int_eq(frag_later(ft, &l, 11 * SEC), -1);
	frag_free(ft);
}
END_TEST

START_TEST(test_key)
{
	struct frag_table *ft = frag_new(64, 30 * SEC);
	struct packet f = first_pkt(42, 1, 2), l;

	f.nvlan = 1;
	f.vlan[0] = 100;
	frag_first(ft, &f, 0);

	l = later_pkt(42, 1); /* no VLAN */
	ck_assert_int_eq(frag_later(ft, &l, 0), -1);
	l.nvlan = 1;
	l.vlan[0] = 101; /* another VLAN */
	ck_assert_int_eq(frag_later(ft, &l, 0), -1);
	l.nvlan = 2;
	l.vlan[0] = 100; /* an extra tag */
	l.vlan[1] = 5;
	ck_assert_int_eq(frag_later(ft, &l, 0), -1);

	l = later_pkt(43, 1); /* another id */
	l.nvlan = 1;
	l.vlan[0] = 100;
	ck_assert_int_eq(frag_later(ft, &l, 0), -1);

	l = later_pkt(42, 1); /* addresses swapped */
	l.nvlan = 1;
	l.vlan[0] = 100;
	l.src[3] = 2;
	l.dst[3] = 1;
	ck_assert_int_eq(frag_later(ft, &l, 0), -1);

	l = later_pkt(42, 1); /* same bytes, other family */
	l.af = 6;
	l.nvlan = 1;
	l.vlan[0] = 100;
	ck_assert_int_eq(frag_later(ft, &l, 0), -1);

	l = later_pkt(42, 1); /* the right one, with stale bytes in unused tag slots */
	l.nvlan = 1;
	l.vlan[0] = 100;
	l.vlan[3] = 999;
	ck_assert_int_eq(frag_later(ft, &l, 0), 0);
	ck_assert_uint_eq(l.srcport, 1);
	ck_assert_uint_eq(l.dstport, 2);
	ck_assert_uint_eq(frag_count(ft), 1);
	frag_free(ft);
}
END_TEST

START_TEST(test_repeated_first)
{
	struct frag_table *ft = frag_new(8, 30 * SEC);
	struct packet f = first_pkt(3, 10, 20), l;

	frag_first(ft, &f, 0);
	f.srcport = 11;
	frag_first(ft, &f, 1);
	ck_assert_uint_eq(frag_count(ft), 1);
	l = later_pkt(3, 0);
	ck_assert_int_eq(frag_later(ft, &l, 2), 0);
	ck_assert_uint_eq(l.srcport, 11);
	ck_assert_uint_eq(frag_count(ft), 0);
	frag_free(ft);
}
END_TEST

START_TEST(test_many)
{
	struct frag_table *ft = frag_new(1000, 1 * SEC);
	struct packet p, l;
	uint32_t i;

	/* Interleaved datagrams, all completed: the table ends empty. */
	for (i = 0; i < 5000; i++) {
		p = first_pkt(i, (uint16_t)i, 443);
		p.src[2] = (uint8_t)(i % 7);
		frag_first(ft, &p, i);
		if (i >= 500) {
			l = later_pkt(i - 500, 0);
			l.src[2] = (uint8_t)((i - 500) % 7);
			ck_assert_int_eq(frag_later(ft, &l, i), 0);
			ck_assert_uint_eq(l.srcport, (i - 500) & 0xffff);
		}
	}
	ck_assert_uint_eq(frag_count(ft), 500);
	frag_expire(ft, 10 * SEC);
	ck_assert_uint_eq(frag_count(ft), 0);
	frag_free(ft);
	frag_free(NULL);
}
END_TEST

static Suite *
frag_suite(void)
{
	Suite *s = suite_create("frag");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, test_first_then_later);
	tcase_add_test(tc, test_unknown);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_bound);
	tcase_add_test(tc, test_key);
	tcase_add_test(tc, test_repeated_first);
	tcase_add_test(tc, test_many);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(frag_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
