/*
 * check_qexpr.c: unit tests for the query expressions (src/qexpr.c): every
 * primitive parsed, written as SQL and matched against rows; precedence,
 * "not" and parentheses; each kind of bad input with the number of the word
 * it is reported at; the forms of TIME; the bounds; and a cross-check of
 * the two evaluations: over a couple of hundred varied rows in an in-memory
 * catalog (CATALOG_SCHEMA), the rows SQLite selects with qexpr_sql's clause
 * are exactly those qexpr_match accepts, NULL columns and "not" included.
 * The plans of host, port and time terms use the catalog's indexes.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "catalog.h"
#include "qexpr.h"
#include "reason.h"
#include "qtime.h"

#define SEC  1000000000ull
#define T0   1796551200ull /* 2026-12-06T10:00:00Z */
#define NOW  (T0 * SEC)
#define NROW 240

/* expr as one argument; fails the test on an error. */
static struct qexpr *
parse_ok(const char *expr)
{
	char *argv[] = {(char *)expr}, *cause = NULL;
	int word = 0;
	struct qexpr *q = qexpr_parse(1, argv, NOW, &cause, &word);

	ck_assert_msg(q != NULL, "%s: %s (word %d)", expr, cause ? cause : "?", word);
	return q;
}

/* qexpr_sql of expr, compared with want. */
static void
sql_is(const char *expr, const char *want)
{
	struct qexpr *q = parse_ok(expr);
	char *sql = qexpr_sql(q);

	ck_assert_msg(strcmp(sql, want) == 0, "%s:\n  got  %s\n  want %s", expr, sql, want);
	free(sql);
	qexpr_free(q);
}

/* expr refused at word with a cause that holds want (the whole cause if exact). */
static void
refused(const char *expr, int word, const char *want, int exact)
{
	char *argv[] = {(char *)expr}, *cause = NULL;
	int got = -1;
	struct qexpr *q = qexpr_parse(1, argv, NOW, &cause, &got);

	ck_assert_msg(q == NULL, "%s: parsed", expr);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(got == word, "%s: word %d, not %d (%s)", expr, got, word, cause);
	if (exact)
		ck_assert_msg(
		    strcmp(cause, want) == 0, "%s:\n  got  %s\n  want %s", expr, cause, want);
	else
		ck_assert_msg(
		    strstr(cause, want) != NULL, "%s: \"%s\" not in: %s", expr, want, cause);
	free(cause);
}

/* --- the primitives as SQL ------------------------------------------------ */

START_TEST(test_sql_primitives)
{
	sql_is("host 10.0.0.1", "(src = '10.0.0.1' OR dst = '10.0.0.1')");
	/* compared in inet_ntop's form, the catalog's */
	sql_is("src host 2001:DB8:0:0::1", "src = '2001:db8::1'");
	sql_is("dst host ::FFFF:10.0.0.1", "dst = '::ffff:10.0.0.1'");
	sql_is("net 10.0.0.0/8", "(tf_in_net(src, '10.0.0.0/8') OR tf_in_net(dst, '10.0.0.0/8'))");
	sql_is("src net 2001:db8::/32", "tf_in_net(src, '2001:db8::/32')");
	sql_is("dst net 192.168.1.10", "tf_in_net(dst, '192.168.1.10/32')");
	sql_is("net ::1", "(tf_in_net(src, '::1/128') OR tf_in_net(dst, '::1/128'))");
	sql_is("net 0.0.0.0/0", "(tf_in_net(src, '0.0.0.0/0') OR tf_in_net(dst, '0.0.0.0/0'))");
	sql_is("port 80", "(srcport = 80 OR dstport = 80)");
	sql_is("src port 0", "srcport = 0");
	sql_is("dst port 65535", "dstport = 65535");
	sql_is("vlan 100", "instr(',' || vlan || ',', ',100,') > 0");
	sql_is("vlan 0", "instr(',' || vlan || ',', ',0,') > 0");
	sql_is("interface eth0", "iface = 'eth0'");
	sql_is("label 10.0.0.1_*", "label GLOB '10.0.0.1_*'");
	sql_is("reason fin", "reason = 'fin'");
	sql_is("reason rotate", "reason = 'rotate'");
	sql_is("partial", "partial != 0");
	sql_is("after 1796551200", "last_ns >= 1796551200000000000");
	sql_is("before 1796551200.5", "first_ns <= 1796551200500000000");
	sql_is("after 3m ago", "last_ns >= 1796551020000000000");
	sql_is("after 2026-12-06 10:00:00Z and port 1",
	    "(last_ns >= 1796551200000000000 AND (srcport = 1 OR dstport = 1))");
	/* user text is quoted, never spliced */
	sql_is("label it's", "label GLOB 'it''s'");
	sql_is("interface x';DROP", "iface = 'x'';DROP'");
}
END_TEST

START_TEST(test_sql_empty)
{
	char *cause = NULL, *sql;
	char *blank[] = {"  ", "\t"};
	struct qexpr *q;
	int word = 0;

	q = qexpr_parse(0, NULL, NOW, &cause, &word);
	ck_assert_ptr_nonnull(q);
	sql = qexpr_sql(q);
	ck_assert_str_eq(sql, "1");
	free(sql);
	qexpr_free(q);
	/* words that are all blanks are no words */
	q = qexpr_parse(2, blank, NOW, &cause, &word);
	ck_assert_ptr_nonnull(q);
	sql = qexpr_sql(q);
	ck_assert_str_eq(sql, "1");
	free(sql);
	qexpr_free(q);
	qexpr_free(NULL);
}
END_TEST

START_TEST(test_sql_precedence)
{
	/* tcpdump's: not, then and, then or */
	sql_is("host 10.0.0.1 or host 10.0.0.2 and port 1",
	    "((src = '10.0.0.1' OR dst = '10.0.0.1') OR ((src = '10.0.0.2' OR dst = '10.0.0.2') "
	    "AND (srcport = 1 OR dstport = 1)))");
	sql_is("host 10.0.0.1 and host 10.0.0.2 or port 1",
	    "(((src = '10.0.0.1' OR dst = '10.0.0.1') AND (src = '10.0.0.2' OR dst = '10.0.0.2')) "
	    "OR (srcport = 1 OR dstport = 1))");
	sql_is("(host 10.0.0.1 or host 10.0.0.2) and port 1",
	    "(((src = '10.0.0.1' OR dst = '10.0.0.1') OR (src = '10.0.0.2' OR dst = '10.0.0.2')) "
	    "AND (srcport = 1 OR dstport = 1))");
	sql_is("not partial and port 1",
	    "(NOT coalesce(partial != 0, 0) AND (srcport = 1 OR dstport = 1))");
	sql_is("not (partial and port 1)",
	    "NOT coalesce((partial != 0 AND (srcport = 1 OR dstport = 1)), 0)");
	sql_is("not not partial", "NOT coalesce(NOT coalesce(partial != 0, 0), 0)");
	sql_is("((partial))", "partial != 0");
	/* the symbols, glued or not */
	sql_is("!partial&&port 1||vlan 2",
	    "((NOT coalesce(partial != 0, 0) AND (srcport = 1 OR dstport = 1)) OR "
	    "instr(',' || vlan || ',', ',2,') > 0)");
	/* a chain is a list, written in balanced halves */
	sql_is("partial and port 1 and vlan 2", "(partial != 0 AND ((srcport = 1 OR dstport = 1) "
	                                        "AND instr(',' || vlan || ',', ',2,') > "
	                                        "0))");
	sql_is("src port 1 or src port 2 or src port 3 or src port 4",
	    "((srcport = 1 OR srcport = 2) OR (srcport = 3 OR srcport = 4))");
}
END_TEST

START_TEST(test_words)
{
	char *argv[] = {"host", "10.0.0.1 and (port", "80)"}, *cause = NULL, *a, *b;
	struct qexpr *q, *r;
	int word = 0;

	/* one argument or many, "(" glued or not: the same words */
	q = qexpr_parse(3, argv, NOW, &cause, &word);
	ck_assert_ptr_nonnull(q);
	r = parse_ok("host 10.0.0.1 and ( port 80 )");
	a = qexpr_sql(q);
	b = qexpr_sql(r);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	qexpr_free(q);
	qexpr_free(r);
	/* word numbers count the split words */
	argv[0] = "(host";
	argv[1] = "10.0.0.1)";
	argv[2] = "port";
	ck_assert_ptr_null(qexpr_parse(3, argv, NOW, &cause, &word));
	ck_assert_int_eq(word, 5);
	ck_assert_str_eq(cause, "at \"port\" (word 5): expected \"and\" or \"or\" between two "
	                        "primitives");
	free(cause);
}
END_TEST

/* --- bad input ---------------------------------------------------------------- */

START_TEST(test_errors)
{
	/* unknown keyword */
	refused("foo", 1,
	    "at \"foo\" (word 1): unknown primitive: expected host, net, port, src, dst, vlan, "
	    "interface, label, reason, partial, after or before",
	    1);
	refused("partial and Host 10.0.0.1", 3, "unknown primitive", 0);
	refused("src foo", 2,
	    "at \"foo\" (word 2): expected \"host\", \"net\" or \"port\" after \"src\"", 1);
	refused("dst vlan 1", 2, "expected \"host\", \"net\" or \"port\" after \"dst\"", 0);
	refused("src", 2, "at the end (word 2): expected \"host\", \"net\" or \"port\"", 0);
	/* missing argument */
	refused("host", 2, "at the end (word 2): expected an address after \"host\"", 1);
	refused("host and port 1", 2, "at \"and\" (word 2): expected an address after \"host\"", 1);
	refused("port 1 and vlan", 5, "at the end (word 5): expected a VLAN id after \"vlan\"", 1);
	refused("interface )", 2, "expected an interface name after \"interface\"", 0);
	refused("after", 2, "expected a time after \"after\"", 0);
	refused("reason", 2, "expected a reason (fin, rst,", 0);
	/* bad address, network */
	refused("host 10.0.0.300", 2, "at \"10.0.0.300\" (word 2): not an IPv4 or IPv6 address", 1);
	refused("host 10.1", 2, "not an IPv4 or IPv6 address", 0);
	refused("src host fe80::1%eth0", 3, "not an IPv4 or IPv6 address", 0);
	refused("net 10.0.0.1/8", 2, "at \"10.0.0.1/8\" (word 2): non-network bits set", 0);
	refused("net 2001:db8::1/64", 2, "non-network bits set", 0);
	refused("net 10.0.0.0/33", 2, "not a prefix length", 0);
	refused("net 2001:db8::/129", 2, "not a prefix length", 0);
	refused("net 10.0.0.0/", 2, "not a prefix length", 0);
	refused("net 10.0.0.0/8x", 2, "not a prefix length", 0);
	refused("net foo/8", 2, "not a network", 0);
	/* bad number */
	refused("port 65536", 2, "at \"65536\" (word 2): not a port number (0 to 65535)", 1);
	refused("port 8x", 2, "not a port number", 0);
	refused("port -1", 2, "not a port number", 0);
	refused("port http", 2, "not a port number", 0);
	refused("port 99999999999999999999999", 2, "not a port number", 0);
	refused("vlan 4096", 2, "at \"4096\" (word 2): not a VLAN id (0 to 4095)", 1);
	refused("reason bogus", 2,
	    "at \"bogus\" (word 2): not a reason: one of fin, rst, idle, submit, eof, evicted, "
	    "shutdown, recovered, reuse, rotate, unanswered or refused",
	    1);
	refused("reason FIN", 2, "not a reason", 0);
	refused(
	    "after yesterday", 2, "at \"yesterday\" (word 2): not a time: expected RFC 3339", 0);
	refused(
	    "partial or before 3m", 4, "at \"3m\" (word 4): a duration is a time with \"ago\"", 0);
	/* unbalanced parentheses */
	refused("( host 10.0.0.1", 4,
	    "at the end (word 4): unbalanced parenthesis: the \"(\" of word 1 is open", 1);
	refused("((partial) or (port 1)", 10, "the \"(\" of word 1 is open", 0);
	refused("host 10.0.0.1 )", 3,
	    "at \")\" (word 3): unbalanced parenthesis: \")\" without \"(\"", 1);
	refused("()", 2, "at \")\" (word 2): expected a primitive, \"not\" or \"(\"", 1);
	/* two primitives side by side */
	refused("host 10.0.0.1 port 80", 3,
	    "at \"port\" (word 3): expected \"and\" or \"or\" between two primitives", 1);
	refused("partial (port 1)", 2, "between two primitives", 0);
	refused("partial not port 1", 2, "between two primitives", 0);
	refused("port 1 foo", 3, "at \"foo\" (word 3): expected \"and\", \"or\" or the end", 1);
	refused("(port 1 foo)", 4, "at \"foo\" (word 4): expected \"and\", \"or\" or \")\"", 1);
	/* operators without operands */
	refused("partial and", 3, "at the end (word 3): expected a primitive, \"not\" or \"(\"", 1);
	refused("not", 2, "at the end (word 2): expected a primitive", 0);
	refused("partial or or partial", 3, "at \"or\" (word 3): expected a primitive", 0);
	refused("and partial", 1, "expected a primitive", 0);
	refused("partial && || partial", 3, "at \"||\" (word 3)", 0);
}
END_TEST

START_TEST(test_too_deep)
{
	char expr[1024] = "";
	struct qexpr *q;
	int i;

	for (i = 0; i < 64; i++)
		strcat(expr, "not ");
	strcat(expr, "partial");
	q = parse_ok(expr); /* 64 is the bound */
	qexpr_free(q);
	memmove(expr + 2, expr, strlen(expr) + 1);
	memcpy(expr, "( ", 2);
	strcat(expr, " )");
	refused(expr, 65, "nested too deep", 0);
}
END_TEST

/* --- times -------------------------------------------------------------------- */

static uint64_t
time_ok(const char *word, const char *next, int want_used)
{
	char *cause = NULL;
	uint64_t ns = 0;
	int used = 0;

	ck_assert_msg(qtime_parse(word, next, NOW, &ns, &used, &cause) == 0, "%s: %s", word,
	    cause ? cause : "?");
	ck_assert_int_eq(used, want_used);
	return ns;
}

static void
time_bad(const char *word, const char *next, const char *want)
{
	char *cause = NULL, quoted[256];
	uint64_t ns = 0;
	int used = 0;

	ck_assert_msg(qtime_parse(word, next, NOW, &ns, &used, &cause) == -1, "%s: read", word);
	ck_assert_ptr_nonnull(cause);
	snprintf(quoted, sizeof quoted, "\"%s\": ", word);
	ck_assert_msg(
	    strncmp(cause, quoted, strlen(quoted)) == 0, "%s: not named: %s", word, cause);
	ck_assert_msg(strstr(cause, want) != NULL, "%s: \"%s\" not in %s", word, want, cause);
	free(cause);
}

START_TEST(test_time_rfc3339)
{
	ck_assert_uint_eq(time_ok("2026-12-06T10:00:00Z", NULL, 1), T0 * SEC);
	ck_assert_uint_eq(time_ok("2026-12-06t10:00:00z", "ago", 1), T0 * SEC);
	ck_assert_uint_eq(time_ok("2026-12-06T10:00Z", NULL, 1), T0 * SEC);
	ck_assert_uint_eq(time_ok("2026-12-06T10:00:00+01:00", NULL, 1), (T0 - 3600) * SEC);
	ck_assert_uint_eq(time_ok("2026-12-06T10:00:00-05:30", NULL, 1), (T0 + 19800) * SEC);
	ck_assert_uint_eq(time_ok("2026-12-06T10:00:00+00:00", NULL, 1), T0 * SEC);
	ck_assert_uint_eq(time_ok("2026-12-06T10:00:00.5Z", NULL, 1), T0 * SEC + SEC / 2);
	ck_assert_uint_eq(time_ok("2026-12-06T10:00:00.123456789Z", NULL, 1), T0 * SEC + 123456789);
	/* digits past a nanosecond dropped */
	ck_assert_uint_eq(
	    time_ok("2026-12-06T10:00:00.1234567891Z", NULL, 1), T0 * SEC + 123456789);
	ck_assert_uint_eq(
	    time_ok("2026-12-06T10:00:00.000001+01:00", NULL, 1), (T0 - 3600) * SEC + 1000);
	/* a leap second is the next second */
	ck_assert_uint_eq(time_ok("2016-12-31T23:59:60Z", NULL, 1), 1483228800ull * SEC);
	ck_assert_uint_eq(time_ok("2028-02-29T00:00:00Z", NULL, 1), 1835395200ull * SEC);
	ck_assert_uint_eq(time_ok("1970-01-01T00:00:00Z", NULL, 1), 0);
	/* a date and a time as two words (nfdump's "2026-12-06 10:00:00.000") */
	ck_assert_uint_eq(time_ok("2026-12-06", "10:00:00.5Z", 2), T0 * SEC + SEC / 2);
	ck_assert_uint_eq(time_ok("2026-12-06", "and", 1), time_ok("2026-12-06", NULL, 1));
}
END_TEST

START_TEST(test_time_local)
{
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	setenv("TZ", "JST-9", 1);
	tzset();
	ck_assert_uint_eq(time_ok("2026-12-06T10:00:00", NULL, 1), (T0 - 9 * 3600) * SEC);
	ck_assert_uint_eq(
	    time_ok("2026-12-06T10:00:00.25", NULL, 1), (T0 - 9 * 3600) * SEC + SEC / 4);
	/* a date alone: its local midnight */
	ck_assert_uint_eq(time_ok("2026-12-06", NULL, 1), (T0 - 10 * 3600 - 9 * 3600) * SEC);
	/* a zone given: the local one does not count */
	ck_assert_uint_eq(time_ok("2026-12-06T10:00:00Z", NULL, 1), T0 * SEC);
	/* daylight saving time found by mktime: New York is UTC-4 in July, UTC-5 in December */
	setenv("TZ", "EST5EDT,M3.2.0,M11.1.0", 1);
	tzset();
	ck_assert_uint_eq(
	    time_ok("2026-07-01T12:00:00", NULL, 1), time_ok("2026-07-01T16:00:00Z", NULL, 1));
	ck_assert_uint_eq(time_ok("2026-12-06T05:00:00", NULL, 1), T0 * SEC);
	if (old != NULL)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(old);
}
END_TEST

START_TEST(test_time_epoch_relative)
{
	ck_assert_uint_eq(time_ok("1796551200", NULL, 1), T0 * SEC);
	ck_assert_uint_eq(time_ok("1796551200.25", "and", 1), T0 * SEC + SEC / 4);
	ck_assert_uint_eq(time_ok("0", NULL, 1), 0);
	ck_assert_uint_eq(time_ok("3m", "ago", 2), NOW - 180 * SEC);
	ck_assert_uint_eq(time_ok("2h", "ago", 2), NOW - 2 * 3600 * SEC);
	ck_assert_uint_eq(time_ok("1d", "ago", 2), NOW - 86400 * SEC);
	ck_assert_uint_eq(time_ok("1h30m", "ago", 2), NOW - 5400 * SEC);
	ck_assert_uint_eq(time_ok("500ms", "ago", 2), NOW - SEC / 2);
	/* a number with "ago" is seconds ago, not an epoch */
	ck_assert_uint_eq(time_ok("10", "ago", 2), NOW - 10 * SEC);
}
END_TEST

START_TEST(test_time_bad)
{
	time_bad("yesterday", NULL, "not a time: expected RFC 3339");
	time_bad("yesterday", NULL, "epoch seconds");
	time_bad("yesterday", NULL, "3m ago");
	time_bad("3m", NULL, "a duration is a time with \"ago\" after it");
	time_bad("3m", "and", "\"ago\"");
	time_bad("3x", "ago", "not a time");
	time_bad("2026-13-01", NULL, "not a time");
	time_bad("2026-00-01", NULL, "not a time");
	time_bad("2026-02-29", NULL, "not a time");
	time_bad("2026-04-31T00:00:00Z", NULL, "not a time");
	time_bad("2026-12-00", NULL, "not a time");
	time_bad("2026-12-06T24:00:00Z", NULL, "not a time");
	time_bad("2026-12-06T10:60:00Z", NULL, "not a time");
	time_bad("2026-12-06T10:00:61Z", NULL, "not a time");
	time_bad("2026-12-06T10:00:00+1", NULL, "not a time");
	time_bad("2026-12-06T10:00:00+01:60", NULL, "not a time");
	time_bad("2026-12-06T10:00:00+0100", NULL, "not a time");
	time_bad("2026-12-06T10:00:00.Z", NULL, "not a time");
	time_bad("2026-12-06T10", NULL, "not a time");
	time_bad("2026-12-06Z", NULL, "not a time");
	time_bad("2026-12-6", NULL, "not a time");
	time_bad("26-12-06", NULL, "not a time");
	time_bad("2026-12-06 10:00:00", NULL, "not a time");
	time_bad("1796551200.", NULL, "not a time");
	time_bad("+1796551200", NULL, "not a time");
	time_bad("1796551200s", NULL, "a duration is a time with \"ago\"");
	time_bad("", NULL, "not a time");
	/* out of the catalog's range */
	time_bad("1969-12-31T23:59:59Z", NULL, "out of range");
	time_bad("1970-01-01T00:30:00+01:00", NULL, "out of range");
	time_bad("2263-01-01T00:00:00Z", NULL, "out of range");
	time_bad("9223372037", NULL, "out of range");
	time_bad("99999999999999999999999999", NULL, "out of range");
	time_bad("100000d", "ago", "out of range");
}
END_TEST

START_TEST(test_bounds)
{
	static const struct {
		const char *expr;
		uint64_t after, before;
	} cases[] = {
	    {"partial", 0, UINT64_MAX},
	    {"after 100", 100 * SEC, UINT64_MAX},
	    {"before 200", 0, 200 * SEC},
	    {"after 100 and before 200", 100 * SEC, 200 * SEC},
	    {"after 100 and after 150 and before 300 and before 200", 150 * SEC, 200 * SEC},
	    {"(after 100 and before 200) and partial", 100 * SEC, 200 * SEC},
	    {"after 100 and (before 200 or partial)", 100 * SEC, UINT64_MAX},
	    {"after 100 or before 200", 0, UINT64_MAX},
	    {"not after 100", 0, UINT64_MAX},
	    {"after 3m ago and host 10.0.0.1", NOW - 180 * SEC, UINT64_MAX},
	};
	uint64_t a, b;
	size_t i;
	struct qexpr *q;
	char *cause = NULL;
	int word = 0;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		q = parse_ok(cases[i].expr);
		qexpr_bounds(q, &a, &b);
		ck_assert_msg(a == cases[i].after && b == cases[i].before, "%s: [%llu, %llu]",
		    cases[i].expr, (unsigned long long)a, (unsigned long long)b);
		qexpr_free(q);
	}
	q = qexpr_parse(0, NULL, NOW, &cause, &word);
	qexpr_bounds(q, &a, &b);
	ck_assert_uint_eq(a, 0);
	ck_assert_uint_eq(b, UINT64_MAX);
	qexpr_free(q);
}
END_TEST

/* --- rows ----------------------------------------------------------------------- */

static int
matches(const char *expr, const struct catalog_row *r)
{
	struct qexpr *q = parse_ok(expr);
	int m = qexpr_match(q, r);

	qexpr_free(q);
	return m;
}

START_TEST(test_match_row)
{
	struct catalog_row r;

	memset(&r, 0, sizeof r);
	r.fpout = "x.pcap";
	r.part = "2026-12-06T10";
	r.label = "10.0.0.1_1234-2001:db8::2_80-1796551200";
	r.src = "10.0.0.1";
	r.dst = "2001:db8::2";
	r.srcport = 1234;
	r.dstport = 80;
	r.vlan = "100,200";
	r.iface = "eth0";
	r.reason = "fin";
	r.first_ns = T0 * SEC;
	r.last_ns = (T0 + 60) * SEC;

	ck_assert(matches("host 10.0.0.1", &r));
	ck_assert(matches("src host 10.0.0.1", &r));
	ck_assert(!matches("dst host 10.0.0.1", &r));
	ck_assert(matches("dst host 2001:db8:0::2", &r));
	ck_assert(matches("net 10.0.0.0/8", &r));
	ck_assert(matches("net 10.0.0.0/31", &r));
	ck_assert(!matches("net 10.0.0.2/31", &r));
	ck_assert(matches("net 10.0.0.1", &r));
	ck_assert(matches("net 0.0.0.0/0", &r));
	ck_assert(matches("dst net 2001:db8::/32", &r));
	ck_assert(!matches("src net 2001:db8::/32", &r));
	ck_assert(matches("net ::/0", &r)); /* by dst */
	ck_assert(!matches("src net ::/0", &r));
	ck_assert(matches("port 80", &r));
	ck_assert(matches("src port 1234", &r));
	ck_assert(!matches("src port 80", &r));
	ck_assert(matches("vlan 100", &r));
	ck_assert(matches("vlan 200", &r));
	ck_assert(!matches("vlan 10", &r));
	ck_assert(!matches("vlan 20", &r));
	ck_assert(!matches("vlan 1002", &r));
	ck_assert(matches("interface eth0", &r));
	ck_assert(!matches("interface eth", &r));
	ck_assert(matches("label 10.0.0.1_*", &r));
	ck_assert(matches("label *_80-??????????", &r));
	ck_assert(!matches("label 10.0.0.2_*", &r));
	ck_assert(matches("reason fin", &r));
	ck_assert(!matches("reason rst", &r));
	ck_assert(!matches("partial", &r));
	ck_assert(matches("after 1796551260", &r)); /* ends at it */
	ck_assert(!matches("after 1796551260.000000001", &r));
	ck_assert(matches("before 1796551200", &r)); /* begins at it */
	ck_assert(!matches("before 1796551199.999999999", &r));
	ck_assert(matches("after 1796551230 and before 1796551230", &r)); /* overlaps */
	ck_assert(matches("not partial", &r));
	ck_assert(matches("host 10.9.9.9 or port 80 and not partial", &r));
	ck_assert(!matches("(host 10.9.9.9 or port 80) and partial", &r));
	ck_assert(matches("", &r));

	/* NULL fields match no primitive, so "not" of one matches */
	r.src = r.dst = r.vlan = r.iface = r.label = r.reason = NULL;
	r.partial = 1;
	ck_assert(!matches("host 10.0.0.1", &r));
	ck_assert(!matches("net 0.0.0.0/0", &r));
	ck_assert(matches("not net 0.0.0.0/0", &r));
	ck_assert(!matches("vlan 100", &r));
	ck_assert(matches("not vlan 100", &r));
	ck_assert(matches("not interface eth0", &r));
	ck_assert(matches("not label *", &r));
	ck_assert(matches("not reason fin", &r));
	ck_assert(matches("partial", &r));
	/* a value that is no address is in no network */
	r.src = "not-an-address";
	ck_assert(!matches("src net 0.0.0.0/0", &r));
}
END_TEST

/* --- the SQL against qexpr_match -------------------------------------------- */

struct db {
	sqlite3 *db;
	struct catalog_row rows[NROW];
	char labels[NROW][160], fpouts[NROW][32];
};

static uint32_t
rnd(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 8;
}

static void
exec_ok(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	ck_assert_msg(
	    sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK, "%s: %s", sql, err ? err : "?");
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		ck_assert_int_eq(sqlite3_bind_null(st, i), SQLITE_OK);
	else
		ck_assert_int_eq(sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC), SQLITE_OK);
}

/* Rows of every kind: IPv4, IPv6 and mapped addresses, NULLs, tags, reasons, times. */
static struct db *
db_make(void)
{
	static const char *addrs[] = {"10.0.0.1", "10.0.0.2", "10.1.2.3", "192.168.1.10",
	    "172.16.5.4", "2001:db8::1", "2001:db8::2", "2001:db8:1::5", "fe80::1",
	    "::ffff:10.0.0.1", NULL};
	static const uint16_t ports[] = {80, 443, 22, 53, 0, 65535, 8080, 1234};
	static const char *vlans[] = {NULL, "100", "100,200", "200", "4095", "1000,100", "0", "10"};
	static const char *ifaces[] = {NULL, "eth0", "eth1", "lo"};
	static const char *reasons[] = {"fin", "rst", "idle", "eof", "evicted", NULL};
	/* partitions in time order, as the daemon's hours: "before" bounds by them */
	static const char *parts[] = {"p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7"};
	struct db *d = calloc(1, sizeof *d);
	struct catalog_row *r;
	sqlite3_stmt *st;
	uint32_t seed = 42;
	int i;

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(sqlite3_open(":memory:", &d->db), SQLITE_OK);
	exec_ok(d->db, CATALOG_SCHEMA);
	ck_assert_int_eq(qexpr_register(d->db), 0);
	ck_assert_int_eq(
	    sqlite3_prepare_v2(d->db,
	        "INSERT INTO files (id, fpout, part, label, src, dst, srcport, dstport,"
	        " vlan, iface, first_ns, last_ns, packets, bytes, written, size, reason,"
	        " partial, truncated, recovered, segment) VALUES (?1, ?2, ?14, ?3, ?4, ?5,"
	        " ?6, ?7, ?8, ?9, ?10, ?11, 1, 1, 1, 1, ?12, ?13, 0, 0, 0)",
	        -1, &st, NULL),
	    SQLITE_OK);
	exec_ok(d->db, "BEGIN");
	for (i = 0; i < NROW; i++) {
		r = &d->rows[i];
		r->id = i + 1;
		snprintf(d->fpouts[i], sizeof d->fpouts[i], "f%d.pcap", i);
		r->fpout = d->fpouts[i];
		r->part = parts[i * 8 / NROW];
		r->src = addrs[rnd(&seed) % 11];
		r->dst = addrs[rnd(&seed) % 11];
		r->srcport = ports[rnd(&seed) % 8];
		r->dstport = ports[rnd(&seed) % 8];
		r->vlan = vlans[rnd(&seed) % 8];
		r->iface = ifaces[rnd(&seed) % 4];
		r->reason = reasons[rnd(&seed) % 6];
		r->partial = rnd(&seed) % 3 == 0;
		r->first_ns = (T0 - 86400 + (uint64_t)i * 300) * SEC + rnd(&seed) % SEC;
		r->last_ns = r->first_ns + (uint64_t)(rnd(&seed) % 7200) * SEC;
		if (i % 13 != 0) {
			snprintf(d->labels[i], sizeof d->labels[i], "%s_%u-%s_%u-%llu",
			    r->src ? r->src : "?", r->srcport, r->dst ? r->dst : "?", r->dstport,
			    (unsigned long long)(r->first_ns / SEC));
			r->label = d->labels[i];
		}
		ck_assert_int_eq(sqlite3_bind_int64(st, 1, r->id), SQLITE_OK);
		bind_text(st, 2, r->fpout);
		bind_text(st, 3, r->label);
		bind_text(st, 4, r->src);
		bind_text(st, 5, r->dst);
		sqlite3_bind_int(st, 6, r->srcport);
		sqlite3_bind_int(st, 7, r->dstport);
		bind_text(st, 8, r->vlan);
		bind_text(st, 9, r->iface);
		sqlite3_bind_int64(st, 10, (sqlite3_int64)r->first_ns);
		sqlite3_bind_int64(st, 11, (sqlite3_int64)r->last_ns);
		bind_text(st, 12, r->reason);
		sqlite3_bind_int(st, 13, r->partial);
		bind_text(st, 14, r->part);
		ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	exec_ok(d->db, "COMMIT");
	return d;
}

static void
db_free(struct db *d)
{
	sqlite3_close(d->db);
	free(d);
}

/* The rows SQLite selects with expr's clause; their number. */
static int
db_select(struct db *d, const char *expr, char *sel)
{
	struct qexpr *q = parse_ok(expr);
	char *where, *sql;
	sqlite3_stmt *st;
	int rc, n = 0;

	ck_assert_int_eq(qexpr_bound(q, d->db), 0);
	where = qexpr_sql(q);
	memset(sel, 0, NROW + 1);
	sql = sqlite3_mprintf("SELECT id FROM files WHERE %s", where);
	ck_assert_msg(sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
	    sqlite3_errmsg(d->db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sel[sqlite3_column_int(st, 0)] = 1;
		n++;
	}
	ck_assert_msg(rc == SQLITE_DONE, "%s: %s", sql, sqlite3_errmsg(d->db));
	sqlite3_finalize(st);
	sqlite3_free(sql);
	free(where);
	qexpr_free(q);
	return n;
}

/* The plan of expr's select, EXPLAIN QUERY PLAN's details a line each, in buf. */
static const char *
db_plan(struct db *d, const char *expr, char *buf, size_t len)
{
	struct qexpr *q = parse_ok(expr);
	char *where, *sql;
	sqlite3_stmt *st;
	size_t n = 0;

	ck_assert_int_eq(qexpr_bound(q, d->db), 0);
	where = qexpr_sql(q);
	sql = sqlite3_mprintf("EXPLAIN QUERY PLAN SELECT id FROM files WHERE %s", where);
	ck_assert_int_eq(sqlite3_prepare_v2(d->db, sql, -1, &st, NULL), SQLITE_OK);
	buf[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW && n < len)
		n += snprintf(buf + n, len - n, "%s\n", sqlite3_column_text(st, 3));
	sqlite3_finalize(st);
	sqlite3_free(sql);
	free(where);
	qexpr_free(q);
	return buf;
}

/*
 * "before T" once bounded by the partitions reads the index between T1 and
 * that bound, on each side of a host's "or" too; a T before every
 * partition leaves it unbounded (no flow began by it).
 */
/* Every word reason.c has for a flow's end is one "reason" takes, and no other. */
START_TEST(test_reason_words)
{
	char expr[64], *cause = NULL;
	struct qexpr *q;
	int i, word;

	for (i = FLOW_R_NONE + 1; i < FLOW_R_NREASONS; i++) {
		snprintf(expr, sizeof expr, "reason %s", flow_reason_name(i));
		q = parse_ok(expr);
		qexpr_free(q);
	}
	q = parse_ok("reason fin");
	qexpr_free(q);
	{
		char *argv[] = {"reason", "none"};

		ck_assert_ptr_null(qexpr_parse(2, argv, 0, &cause, &word));
		free(cause);
	}
}
END_TEST

START_TEST(test_sql_bounded)
{
	struct db *d = db_make();
	struct qexpr *q;
	char plan[2048], *s;

	db_plan(d, "host 10.0.0.1 and after 1796500000 and before 1796510000", plan, sizeof plan);
	ck_assert_msg(strstr(plan, "files_src (src=? AND last_ns>? AND last_ns<?)") != NULL &&
	                  strstr(plan, "files_dst (dst=? AND last_ns>? AND last_ns<?)") != NULL,
	    "%s", plan);
	db_plan(d, "after 1796500000 and before 1796510000", plan, sizeof plan);
	ck_assert_msg(strstr(plan, "files_last (last_ns>? AND last_ns<?)") != NULL, "%s", plan);
	q = parse_ok("before 1000");
	ck_assert_int_eq(qexpr_bound(q, d->db), 0);
	s = qexpr_sql(q);
	ck_assert_str_eq(s, "first_ns <= 1000000000000");
	free(s);
	qexpr_free(q);
	db_free(d);
}
END_TEST

START_TEST(test_sql_equals_match)
{
	/* all: every row is expected to match (the others match some, not all) */
	static const struct {
		const char *expr;
		int all;
	} cases[] = {
	    {"", 1},
	    {"host 10.0.0.1", 0},
	    {"src host 2001:db8::1", 0},
	    {"dst host 2001:0db8:0000::2", 0},
	    {"host ::ffff:10.0.0.1", 0},
	    {"net 10.0.0.0/8", 0},
	    {"net 10.0.0.0/31", 0},
	    {"src net 2001:db8::/32", 0},
	    {"dst net 192.168.0.0/16", 0},
	    {"net 10.0.0.1", 0},
	    {"net ::/0", 0},
	    {"not src net 0.0.0.0/0", 0},
	    {"port 80", 0},
	    {"src port 443", 0},
	    {"dst port 0", 0},
	    {"port 65535 or port 1234", 0},
	    {"vlan 100", 0},
	    {"vlan 200", 0},
	    {"vlan 10", 0},
	    {"vlan 0", 0},
	    {"not vlan 100", 0},
	    {"interface eth0", 0},
	    {"not interface eth0", 0},
	    {"label 10.0.0.1_*", 0},
	    {"not label *_80-*", 0},
	    {"label *[0-9]_22-*", 0},
	    {"reason fin", 0},
	    {"not reason fin", 0},
	    {"reason rst or reason idle", 0},
	    {"partial", 0},
	    {"not partial", 0},
	    {"after 1796520000", 0},
	    {"before 1796520000", 0},
	    {"after 1796500000 and before 1796520000", 0},
	    {"after 10h ago and before 5h ago", 0},
	    /* before's bound by the partitions, at their edges and under not and or */
	    {"before 1796470000", 0},
	    {"not before 1796520000", 0},
	    {"after 1796500000 and before 1796500000", 0},
	    {"before 1796480000 or host 10.0.0.1", 0},
	    {"not (before 1796500000 and after 1796490000)", 0},
	    {"host 10.0.0.1 or host 10.0.0.2 and port 80", 0},
	    {"not (host 10.0.0.1 or port 80)", 0},
	    {"! net 10.0.0.0/8 && (port 80 || vlan 200)", 0},
	    {"not not interface eth1", 0},
	    {"not (not vlan 100 and not interface lo)", 0},
	    {"(src net 10.0.0.0/8 or dst net 2001:db8::/32) and not partial and after 1796500000",
	        0},
	    {"not (reason fin or interface eth0 or vlan 4095 or label *_53-*)", 0},
	};
	char sel[NROW + 1];
	struct qexpr *q;
	struct db *d = db_make();
	size_t i;
	int n, m, id;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		n = db_select(d, cases[i].expr, sel);
		q = parse_ok(cases[i].expr);
		for (m = 0, id = 1; id <= NROW; id++) {
			m += qexpr_match(q, &d->rows[id - 1]);
			ck_assert_msg(qexpr_match(q, &d->rows[id - 1]) == sel[id],
			    "%s: row %d: SQL %d, match %d", cases[i].expr, id, sel[id], !sel[id]);
		}
		qexpr_free(q);
		ck_assert_int_eq(m, n);
		if (cases[i].all)
			ck_assert_msg(n == NROW, "%s: %d rows of %d", cases[i].expr, n, NROW);
		else
			ck_assert_msg(
			    n > 0 && n < NROW, "%s: %d rows of %d", cases[i].expr, n, NROW);
	}
	db_free(d);
}
END_TEST

START_TEST(test_sql_functions)
{
	static const struct {
		const char *sql;
		int want;
	} cases[] = {
	    {"SELECT tf_in_net('10.1.2.3', '10.0.0.0/8')", 1},
	    {"SELECT tf_in_net('11.1.2.3', '10.0.0.0/8')", 0},
	    {"SELECT tf_in_net(NULL, '10.0.0.0/8')", 0},
	    {"SELECT tf_in_net('', '0.0.0.0/0')", 0},
	    {"SELECT tf_in_net('::ffff:10.0.0.1', '10.0.0.0/8')", 0},
	    {"SELECT tf_in_net('10.0.0.1', '::/0')", 0},
	    {"SELECT tf_in_net('2001:db8::1', '2001:db8::/32')", 1},
	    {"SELECT tf_in_net('2001:db9::1', '2001:db8::/32')", 0},
	    {"SELECT tf_in_net('10.0.0.1', '10.0.0.1')", 1},
	    {"SELECT count(*) FROM files WHERE tf_in_net(src, '10.0.0.0/8')", -1},
	};
	struct db *d = db_make();
	sqlite3_stmt *st;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ck_assert_int_eq(sqlite3_prepare_v2(d->db, cases[i].sql, -1, &st, NULL), SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
		if (cases[i].want >= 0)
			ck_assert_msg(sqlite3_column_int(st, 0) == cases[i].want, "%s: %d",
			    cases[i].sql, sqlite3_column_int(st, 0));
		else
			ck_assert_int_gt(sqlite3_column_int(st, 0), 0);
		sqlite3_finalize(st);
	}
	/* a bad network is an error, not a silent 0 */
	ck_assert_int_eq(
	    sqlite3_prepare_v2(d->db, "SELECT tf_in_net('10.0.0.1', '10.0.0.1/8')", -1, &st, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ERROR);
	sqlite3_finalize(st);
	/* quoted user text stays text */
	ck_assert_int_eq(db_select(d, "label x';DROP_TABLE_files;--", (char[NROW + 1]){0}), 0);
	ck_assert_int_eq(db_select(d, "label *'*", (char[NROW + 1]){0}), 0);
	exec_ok(d->db, "SELECT count(*) FROM files");
	db_free(d);
}
END_TEST

/* A chain of thousands of terms: SQLite takes it (its expressions stop at 1000 levels). */
START_TEST(test_long_chain)
{
	size_t len = 4000 * 24, off = 0;
	char *expr = malloc(len), sel[NROW + 1];
	struct db *d = db_make();
	int i;

	ck_assert_ptr_nonnull(expr);
	for (i = 0; i < 4000; i++)
		off += (size_t)snprintf(expr + off, len - off, "%sport %d", i ? " or " : "", i + 1);
	ck_assert_int_gt(db_select(d, expr, sel), 0);
	free(expr);
	db_free(d);
}
END_TEST

/* The plan of SELECT ... WHERE expr's clause: its detail lines joined by '\n'. */
static char *
plan_of(struct db *d, const char *expr)
{
	struct qexpr *q = parse_ok(expr);
	char *where = qexpr_sql(q), *sql, *plan = NULL, *next;
	sqlite3_stmt *st;

	sql = sqlite3_mprintf("EXPLAIN QUERY PLAN SELECT id FROM files WHERE %s", where);
	ck_assert_int_eq(sqlite3_prepare_v2(d->db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		next = sqlite3_mprintf("%s%s\n", plan ? plan : "", sqlite3_column_text(st, 3));
		sqlite3_free(plan);
		plan = next;
	}
	sqlite3_finalize(st);
	sqlite3_free(sql);
	free(where);
	qexpr_free(q);
	return plan;
}

/* expr's plan has every one of want (a NULL-ended list) and no full scan of files. */
static void
plan_uses(struct db *d, const char *expr, const char *const *want)
{
	char *plan = plan_of(d, expr);

	ck_assert_ptr_nonnull(plan);
	for (; *want != NULL; want++)
		ck_assert_msg(strstr(plan, *want) != NULL, "%s: no %s in\n%s", expr, *want, plan);
	ck_assert_msg(strstr(plan, "SCAN files\n") == NULL, "%s: a full scan:\n%s", expr, plan);
	sqlite3_free(plan);
}

START_TEST(test_plans)
{
	struct db *d = db_make();
	char *plan;

	plan_uses(d, "host 10.0.0.1",
	    (const char *[]){"MULTI-INDEX OR", "files_src (src=?)", "files_dst (dst=?)", NULL});
	plan_uses(d, "src host 10.0.0.1", (const char *[]){"files_src (src=?)", NULL});
	plan_uses(d, "port 80",
	    (const char *[]){"MULTI-INDEX OR", "files_srcport", "files_dstport", NULL});
	plan_uses(d, "after 1796520000", (const char *[]){"files_last (last_ns>?)", NULL});
	plan_uses(d, "host 10.0.0.1 and after 1796520000", (const char *[]){"USING INDEX", NULL});
	plan_uses(
	    d, "after 2h ago and before 1h ago and port 22", (const char *[]){"USING INDEX", NULL});
	plan_uses(d, "(host 10.0.0.1 or host 2001:db8::1) and partial",
	    (const char *[]){"files_src (src=?)", "files_dst (dst=?)", NULL});
	/* and the check sees a full scan where there is one */
	plan = plan_of(d, "not host 10.0.0.1");
	ck_assert_msg(strstr(plan, "SCAN files\n") != NULL, "%s", plan);
	sqlite3_free(plan);
	db_free(d);
}
END_TEST

static Suite *
qexpr_suite(void)
{
	Suite *s = suite_create("qexpr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sql_primitives);
	tcase_add_test(tc, test_sql_empty);
	tcase_add_test(tc, test_sql_precedence);
	tcase_add_test(tc, test_words);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_too_deep);
	tcase_add_test(tc, test_time_rfc3339);
	tcase_add_test(tc, test_time_local);
	tcase_add_test(tc, test_time_epoch_relative);
	tcase_add_test(tc, test_time_bad);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_match_row);
	suite_add_tcase(s, tc);
	/* an SQLite database each: seconds under the sanitizers */
	tc = tcase_create("sqlite");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sql_equals_match);
	tcase_add_test(tc, test_sql_bounded);
	tcase_add_test(tc, test_reason_words);
	tcase_add_test(tc, test_sql_functions);
	tcase_add_test(tc, test_long_chain);
	tcase_add_test(tc, test_plans);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(qexpr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
