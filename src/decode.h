/*
 * decode.h: turn one captured frame into a packet record (pcapkit's
 * trace.packet). Pure code: no I/O, no globals, no allocation, so unit tests
 * and fuzzers call it directly.
 */
#ifndef TRACEFLOW_DECODE_H
#define TRACEFLOW_DECODE_H

#include <stddef.h>
#include <stdint.h>

#define DECODE_MAX_VLAN 4 /* tags kept in the record; deeper stacks are malformed */

/* TCP flag bits as they stand in the header's flags byte. */
#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_PSH 0x08
#define TCPF_ACK 0x10
#define TCPF_URG 0x20

/* Link types decoded, by the DLT value libpcap's pcap_datalink() returns. */
#define DLT_T_NULL     0   /* BSD loopback, host-order AF */
#define DLT_T_EN10MB   1   /* Ethernet */
#define DLT_T_RAW      12  /* raw IP (Linux, most systems) */
#define DLT_T_RAW_OBSD 14  /* raw IP (OpenBSD's DLT_RAW) */
#define DLT_T_RAW_LT   101 /* LINKTYPE_RAW as it stands in files */
#define DLT_T_LOOP     108 /* OpenBSD loopback, network-order AF */
#define DLT_T_SLL      113 /* Linux cooked v1 */
#define DLT_T_SLL2     276 /* Linux cooked v2 */
#define DLT_T_IPV4     228 /* raw IPv4 only */
#define DLT_T_IPV6     229 /* raw IPv6 only */
#define DLT_T_PPP      9   /* PPP, with or without HDLC address and control */
#define DLT_T_PPP_HDLC 50  /* PPP in HDLC-like framing (LINKTYPE_PPP_HDLC, DLT_PPP_SERIAL) */
#define DLT_T_C_HDLC   104 /* Cisco HDLC */
#define DLT_T_PFLOG    117 /* OpenBSD pflog */
#define DLT_T_ARCNET   129 /* ARCnet, Linux header */
#define DLT_T_IPNET    226 /* Solaris ipnet */
#define DLT_T_NFLOG    239 /* Linux netfilter log */

enum decode_result {
	DECODE_OK = 0,      /* a TCP segment, or an IP fragment of one */
	DECODE_NOT_TCP,     /* well formed but not TCP (ARP, UDP, ...): ignored, not malformed */
	DECODE_TRUNCATED,   /* caplen ends inside a link, IP or the fixed TCP header */
	DECODE_BAD_LINK,    /* bad link-layer / encapsulation header (PPPoE, MPLS, VLAN stack) */
	DECODE_BAD_IP,      /* bad IP version, IHL, or IPv6 extension header chain */
	DECODE_BAD_IP_LEN,  /* IP total/payload length shorter than its own headers */
	DECODE_BAD_TCP,     /* TCP data offset < 5 or beyond the IP payload */
	DECODE_UNSUPPORTED, /* link type not decoded */
	DECODE_BAD_TIME,    /* a time before 1970 or past 2554 (engine.h's ENGINE_TS_BAD) */
	DECODE_NREASONS
};

/* Fragment role of the packet (IPv4 MF/offset, IPv6 fragment header). */
enum decode_frag {
	FRAG_NONE = 0,
	FRAG_FIRST, /* offset 0 with more fragments: carries the TCP header */
	FRAG_LATER  /* offset > 0: no TCP header; ports come from the frag table */
};

/*
 * The packet record. decode_frame() fills everything from `af` on; the caller
 * sets frame, ts, caplen and wirelen from the capture header.
 */
struct packet {
	uint64_t frame;   /* 1-based frame number in its input */
	uint64_t ts;      /* nanoseconds since the epoch */
	uint32_t caplen;  /* bytes captured */
	uint32_t wirelen; /* bytes on the wire */

	uint8_t af;    /* 4 or 6 (not AF_*: decode is OS-neutral) */
	uint8_t nvlan; /* 802.1Q / 802.1ad tags, outermost first */
	uint16_t vlan[DECODE_MAX_VLAN];
	uint8_t src[16]; /* IPv4 uses the first 4 bytes, the rest are zero */
	uint8_t dst[16];
	uint16_t srcport; /* host order; 0 for FRAG_LATER until the frag table fills it */
	uint16_t dstport;
	uint8_t flags; /* TCPF_* bits; 0 for FRAG_LATER */
	uint8_t frag;  /* enum decode_frag */
	uint8_t frag_more;
	uint32_t frag_id;     /* IPv4 identification or IPv6 fragment identification */
	uint32_t seq;         /* host order */
	uint32_t ack;         /* host order */
	uint32_t payload_len; /* TCP payload bytes per the IP lengths (not caplen) */
	uint32_t ip_len;      /* IP header(s) and payload per the IP lengths: IPFIX's octets */
	uint16_t l3_off;      /* offset of the IP header in the frame */
	uint16_t l4_off;      /* offset of the TCP header (0 for FRAG_LATER) */
};

/*
 * Decode one frame of link type dlt (a DLT_T_* value). Returns DECODE_OK and
 * fills pkt, or the reason the frame was not a decodable TCP segment. Never
 * reads past buf + caplen.
 */
enum decode_result decode_frame(int dlt, const uint8_t *buf, uint32_t caplen, struct packet *pkt);

/* Whether dlt is a link type decode_frame() understands. */
int decode_supported(int dlt);

/* A short stable name for a result ("truncated", "bad_ip", ...), used in counters. */
const char *decode_reason_name(enum decode_result r);

#endif
