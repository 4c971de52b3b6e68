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

#define PCAP_MAX_CAPLEN 262144 /* no record of ours is longer (libpcap's own bound) */

/* What the records of a file say: for an index line of a recovered file. */
struct pcapfile_summary {
	uint64_t packets;
	uint64_t bytes; /* original (wire) lengths */
	uint64_t first_ns;
	uint64_t last_ns;
};

/*
 * Length of the valid prefix of a pcap file image: the header and every
 * whole record (for recovering files cut short by a crash), its records
 * summarised in *sum (may be NULL). Returns 0 if the header itself is not
 * valid. A record longer than the snap length or PCAP_MAX_CAPLEN ends it.
 */
size_t pcapfile_valid_prefix(const uint8_t *buf, size_t len, struct pcapfile_summary *sum);

#endif
