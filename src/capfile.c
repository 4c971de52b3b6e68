/*
 * capfile.c: the offline reader of pcap and pcapng files.
 *
 * Input. A regular file is mapped whole, so a record is a pointer into the
 * page cache and nothing is copied before decode; a pipe (or "-" on a
 * terminal or socket) is read in blocks of a megabyte or more into a
 * window that slides forward. need() is the one place that knows which:
 * it returns n bytes at the current offset, or NULL at the end of the
 * input. A mapped file that another process truncates while we read it
 * ends in SIGBUS; an input named on the command line is trusted that far.
 *
 * Formats. pcap is one header and a run of records (pcapfile.c parses
 * both). pcapng is a run of blocks, each with its type and length in front
 * and the length again behind; a Section Header Block sets the byte order
 * and starts a new list of interfaces; Wireshark numbers the interfaces of
 * every section after those of the sections before, and so do we; only the
 * current section's are kept (no packet can name another's), so any number
 * of sections is read in the memory of the largest. Blocks that carry no
 * packet are skipped by their length without being read; journal and custom
 * blocks are numbered as frames on the way, because Wireshark (4.0) shows
 * them as frames and our numbers must be its numbers.
 *
 * Errors. A corrupt or cut block stops the reader with its offset and what
 * is wrong with it; every record handed out before stands, as libpcap did.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capfile.h"
#include "pcapfile.h"
#include "xmalloc.h"

#define WINDOW_MIN       (1u << 20)  /* a pipe is read a megabyte at a time, at least */
#define BLOCK_MAX        (16u << 20) /* a block we parse (not skip) is at most this long */
#define RELEASE_STEP     (16u << 20) /* mapped pages already read are given back this often */
#define PCAPNG_SHB       0x0a0d0d0au
#define PCAPNG_IDB       1u
#define PCAPNG_PB        2u /* obsolete Packet Block */
#define PCAPNG_SPB       3u
#define PCAPNG_EPB       6u
#define PCAPNG_JOURNAL   9u          /* systemd journal export */
#define PCAPNG_CB        0x00000badu /* custom block, may be copied */
#define PCAPNG_CB_NOCOPY 0x40000badu /* custom block, not to be copied */
#define PCAPNG_BOM       0x1a2b3c4du

#define OPT_ENDOFOPT    0
#define OPT_IF_NAME     2
#define OPT_IF_TSRESOL  9
#define OPT_IF_TSOFFSET 14

struct capfile {
	/* The input: all of it in memory (map), or a window of a stream (fd). */
	int fd;             /* -1 when all of the input is at buf */
	const uint8_t *buf; /* the mapping, the caller's memory, or the window */
	size_t len;         /* bytes at buf */
	uint8_t *win;       /* the window (streams) */
	size_t wcap;
	uint64_t base; /* file offset of buf[0] */
	void *map;     /* to unmap, or NULL */
	size_t maplen;
	size_t released; /* the map's pages before this were given back */
	int eof;         /* the stream has ended */
	int ioerr;       /* read() failed; err says why */
	size_t have;     /* after need() returned NULL: bytes there were */
	uint64_t off;    /* file offset of the next block or record */

	int ng; /* pcapng */
	struct pcapfile_hdr ph;
	int big;            /* byte order of the current section */
	uint32_t section;   /* sections so far (the current is section - 1) */
	uint32_t sec_first; /* global number of the current section's first interface */

	struct capfile_if *ifs; /* the current section's: ifs[0] is number sec_first */
	uint32_t nif, ifcap;    /* nif: interfaces in the whole file so far */

	int failed;
	char err[256];
};

static uint32_t
rd32(const uint8_t *p, int big)
{
	if (big)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint16_t
rd16(const uint8_t *p, int big)
{
	return (uint16_t)(big ? p[0] << 8 | p[1] : p[1] << 8 | p[0]);
}

static int __attribute__((format(printf, 3, 4)))
fail(struct capfile *cf, uint64_t at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (cf->failed)
		return -1;
	n = snprintf(cf->err, sizeof cf->err, "offset %" PRIu64 ": ", at);
	va_start(ap, fmt);
	vsnprintf(cf->err + n, sizeof cf->err - (size_t)n, fmt, ap);
	va_end(ap);
	cf->failed = 1;
	return -1;
}

/* --- input --------------------------------------------------------------- */

/* Read until the window holds n bytes or the stream ends; the window starts at cf->off. */
static int
fill(struct capfile *cf, size_t n)
{
	ssize_t r;

	if (n > cf->wcap) {
		cf->wcap = (n + WINDOW_MIN - 1) / WINDOW_MIN * WINDOW_MIN;
		cf->win = xreallocarray(cf->win, cf->wcap, 1);
		cf->buf = cf->win;
	}
	while (cf->len < n && !cf->eof) {
		r = read(cf->fd, cf->win + cf->len, cf->wcap - cf->len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(cf->err, sizeof cf->err, "offset %" PRIu64 ": read error: %s",
			    cf->base + cf->len, strerror(errno));
			cf->failed = cf->ioerr = 1;
			return -1;
		}
		if (r == 0)
			cf->eof = 1;
		cf->len += (size_t)r;
	}
	return 0;
}

/* Throw away n bytes of the stream that nobody reads. */
static int
discard(struct capfile *cf, uint64_t n)
{
	ssize_t r;

	while (n > 0 && !cf->eof) {
		r = read(cf->fd, cf->win, n < cf->wcap ? (size_t)n : cf->wcap);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(cf->err, sizeof cf->err, "offset %" PRIu64 ": read error: %s",
			    cf->base, strerror(errno));
			cf->failed = cf->ioerr = 1;
			return -1;
		}
		if (r == 0)
			cf->eof = 1;
		cf->base += (uint64_t)r;
		n -= (uint64_t)r;
	}
	return 0;
}

/* n bytes at cf->off, valid until the next call; NULL (cf->have: what there was) if short. */
static const uint8_t *
need(struct capfile *cf, size_t n)
{
	uint64_t rel;

	if (cf->fd == -1) {
		cf->have = cf->off >= cf->len ? 0 : cf->len - (size_t)cf->off;
		return cf->have >= n ? cf->buf + cf->off : NULL;
	}
	rel = cf->off - cf->base;
	if (rel <= cf->len && cf->len - rel >= n)
		return cf->win + rel;
	if (rel >= cf->len) {
		cf->base += cf->len;
		cf->len = 0;
		if (discard(cf, cf->off - cf->base) == -1)
			return NULL;
	} else {
		memmove(cf->win, cf->win + rel, cf->len - (size_t)rel);
		cf->len -= (size_t)rel;
		cf->base = cf->off;
	}
	if (cf->base != cf->off || fill(cf, n < WINDOW_MIN ? WINDOW_MIN : n) == -1) {
		cf->have = 0;
		return NULL;
	}
	cf->have = cf->len;
	return cf->len >= n ? cf->win : NULL;
}

/* --- interfaces and time --------------------------------------------------- */

/* A new interface of the current section; NULL past CAPFILE_SECTION_IFS. */
static struct capfile_if *
if_add(struct capfile *cf, uint32_t linktype, uint32_t snaplen)
{
	struct capfile_if *ifp;
	uint32_t k = cf->nif - cf->sec_first;

	if (k >= CAPFILE_SECTION_IFS)
		return NULL;
	if (k == cf->ifcap) {
		cf->ifcap = cf->ifcap ? cf->ifcap * 2 : 8;
		cf->ifs = xreallocarray(cf->ifs, cf->ifcap, sizeof *cf->ifs);
	}
	ifp = &cf->ifs[k];
	cf->nif++;
	memset(ifp, 0, sizeof *ifp);
	ifp->linktype = linktype;
	ifp->snaplen = snaplen == 0 || snaplen > CAPFILE_MAX_CAPLEN ? CAPFILE_MAX_CAPLEN : snaplen;
	ifp->tsresol = 6;
	ifp->tps = 1000000;
	ifp->section = cf->section ? cf->section - 1 : 0;
	return ifp;
}

uint64_t
capfile_ts_ns(const struct capfile_if *ifp, uint64_t ticks)
{
	/* 128 bits: a fine resolution times 10^9 overflows 64. */
	__int128 sec = (__int128)(ticks / ifp->tps) + ifp->tsoffset;
	unsigned __int128 frac = (unsigned __int128)(ticks % ifp->tps) * 1000000000u / ifp->tps;
	__int128 ns;

	/* Not to be told from another such time: no two of them get one time. */
	if (sec < 0)
		return CAPFILE_TS_BAD;
	ns = sec * 1000000000 + (__int128)frac;
	return ns >= (__int128)CAPFILE_TS_BAD ? CAPFILE_TS_BAD : (uint64_t)ns;
}

/* --- pcap ------------------------------------------------------------------ */

static int
pcap_next(struct capfile *cf, struct capfile_rec *r)
{
	const struct capfile_if *ifp = &cf->ifs[0];
	const uint8_t *h;
	uint32_t sec, frac, caplen, len;

	if ((h = need(cf, cf->ph.reclen)) == NULL) {
		if (cf->ioerr)
			return -1;
		if (cf->have == 0)
			return 0;
		return fail(cf, cf->off,
		    "record header cut short: truncated file (%zu of %u bytes)", cf->have,
		    cf->ph.reclen);
	}
	pcapfile_parse_record(&cf->ph, h, &sec, &frac, &caplen, &len);
	if (caplen > CAPFILE_MAX_CAPLEN)
		return fail(cf, cf->off, "record of %u bytes, more than any capture holds (%u)",
		    caplen, CAPFILE_MAX_CAPLEN);
	if (caplen > ifp->snaplen)
		return fail(cf, cf->off, "record of %u bytes, above the file's snap length %u",
		    caplen, ifp->snaplen);
	if ((h = need(cf, cf->ph.reclen + (size_t)caplen)) == NULL) {
		if (cf->ioerr)
			return -1;
		return fail(cf, cf->off,
		    "record cut short: truncated file (%u bytes captured, %zu there)", caplen,
		    cf->have - cf->ph.reclen);
	}
	r->kind = CAPFILE_PACKET;
	r->ifno = 0;
	r->ts = (uint64_t)sec * 1000000000u + (uint64_t)frac * (cf->ph.nano ? 1 : 1000);
	r->caplen = caplen;
	r->wirelen = len;
	r->data = h + cf->ph.reclen;
	r->offset = cf->off;
	cf->off += cf->ph.reclen + caplen;
	return 1;
}

/* --- pcapng ------------------------------------------------------------------ */

/* The length of the valid UTF-8 sequence at p (of at most n bytes), 0 if none starts there. */
static size_t
utf8_len(const uint8_t *p, size_t n)
{
	uint32_t c;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, c = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and beyond U+10FFFF are not UTF-8. */
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return len;
}

/*
 * An interface name from the file, as the index, the logs, IPFIX and
 * pcapng headers will carry it: valid UTF-8 without control characters.
 * A byte that is neither (a C0 or C1 control, DEL, invalid UTF-8) becomes
 * the four characters \xNN: a newline and a terminal escape in a name
 * forged a log line, and invalid UTF-8 made index lines that JSON readers
 * refuse. Cut, never inside a character or an escape, to fit cap.
 */
static void
clean_name(char *dst, size_t cap, const uint8_t *src, size_t n)
{
	size_t o = 0, k;

	while (n > 0) {
		k = utf8_len(src, n);
		if (k == 1 && (src[0] < 0x20 || src[0] == 0x7f))
			k = 0;
		if (k == 2 && src[0] == 0xc2 && src[1] < 0xa0) /* U+0080..U+009F: C1 controls */
			k = 0;
		if (k == 0) {
			if (o + 4 >= cap)
				break;
			snprintf(dst + o, cap - o, "\\x%02x", src[0]);
			o += 4;
			src++, n--;
			continue;
		}
		if (o + k >= cap)
			break;
		memcpy(dst + o, src, k);
		o += k;
		src += k, n -= k;
	}
	dst[o] = '\0';
}

/*
 * The options of a block: opt..end. Calls back each one; an option that
 * runs past the end is corruption.
 */
static int
opts_walk(
    struct capfile *cf, uint64_t at, const uint8_t *opt, const uint8_t *end, struct capfile_if *ifp)
{
	uint16_t code, len;
	uint32_t padded;

	while (end - opt >= 4) {
		code = rd16(opt, cf->big);
		len = rd16(opt + 2, cf->big);
		if (code == OPT_ENDOFOPT)
			return 0;
		padded = (len + 3u) & ~3u;
		if ((size_t)(end - opt - 4) < padded)
			return fail(cf, at, "option %u of %u bytes runs past the end of its block",
			    code, len);
		if (ifp != NULL) {
			switch (code) {
			case OPT_IF_NAME:
				clean_name(ifp->name, sizeof ifp->name, opt + 4, len);
				break;
			case OPT_IF_TSRESOL:
				if (len == 1)
					ifp->tsresol = opt[4];
				break;
			case OPT_IF_TSOFFSET:
				if (len == 8)
					ifp->tsoffset = (int64_t)((uint64_t)rd32(opt + 4, cf->big)
					                              << (cf->big ? 32 : 0) |
					                          (uint64_t)rd32(opt + 8, cf->big)
					                              << (cf->big ? 0 : 32));
				break;
			}
		}
		opt += 4 + padded;
	}
	if (opt != end)
		return fail(cf, at, "%td bytes of a block's options left over", end - opt);
	return 0;
}

static int
shb(struct capfile *cf, const uint8_t *b, uint32_t blen)
{
	uint16_t major;

	if (blen < 28)
		return fail(cf, cf->off, "section header block of %u bytes, shorter than 28", blen);
	major = rd16(b + 12, cf->big);
	if (major != 1)
		return fail(cf, cf->off, "section header of pcapng version %u.%u, not 1.x", major,
		    rd16(b + 14, cf->big));
	if (opts_walk(cf, cf->off, b + 24, b + blen - 4, NULL) == -1)
		return -1;
	cf->section++;
	cf->sec_first = cf->nif; /* the last section's interfaces are gone, their room reused */
	return 0;
}

static int
idb(struct capfile *cf, const uint8_t *b, uint32_t blen)
{
	struct capfile_if *ifp;
	uint8_t n;

	if (blen < 20)
		return fail(
		    cf, cf->off, "interface description block of %u bytes, shorter than 20", blen);
	if ((ifp = if_add(cf, rd16(b + 8, cf->big), rd32(b + 12, cf->big))) == NULL)
		return fail(
		    cf, cf->off, "section describes more than %u interfaces", CAPFILE_SECTION_IFS);
	if (opts_walk(cf, cf->off, b + 16, b + blen - 4, ifp) == -1) {
		cf->nif--;
		return -1;
	}
	n = ifp->tsresol & 0x7f;
	if (ifp->tsresol & 0x80) {
		if (n > 63)
			goto badres;
		ifp->tps = 1ull << n;
	} else {
		if (n > 19)
			goto badres;
		for (ifp->tps = 1; n > 0; n--)
			ifp->tps *= 10;
	}
	return 0;
badres:
	cf->nif--;
	return fail(
	    cf, cf->off, "interface with if_tsresol 0x%02x: finer than any clock", ifp->tsresol);
}

/* The section's interface ifid, as its global number; -1 if the section has no such one. */
static int
section_if(struct capfile *cf, uint32_t ifid, uint32_t *ifno)
{
	if (cf->section == 0 || ifid >= cf->nif - cf->sec_first)
		return fail(cf, cf->off,
		    "packet on interface %u, which the section did not describe", ifid);
	*ifno = cf->sec_first + ifid;
	return 0;
}

/* Enhanced and obsolete Packet Blocks share their layout but for the interface id. */
static int
packet_block(
    struct capfile *cf, uint32_t type, const uint8_t *b, uint32_t blen, struct capfile_rec *r)
{
	const struct capfile_if *ifp;
	uint32_t ifid, caplen, hi, lo;

	if (blen < 32)
		return fail(cf, cf->off, "packet block of %u bytes, shorter than 32", blen);
	ifid = type == PCAPNG_EPB ? rd32(b + 8, cf->big) : rd16(b + 8, cf->big);
	if (section_if(cf, ifid, &r->ifno) == -1)
		return -1;
	ifp = &cf->ifs[r->ifno - cf->sec_first];
	hi = rd32(b + 12, cf->big);
	lo = rd32(b + 16, cf->big);
	caplen = rd32(b + 20, cf->big);
	if (caplen > CAPFILE_MAX_CAPLEN)
		return fail(cf, cf->off, "packet of %u bytes, more than any capture holds (%u)",
		    caplen, CAPFILE_MAX_CAPLEN);
	if (caplen > blen - 32)
		return fail(cf, cf->off, "packet of %u bytes in a block of %u", caplen, blen);
	if (opts_walk(cf, cf->off, b + 28 + ((caplen + 3u) & ~3u), b + blen - 4, NULL) == -1)
		return -1;
	r->ts = capfile_ts_ns(ifp, (uint64_t)hi << 32 | lo);
	r->caplen = caplen;
	r->wirelen = rd32(b + 24, cf->big);
	r->data = b + 28;
	return 0;
}

/* A Simple Packet Block: interface 0, no timestamp; it holds min(wire length, snaplen). */
static int
simple_block(struct capfile *cf, const uint8_t *b, uint32_t blen, struct capfile_rec *r)
{
	uint32_t caplen, wire;

	if (blen < 16)
		return fail(cf, cf->off, "simple packet block of %u bytes, shorter than 16", blen);
	if (section_if(cf, 0, &r->ifno) == -1)
		return -1;
	wire = rd32(b + 8, cf->big);
	caplen = wire < cf->ifs[0].snaplen ? wire : cf->ifs[0].snaplen;
	if (caplen > blen - 16)
		return fail(
		    cf, cf->off, "simple packet of %u bytes in a block of %u", caplen, blen);
	r->ts = 0;
	r->caplen = caplen;
	r->wirelen = wire;
	r->data = b + 12;
	return 0;
}

/* Skip a block we do not read: only its two lengths are looked at. */
static int
skip_block(struct capfile *cf, uint32_t blen)
{
	uint64_t start = cf->off;
	const uint8_t *t;

	cf->off = start + blen - 4;
	if ((t = need(cf, 4)) == NULL) {
		cf->off = start;
		if (cf->ioerr)
			return -1;
		return fail(cf, start, "block of %u bytes cut short: truncated file", blen);
	}
	if (rd32(t, cf->big) != blen) {
		cf->off = start;
		return fail(cf, start, "block lengths differ (%u in front, %u behind)", blen,
		    rd32(t, cf->big));
	}
	cf->off += 4;
	return 0;
}

static int
pcapng_next(struct capfile *cf, struct capfile_rec *r)
{
	const uint8_t *h;
	uint32_t type, blen, bom;

	for (;;) {
		if ((h = need(cf, 8)) == NULL) {
			if (cf->ioerr)
				return -1;
			if (cf->have == 0)
				return 0;
			return fail(cf, cf->off, "block header cut short: truncated file");
		}
		type = rd32(h, cf->big);
		if (type == PCAPNG_SHB) {
			/* The byte order comes from the section's own magic, after the length. */
			if ((h = need(cf, 12)) == NULL)
				return cf->ioerr ? -1
				                 : fail(cf, cf->off,
				                       "section header cut short: truncated file");
			bom = rd32(h + 8, 0);
			if (bom == PCAPNG_BOM)
				cf->big = 0;
			else if (bom == __builtin_bswap32(PCAPNG_BOM))
				cf->big = 1;
			else
				return fail(
				    cf, cf->off, "section header without its byte-order magic");
		} else if (cf->section == 0)
			return fail(
			    cf, cf->off, "block of type 0x%08x before any section header", type);
		blen = rd32(h + 4, cf->big);
		if (blen < 12 || blen % 4 != 0)
			return fail(
			    cf, cf->off, "block of type 0x%08x with a length of %u", type, blen);
		switch (type) {
		case PCAPNG_SHB:
		case PCAPNG_IDB:
		case PCAPNG_EPB:
		case PCAPNG_PB:
		case PCAPNG_SPB:
			break;
		case PCAPNG_JOURNAL:
		case PCAPNG_CB:
		case PCAPNG_CB_NOCOPY:
			/* Not packets, but Wireshark numbers them as frames: so must we. */
			if (blen < (type == PCAPNG_JOURNAL ? 35u : 16u))
				return fail(cf, cf->off,
				    "block of type 0x%08x of %u bytes, too short", type, blen);
			r->offset = cf->off;
			if (skip_block(cf, blen) == -1)
				return -1;
			r->kind = CAPFILE_OTHER;
			r->ifno = 0;
			r->ts = 0;
			r->caplen = r->wirelen = 0;
			r->data = NULL;
			return 1;
		default: /* name resolution, statistics, decryption secrets, unknown */
			if (skip_block(cf, blen) == -1)
				return -1;
			continue;
		}
		if (blen > BLOCK_MAX)
			return fail(cf, cf->off, "block of type 0x%08x of %u bytes, more than %u",
			    type, blen, BLOCK_MAX);
		if ((h = need(cf, blen)) == NULL) {
			if (cf->ioerr)
				return -1;
			return fail(cf, cf->off,
			    "block of type 0x%08x cut short: truncated file (%u bytes, %zu there)",
			    type, blen, cf->have);
		}
		if (rd32(h + blen - 4, cf->big) != blen)
			return fail(cf, cf->off, "block lengths differ (%u in front, %u behind)",
			    blen, rd32(h + blen - 4, cf->big));
		r->offset = cf->off;
		switch (type) {
		case PCAPNG_SHB:
			if (shb(cf, h, blen) == -1)
				return -1;
			break;
		case PCAPNG_IDB:
			if (idb(cf, h, blen) == -1)
				return -1;
			break;
		case PCAPNG_SPB:
			if (simple_block(cf, h, blen, r) == -1)
				return -1;
			r->kind = CAPFILE_PACKET;
			cf->off += blen;
			return 1;
		default:
			if (packet_block(cf, type, h, blen, r) == -1)
				return -1;
			r->kind = CAPFILE_PACKET;
			cf->off += blen;
			return 1;
		}
		cf->off += blen;
	}
}

/* --- opening ---------------------------------------------------------------- */

static struct capfile *
start(struct capfile *cf, char **cause)
{
	const uint8_t *h;
	struct capfile_if *ifp;
	int rc;

	if ((h = need(cf, 4)) == NULL) {
		xasprintf(cause, "%s", cf->ioerr ? cf->err : "too short for a capture file");
		goto fail;
	}
	if (rd32(h, 0) == PCAPNG_SHB) {
		cf->ng = 1;
		return cf; /* the section header is read as the first block */
	}
	if ((h = need(cf, PCAP_FILEHDR_LEN)) == NULL) {
		xasprintf(cause, "%s", cf->ioerr ? cf->err : "not a pcap or pcapng file");
		goto fail;
	}
	if ((rc = pcapfile_parse_header(h, &cf->ph)) != 0) {
		xasprintf(cause, "%s",
		    rc == -2 ? "pcap file of a version before 2.0" : "not a pcap or pcapng file");
		goto fail;
	}
	ifp = if_add(cf, cf->ph.linktype, cf->ph.snaplen);
	/* libpcap's rule for the modified format: Ethernet snaplens there left out the header. */
	if (cf->ph.reclen != PCAP_RECHDR_LEN && cf->ph.linktype == 1 &&
	    ifp->snaplen < CAPFILE_MAX_CAPLEN)
		ifp->snaplen += 14;
	ifp->tsresol = cf->ph.nano ? 9 : 6;
	ifp->tps = cf->ph.nano ? 1000000000 : 1000000;
	cf->off = PCAP_FILEHDR_LEN;
	return cf;
fail:
	capfile_close(cf);
	return NULL;
}

struct capfile *
capfile_open_mem(const uint8_t *buf, size_t len, char **cause)
{
	struct capfile *cf = xcalloc(1, sizeof *cf);

	cf->fd = -1;
	cf->buf = buf;
	cf->len = len;
	return start(cf, cause);
}

struct capfile *
capfile_open(const char *path, char **cause)
{
	struct capfile *cf;
	struct stat sb;
	void *map;
	int fd;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s", strerror(errno));
		return NULL;
	}
	cf = xcalloc(1, sizeof *cf);
	cf->fd = fd;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
	    (uint64_t)sb.st_size <= SIZE_MAX &&
	    (map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) != MAP_FAILED) {
		madvise(map, (size_t)sb.st_size, MADV_SEQUENTIAL);
		cf->map = map;
		cf->maplen = (size_t)sb.st_size;
		cf->buf = map;
		cf->len = cf->maplen;
		if (fd != STDIN_FILENO)
			close(fd);
		cf->fd = -1;
	}
	return start(cf, cause);
}

void
capfile_close(struct capfile *cf)
{
	if (cf == NULL)
		return;
	if (cf->map != NULL)
		munmap(cf->map, cf->maplen);
	if (cf->fd > STDIN_FILENO)
		close(cf->fd);
	free(cf->win);
	free(cf->ifs);
	free(cf);
}

/*
 * Pages of the map behind the last record are not read again: give them
 * back now and then, so that the process's resident size stays that of its
 * work, not of the file (the page cache keeps them for whoever wants them).
 */
static void
release(struct capfile *cf)
{
	size_t upto = (size_t)cf->off & ~((size_t)RELEASE_STEP - 1);

	if (cf->map == NULL || upto <= cf->released)
		return;
	madvise((uint8_t *)cf->map + cf->released, upto - cf->released, MADV_DONTNEED);
	cf->released = upto;
}

int
capfile_next(struct capfile *cf, struct capfile_rec *r)
{
	if (cf->failed)
		return -1;
	release(cf); /* the record handed out last is no longer needed */
	return cf->ng ? pcapng_next(cf, r) : pcap_next(cf, r);
}

int
capfile_stable(const struct capfile *cf)
{
	return cf->fd == -1; /* mapped, or the caller's memory: no window */
}

const char *
capfile_error(const struct capfile *cf)
{
	return cf->failed ? cf->err : "no error";
}

uint32_t
capfile_nif(const struct capfile *cf)
{
	return cf->nif;
}

const struct capfile_if *
capfile_if(const struct capfile *cf, uint32_t ifno)
{
	return ifno >= cf->sec_first && ifno < cf->nif ? &cf->ifs[ifno - cf->sec_first] : NULL;
}

int
capfile_is_pcapng(const struct capfile *cf)
{
	return cf->ng;
}

int
capfile_pcap_nano(const struct capfile *cf)
{
	return cf->ng ? -1 : cf->ph.nano;
}
