/*
 * check_history.c: unit tests for the history of finished flows
 * (src/history.c): numbering, overwriting when full, and the byte budget
 * for frame numbers, oldest dropped first, never the summaries.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

static void
add(struct history *h, int i, const char *frames)
{
	char label[32], summary[64];
	struct history_entry e = {summary, (char *)frames, label, "10.0.0.1", "10.0.0.2", 1000, 80};

	snprintf(label, sizeof label, "flow-%d", i);
	snprintf(summary, sizeof summary, "{\"label\":\"flow-%d\"}", i);
	e.sport = (uint16_t)(1000 + i);
	history_add(h, &e);
}

START_TEST(test_numbering)
{
	struct history *h = history_new(8, 1 << 20);
	const struct history_entry *e;

	ck_assert_uint_eq(history_first(h), 0);
	ck_assert_uint_eq(history_end(h), 0);
	ck_assert_ptr_null(history_get(h, 0));
	add(h, 0, "[1,2]");
	add(h, 1, NULL);
	ck_assert_uint_eq(history_end(h), 2);
	e = history_get(h, 0);
	ck_assert_str_eq(e->label, "flow-0");
	ck_assert_str_eq(e->summary, "{\"label\":\"flow-0\"}");
	ck_assert_str_eq(e->frames, "[1,2]");
	ck_assert_str_eq(e->src, "10.0.0.1");
	ck_assert_uint_eq(e->sport, 1000);
	e = history_get(h, 1);
	ck_assert_ptr_null(e->frames);
	ck_assert_uint_eq(e->sport, 1001);
	ck_assert_ptr_null(history_get(h, 2));
	history_free(h);
}
END_TEST

/* Full: the oldest entries go, their numbers answer NULL, the rest stay. */
START_TEST(test_overwrite)
{
	struct history *h = history_new(4, 12); /* room for exactly 4 lists of 3 bytes */
	int i;

	for (i = 0; i < 10; i++)
		add(h, i, "[7]");
	ck_assert_uint_eq(history_first(h), 6);
	ck_assert_uint_eq(history_end(h), 10);
	for (i = 0; i < 6; i++)
		ck_assert_ptr_null(history_get(h, (uint64_t)i));
	for (i = 6; i < 10; i++) {
		char want[32];

		snprintf(want, sizeof want, "flow-%d", i);
		ck_assert_str_eq(history_get(h, (uint64_t)i)->label, want);
	}
	/* Frame text of the overwritten entries is no longer counted: the 4 left keep theirs. */
	for (i = 6; i < 10; i++)
		ck_assert_str_eq(history_get(h, (uint64_t)i)->frames, "[7]");
	history_free(h);
}
END_TEST

/* Over budget: the oldest frame lists are dropped, summaries kept. */
START_TEST(test_frames_budget)
{
	struct history *h = history_new(100, 20);
	int i;

	for (i = 0; i < 5; i++)
		add(h, i, "[1,2,3]"); /* 7 bytes each */
	ck_assert_ptr_null(history_get(h, 0)->frames);
	ck_assert_ptr_null(history_get(h, 1)->frames);
	ck_assert_ptr_null(history_get(h, 2)->frames); /* 3 x 7 bytes is over 20 */
	ck_assert_str_eq(history_get(h, 3)->frames, "[1,2,3]");
	ck_assert_str_eq(history_get(h, 4)->frames, "[1,2,3]");
	ck_assert_str_eq(history_get(h, 0)->summary, "{\"label\":\"flow-0\"}");
	/* A list bigger than the whole budget is dropped at once. */
	add(h, 5, "[1,2,3,4,5,6,7,8,9,10,11,12]");
	ck_assert_ptr_null(history_get(h, 5)->frames);
	ck_assert_ptr_null(history_get(h, 4)->frames); /* made room first */
	history_free(h);
}
END_TEST

/* Wrapping with a budget: the frame cursor follows the overwritten entries. */
START_TEST(test_wrap_with_budget)
{
	struct history *h = history_new(3, 16);
	uint64_t n;
	int i;

	for (i = 0; i < 50; i++)
		add(h, i, "[1,2]"); /* 5 bytes: all 3 entries fit the budget */
	for (n = history_first(h); n < history_end(h); n++)
		ck_assert_str_eq(history_get(h, n)->frames, "[1,2]");
	history_free(h);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("history");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_numbering);
	tcase_add_test(tc, test_overwrite);
	tcase_add_test(tc, test_frames_budget);
	tcase_add_test(tc, test_wrap_with_budget);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
