/*
 * check_spool.c: unit tests for the spool folder: the rules spool_open
 * applies to the folder and the path to it, spool_prepare's refusal of
 * links, the spool's lock (one writer), the names retention may delete,
 * and recovery's index lines. Everything runs in a temporary folder as whoever runs it;
 * the cases about other owners need root and say so.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "names.h"
#include "pcapfile.h"
#include "spool.h"

#define SEC 1000000000ull

static void
make_tmpdir(char *dir, size_t len)
{
	snprintf(dir, len, "%s/check_spool.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
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
put_file(const char *path, const void *data, size_t len, uint64_t mtime_ns)
{
	struct timespec ts[2];
	FILE *fp = fopen(path, "wb");

	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
	fclose(fp);
	if (mtime_ns) {
		ts[0].tv_sec = ts[1].tv_sec = (time_t)(mtime_ns / SEC);
		ts[0].tv_nsec = ts[1].tv_nsec = (long)(mtime_ns % SEC);
		ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
	}
}

static int
exists(const char *dir, const char *name)
{
	char path[4400];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* --- spool_open ---------------------------------------------------------- */

/* A missing spool is made, mode 0750 whatever the umask, with its parents. */
START_TEST(test_open_makes)
{
	char dir[4096], path[4200];
	struct stat sb;
	mode_t old = umask(0);
	char *cause = NULL;
	int fd;

	make_tmpdir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/a/b/spool", dir);
	fd = spool_open(path, NULL, &cause);
	umask(old);
	ck_assert_msg(fd != -1, "spool_open: %s", cause ? cause : "?");
	ck_assert_int_eq(fstat(fd, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0750);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert(S_ISDIR(sb.st_mode));
	close(fd);
	rm_tree(dir);
}
END_TEST

/* A spool that is a link is refused, and the message says so and names it. */
START_TEST(test_open_refuses_link)
{
	char dir[4096], real[4200], link[4200];
	char *cause = NULL;

	make_tmpdir(dir, sizeof dir);
	snprintf(real, sizeof real, "%s/real", dir);
	snprintf(link, sizeof link, "%s/spool", dir);
	ck_assert_int_eq(mkdir(real, 0750), 0);
	ck_assert_int_eq(symlink(real, link), 0);
	ck_assert_int_eq(spool_open(link, NULL, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, "symbolic link") != NULL, "%s", cause);
	ck_assert_msg(strstr(cause, link) != NULL, "%s", cause);
	free(cause);
	rm_tree(dir);
}
END_TEST

/* Writable by others: the spool itself, or a parent without the sticky bit. */
START_TEST(test_open_refuses_writable)
{
	char dir[4096], parent[4200], path[4300];
	char *cause = NULL;
	int fd;

	make_tmpdir(dir, sizeof dir);
	snprintf(parent, sizeof parent, "%s/open", dir);
	snprintf(path, sizeof path, "%s/spool", parent);
	ck_assert_int_eq(mkdir(parent, 0755), 0);
	ck_assert_int_eq(chmod(parent, 0777), 0);
	ck_assert_int_eq(spool_open(path, NULL, &cause), -1);
	ck_assert_msg(strstr(cause, parent) != NULL && strstr(cause, "0777") != NULL, "%s", cause);
	ck_assert_msg(access(path, F_OK) == -1, "the spool was made under an open folder");
	free(cause);
	cause = NULL;
	/* Sticky, as /tmp: accepted. */
	ck_assert_int_eq(chmod(parent, 01777), 0);
	fd = spool_open(path, NULL, &cause);
	ck_assert_msg(fd != -1, "sticky parent refused: %s", cause ? cause : "?");
	close(fd);
	/* The spool itself open to all: refused even so. */
	ck_assert_int_eq(chmod(path, 0777), 0);
	ck_assert_int_eq(spool_open(path, NULL, &cause), -1);
	ck_assert_msg(strstr(cause, path) != NULL, "%s", cause);
	free(cause);
	rm_tree(dir);
}
END_TEST

/* A folder of another user on the way is refused (needs root to make one). */
START_TEST(test_open_refuses_foreign_owner)
{
	char dir[4096], parent[4200], path[4300];
	char *cause = NULL;

	if (geteuid() != 0)
		return;
	make_tmpdir(dir, sizeof dir);
	snprintf(parent, sizeof parent, "%s/alice", dir);
	snprintf(path, sizeof path, "%s/spool", parent);
	ck_assert_int_eq(mkdir(parent, 0755), 0);
	ck_assert_int_eq(chown(parent, 12345, 12345), 0);
	ck_assert_int_eq(spool_open(path, NULL, &cause), -1);
	ck_assert_msg(strstr(cause, "uid 12345") != NULL, "%s", cause);
	free(cause);
	rm_tree(dir);
}
END_TEST

/* "/" is no spool: it would hand the root of the file system over. */
START_TEST(test_open_refuses_root)
{
	char *cause = NULL;

	ck_assert_int_eq(spool_open("/", NULL, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	free(cause);
	cause = NULL;
	ck_assert_int_eq(spool_open("//", NULL, &cause), -1);
	free(cause);
}
END_TEST

/*
 * A link on the way is resolved and the folders on its real path are
 * checked: a root-owned folder under another user's is refused, though
 * the link itself and the folder it names look fine (needs root).
 */
START_TEST(test_open_checks_real_path)
{
	char dir[4096], alice[4200], cap[4300], link[4200], path[4300];
	char *cause = NULL;

	if (geteuid() != 0)
		return;
	make_tmpdir(dir, sizeof dir);
	snprintf(alice, sizeof alice, "%s/alice", dir);
	snprintf(cap, sizeof cap, "%s/cap", alice);
	snprintf(link, sizeof link, "%s/caplink", dir);
	snprintf(path, sizeof path, "%s/spool", link);
	ck_assert_int_eq(mkdir(alice, 0755), 0);
	ck_assert_int_eq(mkdir(cap, 0755), 0);
	ck_assert_int_eq(chown(alice, 12345, 12345), 0);
	ck_assert_int_eq(symlink(cap, link), 0);
	ck_assert_int_eq(spool_open(path, NULL, &cause), -1);
	ck_assert_msg(
	    strstr(cause, "uid 12345") != NULL && strstr(cause, alice) != NULL, "%s", cause);
	free(cause);
	rm_tree(dir);
}
END_TEST

/* .active/ or index.jsonl planted as links: refused, the targets untouched. */
START_TEST(test_prepare_refuses_links)
{
	char dir[4096], spool[4200], target[4200], link[4300];
	const char *names[] = {NAMES_ACTIVE, NAMES_INDEX};
	char *cause = NULL;
	struct stat before, after;
	size_t i;
	int fd;

	for (i = 0; i < 2; i++) {
		make_tmpdir(dir, sizeof dir);
		snprintf(spool, sizeof spool, "%s/spool", dir);
		snprintf(target, sizeof target, "%s/canary", dir);
		snprintf(link, sizeof link, "%s/%s", spool, names[i]);
		ck_assert_int_eq(mkdir(spool, 0750), 0);
		if (i == 0)
			ck_assert_int_eq(mkdir(target, 0700), 0);
		else
			put_file(target, "canary\n", 7, 0);
		ck_assert_int_eq(chmod(target, 0600 | (i == 0 ? 0100 : 0)), 0);
		ck_assert_int_eq(stat(target, &before), 0);
		ck_assert_int_eq(symlink(target, link), 0);
		fd = spool_open(spool, NULL, &cause);
		ck_assert_int_ne(fd, -1);
		ck_assert_int_eq(spool_prepare(fd, spool, &cause), -1);
		ck_assert_msg(
		    strstr(cause, names[i]) != NULL && strstr(cause, "symbolic link"), "%s", cause);
		ck_assert_int_eq(stat(target, &after), 0);
		ck_assert_uint_eq(before.st_mode, after.st_mode);
		ck_assert_uint_eq(before.st_uid, after.st_uid);
		ck_assert_uint_eq(before.st_size, after.st_size);
		free(cause);
		cause = NULL;
		close(fd);
		rm_tree(dir);
	}
}
END_TEST

/* spool_openat_dir follows no link on the way. */
START_TEST(test_openat_dir_nofollow)
{
	char dir[4096], path[4200];
	int fd, sub;

	make_tmpdir(dir, sizeof dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ne(fd, -1);
	sub = spool_openat_dir(fd, "2024/01/02", 1);
	ck_assert_int_ne(sub, -1);
	close(sub);
	snprintf(path, sizeof path, "%s/2025", dir);
	ck_assert_int_eq(symlink("/etc", path), 0);
	ck_assert_int_eq(spool_openat_dir(fd, "2025/01", 1), -1);
	ck_assert_int_eq(spool_openat_dir(fd, "../x", 1), -1);
	close(fd);
	rm_tree(dir);
}
END_TEST

/* --- the lock ---------------------------------------------------------------- */

/* The text of dir/name, or "" (in a static buffer). */
static const char *
file_text(const char *dir, const char *name)
{
	static char buf[256];
	char path[4400];
	size_t n = 0;
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((fp = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, sizeof buf - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
	return buf;
}

/*
 * One writer: the lock names our pid; a second taker, here or in another
 * process, is refused naming it; unlocked, the file goes and the folder
 * can be locked again. flock locks of two descriptors conflict even in one
 * process, so the second taker may be us.
 */
START_TEST(test_lock_one_writer)
{
	char dir[4096], want[64], *cause = NULL;
	struct stat sb;
	int fd, lk, lk2, st;
	pid_t pid;

	make_tmpdir(dir, sizeof dir);
	fd = spool_open(dir, NULL, &cause);
	ck_assert_int_ne(fd, -1);
	lk = spool_lock(fd, dir, NULL, &cause);
	ck_assert_msg(lk != -1, "spool_lock: %s", cause ? cause : "?");
	snprintf(want, sizeof want, "%ld\n", (long)getpid());
	ck_assert_str_eq(file_text(dir, SPOOL_LOCK), want);
	ck_assert_int_eq(fstat(lk, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, SPOOL_LOCK_MODE);
	ck_assert(fcntl(lk, F_GETFD) & FD_CLOEXEC);
	/* The lock file is no content: an empty output folder stays empty. */
	ck_assert(spool_is_empty(fd));

	ck_assert_int_eq(spool_lock(fd, dir, NULL, &cause), -1);
	snprintf(want, sizeof want, "in use by traceflowd %ld,", (long)getpid());
	ck_assert_msg(strstr(cause, want) != NULL && strstr(cause, dir) == cause, "%s", cause);
	free(cause);
	cause = NULL;
	/* Another process: refused as well, and our pid stays in the file. */
	if ((pid = fork()) == 0) {
		lk2 = spool_lock(fd, dir, NULL, &cause);
		_exit(lk2 == -1 && cause != NULL && strstr(cause, want) != NULL ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snprintf(want, sizeof want, "%ld\n", (long)getpid());
	ck_assert_str_eq(file_text(dir, SPOOL_LOCK), want);

	spool_unlock(fd, lk);
	ck_assert(!exists(dir, SPOOL_LOCK));
	lk = spool_lock(fd, dir, NULL, &cause);
	ck_assert_msg(lk != -1, "lock after unlock: %s", cause ? cause : "?");
	spool_unlock(fd, lk);
	close(fd);
	rm_tree(dir);
}
END_TEST

/*
 * The lock goes with its holder: a child that locked and died (as after
 * kill -9) leaves its pid in the file but no lock; a pid that is alive
 * but holds no lock (1) blocks nothing either. The file then names us.
 */
START_TEST(test_lock_stale)
{
	char dir[4096], lock[4200], want[64], *cause = NULL;
	int fd, lk, st;
	pid_t pid;

	make_tmpdir(dir, sizeof dir);
	snprintf(lock, sizeof lock, "%s/%s", dir, SPOOL_LOCK);
	fd = spool_open(dir, NULL, &cause);
	ck_assert_int_ne(fd, -1);
	if ((pid = fork()) == 0)
		_exit(spool_lock(fd, dir, NULL, &cause) == -1 ? 1 : 0); /* dies holding it */
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snprintf(want, sizeof want, "%ld\n", (long)pid);
	ck_assert_str_eq(file_text(dir, SPOOL_LOCK), want);
	lk = spool_lock(fd, dir, NULL, &cause);
	ck_assert_msg(lk != -1, "a dead holder's pid blocked: %s", cause ? cause : "?");
	snprintf(want, sizeof want, "%ld\n", (long)getpid());
	ck_assert_str_eq(file_text(dir, SPOOL_LOCK), want);
	spool_unlock(fd, lk);

	put_file(lock, "1\n", 2, 0);
	lk = spool_lock(fd, dir, NULL, &cause);
	ck_assert_msg(lk != -1, "pid 1 in the file blocked: %s", cause ? cause : "?");
	ck_assert_str_eq(file_text(dir, SPOOL_LOCK), want);
	spool_unlock(fd, lk);
	close(fd);
	rm_tree(dir);
}
END_TEST

/*
 * A link planted at .lock is never followed (its target keeps its text,
 * mode and mtime), nor is a FIFO, a folder or a second name of another
 * file used: refused, naming .lock.
 */
START_TEST(test_lock_refuses_planted)
{
	char dir[4096], lock[4200], target[4200], *cause = NULL;
	struct stat before, after;
	int fd, i;

	make_tmpdir(dir, sizeof dir);
	snprintf(lock, sizeof lock, "%s/%s", dir, SPOOL_LOCK);
	snprintf(target, sizeof target, "%s/canary", dir);
	fd = spool_open(dir, NULL, &cause);
	ck_assert_int_ne(fd, -1);
	put_file(target, "canary\n", 7, 0);
	ck_assert_int_eq(chmod(target, 0600), 0);
	ck_assert_int_eq(stat(target, &before), 0);
	for (i = 0; i < 4; i++) {
		if (i == 0)
			ck_assert_int_eq(symlink(target, lock), 0);
		else if (i == 1)
			ck_assert_int_eq(mkfifo(lock, 0600), 0);
		else if (i == 2)
			ck_assert_int_eq(mkdir(lock, 0700), 0);
		else
			ck_assert_int_eq(link(target, lock), 0);
		ck_assert_int_eq(spool_lock(fd, dir, NULL, &cause), -1);
		ck_assert_msg(strstr(cause, lock) != NULL, "case %d: %s", i, cause);
		if (i == 0)
			ck_assert_msg(strstr(cause, "symbolic link") != NULL, "%s", cause);
		free(cause);
		cause = NULL;
		ck_assert_int_eq(i == 2 ? rmdir(lock) : unlink(lock), 0);
	}
	ck_assert_int_eq(stat(target, &after), 0);
	ck_assert_uint_eq(after.st_mode, before.st_mode);
	ck_assert_int_eq(after.st_size, before.st_size);
	ck_assert_int_eq(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	ck_assert_int_eq(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	ck_assert_str_eq(file_text(dir, "canary"), "canary\n");
	close(fd);
	rm_tree(dir);
}
END_TEST

/*
 * Made by root for the daemon user: the file is the user's, so that a
 * daemon started as that user can lock it later; a file of a third user
 * is refused (needs root).
 */
START_TEST(test_lock_owner)
{
	struct spool_owner own = {12345, 12345};
	char dir[4096], lock[4200], *cause = NULL;
	struct stat sb;
	int fd, lk;

	if (geteuid() != 0)
		return;
	make_tmpdir(dir, sizeof dir);
	snprintf(lock, sizeof lock, "%s/%s", dir, SPOOL_LOCK);
	fd = spool_open(dir, NULL, &cause);
	ck_assert_int_ne(fd, -1);
	lk = spool_lock(fd, dir, &own, &cause);
	ck_assert_msg(lk != -1, "%s", cause ? cause : "?");
	ck_assert_int_eq(stat(lock, &sb), 0);
	ck_assert_uint_eq(sb.st_uid, 12345);
	ck_assert_uint_eq(sb.st_gid, 12345);
	spool_unlock(fd, lk);
	put_file(lock, "", 0, 0);
	ck_assert_int_eq(chown(lock, 23456, 23456), 0);
	ck_assert_int_eq(spool_lock(fd, dir, &own, &cause), -1);
	ck_assert_msg(strstr(cause, "uid 23456") != NULL, "%s", cause);
	free(cause);
	close(fd);
	rm_tree(dir);
}
END_TEST

/* --- retention ------------------------------------------------------------ */

#define LABEL  "10.0.0.1_1000-10.0.0.2_80-1700000000.000001"
#define OLDEST "10.0.0.3_1000-10.0.0.2_80-1600000000.000001"
#define NEWEST "10.0.0.4_1000-10.0.0.2_80-1800000000.000001"
#define LINKED "10.0.0.5_1000-10.0.0.2_80-1800000000.000001"

/* Only names the writer gives are retention's to delete. */
START_TEST(test_flow_name)
{
	ck_assert(names_is_flow_file(LABEL ".pcap"));
	ck_assert(names_is_flow_file(LABEL "-2.seg3.json"));
	ck_assert(names_is_flow_file(LABEL ".seg3-r1.pcap"));
	ck_assert(names_is_flow_file("2001.db8..1_443-2001.db8..2_5555-1700000000.123456789.txt"));
	ck_assert(!names_is_flow_file("passwd"));
	ck_assert(!names_is_flow_file("old.pcap"));
	ck_assert(!names_is_flow_file(LABEL ".pcap.bak"));
	ck_assert(!names_is_flow_file(NAMES_INDEX));
}
END_TEST

/* --- recovery ------------------------------------------------------------- */

/* Does the file rel under dir hold the text? */
static int
file_has(const char *dir, const char *rel, const char *text)
{
	char path[4400], buf[8192];
	size_t n;
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, rel);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return strstr(buf, text) != NULL;
}

static size_t
small_pcap(uint8_t *buf, int records, uint64_t t0)
{
	size_t n = PCAP_FILEHDR_LEN;
	int i;

	pcapfile_header(buf, 1, 65535, 0, 0);
	for (i = 0; i < records; i++) {
		pcapfile_record(buf + n, t0 + (uint64_t)i * SEC, 60, 60, 0, 0);
		memset(buf + n + PCAP_RECHDR_LEN, 0xab, 60);
		n += PCAP_RECHDR_LEN + 60;
	}
	return n;
}

/*
 * A torn file is cut and filed; its line has every key a normal line has
 * and recovered: true. A header-only file is removed, a link left alone.
 */
START_TEST(test_recover)
{
	static const char *keys[] = {"label", "fpout", "src", "srcport", "dst", "dstport", "vlan",
	    "interface", "first", "last", "first_ns", "last_ns", "packets", "bytes", "written",
	    "reason", "partial", "truncated", "recovered", "segment", "offset", "length", "index"};
	const char *label = "10.0.0.1_1234-2001.db8..1_80-1700000000.000001";
	char dir[4096], path[4300], *line = NULL;
	uint8_t buf[4096];
	size_t n, cap = 0, i;
	json_error_t err;
	struct stat sb;
	json_t *o;
	FILE *fp;
	int fd;

	make_tmpdir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/.active", dir);
	ck_assert_int_eq(mkdir(path, 0750), 0);
	n = small_pcap(buf, 3, 1700000000 * SEC);
	memcpy(buf + n, "junk!", 5);
	snprintf(path, sizeof path, "%s/.active/%s.pcap", dir, label);
	put_file(path, buf, n + 5, 0);
	snprintf(path, sizeof path, "%s/.active/empty.pcap", dir);
	put_file(path, buf, PCAP_FILEHDR_LEN, 0);
	snprintf(path, sizeof path, "%s/.active/link.pcap", dir);
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	fd = open(dir, O_RDONLY | O_DIRECTORY);

	ck_assert_int_eq(spool_recover(fd, dir, 0), 1);
	snprintf(path, sizeof path, "%s/%s.pcap", dir, label);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_size, (off_t)n);
	ck_assert(!exists(dir, ".active/empty.pcap"));
	ck_assert(!exists(dir, "empty.pcap"));
	ck_assert(exists(dir, ".active/link.pcap"));

	snprintf(path, sizeof path, "%s/index.jsonl", dir);
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert(getline(&line, &cap, fp) > 0);
	ck_assert(getline(&line, &cap, fp) == -1); /* one line only */
	fclose(fp);
	o = json_loads(line, 0, &err);
	ck_assert_msg(o != NULL, "%s: %s", line, err.text);
	ck_assert_uint_eq(json_object_size(o), sizeof keys / sizeof keys[0]);
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		ck_assert_msg(json_object_get(o, keys[i]) != NULL, "no %s in %s", keys[i], line);
	ck_assert(json_is_true(json_object_get(o, "recovered")));
	ck_assert_str_eq(json_string_value(json_object_get(o, "reason")), "recovered");
	ck_assert_str_eq(json_string_value(json_object_get(o, "src")), "10.0.0.1");
	ck_assert_str_eq(json_string_value(json_object_get(o, "dst")), "2001:db8::1");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "dstport")), 80);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "packets")), 3);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(o, "first_ns")), (json_int_t)(1700000000 * SEC));
	ck_assert(json_is_null(json_object_get(o, "index")));
	json_decref(o);
	free(line);
	close(fd);
	rm_tree(dir);
}
END_TEST

/*
 * In a partitioned spool, a recovered file goes to the partition of its
 * last record's hour (UTC), with its line in index.jsonl (fpout with the
 * partition) and in the partition's own index.
 */
START_TEST(test_recover_partitioned)
{
	const char *label = "10.0.0.1_1234-10.0.0.2_80-1700000000.000001";
	char dir[4096], path[4300], want[256];
	uint8_t buf[4096];
	size_t n;
	int fd;

	make_tmpdir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/.active", dir);
	ck_assert_int_eq(mkdir(path, 0750), 0);
	n = small_pcap(buf, 3, 1700000000 * SEC); /* the last record 2 s on: 2023-11-14T22 UTC */
	snprintf(path, sizeof path, "%s/.active/%s.pcap", dir, label);
	put_file(path, buf, n, 0);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_eq(spool_recover(fd, dir, 1), 1);
	snprintf(want, sizeof want, "2023-11-14T22/%s.pcap", label);
	ck_assert(exists(dir, want));
	ck_assert(!exists(dir, ".active/10.0.0.1_1234-10.0.0.2_80-1700000000.000001.pcap"));
	snprintf(path, sizeof path, "\"fpout\":\"%s\"", want);
	ck_assert(file_has(dir, "index.jsonl", path));
	ck_assert(file_has(dir, "2023-11-14T22/index.jsonl", path));
	close(fd);
	rm_tree(dir);
}
END_TEST

static Suite *
spool_suite(void)
{
	Suite *s = suite_create("spool");
	TCase *tc = tcase_create("spool");

	tcase_add_test(tc, test_open_makes);
	tcase_add_test(tc, test_open_refuses_link);
	tcase_add_test(tc, test_open_refuses_writable);
	tcase_add_test(tc, test_open_refuses_foreign_owner);
	tcase_add_test(tc, test_open_refuses_root);
	tcase_add_test(tc, test_open_checks_real_path);
	tcase_add_test(tc, test_prepare_refuses_links);
	tcase_add_test(tc, test_openat_dir_nofollow);
	tcase_add_test(tc, test_lock_one_writer);
	tcase_add_test(tc, test_lock_stale);
	tcase_add_test(tc, test_lock_refuses_planted);
	tcase_add_test(tc, test_lock_owner);
	tcase_add_test(tc, test_flow_name);
	tcase_add_test(tc, test_recover);
	tcase_add_test(tc, test_recover_partitioned);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(spool_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
