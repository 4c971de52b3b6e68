/*
 * decode.c: turn one captured frame into a packet record.
 *
 * The decoder peels the link layer (Ethernet and its VLAN, PPPoE and MPLS
 * encapsulations, Linux cooked v1/v2, BSD loopback, raw IP, PPP and Cisco
 * HDLC, pflog, ipnet, Linux ARCnet and nflog), then IPv4 or
 * IPv6 with its extension headers, then the fixed TCP header. It is pure: no
 * I/O, no allocation, no state, so the capture path, unit tests and fuzzers
 * all call it the same way.
 *
 * Two rules hold throughout. Every offset is checked against caplen before a
 * byte is read, so a hostile or truncated frame can at worst be rejected.
 * And lengths of the datagram come from the IP header, never from caplen:
 * snapped captures store fewer bytes than were on the wire, and the record
 * must describe the wire.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decode.h"

#define ETHERTYPE_IPV4     0x0800
#define ETHERTYPE_IPV6     0x86dd
#define ETHERTYPE_VLAN     0x8100
#define ETHERTYPE_QINQ     0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define ETHERTYPE_PPPOE    0x8864
#define ETHERTYPE_MPLS     0x8847
#define ETHERTYPE_MPLS_MC  0x8848

#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057

#define ETHER_HDR_LEN 14
#define CHDLC_HDR_LEN 4
#define IPNET_HDR_LEN 24
#define NFLOG_HDR_LEN 4
#define NFULA_PAYLOAD 9 /* the TLV that holds the packet */
#define SLL_HDR_LEN   16
#define SLL2_HDR_LEN  20
#define NULL_HDR_LEN  4
#define PPPOE_HDR_LEN 6
#define IPV4_HDR_LEN  20
#define IPV6_HDR_LEN  40
#define TCP_HDR_LEN   20

#define IPPROTO_T_HOPOPTS  0
#define IPPROTO_T_TCP      6
#define IPPROTO_T_ROUTING  43
#define IPPROTO_T_FRAGMENT 44
#define IPPROTO_T_AH       51
#define IPPROTO_T_DSTOPTS  60

/* Deeper stacks than these are not seen on real networks; stop a crafted one early. */
#define MPLS_MAX_LABELS 16
#define IPV6_MAX_EXT    8

static const char *const reason_names[DECODE_NREASONS] = {
    [DECODE_OK] = "ok",
    [DECODE_NOT_TCP] = "not_tcp",
    [DECODE_TRUNCATED] = "truncated",
    [DECODE_BAD_LINK] = "bad_link",
    [DECODE_BAD_IP] = "bad_ip",
    [DECODE_BAD_IP_LEN] = "bad_ip_len",
    [DECODE_BAD_TCP] = "bad_tcp",
    [DECODE_UNSUPPORTED] = "unsupported_link",
    [DECODE_BAD_TIME] = "bad_time",
};

/* Byte-wise loads: packet fields are big-endian and need not be aligned. */
static inline uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * The fixed TCP header at off. iplen is the TCP segment's length according
 * to the IP header (wire bytes), which may exceed what was captured.
 */
static enum decode_result
decode_tcp(const uint8_t *buf, uint32_t caplen, uint32_t off, uint32_t iplen, struct packet *pkt)
{
	const uint8_t *th;
	uint32_t hlen;

	if (caplen - off < TCP_HDR_LEN)
		return DECODE_TRUNCATED;
	th = buf + off;
	hlen = (uint32_t)(th[12] >> 4) * 4;
	if (hlen < TCP_HDR_LEN || hlen > iplen)
		return DECODE_BAD_TCP;

	/* Options may be cut by the snap length; nothing here needs them. */
	pkt->l4_off = (uint16_t)off;
	pkt->srcport = get16(th);
	pkt->dstport = get16(th + 2);
	pkt->seq = get32(th + 4);
	pkt->ack = get32(th + 8);
	pkt->flags = th[13];
	pkt->payload_len = iplen - hlen;
	return DECODE_OK;
}

static enum decode_result
decode_ipv4(const uint8_t *buf, uint32_t caplen, uint32_t off, struct packet *pkt)
{
	const uint8_t *ip;
	uint32_t hlen, totlen, fragoff;

	if (caplen - off < IPV4_HDR_LEN)
		return DECODE_TRUNCATED;
	ip = buf + off;
	if (ip[0] >> 4 != 4)
		return DECODE_BAD_IP;
	hlen = (uint32_t)(ip[0] & 0x0f) * 4;
	if (hlen < IPV4_HDR_LEN)
		return DECODE_BAD_IP;
	/*
	 * Captures taken before TSO/GSO splits a segment may carry a zero
	 * total length: the frame itself is then the only measure left.
	 */
	totlen = get16(ip + 2);
	if (totlen == 0)
		totlen = caplen - off;
	if (totlen < hlen)
		return DECODE_BAD_IP_LEN;
	pkt->ip_len = totlen;
	if (ip[9] != IPPROTO_T_TCP)
		return DECODE_NOT_TCP;
	if (caplen - off < hlen)
		return DECODE_TRUNCATED;

	pkt->af = 4;
	pkt->l3_off = (uint16_t)off;
	memcpy(pkt->src, ip + 12, 4);
	memcpy(pkt->dst, ip + 16, 4);

	fragoff = get16(ip + 6);
	if (fragoff & 0x3fff) {
		pkt->frag_id = get16(ip + 4);
		pkt->frag_more = (fragoff & 0x2000) != 0;
		if (fragoff & 0x1fff) {
			/* A later fragment carries only TCP bytes; no header to read. */
			pkt->frag = FRAG_LATER;
			pkt->payload_len = totlen - hlen;
			return DECODE_OK;
		}
		pkt->frag = FRAG_FIRST;
	}
	return decode_tcp(buf, caplen, off + hlen, totlen - hlen, pkt);
}

/*
 * IPv6 payload length 0 means either a Jumbo Payload option in the
 * hop-by-hop header (RFC 2675; Linux BIG TCP sends these) or a TSO capture.
 * hbh is the hop-by-hop header, hlen its length, both within caplen.
 * Returns the jumbo length, or 0 when there is none.
 */
static uint32_t
ipv6_jumbo(const uint8_t *hbh, uint32_t hlen)
{
	uint32_t i = 2;

	while (i < hlen) {
		if (hbh[i] == 0) { /* Pad1 has no length byte */
			i++;
			continue;
		}
		if (hlen - i < 2 || hlen - i - 2 < hbh[i + 1])
			return 0;
		if (hbh[i] == 0xc2 && hbh[i + 1] == 4)
			return get32(hbh + i + 2);
		i += 2 + (uint32_t)hbh[i + 1];
	}
	return 0;
}

/* Length of an IPv6 extension header from its first two bytes. */
static inline uint32_t
ipv6_ext_len(uint8_t nh, const uint8_t *h)
{
	if (nh == IPPROTO_T_FRAGMENT)
		return 8;
	if (nh == IPPROTO_T_AH)
		return ((uint32_t)h[1] + 2) * 4;
	return ((uint32_t)h[1] + 1) * 8;
}

static enum decode_result
decode_ipv6(const uint8_t *buf, uint32_t caplen, uint32_t off, struct packet *pkt)
{
	const uint8_t *ip, *h;
	uint64_t end, pos;
	uint32_t plen, hlen, fragoff;
	uint8_t nh;
	int next;

	if (caplen - off < IPV6_HDR_LEN)
		return DECODE_TRUNCATED;
	ip = buf + off;
	if (ip[0] >> 4 != 6)
		return DECODE_BAD_IP;
	plen = get16(ip + 4);
	nh = ip[6];
	pos = (uint64_t)off + IPV6_HDR_LEN;

	if (plen == 0 && nh == IPPROTO_T_HOPOPTS) {
		if (caplen - pos < 2)
			return DECODE_TRUNCATED;
		hlen = ipv6_ext_len(nh, buf + pos);
		if (caplen - pos < hlen)
			return DECODE_TRUNCATED;
		plen = ipv6_jumbo(buf + pos, hlen);
	}
	if (plen == 0)
		plen = caplen - (uint32_t)pos;
	/* 64 bits: a jumbo length plus the offset may not fit in 32. */
	end = pos + plen;
	pkt->ip_len = plen > UINT32_MAX - IPV6_HDR_LEN ? UINT32_MAX : IPV6_HDR_LEN + plen;

	pkt->af = 6;
	pkt->l3_off = (uint16_t)off;
	memcpy(pkt->src, ip + 8, 16);
	memcpy(pkt->dst, ip + 24, 16);

	/*
	 * Walk the extension headers. pos <= end and pos <= caplen hold on
	 * every turn; a header must fit the datagram (else it is malformed)
	 * and then the capture (else it is truncated).
	 */
	for (next = 0; nh != IPPROTO_T_TCP; next++) {
		if (next == IPV6_MAX_EXT)
			return DECODE_BAD_IP;
		switch (nh) {
		case IPPROTO_T_HOPOPTS:
		case IPPROTO_T_ROUTING:
		case IPPROTO_T_DSTOPTS:
		case IPPROTO_T_AH:
		case IPPROTO_T_FRAGMENT:
			break;
		default: /* 59 (no next header), UDP, ICMPv6, ESP, ... */
			return DECODE_NOT_TCP;
		}
		if (end - pos < 2)
			return DECODE_BAD_IP;
		if (caplen - pos < 2)
			return DECODE_TRUNCATED;
		h = buf + pos;
		hlen = ipv6_ext_len(nh, h);
		if (end - pos < hlen)
			return DECODE_BAD_IP;
		if (caplen - pos < hlen)
			return DECODE_TRUNCATED;
		pos += hlen;
		if (nh == IPPROTO_T_FRAGMENT) {
			fragoff = get16(h + 2);
			if (fragoff & 0xfff9) { /* offset or M set: a real fragment */
				if (h[0] != IPPROTO_T_TCP)
					return DECODE_NOT_TCP;
				pkt->frag_id = get32(h + 4);
				pkt->frag_more = fragoff & 1;
				if (fragoff >> 3) {
					pkt->frag = FRAG_LATER;
					pkt->payload_len = (uint32_t)(end - pos);
					return DECODE_OK;
				}
				pkt->frag = FRAG_FIRST;
			}
		}
		nh = h[0];
	}
	return decode_tcp(buf, caplen, (uint32_t)pos, (uint32_t)(end - pos), pkt);
}

/* Raw IP: the version nibble is the only type field there is. */
static enum decode_result
decode_ip(const uint8_t *buf, uint32_t caplen, uint32_t off, struct packet *pkt)
{
	if (caplen - off < 1)
		return DECODE_TRUNCATED;
	switch (buf[off] >> 4) {
	case 4:
		return decode_ipv4(buf, caplen, off, pkt);
	case 6:
		return decode_ipv6(buf, caplen, off, pkt);
	default:
		return DECODE_BAD_IP;
	}
}

/*
 * PPPoE session stage: version/type 0x11, code 0, session id, length, then
 * the PPP protocol number. Only uncompressed PPP protocol fields are
 * expected: PPPoE forbids protocol-field compression (RFC 2516).
 */
static enum decode_result
decode_pppoe(const uint8_t *buf, uint32_t caplen, uint32_t off, struct packet *pkt)
{
	if (caplen - off < PPPOE_HDR_LEN + 2)
		return DECODE_TRUNCATED;
	if (buf[off] != 0x11 || buf[off + 1] != 0)
		return DECODE_BAD_LINK;
	switch (get16(buf + off + PPPOE_HDR_LEN)) {
	case PPP_IPV4:
		return decode_ipv4(buf, caplen, off + PPPOE_HDR_LEN + 2, pkt);
	case PPP_IPV6:
		return decode_ipv6(buf, caplen, off + PPPOE_HDR_LEN + 2, pkt);
	default:
		return DECODE_NOT_TCP;
	}
}

/*
 * Dispatch on an ethertype, shared by Ethernet and the cooked link types.
 * Encapsulations loop rather than recurse: VLAN tags and MPLS pseudowires
 * (which carry a whole Ethernet frame) each consume bytes and are bounded in
 * number, so a crafted frame cannot make this run long or deep.
 */
static enum decode_result
decode_ethertype(
    const uint8_t *buf, uint32_t caplen, uint32_t off, uint16_t type, struct packet *pkt)
{
	int labels = 0;
	uint32_t lse;

	for (;;) {
		switch (type) {
		case ETHERTYPE_IPV4:
			return decode_ipv4(buf, caplen, off, pkt);
		case ETHERTYPE_IPV6:
			return decode_ipv6(buf, caplen, off, pkt);
		case ETHERTYPE_VLAN:
		case ETHERTYPE_QINQ:
		case ETHERTYPE_QINQ_OLD:
			if (pkt->nvlan == DECODE_MAX_VLAN)
				return DECODE_BAD_LINK;
			if (caplen - off < 4)
				return DECODE_TRUNCATED;
			pkt->vlan[pkt->nvlan++] = get16(buf + off) & 0x0fff;
			type = get16(buf + off + 2);
			off += 4;
			break;
		case ETHERTYPE_PPPOE:
			return decode_pppoe(buf, caplen, off, pkt);
		case ETHERTYPE_MPLS:
		case ETHERTYPE_MPLS_MC:
			/* The label stack: 4 bytes each, bottom-of-stack bit ends it. */
			do {
				if (labels++ == MPLS_MAX_LABELS)
					return DECODE_BAD_LINK;
				if (caplen - off < 4)
					return DECODE_TRUNCATED;
				lse = get32(buf + off);
				off += 4;
			} while (!(lse & 0x100));
			/* MPLS has no payload type: guess from the first nibble, as everyone does.
			 */
			if (caplen - off < 1)
				return DECODE_TRUNCATED;
			if (buf[off] >> 4 == 4 || buf[off] >> 4 == 6)
				return decode_ip(buf, caplen, off, pkt);
			if (buf[off] >> 4 != 0)
				return DECODE_NOT_TCP;
			/* A pseudowire control word, then an Ethernet frame. */
			if (caplen - off < 4 + ETHER_HDR_LEN)
				return DECODE_TRUNCATED;
			off += 4 + ETHER_HDR_LEN;
			type = get16(buf + off - 2);
			break;
		default: /* ARP, LLC lengths, LLDP, ...: not ours */
			return DECODE_NOT_TCP;
		}
	}
}

/*
 * BSD loopback: a 4-byte address family in the byte order of the host that
 * captured (DLT_NULL) or in network order (DLT_LOOP). Families fit in 16
 * bits, so a value that does not was written in the other order.
 */
static enum decode_result
decode_null(const uint8_t *buf, uint32_t caplen, struct packet *pkt)
{
	uint32_t af;

	if (caplen < NULL_HDR_LEN)
		return DECODE_TRUNCATED;
	af = get32(buf);
	if (af > 0xffff)
		af = __builtin_bswap32(af);
	switch (af) {
	case 2: /* AF_INET everywhere */
		return decode_ipv4(buf, caplen, NULL_HDR_LEN, pkt);
	case 10: /* AF_INET6: Linux */
	case 24: /* NetBSD, OpenBSD, BSD/OS */
	case 28: /* FreeBSD, DragonFly */
	case 30: /* Darwin */
		return decode_ipv6(buf, caplen, NULL_HDR_LEN, pkt);
	default:
		return DECODE_NOT_TCP;
	}
}

/* The address family a link header names: 4, 6, or 0 for anything else. */
static int
af_of(uint32_t af)
{
	switch (af) {
	case 2: /* AF_INET everywhere */
		return 4;
	case 10: /* AF_INET6: Linux */
	case 24: /* NetBSD, OpenBSD, BSD/OS */
	case 28: /* FreeBSD, DragonFly */
	case 30: /* Darwin */
		return 6;
	default:
		return 0;
	}
}

static enum decode_result
decode_af(const uint8_t *buf, uint32_t caplen, uint32_t off, int af, struct packet *pkt)
{
	if (af == 4)
		return decode_ipv4(buf, caplen, off, pkt);
	if (af == 6)
		return decode_ipv6(buf, caplen, off, pkt);
	return DECODE_NOT_TCP;
}

/* A PPP protocol field at off (1 byte when compressed: odd first byte), then IP. */
static enum decode_result
decode_ppp_proto(const uint8_t *buf, uint32_t caplen, uint32_t off, struct packet *pkt)
{
	uint16_t proto;

	if (caplen - off < 1)
		return DECODE_TRUNCATED;
	if (buf[off] & 1)
		proto = buf[off++];
	else {
		if (caplen - off < 2)
			return DECODE_TRUNCATED;
		proto = get16(buf + off);
		off += 2;
	}
	switch (proto) {
	case PPP_IPV4:
		return decode_ipv4(buf, caplen, off, pkt);
	case PPP_IPV6:
		return decode_ipv6(buf, caplen, off, pkt);
	default:
		return DECODE_NOT_TCP;
	}
}

/*
 * PPP: the HDLC address and control bytes (ff 03) may be there or not. In
 * files of PPP_HDLC, some writers put Cisco HDLC frames (address 0x0f or
 * 0x8f), as libpcap's documentation of that type warns.
 */
static enum decode_result
decode_ppp(int dlt, const uint8_t *buf, uint32_t caplen, struct packet *pkt)
{
	if (caplen < 2)
		return DECODE_TRUNCATED;
	if (dlt == DLT_T_PPP_HDLC && (buf[0] == 0x0f || buf[0] == 0x8f)) {
		if (caplen < CHDLC_HDR_LEN)
			return DECODE_TRUNCATED;
		return decode_ethertype(buf, caplen, CHDLC_HDR_LEN, get16(buf + 2), pkt);
	}
	if (buf[0] == 0xff && buf[1] == 0x03)
		return decode_ppp_proto(buf, caplen, 2, pkt);
	if (dlt == DLT_T_PPP_HDLC)
		return DECODE_BAD_LINK; /* HDLC-like framing always has them */
	return decode_ppp_proto(buf, caplen, 0, pkt);
}

/*
 * pflog: the header gives its own length (padded to 4 on the wire) and the
 * address family. Shorter than 45 bytes (its oldest layout, the bound
 * Wireshark checks): not a pflog header.
 */
static enum decode_result
decode_pflog(const uint8_t *buf, uint32_t caplen, struct packet *pkt)
{
	uint32_t hlen;

	if (caplen < 2)
		return DECODE_TRUNCATED;
	hlen = ((uint32_t)buf[0] + 3) & ~3u;
	if (buf[0] < 45)
		return DECODE_BAD_LINK;
	if (caplen < hlen)
		return DECODE_TRUNCATED;
	return decode_af(buf, caplen, hlen, af_of(buf[1]), pkt);
}

/* Solaris ipnet: version 1, then a family of its own (2 inet, 26 inet6), 24 bytes in all. */
static enum decode_result
decode_ipnet(const uint8_t *buf, uint32_t caplen, struct packet *pkt)
{
	if (caplen < IPNET_HDR_LEN)
		return DECODE_TRUNCATED;
	if (buf[0] != 1)
		return DECODE_BAD_LINK;
	return decode_af(buf, caplen, IPNET_HDR_LEN, buf[1] == 2 ? 4 : buf[1] == 26 ? 6 : 0, pkt);
}

/*
 * Linux ARCnet: source, destination, a 2-byte offset, the protocol id;
 * RFC 1201 protocols (IP 212, IPv6 196) then carry a split flag and a
 * sequence number, RFC 1051 IP (240) does not.
 */
static enum decode_result
decode_arcnet(const uint8_t *buf, uint32_t caplen, struct packet *pkt)
{
	if (caplen < 5)
		return DECODE_TRUNCATED;
	switch (buf[4]) {
	case 240:
		return decode_ipv4(buf, caplen, 5, pkt);
	case 212:
	case 196:
		if (caplen < 8)
			return DECODE_TRUNCATED;
		return buf[4] == 212 ? decode_ipv4(buf, caplen, 8, pkt)
		                     : decode_ipv6(buf, caplen, 8, pkt);
	default:
		return DECODE_NOT_TCP;
	}
}

/*
 * nflog: family, version 0, resource id, then type-length-value
 * attributes up to the one that holds the packet. Lengths and types are in
 * the byte order of the host that logged (libpcap's documentation), so the
 * first attribute decides it: whichever order makes it a plausible one.
 * The packet ends where its attribute ends, not at caplen.
 */
static enum decode_result
decode_nflog(const uint8_t *buf, uint32_t caplen, struct packet *pkt)
{
	uint32_t off = NFLOG_HDR_LEN, len, type;
	int big = 0;

	if (caplen < NFLOG_HDR_LEN)
		return DECODE_TRUNCATED;
	if (buf[1] != 0)
		return DECODE_BAD_LINK;
	if (caplen - off >= 4) {
		len = (uint32_t)buf[off] | (uint32_t)buf[off + 1] << 8;
		type = ((uint32_t)buf[off + 2] | (uint32_t)buf[off + 3] << 8) & 0x7fff;
		big = len < 4 || len > caplen - off || type > 0xff;
	}
	while (caplen - off >= 4) {
		len = big ? get16(buf + off) : (uint32_t)buf[off] | (uint32_t)buf[off + 1] << 8;
		type = (big ? get16(buf + off + 2)
		            : (uint32_t)buf[off + 2] | (uint32_t)buf[off + 3] << 8) &
		       0x7fff; /* without the nested and byte-order flags */
		if (len < 4)
			return DECODE_BAD_LINK;
		if (len > caplen - off)
			return DECODE_TRUNCATED;
		if (type == NFULA_PAYLOAD) {
			if (af_of(buf[0]) == 0)
				return DECODE_NOT_TCP;
			return decode_af(buf, off + len, off + 4, af_of(buf[0]), pkt);
		}
		off += (len + 3) & ~3u;
		if (off > caplen)
			return DECODE_TRUNCATED;
	}
	return caplen - off == 0 ? DECODE_NOT_TCP : DECODE_TRUNCATED;
}

enum decode_result
decode_frame(int dlt, const uint8_t *buf, uint32_t caplen, struct packet *pkt)
{
	/* Clear the decoded part only: the caller owns frame, ts and the lengths. */
	memset(&pkt->af, 0, sizeof(*pkt) - offsetof(struct packet, af));

	switch (dlt) {
	case DLT_T_EN10MB:
		if (caplen < ETHER_HDR_LEN)
			return DECODE_TRUNCATED;
		return decode_ethertype(buf, caplen, ETHER_HDR_LEN, get16(buf + 12), pkt);
	case DLT_T_SLL:
		if (caplen < SLL_HDR_LEN)
			return DECODE_TRUNCATED;
		return decode_ethertype(buf, caplen, SLL_HDR_LEN, get16(buf + 14), pkt);
	case DLT_T_SLL2:
		if (caplen < SLL2_HDR_LEN)
			return DECODE_TRUNCATED;
		return decode_ethertype(buf, caplen, SLL2_HDR_LEN, get16(buf), pkt);
	case DLT_T_NULL:
	case DLT_T_LOOP:
		return decode_null(buf, caplen, pkt);
	case DLT_T_RAW:
	case DLT_T_RAW_OBSD:
	case DLT_T_RAW_LT:
		return decode_ip(buf, caplen, 0, pkt);
	case DLT_T_IPV4:
		return decode_ipv4(buf, caplen, 0, pkt);
	case DLT_T_IPV6:
		return decode_ipv6(buf, caplen, 0, pkt);
	case DLT_T_PPP:
	case DLT_T_PPP_HDLC:
		return decode_ppp(dlt, buf, caplen, pkt);
	case DLT_T_C_HDLC:
		if (caplen < CHDLC_HDR_LEN)
			return DECODE_TRUNCATED;
		return decode_ethertype(buf, caplen, CHDLC_HDR_LEN, get16(buf + 2), pkt);
	case DLT_T_PFLOG:
		return decode_pflog(buf, caplen, pkt);
	case DLT_T_IPNET:
		return decode_ipnet(buf, caplen, pkt);
	case DLT_T_ARCNET:
		return decode_arcnet(buf, caplen, pkt);
	case DLT_T_NFLOG:
		return decode_nflog(buf, caplen, pkt);
	default:
		return DECODE_UNSUPPORTED;
	}
}

int
decode_supported(int dlt)
{
	switch (dlt) {
	case DLT_T_NULL:
	case DLT_T_EN10MB:
	case DLT_T_RAW:
	case DLT_T_RAW_OBSD:
	case DLT_T_RAW_LT:
	case DLT_T_LOOP:
	case DLT_T_SLL:
	case DLT_T_SLL2:
	case DLT_T_IPV4:
	case DLT_T_IPV6:
	case DLT_T_PPP:
	case DLT_T_PPP_HDLC:
	case DLT_T_C_HDLC:
	case DLT_T_PFLOG:
	case DLT_T_ARCNET:
	case DLT_T_IPNET:
	case DLT_T_NFLOG:
		return 1;
	default:
		return 0;
	}
}

const char *
decode_reason_name(enum decode_result r)
{
	if ((unsigned)r >= DECODE_NREASONS)
		return "unknown";
	return reason_names[r];
}
