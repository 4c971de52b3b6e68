/*
 * check_merge.c: unit tests for the merge of `traceflowctl query -w`
 * (src/merge.c): k files interleaved come out in time order, whole;
 * equal timestamps in the order the flows came in (then the file's own);
 * a file cut short gives what it holds and is counted; a file gone is
 * skipped; with one descriptor for three overlapping files (files closed
 * and opened again where they stood) the output is the same; two link
 * types make a pcapng with an interface each; --filter keeps what BPF
 * matches. Outputs are read back with libpcap, or block by block.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "frames.h"
#include "merge.h"
#include "pcapfile.h"

#define SEC 1000000000ull

/* A packet to write: its time and a tag byte that says which file and which packet. */
struct pkt {
	uint64_t ts;
	uint8_t tag;
	int tcp; /* a TCP frame, else a UDP one (for the filter) */
};

static char dir[256];
static int dirfd_;
static uint32_t snap = 65535; /* the files' snapshot length */

static void
setup(void)
{
	snap = 65535;
	snprintf(dir, sizeof dir, "/tmp/check_merge.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dirfd_ = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dirfd_, 0);
}

static void
teardown(void)
{
	char cmd[300];

	close(dirfd_);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* An Ethernet frame whose last payload byte is tag. */
static size_t
frame(uint8_t *out, const struct pkt *p)
{
	struct fb f;
	struct fb_ip4 ip = {.src = 0x0a000001, .dst = 0x0a000002};
	struct fb_tcp t = {.sport = 1000, .dport = 80, .flags = 0x10, .paylen = 4, .fill = p->tag};

	fb_init(&f);
	fb_eth(&f, 0x0800);
	fb_ipv4(&f, &ip);
	if (p->tcp)
		fb_tcp(&f, &t);
	else
		fb_udp(&f, 1000, 53, 4);
	fb_finish(&f);
	f.buf[f.len - 1] = p->tag;
	memcpy(out, f.buf, f.len);
	return f.len;
}

/* A pcap file of the packets (link type lt; cut bytes cut off its end). */
static void
write_file(const char *name, const struct pkt *p, size_t n, uint32_t lt, int nano, size_t cut)
{
	char path[512];
	uint8_t hdr[PCAP_FILEHDR_LEN], rec[PCAP_RECHDR_LEN], buf[2048];
	FILE *f;
	size_t i, len;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "wb"));
	pcapfile_header(hdr, lt, snap, 0, nano);
	fwrite(hdr, 1, sizeof hdr, f);
	for (i = 0; i < n; i++) {
		len = frame(buf, &p[i]);
		pcapfile_record(rec, p[i].ts, (uint32_t)len, (uint32_t)len, 0, nano);
		fwrite(rec, 1, sizeof rec, f);
		fwrite(buf, 1, len, f);
	}
	ck_assert_int_eq(fclose(f), 0);
	if (cut > 0) {
		struct stat sb;

		ck_assert_int_eq(stat(path, &sb), 0);
		ck_assert_int_eq(truncate(path, sb.st_size - (off_t)cut), 0);
	}
}

struct file {
	const char *name;
	uint64_t first;
};

/* Merge the files (surveyed, then added in order) into out; the figures in *st. */
static void
run_merge(const struct file *fs, size_t n, size_t max_open, const char *filter, const char *out,
    struct merge_stats *st)
{
	struct merge *m = merge_new(dirfd_, dir, max_open);
	char *cause = NULL, path[512];
	FILE *f;
	size_t i;

	snprintf(path, sizeof path, "%s/%s", dir, out);
	ck_assert_ptr_nonnull(f = fopen(path, "wb"));
	for (i = 0; i < n; i++)
		merge_survey(m, fs[i].name);
	ck_assert_msg(merge_start(m, f, out, filter, &cause) == 0, "start: %s", cause);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(merge_add(m, fs[i].name, fs[i].first, &cause), 0);
	ck_assert_int_eq(merge_finish(m, st, &cause), 0);
	merge_free(m);
	fclose(f);
}

/* The output's packets: times and tags, read back with libpcap; their number. */
static size_t
read_back(const char *out, uint64_t *ts, uint8_t *tags, size_t max, int *nano)
{
	char path[512], errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *p;
	size_t n = 0;

	snprintf(path, sizeof path, "%s/%s", dir, out);
	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	ck_assert_msg(p != NULL, "%s", errbuf);
	if (nano != NULL)
		*nano = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;
	while (pcap_next_ex(p, &h, &d) == 1 && n < max) {
		ts[n] = (uint64_t)h->ts.tv_sec * SEC + (uint64_t)h->ts.tv_usec;
		tags[n++] = d[h->caplen - 1];
	}
	pcap_close(p);
	return n;
}

/* Three flows interleaved, with ties between them and within one. */
static const struct pkt A[] = {{10 * SEC, 0xa1, 1}, {12 * SEC, 0xa2, 1}, {14 * SEC, 0xa3, 1},
    {14 * SEC, 0xa4, 1}, {20 * SEC, 0xa5, 1}};
static const struct pkt B[] = {
    {11 * SEC, 0xb1, 1}, {12 * SEC, 0xb2, 0}, {13 * SEC, 0xb3, 1}, {14 * SEC, 0xb4, 0}};
static const struct pkt C[] = {
    {12 * SEC, 0xc1, 1}, {14 * SEC, 0xc2, 1}, {15 * SEC, 0xc3, 0}, {30 * SEC, 0xc4, 1}};
static const struct file FILES[] = {
    {"a.pcap", 10 * SEC}, {"b.pcap", 11 * SEC}, {"c.pcap", 12 * SEC}};
/* Time order; at equal times the flow that came first (a, b, c), then the file's order. */
static const uint8_t ORDER[] = {
    0xa1, 0xb1, 0xa2, 0xb2, 0xc1, 0xb3, 0xa3, 0xa4, 0xb4, 0xc2, 0xc3, 0xa5, 0xc4};
#define NORDER (sizeof ORDER)

static void
write_abc(size_t cut_c)
{
	write_file("a.pcap", A, 5, 1, 0, 0);
	write_file("b.pcap", B, 4, 1, 0, 0);
	write_file("c.pcap", C, 4, 1, 0, cut_c);
}

static void
check_order(const char *out, size_t n_expected, size_t skip_last)
{
	uint64_t ts[64];
	uint8_t tags[64];
	size_t n, i, j = 0;

	n = read_back(out, ts, tags, 64, NULL);
	ck_assert_uint_eq(n, n_expected);
	for (i = 0; i < NORDER && j < n; i++) {
		if (skip_last && ORDER[i] == 0xc4)
			continue;
		ck_assert_msg(
		    tags[j] == ORDER[i], "packet %zu: %02x, not %02x", j, tags[j], ORDER[i]);
		if (j > 0)
			ck_assert_uint_ge(ts[j], ts[j - 1]);
		j++;
	}
}

START_TEST(test_interleaved)
{
	struct merge_stats st;

	write_abc(0);
	run_merge(FILES, 3, 64, NULL, "out.pcap", &st);
	ck_assert_uint_eq(st.flows, 3);
	ck_assert_uint_eq(st.packets, NORDER);
	ck_assert_uint_eq(st.skipped + st.cut, 0);
	check_order("out.pcap", NORDER, 0);
}
END_TEST

/* One descriptor for three overlapping files: closed and reopened where they stood. */
START_TEST(test_bounded_open)
{
	struct merge_stats st;

	write_abc(0);
	run_merge(FILES, 3, 1, NULL, "out.pcap", &st);
	ck_assert_uint_eq(st.packets, NORDER);
	check_order("out.pcap", NORDER, 0);
}
END_TEST

/*
 * The same where records fill the snapshot length (TCP frames of 58
 * bytes, a snapshot of 58): libpcap could have cut them, so a file closed
 * meanwhile finds its place again by counting records, not by offset.
 */
START_TEST(test_bounded_open_count)
{
	struct merge_stats st;

	snap = 58;
	write_abc(0);
	run_merge(FILES, 3, 1, NULL, "out.pcap", &st);
	ck_assert_uint_eq(st.packets, NORDER);
	check_order("out.pcap", NORDER, 0);
}
END_TEST

/* c's last record cut in half: its first three packets, and one file counted as cut. */
START_TEST(test_cut_short)
{
	struct merge_stats st;

	write_abc(10);
	run_merge(FILES, 3, 64, NULL, "out.pcap", &st);
	ck_assert_uint_eq(st.cut, 1);
	ck_assert_uint_eq(st.packets, NORDER - 1);
	check_order("out.pcap", NORDER - 1, 1);
}
END_TEST

/* b gone (retention) before the merge: skipped and counted, a and c whole. */
START_TEST(test_gone)
{
	struct merge_stats st;
	uint64_t ts[64];
	uint8_t tags[64];
	char path[512];

	write_abc(0);
	snprintf(path, sizeof path, "%s/b.pcap", dir);
	ck_assert_int_eq(unlink(path), 0);
	run_merge(FILES, 3, 64, NULL, "out.pcap", &st);
	ck_assert_uint_eq(st.flows, 2);
	ck_assert_uint_eq(st.skipped, 1);
	ck_assert_uint_eq(read_back("out.pcap", ts, tags, 64, NULL), 9);
}
END_TEST

/* --filter "tcp": b's and c's UDP packets left out, the order kept. */
START_TEST(test_filter)
{
	struct merge_stats st;
	uint64_t ts[64];
	uint8_t tags[64];
	size_t n, i;

	write_abc(0);
	run_merge(FILES, 3, 64, "tcp", "out.pcap", &st);
	n = read_back("out.pcap", ts, tags, 64, NULL);
	ck_assert_uint_eq(n, NORDER - 3);
	ck_assert_uint_eq(st.packets, n);
	for (i = 0; i < n; i++)
		ck_assert(tags[i] != 0xb2 && tags[i] != 0xb4 && tags[i] != 0xc3);
}
END_TEST

/* A filter that does not compile: an error naming it, before any packet. */
START_TEST(test_bad_filter)
{
	struct merge *m = merge_new(dirfd_, dir, 8);
	char *cause = NULL;
	FILE *f = tmpfile();

	write_abc(0);
	merge_survey(m, "a.pcap");
	ck_assert_int_eq(merge_start(m, f, "tmp", "tcp port nonsense", &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "--filter"));
	free(cause);
	merge_free(m);
	fclose(f);
}
END_TEST

/* One nanosecond file among microsecond ones: the output is nanosecond, times kept. */
START_TEST(test_nano)
{
	static const struct pkt N[] = {{11 * SEC + 123456789, 0xd1, 1}};
	static const struct file fs[] = {{"a.pcap", 10 * SEC}, {"n.pcap", 11 * SEC + 123456789}};
	struct merge_stats st;
	uint64_t ts[64];
	uint8_t tags[64];
	int nano = 0;

	write_file("a.pcap", A, 5, 1, 0, 0);
	write_file("n.pcap", N, 1, 1, 1, 0);
	run_merge(fs, 2, 64, NULL, "out.pcap", &st);
	ck_assert_uint_eq(read_back("out.pcap", ts, tags, 64, &nano), 6);
	ck_assert_uint_eq(ts[1], 11 * SEC + 123456789);
	ck_assert_uint_eq(tags[1], 0xd1);
}
END_TEST

/* The output's blocks: interface link types (in *lts) and the EPBs' interfaces (in *ifs). */
static void
read_blocks(const char *out, uint16_t *lts, size_t *nlt, uint32_t *ifs, size_t *nif)
{
	char path[512];
	uint8_t buf[65536];
	uint32_t type, len;
	size_t n, off = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, out);
	ck_assert_ptr_nonnull(f = fopen(path, "rb"));
	n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	*nlt = *nif = 0;
	while (off + 12 <= n) {
		memcpy(&type, buf + off, 4);
		memcpy(&len, buf + off + 4, 4);
		ck_assert_uint_ge(len, 12);
		if (type == 1)
			memcpy(&lts[(*nlt)++], buf + off + 8, 2);
		else if (type == 6)
			memcpy(&ifs[(*nif)++], buf + off + 8, 4);
		off += len;
	}
	ck_assert_uint_eq(off, n);
}

/* a in Ethernet, b in raw IP (its frames mislabelled, no matter): a pcapng, an interface each. */
START_TEST(test_two_linktypes)
{
	struct merge_stats st;
	uint16_t lts[8];
	uint32_t ifs[64];
	size_t nlt, nif, i;

	write_file("a.pcap", A, 5, 1, 0, 0);
	write_file("b.pcap", B, 4, 101, 0, 0);
	run_merge(FILES, 2, 64, NULL, "out.pcapng", &st);
	ck_assert_uint_eq(st.packets, 9);
	read_blocks("out.pcapng", lts, &nlt, ifs, &nif);
	ck_assert_uint_eq(nlt, 2);
	ck_assert_uint_eq(lts[0], 1);
	ck_assert_uint_eq(lts[1], 101);
	ck_assert_uint_eq(nif, 9);
	/* a1 b1 a2 b2 b3 a3 a4 b4 a5 */
	static const uint32_t want[] = {0, 1, 0, 1, 1, 0, 0, 1, 0};
	for (i = 0; i < nif; i++)
		ck_assert_uint_eq(ifs[i], want[i]);
}
END_TEST

static Suite *
merge_suite(void)
{
	Suite *s = suite_create("merge");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_interleaved);
	tcase_add_test(tc, test_bounded_open);
	tcase_add_test(tc, test_bounded_open_count);
	tcase_add_test(tc, test_cut_short);
	tcase_add_test(tc, test_gone);
	tcase_add_test(tc, test_filter);
	tcase_add_test(tc, test_bad_filter);
	tcase_add_test(tc, test_nano);
	tcase_add_test(tc, test_two_linktypes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(merge_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
