/*
 * check_files.c: unit tests for the file side of the filer (src/files.c):
 * what becomes of a flow's file whose name in .active/ was taken over
 * before the rename (a FIFO, a folder, a hard link to someone else's file
 * put there by the daemon's user), and of one a rename refused: nothing
 * that is not the flow's own file is filed as it, the index record says
 * no file (written 0, truncated), the loss is counted.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "flow.h"
#include "index.h"
#include "pcapfile.h"

static char dir[256], active[300];
static int dfd;
static struct files *fs;
static struct flow fl;

static void
setup(void)
{
	struct filer_config cfg = {.format = FMT_PCAP, .max_open_files = 8};
	char *cause = NULL;

	snprintf(dir, sizeof dir, "/tmp/check_files.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(active, sizeof active, "%s/.active", dir);
	ck_assert_int_ge(dfd = open(dir, O_RDONLY | O_DIRECTORY), 0);
	fs = files_new(dfd, dir, &cfg, &cause);
	ck_assert_msg(fs != NULL, "files_new: %s", cause);
	memset(&fl, 0, sizeof fl);
	fl.key.af = 4;
	fl.key.a[0] = 10;
	fl.key.b[0] = 10;
	fl.key.b[3] = 2;
	fl.key.aport = 40000;
	fl.key.bport = 80;
	fl.first = 1700000000ull * 1000000000u;
}

static void
teardown(void)
{
	char cmd[300];

	files_free(fs);
	close(dfd);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A file for the flow with two records in it, made under .active/; its name there. */
static struct ifile *
written_file(char *name, size_t len)
{
	struct ifile *io = files_ifile(fs, &fl, 1, 65535, NULL, NULL);
	uint8_t rec[PCAP_RECHDR_LEN + 60] = {0};
	struct iovec v[2] = {{rec, sizeof rec}, {rec, sizeof rec}};
	struct dirent *de;
	DIR *d;

	pcapfile_record(rec, fl.first, 60, 60, 0, 0);
	files_append(fs, io, v, 2, 2 * sizeof rec, 2);
	ck_assert_ptr_nonnull(d = opendir(active));
	name[0] = '\0';
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			snprintf(name, len, "%s", de->d_name);
	closedir(d);
	ck_assert_msg(name[0] != '\0', "no file in .active");
	return io;
}

/* Finish it: not filed, the record says no file, the loss counted; the object left alone. */
static void
refused(struct ifile *io, const char *name)
{
	struct index_record r;
	struct output_stats st;
	char path[600];

	ck_assert_ptr_null(files_finish(fs, io, fl.first + 1000, ""));
	memset(&r, 0, sizeof r);
	files_describe(io, &r);
	ck_assert_uint_eq(r.written, 0);
	ck_assert(r.truncated);
	files_stats(fs, &st);
	ck_assert_uint_eq(st.frames_lost, 2);
	ck_assert_uint_eq(st.files, 0);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	ck_assert_msg(access(path, F_OK) == -1, "%s was filed", name);
	files_ifile_free(io);
}

START_TEST(test_fifo_planted)
{
	char name[256], path[600];
	struct ifile *io = written_file(name, sizeof name);
	struct stat sb;

	snprintf(path, sizeof path, "%s/%s", active, name);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	refused(io, name);
	ck_assert_int_eq(lstat(path, &sb), 0);
	ck_assert(S_ISFIFO(sb.st_mode));
}
END_TEST

START_TEST(test_folder_planted)
{
	char name[256], path[600];
	struct ifile *io = written_file(name, sizeof name);

	snprintf(path, sizeof path, "%s/%s", active, name);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	refused(io, name);
}
END_TEST

/* Another file's second name: that file is neither moved nor changed. */
START_TEST(test_hard_link_planted)
{
	char name[256], path[600], other[600], buf[32] = "";
	struct ifile *io = written_file(name, sizeof name);
	FILE *f;

	snprintf(other, sizeof other, "%s/someone-elses", dir);
	ck_assert_ptr_nonnull(f = fopen(other, "w"));
	fputs("not yours\n", f);
	fclose(f);
	snprintf(path, sizeof path, "%s/%s", active, name);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(link(other, path), 0);
	refused(io, name);
	ck_assert_ptr_nonnull(f = fopen(other, "r"));
	ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
	fclose(f);
	ck_assert_str_eq(buf, "not yours\n");
}
END_TEST

/* Every name the rename could take is taken: the record says no file, not "written 2". */
START_TEST(test_rename_refused)
{
	char name[256], base[256], path[700];
	struct ifile *io = written_file(name, sizeof name);
	unsigned i;
	int fd;

	snprintf(base, sizeof base, "%s", name);
	*strrchr(base, '.') = '\0';
	for (i = 0; i < 10000; i++) {
		if (i == 0)
			snprintf(path, sizeof path, "%s/%s.pcap", dir, base);
		else
			snprintf(path, sizeof path, "%s/%s-%u.pcap", dir, base, i);
		ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600), 0);
		close(fd);
	}
	ck_assert_ptr_null(files_finish(fs, io, fl.first + 1000, ""));
	{
		struct index_record r;
		struct output_stats st;

		memset(&r, 0, sizeof r);
		files_describe(io, &r);
		ck_assert_uint_eq(r.written, 0);
		ck_assert(r.truncated);
		files_stats(fs, &st);
		ck_assert_uint_eq(st.frames_lost, 2);
		ck_assert_uint_ge(st.write_errors, 1);
	}
	/* left in .active/ for the next start's recovery */
	snprintf(path, sizeof path, "%s/%s", active, name);
	ck_assert_int_eq(access(path, F_OK), 0);
	files_ifile_free(io);
}
END_TEST

/* The flow's own file, untouched: filed as ever. */
START_TEST(test_own_file_filed)
{
	char name[256];
	struct ifile *io = written_file(name, sizeof name);
	struct index_record r;
	const char *fpout = files_finish(fs, io, fl.first + 1000, "");

	ck_assert_ptr_nonnull(fpout);
	ck_assert_str_eq(fpout, name);
	memset(&r, 0, sizeof r);
	files_describe(io, &r);
	ck_assert_uint_eq(r.written, 2);
	ck_assert(!r.truncated);
	files_ifile_free(io);
}
END_TEST

static Suite *
files_suite(void)
{
	Suite *s = suite_create("files");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_own_file_filed);
	tcase_add_test(tc, test_fifo_planted);
	tcase_add_test(tc, test_folder_planted);
	tcase_add_test(tc, test_hard_link_planted);
	tcase_add_test(tc, test_rename_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(files_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
