/*
 * check_writer.c: unit tests for the per-flow writer (src/writer.c), the
 * pcap record format (src/pcapfile.c) and the index (src/index.c).
 *
 * Every test works in a fresh temporary output folder. Frames are real
 * Ethernet + IPv4 + TCP frames built here and decoded with decode_frame(),
 * so what reaches the writer is what the engine would hand it. Output files
 * are read back with libpcap (pcap) or jansson (json, index.jsonl) and
 * compared byte for byte with what was sent.
 */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "chunk.h"
#include "decode.h"
#include "config.h"
#include "engine.h"
#include "flow.h"
#include "index.h"
#include "label.h"
#include "log.h"
#include "pcapfile.h"
#include "frames.h"
#include "names.h"
#include "reason.h"
#include "writer.h"

#define NS             1000000000ULL
#define MS             1000000ULL
#define BASE_TS        (1700000000ULL * NS + 100000ULL) /* 2023-11-14 22:13:20.000100 UTC */
#define LINKTYPE       1                                /* Ethernet */
#define SNAPLEN        65535
#define MAX_SENT       8192
#define MAX_DONE       256
#define FRAME_MAX      1600
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define A              IP(10, 0, 0, 1)
#define B              IP(10, 0, 0, 2)
#define LABEL_US       "10.0.0.1_1234-10.0.0.2_80-1700000000.000100"
#define PART_US        "2023-11-14T22" /* its partition (UTC hour of the end): names.h */
#define LABEL_NS       "10.0.0.1_1234-10.0.0.2_80-1700000000.000100000"

/* --- frames ------------------------------------------------------------- */

/* An Ethernet (optionally 802.1Q) + IPv4 + TCP frame with plen payload bytes. */
static size_t
frame_build(uint8_t *b, uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp, uint8_t flags,
    uint32_t seq, uint32_t ack, uint32_t plen, uint16_t vlan)
{
	static struct fb f;
	struct fb_ip4 ip = {.src = src, .dst = dst, .id = (uint16_t)seq};
	struct fb_tcp t = {.sport = sp,
	    .dport = dp,
	    .seq = seq,
	    .ack = ack,
	    .flags = flags,
	    .paylen = plen,
	    .fill = (uint8_t)(seq * 7)};

	fb_init(&f);
	if (vlan != 0) {
		fb_eth(&f, 0x8100);
		fb_vlan(&f, vlan, 0x0800);
	} else
		fb_eth(&f, 0x0800);
	fb_ipv4(&f, &ip);
	fb_tcp(&f, &t);
	fb_finish(&f);
	memcpy(b, f.buf, f.len);
	return f.len;
}

static double
dabs(double x)
{
	return x < 0 ? -x : x;
}

/* --- temporary folders ---------------------------------------------------- */

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void
rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * Every test's folder lives under one base folder that main() makes and
 * removes, so that a failed test (its process exits at the failed
 * assertion) leaves nothing behind.
 */
static char tmp_base[PATH_MAX];

/*
 * A descriptor of a test folder, as the daemon hands the writer one (the
 * spool opened once); -1 for a folder that does not exist. The tests'
 * folders live as long as the process: the descriptors are not closed.
 */
static int
dir_fd(const char *path)
{
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void
make_tmpdir(char *dir, size_t len)
{
	char tmpl[PATH_MAX + 16], *real;

	snprintf(tmpl, sizeof tmpl, "%s/t.XXXXXX", tmp_base);
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	real = realpath(tmpl, NULL);
	ck_assert_ptr_nonnull(real);
	snprintf(dir, len, "%s", real);
	free(real);
}

/* Entries in a folder, not counting ., .. and index.jsonl; -1 if it does not exist. */
static int
count_entries(const char *dir)
{
	DIR *d;
	struct dirent *de;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	/* index.jsonl is not counted: the filer, its owner, makes it at once. */
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    strcmp(de->d_name, "index.jsonl") != 0)
			n++;
	closedir(d);
	return n;
}

/* Descriptors of this process open on files under prefix. */
static int
count_fds_under(const char *prefix)
{
	char link[300], target[PATH_MAX];
	struct dirent *de;
	DIR *d;
	ssize_t n;
	int count = 0;

	d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof link, "/proc/self/fd/%s", de->d_name);
		if ((n = readlink(link, target, sizeof target - 1)) == -1)
			continue;
		target[n] = '\0';
		if (strncmp(target, prefix, strlen(prefix)) == 0)
			count++;
	}
	closedir(d);
	return count;
}

static long long
file_size(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return -1;
	return (long long)st.st_size;
}

/* The whole file, NUL-terminated; *len its length. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

/*
 * The engine's settings at the config table's defaults, as the daemon and
 * offline mode make them; the strings they point to stay in a static.
 */
static void
table_defaults(struct engine_config *cfg)
{
	static struct tf_config tc;

	config_free(&tc);
	config_defaults(&tc);
	config_to_engine(&tc, cfg);
}

/* --- the harness: flow table + writer, like the engine without decode ---- */

struct sent {
	int tag; /* which flow of the test */
	uint64_t frame;
	uint64_t ts;
	uint32_t caplen;
	uint32_t wirelen;
	uint8_t flags;
	uint8_t data[FRAME_MAX];
};

struct done {
	char fpout[PATH_MAX];       /* "" when the format writes no file or it was lost */
	char label[LABEL_MAX + 16]; /* as the index has it, -N suffix included */
	int reason;
	uint32_t seg_no;
	uint32_t seg_packets;
	uint64_t first_frame;
};

struct wt {
	char dir[PATH_MAX];
	char active[PATH_MAX + 16];
	struct writer_config wc;
	struct flow_config fc;
	struct filer *fl;
	struct writer *w;
	struct flow_table *t;
	struct output_stats out;
	uint64_t frame;
	struct sent sent[MAX_SENT];
	size_t nsent;
	struct done done[MAX_DONE];
	size_t ndone;
	size_t nfiled; /* of them, those the filer reported (wt_filed) */
	uint32_t cut;  /* if set, caplen is cut to this (snaplen-like) */
	int quiet;     /* no ck_assert while a file size limit is on (Check writes a file) */
};

/* The filer reports a finished flow: where its file went, under which label. */
static void
wt_filed(const struct filer_done *fd, void *arg)
{
	struct wt *c = arg;
	struct done *d;

	ck_assert_uint_lt(c->nfiled, c->ndone);
	d = &c->done[c->nfiled++];
	snprintf(d->fpout, sizeof d->fpout, "%s", fd->rec->fpout);
	snprintf(d->label, sizeof d->label, "%s", fd->rec->label);
}

/* A flow ends: as the engine does it, then wait until it is filed. */
static void
wt_end(struct flow *f, void *arg)
{
	struct wt *c = arg;
	struct flow_fn_iter it;
	struct index_record *rec = malloc(sizeof *rec);
	struct done *d;

	ck_assert_ptr_nonnull(rec);
	ck_assert_uint_lt(c->ndone, MAX_DONE);
	d = &c->done[c->ndone++];
	memset(d, 0, sizeof *d);
	d->reason = f->reason;
	d->seg_no = f->seg_no;
	d->seg_packets = f->seg_packets;
	flow_fn_begin(f, &it);
	flow_fn_next(&it, &d->first_frame);
	index_record_make(rec, f, NULL, c->wc.nanosecond);
	writer_finish_entry(c->w, f, rec, f->reason != FLOW_R_ROTATE);
	filer_sync(c->fl);
	filer_poll(c->fl);
	ck_assert_uint_eq(c->nfiled, c->ndone);
}

/* The output side's counters, as the engine adds them up. */
static const struct output_stats *
wt_stats(struct wt *c)
{
	filer_stats(c->fl, &c->out);
	c->out.buffered = writer_buffered(c->w) + filer_inflight(c->fl);
	return &c->out;
}

static void
wt_defaults(struct writer_config *wc, struct flow_config *fc)
{
	memset(wc, 0, sizeof *wc);
	wc->format = FMT_PCAP;
	wc->layout = "";
	wc->max_open_files = 16;
	wc->flow_buffer = 64 * 1024;
	wc->buffer_total = 1024 * 1024;
	wc->flush_ns = 0;
	memset(fc, 0, sizeof *fc);
	fc->idle_ns = 300 * NS;
	fc->linger_ns = 2 * NS;
	fc->max_flows = 100000;
	fc->seed = 42;
}

/* Make the folder; the caller then adjusts c->wc / c->fc and calls wt_start. */
static struct wt *
wt_new(void)
{
	struct wt *c = calloc(1, sizeof *c);

	ck_assert_ptr_nonnull(c);
	make_tmpdir(c->dir, sizeof c->dir);
	snprintf(c->active, sizeof c->active, "%s/.active", c->dir);
	wt_defaults(&c->wc, &c->fc);
	return c;
}

static void
wt_start(struct wt *c)
{
	struct filer_config fc;
	char *cause = NULL;

	writer_filer_config(&c->wc, &fc);
	c->fl = filer_new(dir_fd(c->dir), c->dir, &fc, c->wc.threaded, &cause);
	ck_assert_msg(c->fl != NULL, "filer_new: %s", cause ? cause : "?");
	filer_set_done(c->fl, wt_filed, c);
	c->w = writer_new(c->fl, &c->wc);
	c->t = flowtab_new(&c->fc, wt_end, c);
}

static void
wt_free(struct wt *c)
{
	if (c->t != NULL) {
		flowtab_end_all(c->t, FLOW_R_EOF);
		flowtab_free(c->t);
	}
	writer_free(c->w);
	filer_free(c->fl);
	rm_tree(c->dir);
	free(c);
}

/* Send one frame of flow tag (client port 1234 + tag ... see callers) at ts. */
static struct sent *
wt_send(struct wt *c, int tag, uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp, uint8_t flags,
    uint32_t seq, uint32_t ack, uint32_t plen, uint64_t ts)
{
	struct sent *s;
	struct packet p;
	struct flow *f;
	size_t len;

	if (!c->quiet)
		ck_assert_uint_lt(c->nsent, MAX_SENT);
	s = &c->sent[c->nsent++];
	len = frame_build(s->data, src, sp, dst, dp, flags, seq, ack, plen, 0);
	if (decode_frame(DLT_T_EN10MB, s->data, (uint32_t)len, &p) != DECODE_OK && !c->quiet)
		ck_abort_msg("frame does not decode");
	s->tag = tag;
	s->frame = p.frame = ++c->frame;
	s->ts = p.ts = ts;
	s->wirelen = p.wirelen = (uint32_t)len;
	s->caplen = p.caplen = c->cut && c->cut < len ? c->cut : (uint32_t)len;
	s->flags = flags;
	f = flowtab_packet(c->t, &p, 0, ts);
	writer_packet(c->w, f, &p, s->data, LINKTYPE, SNAPLEN, NULL, ts);
	flowtab_release(c->t, f);
	return s;
}

/* Flow tag k: 10.0.0.1:(1234 + k) -> 10.0.0.2:80, client to server (dir 0) or back. */
static struct sent *
wt_flow(struct wt *c, int k, int back, uint8_t flags, uint32_t plen, uint64_t ts)
{
	uint16_t cp = (uint16_t)(1234 + k);

	if (back)
		return wt_send(c, k, B, 80, A, cp, flags, 5000, 1001, plen, ts);
	return wt_send(c, k, A, cp, B, 80, flags, 1000, 5000, plen, ts);
}

static const struct done *
wt_done_for(const struct wt *c, uint64_t first_frame)
{
	size_t i;

	for (i = 0; i < c->ndone; i++)
		if (c->done[i].first_frame == first_frame)
			return &c->done[i];
	ck_abort_msg("no finished flow starts at frame %llu", (unsigned long long)first_frame);
	return NULL;
}

static void
path_of(const struct wt *c, const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", c->dir, rel);
}

/*
 * Read a pcap file back and compare it with the sent frames that have
 * tag (and frame number in [from, to]): magic as it stands on disk, link
 * type, snaplen, every record's bytes, lengths and timestamp.
 */
static void
verify_file(const char *path, int ng, int big, int nano, uint32_t snaplen, const struct wt *c,
    int tag, uint64_t from, uint64_t to)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	uint8_t magic[4], want[4];
	/* pcapng: the section header's magic reads the same in both orders. */
	uint32_t m = ng ? 0x0a0d0d0a : nano ? PCAP_MAGIC_NS : PCAP_MAGIC_US;
	size_t i = 0, k;
	pcap_t *pc;
	FILE *fp;
	int rc;

	fp = fopen(path, "rb");
	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	ck_assert_uint_eq(fread(magic, 1, 4, fp), 4);
	fclose(fp);
	for (k = 0; k < 4; k++)
		want[k] = (uint8_t)(big ? m >> (24 - 8 * k) : m >> (8 * k));
	ck_assert_mem_eq(magic, want, 4);

	pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
	ck_assert_msg(pc != NULL, "%s: %s", path, err);
	ck_assert_int_eq(pcap_datalink(pc), LINKTYPE);
	ck_assert_int_eq(pcap_snapshot(pc), (int)snaplen);
	ck_assert_int_eq(pcap_major_version(pc), ng ? 1 : 2);
	ck_assert_int_eq(pcap_minor_version(pc), ng ? 0 : 4);
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		const struct sent *s = NULL;
		uint64_t ts, got;

		for (; i < c->nsent; i++) {
			if (c->sent[i].tag == tag && c->sent[i].frame >= from &&
			    c->sent[i].frame <= to) {
				s = &c->sent[i++];
				break;
			}
		}
		ck_assert_msg(s != NULL, "%s: more records than sent", path);
		ck_assert_uint_eq(h->caplen, s->caplen);
		ck_assert_uint_eq(h->len, s->wirelen);
		ck_assert_mem_eq(data, s->data, s->caplen);
		ts = nano ? s->ts : s->ts / 1000 * 1000;
		got = (uint64_t)h->ts.tv_sec * NS + (uint64_t)h->ts.tv_usec;
		ck_assert_uint_eq(got, ts);
	}
	ck_assert_int_eq(rc, PCAP_ERROR_BREAK); /* clean end, not a truncated record */
	pcap_close(pc);
	for (; i < c->nsent; i++)
		ck_assert_msg(
		    c->sent[i].tag != tag || c->sent[i].frame < from || c->sent[i].frame > to,
		    "%s: frame %llu missing", path, (unsigned long long)c->sent[i].frame);
}

static void
verify_pcap(const char *path, int big, int nano, uint32_t snaplen, const struct wt *c, int tag,
    uint64_t from, uint64_t to)
{
	verify_file(path, 0, big, nano, snaplen, c, tag, from, to);
}

/* Send a short connection on flow tag k starting at ts: SYN, SYN/ACK, data, data. */
static uint64_t
wt_conn(struct wt *c, int k, uint64_t ts)
{
	uint64_t first = c->frame + 1;

	wt_flow(c, k, 0, TCPF_SYN, 0, ts);
	wt_flow(c, k, 1, TCPF_SYN | TCPF_ACK, 0, ts + 1 * MS + 1);
	wt_flow(c, k, 0, TCPF_ACK | TCPF_PSH, 300, ts + 2 * MS + 22);
	wt_flow(c, k, 1, TCPF_ACK | TCPF_PSH, 1200, ts + 3 * MS + 333);
	return first;
}

/* --- pcap output ------------------------------------------------------------ */

/* Loop index: bit 0 big-endian, bit 1 nanosecond. */
START_TEST(test_pcap_roundtrip)
{
	struct wt *c = wt_new();
	int big = _i & 1, nano = (_i >> 1) & 1;
	char path[PATH_MAX * 2], want[PATH_MAX];
	const struct done *d;

	c->wc.big = big;
	c->wc.nanosecond = nano;
	wt_start(c);
	wt_conn(c, 0, BASE_TS);
	wt_flow(c, 0, 0, TCPF_ACK, 0, BASE_TS + 5 * NS + 999); /* sub-µs part dropped in µs */
	wt_flow(c, 0, 0, TCPF_FIN | TCPF_ACK, 0, BASE_TS + 6 * NS + 123456789);
	ck_assert_uint_eq(c->ndone, 0);
	flowtab_end_all(c->t, FLOW_R_EOF);
	ck_assert_uint_eq(c->ndone, 1);
	d = &c->done[0];
	snprintf(want, sizeof want, "%s.pcap", nano ? LABEL_NS : LABEL_US);
	ck_assert_str_eq(d->fpout, want);
	path_of(c, d->fpout, path, sizeof path);
	verify_pcap(path, big, nano, SNAPLEN, c, 0, 0, UINT64_MAX);
	ck_assert_int_eq(file_size(path), 24 + 6 * 16 + 6 * 54 + 300 + 1200);
	ck_assert_uint_eq(wt_stats(c)->files, 1);
	ck_assert_uint_eq(wt_stats(c)->buffered, 0);
	ck_assert_uint_eq(wt_stats(c)->open_files, 0);
	ck_assert_uint_eq(wt_stats(c)->bytes, (uint64_t)file_size(path));
	ck_assert_int_eq(count_entries(c->active), 0);
	wt_free(c);
}
END_TEST

/*
 * pcapng output: one section whose comment is the label, one interface
 * with the source's link type and snaplen, records as libpcap reads them.
 */
START_TEST(test_pcapng_roundtrip)
{
	struct wt *c = wt_new();
	int big = _i & 1, nano = (_i >> 1) & 1;
	char path[PATH_MAX * 2], want[PATH_MAX], *img;
	const struct done *d;
	FILE *fp;
	long n;

	c->wc.format = FMT_PCAPNG;
	c->wc.big = big;
	c->wc.nanosecond = nano;
	wt_start(c);
	wt_conn(c, 0, BASE_TS);
	wt_flow(c, 0, 0, TCPF_FIN | TCPF_ACK, 0, BASE_TS + 6 * NS + 123456789);
	flowtab_end_all(c->t, FLOW_R_EOF);
	ck_assert_uint_eq(c->ndone, 1);
	d = &c->done[0];
	snprintf(want, sizeof want, "%s.pcapng", nano ? LABEL_NS : LABEL_US);
	ck_assert_str_eq(d->fpout, want);
	path_of(c, d->fpout, path, sizeof path);
	verify_file(path, 1, big, nano, SNAPLEN, c, 0, 0, UINT64_MAX);
	/* The label is the section's comment. */
	fp = fopen(path, "rb");
	ck_assert_ptr_nonnull(fp);
	img = malloc(1 << 16);
	n = (long)fread(img, 1, 1 << 16, fp);
	fclose(fp);
	ck_assert_ptr_nonnull(
	    memmem(img, (size_t)n, nano ? LABEL_NS : LABEL_US, strlen(nano ? LABEL_NS : LABEL_US)));
	free(img);
	ck_assert_uint_eq(wt_stats(c)->bytes, (uint64_t)file_size(path));
	wt_free(c);
}
END_TEST

/* Records cut to a snaplen keep the wire length; link type and snaplen as given. */
START_TEST(test_pcap_snaplen_cut)
{
	struct wt *c = wt_new();
	char path[PATH_MAX * 2], err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *pc;
	struct packet p;
	struct flow *f;
	struct sent *s;

	wt_start(c);
	c->cut = 60;
	wt_conn(c, 0, BASE_TS);
	/* One packet from a source with another link type and snaplen is still this file's. */
	s = &c->sent[3];
	ck_assert_uint_eq(s->caplen, 60);
	ck_assert_uint_eq(s->wirelen, 14 + 40 + 1200);
	flowtab_end_all(c->t, FLOW_R_EOF);
	path_of(c, c->done[0].fpout, path, sizeof path);
	verify_pcap(path, 0, 0, SNAPLEN, c, 0, 0, UINT64_MAX);
	wt_free(c);

	/* A raw-IP source: linktype 101, snaplen 96 in the header. */
	c = wt_new();
	wt_start(c);
	ck_assert_int_eq(
	    decode_frame(DLT_T_EN10MB, c->sent[0].data,
	        (uint32_t)frame_build(c->sent[0].data, A, 1, B, 2, TCPF_SYN, 1, 0, 0, 0), &p),
	    DECODE_OK);
	p.frame = 1;
	p.ts = BASE_TS;
	p.caplen = p.wirelen = 40;
	f = flowtab_packet(c->t, &p, 0, p.ts);
	writer_packet(c->w, f, &p, c->sent[0].data + 14, 101, 96, NULL, p.ts);
	flowtab_release(c->t, f);
	flowtab_end_all(c->t, FLOW_R_EOF);
	path_of(c, c->done[0].fpout, path, sizeof path);
	pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
	ck_assert_msg(pc != NULL, "%s", err);
	ck_assert_int_eq(pcap_datalink(pc), DLT_RAW);
	ck_assert_int_eq(pcap_snapshot(pc), 96);
	ck_assert_int_eq(pcap_next_ex(pc, &h, &data), 1);
	ck_assert_uint_eq(h->caplen, 40);
	ck_assert_mem_eq(data, c->sent[0].data + 14, 40);
	pcap_close(pc);
	wt_free(c);
}
END_TEST

START_TEST(test_pcapfile_headers)
{
	static const uint8_t le_us[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff, 0, 0, 1, 0, 0, 0};
	static const uint8_t be_ns[24] = {0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0x10, 0, 0, 0, 0, 101};
	static const uint8_t rec_le_us[16] = {
	    0x00, 0xf1, 0x53, 0x65, 0x64, 0, 0, 0, 60, 0, 0, 0, 0xe8, 0x03, 0, 0};
	static const uint8_t rec_be_ns[16] = {
	    0x65, 0x53, 0xf1, 0x00, 0x00, 0x01, 0x8a, 0x87, 0, 0, 0, 60, 0, 0, 0x03, 0xe8};
	uint8_t h[PCAP_FILEHDR_LEN], r[PCAP_RECHDR_LEN];

	pcapfile_header(h, 1, 65535, 0, 0);
	ck_assert_mem_eq(h, le_us, 24);
	pcapfile_header(h, 101, 4096, 1, 1);
	ck_assert_mem_eq(h, be_ns, 24);
	/* 1700000000.000100999: 100 µs, or 100999 ns. */
	pcapfile_record(r, 1700000000ULL * NS + 100999, 60, 1000, 0, 0);
	ck_assert_mem_eq(r, rec_le_us, 16);
	pcapfile_record(r, 1700000000ULL * NS + 100999, 60, 1000, 1, 1);
	ck_assert_mem_eq(r, rec_be_ns, 16);
	ck_assert_uint_eq(pcapfile_linktype(12), 101);
	ck_assert_uint_eq(pcapfile_linktype(14), 101);
	ck_assert_uint_eq(pcapfile_linktype(1), 1);
	ck_assert_uint_eq(pcapfile_linktype(276), 276);
}
END_TEST

/* A file image: header + records of the given captured lengths. */
static size_t
image_build(uint8_t *buf, int big, const uint32_t *caplens, size_t n)
{
	size_t off = PCAP_FILEHDR_LEN, i;

	pcapfile_header(buf, 1, 65535, big, 1);
	for (i = 0; i < n; i++) {
		pcapfile_record(buf + off, BASE_TS + i, caplens[i], caplens[i], big, 1);
		memset(buf + off + PCAP_RECHDR_LEN, 0xab, caplens[i]);
		off += PCAP_RECHDR_LEN + caplens[i];
	}
	return off;
}

START_TEST(test_valid_prefix)
{
	static const uint32_t caplens[] = {60, 1514, 0, 100};
	uint8_t buf[4096];
	size_t len, r1, r2, r3, big;

	for (big = 0; big < 2; big++) {
		len = image_build(buf, (int)big, caplens, 4);
		r1 = 24 + 16 + 60;
		r2 = r1 + 16 + 1514;
		r3 = r2 + 16; /* the empty record */
		ck_assert_uint_eq(len, r3 + 16 + 100);
		ck_assert_uint_eq(pcapfile_valid_prefix(buf, len, NULL), len);
		{
			struct pcapfile_summary sum;

			/* What recovery indexes: the records' count, wire bytes and times. */
			ck_assert_uint_eq(pcapfile_valid_prefix(buf, len - 1, &sum), r3);
			ck_assert_uint_eq(sum.packets, 3);
			ck_assert_uint_eq(sum.bytes, 60 + 1514 + 0);
			ck_assert_uint_eq(sum.first_ns, BASE_TS);
			ck_assert_uint_eq(sum.last_ns, BASE_TS + 2);
		}
		/* Cut inside the last record's data, then inside its header. */
		ck_assert_uint_eq(pcapfile_valid_prefix(buf, len - 1, NULL), r3);
		ck_assert_uint_eq(pcapfile_valid_prefix(buf, r3 + 5, NULL), r3);
		ck_assert_uint_eq(pcapfile_valid_prefix(buf, r3, NULL), r3);
		ck_assert_uint_eq(pcapfile_valid_prefix(buf, r2 + 1, NULL), r2);
		ck_assert_uint_eq(pcapfile_valid_prefix(buf, r1 + 700, NULL), r1);
		/* Just the header. */
		ck_assert_uint_eq(pcapfile_valid_prefix(buf, 24, NULL), 24);
		ck_assert_uint_eq(pcapfile_valid_prefix(buf, 30, NULL), 24);
		/* Shorter than a header, or a garbage header: nothing is valid. */
		ck_assert_uint_eq(pcapfile_valid_prefix(buf, 23, NULL), 0);
		ck_assert_uint_eq(pcapfile_valid_prefix(buf, 0, NULL), 0);
	}
	memset(buf, 0x5a, 200);
	ck_assert_uint_eq(pcapfile_valid_prefix(buf, 200, NULL), 0);
	len = image_build(buf, 0, caplens, 2);
	buf[0] ^= 0xff;
	ck_assert_uint_eq(pcapfile_valid_prefix(buf, len, NULL), 0);
	/* A garbage caplen (crash in the middle of a header) ends the valid prefix. */
	len = image_build(buf, 0, caplens, 2);
	memset(buf + 24 + 16 + 60 + 8, 0xff, 4);
	ck_assert_uint_eq(pcapfile_valid_prefix(buf, len, NULL), 24 + 16 + 60);
}
END_TEST

/* --- .active and renames ---------------------------------------------------- */

START_TEST(test_active_then_move)
{
	struct wt *c = wt_new();
	char path[PATH_MAX * 2], apath[PATH_MAX * 2];
	uint64_t f0, f1;
	const struct done *d;

	wt_start(c);
	ck_assert_int_eq(count_entries(c->active), 0);
	f0 = wt_conn(c, 0, BASE_TS);
	f1 = wt_conn(c, 1, BASE_TS + 1 * NS);
	/* Buffered: nothing on disk yet. */
	ck_assert_int_eq(count_entries(c->active), 0);
	writer_flush_all(c->w);
	ck_assert_uint_eq(wt_stats(c)->buffered, 0);
	ck_assert_int_eq(count_entries(c->active), 2);
	ck_assert_int_eq(count_entries(c->dir), 1); /* only .active */
	snprintf(apath, sizeof apath, "%s/%s.pcap", c->active, LABEL_US);
	ck_assert_int_eq(file_size(apath), 24 + 4 * 16 + 4 * 54 + 1500);
	ck_assert_uint_eq(wt_stats(c)->files, 0);

	/* Flow 0 goes on (buffered again); flow 1 falls idle and its file moves. */
	wt_flow(c, 0, 0, TCPF_ACK, 0, BASE_TS + 2 * NS);
	ck_assert_int_eq(file_size(apath), 24 + 4 * 16 + 4 * 54 + 1500);
	flowtab_expire(c->t, BASE_TS + 1 * NS + c->fc.idle_ns);
	ck_assert_uint_eq(c->ndone, 0);
	flowtab_expire(c->t, BASE_TS + 1 * NS + 3 * MS + 333 + c->fc.idle_ns);
	ck_assert_uint_eq(c->ndone, 1);
	d = wt_done_for(c, f1);
	ck_assert_int_eq(d->reason, FLOW_R_IDLE);
	ck_assert_int_eq(count_entries(c->active), 1);
	path_of(c, d->fpout, path, sizeof path);
	verify_pcap(path, 0, 0, SNAPLEN, c, 1, 0, UINT64_MAX);
	ck_assert_int_eq(file_size(apath), 24 + 4 * 16 + 4 * 54 + 1500);

	flowtab_end_all(c->t, FLOW_R_EOF);
	ck_assert_uint_eq(c->ndone, 2);
	d = wt_done_for(c, f0);
	ck_assert_str_eq(d->fpout, LABEL_US ".pcap");
	ck_assert_int_eq(count_entries(c->active), 0);
	ck_assert_int_eq(file_size(apath), -1);
	path_of(c, d->fpout, path, sizeof path);
	verify_pcap(path, 0, 0, SNAPLEN, c, 0, 0, UINT64_MAX);
	ck_assert_int_eq(count_entries(c->dir), 3);
	ck_assert_uint_eq(wt_stats(c)->files, 2);
	wt_free(c);
}
END_TEST

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	fputs(text, fp);
	fclose(fp);
}

START_TEST(test_no_overwrite_output)
{
	struct wt *c = wt_new();
	char path[PATH_MAX * 2], *old;

	path_of(c, LABEL_US ".pcap", path, sizeof path);
	write_file(path, "precious 0");
	path_of(c, LABEL_US "-1.pcap", path, sizeof path);
	write_file(path, "precious 1");
	wt_start(c);
	wt_conn(c, 0, BASE_TS);
	flowtab_end_all(c->t, FLOW_R_EOF);
	ck_assert_uint_eq(c->ndone, 1);
	ck_assert_str_eq(c->done[0].fpout, LABEL_US "-2.pcap");
	ck_assert_str_eq(c->done[0].label, LABEL_US "-2");
	path_of(c, c->done[0].fpout, path, sizeof path);
	verify_pcap(path, 0, 0, SNAPLEN, c, 0, 0, UINT64_MAX);
	path_of(c, LABEL_US ".pcap", path, sizeof path);
	old = slurp(path, NULL);
	ck_assert_str_eq(old, "precious 0");
	free(old);
	path_of(c, LABEL_US "-1.pcap", path, sizeof path);
	old = slurp(path, NULL);
	ck_assert_str_eq(old, "precious 1");
	free(old);
	ck_assert_int_eq(count_entries(c->active), 0);
	wt_free(c);
}
END_TEST

START_TEST(test_no_overwrite_active)
{
	struct wt *c = wt_new();
	char path[PATH_MAX * 2], *old;

	wt_start(c);
	path_of(c, ".active/" LABEL_US ".pcap", path, sizeof path);
	write_file(path, "left over from a crash");
	wt_conn(c, 0, BASE_TS);
	writer_flush_all(c->w);
	ck_assert_int_eq(count_entries(c->active), 2);
	flowtab_end_all(c->t, FLOW_R_EOF);
	ck_assert_str_eq(c->done[0].fpout, LABEL_US "-1.pcap");
	ck_assert_str_eq(c->done[0].label, LABEL_US "-1");
	old = slurp(path, NULL);
	ck_assert_str_eq(old, "left over from a crash");
	free(old);
	ck_assert_int_eq(count_entries(c->active), 1);
	path_of(c, c->done[0].fpout, path, sizeof path);
	verify_pcap(path, 0, 0, SNAPLEN, c, 0, 0, UINT64_MAX);
	wt_free(c);
}
END_TEST

/* --- descriptors and buffers ---------------------------------------------------- */

START_TEST(test_fd_budget)
{
	struct wt *c = wt_new();
	char path[PATH_MAX * 2], prefix[PATH_MAX + 32];
	uint64_t first[5];
	int round, k, maxfd = 0, n;

	c->wc.max_open_files = 2;
	c->wc.flow_buffer = 100; /* nearly every packet is written out at once */
	wt_start(c);
	snprintf(prefix, sizeof prefix, "%s/", c->active);
	for (k = 0; k < 5; k++) {
		first[k] = c->frame + 1;
		wt_flow(c, k, 0, TCPF_SYN, 0, BASE_TS + (uint64_t)k * MS);
	}
	for (round = 0; round < 10; round++) {
		for (k = 0; k < 5; k++) {
			wt_flow(c, k, round & 1, TCPF_ACK | TCPF_PSH, (uint32_t)(10 * k + round),
			    BASE_TS + NS + (uint64_t)(round * 5 + k) * MS);
			ck_assert_uint_le(wt_stats(c)->open_files, 2);
			n = count_fds_under(prefix);
			ck_assert_int_le(n, 2);
			if (n > maxfd)
				maxfd = n;
		}
	}
	ck_assert_int_eq(maxfd, 2);
	ck_assert_uint_gt(wt_stats(c)->opens, 5); /* files were reopened */
	flowtab_end_all(c->t, FLOW_R_EOF);
	ck_assert_int_eq(count_fds_under(prefix), 0);
	ck_assert_uint_eq(wt_stats(c)->open_files, 0);
	ck_assert_uint_eq(c->ndone, 5);
	for (k = 0; k < 5; k++) {
		path_of(c, wt_done_for(c, first[k])->fpout, path, sizeof path);
		verify_pcap(path, 0, 0, SNAPLEN, c, k, 0, UINT64_MAX);
	}
	ck_assert_uint_eq(wt_stats(c)->write_errors, 0);
	ck_assert_uint_eq(wt_stats(c)->bytes_lost, 0);
	wt_free(c);
}
END_TEST

START_TEST(test_buffer_budget)
{
	struct wt *c = wt_new();
	char path[PATH_MAX * 2];
	const uint64_t budget = 3000, maxrec = 16 + 54 + 400;
	uint64_t first[40], seed = 12345;
	int i, k;

	c->wc.buffer_total = budget;
	c->wc.flow_buffer = 1 << 20;
	wt_start(c);
	for (k = 0; k < 40; k++) {
		first[k] = c->frame + 1;
		wt_flow(c, k, 0, TCPF_SYN, 0, BASE_TS + (uint64_t)k);
		ck_assert_uint_le(wt_stats(c)->buffered, budget + maxrec);
	}
	for (i = 0; i < 400; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		k = (int)((seed >> 33) % 40);
		wt_flow(c, k, (int)(seed >> 20) & 1, TCPF_ACK, (uint32_t)((seed >> 40) % 401),
		    BASE_TS + MS + (uint64_t)i);
		ck_assert_uint_le(wt_stats(c)->buffered, budget + maxrec);
	}
	ck_assert_uint_gt(wt_stats(c)->writes, 0);
	writer_flush_all(c->w);
	ck_assert_uint_eq(wt_stats(c)->buffered, 0);
	flowtab_end_all(c->t, FLOW_R_EOF);
	ck_assert_uint_eq(c->ndone, 40);
	for (k = 0; k < 40; k++) {
		path_of(c, wt_done_for(c, first[k])->fpout, path, sizeof path);
		verify_pcap(path, 0, 0, SNAPLEN, c, k, 0, UINT64_MAX);
	}
	wt_free(c);
}
END_TEST

START_TEST(test_flush_interval)
{
	struct wt *c = wt_new();
	char apath[PATH_MAX * 2];
	long long one = 24 + 16 + 54, two;

	c->wc.flush_ns = 1 * NS;
	wt_start(c);
	snprintf(apath, sizeof apath, "%s/%s.pcap", c->active, LABEL_US);
	wt_flow(c, 0, 0, TCPF_SYN, 0, BASE_TS);
	writer_tick(c->w, BASE_TS + NS / 2);
	ck_assert_int_eq(file_size(apath), -1);
	ck_assert_uint_ge(wt_stats(c)->buffered, 16 + 54); /* capacity, holds the record */
	writer_tick(c->w, BASE_TS + NS - 1);
	ck_assert_int_eq(file_size(apath), -1);
	writer_tick(c->w, BASE_TS + NS);
	ck_assert_int_eq(file_size(apath), one);
	ck_assert_uint_eq(wt_stats(c)->buffered, 0);
	ck_assert_uint_eq(wt_stats(c)->files, 0);
	ck_assert_uint_eq(flowtab_count(c->t), 1);

	/* The interval counts from the first byte buffered since the last write. */
	wt_flow(c, 0, 1, TCPF_SYN | TCPF_ACK, 0, BASE_TS + 1200 * MS);
	wt_flow(c, 0, 0, TCPF_ACK, 0, BASE_TS + 1900 * MS);
	writer_tick(c->w, BASE_TS + 2 * NS);
	ck_assert_int_eq(file_size(apath), one);
	writer_tick(c->w, BASE_TS + 2200 * MS);
	two = one + 2 * (16 + 54);
	ck_assert_int_eq(file_size(apath), two);
	ck_assert_uint_eq(wt_stats(c)->files, 0);
	flowtab_end_all(c->t, FLOW_R_EOF);
	ck_assert_int_eq(file_size(apath), -1);
	wt_free(c);
}
END_TEST

/* Without a flush interval, writer_tick writes nothing. */
START_TEST(test_flush_interval_off)
{
	struct wt *c = wt_new();

	wt_start(c);
	wt_flow(c, 0, 0, TCPF_SYN, 0, BASE_TS);
	writer_tick(c->w, BASE_TS + 1000 * NS);
	ck_assert_uint_ge(wt_stats(c)->buffered, 16 + 54); /* capacity, holds the record */
	ck_assert_int_eq(count_entries(c->active), 0);
	wt_free(c);
}
END_TEST

/* --- layout ----------------------------------------------------------------------- */

START_TEST(test_layout_dated)
{
	struct wt *c = wt_new();
	char path[PATH_MAX * 2];

	setenv("TZ", "UTC", 1);
	tzset();
	c->wc.layout = "%Y/%m/%d";
	wt_start(c);
	wt_conn(c, 0, BASE_TS);
	wt_conn(c, 1, BASE_TS + 86400 * NS); /* the next day */
	flowtab_end_all(c->t, FLOW_R_EOF);
	ck_assert_uint_eq(c->ndone, 2);
	ck_assert_str_eq(wt_done_for(c, 1)->fpout, "2023/11/14/" LABEL_US ".pcap");
	ck_assert_str_eq(wt_done_for(c, 5)->fpout,
	    "2023/11/15/10.0.0.1_1235-10.0.0.2_80-1700086400.000100.pcap");
	path_of(c, wt_done_for(c, 1)->fpout, path, sizeof path);
	verify_pcap(path, 0, 0, SNAPLEN, c, 0, 0, UINT64_MAX);
	path_of(c, wt_done_for(c, 5)->fpout, path, sizeof path);
	verify_pcap(path, 0, 0, SNAPLEN, c, 1, 0, UINT64_MAX);
	path_of(c, "2023/11", path, sizeof path);
	ck_assert_int_eq(count_entries(path), 2);
	wt_free(c);
}
END_TEST

/* A layout that would climb out of the output folder is ignored. */
START_TEST(test_layout_escape)
{
	struct wt *c = wt_new();

	setenv("TZ", "UTC", 1);
	tzset();
	c->wc.layout = "../%Y";
	wt_start(c);
	wt_conn(c, 0, BASE_TS);
	flowtab_end_all(c->t, FLOW_R_EOF);
	ck_assert_str_eq(c->done[0].fpout, LABEL_US ".pcap");
	wt_free(c);

	c = wt_new();
	c->wc.layout = "/%Y";
	wt_start(c);
	wt_conn(c, 0, BASE_TS);
	flowtab_end_all(c->t, FLOW_R_EOF);
	ck_assert_str_eq(c->done[0].fpout, LABEL_US ".pcap");
	wt_free(c);
}
END_TEST

/* --- formats ------------------------------------------------------------------------ */

START_TEST(test_format_json)
{
	struct wt *c = wt_new();
	char path[PATH_MAX * 2], *text, *line, *save = NULL;
	size_t n = 0;
	json_error_t err;
	json_t *o;
	const struct sent *s;

	c->wc.format = FMT_JSON;
	c->wc.flow_buffer = 200; /* several writes per file */
	wt_start(c);
	wt_conn(c, 0, BASE_TS);
	wt_flow(c, 0, 0, TCPF_FIN | TCPF_ACK, 0, BASE_TS + 4 * MS);
	flowtab_end_all(c->t, FLOW_R_EOF);
	ck_assert_str_eq(c->done[0].fpout, LABEL_US ".json");
	path_of(c, c->done[0].fpout, path, sizeof path);
	text = slurp(path, NULL);
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		ck_assert_uint_lt(n, c->nsent);
		s = &c->sent[n];
		o = json_loads(line, 0, &err);
		ck_assert_msg(o != NULL, "line %zu: %s", n + 1, err.text);
		ck_assert_int_eq(
		    json_integer_value(json_object_get(o, "frame")), (json_int_t)s->frame);
		ck_assert_str_eq(json_string_value(json_object_get(o, "src")),
		    n == 1 || n == 3 ? "10.0.0.2" : "10.0.0.1");
		ck_assert_str_eq(json_string_value(json_object_get(o, "dst")),
		    n == 1 || n == 3 ? "10.0.0.1" : "10.0.0.2");
		ck_assert_int_eq(json_integer_value(json_object_get(o, "srcport")),
		    n == 1 || n == 3 ? 80 : 1234);
		ck_assert_int_eq(json_integer_value(json_object_get(o, "dstport")),
		    n == 1 || n == 3 ? 1234 : 80);
		ck_assert(json_is_boolean(json_object_get(o, "syn")));
		ck_assert_int_eq(json_is_true(json_object_get(o, "syn")), !!(s->flags & TCPF_SYN));
		ck_assert_int_eq(json_is_true(json_object_get(o, "fin")), !!(s->flags & TCPF_FIN));
		ck_assert_int_eq(json_is_true(json_object_get(o, "ack")), !!(s->flags & TCPF_ACK));
		ck_assert_int_eq(json_is_true(json_object_get(o, "rst")), 0);
		ck_assert_int_eq(json_integer_value(json_object_get(o, "wirelen")), s->wirelen);
		ck_assert_int_eq(
		    json_integer_value(json_object_get(o, "payload_len")), s->wirelen - 54);
		ck_assert(json_is_real(json_object_get(o, "timestamp")));
		ck_assert(dabs(json_real_value(json_object_get(o, "timestamp")) -
		               (double)s->ts / 1e9) < 1e-6);
		ck_assert(json_is_array(json_object_get(o, "vlan")));
		json_decref(o);
		n++;
	}
	ck_assert_uint_eq(n, 5);
	free(text);
	wt_free(c);
}
END_TEST

static size_t
count_str(const char *hay, const char *needle)
{
	size_t n = 0;
	const char *p;

	for (p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* Loop index: 0 one write at the end, 1 buffer written out on every packet. */
START_TEST(test_format_plist)
{
	struct wt *c = wt_new();
	char path[PATH_MAX * 2], *text;
	const char *tail = "</array>\n</plist>\n";
	size_t len;

	c->wc.format = FMT_PLIST;
	if (_i)
		c->wc.flow_buffer = 1;
	wt_start(c);
	wt_conn(c, 0, BASE_TS);
	flowtab_end_all(c->t, FLOW_R_EOF);
	ck_assert_str_eq(c->done[0].fpout, LABEL_US ".plist");
	path_of(c, c->done[0].fpout, path, sizeof path);
	text = slurp(path, &len);
	ck_assert_int_eq(strncmp(text, "<?xml", 5), 0);
	ck_assert_uint_ge(len, strlen(tail));
	ck_assert_str_eq(text + len - strlen(tail), tail);
	ck_assert_uint_eq(count_str(text, "<dict>"), 4);
	ck_assert_uint_eq(count_str(text, "</dict>"), 4);
	ck_assert_uint_eq(count_str(text, "<plist"), 1);
	ck_assert_ptr_nonnull(strstr(text, "<key>frame</key><integer>1</integer>"));
	ck_assert_ptr_nonnull(strstr(text, "<key>frame</key><integer>4</integer>"));
	ck_assert_ptr_nonnull(strstr(text, "<key>src</key><string>10.0.0.2</string>"));
	ck_assert_ptr_nonnull(strstr(text, "<key>syn</key><true/>"));
	ck_assert_uint_eq(wt_stats(c)->buffered, 0);
	free(text);
	wt_free(c);
}
END_TEST

START_TEST(test_format_tree)
{
	struct wt *c = wt_new();
	char path[PATH_MAX * 2], *text, want[64];
	uint64_t i;

	c->wc.format = FMT_TREE;
	wt_start(c);
	wt_conn(c, 0, BASE_TS);
	flowtab_end_all(c->t, FLOW_R_EOF);
	ck_assert_str_eq(c->done[0].fpout, LABEL_US ".txt");
	path_of(c, c->done[0].fpout, path, sizeof path);
	text = slurp(path, NULL);
	ck_assert_uint_eq(count_str(text, "Frame "), 4);
	for (i = 1; i <= 4; i++) {
		snprintf(want, sizeof want, "Frame %llu\n |-- frame: %llu\n", (unsigned long long)i,
		    (unsigned long long)i);
		ck_assert_msg(
		    strstr(text, want) != NULL, "no block for frame %llu", (unsigned long long)i);
	}
	ck_assert_int_eq(strncmp(text, "Frame 1\n", 8), 0);
	ck_assert_ptr_nonnull(strstr(text, " |-- dstport: 1234\n"));
	free(text);
	wt_free(c);
}
END_TEST

START_TEST(test_format_none)
{
	struct wt *c = wt_new();

	c->wc.format = FMT_NONE;
	wt_start(c);
	wt_conn(c, 0, BASE_TS);
	flowtab_end_all(c->t, FLOW_R_EOF);
	ck_assert_uint_eq(c->ndone, 1);
	ck_assert_str_eq(c->done[0].fpout, "");
	ck_assert_int_eq(count_entries(c->dir), 0);
	ck_assert_uint_eq(wt_stats(c)->files, 0);
	ck_assert_uint_eq(wt_stats(c)->buffered, 0);
	wt_free(c);
}
END_TEST

/* Format names are the format setting's words (pcapkit's aliases too); extensions are names.c's. */
static int
format_of(const char *word)
{
	struct config_arg a = {"format", word, "--format"};
	struct tf_config tc;
	char *cause = NULL;
	int f;

	if (config_args(&tc, &a, 1, &cause) == -1) {
		free(cause);
		return -1;
	}
	f = tc.format;
	config_free(&tc);
	return f;
}

START_TEST(test_format_names)
{
	char name[64];

	ck_assert_int_eq(format_of("pcap"), FMT_PCAP);
	ck_assert_int_eq(format_of("cap"), FMT_PCAP);
	ck_assert_int_eq(format_of("json"), FMT_JSON);
	ck_assert_int_eq(format_of("xml"), FMT_PLIST);
	ck_assert_int_eq(format_of("plist"), FMT_PLIST);
	ck_assert_int_eq(format_of("txt"), FMT_TREE);
	ck_assert_int_eq(format_of("none"), FMT_NONE);
	ck_assert_int_eq(format_of("pcapng"), FMT_PCAPNG);
	ck_assert_str_eq(names_format_ext(FMT_PCAPNG), ".pcapng");
	ck_assert_int_eq(format_of("pcapx"), -1);
	ck_assert_str_eq(names_format_ext(FMT_TREE), ".txt");
	ck_assert_str_eq(names_format_ext(FMT_NONE), "");
	ck_assert_str_eq(names_format_ext(99), "");
	names_compose(name, sizeof name, "l", 2, 3, FMT_PLIST);
	ck_assert_str_eq(name, "l-2.seg3.plist");
}
END_TEST

/* --- segments ------------------------------------------------------------------------- */

START_TEST(test_segment_files)
{
	struct wt *c = wt_new();
	char path[PATH_MAX * 2];
	static const char *names[] = {
	    LABEL_US ".pcap", LABEL_US ".seg1.pcap", LABEL_US ".seg2.pcap"};
	uint64_t from[] = {1, 3, 5}, to[] = {2, 4, 5};
	int i;

	c->fc.seg_packets = 2;
	wt_start(c);
	wt_conn(c, 0, BASE_TS);
	wt_flow(c, 0, 0, TCPF_ACK, 7, BASE_TS + 4 * MS);
	ck_assert_uint_eq(c->ndone, 2);
	ck_assert_int_eq(c->done[0].reason, FLOW_R_ROTATE);
	ck_assert_int_eq(c->done[1].reason, FLOW_R_ROTATE);
	flowtab_end_all(c->t, FLOW_R_EOF);
	ck_assert_uint_eq(c->ndone, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_str_eq(c->done[i].fpout, names[i]);
		ck_assert_uint_eq(c->done[i].seg_no, (uint32_t)i);
		path_of(c, names[i], path, sizeof path);
		verify_pcap(path, 0, 0, SNAPLEN, c, 0, from[i], to[i]);
	}
	ck_assert_int_eq(c->done[2].reason, FLOW_R_EOF);
	ck_assert_int_eq(count_entries(c->active), 0);
	ck_assert_uint_eq(wt_stats(c)->files, 3);
	wt_free(c);
}
END_TEST

/* --- the engine and index.jsonl ---------------------------------------------------------- */

struct eframe {
	uint8_t data[FRAME_MAX];
	uint32_t len;
	uint64_t ts;
};

static void
engine_send(struct engine *e, struct source *src, struct eframe *ef, uint32_t s, uint16_t sp,
    uint32_t d, uint16_t dp, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t plen,
    uint16_t vlan, uint64_t ts)
{
	ef->len = (uint32_t)frame_build(ef->data, s, sp, d, dp, flags, seq, ack, plen, vlan);
	ef->ts = ts;
	engine_frame(e, src, ts, ef->len, ef->len, ef->data);
}

static json_t *
index_line_for(json_t **lines, size_t n, const char *label)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(json_string_value(json_object_get(lines[i], "label")), label) == 0)
			return lines[i];
	ck_abort_msg("no index line for %s", label);
	return NULL;
}

static void
assert_frames_json(json_t *arr, const uint64_t *want, size_t n)
{
	size_t i;

	ck_assert(json_is_array(arr));
	ck_assert_uint_eq(json_array_size(arr), n);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(json_integer_value(json_array_get(arr, i)), (json_int_t)want[i]);
}

START_TEST(test_engine_index)
{
	static const char *keys[] = {"label", "fpout", "index", "src", "srcport", "dst", "dstport",
	    "vlan", "interface", "first", "last", "packets", "bytes", "reason", "partial",
	    "segment"};
	static const uint64_t fin_frames[] = {1, 2, 3, 5, 6, 7, 8};
	static const uint64_t vlan_frames[] = {9, 10};
	struct engine_config cfg;
	struct engine *e;
	struct source src;
	struct eframe *fr;
	char dir[PATH_MAX], path[PATH_MAX * 2], err[PCAP_ERRBUF_SIZE], *text, *line, *save = NULL,
	                                                                             *cause = NULL;
	json_t *lines[8], *o;
	json_error_t jerr;
	size_t n = 0, i, k;
	uint64_t t = BASE_TS, finbytes = 0;
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *pc;
	const struct engine_stats *st;

	fr = calloc(16, sizeof *fr);
	ck_assert_ptr_nonnull(fr);
	make_tmpdir(dir, sizeof dir);
	table_defaults(&cfg);
	cfg.outdir = dir;
	cfg.outfd = dir_fd(dir);
	e = engine_new(&cfg, &cause);
	ck_assert_msg(e != NULL, "engine_new: %s", cause ? cause : "?");
	memset(&src, 0, sizeof src);
	src.name = "eth7";
	src.dlt = DLT_T_EN10MB;
	src.linktype = 1;
	src.snaplen = SNAPLEN;
	engine_add_source(e, &src);

	/* Frames 1-8: a connection that closes (frame 4 is ARP, not TCP). */
	engine_send(e, &src, &fr[0], A, 1234, B, 80, TCPF_SYN, 1000, 0, 0, 0, t);
	engine_send(e, &src, &fr[1], B, 80, A, 1234, TCPF_SYN | TCPF_ACK, 5000, 1001, 0, 0, t + 1);
	engine_send(e, &src, &fr[2], A, 1234, B, 80, TCPF_ACK | TCPF_PSH, 1001, 5001, 20, 0, t + 2);
	{
		uint8_t arp[60] = {
		    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06};

		engine_frame(e, &src, t + 3, sizeof arp, sizeof arp, arp);
	}
	engine_send(e, &src, &fr[4], A, 1234, B, 80, TCPF_FIN | TCPF_ACK, 1021, 5001, 0, 0, t + 4);
	engine_send(e, &src, &fr[5], B, 80, A, 1234, TCPF_FIN | TCPF_ACK, 5001, 1022, 0, 0, t + 5);
	engine_send(e, &src, &fr[6], A, 1234, B, 80, TCPF_ACK, 1022, 5002, 0, 0, t + 6);
	engine_send(e, &src, &fr[7], A, 1234, B, 80, TCPF_ACK, 1022, 5002, 0, 0, t + 7);
	/* Frames 9-10: mid-stream on VLAN 10, never closed. */
	engine_send(
	    e, &src, &fr[8], IP(192, 168, 0, 9), 40000, A, 443, TCPF_ACK, 1, 1, 100, 10, t + 8);
	engine_send(
	    e, &src, &fr[9], A, 443, IP(192, 168, 0, 9), 40000, TCPF_ACK, 1, 101, 0, 10, t + 9);
	engine_batch_end(e);
	engine_finish_all(e, FLOW_R_EOF);
	st = engine_stats(e);
	ck_assert_uint_eq(st->frames, 10);
	ck_assert_uint_eq(st->tcp, 9);
	ck_assert_uint_eq(st->not_tcp, 1);
	ck_assert_uint_eq(st->flows, 2);
	ck_assert_uint_eq(st->finished, 2);
	ck_assert_uint_eq(st->segments, 2);
	ck_assert_uint_eq(st->ended[FLOW_R_FIN], 1);
	ck_assert_uint_eq(st->ended[FLOW_R_EOF], 1);
	ck_assert_uint_eq(engine_output_stats(e)->files, 2);
	engine_free(e);

	snprintf(path, sizeof path, "%s/index.jsonl", dir);
	text = slurp(path, NULL);
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		ck_assert_uint_lt(n, 8);
		lines[n] = json_loads(line, 0, &jerr);
		ck_assert_msg(lines[n] != NULL, "index line %zu: %s", n + 1, jerr.text);
		for (k = 0; k < sizeof keys / sizeof keys[0]; k++)
			ck_assert_msg(
			    json_object_get(lines[n], keys[k]) != NULL, "no key %s", keys[k]);
		n++;
	}
	free(text);
	ck_assert_uint_eq(n, 2);

	o = index_line_for(lines, n, LABEL_US);
	/* In the partition of the hour (UTC) the flow ended in: the daemon's defaults. */
	ck_assert_str_eq(
	    json_string_value(json_object_get(o, "fpout")), PART_US "/" LABEL_US ".pcap");
	assert_frames_json(json_object_get(o, "index"), fin_frames, 7);
	ck_assert_str_eq(json_string_value(json_object_get(o, "src")), "10.0.0.1");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "srcport")), 1234);
	ck_assert_str_eq(json_string_value(json_object_get(o, "dst")), "10.0.0.2");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "dstport")), 80);
	ck_assert_uint_eq(json_array_size(json_object_get(o, "vlan")), 0);
	ck_assert_str_eq(json_string_value(json_object_get(o, "interface")), "eth7");
	ck_assert(dabs(json_real_value(json_object_get(o, "first")) - 1700000000.0001) < 1e-6);
	ck_assert(dabs(json_real_value(json_object_get(o, "last")) - 1700000000.0001) < 1e-6);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "first_ns")), (json_int_t)t);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "last_ns")), (json_int_t)(t + 7));
	ck_assert_int_eq(json_integer_value(json_object_get(o, "packets")), 7);
	for (i = 0; i < 8; i++)
		if (i != 3)
			finbytes += fr[i].len;
	ck_assert_int_eq(json_integer_value(json_object_get(o, "bytes")), (json_int_t)finbytes);
	ck_assert_str_eq(json_string_value(json_object_get(o, "reason")), "fin");
	ck_assert(json_is_false(json_object_get(o, "partial")));
	ck_assert_int_eq(json_integer_value(json_object_get(o, "segment")), 0);

	/* The file the line names holds exactly the flow's frames, byte for byte. */
	snprintf(path, sizeof path, "%s/%s", dir, json_string_value(json_object_get(o, "fpout")));
	pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
	ck_assert_msg(pc != NULL, "%s", err);
	for (i = 0; i < 8; i++) {
		if (i == 3)
			continue;
		ck_assert_int_eq(pcap_next_ex(pc, &h, &data), 1);
		ck_assert_uint_eq(h->caplen, fr[i].len);
		ck_assert_mem_eq(data, fr[i].data, fr[i].len);
	}
	ck_assert_int_eq(pcap_next_ex(pc, &h, &data), PCAP_ERROR_BREAK);
	pcap_close(pc);

	o = index_line_for(lines, n, "192.168.0.9_40000-10.0.0.1_443-1700000000.000100");
	assert_frames_json(json_object_get(o, "index"), vlan_frames, 2);
	ck_assert_uint_eq(json_array_size(json_object_get(o, "vlan")), 1);
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(o, "vlan"), 0)), 10);
	ck_assert_str_eq(json_string_value(json_object_get(o, "reason")), "eof");
	ck_assert(json_is_true(json_object_get(o, "partial")));
	ck_assert_int_eq(json_integer_value(json_object_get(o, "packets")), 2);
	snprintf(path, sizeof path, "%s/%s", dir, json_string_value(json_object_get(o, "fpout")));
	ck_assert_int_eq(file_size(path), 24 + 2 * 16 + fr[8].len + fr[9].len);

	for (i = 0; i < n; i++)
		json_decref(lines[i]);
	rm_tree(dir);
	free(fr);
}
END_TEST

/*
 * Capture workers (engine.h, peer): two engines on one filer, fed at once
 * from two threads, each its own connections. Every connection is filed
 * once, the index has a line for each, frame numbers are the interface's
 * (1..N, none twice), and finished flows are reported only through
 * engine_report, on this thread.
 */
#define WK_CONNS 150
#define WK_PKTS  6

struct wk_arg {
	struct engine *e;
	struct source src;
	int id;
};

static pthread_t wk_main;
static int wk_reports[2], wk_elsewhere;
static pthread_mutex_t wk_build = PTHREAD_MUTEX_INITIALIZER;

/* engine_send from a thread: frame_build has one buffer for all. */
static void
wk_send(struct wk_arg *a, struct eframe *ef, uint32_t s, uint16_t sp, uint32_t d, uint16_t dp,
    uint8_t flags, uint32_t seq, uint32_t ack, uint32_t plen, uint64_t ts)
{
	pthread_mutex_lock(&wk_build);
	ef->len = (uint32_t)frame_build(ef->data, s, sp, d, dp, flags, seq, ack, plen, 0);
	pthread_mutex_unlock(&wk_build);
	engine_frame(a->e, &a->src, ts, ef->len, ef->len, ef->data);
}

static void
wk_hook(const struct flow_key *key, uint8_t init, const struct index_record *rec,
    const char *frames, int ended, void *arg)
{
	if (!pthread_equal(pthread_self(), wk_main))
		wk_elsewhere++;
	wk_reports[*(int *)arg]++;
}

static void *
wk_feed(void *arg)
{
	struct wk_arg *a = arg;
	struct eframe *ef = calloc(1, sizeof *ef);
	uint16_t port;
	int c;

	/* Connections interleaved: A:port <-> B:80, closed with FIN both ways. */
	for (c = 0; c < WK_CONNS; c++) {
		port = (uint16_t)(10000 + a->id * 1000 + c);
		wk_send(a, ef, A, port, B, 80, TCPF_SYN, 1, 0, 0, BASE_TS + c);
		wk_send(a, ef, B, 80, A, port, TCPF_SYN | TCPF_ACK, 9, 2, 0, BASE_TS + c);
		wk_send(a, ef, A, port, B, 80, TCPF_ACK, 2, 10, 100, BASE_TS + c);
		wk_send(a, ef, A, port, B, 80, TCPF_FIN | TCPF_ACK, 102, 10, 0, BASE_TS + c);
		wk_send(a, ef, B, 80, A, port, TCPF_FIN | TCPF_ACK, 10, 103, 0, BASE_TS + c);
		wk_send(a, ef, A, port, B, 80, TCPF_ACK, 103, 11, 0, BASE_TS + c);
		if (c % 16 == 0)
			engine_batch_end(a->e);
	}
	/* A second of polls: what the filer finished meanwhile comes back on this thread. */
	for (c = 0; c < 50; c++) {
		usleep(20000);
		engine_batch_end(a->e);
	}
	free(ef);
	return NULL;
}

START_TEST(test_engine_workers)
{
	struct engine_config cfg;
	struct wk_arg a[2];
	pthread_t th[2];
	char dir[PATH_MAX], path[PATH_MAX * 2], *text, *line, *save = NULL, *cause = NULL;
	static uint8_t seen[2 * WK_CONNS * WK_PKTS + 1];
	json_t *o, *idx;
	size_t lines = 0, k;
	json_int_t fn;
	int i, ids[2] = {0, 1};

	wk_main = pthread_self();
	make_tmpdir(dir, sizeof dir);
	table_defaults(&cfg);
	cfg.outdir = dir;
	cfg.outfd = dir_fd(dir);
	cfg.flow.linger_ns = 0; /* flows end while the workers run: their reports must wait */
	for (i = 0; i < 2; i++) {
		cfg.worker = 1;
		cfg.peer = i > 0 ? a[0].e : NULL;
		a[i].e = engine_new(&cfg, &cause);
		ck_assert_msg(a[i].e != NULL, "engine_new: %s", cause ? cause : "?");
		engine_set_end_hook(a[i].e, wk_hook, &ids[i]);
		memset(&a[i].src, 0, sizeof a[i].src);
		a[i].src.name = "eth7";
		a[i].src.dlt = DLT_T_EN10MB;
		a[i].src.linktype = 1;
		a[i].src.snaplen = SNAPLEN;
		engine_add_source(a[i].e, &a[i].src);
		a[i].id = i;
	}
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, wk_feed, &a[i]), 0);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	/* The workers' lingering flows end here, on this thread, as at SIGTERM. */
	for (i = 0; i < 2; i++)
		engine_finish_all(a[i].e, FLOW_R_SHUTDOWN);
	ck_assert_int_eq(wk_elsewhere, 0);
	ck_assert_msg(wk_reports[0] == WK_CONNS && wk_reports[1] == WK_CONNS, "reports %d %d",
	    wk_reports[0], wk_reports[1]);
	ck_assert_int_eq(wk_reports[1], WK_CONNS);
	ck_assert_uint_eq(engine_output_stats(a[0].e)->files, 2 * WK_CONNS);
	engine_free(a[1].e); /* the peer first: the filer is the first's */
	engine_free(a[0].e);

	snprintf(path, sizeof path, "%s/index.jsonl", dir);
	text = slurp(path, NULL);
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		o = json_loads(line, 0, NULL);
		ck_assert_ptr_nonnull(o);
		ck_assert_int_eq(json_integer_value(json_object_get(o, "packets")), WK_PKTS);
		idx = json_object_get(o, "index");
		for (k = 0; k < json_array_size(idx); k++) {
			fn = json_integer_value(json_array_get(idx, k));
			ck_assert(fn >= 1 && fn <= 2 * WK_CONNS * WK_PKTS);
			ck_assert_msg(!seen[fn], "frame %lld in two lines", (long long)fn);
			seen[fn] = 1;
		}
		snprintf(path, sizeof path, "%s/%s", dir,
		    json_string_value(json_object_get(o, "fpout")));
		ck_assert_int_gt(file_size(path), 24);
		json_decref(o);
		lines++;
	}
	free(text);
	ck_assert_uint_eq(lines, 2 * WK_CONNS);
	rm_tree(dir);
}
END_TEST

/* Segments through the engine: one index line per segment, "segment" counting up. */
START_TEST(test_engine_segments)
{
	struct engine_config cfg;
	struct engine *e;
	struct source src;
	struct eframe ef;
	char dir[PATH_MAX], path[PATH_MAX * 2], *text, *line, *save = NULL, *cause = NULL;
	json_t *o;
	json_error_t jerr;
	int n = 0, i;

	make_tmpdir(dir, sizeof dir);
	table_defaults(&cfg);
	cfg.outdir = dir;
	cfg.outfd = dir_fd(dir);
	cfg.flow.seg_packets = 3;
	e = engine_new(&cfg, &cause);
	ck_assert_ptr_nonnull(e);
	memset(&src, 0, sizeof src);
	src.dlt = DLT_T_EN10MB;
	src.linktype = 1;
	src.snaplen = SNAPLEN;
	engine_add_source(e, &src);
	for (i = 0; i < 7; i++)
		engine_send(e, &src, &ef, A, 1234, B, 80, i == 0 ? TCPF_SYN : TCPF_ACK, 1000, 0,
		    (uint32_t)i, 0, BASE_TS + (uint64_t)i);
	engine_finish_all(e, FLOW_R_EOF);
	engine_free(e);
	snprintf(path, sizeof path, "%s/index.jsonl", dir);
	text = slurp(path, NULL);
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char want[PATH_MAX];

		o = json_loads(line, 0, &jerr);
		ck_assert_ptr_nonnull(o);
		ck_assert_int_eq(json_integer_value(json_object_get(o, "segment")), n);
		ck_assert_int_eq(json_integer_value(json_object_get(o, "packets")), n < 2 ? 3 : 1);
		ck_assert_str_eq(
		    json_string_value(json_object_get(o, "reason")), n < 2 ? "rotate" : "eof");
		ck_assert_int_eq(
		    json_integer_value(json_array_get(json_object_get(o, "index"), 0)), 3 * n + 1);
		if (n == 0)
			snprintf(want, sizeof want, "%s/%s.pcap", PART_US, LABEL_US);
		else
			snprintf(want, sizeof want, "%s/%s.seg%d.pcap", PART_US, LABEL_US, n);
		ck_assert_str_eq(json_string_value(json_object_get(o, "fpout")), want);
		ck_assert(json_is_null(json_object_get(o, "interface")));
		json_decref(o);
		n++;
	}
	ck_assert_int_eq(n, 3);
	free(text);
	rm_tree(dir);
}
END_TEST

/* --- unanswered connections (issue 25) ------------------------------------ */

#define P_SYN       "10.0.0.1_2000-10.0.0.2_81-1700000000.000100"
#define P_REF       "10.0.0.1_2001-10.0.0.2_82-1700000000.000200"
#define P_LATE      "10.0.0.1_2002-10.0.0.2_83-1700000000.000300"
#define SHARED_PCAP PART_US "/unanswered-1700000000.000200000.pcap" /* the first to end */

static int found_label; /* files whose name starts with the label looked for */
static const char *look_for;

static int
on_path(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	if (strncmp(path + ftw->base, look_for, strlen(look_for)) == 0)
		found_label++;
	return 0;
}

/* Files under dir (.active/ included) whose name starts with label. */
static int
files_named(const char *dir, const char *label)
{
	found_label = 0;
	look_for = label;
	ck_assert_int_eq(nftw(dir, on_path, 16, FTW_PHYS), 0);
	return found_label;
}

/*
 * Probes, a proven connection and a late answer through the engine at the
 * config's defaults (unanswered = mode): A SYN nobody answers (unanswered
 * after 5 s), a SYN answered by an RST (refused), a connection, and a SYN
 * answered 3 s later (past the flush interval: it waited in memory, then
 * got its own file). Returns the index lines (n of them) of dir.
 */
static json_t **
unanswered_run(char *dir, size_t dirlen, int mode, size_t *n)
{
	struct engine_config cfg;
	struct engine *e;
	struct source src;
	struct eframe ef;
	char path[PATH_MAX * 2], *text, *line, *save = NULL, *cause = NULL;
	json_t **lines = calloc(16, sizeof *lines);
	json_error_t jerr;

	make_tmpdir(dir, dirlen);
	table_defaults(&cfg);
	cfg.outdir = dir;
	cfg.outfd = dir_fd(dir);
	cfg.writer.unanswered = mode;
	e = engine_new(&cfg, &cause);
	ck_assert_msg(e != NULL, "%s", cause);
	memset(&src, 0, sizeof src);
	src.dlt = DLT_T_EN10MB;
	src.linktype = 1;
	src.snaplen = SNAPLEN;
	engine_add_source(e, &src);
	engine_send(e, &src, &ef, A, 2000, B, 81, TCPF_SYN, 10, 0, 0, 0, BASE_TS);
	engine_send(e, &src, &ef, A, 2001, B, 82, TCPF_SYN, 20, 0, 0, 0, BASE_TS + 100000);
	engine_send(e, &src, &ef, B, 82, A, 2001, TCPF_RST | TCPF_ACK, 0, 21, 0, 0, BASE_TS + MS);
	engine_send(e, &src, &ef, A, 2002, B, 83, TCPF_SYN, 30, 0, 0, 0, BASE_TS + 200000);
	engine_send(e, &src, &ef, A, 1234, B, 80, TCPF_SYN, 40, 0, 0, 0, BASE_TS + 2 * MS);
	engine_send(
	    e, &src, &ef, B, 80, A, 1234, TCPF_SYN | TCPF_ACK, 50, 41, 0, 0, BASE_TS + 3 * MS);
	engine_send(e, &src, &ef, A, 1234, B, 80, TCPF_ACK, 41, 51, 0, 0, BASE_TS + 2 * NS);
	engine_tick(e, BASE_TS + 2 * NS);
	engine_batch_end(e);
	engine_sync(e);
	/* past the flush interval: every buffer would have gone to its file by now */
	ck_assert_int_eq(files_named(dir, P_SYN), mode == UNANSWERED_OWN_FILE);
	ck_assert_int_eq(files_named(dir, P_LATE), mode == UNANSWERED_OWN_FILE);
	engine_send(
	    e, &src, &ef, B, 83, A, 2002, TCPF_SYN | TCPF_ACK, 60, 31, 0, 0, BASE_TS + 3 * NS);
	engine_send(e, &src, &ef, A, 1234, B, 80, TCPF_ACK, 41, 51, 0, 0, BASE_TS + 6 * NS);
	engine_tick(e, BASE_TS + 6 * NS);
	engine_batch_end(e);
	engine_sync(e);
	ck_assert_int_eq(files_named(dir, P_LATE), 1); /* answered: its own file */
	engine_finish_all(e, FLOW_R_EOF);
	engine_free(e);
	snprintf(path, sizeof path, "%s/index.jsonl", dir);
	text = slurp(path, NULL);
	for (*n = 0, line = strtok_r(text, "\n", &save); line != NULL && *n < 16;
	     line = strtok_r(NULL, "\n", &save)) {
		lines[*n] = json_loads(line, 0, &jerr);
		ck_assert_msg(lines[*n] != NULL, "%s", jerr.text);
		(*n)++;
	}
	free(text);
	return lines;
}

/* The probe's records, read back from where its line says they are: its packets, its frames. */
static void
assert_probe_records(const char *dir, json_t *o, const uint8_t *flags, size_t npk)
{
	char path[PATH_MAX * 2];
	size_t len, off, i;
	uint8_t *buf;
	uint32_t caplen;

	snprintf(path, sizeof path, "%s/%s", dir, json_string_value(json_object_get(o, "fpout")));
	buf = (uint8_t *)slurp(path, &len);
	off = (size_t)json_integer_value(json_object_get(o, "offset"));
	ck_assert_uint_gt(off, PCAP_FILEHDR_LEN - 1);
	for (i = 0; i < npk; i++) {
		ck_assert_uint_le(off + PCAP_RECHDR_LEN, len);
		memcpy(&caplen, buf + off + 8, 4);
		/* Ethernet 14 + IPv4 20: the TCP flags at 13 */
		ck_assert_uint_eq(buf[off + PCAP_RECHDR_LEN + 14 + 20 + 13], flags[i]);
		off += PCAP_RECHDR_LEN + caplen;
	}
	ck_assert_uint_eq(off - (size_t)json_integer_value(json_object_get(o, "offset")),
	    (size_t)json_integer_value(json_object_get(o, "length")));
	ck_assert_uint_eq(json_array_size(json_object_get(o, "index")), npk);
	free(buf);
}

/* Shared captures filed: under dir, .active/ left out. */
static int filed_shared;

static int
on_filed_shared(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	if (type == FTW_F && strncmp(path + ftw->base, "unanswered-", 11) == 0 &&
	    strstr(path, "/.active/") == NULL)
		filed_shared++;
	return 0;
}

static int
shared_filed(const char *dir)
{
	filed_shared = 0;
	ck_assert_int_eq(nftw(dir, on_filed_shared, 16, FTW_PHYS), 0);
	return filed_shared;
}

/* A refused connection (a SYN, an RST): a probe for the shared capture at once. */
static void
refused_probe(struct engine *e, struct source *src, uint16_t port, uint64_t t)
{
	struct eframe ef;

	engine_send(e, src, &ef, A, port, B, 81, TCPF_SYN, 10, 0, 0, 0, t);
	engine_send(e, src, &ef, B, 81, A, port, TCPF_RST | TCPF_ACK, 0, 11, 0, 0, t + MS);
	engine_batch_end(e);
}

/*
 * Two workers' writers each ask for the shared capture to be filed
 * unanswered_rotate after their own first probe: the second asks about the
 * capture the first had filed already, and must not file the young one
 * that followed (N workers would make N captures a period).
 */
START_TEST(test_shared_rotate_workers)
{
	struct engine_config cfg;
	struct engine *e[2];
	struct source src[2];
	char dir[PATH_MAX], *cause = NULL;
	int i;

	make_tmpdir(dir, sizeof dir);
	table_defaults(&cfg);
	cfg.outdir = dir;
	cfg.outfd = dir_fd(dir);
	cfg.writer.unanswered = UNANSWERED_SHARED;
	cfg.writer.unanswered_rotate = NS;
	cfg.flow.linger_ns = 0; /* a refused probe ends at its RST */
	for (i = 0; i < 2; i++) {
		cfg.peer = i > 0 ? e[0] : NULL;
		e[i] = engine_new(&cfg, &cause);
		ck_assert_msg(e[i] != NULL, "%s", cause);
		memset(&src[i], 0, sizeof src[i]);
		src[i].dlt = DLT_T_EN10MB;
		src[i].linktype = 1;
		src[i].snaplen = SNAPLEN;
		engine_add_source(e[i], &src[i]);
	}
	refused_probe(e[0], &src[0], 3000, BASE_TS);
	refused_probe(e[1], &src[1], 3001, BASE_TS + NS / 2);
	engine_tick(e[1], BASE_TS + 6 * NS / 10); /* it ends: into the first capture */
	engine_batch_end(e[1]);
	engine_sync(e[1]);
	engine_tick(e[0], BASE_TS + NS + NS / 10); /* worker 0's bound: the capture is filed */
	engine_batch_end(e[0]);
	engine_sync(e[0]);
	ck_assert_int_eq(shared_filed(dir), 1);
	refused_probe(e[1], &src[1], 3002, BASE_TS + NS + NS / 5); /* a new capture */
	engine_tick(e[1], BASE_TS + NS + 3 * NS / 5);              /* worker 1's bound */
	engine_batch_end(e[1]);
	engine_sync(e[1]);
	ck_assert_int_eq(shared_filed(dir), 1);
	/* No probe since: the second is filed at its own bound all the same. */
	for (i = 0; i < 2; i++) {
		engine_tick(e[i], BASE_TS + 2 * NS + NS / 10);
		engine_batch_end(e[i]);
		engine_sync(e[i]);
	}
	ck_assert_int_eq(shared_filed(dir), 1);
	for (i = 0; i < 2; i++) {
		engine_tick(e[i], BASE_TS + 2 * NS + 3 * NS / 10);
		engine_batch_end(e[i]);
		engine_sync(e[i]);
	}
	ck_assert_int_eq(shared_filed(dir), 2);
	for (i = 0; i < 2; i++)
		engine_finish_all(e[i], FLOW_R_EOF);
	engine_free(e[1]);
	engine_free(e[0]);
	ck_assert_int_eq(shared_filed(dir), 2);
	rm_tree(dir);
}
END_TEST

START_TEST(test_unanswered_shared)
{
	static const uint8_t syn[] = {TCPF_SYN}, refused[] = {TCPF_SYN, TCPF_RST | TCPF_ACK};
	char dir[PATH_MAX];
	json_t **lines, *p, *r;
	size_t n, i;

	lines = unanswered_run(dir, sizeof dir, UNANSWERED_SHARED, &n);
	ck_assert_uint_eq(n, 4);
	p = index_line_for(lines, n, P_SYN);
	r = index_line_for(lines, n, P_REF);
	ck_assert_str_eq(json_string_value(json_object_get(p, "reason")), "unanswered");
	ck_assert_str_eq(json_string_value(json_object_get(r, "reason")), "refused");
	ck_assert_str_eq(json_string_value(json_object_get(p, "fpout")), SHARED_PCAP);
	ck_assert_str_eq(json_string_value(json_object_get(r, "fpout")), SHARED_PCAP);
	assert_probe_records(dir, p, syn, 1);
	assert_probe_records(dir, r, refused, 2);
	ck_assert_int_eq(files_named(dir, P_SYN), 0);
	ck_assert_int_eq(files_named(dir, P_REF), 0);
	ck_assert_int_eq(files_named(dir, "unanswered-"), 1);
	/* the connection and the late answer: their own files, no place in a shared one */
	for (i = 0; i < n; i++)
		if (lines[i] != p && lines[i] != r) {
			ck_assert(json_is_null(json_object_get(lines[i], "offset")));
			ck_assert_ptr_null(strstr(
			    json_string_value(json_object_get(lines[i], "fpout")), "unanswered"));
		}
	for (i = 0; i < n; i++)
		json_decref(lines[i]);
	free(lines);
	rm_tree(dir);
}
END_TEST

/* own-file: a file per probe, as before; count: no file, the line and its counters. */
START_TEST(test_unanswered_modes)
{
	char dir[PATH_MAX];
	json_t **lines, *p;
	size_t n, i;

	lines = unanswered_run(dir, sizeof dir, UNANSWERED_OWN_FILE, &n);
	ck_assert_uint_eq(n, 4);
	p = index_line_for(lines, n, P_SYN);
	ck_assert_str_eq(json_string_value(json_object_get(p, "fpout")), PART_US "/" P_SYN ".pcap");
	ck_assert(json_is_null(json_object_get(p, "offset")));
	ck_assert_int_eq(files_named(dir, "unanswered-"), 0);
	for (i = 0; i < n; i++)
		json_decref(lines[i]);
	free(lines);
	rm_tree(dir);

	lines = unanswered_run(dir, sizeof dir, UNANSWERED_COUNT, &n);
	ck_assert_uint_eq(n, 4);
	p = index_line_for(lines, n, P_REF);
	ck_assert(json_is_null(json_object_get(p, "fpout")));
	ck_assert_int_eq(json_integer_value(json_object_get(p, "packets")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "written")), 0);
	ck_assert_int_eq(files_named(dir, P_REF), 0);
	ck_assert_int_eq(files_named(dir, "unanswered-"), 0);
	for (i = 0; i < n; i++)
		json_decref(lines[i]);
	free(lines);
	rm_tree(dir);
}
END_TEST

/*
 * The index line written by hand is exactly what jansson would write of
 * the same record: for IPv4 and IPv6, VLAN tags or none, an interface or
 * none, a file name with characters JSON escapes, whole and odd times.
 */
START_TEST(test_index_line_as_jansson)
{
	static const char *fpouts[] = {"", "plain.pcap", "we\"ird\\dir/tab\there\x01.pcap"};
	static const char *frames = "[1,2,30]";
	char dir[PATH_MAX], path[PATH_MAX * 2], *text, *want, *cause = NULL, *line, *nl;
	uint32_t a = htonl(A), b = htonl(B);
	struct index_record r;
	struct flow_index *idx;
	struct flow f;
	json_t *o;
	int n;

	for (n = 0; n < 6; n++) {
		memset(&f, 0, sizeof f);
		f.key.af = n % 2 ? 6 : 4;
		if (n % 2) {
			f.key.a[0] = 0x20;
			f.key.a[1] = 0x01;
			f.key.a[15] = 1;
			f.key.b[0] = 0xfe;
			f.key.b[1] = 0x80;
			f.key.b[15] = 2;
		} else {
			memcpy(f.key.a, &a, 4);
			memcpy(f.key.b, &b, 4);
		}
		f.key.aport = 1234;
		f.key.bport = 80;
		f.key.nvlan = (uint8_t)(n % 3);
		f.key.vlan[0] = 100;
		f.key.vlan[1] = 4095;
		f.first = f.seg_first = n < 3 ? BASE_TS : 1700000000ull * 1000000000ull;
		f.seg_last = f.seg_first + (uint64_t)n * 123456789;
		f.seg_packets = 3 + (uint32_t)n;
		f.seg_bytes = 999;
		f.reason = n % 2 ? FLOW_R_RST : FLOW_R_SUBMIT;
		f.flags = n == 4 ? FLOWF_PARTIAL : 0;
		f.seg_no = (uint32_t)n;
		index_record_make(&r, &f, n % 2 ? "eth0" : NULL, n % 2);
		snprintf(r.fpout, sizeof r.fpout, "%s", fpouts[n % 3]);
		r.truncated = n == 5;
		r.written = n == 5 ? 1 : r.packets;

		o = index_record_json(&r);
		json_object_set_new(o, "index", json_loads(frames, 0, NULL));
		want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);

		make_tmpdir(dir, sizeof dir);
		idx = index_open(dir_fd(dir), dir, &cause);
		ck_assert_ptr_nonnull(idx);
		ck_assert_int_eq(index_append_record(idx, &r, frames), 0);
		index_close(idx);
		snprintf(path, sizeof path, "%s/index.jsonl", dir);
		text = slurp(path, NULL);
		line = text;
		ck_assert_ptr_nonnull((nl = strchr(line, '\n')));
		*nl = '\0';
		ck_assert_str_eq(line, want);
		free(text);
		free(want);
		rm_tree(dir);

		/* An active flow's listing entry: the same by hand as through jansson. */
		{
			static const char *files[] = {".active/x.pcap", NULL};
			uint64_t age = (uint64_t)n * 1234567891;
			struct text got = {NULL, 0, 0};

			o = index_record_json(&r);
			json_object_set_new(o, "state", json_string(n % 2 ? "closing" : "active"));
			json_object_set_new(o, "reason",
			    n % 2 ? json_string(flow_reason_name(r.reason)) : json_null());
			json_object_set_new(o, "age", json_real((double)age / 1e9));
			json_object_set_new(
			    o, "file", files[n % 2] ? json_string(files[n % 2]) : json_null());
			want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
			json_decref(o);
			index_active_text(
			    &got, &r, n % 2 ? "closing" : "active", n % 2, age, files[n % 2]);
			ck_assert_uint_eq(got.len, strlen(want));
			ck_assert_mem_eq(got.s, want, got.len);
			free(got.s);
			free(want);
		}
	}
}
END_TEST

START_TEST(test_index_entry_direct)
{
	struct flow f;
	uint32_t a = htonl(A), b = htonl(B);
	json_t *o;
	char dir[PATH_MAX], path[PATH_MAX * 2], *text, *cause = NULL;
	struct flow_index *idx;

	memset(&f, 0, sizeof f);
	f.key.af = 4;
	memcpy(f.key.a, &a, 4);
	memcpy(f.key.b, &b, 4);
	f.key.aport = 1234;
	f.key.bport = 80;
	f.key.nvlan = 2;
	f.key.vlan[0] = 100;
	f.key.vlan[1] = 200;
	f.first = f.seg_first = BASE_TS;
	f.seg_last = BASE_TS + 5;
	f.seg_packets = 3;
	f.seg_bytes = 999;
	f.reason = FLOW_R_IDLE;
	f.suffix = 2;
	o = index_entry(&f, NULL, NULL, 1, 0);
	ck_assert(json_is_null(json_object_get(o, "fpout")));
	ck_assert(json_is_null(json_object_get(o, "interface")));
	ck_assert_ptr_null(json_object_get(o, "index"));
	ck_assert_str_eq(json_string_value(json_object_get(o, "label")), LABEL_NS "-2");
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(o, "vlan"), 1)), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "bytes")), 999);
	ck_assert_str_eq(json_string_value(json_object_get(o, "reason")), "idle");
	ck_assert(json_is_false(json_object_get(o, "partial")));

	make_tmpdir(dir, sizeof dir);
	idx = index_open(dir_fd(dir), dir, &cause);
	ck_assert_ptr_nonnull(idx);
	ck_assert_int_eq(index_append(idx, o), 0);
	ck_assert_int_eq(index_append(idx, o), 0);
	index_flush(idx);
	index_close(idx);
	json_decref(o);
	snprintf(path, sizeof path, "%s/index.jsonl", dir);
	text = slurp(path, NULL);
	ck_assert_uint_eq(count_str(text, "\n"), 2);
	ck_assert_uint_eq(count_str(text, "\"label\":\"" LABEL_NS "-2\""), 2);
	free(text);
	/* An output folder that does not exist. */
	snprintf(path, sizeof path, "%s/nonexistent", dir);
	ck_assert_ptr_null(index_open(dir_fd(path), path, &cause));
	ck_assert_ptr_nonnull(cause);
	free(cause);
	rm_tree(dir);
}
END_TEST

/* --- write errors ------------------------------------------------------------------------ */

/*
 * Limit the size of files this process writes (EFBIG beyond it); -1 lifts
 * the limit again. Check itself writes to a temporary file on every
 * assertion, so nothing may call ck_assert while the limit is on: the
 * harness goes quiet and the result of setrlimit is checked afterwards.
 */
static int limit_failed;

static void
limit_fsize(struct wt *c, long long bytes)
{
	static struct rlimit saved;
	static int have;
	struct rlimit rl;

	if (bytes < 0) {
		if (have && setrlimit(RLIMIT_FSIZE, &saved) == -1)
			limit_failed = 1;
		have = 0;
		c->quiet = 0;
		ck_assert_int_eq(limit_failed, 0);
		return;
	}
	if (!have) {
		ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &saved), 0);
		have = 1;
	}
	signal(SIGXFSZ, SIG_IGN);
	rl = saved;
	rl.rlim_cur = (rlim_t)bytes;
	c->quiet = 1;
	if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
		limit_failed = 1;
}

/*
 * Writes that fail at a record boundary: counted, logged, the data that
 * could not be written counted as lost, and the file keeps what was written.
 */
START_TEST(test_write_error_counted)
{
	struct wt *c = wt_new();
	char path[PATH_MAX * 2];
	const struct output_stats *st;
	uint64_t total;
	int i;

	c->wc.flow_buffer = 1; /* each record is its own write */
	wt_start(c);
	wt_flow(c, 0, 0, TCPF_SYN, 0, BASE_TS);
	wt_flow(c, 0, 1, TCPF_SYN | TCPF_ACK, 0, BASE_TS + 1);
	limit_fsize(c, 24 + 2 * (16 + 54));
	for (i = 0; i < 5; i++)
		wt_flow(c, 0, 0, TCPF_ACK, 10, BASE_TS + 2 + (uint64_t)i);
	limit_fsize(c, -1);
	st = wt_stats(c);
	ck_assert_uint_eq(st->write_errors, 5);
	ck_assert_uint_eq(st->bytes_lost, 5 * (16 + 64));
	total = 24 + 2 * (16 + 54) + 5 * (16 + 64);
	ck_assert_uint_eq(st->bytes + st->bytes_lost, total);
	flowtab_end_all(c->t, FLOW_R_EOF);
	/* The file is in place and holds the two records that fit. */
	ck_assert_str_eq(c->done[0].fpout, LABEL_US ".pcap");
	path_of(c, c->done[0].fpout, path, sizeof path);
	verify_pcap(path, 0, 0, SNAPLEN, c, 0, 1, 2);
	wt_free(c);
}
END_TEST

/*
 * A write that fails part-way through a record must not leave half a record
 * in the file: later records (once space is back) would be misparsed.
 */
START_TEST(test_write_error_partial_record)
{
	struct wt *c = wt_new();
	char path[PATH_MAX * 2];
	unsigned char *img;
	size_t len;
	const struct output_stats *st;

	c->wc.flow_buffer = 1;
	wt_start(c);
	wt_flow(c, 0, 0, TCPF_SYN, 0, BASE_TS);
	limit_fsize(c, 24 + 16 + 54 + 30); /* the next record is cut after 30 bytes */
	wt_flow(c, 0, 1, TCPF_SYN | TCPF_ACK, 0, BASE_TS + 1);
	limit_fsize(c, -1);
	st = wt_stats(c);
	ck_assert_uint_ge(st->write_errors, 1);
	/* Space is back: the rest of the flow is written. */
	wt_flow(c, 0, 0, TCPF_ACK, 0, BASE_TS + 2);
	wt_flow(c, 0, 0, TCPF_ACK, 5, BASE_TS + 3);
	flowtab_end_all(c->t, FLOW_R_EOF);
	path_of(c, c->done[0].fpout, path, sizeof path);
	img = (unsigned char *)slurp(path, &len);
	ck_assert_msg(pcapfile_valid_prefix(img, len, NULL) == len,
	    "file has %zu bytes but only %zu are whole records", len,
	    pcapfile_valid_prefix(img, len, NULL));
	free(img);
	/* What was lost is accounted for exactly once (a fresh snapshot of the counters). */
	st = wt_stats(c);
	ck_assert_uint_eq(st->bytes + st->bytes_lost, 24 + 4 * 16 + 4 * 54 + 5);
	wt_free(c);
}
END_TEST

/* If the very first write (with the file header) fails, the file must not go on without it. */
START_TEST(test_write_error_header)
{
	struct wt *c = wt_new();
	char path[PATH_MAX * 2];
	unsigned char *img;
	size_t len;

	c->wc.flow_buffer = 1;
	wt_start(c);
	limit_fsize(c, 0);
	wt_flow(c, 0, 0, TCPF_SYN, 0, BASE_TS);
	limit_fsize(c, -1);
	ck_assert_uint_eq(wt_stats(c)->write_errors, 1);
	ck_assert_uint_eq(wt_stats(c)->bytes_lost, 16 + 54);
	wt_flow(c, 0, 1, TCPF_SYN | TCPF_ACK, 0, BASE_TS + 1);
	flowtab_end_all(c->t, FLOW_R_EOF);
	if (c->done[0].fpout[0] != '\0') {
		/* Either no file at all, or a valid one. */
		path_of(c, c->done[0].fpout, path, sizeof path);
		img = (unsigned char *)slurp(path, &len);
		ck_assert_msg(len > 0 && pcapfile_valid_prefix(img, len, NULL) == len,
		    "%zu-byte file without a valid pcap header", len);
		free(img);
	}
	wt_free(c);
}
END_TEST

/*
 * A full disk (ENOSPC on every write): the file's descriptor was closed by
 * the budget and on reopen the name leads to /dev/full. Nothing crashes,
 * every failed write is counted and its bytes lost.
 */
START_TEST(test_write_error_enospc)
{
	struct wt *c = wt_new();
	char apath[PATH_MAX * 2];
	const struct output_stats *st;
	int i;

	c->wc.flow_buffer = 1;
	c->wc.max_open_files = 1;
	wt_start(c);
	wt_flow(c, 0, 0, TCPF_SYN, 0, BASE_TS);
	wt_flow(c, 1, 0, TCPF_SYN, 0, BASE_TS + 1); /* closes flow 0's descriptor */
	snprintf(apath, sizeof apath, "%s/%s.pcap", c->active, LABEL_US);
	ck_assert_int_eq(file_size(apath), 24 + 16 + 54);
	ck_assert_int_eq(unlink(apath), 0);
	if (symlink("/dev/full", apath) == -1 || access("/dev/full", W_OK) == -1) {
		wt_free(c);
		return; /* no /dev/full here */
	}
	for (i = 0; i < 4; i++) {
		wt_flow(c, 0, 0, TCPF_ACK, 0, BASE_TS + 2 + (uint64_t)i);
		wt_flow(c, 1, 0, TCPF_ACK, 0, BASE_TS + 2 + (uint64_t)i);
	}
	st = wt_stats(c);
	ck_assert_uint_eq(st->write_errors, 4);
	ck_assert_uint_eq(st->bytes_lost, 4 * (16 + 54));
	ck_assert_uint_le(st->open_files, 1);
	flowtab_end_all(c->t, FLOW_R_EOF);
	ck_assert_uint_eq(c->ndone, 2);
	/* Flow 1 lost nothing. */
	ck_assert_str_eq(
	    wt_done_for(c, 2)->fpout, "10.0.0.1_1235-10.0.0.2_80-1700000000.000100.pcap");
	{
		char path[PATH_MAX * 2];

		path_of(c, wt_done_for(c, 2)->fpout, path, sizeof path);
		verify_pcap(path, 0, 0, SNAPLEN, c, 1, 0, UINT64_MAX);
	}
	wt_free(c);
}
END_TEST

/* filer_new on a folder that does not exist fails with a cause. */
START_TEST(test_writer_new_fails)
{
	struct writer_config wc;
	struct filer_config flc;
	struct flow_config fc;
	char *cause = NULL;

	wt_defaults(&wc, &fc);
	writer_filer_config(&wc, &flc);
	ck_assert_ptr_null(filer_new(
	    dir_fd("/nonexistent/traceflow-test"), "/nonexistent/traceflow-test", &flc, 0, &cause));
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, "/nonexistent/traceflow-test"));
	free(cause);
}
END_TEST

/* The index's frame numbers, written by hand from struct flow's LEB128 deltas. */
START_TEST(test_index_frames_text)
{
	/* Frames 1, 2, 130, 20000, 2^40: deltas 1, 1, 128, 19870, 2^40 - 20000. */
	static const uint8_t fn[] = {
	    0x01, 0x01, 0x80, 0x01, 0x9e, 0x9b, 0x01, 0xe0, 0xe3, 0xfe, 0xff, 0xff, 0x1f};
	char *t;

	t = index_frames_text(fn, sizeof fn);
	ck_assert_str_eq(t, "[1,2,130,20000,1099511627776]");
	free(t);
	t = index_frames_text(NULL, 0);
	ck_assert_str_eq(t, "[]");
	free(t);
}
END_TEST

/* Append n bytes of value v to chain ch. */
static void
log_put(struct chunk_pool *p, struct chunk_chain *ch, size_t n, int v)
{
	memset(chunk_reserve(p, n), v, n);
	chunk_commit(p, ch, n);
}

/* The chain's bytes, in order, as the filer would write them. */
static size_t
log_bytes(const struct chunk_chain *ch, uint8_t *out, size_t max)
{
	size_t n = chunk_chain_slots(ch), i, len = 0;
	struct iovec *iov = calloc(n + 1, sizeof *iov);
	struct chunk_walk w;

	chunk_walk_begin(&w, ch, iov);
	while (chunk_walk_step(&w))
		;
	for (i = 0; i < n; i++) {
		ck_assert_uint_le(len + iov[i].iov_len, max);
		memcpy(out + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	free(iov);
	return len;
}

/*
 * The log: records of two flows interleaved come back each in its own
 * order; a flow's records in a row share a slot; slots spill into the log;
 * a record bigger than a chunk gets its own; a chunk goes back to the pool
 * only once every record in it is released, and the pool keeps at most
 * CHUNK_IDLE_MAX.
 */
START_TEST(test_chunk_log)
{
	struct chunk_pool *p = chunk_pool_new();
	struct chunk_chain a = {0}, b = {0}, big = {0};
	static uint8_t out[4 * CHUNK_SIZE];
	size_t i, n, len;
	uint64_t first;

	first = chunk_head_seq(p);
	for (i = 0; i < 3000; i++) {
		log_put(p, &a, 100 + i % 7, (int)(i & 0x7f));
		log_put(p, &b, 50, 0x80 | (int)(i & 0x7f));
	}
	ck_assert_uint_eq(chunk_chain_slots(&a), 3000);
	ck_assert_uint_gt(a.nspill, 0);
	len = log_bytes(&a, out, sizeof out);
	for (i = 0, n = 0; i < 3000; n += 100 + i % 7, i++) {
		ck_assert_int_eq(out[n], (int)(i & 0x7f));
		ck_assert_int_eq(out[n + 99], (int)(i & 0x7f));
	}
	ck_assert_uint_eq(len, n);
	ck_assert_uint_eq(log_bytes(&b, out, sizeof out), 150000);
	ck_assert_int_eq(out[149999], 0x80 | (2999 & 0x7f));
	/* More than a chunk was written: the first is held, and is the oldest. */
	ck_assert_uint_gt(chunk_pool_held(p), CHUNK_SIZE);
	ck_assert_uint_eq(chunk_oldest_seq(p), first);

	/* Three records of one flow in a row: one slot. */
	log_put(p, &big, 10, 1);
	log_put(p, &big, 10, 2);
	log_put(p, &big, 10, 3);
	ck_assert_uint_eq(chunk_chain_slots(&big), 1);
	/* One bigger than a chunk: a chunk of its own, all of it ours (ASan would say). */
	log_put(p, &big, CHUNK_SIZE + 1, 4);
	ck_assert_uint_eq(chunk_chain_slots(&big), 2);
	ck_assert_uint_eq(log_bytes(&big, out, sizeof out), 30 + CHUNK_SIZE + 1);
	ck_assert_int_eq(out[29], 3);
	ck_assert_int_eq(out[30 + CHUNK_SIZE], 4);

	/* a's release frees nothing: b has records in every chunk a has. */
	ck_assert_ptr_null(chunk_chain_release(&a, NULL));
	chunk_recycle(p, chunk_chain_release(&b, NULL));
	/* All but the head and big's are free now; the oldest held is the head's. */
	ck_assert_uint_ne(chunk_oldest_seq(p), first);
	ck_assert_uint_gt(chunk_pool_idle(p), 0);
	chunk_recycle(p, chunk_chain_release(&big, NULL));
	ck_assert_uint_eq(chunk_oldest_seq(p), UINT64_MAX);
	ck_assert_uint_le(chunk_pool_held(p), CHUNK_SIZE);

	/* Never more than CHUNK_IDLE_MAX idle. */
	memset(&a, 0, sizeof a);
	for (i = 0; i < CHUNK_IDLE_MAX / CHUNK_SIZE + 8; i++)
		log_put(p, &a, CHUNK_SIZE / 2 + 1, 5); /* one chunk each */
	chunk_recycle(p, chunk_chain_release(&a, NULL));
	ck_assert_uint_le(chunk_pool_idle(p), CHUNK_IDLE_MAX);
	ck_assert_uint_ge(chunk_pool_idle(p), CHUNK_IDLE_MAX - CHUNK_SIZE);
	chunk_pool_free(p);
}
END_TEST

/*
 * Quiet flows, one record each and never flushed for their size, every one
 * in a later chunk of the log, while a busy flow fills it: the log still
 * holds no more than the budget (the flows that hold its oldest chunk hand
 * their buffers over), and every frame is in its file. Inline and threaded.
 */
START_TEST(test_log_budget)
{
	struct wt *c = wt_new();
	const size_t budget = 4 * CHUNK_SIZE;
	char path[PATH_MAX * 2];
	uint64_t first[160];
	struct chunk_pool *pool;
	int i, k = 1;

	c->wc.threaded = _i;
	c->wc.buffer_total = budget;
	c->wc.flow_buffer = 16 * 1024;
	wt_start(c);
	pool = filer_pool(c->fl);
	first[0] = c->frame + 1;
	wt_flow(c, 0, 0, TCPF_SYN, 0, BASE_TS);
	for (i = 0; i < 7800; i++) {
		wt_flow(c, 0, i & 1, TCPF_ACK, 1400, BASE_TS + MS + (uint64_t)i);
		if (i % 60 == 0 && k < 130) {
			first[k] = c->frame + 1;
			wt_flow(c, k++, 0, TCPF_SYN, 0, BASE_TS + MS + (uint64_t)i);
		}
		ck_assert_uint_le(chunk_pool_held(pool), budget + CHUNK_SIZE);
	}
	flowtab_end_all(c->t, FLOW_R_EOF);
	writer_flush_all(c->w);
	filer_sync(c->fl);
	filer_poll(c->fl);
	ck_assert_uint_eq(c->ndone, (size_t)k);
	for (i = 0; i < k; i++) {
		path_of(c, wt_done_for(c, first[i])->fpout, path, sizeof path);
		verify_pcap(path, 0, 0, SNAPLEN, c, i, 0, UINT64_MAX);
	}
	wt_free(c);
}
END_TEST

/* One flow buffered across many chunks (more than one writev's small vector): the same bytes. */
START_TEST(test_long_chain)
{
	struct wt *c = wt_new();
	char path[PATH_MAX * 2];
	int i;

	c->wc.flow_buffer = 1 << 20;
	wt_start(c);
	wt_flow(c, 0, 0, TCPF_SYN, 0, BASE_TS);
	for (i = 0; i < 900; i++)
		wt_flow(
		    c, 0, i & 1, TCPF_ACK, (uint32_t)(i * 7 % 1400), BASE_TS + MS + (uint64_t)i);
	ck_assert_uint_eq(wt_stats(c)->writes, 0); /* all of it still in one chain */
	flowtab_end_all(c->t, FLOW_R_EOF);
	ck_assert_uint_eq(c->ndone, 1);
	ck_assert_uint_eq(wt_stats(c)->writes, 1);
	path_of(c, wt_done_for(c, 1)->fpout, path, sizeof path);
	verify_pcap(path, 0, 0, SNAPLEN, c, 0, 0, UINT64_MAX);
	wt_free(c);
}
END_TEST

static Suite *
writer_suite(void)
{
	Suite *s = suite_create("writer");
	TCase *tc;

	tc = tcase_create("pcap");
	tcase_add_loop_test(tc, test_pcap_roundtrip, 0, 4);
	tcase_add_test(tc, test_pcap_snaplen_cut);
	tcase_add_loop_test(tc, test_pcapng_roundtrip, 0, 4);
	tcase_add_test(tc, test_pcapfile_headers);
	tcase_add_test(tc, test_valid_prefix);
	tcase_add_test(tc, test_index_frames_text);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_test(tc, test_active_then_move);
	tcase_add_test(tc, test_no_overwrite_output);
	tcase_add_test(tc, test_no_overwrite_active);
	tcase_add_test(tc, test_fd_budget);
	tcase_add_test(tc, test_buffer_budget);
	tcase_add_test(tc, test_chunk_log);
	tcase_add_test(tc, test_long_chain);
	tcase_add_test(tc, test_flush_interval);
	tcase_add_test(tc, test_flush_interval_off);
	tcase_add_test(tc, test_layout_dated);
	tcase_add_test(tc, test_layout_escape);
	tcase_add_test(tc, test_segment_files);
	tcase_add_test(tc, test_writer_new_fails);
	suite_add_tcase(s, tc);

	/* 2 x 7,800 records verified byte by byte: seconds in the sanitizer build, past check's 4
	 * s. */
	tc = tcase_create("log");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_log_budget, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("formats");
	tcase_add_test(tc, test_format_json);
	tcase_add_loop_test(tc, test_format_plist, 0, 2);
	tcase_add_test(tc, test_format_tree);
	tcase_add_test(tc, test_format_none);
	tcase_add_test(tc, test_format_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("index");
	tcase_add_test(tc, test_engine_index);
	tcase_add_test(tc, test_engine_workers);
	tcase_add_test(tc, test_shared_rotate_workers);
	tcase_add_test(tc, test_engine_segments);
	tcase_add_test(tc, test_unanswered_shared);
	tcase_add_test(tc, test_unanswered_modes);
	tcase_add_test(tc, test_index_entry_direct);
	tcase_add_test(tc, test_index_line_as_jansson);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_write_error_counted);
	tcase_add_test(tc, test_write_error_partial_record);
	tcase_add_test(tc, test_write_error_header);
	tcase_add_test(tc, test_write_error_enospc);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	char base[] = "/tmp/check_writer.XXXXXX";
	SRunner *sr;
	int failed;

	/* The error tests provoke warnings on purpose; the counters are what they check. */
	log_init("check_writer", LOG_LVL_ERR, LOG_TO_STDERR);
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	snprintf(tmp_base, sizeof tmp_base, "%s", base);
	sr = srunner_create(writer_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	rm_tree(tmp_base);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
