/*
 * capfile.h: our own reader of capture files, pcap and pcapng, for the
 * offline mode (live capture stays on libpcap).
 *
 * libpcap 1.10 refuses pcapng files whose interfaces differ in link type
 * or snap length, which dumpcap writes whenever it captures on several
 * interfaces; and its reader copies every record through stdio. This one
 * maps a regular file (or reads a pipe in large blocks), hands out records
 * that point into that memory, and keeps every interface with its own link
 * type, snap length and timestamp resolution.
 *
 * The parser is pure (no I/O but the buffer refill, no globals), so unit
 * tests and the fuzzer run it over memory with capfile_open_mem().
 */
#ifndef TRACEFLOW_CAPFILE_H
#define TRACEFLOW_CAPFILE_H

#include <stddef.h>
#include <stdint.h>

#define CAPFILE_MAX_CAPLEN                                                                 \
	262144u              /* what any record may hold (libpcap's and Wireshark's bound) \
	                      */
#define CAPFILE_NAME_MAX 128 /* if_name kept, bytes with the NUL */
/* Interfaces one pcapng section may describe (the file: any number of sections). */
#define CAPFILE_SECTION_IFS 256u

/* One interface: the only one of a pcap file, or a pcapng IDB. */
struct capfile_if {
	uint32_t linktype;           /* LINKTYPE_* as it stands in the file */
	uint32_t snaplen;            /* 0 (unlimited) and huge values read as CAPFILE_MAX_CAPLEN */
	uint8_t tsresol;             /* if_tsresol: 10^-n, or 2^-n with the high bit set */
	int64_t tsoffset;            /* if_tsoffset, seconds */
	uint64_t tps;                /* timestamp units per second */
	char name[CAPFILE_NAME_MAX]; /* if_name, "" when none was given; clean UTF-8 (capfile.c) */
	uint32_t section;            /* which section (SHB) it came from, 0-based */
};

enum capfile_kind {
	CAPFILE_PACKET = 0, /* a frame: EPB, SPB, obsolete PB or a pcap record */
	CAPFILE_OTHER /* a record Wireshark numbers as a frame but no packet (journal, custom) */
};

struct capfile_rec {
	int kind;            /* enum capfile_kind */
	uint32_t ifno;       /* interface, numbered across the whole file as Wireshark does */
	uint64_t ts;         /* ns since the epoch (0 for a Simple Packet Block: it has none) */
	uint32_t caplen;     /* bytes at data */
	uint32_t wirelen;    /* bytes on the wire */
	const uint8_t *data; /* valid until the next capfile_next (capfile_stable: the close) */
	uint64_t offset;     /* of its block or record in the file */
};

struct capfile;

/* A file, or "-" for standard input. NULL and *cause (malloc'd) if it is no capture. */
struct capfile *capfile_open(const char *path, char **cause);
/* The same over memory that the caller keeps (tests, fuzzer). */
struct capfile *capfile_open_mem(const uint8_t *buf, size_t len, char **cause);
void capfile_close(struct capfile *cf);

/*
 * The next record: 1 and *r, 0 at a clean end of file, -1 on a corrupt or
 * truncated file or a read error (capfile_error says what and where;
 * everything returned before stands).
 */
int capfile_next(struct capfile *cf, struct capfile_rec *r);
const char *capfile_error(const struct capfile *cf);
/* Whether records' data stay valid until capfile_close (a mapped file, memory), not the next. */
int capfile_stable(const struct capfile *cf);

/*
 * Interfaces are numbered across the file (capfile_rec.ifno): capfile_nif()
 * is how many were met so far (a pcapng file may describe more as it goes).
 * Only the current section's are kept, a new section header drops them:
 * capfile_if() is NULL for an interface of a section already passed (one
 * that capfile_next went through without a record on it included).
 */
uint32_t capfile_nif(const struct capfile *cf);
const struct capfile_if *capfile_if(const struct capfile *cf, uint32_t ifno);

/* 1 for pcapng; for pcap, whether its magic said nanoseconds (-1: pcapng). */
int capfile_is_pcapng(const struct capfile *cf);
int capfile_pcap_nano(const struct capfile *cf);

/* Whether an interface's timestamps need nanoseconds (finer than 10^-6 s, or 2^-n). */
static inline int
capfile_if_nano(const struct capfile_if *ifp)
{
	return ifp->tps > 1000000 || 1000000 % ifp->tps != 0;
}

/*
 * Does a copy of the file need nanoseconds to keep its times? The pcap
 * magic, or any pcapng interface described before the first packet (of
 * its section): what a writer can know when it begins. The offline mode
 * and libtraceflow ask it once, after the first record is read.
 */
static inline int
capfile_wants_nano(const struct capfile *cf)
{
	uint32_t i;

	if (!capfile_is_pcapng(cf))
		return capfile_pcap_nano(cf);
	for (i = 0; i < capfile_nif(cf); i++)
		if (capfile_if(cf, i) != NULL && capfile_if_nano(capfile_if(cf, i)))
			return 1;
	return 0;
}

/*
 * ticks of an interface's resolution to ns since the epoch (truncated), or
 * CAPFILE_TS_BAD where that is not a 64-bit number of ns below it: before
 * 1970, or past 2554 (a pcapng interface with a wrong if_tsoffset or
 * if_tsresol). The engine counts such frames malformed (bad_time).
 */
#define CAPFILE_TS_BAD UINT64_MAX
uint64_t capfile_ts_ns(const struct capfile_if *ifp, uint64_t ticks);

#endif
