/*
 * check_libtf.c: libtraceflow through its public face alone: traceflow.h,
 * linked against lib/libtraceflow.so as a program outside would link the
 * installed library (no engine header, not the internal static library).
 * Labels and the index of hand-made connections, under traceflow's rule
 * and pcapkit's; the files named by the index in the output folder; a
 * generated capture through tf_trace_file; two tracers at once; and every
 * bad argument answered with an error code and a message.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <traceflow.h>

#include "frames.h"

#define BASE_NS 1700000000000000000ULL
#define NS(s)   ((uint64_t)(s)*1000000000ULL)

static char tmp[256];

static void
setup(void)
{
	snprintf(
	    tmp, sizeof tmp, "%s/check_libtf.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void
teardown(void)
{
	char cmd[512];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

static const char *
path(const char *rel)
{
	static char buf[2][1024];
	static int i;

	i ^= 1;
	snprintf(buf[i], sizeof buf[i], "%s/%s", tmp, rel);
	return buf[i];
}

static tf_tracer *
tracer(const char *dir, const char *name, const char *value)
{
	struct tf_option o = {name, value};
	char err[256];
	tf_tracer *t = NULL;
	int rc = tf_new(&t, path(dir), &o, name != NULL ? 1 : 0, err, sizeof err);

	ck_assert_msg(rc == TF_OK, "tf_new %s: %d %s", dir, rc, err);
	return t;
}

/* One Ethernet/IPv4/TCP frame from 10.0.0.1:sport to 10.0.0.2:80, or back. */
static void
tcp_frame(struct fb *f, int back, uint16_t sport, uint8_t flags, size_t paylen)
{
	struct fb_ip4 ip;
	struct fb_tcp tcp;

	memset(&ip, 0, sizeof ip);
	memset(&tcp, 0, sizeof tcp);
	ip.src = back ? 0x0a000002 : 0x0a000001;
	ip.dst = back ? 0x0a000001 : 0x0a000002;
	tcp.sport = back ? 80 : sport;
	tcp.dport = back ? sport : 80;
	tcp.seq = 1000;
	tcp.ack = 2000;
	tcp.flags = flags;
	tcp.paylen = paylen;
	fb_init(f);
	fb_eth(f, 0x0800);
	fb_ipv4(f, &ip);
	fb_tcp(f, &tcp);
	fb_finish(f);
}

#define SYN 0x02
#define FIN 0x01
#define ACK 0x10

/*
 * A whole connection, 7 frames a millisecond apart from ts: SYN, SYN-ACK,
 * ACK, data, FIN, FIN back, last ACK. Each frame's label into labels[i].
 */
static void
connection(tf_tracer *t, uint16_t sport, uint64_t ts, char labels[7][TF_LABEL_MAX])
{
	static const struct {
		int back;
		uint8_t flags;
		size_t pay;
	} step[7] = {{0, SYN, 0}, {1, SYN | ACK, 0}, {0, ACK, 0}, {0, ACK, 100}, {0, FIN | ACK, 0},
	    {1, FIN | ACK, 0}, {0, ACK, 0}};
	struct fb f;
	int i, rc;

	for (i = 0; i < 7; i++) {
		tcp_frame(&f, step[i].back, sport, step[i].flags, step[i].pay);
		rc = tf_trace(
		    t, 1, ts + (uint64_t)i * 1000000, f.buf, f.len, f.len, labels[i], TF_LABEL_MAX);
		ck_assert_msg(rc == TF_OK, "tf_trace: %d %s", rc, tf_error(t));
	}
}

/* The record labelled label in the index, its frames as "1,2,3" in frames. */
static const struct tf_record *
find(tf_index *ix, const char *label, char *frames, size_t len)
{
	const struct tf_record *r;
	size_t i, n;

	while ((r = tf_index_next(ix)) != NULL) {
		if (strcmp(r->label, label) != 0)
			continue;
		frames[0] = '\0';
		for (i = n = 0; i < r->nindex && n < len; i++)
			n += (size_t)snprintf(frames + n, len - n, "%s%llu", i ? "," : "",
			    (unsigned long long)r->index[i]);
		return r;
	}
	return NULL;
}

static void
assert_file(const char *dir, const char *fpout)
{
	struct stat sb;
	char rel[600];

	ck_assert_ptr_nonnull(fpout);
	snprintf(rel, sizeof rel, "%s/%s", dir, fpout);
	ck_assert_msg(lstat(path(rel), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 24,
	    "%s: no capture file", rel);
}

START_TEST(test_labels_index)
{
	char l1[7][TF_LABEL_MAX], l2[7][TF_LABEL_MAX], label[TF_LABEL_MAX], frames[256];
	const struct tf_record *r;
	struct fb f;
	tf_index *ix;
	tf_tracer *t = tracer("out", NULL, NULL);
	int i;

	connection(t, 40000, BASE_NS, l1);
	/* Not TCP: numbered (frame 8), traced nowhere. */
	fb_init(&f);
	fb_eth(&f, 0x0806);
	fb_arp(&f);
	ck_assert_int_eq(
	    tf_trace(t, 1, BASE_NS + 8000000, f.buf, f.len, f.len, label, sizeof label), TF_OK);
	ck_assert_str_eq(label, "");
	connection(t, 40001, BASE_NS + 9000000, l2);
	ck_assert_uint_eq(tf_frames(t), 15);
	/* traceflow's rule: both directions one flow, the opener's label. */
	for (i = 0; i < 7; i++) {
		ck_assert_str_eq(l1[i], "10.0.0.1_40000-10.0.0.2_80-1700000000.000000");
		ck_assert_str_eq(l2[i], "10.0.0.1_40001-10.0.0.2_80-1700000000.009000");
	}
	ck_assert_int_eq(tf_submit(t, &ix), TF_OK);
	ck_assert_uint_eq(tf_index_count(ix), 2);
	r = find(ix, l1[0], frames, sizeof frames);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(frames, "1,2,3,4,5,6,7");
	/* In the partition of the hour (UTC) the flow ended in. */
	ck_assert_str_eq(
	    r->fpout, "2023-11-14T22/10.0.0.1_40000-10.0.0.2_80-1700000000.000000.pcap");
	assert_file("out", r->fpout);
	ck_assert_ptr_nonnull(strstr(r->json, "\"label\":\"10.0.0.1_40000-10.0.0.2_80-"));
	ck_assert_ptr_nonnull(strstr(r->json, "\"packets\":7"));
	ck_assert_ptr_nonnull(strstr(r->json, "\"index\":[1,2,3,4,5,6,7]"));
	r = find(ix, l2[0], frames, sizeof frames);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(frames, "9,10,11,12,13,14,15");
	assert_file("out", r->fpout);
	ck_assert_ptr_null(tf_index_next(ix));
	tf_index_free(ix);
	/* The index on disk too. */
	ck_assert_int_eq(access(path("out/index.jsonl"), F_OK), 0);
	tf_free(t);
}
END_TEST

START_TEST(test_compat_pcapkit)
{
	char l[7][TF_LABEL_MAX], frames[256];
	const struct tf_record *r;
	tf_index *ix;
	tf_tracer *t = tracer("out", "compat", "pcapkit");

	connection(t, 40000, BASE_NS, l);
	/* pcapkit's labels: a flow per direction, times as Python writes floats. */
	ck_assert_str_eq(l[0], "10.0.0.1_40000-10.0.0.2_80-1700000000.0");
	ck_assert_str_eq(l[1], "10.0.0.2_80-10.0.0.1_40000-1700000000.001");
	ck_assert_str_eq(l[4], l[0]);
	/* The FIN ended the client's flow: its last ACK starts another. */
	ck_assert_str_eq(l[6], "10.0.0.1_40000-10.0.0.2_80-1700000000.006");
	ck_assert_int_eq(tf_submit(t, &ix), TF_OK);
	ck_assert_uint_eq(tf_index_count(ix), 3);
	ck_assert_ptr_nonnull(r = find(ix, l[0], frames, sizeof frames));
	ck_assert_str_eq(frames, "1,3,4,5");
	ck_assert_str_eq(r->fpout, "10.0.0.1_40000-10.0.0.2_80-1700000000.0.pcap");
	assert_file("out", r->fpout);
	tf_index_free(ix);
	tf_free(t);
}
END_TEST

START_TEST(test_two_tracers)
{
	char la[7][TF_LABEL_MAX], lb[7][TF_LABEL_MAX], frames[256];
	tf_index *ia, *ib;
	tf_tracer *a = tracer("a", NULL, NULL), *b = tracer("b", "format", "json");
	int i;

	/* Interleaved: neither sees the other's frames, numbers or flows. */
	for (i = 0; i < 3; i++) {
		connection(a, (uint16_t)(50000 + i), BASE_NS + (uint64_t)i * NS(1), la);
		connection(b, (uint16_t)(60000 + i), BASE_NS + (uint64_t)i * NS(1), lb);
	}
	ck_assert_int_eq(tf_submit(a, &ia), TF_OK);
	ck_assert_int_eq(tf_submit(b, &ib), TF_OK);
	ck_assert_uint_eq(tf_index_count(ia), 3);
	ck_assert_uint_eq(tf_index_count(ib), 3);
	ck_assert_ptr_nonnull(
	    find(ia, "10.0.0.1_50002-10.0.0.2_80-1700000002.000000", frames, 256));
	ck_assert_str_eq(frames, "15,16,17,18,19,20,21");
	ck_assert_ptr_nonnull(
	    find(ib, "10.0.0.1_60000-10.0.0.2_80-1700000000.000000", frames, 256));
	ck_assert_str_eq(frames, "1,2,3,4,5,6,7");
	ck_assert_int_eq(
	    access(path("b/2023-11-14T22/10.0.0.1_60000-10.0.0.2_80-1700000000.000000.json"), F_OK),
	    0);
	ck_assert_int_ne(
	    access(path("a/2023-11-14T22/10.0.0.1_60000-10.0.0.2_80-1700000000.000000.pcap"), F_OK),
	    0);
	tf_index_free(ia);
	tf_index_free(ib);
	tf_free(a);
	tf_free(b);
}
END_TEST

START_TEST(test_trace_file)
{
	const struct tf_record *r;
	char cmd[1024];
	const char *top = getenv("top_builddir") ? getenv("top_builddir") : ".";
	uint64_t frames = 0;
	tf_index *ix;
	tf_tracer *t = tracer("out", "compat", "pcapkit");

	snprintf(cmd, sizeof cmd, "'%s/tests/gencap' -c 10 -C 3 -p 8 -S 7 -o '%s' 2>/dev/null", top,
	    path("in.pcap"));
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(tf_trace_file(t, path("in.pcap")), TF_OK);
	ck_assert_uint_eq(tf_frames(t), 140); /* gencap: 14 frames a connection */
	ck_assert_int_eq(tf_submit(t, &ix), TF_OK);
	/* pcapkit's rule on gencap's connections: two directions and the last ACK. */
	ck_assert_uint_eq(tf_index_count(ix), 30);
	while ((r = tf_index_next(ix)) != NULL) {
		frames += r->nindex;
		assert_file("out", r->fpout);
		ck_assert_uint_eq(r->index[0] <= r->index[r->nindex - 1], 1);
	}
	ck_assert_uint_eq(frames, 140);
	tf_index_free(ix);
	tf_free(t);
}
END_TEST

START_TEST(test_errors)
{
	struct tf_option bad[] = {{"no_such_setting", "1"}}, badval[] = {{"format", "mp3"}},
	                 nano[] = {{"nanosecond", "maybe"}}, daemon[] = {{"spool_dir", "/x"}};
	char err[256], label[TF_LABEL_MAX];
	const char *ext = "x";
	uint8_t byte = 0;
	tf_index *ix;
	tf_tracer *t = NULL, *t2 = NULL;
	int fd;

	ck_assert_int_eq(tf_new(NULL, path("o"), NULL, 0, err, sizeof err), TF_EINVAL);
	ck_assert_int_eq(tf_new(&t, NULL, NULL, 0, err, sizeof err), TF_EINVAL);
	ck_assert_int_eq(tf_new(&t, path("o"), bad, 1, err, sizeof err), TF_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "no_such_setting"));
	ck_assert_ptr_null(t);
	ck_assert_int_eq(tf_new(&t, path("o"), daemon, 1, err, sizeof err), TF_EINVAL);
	ck_assert_int_eq(tf_new(&t, path("o"), badval, 1, err, sizeof err), TF_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "mp3"));
	ck_assert_int_eq(tf_new(&t, path("o"), nano, 1, err, sizeof err), TF_EINVAL);
	/* The output a file, a link, or a folder another tracer holds. */
	ck_assert_int_ne(fd = open(path("file"), O_WRONLY | O_CREAT | O_EXCL, 0600), -1);
	close(fd);
	ck_assert_int_eq(tf_new(&t, path("file"), NULL, 0, err, sizeof err), TF_EEXIST);
	ck_assert_int_eq(symlink(path("elsewhere"), path("link")), 0);
	ck_assert_int_lt(tf_new(&t, path("link"), NULL, 0, err, sizeof err), 0);
	ck_assert_int_eq(access(path("elsewhere"), F_OK), -1);
	t = tracer("o", NULL, NULL);
	ck_assert_int_eq(tf_new(&t2, path("o"), NULL, 0, err, sizeof err), TF_EIO);
	ck_assert_ptr_nonnull(strstr(err, "in use"));
	/* Frames: no data, more captured than on the wire, no room for the label. */
	ck_assert_int_eq(tf_dump(NULL, 1, BASE_NS, &byte, 1, 1), TF_EINVAL);
	ck_assert_int_eq(tf_dump(t, 1, BASE_NS, NULL, 10, 10), TF_EINVAL);
	ck_assert_int_eq(tf_dump(t, 1, BASE_NS, &byte, 2, 1), TF_EINVAL);
	ck_assert_ptr_nonnull(strstr(tf_error(t), "bad frame"));
	ck_assert_int_eq(tf_trace(t, 1, BASE_NS, &byte, 1, 1, NULL, 0), TF_EINVAL);
	ck_assert_int_eq(tf_trace_file(t, path("missing.pcap")), TF_EIO);
	ck_assert_ptr_nonnull(strstr(tf_error(t), "missing.pcap"));
	ck_assert_int_eq(tf_trace_file(t, path("file")), TF_EIO);
	/* Submitted: no more frames, no second index. */
	ck_assert_int_eq(tf_submit(t, &ix), TF_OK);
	ck_assert_uint_eq(tf_index_count(ix), 0);
	tf_index_free(ix);
	ck_assert_int_eq(tf_submit(t, &ix), TF_ESTATE);
	ck_assert_int_eq(tf_trace(t, 1, BASE_NS, &byte, 1, 1, label, sizeof label), TF_ESTATE);
	tf_free(t);
	/* A non-empty folder needs force. */
	ck_assert_int_ne(fd = open(path("o/x"), O_WRONLY | O_CREAT | O_EXCL, 0600), -1);
	close(fd);
	ck_assert_int_eq(tf_new(&t, path("o"), NULL, 0, err, sizeof err), TF_EEXIST);
	t = tracer("o", "force", "yes");
	tf_free(t);
	/* make_fout: pcapkit's warnings and FileExists. */
	ck_assert_int_eq(tf_make_fout(path("m/n"), "json", &ext, err, sizeof err), TF_OK);
	ck_assert_str_eq(ext, ".json");
	ck_assert_int_eq(tf_make_fout(path("m"), "mp3", &ext, err, sizeof err), TF_WFORMAT);
	ck_assert_ptr_null(ext);
	ck_assert_int_eq(tf_make_fout(path("file"), "pcap", &ext, err, sizeof err), TF_EEXIST);
	ck_assert_ptr_nonnull(strstr(err, "File exists"));
	ck_assert_int_eq(
	    tf_make_fout(path("file"), "mp3", &ext, err, sizeof err), TF_WFORMAT | TF_WFILE);
	ck_assert_int_eq(tf_make_fout(path("file/sub"), "pcap", &ext, err, sizeof err), TF_EEXIST);
	tf_free(NULL);
	tf_index_free(NULL);
	ck_assert_ptr_null(tf_index_next(NULL));
	ck_assert_str_eq(tf_version(), PACKAGE_VERSION);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("libtf");
	TCase *tc = tcase_create("api");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_labels_index);
	tcase_add_test(tc, test_compat_pcapkit);
	tcase_add_test(tc, test_two_tracers);
	tcase_add_test(tc, test_trace_file);
	tcase_add_test(tc, test_errors);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
