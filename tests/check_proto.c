/*
 * check_proto.c: unit tests for the control protocol (src/cmd.c): the
 * command table, request encoding, and the typed readers, which must turn
 * down every malformed message (wrong magic, version, type or length, a
 * missing NUL, too many or too few strings, leftover bytes) with a cause.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "proto.h"

/* Encode argv, check the header, decode the payload: the round trip. */
static int
round_trip(int argc, char *const argv[], int *out_argc, char ***out_argv)
{
	struct proto_hdr h;
	char *cause = NULL;
	uint8_t *msg;
	size_t len;
	int rc;

	msg = proto_request_encode(argc, argv, &len, &cause);
	ck_assert_ptr_nonnull(msg);
	memcpy(&h, msg, sizeof h);
	ck_assert_int_eq(proto_request_check_hdr(&h, &cause), 0);
	ck_assert_uint_eq(h.len + PROTO_HDR_LEN, len);
	rc = proto_request_decode(msg + PROTO_HDR_LEN, h.len, out_argc, out_argv, &cause);
	free(msg);
	free(cause);
	return rc;
}

/* Decode a hand-made payload: count then raw bytes. Returns the result, frees the cause. */
static int
decode_raw(uint32_t n, const char *bytes, size_t blen)
{
	uint8_t buf[PROTO_MAX_REQUEST + 64];
	char *cause = NULL, **argv = NULL;
	int argc, rc;

	memcpy(buf, &n, sizeof n);
	memcpy(buf + sizeof n, bytes, blen);
	rc = proto_request_decode(buf, sizeof n + blen, &argc, &argv, &cause);
	if (rc == -1) {
		ck_assert_ptr_nonnull(cause);
		free(cause);
	} else
		free(argv);
	return rc;
}

START_TEST(test_request_round_trip)
{
	char *in[] = {"list", "--port", "443", "", "--label", "10.0.0.1_*"};
	char **out;
	int argc, i;

	ck_assert_int_eq(round_trip(6, in, &argc, &out), 0);
	ck_assert_int_eq(argc, 6);
	for (i = 0; i < argc; i++)
		ck_assert_str_eq(out[i], in[i]);
	free(out);
}
END_TEST

START_TEST(test_request_limits)
{
	char *many[PROTO_MAX_ARGS + 1], big[PROTO_MAX_ARG + 2], *cause = NULL;
	size_t len;
	int i;

	for (i = 0; i <= PROTO_MAX_ARGS; i++)
		many[i] = "x";
	ck_assert_ptr_null(proto_request_encode(PROTO_MAX_ARGS + 1, many, &len, &cause));
	free(cause);
	cause = NULL;
	ck_assert_ptr_null(proto_request_encode(0, many, &len, &cause));
	free(cause);
	cause = NULL;
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	many[1] = big;
	ck_assert_ptr_null(proto_request_encode(2, many, &len, &cause));
	free(cause);
}
END_TEST

START_TEST(test_request_malformed)
{
	char big[PROTO_MAX_ARG + 2];

	ck_assert_int_eq(decode_raw(1, "stats", 6), 0);
	ck_assert_int_eq(decode_raw(1, "stats", 5), -1);     /* no NUL */
	ck_assert_int_eq(decode_raw(2, "stats", 6), -1);     /* truncated: a string missing */
	ck_assert_int_eq(decode_raw(1, "stats\0x", 8), -1);  /* leftover bytes */
	ck_assert_int_eq(decode_raw(1, "stats\0\0", 7), -1); /* leftover empty string */
	ck_assert_int_eq(decode_raw(0, "", 0), -1);          /* no command */
	ck_assert_int_eq(decode_raw(PROTO_MAX_ARGS + 1, "", 0), -1);
	ck_assert_int_eq(decode_raw(UINT32_MAX, "a", 2), -1);
	memset(big, 'a', sizeof big);
	big[sizeof big - 1] = '\0';
	ck_assert_int_eq(decode_raw(1, big, sizeof big), -1); /* argument too long */
}
END_TEST

START_TEST(test_request_short_payload)
{
	char *cause = NULL, **argv;
	uint8_t two[2] = {1, 0};
	int argc;

	ck_assert_int_eq(proto_request_decode(two, sizeof two, &argc, &argv, &cause), -1);
	free(cause);
}
END_TEST

START_TEST(test_request_header)
{
	struct proto_hdr h;
	char *cause = NULL;

	proto_hdr_make(&h, PROTO_REQUEST, 10);
	ck_assert_int_eq(proto_request_check_hdr(&h, &cause), 0);

	h.magic = 0x47455420; /* "GET " and friends */
	ck_assert_int_eq(proto_request_check_hdr(&h, &cause), -1);
	free(cause);

	proto_hdr_make(&h, PROTO_REQUEST, 10);
	h.version = PROTO_VERSION + 1;
	ck_assert_int_eq(proto_request_check_hdr(&h, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "version"));
	free(cause);

	proto_hdr_make(&h, PROTO_EXIT, 10);
	ck_assert_int_eq(proto_request_check_hdr(&h, &cause), -1);
	free(cause);

	proto_hdr_make(&h, PROTO_REQUEST, PROTO_MAX_REQUEST + 1);
	ck_assert_int_eq(proto_request_check_hdr(&h, &cause), -1);
	free(cause);

	proto_hdr_make(&h, PROTO_REQUEST, 3);
	ck_assert_int_eq(proto_request_check_hdr(&h, &cause), -1);
	free(cause);
}
END_TEST

START_TEST(test_reply_header)
{
	struct proto_hdr h;
	char *cause = NULL;

	proto_hdr_make(&h, PROTO_DATA, 1);
	ck_assert_int_eq(proto_reply_check_hdr(&h, &cause), 0);
	proto_hdr_make(&h, PROTO_DATA, 0);
	ck_assert_int_eq(proto_reply_check_hdr(&h, &cause), -1);
	free(cause);
	proto_hdr_make(&h, PROTO_DATA, PROTO_MAX_DATA + 1);
	ck_assert_int_eq(proto_reply_check_hdr(&h, &cause), -1);
	free(cause);
	proto_hdr_make(&h, PROTO_EXIT, PROTO_EXIT_LEN);
	ck_assert_int_eq(proto_reply_check_hdr(&h, &cause), 0);
	proto_hdr_make(&h, PROTO_EXIT, PROTO_EXIT_LEN + 1);
	ck_assert_int_eq(proto_reply_check_hdr(&h, &cause), -1);
	free(cause);
	proto_hdr_make(&h, PROTO_REQUEST, 8);
	ck_assert_int_eq(proto_reply_check_hdr(&h, &cause), -1);
	free(cause);
	/* Another version's reply still parses: the framing is frozen. */
	proto_hdr_make(&h, PROTO_EXIT, PROTO_EXIT_LEN);
	h.version = PROTO_VERSION + 7;
	ck_assert_int_eq(proto_reply_check_hdr(&h, &cause), 0);
}
END_TEST

START_TEST(test_exit_decode)
{
	uint8_t buf[8];
	uint32_t st, v;
	char *cause = NULL;

	v = PROTO_ERROR;
	memcpy(buf, &v, sizeof v);
	ck_assert_int_eq(proto_exit_decode(buf, 4, &st, &cause), 0);
	ck_assert_uint_eq(st, PROTO_ERROR);
	ck_assert_int_eq(proto_exit_decode(buf, 3, &st, &cause), -1);
	free(cause);
	ck_assert_int_eq(proto_exit_decode(buf, 5, &st, &cause), -1); /* leftover */
	free(cause);
	v = 42;
	memcpy(buf, &v, sizeof v);
	ck_assert_int_eq(proto_exit_decode(buf, 4, &st, &cause), -1);
	free(cause);
}
END_TEST

START_TEST(test_command_table)
{
	const struct cmd_entry *ce;
	char *cause = NULL;
	size_t i;

	for (i = 0; i < CMD_COUNT; i++) {
		ck_assert_ptr_eq(cmd_find(cmd_table[i].name), &cmd_table[i]);
		ck_assert_int_le(cmd_table[i].minargs, cmd_table[i].maxargs);
		ck_assert_int_lt(cmd_table[i].maxargs, PROTO_MAX_ARGS);
	}
	ck_assert_ptr_null(cmd_find("nosuch"));
	ck_assert_ptr_null(cmd_find(""));
	ce = cmd_find("show");
	ck_assert_ptr_nonnull(ce);
	ck_assert_int_eq(cmd_check_args(ce, 1, &cause), 0);
	ck_assert_int_eq(cmd_check_args(ce, 0, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "usage"));
	free(cause);
	ck_assert(cmd_find("submit")->flags & CMD_ADMIN);
	ck_assert(cmd_find("reload")->flags & CMD_ADMIN);
	ck_assert(!(cmd_find("list")->flags & CMD_ADMIN));
	ck_assert(!(cmd_find("stats")->flags & CMD_ADMIN));
}
END_TEST

/* The client checks a command's options against its declared usage text. */
START_TEST(test_command_options)
{
	const struct cmd_entry *list = cmd_find("list"), *labels = cmd_find("labels");

	ck_assert_int_eq(cmd_option(list, "--active"), 0);
	ck_assert_int_eq(cmd_option(list, "--finished"), 0);
	ck_assert_int_eq(cmd_option(list, "--host"), 1);
	ck_assert_int_eq(cmd_option(list, "--port"), 1);
	ck_assert_int_eq(cmd_option(list, "--label"), 1);
	ck_assert_int_eq(cmd_option(list, "--limit"), 1);
	ck_assert_int_eq(cmd_option(list, "--lim"), -1);
	ck_assert_int_eq(cmd_option(list, "--json"), -1);
	ck_assert_int_eq(cmd_option(list, "--"), -1);
	ck_assert_int_eq(cmd_option(list, "-a"), -1);
	ck_assert_int_eq(cmd_option(list, "ADDR"), -1);
	ck_assert_int_eq(cmd_option(labels, "--active"), 0);
	ck_assert_int_eq(cmd_option(cmd_find("show"), "--active"), -1);
	ck_assert_int_eq(cmd_option(cmd_find("stats"), "--active"), -1);
}
END_TEST

static Suite *
proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_request_round_trip);
	tcase_add_test(tc, test_request_limits);
	tcase_add_test(tc, test_request_malformed);
	tcase_add_test(tc, test_request_short_payload);
	tcase_add_test(tc, test_request_header);
	tcase_add_test(tc, test_reply_header);
	tcase_add_test(tc, test_exit_decode);
	tcase_add_test(tc, test_command_table);
	tcase_add_test(tc, test_command_options);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(proto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
