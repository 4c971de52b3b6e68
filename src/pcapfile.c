/* pcapfile.c: encoding of pcap file and record headers in either byte order. */
#include <string.h>

#include "pcapfile.h"

static void
put32(uint8_t *p, uint32_t v, int big)
{
	if (big) {
		p[0] = v >> 24;
		p[1] = v >> 16;
		p[2] = v >> 8;
		p[3] = v;
	} else {
		p[0] = v;
		p[1] = v >> 8;
		p[2] = v >> 16;
		p[3] = v >> 24;
	}
}

static void
put16(uint8_t *p, uint16_t v, int big)
{
	if (big) {
		p[0] = v >> 8;
		p[1] = v;
	} else {
		p[0] = v;
		p[1] = v >> 8;
	}
}

static uint32_t
get32(const uint8_t *p, int big)
{
	if (big)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

void
pcapfile_header(
    uint8_t out[PCAP_FILEHDR_LEN], uint32_t linktype, uint32_t snaplen, int big, int nano)
{
	put32(out, nano ? PCAP_MAGIC_NS : PCAP_MAGIC_US, big);
	put16(out + 4, 2, big); /* version 2.4 */
	put16(out + 6, 4, big);
	put32(out + 8, 0, big);  /* thiszone */
	put32(out + 12, 0, big); /* sigfigs */
	put32(out + 16, snaplen, big);
	put32(out + 20, linktype, big);
}

/* On the packet path: four words in the chosen order, one store each. */
void
pcapfile_record(
    uint8_t out[PCAP_RECHDR_LEN], uint64_t ts_ns, uint32_t caplen, uint32_t len, int big, int nano)
{
	uint32_t frac = (uint32_t)(ts_ns % 1000000000u);
	uint32_t w[4] = {(uint32_t)(ts_ns / 1000000000u), nano ? frac : frac / 1000, caplen, len};
	int swap = big != (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__);
	int i;

	if (swap)
		for (i = 0; i < 4; i++)
			w[i] = __builtin_bswap32(w[i]);
	memcpy(out, w, sizeof w);
}

uint32_t
pcapfile_linktype(int dlt)
{
	switch (dlt) {
	case 12: /* DLT_RAW on Linux and most systems */
	case 14: /* DLT_RAW on OpenBSD */
		return 101;
	default:
		/* For the types we decode, DLT and LINKTYPE values agree. */
		return (uint32_t)dlt;
	}
}

size_t
pcapfile_valid_prefix(const uint8_t *buf, size_t len, struct pcapfile_summary *sum)
{
	struct pcapfile_summary none;
	uint32_t magic, snaplen, caplen;
	uint64_t ts;
	size_t off;
	int big, nano;

	if (sum == NULL)
		sum = &none;
	memset(sum, 0, sizeof *sum);
	if (len < PCAP_FILEHDR_LEN)
		return 0;
	magic = get32(buf, 0);
	if (magic == PCAP_MAGIC_US || magic == PCAP_MAGIC_NS)
		big = 0;
	else if ((magic = get32(buf, 1)) == PCAP_MAGIC_US || magic == PCAP_MAGIC_NS)
		big = 1;
	else
		return 0;
	nano = magic == PCAP_MAGIC_NS;
	snaplen = get32(buf + 16, big);
	off = PCAP_FILEHDR_LEN;
	while (len - off >= PCAP_RECHDR_LEN) {
		caplen = get32(buf + off + 8, big);
		if (caplen > PCAP_MAX_CAPLEN || (snaplen != 0 && caplen > snaplen) ||
		    len - off - PCAP_RECHDR_LEN < caplen)
			break;
		ts = (uint64_t)get32(buf + off, big) * 1000000000u +
		     (uint64_t)get32(buf + off + 4, big) * (nano ? 1 : 1000);
		if (sum->packets++ == 0)
			sum->first_ns = ts;
		sum->last_ns = ts;
		sum->bytes += get32(buf + off + 12, big);
		off += PCAP_RECHDR_LEN + caplen;
	}
	return off;
}
