/*
 * ipfix.h: a finished flow encoded as IPFIX (RFC 7011) through libfixbuf,
 * into memory. This module knows the information elements, the templates,
 * traceflow's enterprise elements and their RFC 5610 descriptions; it knows
 * nothing of sockets, queues or threads. The exporter (export.c) takes the
 * bytes made here and moves them to the collector.
 *
 * Not thread-safe: one encoder belongs to one thread.
 */
#ifndef TRACEFLOW_IPFIX_H
#define TRACEFLOW_IPFIX_H

#include <stddef.h>
#include <stdint.h>

/* Template ids on the wire: one for IPv4 flows, one for IPv6 flows. */
#define IPFIX_TID_V4 256
#define IPFIX_TID_V6 257

struct ipfix_config {
	uint32_t domain; /* observation domain id: which sensor this is */
	uint32_t pen;    /* private enterprise number of traceflow's own elements; 0 = none */
	size_t msg_max;  /* a message is at most about this long (UDP: a datagram); 0 = 64 KiB */
};

/* A flow as it is encoded: what the index line says, the addresses in binary. */
struct ipfix_flow {
	uint64_t first_ns, last_ns, packets, ipbytes;
	uint8_t src[16], dst[16]; /* network order; IPv4 in the first 4 bytes */
	uint16_t srcport, dstport;
	uint16_t vlan[2]; /* outer, inner; 0 = none */
	uint8_t af;       /* 4 or 6 */
	uint8_t tcpflags, reason, partial;
	const char *label, *fpout, *iface; /* never NULL; "" for none */
	uint16_t label_len, fpout_len, iface_len;
};

struct ipfix;

/* An encoder with its templates (not yet in the output). NULL and *cause on failure. */
struct ipfix *ipfix_new(const struct ipfix_config *cfg, char **cause);
void ipfix_free(struct ipfix *p);

/* End the message being made (if any): its bytes join the output. */
void ipfix_emit(struct ipfix *p);

/* The templates (and element descriptions) as messages of their own, into the output. */
void ipfix_templates(struct ipfix *p);

/*
 * Add one record to the message being made. When the message would grow
 * past msg_max, or libfixbuf's own limit, the message ends first and its
 * bytes join the output (so a change in the output length means the
 * records added before this one are in it). -1 and *cause if the record
 * cannot be encoded.
 */
int ipfix_append(struct ipfix *p, const struct ipfix_flow *f, char **cause);

/* The bytes of the messages made and not yet taken: whole messages, in order. */
const uint8_t *ipfix_out(const struct ipfix *p, size_t *len);

/* The output has been taken (sent, or given up on). */
void ipfix_out_clear(struct ipfix *p);

/* Throw away the message half made and the output: they will be made again. */
void ipfix_abandon(struct ipfix *p);

/* IPFIX flowEndReason (RFC 5102) of a traceflow reason (enum flow_reason). */
uint8_t ipfix_end_reason(int reason);

#endif
