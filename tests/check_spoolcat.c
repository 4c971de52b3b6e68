/*
 * check_spoolcat.c: unit tests for the filer's side of the catalog
 * (src/spoolcat.c): a spool of the previous version (files, no catalog)
 * adopted by the reconcile; retention's order (flow end time, ties in
 * filing order) and its limits (max_age from a flow's last packet), from
 * the catalog and never from a walk;
 * the running sums against what the disk holds; rows of files removed by
 * hand dropped by the next reconcile. Links, .active/ and files not named
 * as flows are never counted nor deleted.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sqlite3.h>

#include "catalog.h"
#include "spoolcat.h"

#define SEC 1000000000ull

#define LABEL  "10.0.0.1_1000-10.0.0.2_80-1700000000.000001"
#define OLDEST "10.0.0.3_1000-10.0.0.2_80-1600000000.000001"
#define NEWEST "10.0.0.4_1000-10.0.0.2_80-1800000000.000001"
#define LINKED "10.0.0.5_1000-10.0.0.2_80-1800000000.000001"

static char dir[4096];
static int dirfd_;

static void
setup(void)
{
	snprintf(dir, sizeof dir, "%s/check_spoolcat.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dirfd_ = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ne(dirfd_, -1);
}

static void
teardown(void)
{
	char cmd[4200];

	close(dirfd_);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
put(const char *rel, size_t len, uint64_t mtime_ns)
{
	static char data[4096];
	struct timespec ts[2];
	char path[4400];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, rel);
	fp = fopen(path, "wb");
	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
	fclose(fp);
	ts[0].tv_sec = ts[1].tv_sec = (time_t)(mtime_ns / SEC);
	ts[0].tv_nsec = ts[1].tv_nsec = (long)(mtime_ns % SEC);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static int
exists(const char *rel)
{
	char path[4400];

	snprintf(path, sizeof path, "%s/%s", dir, rel);
	return access(path, F_OK) == 0;
}

static void
mkdir_in(const char *rel)
{
	char path[4400];

	snprintf(path, sizeof path, "%s/%s", dir, rel);
	ck_assert_int_eq(mkdir(path, 0750), 0);
}

/* Run the reconcile to its end; the names it dropped, in *gone. */
static size_t
reconcile(struct spoolcat *sc, char ***all)
{
	char **gone;
	size_t n, total = 0, i;
	int slices = 0;

	*all = NULL;
	do {
		ck_assert_int_lt(slices++, 1000);
		i = spoolcat_slice(sc, &gone, &n);
		*all = realloc(*all, (total + n + 1) * sizeof **all);
		if (n > 0) /* gone is NULL then: memcpy may not be given it */
			memcpy(*all + total, gone, n * sizeof *gone);
		total += n;
		free(gone);
	} while (i);
	return total;
}

static void
free_names(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * A spool of the previous version: flat and dated files, no catalog.
 * The reconcile adopts what is ours (not .active/, a link, notes.txt);
 * retention then deletes by end time, the usage follows.
 */
START_TEST(test_adopt_and_retain)
{
	struct spool_figures fig;
	struct spoolcat *sc;
	char *cause = NULL, **gone;
	size_t n;

	mkdir_in(".active");
	put(".active/" NEWEST ".pcap", 1000, 1 * SEC);
	put(LABEL ".seg10.pcap", 1000, 7 * SEC);
	put(LABEL ".seg2.pcap", 1000, 6 * SEC);
	put(LABEL ".pcap", 1000, 5 * SEC);
	mkdir_in("2020");
	put("2020/" OLDEST ".pcap", 1000, 2 * SEC);
	put(NEWEST ".pcap", 1000, 9 * SEC);
	put("notes.txt", 1000, 1 * SEC);
	{
		char path[4400];

		snprintf(path, sizeof path, "%s/" LINKED ".pcap", dir);
		ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	}
	sc = spoolcat_open(dirfd_, dir, 0, &cause);
	ck_assert_msg(sc != NULL, "%s", cause);
	spoolcat_usage(sc, &fig);
	ck_assert_int_eq(fig.ready, 0);
	ck_assert_uint_eq(reconcile(sc, &gone), 0);
	free(gone);
	spoolcat_usage(sc, &fig);
	ck_assert_int_eq(fig.ready, 1);
	ck_assert_uint_eq(fig.files, 5);
	ck_assert_uint_eq(fig.bytes, 5000);
	ck_assert_uint_eq(fig.oldest_ns, 2 * SEC);
	ck_assert_uint_eq(fig.newest_ns, 9 * SEC);

	/* Five files of 1000 bytes; keep at most 2500: the three that ended first go. */
	spoolcat_retain(sc, 2500, 0, 10 * SEC, SIZE_MAX, &gone, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(gone[0], "2020/" OLDEST ".pcap");
	ck_assert_str_eq(gone[1], LABEL ".pcap");
	ck_assert_str_eq(gone[2], LABEL ".seg2.pcap");
	free_names(gone, n);
	ck_assert(!exists("2020/" OLDEST ".pcap"));
	ck_assert(!exists(LABEL ".pcap"));
	ck_assert(!exists(LABEL ".seg2.pcap"));
	ck_assert(exists(LABEL ".seg10.pcap"));
	ck_assert(exists(NEWEST ".pcap"));
	ck_assert(exists(".active/" NEWEST ".pcap"));
	ck_assert(exists(LINKED ".pcap"));
	ck_assert(exists("notes.txt"));
	spoolcat_usage(sc, &fig);
	ck_assert_uint_eq(fig.files, 2);
	ck_assert_uint_eq(fig.bytes, 2000);
	ck_assert_uint_eq(fig.deleted, 3);
	ck_assert_uint_eq(fig.deleted_bytes, 3000);
	ck_assert_uint_eq(fig.oldest_ns, 7 * SEC);

	/* max_age alone: older than 3 s at t = 11 s is seg10 (7 s), not newest (9 s). */
	spoolcat_retain(sc, 0, 3 * SEC, 11 * SEC, SIZE_MAX, &gone, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(gone[0], LABEL ".seg10.pcap");
	free_names(gone, n);
	ck_assert(exists(NEWEST ".pcap"));
	spoolcat_close(sc);
}
END_TEST

/* File a flow from first_ns to last_ns as the filer does: its file, its row. */
static void
filed_span(
    struct spoolcat *sc, const char *name, uint64_t first_ns, uint64_t last_ns, uint64_t size)
{
	const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	struct index_record r;

	memset(&r, 0, sizeof r);
	put(name, size, last_ns);
	snprintf(r.label, sizeof r.label, "%.*s", (int)(strlen(base) - 5), base);
	snprintf(r.fpout, sizeof r.fpout, "%s", name);
	snprintf(r.src, sizeof r.src, "10.0.0.1");
	snprintf(r.dst, sizeof r.dst, "10.0.0.2");
	r.srcport = 1000;
	r.dstport = 80;
	r.first_ns = first_ns;
	r.last_ns = last_ns;
	r.packets = r.written = 3;
	r.size = size;
	spoolcat_filed(sc, &r, "[1]");
}

/* The spool's catalog opened and checked against the disk (nothing found). */
static struct spoolcat *
open_checked(void)
{
	struct spoolcat *sc;
	char *cause = NULL, **gone;

	sc = spoolcat_open(dirfd_, dir, 0, &cause);
	ck_assert_msg(sc != NULL, "%s", cause);
	reconcile(sc, &gone);
	free(gone);
	return sc;
}

/* A flow of one second that ended at last_ns. */
static void
filed(struct spoolcat *sc, const char *name, uint64_t last_ns, uint64_t size)
{
	filed_span(sc, name, last_ns - SEC, last_ns, size);
}

/*
 * Flows that ended at the same moment go in the order they were filed;
 * the sums are those of the files on disk; a file removed by hand loses
 * its row at the next reconcile (a restart), and its name is given for
 * the index.
 */
START_TEST(test_filed_ties_and_hand_removal)
{
	struct spool_figures fig;
	struct spoolcat *sc;
	char *cause = NULL, **gone;
	size_t n;

	sc = open_checked();
	filed(sc, "10.0.0.9_1-10.0.0.2_80-1700000000.000001.pcap", 5 * SEC, 100);
	filed(sc, "10.0.0.1_1-10.0.0.2_80-1700000000.000001.pcap", 5 * SEC, 200);
	filed(sc, "10.0.0.5_1-10.0.0.2_80-1700000000.000001.pcap", 5 * SEC, 300);
	filed(sc, "10.0.0.7_1-10.0.0.2_80-1700000000.000001.pcap", 4 * SEC, 400);
	spoolcat_commit(sc);
	spoolcat_usage(sc, &fig);
	ck_assert_uint_eq(fig.files, 4);
	ck_assert_uint_eq(fig.bytes, 1000);

	/*
	 * 1000 bytes, keep 500: the 4 s flow, then the 5 s ones in filing
	 * order; one deletion a slice, so the pass takes two calls: the first
	 * says it is not done (1), the second ends it (0).
	 */
	ck_assert_int_eq(spoolcat_retain(sc, 500, 0, 10 * SEC, 1, &gone, &n), 1);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(gone[0], "10.0.0.7_1-10.0.0.2_80-1700000000.000001.pcap");
	free_names(gone, n);
	ck_assert_int_eq(spoolcat_retain(sc, 500, 0, 10 * SEC, 1, &gone, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(gone[0], "10.0.0.9_1-10.0.0.2_80-1700000000.000001.pcap");
	free_names(gone, n);
	spoolcat_usage(sc, &fig);
	ck_assert_uint_eq(fig.bytes, 500);
	spoolcat_close(sc);

	/* One removed by hand while the daemon was down. */
	ck_assert_int_eq(unlinkat(dirfd_, "10.0.0.1_1-10.0.0.2_80-1700000000.000001.pcap", 0), 0);
	sc = spoolcat_open(dirfd_, dir, 0, &cause);
	ck_assert_msg(sc != NULL, "%s", cause);
	spoolcat_usage(sc, &fig);
	ck_assert_uint_eq(fig.files, 2); /* the catalog's view until the reconcile */
	n = reconcile(sc, &gone);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(gone[0], "10.0.0.1_1-10.0.0.2_80-1700000000.000001.pcap");
	free_names(gone, n);
	spoolcat_usage(sc, &fig);
	ck_assert_uint_eq(fig.files, 1);
	ck_assert_uint_eq(fig.bytes, 300);
	ck_assert_uint_eq(fig.reconciled, 1);
	spoolcat_close(sc);
}
END_TEST

/*
 * max_age counts from a flow's end, its last packet: a long flow that began
 * long ago but ended within max_age stays; a short one that ended before
 * goes, however late it began.
 */
START_TEST(test_max_age_from_the_end)
{
	struct spoolcat *sc;
	char **gone;
	size_t n;

	sc = open_checked();
	/* 1 s to 100 s: began 109 s before now, ended 10 s before. */
	filed_span(sc, "10.0.0.1_1-10.0.0.2_80-1700000000.000001.pcap", 1 * SEC, 100 * SEC, 100);
	/* 49 s to 50 s: began later, ended 60 s before now. */
	filed_span(sc, "10.0.0.2_1-10.0.0.2_80-1700000000.000001.pcap", 49 * SEC, 50 * SEC, 100);
	spoolcat_commit(sc);

	spoolcat_retain(sc, 0, 30 * SEC, 110 * SEC, SIZE_MAX, &gone, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(gone[0], "10.0.0.2_1-10.0.0.2_80-1700000000.000001.pcap");
	free_names(gone, n);
	ck_assert(exists("10.0.0.1_1-10.0.0.2_80-1700000000.000001.pcap"));
	ck_assert(!exists("10.0.0.2_1-10.0.0.2_80-1700000000.000001.pcap"));

	/* Once it ended longer ago than max_age, the long flow goes too. */
	spoolcat_retain(sc, 0, 30 * SEC, 131 * SEC, SIZE_MAX, &gone, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(gone[0], "10.0.0.1_1-10.0.0.2_80-1700000000.000001.pcap");
	free_names(gone, n);
	spoolcat_close(sc);
}
END_TEST

/* Lines in rel (0 when it does not exist). */
static int
lines_in(const char *rel)
{
	char path[4400];
	int c, n = 0;
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, rel);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	while ((c = getc(fp)) != EOF)
		n += c == '\n';
	fclose(fp);
	return n;
}

/* File a flow that ended at last_ns where spoolcat_partition says; its path. */
static void
file_in_part(struct spoolcat *sc, int i, uint64_t last_ns, char *fpout, size_t len)
{
	const char *part = spoolcat_partition(sc, last_ns);
	char path[4400];

	snprintf(path, sizeof path, "%s/%s", dir, part);
	mkdir(path, 0750);
	snprintf(fpout, len, "%s/10.0.0.%d_1-10.0.0.2_80-1700000000.000001.pcap", part, i);
	filed(sc, fpout, last_ns, 100);
}

/*
 * Partitions: a folder per hour (UTC) of the flows' end, split at the
 * bound; each with the index of its own files. Retention empties the
 * oldest: it goes whole, index and folder; a partition it only thins
 * keeps an index of what is left.
 */
START_TEST(test_partitions)
{
	const uint64_t h = 1765015200ull * SEC; /* 2025-12-06T10:00:00Z */
	static const char *want[] = {"2025-12-06T10", "2025-12-06T10", "2025-12-06T10",
	    "2025-12-06T10.0001", "2025-12-06T10.0001", "2025-12-06T10.0001", "2025-12-06T10.0002",
	    "2025-12-06T11"};
	char fpout[8][256], *cause = NULL, **gone;
	struct spool_figures fig;
	struct spoolcat *sc;
	size_t n;
	int i;

	sc = spoolcat_open(dirfd_, dir, 3, &cause);
	ck_assert_msg(sc != NULL, "%s", cause);
	for (i = 0; i < 8; i++) {
		file_in_part(sc, i, h + (uint64_t)i * SEC + (i == 7 ? 3600 * SEC : 0), fpout[i],
		    sizeof fpout[i]);
		ck_assert_msg(strncmp(fpout[i], want[i], strlen(want[i])) == 0 &&
		                  fpout[i][strlen(want[i])] == '/',
		    "flow %d filed in %s, want %s", i, fpout[i], want[i]);
	}
	spoolcat_commit(sc);
	ck_assert_int_eq(lines_in("2025-12-06T10/index.jsonl"), 3);
	ck_assert_int_eq(lines_in("2025-12-06T10.0001/index.jsonl"), 3);
	ck_assert_int_eq(lines_in("2025-12-06T10.0002/index.jsonl"), 1);
	ck_assert_int_eq(lines_in("2025-12-06T11/index.jsonl"), 1);

	/* A restart goes on in the hour's last split with room, not in a full one. */
	spoolcat_close(sc);
	sc = spoolcat_open(dirfd_, dir, 3, &cause);
	ck_assert_msg(sc != NULL, "%s", cause);
	ck_assert_str_eq(spoolcat_partition(sc, h + 30 * SEC), "2025-12-06T10.0002");

	/* 800 bytes, keep 400: the four oldest go, the first partition whole. */
	spoolcat_retain(sc, 400, 0, h + 7200 * SEC, SIZE_MAX, &gone, &n);
	ck_assert_uint_eq(n, 4);
	free_names(gone, n);
	ck_assert(!exists("2025-12-06T10"));
	ck_assert(!exists(fpout[3]));
	ck_assert(exists(fpout[4]));
	ck_assert_int_eq(lines_in("2025-12-06T10.0001/index.jsonl"), 2);
	spoolcat_usage(sc, &fig);
	ck_assert_uint_eq(fig.files, 4);

	spoolcat_close(sc);
}
END_TEST

/*
 * A version 1 catalog (its host indexes by port) is upgraded when the
 * daemon opens it, its rows kept, and systemd is told to wait first.
 */
START_TEST(test_upgrade)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct spool_figures fig;
	struct spoolcat *sc;
	char *cause = NULL, db[4200], msg[512];
	sqlite3_stmt *st;
	sqlite3 *h;
	ssize_t len;
	int fd;

	sc = open_checked();
	filed(sc, "10.0.0.9_1-10.0.0.2_80-1700000000.000001.pcap", 5 * SEC, 100);
	filed(sc, "10.0.0.1_1-10.0.0.2_80-1700000000.000001.pcap", 5 * SEC, 200);
	spoolcat_close(sc);
	snprintf(db, sizeof db, "%s/%s/%s", dir, CATALOG_DIR, CATALOG_DB);
	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(h,
	                     "DROP TABLE probes; DROP TRIGGER files_delete;" CATALOG_FILES_DELETE_2
	                     "DROP INDEX files_src; DROP INDEX files_dst;"
	                     "CREATE INDEX files_src ON files (src, srcport);"
	                     "CREATE INDEX files_dst ON files (dst, dstport);"
	                     "PRAGMA user_version = 1;",
	                     NULL, NULL, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_close(h), SQLITE_OK);

	/* systemd, as far as sd_notify can tell */
	ck_assert_int_lt(strlen(dir) + sizeof "/n.sock", sizeof sa.sun_path);
	memcpy(sa.sun_path, dir, strlen(dir));
	memcpy(sa.sun_path + strlen(dir), "/n.sock", sizeof "/n.sock");
	ck_assert_int_ne(fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0), -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	sc = spoolcat_open(dirfd_, dir, 0, &cause);
	unsetenv("NOTIFY_SOCKET");
	ck_assert_msg(sc != NULL, "%s", cause);
	ck_assert_int_gt(len = recv(fd, msg, sizeof msg - 1, 0), 0);
	msg[len] = '\0';
	ck_assert_msg(strncmp(msg, "EXTEND_TIMEOUT_USEC=", 20) == 0 && atoll(msg + 20) >= 60000000,
	    "%s", msg);
	close(fd);
	spoolcat_usage(sc, &fig);
	ck_assert_uint_eq(fig.files, 2);
	ck_assert_uint_eq(fig.bytes, 300);
	spoolcat_close(sc);

	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h,
	                     "SELECT (SELECT user_version FROM pragma_user_version),"
	                     " group_concat(name) FROM pragma_index_info('files_src')",
	                     -1, &st, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), CATALOG_VERSION);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 1), "src,last_ns");
	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_close(h), SQLITE_OK);
}
END_TEST

static Suite *
spoolcat_suite(void)
{
	Suite *s = suite_create("spoolcat");
	TCase *tc = tcase_create("catalog");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_adopt_and_retain);
	tcase_add_test(tc, test_filed_ties_and_hand_removal);
	tcase_add_test(tc, test_max_age_from_the_end);
	tcase_add_test(tc, test_partitions);
	tcase_add_test(tc, test_upgrade);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(spoolcat_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
