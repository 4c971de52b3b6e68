/*
 * check_hook.c: unit tests for on_file's jobs (src/hook.c) on a libevent
 * loop of their own: the environment a command gets from an index entry,
 * a failure and a timeout counted, the queue's bound (what overflows is
 * counted as not run) and what shutdown does with running and queued
 * commands. The command is /bin/sh and the "file" a script that says what
 * to do, so that each test decides what its command does. What a command
 * leaves behind is found by a mark in its processes' command lines (sleep
 * 301.PID: this test's own), as pgrep -f would.
 */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "hook.h"

struct fixture {
	char dir[64];
	struct event_base *base;
	struct hook *h;
};

static void
setup(struct fixture *f, const char *command, unsigned jobs, uint64_t timeout_ns)
{
	struct hook_config hc = {command, jobs, timeout_ns, "test"};

	snprintf(f->dir, sizeof f->dir, "/tmp/check_hook.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	f->base = event_base_new();
	ck_assert_ptr_nonnull(f->base);
	f->h = hook_new(f->base, 0, f->dir);
	hook_configure(f->h, &hc);
}

static void
teardown(struct fixture *f)
{
	char *cmd;

	hook_free(f->h);
	event_base_free(f->base);
	ck_assert_int_ne(asprintf(&cmd, "rm -rf '%s'", f->dir), -1);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/* The "file" NAME in the spool: a shell script. */
static void
script(struct fixture *f, const char *name, const char *text)
{
	char path[128];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", f->dir, name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
}

static json_t *
entry(const char *fpout)
{
	return json_pack("{s:s,s:s?,s:s,s:i,s:s,s:i,s:[ii],s:n,s:f,s:f,s:I,s:i,s:s,s:b,s:i}",
	    "label", "10.0.0.1_1000-10.0.0.2_80-1700000000.250000", "fpout", fpout, "src",
	    "10.0.0.1", "srcport", 1000, "dst", "10.0.0.2", "dstport", 80, "vlan", 100, 200,
	    "interface", "first", 1700000000.25, "last", 1700000001.5, "first_ns",
	    (json_int_t)1700000000250000000LL, "packets", 10, "reason", "fin", "partial", 1,
	    "segment", 2);
}

static void
file(struct fixture *f, const char *fpout)
{
	json_t *e = entry(fpout);

	hook_file(f->h, e);
	json_decref(e);
}

/* Run the loop until nothing runs or waits (at most 10 s). */
static struct hook_stats
settle(struct fixture *f)
{
	struct hook_stats st;
	int i;

	for (i = 0; i < 1000; i++) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		hook_stats(f->h, &st);
		if (st.running == 0 && st.queued == 0)
			break;
		usleep(10000);
	}
	return st;
}

static char *
slurp(const char *path)
{
	static char buf[65536];
	FILE *fp = fopen(path, "r");
	size_t n;

	ck_assert_msg(fp != NULL, "%s not written", path);
	n = fread(buf, 1, sizeof buf - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* "301.PID": a sleep's argument no other process has. */
static const char *
mark(void)
{
	static char m[32];

	snprintf(m, sizeof m, "301.%d", (int)getpid());
	return m;
}

/*
 * Processes whose command line is "sleep MARK" (zombies have none); with
 * clean, each is killed too, so that a failing test leaves nothing behind.
 */
static int
marked(int clean)
{
	char want[48], path[300], buf[256];
	struct dirent *de;
	DIR *d;
	FILE *fp;
	size_t len, i;
	int n = 0;

	len = (size_t)snprintf(want, sizeof want, "sleep %s", mark()) + 1;
	d = opendir("/proc");
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		i = fread(buf, 1, sizeof buf, fp);
		fclose(fp);
		if (i != len)
			continue;
		for (i = 0; i + 1 < len; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		if (memcmp(buf, want, len) != 0)
			continue;
		n++;
		if (clean)
			kill(atoi(de->d_name), SIGKILL);
	}
	closedir(d);
	return n;
}

/* Run the loop until no marked process is left (at most seconds s); how many are. */
static int
marked_gone(struct fixture *f, int s)
{
	int i;

	for (i = 0; i < s * 100 && marked(0) > 0; i++) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		usleep(10000);
	}
	return marked(1);
}

/* The command of issue 24: a child of its own that ignores SIGTERM. */
static void
script_group(struct fixture *f, const char *name)
{
	char text[128];

	snprintf(text, sizeof text, "( trap '' TERM; exec sleep %s ) & sleep %s\n", mark(), mark());
	script(f, name, text);
}

START_TEST(test_environment)
{
	struct fixture f;
	struct hook_stats st;
	char path[128], *env, want[160];

	setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);
	setenv("TRACEFLOW_STALE", "from the daemon's own environment", 1);
	setup(&f, "/bin/sh", 4, 10 * 1000000000ULL);
	script(&f, "a.pcap", "env > \"$0.env\"; echo \"$#:$0:$(pwd)\" > \"$0.arg\"; exit 3\n");
	file(&f, "a.pcap");
	file(&f, NULL); /* no file (format none): nothing runs */
	st = settle(&f);
	ck_assert_uint_eq(st.started, 1);
	ck_assert_uint_eq(st.failed, 1); /* exit 3 */
	ck_assert_uint_eq(st.succeeded, 0);
	snprintf(path, sizeof path, "%s/a.pcap.env", f.dir);
	env = slurp(path);
	ck_assert_ptr_nonnull(
	    strstr(env, "\nTRACEFLOW_LABEL=10.0.0.1_1000-10.0.0.2_80-1700000000.250000\n"));
	ck_assert_ptr_nonnull(strstr(env, "\nTRACEFLOW_FPOUT=a.pcap\n"));
	ck_assert_ptr_nonnull(strstr(env, "\nTRACEFLOW_SRC=10.0.0.1\n"));
	ck_assert_ptr_nonnull(strstr(env, "\nTRACEFLOW_SRCPORT=1000\n"));
	ck_assert_ptr_nonnull(strstr(env, "\nTRACEFLOW_DSTPORT=80\n"));
	ck_assert_ptr_nonnull(strstr(env, "\nTRACEFLOW_VLAN=100,200\n"));
	ck_assert_ptr_nonnull(strstr(env, "\nTRACEFLOW_INTERFACE=\n"));
	ck_assert_ptr_nonnull(strstr(env, "\nTRACEFLOW_FIRST=1700000000.25\n"));
	ck_assert_ptr_nonnull(strstr(env, "\nTRACEFLOW_LAST=1700000001.5\n"));
	ck_assert_ptr_nonnull(strstr(env, "\nTRACEFLOW_FIRST_NS=1700000000250000000\n"));
	ck_assert_ptr_nonnull(strstr(env, "\nTRACEFLOW_REASON=fin\n"));
	ck_assert_ptr_nonnull(strstr(env, "\nTRACEFLOW_PARTIAL=true\n"));
	ck_assert_ptr_nonnull(strstr(env, "\nTRACEFLOW_SEGMENT=2\n"));
	ck_assert_ptr_null(strstr(env, "NOTIFY_SOCKET"));
	ck_assert_ptr_null(strstr(env, "TRACEFLOW_STALE"));
	snprintf(path, sizeof path, "%s/a.pcap.arg", f.dir);
	snprintf(want, sizeof want, "0:%s/a.pcap:/\n", f.dir);
	ck_assert_str_eq(slurp(path), want);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("TRACEFLOW_STALE");
	teardown(&f);
}
END_TEST

START_TEST(test_timeout)
{
	struct fixture f;
	struct hook_stats st;

	setup(&f, "/bin/sh", 4, 200 * 1000000ULL);
	/* A child of its own too: the whole session goes. */
	script(&f, "slow.pcap", "sleep 30 & wait\n");
	file(&f, "slow.pcap");
	st = settle(&f);
	ck_assert_uint_eq(st.started, 1);
	ck_assert_uint_eq(st.timed_out, 1);
	ck_assert_uint_eq(st.failed, 0);
	teardown(&f);
}
END_TEST

/*
 * Issue 24: the command dies of its SIGTERM, but a child that ignores it
 * lives on in its process group; SIGKILL to the group follows after the
 * grace (HOOK_KILL_GRACE, 2 s), though the command was reaped long before.
 */
START_TEST(test_timeout_group)
{
	struct fixture f;
	struct hook_stats st;
	int before, after;

	setup(&f, "/bin/sh", 4, 500 * 1000000ULL);
	script_group(&f, "group.pcap");
	file(&f, "group.pcap");
	st = settle(&f);
	before = marked(0); /* the child that ignored SIGTERM (and the other, still dying) */
	after = marked_gone(&f, 5);
	ck_assert_uint_eq(st.timed_out, 1);
	ck_assert_uint_eq(st.running, 0);
	ck_assert_int_ge(before, 1);
	ck_assert_int_eq(after, 0);
	teardown(&f);
}
END_TEST

/* A command that exits 0 at once: what it left in its group still has its timeout only. */
START_TEST(test_timeout_left_behind)
{
	struct fixture f;
	struct hook_stats st;
	char text[64];
	int i, before, after;

	setup(&f, "/bin/sh", 4, 1000 * 1000000ULL);
	snprintf(text, sizeof text, "sleep %s &\nexit 0\n", mark());
	script(&f, "left.pcap", text);
	file(&f, "left.pcap");
	st = settle(&f);
	for (i = 0; i < 50 && marked(0) == 0; i++) /* the child's exec may come after the exit */
		usleep(10000);
	before = marked(0);
	after = marked_gone(&f, 5);
	ck_assert_uint_eq(st.succeeded, 1);
	ck_assert_uint_eq(st.timed_out, 0);
	ck_assert_int_eq(before, 1);
	ck_assert_int_eq(after, 0);
	teardown(&f);
}
END_TEST

/* One runs, HOOK_QUEUE_MAX wait, the next are not run; turning on_file off drops the queue. */
START_TEST(test_queue_bound)
{
	struct hook_config off = {"", 1, 60 * 1000000000ULL, "test"};
	struct fixture f;
	struct hook_stats st;
	int i;

	/* A minute: queueing 10005 files under ASan on a busy machine takes seconds. */
	setup(&f, "/bin/sh", 1, 60 * 1000000000ULL);
	script(&f, "q.pcap", "exit 0\n");
	for (i = 0; i < HOOK_QUEUE_MAX + 1 + 5; i++)
		file(&f, "q.pcap");
	hook_stats(f.h, &st);
	ck_assert_uint_eq(st.started, 1);
	ck_assert_uint_eq(st.queued, HOOK_QUEUE_MAX);
	ck_assert_uint_eq(st.dropped, 5);
	hook_configure(f.h, &off);
	hook_stats(f.h, &st);
	ck_assert_uint_eq(st.queued, 0);
	ck_assert_uint_eq(st.dropped, HOOK_QUEUE_MAX + 5);
	st = settle(&f);
	ck_assert_uint_eq(st.succeeded, 1);
	ck_assert_uint_eq(st.started, 1);
	teardown(&f);
}
END_TEST

/* Shutdown: queued ones start while the grace lasts; then kill, and what waits is not run. */
START_TEST(test_shutdown)
{
	struct fixture f;
	struct hook_stats st;

	setup(&f, "/bin/sh", 1, 10 * 1000000000ULL);
	script(&f, "quick.pcap", "exit 0\n");
	script(&f, "slow.pcap", "exec sleep 30\n");
	file(&f, "quick.pcap");
	file(&f, "slow.pcap");
	file(&f, "slow.pcap");
	file(&f, "slow.pcap");
	hook_shutdown(f.h, 300 * 1000000ULL);
	hook_stats(f.h, &st);
	ck_assert_uint_eq(st.succeeded, 1);
	ck_assert_uint_eq(st.started, 2);
	ck_assert_uint_eq(st.timed_out, 1);
	ck_assert_uint_eq(st.dropped, 2);
	ck_assert_uint_eq(st.running, 0);
	ck_assert_uint_eq(st.queued, 0);
	teardown(&f);
}
END_TEST

/*
 * Shutdown with the command of issue 24 running and another's child (which
 * ignores SIGTERM too) left behind by a command that exited 0: when
 * hook_shutdown returns, nothing of either is left.
 */
START_TEST(test_shutdown_group)
{
	struct fixture f;
	struct hook_stats st;
	char text[128];
	int i, before, after;

	setup(&f, "/bin/sh", 2, 10 * 1000000000ULL);
	script_group(&f, "group.pcap");
	snprintf(text, sizeof text, "( trap '' TERM; exec sleep %s ) &\nexit 0\n", mark());
	script(&f, "left.pcap", text);
	file(&f, "group.pcap");
	file(&f, "left.pcap");
	for (i = 0; i < 500 && marked(0) < 3; i++) {
		event_base_loop(f.base, EVLOOP_NONBLOCK);
		usleep(10000);
	}
	before = marked(0);
	hook_shutdown(f.h, 300 * 1000000ULL);
	hook_stats(f.h, &st);
	after = marked(1);
	ck_assert_int_eq(before, 3);
	ck_assert_uint_eq(st.running, 0);
	ck_assert_uint_eq(st.succeeded, 1);
	ck_assert_uint_eq(st.timed_out, 1);
	ck_assert_int_eq(after, 0);
	teardown(&f);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("hook");
	TCase *tc = tcase_create("hook");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_environment);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_timeout_group);
	tcase_add_test(tc, test_timeout_left_behind);
	tcase_add_test(tc, test_queue_bound);
	tcase_add_test(tc, test_shutdown);
	tcase_add_test(tc, test_shutdown_group);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
