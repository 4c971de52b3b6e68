/*
 * check_capfile.c: unit tests for the capture file reader (src/capfile.c).
 *
 * Files are built here byte by byte, in either byte order, so that every
 * field can be set, cut or broken: pcap in its four magics and the
 * modified format; pcapng with every block type, several sections,
 * interfaces of their own link type, snaplen, resolution and offset. The
 * same files are read from memory, through the mapped-file path and
 * through a pipe (the window that slides over standard input), and must
 * give the same records.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capfile.h"

#define NS      1000000000ULL
#define T0      1700000000ULL /* seconds */
#define MAXRECS 64

/* --- a byte builder in either order ---------------------------------------- */

struct nb {
	uint8_t *b;
	size_t len, cap;
	int big;
	size_t blk; /* start of the open block */
};

static void
nb_room(struct nb *n, size_t k)
{
	if (n->cap - n->len >= k)
		return;
	while (n->cap - n->len < k)
		n->cap = n->cap ? n->cap * 2 : 4096;
	n->b = realloc(n->b, n->cap);
	ck_assert_ptr_nonnull(n->b);
}

static void
nb_bytes(struct nb *n, const void *p, size_t k)
{
	nb_room(n, k);
	memcpy(n->b + n->len, p, k);
	n->len += k;
}

static void
nb_u(struct nb *n, uint64_t v, int width)
{
	uint8_t t[8];
	int i;

	for (i = 0; i < width; i++)
		t[n->big ? width - 1 - i : i] = (uint8_t)(v >> (8 * i));
	nb_bytes(n, t, (size_t)width);
}

static void
nb_pad(struct nb *n)
{
	while (n->len % 4)
		nb_u(n, 0, 1);
}

static void
set32(struct nb *n, size_t at, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		n->b[at + (size_t)(n->big ? 3 - i : i)] = (uint8_t)(v >> (8 * i));
}

static void
blk_begin(struct nb *n, uint32_t type)
{
	n->blk = n->len;
	nb_u(n, type, 4);
	nb_u(n, 0, 4);
}

static void
blk_end(struct nb *n)
{
	uint32_t len;

	nb_pad(n);
	len = (uint32_t)(n->len - n->blk + 4);
	set32(n, n->blk + 4, len);
	nb_u(n, len, 4);
}

static void
opt(struct nb *n, uint16_t code, const void *p, uint16_t len)
{
	nb_u(n, code, 2);
	nb_u(n, len, 2);
	nb_bytes(n, p, len);
	nb_pad(n);
}

static void
opt_end(struct nb *n)
{
	nb_u(n, 0, 4);
}

static void
shb(struct nb *n, int big)
{
	n->big = big;
	blk_begin(n, 0x0a0d0d0a);
	nb_u(n, 0x1a2b3c4d, 4);
	nb_u(n, 1, 2);
	nb_u(n, 0, 2);
	nb_u(n, UINT64_MAX, 8); /* section length unknown */
	opt(n, 1, "a comment", 9);
	opt_end(n);
	blk_end(n);
}

/* An IDB; tsresol 0xff: no option. name NULL: none. tsoffset 0: none. */
static void
idb(struct nb *n, uint16_t linktype, uint32_t snaplen, const char *name, int tsresol,
    int64_t tsoffset)
{
	uint8_t r = (uint8_t)tsresol;

	blk_begin(n, 1);
	nb_u(n, linktype, 2);
	nb_u(n, 0, 2);
	nb_u(n, snaplen, 4);
	if (name != NULL)
		opt(n, 2, name, (uint16_t)strlen(name));
	if (tsresol != 0xff)
		opt(n, 9, &r, 1);
	if (tsoffset != 0) {
		nb_u(n, 14, 2);
		nb_u(n, 8, 2);
		nb_u(n, (uint64_t)tsoffset, 8);
	}
	opt_end(n);
	blk_end(n);
}

static void
payload(struct nb *n, uint32_t caplen, uint8_t seed)
{
	uint32_t i;

	for (i = 0; i < caplen; i++)
		nb_u(n, (uint8_t)(seed + i), 1);
	nb_pad(n);
}

static void
epb(struct nb *n, uint32_t ifid, uint64_t ticks, uint32_t caplen, uint32_t wire, uint8_t seed)
{
	blk_begin(n, 6);
	nb_u(n, ifid, 4);
	nb_u(n, ticks >> 32, 4);
	nb_u(n, ticks & 0xffffffffu, 4);
	nb_u(n, caplen, 4);
	nb_u(n, wire, 4);
	payload(n, caplen, seed);
	opt(n, 2, "\0\0\0\1", 4); /* epb_flags */
	opt_end(n);
	blk_end(n);
}

static void
pb(struct nb *n, uint16_t ifid, uint64_t ticks, uint32_t caplen, uint32_t wire, uint8_t seed)
{
	blk_begin(n, 2);
	nb_u(n, ifid, 2);
	nb_u(n, 0, 2); /* drops */
	nb_u(n, ticks >> 32, 4);
	nb_u(n, ticks & 0xffffffffu, 4);
	nb_u(n, caplen, 4);
	nb_u(n, wire, 4);
	payload(n, caplen, seed);
	blk_end(n);
}

static void
spb(struct nb *n, uint32_t wire, uint32_t stored, uint8_t seed)
{
	blk_begin(n, 3);
	nb_u(n, wire, 4);
	payload(n, stored, seed);
	blk_end(n);
}

/* A block we only skip: type and a body of k bytes. */
static void
other(struct nb *n, uint32_t type, size_t k)
{
	blk_begin(n, type);
	nb_room(n, k);
	memset(n->b + n->len, 0x5a, k);
	n->len += k;
	blk_end(n);
}

static void
pcap_hdr(struct nb *n, int big, uint32_t magic, uint16_t major, uint16_t minor, uint32_t snaplen,
    uint32_t linktype)
{
	n->big = big;
	nb_u(n, magic, 4);
	nb_u(n, major, 2);
	nb_u(n, minor, 2);
	nb_u(n, 0, 4);
	nb_u(n, 0, 4);
	nb_u(n, snaplen, 4);
	nb_u(n, linktype, 4);
}

static void
pcap_rec(struct nb *n, uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t wire, int kuz,
    uint8_t seed)
{
	uint32_t i;

	nb_u(n, sec, 4);
	nb_u(n, frac, 4);
	nb_u(n, caplen, 4);
	nb_u(n, wire, 4);
	if (kuz)
		nb_u(n, 0, 8); /* ifindex, protocol, pkt_type, pad */
	for (i = 0; i < caplen; i++)
		nb_u(n, (uint8_t)(seed + i), 1);
}

/* --- reading --------------------------------------------------------------- */

struct got {
	int n;
	int rc; /* of the last capfile_next */
	struct capfile_rec r[MAXRECS];
	uint8_t first[MAXRECS]; /* first data byte */
	uint8_t last[MAXRECS];
	char err[256];
	uint32_t nif;
	struct capfile_if ifs[8];
};

/*
 * The interfaces met since the last call, as a caller takes them after each
 * record: only the current section's are still there.
 */
static void
take_ifs(struct capfile *cf, struct got *g)
{
	const struct capfile_if *ifp;

	for (; g->nif < capfile_nif(cf); g->nif++)
		if (g->nif < 8 && (ifp = capfile_if(cf, g->nif)) != NULL)
			g->ifs[g->nif] = *ifp;
}

static void
drain(struct capfile *cf, struct got *g)
{
	memset(g, 0, sizeof *g);
	while ((g->rc = capfile_next(cf, &g->r[g->n])) == 1) {
		ck_assert_int_lt(g->n, MAXRECS - 1);
		if (g->r[g->n].caplen > 0) {
			g->first[g->n] = g->r[g->n].data[0];
			g->last[g->n] = g->r[g->n].data[g->r[g->n].caplen - 1];
		}
		g->r[g->n].data = NULL; /* not valid after the next call */
		g->n++;
		take_ifs(cf, g);
	}
	snprintf(g->err, sizeof g->err, "%s", capfile_error(cf));
	take_ifs(cf, g);
}

/* Read buf from memory; *rc_open -1 if capfile_open_mem refused it. */
static int
read_mem(const uint8_t *buf, size_t len, struct got *g)
{
	struct capfile *cf;
	char *cause = NULL;

	if ((cf = capfile_open_mem(buf, len, &cause)) == NULL) {
		memset(g, 0, sizeof *g);
		snprintf(g->err, sizeof g->err, "%s", cause);
		free(cause);
		return -1;
	}
	drain(cf, g);
	capfile_close(cf);
	return 0;
}

static void
assert_same(const struct got *a, const struct got *b)
{
	int i;

	ck_assert_int_eq(a->n, b->n);
	ck_assert_int_eq(a->rc, b->rc);
	ck_assert_str_eq(a->err, b->err);
	ck_assert_uint_eq(a->nif, b->nif);
	for (i = 0; i < a->n; i++) {
		ck_assert_int_eq(a->r[i].kind, b->r[i].kind);
		ck_assert_uint_eq(a->r[i].ifno, b->r[i].ifno);
		ck_assert_uint_eq(a->r[i].ts, b->r[i].ts);
		ck_assert_uint_eq(a->r[i].caplen, b->r[i].caplen);
		ck_assert_uint_eq(a->r[i].wirelen, b->r[i].wirelen);
		ck_assert_uint_eq(a->r[i].offset, b->r[i].offset);
		ck_assert_uint_eq(a->first[i], b->first[i]);
		ck_assert_uint_eq(a->last[i], b->last[i]);
	}
}

/* The same bytes through a file (mapped) and a pipe (the stream window). */
static void
read_all_ways(const uint8_t *buf, size_t len, struct got *g)
{
	char path[] = "/tmp/check_capfile.XXXXXX", fdpath[32];
	struct capfile *cf;
	struct got g2;
	char *cause = NULL;
	int fd, p[2], status;
	pid_t pid;
	size_t off;
	ssize_t w;

	ck_assert_int_eq(read_mem(buf, len, g), 0);

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
	cf = capfile_open(path, &cause);
	ck_assert_msg(cf != NULL, "%s", cause);
	drain(cf, &g2);
	capfile_close(cf);
	unlink(path);
	assert_same(g, &g2);

	ck_assert_int_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		/* Odd pieces, so that blocks straddle what each read() returns. */
		for (off = 0; off < len; off += (size_t)w)
			if ((w = write(p[1], buf + off, len - off < 777 ? len - off : 777)) <= 0)
				_exit(1);
		_exit(0);
	}
	close(p[1]);
	snprintf(fdpath, sizeof fdpath, "/dev/fd/%d", p[0]);
	cf = capfile_open(fdpath, &cause);
	ck_assert_msg(cf != NULL, "%s", cause);
	drain(cf, &g2);
	capfile_close(cf);
	close(p[0]);
	waitpid(pid, &status, 0);
	assert_same(g, &g2);
}

/* --- pcap -------------------------------------------------------------------- */

/* Both byte orders, both resolutions, the modified format. */
START_TEST(test_pcap_variants)
{
	static const uint32_t magic[] = {0xa1b2c3d4, 0xa1b23c4d, 0xa1b2cd34};
	int big = _i & 1, m = _i >> 1, kuz = m == 2, nano = m == 1;
	struct nb n = {0};
	struct got g;

	pcap_hdr(&n, big, magic[m], 2, 4, 65535, 113);
	pcap_rec(&n, T0, nano ? 123456789 : 123456, 60, 60, kuz, 1);
	pcap_rec(&n, T0 + 1, 5, 1, 1500, kuz, 7);
	pcap_rec(&n, T0 + 2, 0, 0, 40, kuz, 0);
	read_all_ways(n.b, n.len, &g);
	ck_assert_int_eq(g.rc, 0);
	ck_assert_int_eq(g.n, 3);
	ck_assert_uint_eq(g.nif, 1);
	ck_assert_uint_eq(g.ifs[0].linktype, 113);
	ck_assert_uint_eq(g.ifs[0].snaplen, 65535);
	ck_assert_uint_eq(g.r[0].ts, T0 * NS + (nano ? 123456789 : 123456000));
	ck_assert_uint_eq(g.r[0].caplen, 60);
	ck_assert_uint_eq(g.first[0], 1);
	ck_assert_uint_eq(g.last[0], 60);
	ck_assert_uint_eq(g.r[1].ts, (T0 + 1) * NS + (nano ? 5 : 5000));
	ck_assert_uint_eq(g.r[1].wirelen, 1500);
	ck_assert_uint_eq(g.r[1].offset, 24 + (kuz ? 24 : 16) + 60);
	ck_assert_uint_eq(g.r[2].caplen, 0);
	ck_assert_uint_eq(g.r[2].ifno, 0);
	free(n.b);
}
END_TEST

/* Header fields: snaplen 0 means the maximum, the FCS bits of the link type go. */
START_TEST(test_pcap_header_fields)
{
	struct nb n = {0};
	struct got g;

	pcap_hdr(&n, 0, 0xa1b2c3d4, 2, 4, 0, 0x14000001); /* Ethernet with FCS length bits */
	pcap_rec(&n, T0, 0, 100000, 100000, 0, 0);
	ck_assert_int_eq(read_mem(n.b, n.len, &g), 0);
	ck_assert_uint_eq(g.ifs[0].linktype, 1);
	ck_assert_uint_eq(g.ifs[0].snaplen, CAPFILE_MAX_CAPLEN);
	ck_assert_int_eq(g.n, 1);
	free(n.b);

	/* Version 2.2: caplen and len were written the other way round. */
	memset(&n, 0, sizeof n);
	pcap_hdr(&n, 1, 0xa1b2c3d4, 2, 2, 65535, 1);
	pcap_rec(&n, T0, 0, 1514, 10, 0, 0); /* wire 1514 in the caplen field, 10 stored */
	ck_assert_int_eq(read_mem(n.b, n.len - 1504, &g), 0);
	ck_assert_int_eq(g.n, 1);
	ck_assert_uint_eq(g.r[0].caplen, 10);
	ck_assert_uint_eq(g.r[0].wirelen, 1514);
	free(n.b);
}
END_TEST

START_TEST(test_pcap_refused)
{
	uint8_t junk[64] = "this is not a capture file, nor anything like it";
	struct nb n = {0};
	struct got g;

	ck_assert_int_eq(read_mem(junk, sizeof junk, &g), -1);
	ck_assert_ptr_nonnull(strstr(g.err, "not a pcap or pcapng"));
	ck_assert_int_eq(read_mem(junk, 3, &g), -1);
	pcap_hdr(&n, 0, 0xa1b2c3d4, 1, 0, 65535, 1);
	ck_assert_int_eq(read_mem(n.b, n.len, &g), -1);
	ck_assert_ptr_nonnull(strstr(g.err, "version"));
	ck_assert_int_eq(read_mem(n.b, 20, &g), -1); /* a header cut short */
	free(n.b);
}
END_TEST

/* A record above the snaplen, or above 256 KiB: an error at its offset, what came before kept. */
START_TEST(test_pcap_caplen_bounds)
{
	struct nb n = {0};
	struct got g;

	pcap_hdr(&n, _i, 0xa1b2c3d4, 2, 4, 100, 1);
	pcap_rec(&n, T0, 0, 100, 100, 0, 0);
	pcap_rec(&n, T0, 0, 101, 101, 0, 0);
	read_all_ways(n.b, n.len, &g);
	ck_assert_int_eq(g.rc, -1);
	ck_assert_int_eq(g.n, 1);
	ck_assert_str_eq(
	    g.err, "offset 140: record of 101 bytes, above the file's snap length 100");
	free(n.b);

	memset(&n, 0, sizeof n);
	pcap_hdr(&n, _i, 0xa1b2c3d4, 2, 4, 0, 1);
	pcap_rec(&n, T0, 0, 10, 10, 0, 0);
	nb_u(&n, T0, 4);
	nb_u(&n, 0, 4);
	nb_u(&n, CAPFILE_MAX_CAPLEN + 1, 4);
	nb_u(&n, CAPFILE_MAX_CAPLEN + 1, 4);
	read_all_ways(n.b, n.len, &g);
	ck_assert_int_eq(g.rc, -1);
	ck_assert_int_eq(g.n, 1);
	ck_assert_ptr_nonnull(strstr(g.err, "offset 50: record of 262145 bytes"));
	free(n.b);
}
END_TEST

/* Cut anywhere: whole records before the cut, then a clean end or a "truncated" error. */
START_TEST(test_pcap_cut_everywhere)
{
	struct nb n = {0};
	struct got g;
	size_t cut, ends[3];

	pcap_hdr(&n, 0, 0xa1b23c4d, 2, 4, 65535, 1);
	pcap_rec(&n, T0, 1, 30, 30, 0, 0);
	ends[0] = n.len;
	pcap_rec(&n, T0, 2, 5, 5, 0, 0);
	ends[1] = n.len;
	pcap_rec(&n, T0, 3, 17, 17, 0, 0);
	ends[2] = n.len;
	for (cut = 24; cut <= n.len; cut++) {
		ck_assert_int_eq(read_mem(n.b, cut, &g), 0);
		ck_assert_int_eq(g.n, (cut >= ends[0]) + (cut >= ends[1]) + (cut >= ends[2]));
		if (cut == 24 || cut == ends[0] || cut == ends[1] || cut == ends[2])
			ck_assert_int_eq(g.rc, 0);
		else {
			ck_assert_int_eq(g.rc, -1);
			ck_assert_ptr_nonnull(strstr(g.err, "truncated"));
			ck_assert_int_eq(strncmp(g.err, "offset ", 7), 0);
		}
	}
	free(n.b);
}
END_TEST

/* --- pcapng ------------------------------------------------------------------ */

/*
 * Every block type in one section: SHB, IDB, EPB, SPB, obsolete PB, NRB,
 * ISB, DSB, custom blocks of both kinds, a journal entry and an unknown
 * block. Packets and the records Wireshark numbers (journal, custom) come
 * out in file order; the rest is skipped.
 */
static void
every_block(struct nb *n, int big)
{
	shb(n, big);
	idb(n, 1, 1500, "eth0", 0xff, 0);
	epb(n, 0, (T0 * 1000000 + 1), 60, 60, 1);
	other(n, 4, 12);  /* NRB */
	other(n, 5, 20);  /* ISB */
	other(n, 10, 12); /* DSB */
	spb(n, 80, 80, 2);
	pb(n, 0, T0 * 1000000 + 3, 40, 50, 3);
	other(n, 0x00000bad, 8);  /* custom, copyable: numbered */
	other(n, 0x40000bad, 8);  /* custom, not to be copied: numbered */
	other(n, 9, 40);          /* systemd journal entry: numbered */
	other(n, 0x12345678, 24); /* unknown */
	spb(n, 2000, 1500, 4);    /* wire 2000, snaplen 1500 stored */
	epb(n, 0, T0 * 1000000 + 5, 0, 0, 0);
}

START_TEST(test_pcapng_every_block)
{
	struct nb n = {0};
	struct got g;

	every_block(&n, _i);
	read_all_ways(n.b, n.len, &g);
	ck_assert_msg(g.rc == 0, "%s", g.err);
	ck_assert_int_eq(g.n, 8);
	ck_assert_uint_eq(g.nif, 1);
	ck_assert_str_eq(g.ifs[0].name, "eth0");
	ck_assert_uint_eq(g.ifs[0].snaplen, 1500);
	ck_assert_int_eq(g.r[0].kind, CAPFILE_PACKET);
	ck_assert_uint_eq(g.r[0].ts, T0 * NS + 1000);
	ck_assert_uint_eq(g.r[0].caplen, 60);
	ck_assert_uint_eq(g.first[0], 1);
	ck_assert_uint_eq(g.last[0], 60);
	ck_assert_uint_eq(g.r[1].ts, 0); /* SPB: no time */
	ck_assert_uint_eq(g.r[1].caplen, 80);
	ck_assert_uint_eq(g.first[1], 2);
	ck_assert_uint_eq(g.r[2].ts, T0 * NS + 3000);
	ck_assert_uint_eq(g.r[2].wirelen, 50);
	ck_assert_uint_eq(g.first[2], 3);
	ck_assert_int_eq(g.r[3].kind, CAPFILE_OTHER);
	ck_assert_int_eq(g.r[4].kind, CAPFILE_OTHER);
	ck_assert_int_eq(g.r[5].kind, CAPFILE_OTHER);
	ck_assert_int_eq(g.r[6].kind, CAPFILE_PACKET);
	ck_assert_uint_eq(g.r[6].caplen, 1500);
	ck_assert_uint_eq(g.r[6].wirelen, 2000);
	ck_assert_uint_eq(g.last[6], (uint8_t)(4 + 1499));
	ck_assert_uint_eq(g.r[7].caplen, 0);
	ck_assert_uint_eq(g.r[7].ts, T0 * NS + 5000);
	free(n.b);
}
END_TEST

struct resol {
	int code;     /* if_tsresol */
	uint64_t tps; /* units per second */
};

static const struct resol resols[] = {
    {0, 1},
    {3, 1000},
    {6, 1000000},
    {9, 1000000000},
    {0xff, 1000000}, /* no option: microseconds */
    {12, 1000000000000ULL},
    {0x80 | 10, 1024},
    {0x80 | 20, 1 << 20},
    {0x80 | 30, 1 << 30},
    {0x80 | 40, 1ULL << 40},
};

/* Each resolution, with and without an offset, in both byte orders: the times in ns. */
START_TEST(test_pcapng_tsresol)
{
	const struct resol *rs = &resols[_i / 2];
	int big = _i & 1;
	/* Fine resolutions cannot count ticks since 1970 in 64 bits: an earlier time there. */
	uint64_t sec = T0 < UINT64_MAX / rs->tps / 2 ? T0 : UINT64_MAX / rs->tps / 2;
	uint64_t ticks = sec * rs->tps + rs->tps / 3, want;
	struct nb n = {0};
	struct got g;

	shb(&n, big);
	idb(&n, 101, 0, NULL, rs->code, 0);
	idb(&n, 101, 0, NULL, rs->code, -3600);
	epb(&n, 0, ticks, 20, 20, 0);
	epb(&n, 1, ticks, 20, 20, 0);
	ck_assert_int_eq(read_mem(n.b, n.len, &g), 0);
	ck_assert_msg(g.rc == 0, "%s", g.err);
	ck_assert_int_eq(g.n, 2);
	/* The fraction of a second, truncated to whole nanoseconds. */
	want = sec * NS + (uint64_t)((unsigned __int128)(rs->tps / 3) * NS / rs->tps);
	ck_assert_uint_eq(g.r[0].ts, want);
	ck_assert_uint_eq(g.r[1].ts, want - 3600 * NS);
	ck_assert_uint_eq(g.ifs[0].tps, rs->tps);
	ck_assert_int_eq(capfile_if_nano(&g.ifs[0]), rs->tps > 1000000 || 1000000 % rs->tps != 0);
	ck_assert_uint_eq(g.ifs[0].snaplen, CAPFILE_MAX_CAPLEN); /* 0: no limit */
	free(n.b);
}
END_TEST

/*
 * An interface name is the file author's: a newline and a terminal escape
 * forged a log line, invalid UTF-8 made index lines JSON readers refuse.
 * What comes out is valid UTF-8 without control characters, the rest
 * written \xNN; a long name is cut, never inside a character or escape.
 */
START_TEST(test_pcapng_if_name_cleaned)
{
	static const struct {
		const char *in, *out;
	} v[] = {
	    {"eth0\n\x1b[31mX", "eth0\\x0a\\x1b[31mX"},
	    {"caf\xc3\xa9", "caf\xc3\xa9"}, /* UTF-8 kept */
	    {"a\xff\xc0\xaf"
	     "b",
	        "a\\xff\\xc0\\xafb"},            /* invalid, overlong */
	    {"\xed\xa0\x80", "\\xed\\xa0\\x80"}, /* a surrogate */
	    {"\xc2\x85\x7f", "\\xc2\\x85\\x7f"}, /* C1 control, DEL */
	    {"x\xe2\x82", "x\\xe2\\x82"},        /* cut short */
	};
	char longname[300];
	struct nb n = {0};
	struct got g;
	size_t i;

	memset(longname, 0, sizeof longname);
	memset(longname, 'a', 125);
	strcat(longname, "\xc3\xa9\xc3\xa9"); /* does not fit whole: cut before it */
	shb(&n, 0);
	for (i = 0; i < sizeof v / sizeof v[0]; i++)
		idb(&n, 1, 0, v[i].in, 0xff, 0);
	idb(&n, 1, 0, longname, 0xff, 0);
	ck_assert_int_eq(read_mem(n.b, n.len, &g), 0);
	ck_assert_msg(g.rc == 0, "%s", g.err);
	ck_assert_uint_eq(g.nif, sizeof v / sizeof v[0] + 1);
	for (i = 0; i < sizeof v / sizeof v[0]; i++)
		ck_assert_str_eq(g.ifs[i].name, v[i].out);
	ck_assert_uint_eq(strlen(g.ifs[i].name), 125 + 2);
	free(n.b);
}
END_TEST

/*
 * Three interfaces of different link types and resolutions, packets
 * interleaved; then a second section in the other byte order whose
 * interfaces are numbered after the first section's, and whose interface
 * 0 is not the first section's.
 */
START_TEST(test_pcapng_sections)
{
	struct nb n = {0};
	struct got g;
	size_t second_epb;
	int big = _i;

	shb(&n, big);
	idb(&n, 1, 1514, "eth0", 6, 0);
	idb(&n, 101, 65535, "tun0", 9, 0);
	idb(&n, 113, 262144, NULL, 0x80 | 20, 100);
	epb(&n, 2, (T0 << 20) + (1 << 19), 30, 30, 1);
	epb(&n, 0, T0 * 1000000 + 7, 60, 60, 2);
	epb(&n, 1, T0 * NS + 9, 40, 40, 3);
	shb(&n, !big);
	idb(&n, 276, 128, "any", 0xff, 0);
	second_epb = n.len;
	epb(&n, 0, T0 * 1000000, 20, 20, 4);
	pb(&n, 0, T0 * 1000000, 20, 20, 5);
	read_all_ways(n.b, n.len, &g);
	ck_assert_msg(g.rc == 0, "%s", g.err);
	ck_assert_int_eq(g.n, 5);
	ck_assert_uint_eq(g.nif, 4);
	ck_assert_uint_eq(g.ifs[0].linktype, 1);
	ck_assert_uint_eq(g.ifs[1].linktype, 101);
	ck_assert_uint_eq(g.ifs[2].linktype, 113);
	ck_assert_uint_eq(g.ifs[3].linktype, 276);
	ck_assert_uint_eq(g.ifs[3].snaplen, 128);
	ck_assert_uint_eq(g.ifs[3].section, 1);
	ck_assert_str_eq(g.ifs[1].name, "tun0");
	ck_assert_str_eq(g.ifs[2].name, "");
	ck_assert_uint_eq(g.r[0].ifno, 2);
	ck_assert_uint_eq(g.r[0].ts, (T0 + 100) * NS + NS / 2);
	ck_assert_uint_eq(g.r[1].ifno, 0);
	ck_assert_uint_eq(g.r[1].ts, T0 * NS + 7000);
	ck_assert_uint_eq(g.r[2].ifno, 1);
	ck_assert_uint_eq(g.r[2].ts, T0 * NS + 9);
	ck_assert_uint_eq(g.r[3].ifno, 3);
	ck_assert_uint_eq(g.r[3].offset, second_epb);
	ck_assert_uint_eq(g.r[4].ifno, 3);
	ck_assert_uint_eq(g.first[4], 5);
	free(n.b);
}
END_TEST

/*
 * Interfaces belong to their section: a file of 300 sections (as many
 * captures concatenated), each with its own interface (or 256 of them, the
 * bound, 76,800 in all) and 8 packets, reads to the end, 2,400 frames, the
 * interfaces numbered across the file as Wireshark does; only the current
 * section's interfaces are kept, so a past section's interface is gone
 * (NULL) and memory does not grow with the file. Read from memory, from a
 * mapped file and through a pipe.
 */
#define NSECTIONS 300

static void
read_sections(struct capfile *cf, int idbs)
{
	const struct capfile_if *ifp;
	struct capfile_rec r;
	uint32_t n = 0, s;
	int rc;

	while ((rc = capfile_next(cf, &r)) == 1) {
		s = n / 8;
		ck_assert_int_eq(r.kind, CAPFILE_PACKET);
		ck_assert_uint_eq(r.ifno, s * (uint32_t)idbs + (uint32_t)idbs - 1);
		ck_assert_uint_eq(r.ts, (T0 + s) * NS + (n % 8) * 1000);
		ck_assert_uint_eq(r.caplen, 20 + n % 8);
		ck_assert_uint_eq(r.data[0], (uint8_t)n);
		ifp = capfile_if(cf, r.ifno);
		ck_assert_ptr_nonnull(ifp);
		ck_assert_uint_eq(ifp->section, s);
		ck_assert_uint_eq(ifp->linktype, s % 2 ? 101 : 1);
		ck_assert_uint_eq(capfile_nif(cf), (s + 1) * (uint32_t)idbs);
		/* The section before: its interfaces are gone. */
		if (s > 0)
			ck_assert_ptr_null(capfile_if(cf, s * (uint32_t)idbs - 1));
		n++;
	}
	ck_assert_msg(rc == 0, "after %u frames: %s", n, capfile_error(cf));
	ck_assert_uint_eq(n, NSECTIONS * 8);
}

static void
many_sections(struct nb *n, int idbs)
{
	uint32_t s, k;
	char name[32];
	int i;

	for (s = 0; s < NSECTIONS; s++) {
		shb(n, (int)(s % 3 == 2));
		for (i = 0; i < idbs; i++) {
			snprintf(name, sizeof name, "s%u.%d", s, i);
			idb(n, s % 2 ? 101 : 1, 0, name, 0xff, 0);
		}
		for (k = 0; k < 8; k++)
			epb(n, (uint32_t)idbs - 1, (T0 + s) * 1000000 + k, 20 + k, 60,
			    (uint8_t)(s * 8 + k));
	}
}

START_TEST(test_pcapng_many_sections)
{
	char path[] = "/tmp/check_capfile.XXXXXX", fdpath[32];
	struct capfile *cf;
	struct nb n = {0};
	char *cause = NULL;
	int fd, p[2], status, idbs = _i ? 256 : 1;
	pid_t pid;

	many_sections(&n, idbs);
	cf = capfile_open_mem(n.b, n.len, &cause);
	ck_assert_msg(cf != NULL, "%s", cause);
	read_sections(cf, idbs);
	capfile_close(cf);

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, n.b, n.len), (ssize_t)n.len);
	close(fd);
	cf = capfile_open(path, &cause);
	ck_assert_msg(cf != NULL, "%s", cause);
	read_sections(cf, idbs);
	capfile_close(cf);
	unlink(path);

	ck_assert_int_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		_exit(write(p[1], n.b, n.len) == (ssize_t)n.len ? 0 : 1);
	}
	close(p[1]);
	snprintf(fdpath, sizeof fdpath, "/dev/fd/%d", p[0]);
	cf = capfile_open(fdpath, &cause);
	ck_assert_msg(cf != NULL, "%s", cause);
	read_sections(cf, idbs);
	capfile_close(cf);
	close(p[0]);
	waitpid(pid, &status, 0);
	free(n.b);
}
END_TEST

/*
 * One section may describe CAPFILE_SECTION_IFS interfaces, no more: the one
 * past it is an error naming its offset and the bound, everything before it
 * stands.
 */
START_TEST(test_pcapng_section_ifs_bound)
{
	struct nb n = {0};
	struct got g;
	size_t over;
	uint32_t i;

	shb(&n, _i);
	for (i = 0; i < CAPFILE_SECTION_IFS; i++)
		idb(&n, 1, 0, NULL, 0xff, 0);
	epb(&n, CAPFILE_SECTION_IFS - 1, T0 * 1000000, 20, 20, 1);
	over = n.len;
	idb(&n, 1, 0, NULL, 0xff, 0);
	epb(&n, CAPFILE_SECTION_IFS, T0 * 1000000, 20, 20, 2);
	read_all_ways(n.b, n.len, &g);
	ck_assert_int_eq(g.rc, -1);
	ck_assert_int_eq(g.n, 1);
	ck_assert_uint_eq(g.r[0].ifno, CAPFILE_SECTION_IFS - 1);
	ck_assert_uint_eq(g.nif, CAPFILE_SECTION_IFS);
	ck_assert_msg(strstr(g.err, "more than 256 interfaces") != NULL, "%s", g.err);
	ck_assert_msg(strncmp(g.err, "offset ", 7) == 0 && (size_t)atol(g.err + 7) == over,
	    "%s (IDB at %zu)", g.err, over);
	free(n.b);
}
END_TEST

/* Cut anywhere: the packets of whole blocks before the cut; then a clean end or "truncated". */
START_TEST(test_pcapng_cut_everywhere)
{
	struct nb n = {0};
	struct got g, whole;
	size_t cut, bounds[32], nb = 0;
	int i, want;

	shb(&n, _i);
	bounds[nb++] = n.len;
	idb(&n, 1, 0, "eth0", 9, 0);
	bounds[nb++] = n.len;
	epb(&n, 0, T0 * NS, 30, 30, 1);
	bounds[nb++] = n.len;
	other(&n, 4, 8);
	bounds[nb++] = n.len;
	spb(&n, 10, 10, 2);
	bounds[nb++] = n.len;
	other(&n, 0xbad, 8);
	bounds[nb++] = n.len;
	pb(&n, 0, T0 * NS, 5, 5, 3);
	bounds[nb++] = n.len;
	ck_assert_int_eq(read_mem(n.b, n.len, &whole), 0);
	ck_assert_int_eq(whole.n, 4);
	for (cut = 4; cut <= n.len; cut++) {
		if (read_mem(n.b, cut, &g) == -1)
			ck_abort_msg("cut at %zu: refused at open: %s", cut, g.err);
		/* Records end with the EPB, SPB, custom block and PB. */
		want = (cut >= bounds[2]) + (cut >= bounds[4]) + (cut >= bounds[5]) +
		       (cut >= bounds[6]);
		ck_assert_msg(g.n == want, "cut at %zu: %d records, expected %d", cut, g.n, want);
		for (i = 0; i < (int)nb && bounds[i] != cut; i++)
			;
		if (i < (int)nb)
			ck_assert_msg(g.rc == 0, "cut at %zu (a block boundary): %s", cut, g.err);
		else {
			ck_assert_int_eq(g.rc, -1);
			ck_assert_msg(
			    strstr(g.err, "truncated") != NULL, "cut at %zu: %s", cut, g.err);
		}
	}
	free(n.b);
}
END_TEST

/* A valid two-packet file, then one field broken: an error naming the offset, packet 1 kept. */
struct breakage {
	const char *what;
	size_t at;    /* offset into the second EPB (or the IDB for tsresol) */
	uint32_t val; /* 32-bit store in the file's order */
	int width;    /* 4, or 1 for a byte */
	const char *msg;
};

START_TEST(test_pcapng_corrupt_fields)
{
	static const struct breakage br[] = {
	    {"length not a multiple of 4", 4, 70, 4, "with a length of 70"},
	    {"length below 12", 4, 8, 4, "with a length of 8"},
	    {"lengths differ", 4, 64, 4, "block lengths differ"},
	    {"unknown interface", 8, 5, 4, "interface 5"},
	    {"caplen past the block", 20, 1000, 4, "in a block of"},
	    {"caplen past 256 KiB", 20, 300000, 4, "more than any capture holds"},
	    {"option past the block", 28 + 32 + 2, 200, 1, "runs past the end"},
	};
	const struct breakage *b = &br[_i / 2];
	struct nb n = {0};
	struct got g;
	size_t second;

	shb(&n, _i & 1);
	idb(&n, 1, 0, NULL, 0xff, 0);
	epb(&n, 0, T0 * 1000000, 32, 32, 1);
	second = n.len;
	epb(&n, 0, T0 * 1000000, 32, 32, 1);
	epb(&n, 0, T0 * 1000000, 32, 32, 1);
	if (b->width == 4)
		set32(&n, second + b->at, b->val);
	else
		n.b[second + b->at + (n.big ? 1 : 0)] = (uint8_t)b->val;
	read_all_ways(n.b, n.len, &g);
	ck_assert_msg(g.rc == -1, "%s: read to the end", b->what);
	ck_assert_int_eq(g.n, 1);
	ck_assert_msg(strstr(g.err, b->msg) != NULL, "%s: %s", b->what, g.err);
	ck_assert_msg(strncmp(g.err, "offset ", 7) == 0 && (size_t)atol(g.err + 7) == second,
	    "%s: %s (block at %zu)", b->what, g.err, second);
	free(n.b);
}
END_TEST

/* Broken headers: no byte-order magic, a version 2, blocks before any section, and so on. */
START_TEST(test_pcapng_corrupt_headers)
{
	struct nb n = {0};
	struct capfile *cf;
	struct capfile_rec r;
	struct got g;
	char *cause = NULL;

	shb(&n, 0);
	n.b[8] ^= 0xff; /* byte-order magic */
	ck_assert_int_eq(read_mem(n.b, n.len, &g), 0);
	ck_assert_int_eq(g.rc, -1);
	ck_assert_ptr_nonnull(
	    strstr(g.err, "offset 0: section header without its byte-order magic"));
	n.b[8] ^= 0xff;
	n.b[12] = 2; /* version 2.0 */
	ck_assert_int_eq(read_mem(n.b, n.len, &g), 0);
	ck_assert_ptr_nonnull(strstr(g.err, "version 2.0"));
	free(n.b);

	/* An interface with a resolution finer than 10^-19 s. */
	memset(&n, 0, sizeof n);
	shb(&n, 1);
	idb(&n, 1, 0, NULL, 20, 0);
	ck_assert_int_eq(read_mem(n.b, n.len, &g), 0);
	ck_assert_ptr_nonnull(strstr(g.err, "if_tsresol 0x14"));
	ck_assert_uint_eq(g.nif, 0);
	free(n.b);

	/* A simple packet block with no interface to belong to. */
	memset(&n, 0, sizeof n);
	shb(&n, 0);
	spb(&n, 10, 10, 0);
	ck_assert_int_eq(read_mem(n.b, n.len, &g), 0);
	ck_assert_ptr_nonnull(strstr(g.err, "did not describe"));
	free(n.b);

	/* Journal and custom blocks too short to be what they say. */
	memset(&n, 0, sizeof n);
	shb(&n, 0);
	other(&n, 9, 4);
	ck_assert_int_eq(read_mem(n.b, n.len, &g), 0);
	ck_assert_ptr_nonnull(strstr(g.err, "too short"));
	free(n.b);

	/* After an error, the reader stays at it. */
	memset(&n, 0, sizeof n);
	shb(&n, 0);
	other(&n, 1, 0); /* an IDB of 12 bytes */
	cf = capfile_open_mem(n.b, n.len, &cause);
	ck_assert_ptr_nonnull(cf);
	ck_assert_int_eq(capfile_next(cf, &r), -1);
	ck_assert_int_eq(capfile_next(cf, &r), -1);
	ck_assert_ptr_nonnull(strstr(capfile_error(cf), "shorter than 20"));
	capfile_close(cf);
	free(n.b);
}
END_TEST

/* Through a pipe: a block bigger than the first window, and a big block skipped unread. */
START_TEST(test_stream_large_blocks)
{
	struct nb n = {0};
	struct got g;

	shb(&n, 0);
	idb(&n, 1, 0, NULL, 0xff, 0);
	other(&n, 0x0bad0bad, 3 << 20); /* unknown, 3 MiB */
	epb(&n, 0, T0 * 1000000, CAPFILE_MAX_CAPLEN, CAPFILE_MAX_CAPLEN, 9);
	other(&n, 5, 5 << 20);
	epb(&n, 0, T0 * 1000000 + 1, 100, 100, 8);
	read_all_ways(n.b, n.len, &g);
	ck_assert_msg(g.rc == 0, "%s", g.err);
	ck_assert_int_eq(g.n, 2);
	ck_assert_uint_eq(g.r[0].caplen, CAPFILE_MAX_CAPLEN);
	ck_assert_uint_eq(g.last[0], (uint8_t)(9 + CAPFILE_MAX_CAPLEN - 1));
	ck_assert_uint_eq(g.first[1], 8);
	free(n.b);
}
END_TEST

static Suite *
capfile_suite(void)
{
	Suite *s = suite_create("capfile");
	TCase *tc;

	tc = tcase_create("pcap");
	tcase_add_loop_test(tc, test_pcap_variants, 0, 6);
	tcase_add_test(tc, test_pcap_header_fields);
	tcase_add_test(tc, test_pcap_refused);
	tcase_add_loop_test(tc, test_pcap_caplen_bounds, 0, 2);
	tcase_add_test(tc, test_pcap_cut_everywhere);
	suite_add_tcase(s, tc);

	tc = tcase_create("pcapng");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_pcapng_every_block, 0, 2);
	tcase_add_loop_test(
	    tc, test_pcapng_tsresol, 0, 2 * (int)(sizeof resols / sizeof resols[0]));
	tcase_add_loop_test(tc, test_pcapng_sections, 0, 2);
	tcase_add_loop_test(tc, test_pcapng_many_sections, 0, 2);
	tcase_add_loop_test(tc, test_pcapng_section_ifs_bound, 0, 2);
	tcase_add_loop_test(tc, test_pcapng_cut_everywhere, 0, 2);
	tcase_add_loop_test(tc, test_pcapng_corrupt_fields, 0, 14);
	tcase_add_test(tc, test_pcapng_corrupt_headers);
	tcase_add_test(tc, test_stream_large_blocks);
	tcase_add_test(tc, test_pcapng_if_name_cleaned);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	signal(SIGPIPE, SIG_IGN);
	sr = srunner_create(capfile_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
