/*
 * check_log.c: unit tests for log_fields (src/log.c): the journal entry it
 * builds (MESSAGE, PRIORITY, SYSLOG_IDENTIFIER and the fields, bad names
 * left out, never past its arrays) and the " [NAME=value]" text that
 * stands in for the fields on stderr and syslog.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"

static int
iov_is(const struct iovec *v, const char *s)
{
	return v->iov_len == strlen(s) && memcmp(v->iov_base, s, v->iov_len) == 0;
}

START_TEST(test_names)
{
	ck_assert(log_field_name_ok("INTERFACE"));
	ck_assert(log_field_name_ok("FLOW_LABEL"));
	ck_assert(log_field_name_ok("X9"));
	ck_assert(!log_field_name_ok("_PID")); /* journald's own */
	ck_assert(!log_field_name_ok("9X"));
	ck_assert(!log_field_name_ok("interface"));
	ck_assert(!log_field_name_ok("DROPS="));
	ck_assert(!log_field_name_ok(""));
	ck_assert(!log_field_name_ok(NULL));
	ck_assert(
	    log_field_name_ok("A234567890123456789012345678901234567890123456789012345678901234"));
	ck_assert(!log_field_name_ok(
	    "A2345678901234567890123456789012345678901234567890123456789012345"));
}
END_TEST

START_TEST(test_journal_entry)
{
	struct iovec iov[8];
	char store[512];
	int n;

	n = log_journal_entry(iov, 8, store, sizeof store, 4, "traceflowd", "vb: 5 dropped",
	    LOG_FIELDS({"INTERFACE", "vb"}, {"DROPS", "5"}, {"bad name", "x"}, {"SPOOL_DIR", NULL},
	        {"FLOW_LABEL", "10.0.0.1_1-10.0.0.2_2-1.5"}));
	ck_assert_int_eq(n, 6);
	ck_assert(iov_is(&iov[0], "MESSAGE=vb: 5 dropped"));
	ck_assert(iov_is(&iov[1], "PRIORITY=4"));
	ck_assert(iov_is(&iov[2], "SYSLOG_IDENTIFIER=traceflowd"));
	ck_assert(iov_is(&iov[3], "INTERFACE=vb"));
	ck_assert(iov_is(&iov[4], "DROPS=5"));
	ck_assert(iov_is(&iov[5], "FLOW_LABEL=10.0.0.1_1-10.0.0.2_2-1.5"));
	/* No fields: what log_info sends. */
	n = log_journal_entry(iov, 8, store, sizeof store, 6, "t", "m", NULL);
	ck_assert_int_eq(n, 3);
	/* Never past iov or store: what does not fit is left out. */
	n = log_journal_entry(
	    iov, 4, store, sizeof store, 6, "t", "m", LOG_FIELDS({"A", "1"}, {"B", "2"}));
	ck_assert_int_eq(n, 4);
	ck_assert(iov_is(&iov[3], "A=1"));
	n = log_journal_entry(iov, 8, store, 60, 6, "t", "m",
	    LOG_FIELDS({"LONG", "0123456789012345678901234567890123456789"}));
	ck_assert_int_eq(n, 3);
}
END_TEST

START_TEST(test_text)
{
	char buf[256];
	size_t n;

	n = log_fields_text(buf, sizeof buf, LOG_FIELDS({"INTERFACE", "vb"}, {"DROPS", "12"}));
	ck_assert_str_eq(buf, " [INTERFACE=vb DROPS=12]");
	ck_assert_uint_eq(n, strlen(buf));
	log_fields_text(buf, sizeof buf,
	    LOG_FIELDS({"SPOOL_DIR", "/var/spool/my \"tf\"\\x"}, {"no", "x"}, {"E", ""}));
	ck_assert_str_eq(buf, " [SPOOL_DIR=\"/var/spool/my \\\"tf\\\"\\\\x\" E=\"\"]");
	log_fields_text(buf, sizeof buf, LOG_FIELDS({"bad", "x"}));
	ck_assert_str_eq(buf, "");
	log_fields_text(buf, sizeof buf, NULL);
	ck_assert_str_eq(buf, "");
	/* Cut to the buffer, NUL-terminated, the length needed returned (snprintf). */
	n = log_fields_text(buf, 10, LOG_FIELDS({"INTERFACE", "vb"}, {"DROPS", "12"}));
	ck_assert_uint_eq(n, strlen(" [INTERFACE=vb DROPS=12]"));
	ck_assert_str_eq(buf, " [INTERFA");
}
END_TEST

/* On stderr the fields follow the message; plain log_info is unchanged. */
START_TEST(test_stderr)
{
	char path[] = "/tmp/check_log.XXXXXX", buf[512];
	int fd = mkstemp(path), saved = dup(2);
	FILE *fp;
	size_t n;

	ck_assert_int_ne(fd, -1);
	log_init("tf", LOG_LVL_INFO, LOG_TO_STDERR);
	dup2(fd, 2);
	log_fields(
	    LOG_LVL_WARN, LOG_FIELDS({"INTERFACE", "eth0"}, {"DROPS", "3"}), "eth0: %d dropped", 3);
	log_info("plain");
	log_fields(LOG_LVL_DEBUG, LOG_FIELDS({"A", "1"}), "not shown at info");
	fflush(stderr);
	dup2(saved, 2);
	fp = fopen(path, "r");
	n = fread(buf, 1, sizeof buf - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	unlink(path);
	close(fd);
	ck_assert_str_eq(buf, "tf: eth0: 3 dropped [INTERFACE=eth0 DROPS=3]\ntf: plain\n");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_journal_entry);
	tcase_add_test(tc, test_text);
	tcase_add_test(tc, test_stderr);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
