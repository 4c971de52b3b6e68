/*
 * check_index.c: unit tests for index.jsonl over time (src/index.c):
 * pruning the lines of deleted files (a rewrite renamed over the name,
 * only when a line goes), pruning lines still waiting in memory, the
 * prune of files that do not exist, and the reopen by name after the file
 * was moved (logrotate), a planted link refused and the lines kept; the
 * record's numbers written by hand (src/record.c) exactly as jansson writes
 * them, times as reals and counters as integers.
 *
 * Every test works in a fresh temporary folder; lines are made by
 * index_append from JSON objects with only the keys that matter here.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "index.h"
#include "record.h"
#include "log.h"
#include "names.h"

static void
make_tmpdir(char *dir, size_t len)
{
	snprintf(dir, len, "%s/check_index.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
rm_tree(const char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
touch(const char *dir, const char *rel)
{
	char path[4300];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, rel);
	ck_assert_msg((fp = fopen(path, "w")) != NULL, "%s: %s", path, strerror(errno));
	fclose(fp);
}

/* A line for the file fpout (NULL: null), told apart by n. */
static void
add(struct flow_index *idx, const char *fpout, int n)
{
	json_t *o = json_object();

	json_object_set_new(o, "label", json_sprintf("10.0.0.1_%d-10.0.0.2_80-1700000000.0", n));
	json_object_set_new(o, "fpout", fpout ? json_string(fpout) : json_null());
	json_object_set_new(o, "index", json_pack("[i,i,i]", n, n + 1, n + 2));
	ck_assert_int_eq(index_append(idx, o), 0);
	json_decref(o);
}

/* The "label" numbers of the file's lines, as "1,3,4" (every line must parse). */
static void
numbers(const char *path, char *buf, size_t len)
{
	char line[4096];
	json_error_t jerr;
	json_t *o;
	FILE *fp;
	int n;

	buf[0] = '\0';
	if ((fp = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof line, fp) != NULL) {
		o = json_loads(line, 0, &jerr);
		ck_assert_msg(o != NULL, "%s: %s: %s", path, line, jerr.text);
		ck_assert_int_eq(
		    sscanf(json_string_value(json_object_get(o, "label")), "10.0.0.1_%d", &n), 1);
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%d", buf[0] ? "," : "", n);
		json_decref(o);
	}
	fclose(fp);
}

static ino_t
inode(const char *path)
{
	struct stat sb;

	ck_assert_int_eq(lstat(path, &sb), 0);
	return sb.st_ino;
}

static struct flow_index *
open_index(const char *dir, int *dfd)
{
	struct flow_index *idx;
	char *cause = NULL;

	*dfd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ne(*dfd, -1);
	idx = index_open(*dfd, dir, &cause);
	ck_assert_msg(idx != NULL, "%s", cause);
	return idx;
}

/*
 * Retention deleted two files: their lines go, the rest stay in order (a
 * null fpout, a name in a dated folder, one with escapes), the index is a
 * new file renamed over the name, nothing is left at the temporary name,
 * and later lines go to the new file.
 */
START_TEST(test_prune_gone)
{
	char dir[4096], path[4300], got[256];
	char *gone[] = {"2020/01/b.pcap", "we\"ird\\.pcap"};
	struct flow_index *idx;
	ino_t before;
	int dfd;

	make_tmpdir(dir, sizeof dir);
	idx = open_index(dir, &dfd);
	add(idx, "a.pcap", 1);
	add(idx, "2020/01/b.pcap", 2);
	add(idx, NULL, 3);
	add(idx, "we\"ird\\.pcap", 4);
	add(idx, "2020/01/c.pcap", 5);
	ck_assert_int_eq(index_flush(idx), 0);
	snprintf(path, sizeof path, "%s/%s", dir, NAMES_INDEX);
	before = inode(path);

	ck_assert_int_eq(index_prune(idx, gone, 2, 0), 0);
	numbers(path, got, sizeof got);
	ck_assert_str_eq(got, "1,3,5");
	ck_assert(inode(path) != before);
	snprintf(path, sizeof path, "%s/%s", dir, NAMES_INDEX_NEW);
	ck_assert_int_eq(access(path, F_OK), -1);
	add(idx, "d.pcap", 6);
	ck_assert_int_eq(index_flush(idx), 0);
	snprintf(path, sizeof path, "%s/%s", dir, NAMES_INDEX);
	numbers(path, got, sizeof got);
	ck_assert_str_eq(got, "1,3,5,6");
	ck_assert(!index_wants_retry(idx));

	/* Nothing of the index deleted: the file is not rewritten. */
	before = inode(path);
	ck_assert_int_eq(index_prune(idx, gone, 1, 0), 0);
	ck_assert(inode(path) == before);
	numbers(path, got, sizeof got);
	ck_assert_str_eq(got, "1,3,5,6");
	index_close(idx);
	close(dfd);
	rm_tree(dir);
}
END_TEST

/*
 * The temporary name is made with O_EXCL: a link planted there is removed,
 * never written through, and the prune goes on.
 */
START_TEST(test_prune_planted_tmp)
{
	char dir[4096], path[4300], canary[4300], got[256];
	char *gone[] = {"a.pcap"};
	struct flow_index *idx;
	struct stat sb;
	int dfd;

	make_tmpdir(dir, sizeof dir);
	snprintf(canary, sizeof canary, "%s/canary", dir);
	touch(dir, "canary");
	snprintf(path, sizeof path, "%s/%s", dir, NAMES_INDEX_NEW);
	ck_assert_int_eq(symlink(canary, path), 0);
	idx = open_index(dir, &dfd);
	add(idx, "a.pcap", 1);
	add(idx, "b.pcap", 2);
	ck_assert_int_eq(index_prune(idx, gone, 1, 0), 0);
	ck_assert_int_eq(stat(canary, &sb), 0);
	ck_assert_int_eq(sb.st_size, 0);
	ck_assert_int_eq(lstat(path, &sb), -1);
	snprintf(path, sizeof path, "%s/%s", dir, NAMES_INDEX);
	numbers(path, got, sizeof got);
	ck_assert_str_eq(got, "2");
	index_close(idx);
	close(dfd);
	rm_tree(dir);
}
END_TEST

/* With missing: the lines of files that do not exist go (a folder gone too); null stays. */
START_TEST(test_prune_missing)
{
	char dir[4096], path[4300], got[256];
	struct flow_index *idx;
	int dfd;

	make_tmpdir(dir, sizeof dir);
	touch(dir, "a.pcap");
	snprintf(path, sizeof path, "%s/2020", dir);
	ck_assert_int_eq(mkdir(path, 0750), 0);
	touch(dir, "2020/c.pcap");
	idx = open_index(dir, &dfd);
	add(idx, "a.pcap", 1);
	add(idx, "b.pcap", 2);
	add(idx, "2020/c.pcap", 3);
	add(idx, "2020/d.pcap", 4);
	add(idx, "2019/e.pcap", 5);
	add(idx, NULL, 6);
	ck_assert_int_eq(index_prune(idx, NULL, 0, 1), 0);
	snprintf(path, sizeof path, "%s/%s", dir, NAMES_INDEX);
	numbers(path, got, sizeof got);
	ck_assert_str_eq(got, "1,3,6");
	index_close(idx);
	close(dfd);
	rm_tree(dir);
}
END_TEST

/*
 * Moved away (logrotate), then reopened: later lines go to a new file at
 * the name, the moved one gains nothing. A reopen of the same file changes
 * nothing.
 */
START_TEST(test_reopen_moved)
{
	char dir[4096], path[4300], moved[4300], got[256];
	struct flow_index *idx;
	ino_t ino;
	int dfd;

	make_tmpdir(dir, sizeof dir);
	idx = open_index(dir, &dfd);
	add(idx, "a.pcap", 1);
	ck_assert_int_eq(index_flush(idx), 0);
	snprintf(path, sizeof path, "%s/%s", dir, NAMES_INDEX);
	snprintf(moved, sizeof moved, "%s/index.jsonl.1", dir);
	ck_assert_int_eq(index_reopen(idx), 0);
	ino = inode(path);
	ck_assert_int_eq(rename(path, moved), 0);
	ck_assert_int_eq(index_reopen(idx), 0);
	ck_assert(inode(path) != ino);
	add(idx, "b.pcap", 2);
	ck_assert_int_eq(index_flush(idx), 0);
	numbers(path, got, sizeof got);
	ck_assert_str_eq(got, "2");
	numbers(moved, got, sizeof got);
	ck_assert_str_eq(got, "1");
	index_close(idx);
	close(dfd);
	rm_tree(dir);
}
END_TEST

/*
 * A link planted at the name before the reopen: refused, its target
 * untouched, lines wait (pending) and are pruned while they wait; once the
 * link is gone they reach a new file, the prune done then too.
 */
START_TEST(test_reopen_link_refused)
{
	char dir[4096], path[4300], moved[4300], canary[4300], got[256];
	char *gone[] = {"b.pcap"};
	struct flow_index *idx;
	uint64_t pending, lost, errors;
	struct stat sb;
	int dfd;

	make_tmpdir(dir, sizeof dir);
	snprintf(canary, sizeof canary, "%s/canary", dir);
	touch(dir, "canary");
	idx = open_index(dir, &dfd);
	add(idx, "a.pcap", 1);
	ck_assert_int_eq(index_flush(idx), 0);
	snprintf(path, sizeof path, "%s/%s", dir, NAMES_INDEX);
	snprintf(moved, sizeof moved, "%s/index.jsonl.1", dir);
	ck_assert_int_eq(rename(path, moved), 0);
	ck_assert_int_eq(symlink(canary, path), 0);
	ck_assert_int_eq(index_reopen(idx), -1);
	add(idx, "b.pcap", 2);
	add(idx, "c.pcap", 3);
	ck_assert_int_eq(index_flush(idx), -1);
	index_stats(idx, &pending, &lost, &errors);
	ck_assert_uint_eq(pending, 2);
	ck_assert_uint_eq(lost, 0);
	/* A prune now cannot rename over a link: kept for later. */
	ck_assert_int_eq(index_prune(idx, gone, 1, 0), -1);
	ck_assert(index_wants_retry(idx));
	ck_assert_int_eq(stat(canary, &sb), 0);
	ck_assert_int_eq(sb.st_size, 0);
	ck_assert_int_eq(lstat(path, &sb), 0);
	ck_assert(S_ISLNK(sb.st_mode));
	numbers(moved, got, sizeof got);
	ck_assert_str_eq(got, "1");

	ck_assert_int_eq(unlink(path), 0);
	ck_assert(!index_retry(idx));
	numbers(path, got, sizeof got);
	ck_assert_str_eq(got, "3");
	index_stats(idx, &pending, &lost, &errors);
	ck_assert_uint_eq(pending, 0);
	numbers(moved, got, sizeof got);
	ck_assert_str_eq(got, "1");
	index_close(idx);
	close(dfd);
	rm_tree(dir);
}
END_TEST

/* What jansson writes for v: the text the hand-written numbers must equal. */
static void
jansson_text(json_t *v, char *buf, size_t len)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	ck_assert_ptr_nonnull(s);
	snprintf(buf, len, "%s", s);
	free(s);
	json_decref(v);
}

static void
check_time(uint64_t ns)
{
	struct text t = {NULL, 0, 0};
	char want[64];
	double v = (double)(ns / 1000000000u) + (double)(ns % 1000000000u) / 1e9;

	jansson_text(json_real(v), want, sizeof want);
	text_time(&t, ns);
	text_add(&t, "", 1);
	ck_assert_msg(strcmp(t.s, want) == 0, "%llu ns: \"%s\", jansson \"%s\"",
	    (unsigned long long)ns, t.s, want);
	free(t.s);
}

static uint64_t
rnd64(uint64_t *x)
{
	*x ^= *x << 13; /* xorshift64: the same values every run */
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

START_TEST(test_numbers_as_jansson)
{
	/* Today's times, with micro- and nanoseconds; ages; the edges of the fast path. */
	static const uint64_t edge[] = {0, 1, 999999999, 1000000000, 1000000001, 1500000000,
	    9999999999999999999u, UINT64_MAX, 1700000000123456000u, 1700000000999999999u,
	    1699999999999999999u, 1073741824000000000u, 1073741823999999999u, 17179869184000000000u,
	    17179869183999999999u, 8589934592000000000u, 99999999999999999u, 10000000000000000000u};
	uint64_t x = 88172645463325252u, v;
	struct text t = {NULL, 0, 0};
	char want[64];
	size_t i;

	for (i = 0; i < sizeof edge / sizeof edge[0]; i++)
		check_time(edge[i]);
	for (i = 0; i < 5000; i++) {
		v = rnd64(&x);
		check_time(v);                                              /* anything */
		check_time(1600000000000000000u + v % 200000000000000000u); /* capture times */
		check_time(1600000000000000000u + v % 200000000000000000u / 1000 * 1000); /* us */
		check_time(v % 86400000000000u);           /* ages up to a day */
		check_time(v % 1000000000u * 1000000000u); /* whole seconds */
	}
	for (i = 0; i < 5000; i++) {
		v = i < 20 ? i : rnd64(&x) >> (i % 64);
		t.len = 0;
		text_u64(&t, v);
		text_add(&t, "", 1);
		jansson_text(json_integer((json_int_t)(v >> 1)), want, sizeof want);
		t.len = 0;
		text_u64(&t, v >> 1);
		text_add(&t, "", 1);
		ck_assert_str_eq(t.s, want);
	}
	free(t.s);
}
END_TEST

static Suite *
index_suite(void)
{
	Suite *s = suite_create("index");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_prune_gone);
	tcase_add_test(tc, test_prune_planted_tmp);
	tcase_add_test(tc, test_prune_missing);
	tcase_add_test(tc, test_reopen_moved);
	tcase_add_test(tc, test_reopen_link_refused);
	suite_add_tcase(s, tc);
	/* 30,000 numbers through jansson: seconds under the sanitizers, not check's default 4. */
	tc = tcase_create("numbers");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_numbers_as_jansson);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(index_suite());
	int failed;

	log_init("check_index", LOG_LVL_WARN, LOG_TO_STDERR);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
