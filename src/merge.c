/*
 * merge.c: the packets of many flow files as one capture, in time order
 * (merge.h). libpcap reads the inputs (pcap and pcapng, both byte orders,
 * any precision, read as nanoseconds) and compiles --filter; the output's
 * headers and records are pcapfile.c's, as the daemon writes its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "merge.h"
#include "pcapfile.h"
#include "xmalloc.h"

#define HOST_BIG           (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
#define SURVEY_SNAPLEN_MAX 262144 /* libpcap's largest for these link types */
#define READ_BUF           16384  /* per open file: 16 MiB for MERGE's 1024 at most */

/* One flow's file: where it stands. */
struct cursor {
	char *fpout;
	uint64_t seq;    /* the order flows came in: ties go to the earlier */
	uint64_t ts;     /* the held packet's time, ns */
	long off;        /* the held packet's offset in the file: where a reopen seeks */
	long start, end; /* a probe's records in a shared capture (end 0: the whole file) */
	uint64_t nread;  /* records read, the held one included */
	uint32_t reclen; /* a pcap file's record header (16 or 24); 0: pcapng */
	pcap_t *p;       /* NULL while closed for want of descriptors */
	char *iobuf;     /* p's FILE's buffer (READ_BUF) while open */
	struct pcap_pkthdr *hdr;
	const u_char *data;
	size_t lt; /* index in the merge's link types */
};

struct merge {
	int spoolfd;
	const char *spoolpath;
	size_t max_open, nopen;
	struct cursor **open; /* the cursors with a file open (max_open) */
	struct cursor **heap; /* every live cursor, by (ts, seq) */
	size_t nheap, heapcap;
	int dlt[MERGE_MAX_LINKTYPES];
	uint32_t snaplen;
	size_t nlt;
	int nano, toomany, pcapng;
	struct bpf_program prog[MERGE_MAX_LINKTYPES];
	int filtered;
	FILE *out;
	const char *shown;
	uint64_t seq;
	struct merge_stats st;
	int werr; /* errno of a failed write */
};

struct merge *
merge_new(int spoolfd, const char *spoolpath, size_t max_open)
{
	struct merge *m = xcalloc(1, sizeof *m);

	m->spoolfd = spoolfd;
	m->spoolpath = spoolpath;
	m->max_open = max_open > 0 ? max_open : 1;
	m->open = xcalloc(m->max_open, sizeof *m->open);
	return m;
}

/* --- reading ---------------------------------------------------------------- */

static void
report(struct merge *m, const char *fpout, const char *what)
{
	fprintf(stderr, "traceflowctl: query: %s/%s: %s\n", m->spoolpath, fpout, what);
}

/*
 * The file, opened, and its own header read if it is a pcap file (*pcap;
 * libpcap gives the precision asked for, not the file's). -1 and errno.
 */
static int
open_header(struct merge *m, const char *fpout, struct pcapfile_hdr *ph, int *pcap)
{
	uint8_t h[PCAP_FILEHDR_LEN];
	int fd;

	if ((fd = openat(m->spoolfd, fpout, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	*pcap = pread(fd, h, sizeof h, 0) == (ssize_t)sizeof h && pcapfile_parse_header(h, ph) == 0;
	return fd;
}

/* libpcap on fd (taken, closed on failure), nanoseconds; NULL and why. */
static pcap_t *
pcap_of(int fd, char *why, size_t len, char *iobuf)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p;
	FILE *f;

	if ((f = fdopen(fd, "rb")) == NULL) {
		snprintf(why, len, "%s", strerror(errno));
		close(fd);
		return NULL;
	}
	/* Most flow files are a few KiB: read in one or two calls, not 4 KiB at a time. */
	if (iobuf != NULL)
		setvbuf(f, iobuf, _IOFBF, READ_BUF);
	p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (p == NULL) {
		snprintf(why, len, "not a capture (%s)", errbuf);
		fclose(f);
	}
	return p;
}

/*
 * The file as libpcap reads it, nanoseconds; NULL and errno's or libpcap's
 * reason in why. *nano, and *reclen for a pcap file (0: pcapng).
 */
static pcap_t *
open_file(struct merge *m, const char *fpout, char *why, size_t len, int *nano, uint32_t *reclen,
    char *iobuf)
{
	struct pcapfile_hdr ph;
	int fd, pcap;

	if ((fd = open_header(m, fpout, &ph, &pcap)) == -1) {
		snprintf(why, len, "%s", errno == ENOENT ? "gone (retention?)" : strerror(errno));
		return NULL;
	}
	*nano = pcap ? ph.nano : 1; /* pcapng: nanoseconds keep whatever resolution it has */
	*reclen = pcap ? ph.reclen : 0;
	return pcap_of(fd, why, len, iobuf);
}

/*
 * Does a pcap file's header say what libpcap would: a link type whose DLT_
 * is its LINKTYPE_ number (those traceflowd writes), a snapshot length
 * libpcap takes as it is? Then the survey needs no libpcap (which cost as
 * much as the merge's own reading).
 */
static int
header_is_plain(const struct pcapfile_hdr *ph)
{
	return (ph->linktype == DLT_EN10MB || ph->linktype == DLT_LINUX_SLL ||
	           ph->linktype == DLT_LINUX_SLL2 || ph->linktype == DLT_NULL) &&
	       ph->snaplen > 0 && ph->snaplen <= SURVEY_SNAPLEN_MAX;
}

void
merge_survey(struct merge *m, const char *fpout)
{
	char why[PCAP_ERRBUF_SIZE + 64];
	struct pcapfile_hdr ph;
	size_t i;
	pcap_t *p;
	uint32_t snaplen;
	int fd, pcap, nano, dlt;

	if ((fd = open_header(m, fpout, &ph, &pcap)) == -1)
		return; /* reported in pass two, once */
	if (pcap && header_is_plain(&ph)) {
		dlt = (int)ph.linktype;
		snaplen = ph.snaplen;
		nano = ph.nano;
		close(fd);
	} else {
		if ((p = pcap_of(fd, why, sizeof why, NULL)) == NULL)
			return;
		dlt = pcap_datalink(p);
		snaplen = (uint32_t)pcap_snapshot(p);
		nano = pcap ? ph.nano : 1;
		pcap_close(p);
	}
	m->nano |= nano;
	if (snaplen > m->snaplen)
		m->snaplen = snaplen;
	for (i = 0; i < m->nlt && m->dlt[i] != dlt; i++)
		;
	if (i == m->nlt) {
		if (m->nlt < MERGE_MAX_LINKTYPES)
			m->dlt[m->nlt++] = dlt;
		else
			m->toomany = 1;
	}
}

/* --- the heap of cursors ------------------------------------------------------ */

static int
before(const struct cursor *a, const struct cursor *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

static void
heap_swap(struct merge *m, size_t a, size_t b)
{
	struct cursor *t = m->heap[a];

	m->heap[a] = m->heap[b];
	m->heap[b] = t;
}

static void
sift_up(struct merge *m, size_t i)
{
	for (; i > 0 && before(m->heap[i], m->heap[(i - 1) / 2]); i = (i - 1) / 2)
		heap_swap(m, i, (i - 1) / 2);
}

static void
sift_down(struct merge *m, size_t i)
{
	size_t l, best;

	for (;;) {
		best = i;
		l = 2 * i + 1;
		if (l < m->nheap && before(m->heap[l], m->heap[best]))
			best = l;
		if (l + 1 < m->nheap && before(m->heap[l + 1], m->heap[best]))
			best = l + 1;
		if (best == i)
			return;
		heap_swap(m, i, best);
		i = best;
	}
}

/* --- open files, bounded ---------------------------------------------------------- */

static void
close_cursor(struct merge *m, struct cursor *c)
{
	size_t i;

	if (c->p == NULL)
		return;
	/*
	 * A pcap file's held record began its header and caplen bytes back,
	 * unless libpcap cut the record to the snapshot length: then it is
	 * found again by count.
	 */
	if (c->reclen != 0)
		c->off = c->hdr != NULL && c->hdr->caplen < (uint32_t)pcap_snapshot(c->p)
		             ? ftell(pcap_file(c->p)) - (long)(c->reclen + c->hdr->caplen)
		             : -1;
	pcap_close(c->p); /* its FILE's buffer, iobuf, is free once it is closed */
	c->p = NULL;
	free(c->iobuf);
	c->iobuf = NULL;
	for (i = 0; i < m->nopen && m->open[i] != c; i++)
		;
	if (i < m->nopen)
		m->open[i] = m->open[--m->nopen];
}

/* Room for one more open file: the open flow whose next packet comes last is closed. */
static void
make_room(struct merge *m, const struct cursor *keep)
{
	struct cursor *victim = NULL;
	size_t i;

	if (m->nopen < m->max_open)
		return;
	for (i = 0; i < m->nopen; i++)
		if (m->open[i] != keep && (victim == NULL || before(victim, m->open[i])))
			victim = m->open[i];
	if (victim != NULL)
		close_cursor(m, victim);
}

/* Read the cursor's next packet: 1, or 0 at its end (closed; a broken record reported). */
static int
advance(struct merge *m, struct cursor *c)
{
	int rc;

	/* pcapng's blocks have no length to count back by: asked before each read. */
	if (c->reclen == 0)
		c->off = ftell(pcap_file(c->p));
	/* A probe's records end where the next one's begin. */
	if (c->end != 0 && ftell(pcap_file(c->p)) >= c->end)
		rc = PCAP_ERROR_BREAK;
	else
		rc = pcap_next_ex(c->p, &c->hdr, &c->data);
	if (rc == 1) {
		c->nread++;
		c->ts = (uint64_t)c->hdr->ts.tv_sec * 1000000000u + (uint64_t)c->hdr->ts.tv_usec;
		return 1;
	}
	if (rc == PCAP_ERROR) {
		report(m, c->fpout, pcap_geterr(c->p));
		m->st.cut++;
	}
	close_cursor(m, c);
	return 0;
}

/* A file opened again: to the record it held (by offset, or by count). 1, or 0. */
static int
seek_held(struct cursor *c)
{
	uint64_t skip = c->nread - 1, i;

	if (c->off != -1)
		return fseek(pcap_file(c->p), c->off, SEEK_SET) == 0 && (c->nread = skip, 1);
	if (c->start != 0 && fseek(pcap_file(c->p), c->start, SEEK_SET) != 0)
		return 0;
	for (i = 0; i < skip; i++)
		if (pcap_next_ex(c->p, &c->hdr, &c->data) != 1)
			return 0;
	c->nread = skip;
	return 1;
}

/* Open (or open again, where it stood) the cursor's file: 1, or 0 if it cannot be read. */
static int
attach(struct merge *m, struct cursor *c, int first)
{
	char why[PCAP_ERRBUF_SIZE + 64];
	size_t i;
	int dlt, nano;

	make_room(m, c);
	c->iobuf = xmalloc(READ_BUF);
	if ((c->p = open_file(m, c->fpout, why, sizeof why, &nano, &c->reclen, c->iobuf)) == NULL) {
		free(c->iobuf);
		c->iobuf = NULL;
		report(m, c->fpout, first ? why : "gone while it was read; the rest skipped");
		if (first)
			m->st.skipped++;
		return 0;
	}
	m->open[m->nopen++] = c;
	dlt = pcap_datalink(c->p);
	for (i = 0; i < m->nlt && m->dlt[i] != dlt; i++)
		;
	if (i == m->nlt) { /* a file changed since the survey: not in this output's interfaces */
		report(m, c->fpout, "a link type the survey did not see; skipped");
		close_cursor(m, c);
		return 0;
	}
	c->lt = i;
	/* A probe: a range of a pcap file's records (a shared capture's, shared.h). */
	if (first && c->end != 0 &&
	    (c->reclen == 0 || fseek(pcap_file(c->p), c->start, SEEK_SET) != 0)) {
		report(m, c->fpout, "not a pcap file its probe's offset can be found in; skipped");
		m->st.skipped++;
		close_cursor(m, c);
		return 0;
	}
	if (!first && !seek_held(c)) {
		report(m, c->fpout, "cannot find where it stood; the rest skipped");
		close_cursor(m, c);
		return 0;
	}
	return advance(m, c);
}

static void
free_cursor(struct merge *m, struct cursor *c)
{
	close_cursor(m, c);
	free(c->fpout);
	free(c);
}

/* --- writing ----------------------------------------------------------------------- */

static void
put(struct merge *m, const void *buf, size_t len)
{
	if (m->werr == 0 && len > 0 && fwrite(buf, 1, len, m->out) != len)
		m->werr = errno != 0 ? errno : EIO;
}

int
merge_start(struct merge *m, FILE *out, const char *shown, const char *filter, char **cause)
{
	uint8_t hdr[PCAPNG_HEADER_MAX];
	pcap_t *dead;
	size_t i;

	if (m->toomany) {
		xasprintf(cause, "more than %d link types in the result", MERGE_MAX_LINKTYPES);
		return -1;
	}
	if (m->nlt == 0)
		m->dlt[m->nlt++] = DLT_EN10MB; /* nothing to write: an empty capture still opens */
	if (m->snaplen == 0)
		m->snaplen = PCAP_MAX_CAPLEN;
	for (i = 0; filter != NULL && i < m->nlt; i++) {
		dead = pcap_open_dead_with_tstamp_precision(
		    m->dlt[i], (int)m->snaplen, PCAP_TSTAMP_PRECISION_NANO);
		if (dead == NULL || pcap_compile(dead, &m->prog[i], filter, 1,
		                        PCAP_NETMASK_UNKNOWN) == PCAP_ERROR) {
			xasprintf(cause, "--filter \"%s\": %s", filter,
			    dead != NULL ? pcap_geterr(dead) : "out of memory");
			if (dead != NULL)
				pcap_close(dead);
			return -1;
		}
		pcap_close(dead);
		m->filtered = (int)i + 1;
	}
	m->out = out;
	m->shown = shown;
	m->pcapng = m->nlt > 1;
	if (!m->pcapng) {
		pcapfile_header(hdr, pcapfile_linktype(m->dlt[0]), m->snaplen, HOST_BIG, m->nano);
		put(m, hdr, PCAP_FILEHDR_LEN);
	} else {
		put(m, hdr,
		    pcapng_header(hdr, "traceflowctl query", pcapfile_linktype(m->dlt[0]),
		        m->snaplen, NULL, HOST_BIG, m->nano));
		for (i = 1; i < m->nlt; i++)
			put(m, hdr,
			    pcapng_idb(hdr, pcapfile_linktype(m->dlt[i]), m->snaplen, NULL,
			        HOST_BIG, m->nano));
	}
	return 0;
}

/* The cursor's held packet, if the filter keeps it. */
static void
write_packet(struct merge *m, const struct cursor *c)
{
	uint8_t head[PCAPNG_EPB_HEAD], tail[PCAPNG_EPB_TAIL_MAX];
	const struct pcap_pkthdr *h = c->hdr;

	if (m->filtered && pcap_offline_filter(&m->prog[c->lt], h, c->data) == 0)
		return;
	if (!m->pcapng) {
		pcapfile_record(head, c->ts, h->caplen, h->len, HOST_BIG, m->nano);
		put(m, head, PCAP_RECHDR_LEN);
		put(m, c->data, h->caplen);
	} else {
		pcapng_epb_head(head, c->ts, h->caplen, h->len, HOST_BIG, m->nano);
		pcapng_epb_iface(head, (uint32_t)c->lt, HOST_BIG);
		put(m, head, PCAPNG_EPB_HEAD);
		put(m, c->data, h->caplen);
		put(m, tail, pcapng_epb_tail(tail, h->caplen, HOST_BIG));
	}
	m->st.packets++;
	m->st.bytes += h->caplen;
}

/* Write the earliest packet and move its flow on (out of the heap at its end). */
static void
emit_top(struct merge *m)
{
	struct cursor *c = m->heap[0];

	if (c->p == NULL && !attach(m, c, 0)) {
		m->heap[0] = m->heap[--m->nheap];
		free_cursor(m, c);
		sift_down(m, 0);
		return;
	}
	write_packet(m, c);
	if (advance(m, c)) {
		sift_down(m, 0);
		return;
	}
	m->heap[0] = m->heap[--m->nheap];
	free_cursor(m, c);
	if (m->nheap > 0)
		sift_down(m, 0);
}

static int
write_failed(struct merge *m, char **cause)
{
	xasprintf(cause, "write %s: %s", m->shown, strerror(m->werr));
	return -1;
}

int
merge_add(struct merge *m, const char *fpout, uint64_t first_ns, char **cause)
{
	return merge_add_range(m, fpout, first_ns, 0, 0, cause);
}

int
merge_add_range(struct merge *m, const char *fpout, uint64_t first_ns, uint64_t offset,
    uint64_t length, char **cause)
{
	struct cursor *c;

	while (m->nheap > 0 && m->heap[0]->ts <= first_ns && m->werr == 0)
		emit_top(m);
	if (m->werr != 0)
		return write_failed(m, cause);
	c = xcalloc(1, sizeof *c);
	c->fpout = xstrdup(fpout);
	c->seq = m->seq++;
	if (length > 0) {
		c->start = (long)offset;
		c->end = (long)(offset + length);
	}
	if (!attach(m, c, 1)) {
		free_cursor(m, c);
		return 0;
	}
	m->st.flows++;
	if (m->nheap == m->heapcap) {
		m->heapcap = m->heapcap ? 2 * m->heapcap : 64;
		m->heap = xreallocarray(m->heap, m->heapcap, sizeof *m->heap);
	}
	m->heap[m->nheap++] = c;
	sift_up(m, m->nheap - 1);
	return 0;
}

int
merge_finish(struct merge *m, struct merge_stats *st, char **cause)
{
	while (m->nheap > 0 && m->werr == 0)
		emit_top(m);
	if (m->werr == 0 && fflush(m->out) == EOF)
		m->werr = errno != 0 ? errno : EIO;
	*st = m->st;
	return m->werr != 0 ? write_failed(m, cause) : 0;
}

void
merge_free(struct merge *m)
{
	int i;

	if (m == NULL)
		return;
	while (m->nheap > 0)
		free_cursor(m, m->heap[--m->nheap]);
	for (i = 0; i < m->filtered; i++)
		pcap_freecode(&m->prog[i]);
	free(m->heap);
	free(m->open);
	free(m);
}
