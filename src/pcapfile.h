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

/* The LINKTYPE_ value a file carries for a DLT_ value libpcap reports. */
uint32_t pcapfile_linktype(int dlt);

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
 * whole record (for recovering files cut short by a crash). Returns 0 if the
 * header itself is not valid.
 */
size_t pcapfile_valid_prefix(const uint8_t *buf, size_t len);

#endif
