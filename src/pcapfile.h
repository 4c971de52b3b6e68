/*
 * pcapfile.h: the classic pcap file format, written by hand. libpcap's own
 * pcap_dump writes only host byte order and one descriptor-less FILE per
 * dumper; we need either byte order, our own buffering and descriptor
 * budget, so the 24-byte header and 16-byte record header are encoded here.
 */
#ifndef TRACEFLOW_PCAPFILE_H
#define TRACEFLOW_PCAPFILE_H

#include <stddef.h>
#include <stdint.h>

#define PCAP_MAGIC_US    0xa1b2c3d4u
#define PCAP_MAGIC_NS    0xa1b23c4du
#define PCAP_MAGIC_KUZ   0xa1b2cd34u /* "modified" pcap (Kuznetzov, FRITZ!Box): 24-byte records */
#define PCAP_FILEHDR_LEN 24
#define PCAP_RECHDR_LEN  16

/* The file header; big selects big-endian, nano nanosecond timestamps. */
void pcapfile_header(
    uint8_t out[PCAP_FILEHDR_LEN], uint32_t linktype, uint32_t snaplen, int big, int nano);

/* A record header for a packet of ts_ns (epoch ns). */
void pcapfile_record(
    uint8_t out[PCAP_RECHDR_LEN], uint64_t ts_ns, uint32_t caplen, uint32_t len, int big, int nano);

/*
 * pcapng output: a Section Header Block whose comment is the file's label,
 * then one Interface Description Block (link type, snaplen, name if any,
 * if_tsresol 9 for nanoseconds); PCAPNG_HEADER_MAX bytes hold both. Each
 * record is an Enhanced Packet Block: a 28-byte head, the data, then
 * pcapng_epb_tail's padding and length (PCAPNG_EPB_TAIL_MAX at most).
 */
#define PCAPNG_HEADER_MAX   512
#define PCAPNG_IDB_MAX      256
#define PCAPNG_EPB_HEAD     28
#define PCAPNG_EPB_TAIL_MAX 8
size_t pcapng_header(uint8_t out[PCAPNG_HEADER_MAX], const char *comment, uint32_t linktype,
    uint32_t snaplen, const char *ifname, int big, int nano);
/* One more Interface Description Block (ifname may be NULL), for files of several link types. */
size_t pcapng_idb(uint8_t out[PCAPNG_IDB_MAX], uint32_t linktype, uint32_t snaplen,
    const char *ifname, int big, int nano);
/* An EPB's head made by pcapng_epb_head, for interface iface (in the order of the IDBs). */
void pcapng_epb_iface(uint8_t out[PCAPNG_EPB_HEAD], uint32_t iface, int big);
void pcapng_epb_head(
    uint8_t out[PCAPNG_EPB_HEAD], uint64_t ts_ns, uint32_t caplen, uint32_t len, int big, int nano);
size_t pcapng_epb_tail(uint8_t out[PCAPNG_EPB_TAIL_MAX], uint32_t caplen, int big);

/* The LINKTYPE_ value a file carries for a DLT_ value libpcap reports. */
uint32_t pcapfile_linktype(int dlt);

#define PCAP_MAX_CAPLEN 262144 /* no record of ours is longer (libpcap's own bound) */

/* What the records of a file say: for an index line of a recovered file. */
struct pcapfile_summary {
	uint64_t packets;
	uint64_t bytes; /* original (wire) lengths */
	uint64_t first_ns;
	uint64_t last_ns;
};

/* A file header as read; shared by the reader (capfile.c) and recovery. */
struct pcapfile_hdr {
	int big;           /* big-endian file */
	int nano;          /* nanosecond timestamps */
	uint32_t reclen;   /* record header: 16, or 24 in the modified format */
	uint32_t snaplen;  /* as it stands */
	uint32_t linktype; /* LINKTYPE_ value, FCS-length bits masked off */
	uint8_t swapped;   /* caplen and len swapped: 0 never, 1 always (< 2.3), 2 if caplen > len
	                      (2.3) */
};

/* Parse a file header: 0, or -1 (no pcap magic) or -2 (a version no reader knows). */
int pcapfile_parse_header(const uint8_t h[PCAP_FILEHDR_LEN], struct pcapfile_hdr *fh);

/* Parse a record header (fh->reclen bytes at rh). frac is in us or ns by fh->nano. */
void pcapfile_parse_record(const struct pcapfile_hdr *fh, const uint8_t *rh, uint32_t *sec,
    uint32_t *frac, uint32_t *caplen, uint32_t *len);

/*
 * Length of the valid prefix of a pcap file image: the header and every
 * whole record (for recovering files cut short by a crash), its records
 * summarised in *sum (may be NULL). Returns 0 if the header itself is not
 * valid. A record longer than the snap length or PCAP_MAX_CAPLEN ends it.
 */
size_t pcapfile_valid_prefix(const uint8_t *buf, size_t len, struct pcapfile_summary *sum);

#endif
