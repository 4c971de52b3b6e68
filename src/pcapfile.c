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

/* One option: code, length, value padded to 4. Returns the bytes written. */
static size_t
put_opt(uint8_t *p, uint16_t code, const void *val, size_t len, int big)
{
	size_t pad = (4 - len % 4) % 4;

	put16(p, code, big);
	put16(p + 2, (uint16_t)len, big);
	memcpy(p + 4, val, len);
	memset(p + 4 + len, 0, pad);
	return 4 + len + pad;
}

size_t
pcapng_idb(uint8_t out[PCAPNG_IDB_MAX], uint32_t linktype, uint32_t snaplen, const char *ifname,
    int big, int nano)
{
	size_t nlen = ifname ? strnlen(ifname, 200) : 0, n;
	uint8_t resol = 9;

	put32(out, 1, big);
	put16(out + 8, (uint16_t)linktype, big);
	put16(out + 10, 0, big);
	put32(out + 12, snaplen, big);
	n = 16;
	if (nlen > 0)
		n += put_opt(out + n, 2, ifname, nlen, big); /* if_name */
	if (nano)
		n += put_opt(out + n, 9, &resol, 1, big); /* if_tsresol: 10^-9 */
	put32(out + n, 0, big);
	n += 4;
	put32(out + 4, (uint32_t)n + 4, big);
	put32(out + n, (uint32_t)n + 4, big);
	return n + 4;
}

size_t
pcapng_header(uint8_t out[PCAPNG_HEADER_MAX], const char *comment, uint32_t linktype,
    uint32_t snaplen, const char *ifname, int big, int nano)
{
	/* Both strings are cut to fit: a label and an interface name are short anyway. */
	size_t clen = strnlen(comment, 200);
	size_t n;

	put32(out, 0x0a0d0d0a, big);
	put32(out + 8, 0x1a2b3c4d, big);
	put16(out + 12, 1, big); /* version 1.0 */
	put16(out + 14, 0, big);
	memset(out + 16, 0xff, 8); /* section length: not given */
	n = 24;
	if (clen > 0)
		n += put_opt(out + n, 1, comment, clen, big); /* opt_comment */
	put32(out + n, 0, big);                               /* opt_endofopt */
	n += 4;
	put32(out + 4, (uint32_t)n + 4, big);
	put32(out + n, (uint32_t)n + 4, big);
	n += 4;
	return n + pcapng_idb(out + n, linktype, snaplen, ifname, big, nano);
}

void
pcapng_epb_head(
    uint8_t out[PCAPNG_EPB_HEAD], uint64_t ts_ns, uint32_t caplen, uint32_t len, int big, int nano)
{
	uint64_t t = nano ? ts_ns : ts_ns / 1000;

	put32(out, 6, big);
	put32(out + 4, 32 + ((caplen + 3) & ~3u), big);
	put32(out + 8, 0, big); /* the first interface: pcapng_epb_iface changes it */
	put32(out + 12, (uint32_t)(t >> 32), big);
	put32(out + 16, (uint32_t)t, big);
	put32(out + 20, caplen, big);
	put32(out + 24, len, big);
}

void
pcapng_epb_iface(uint8_t out[PCAPNG_EPB_HEAD], uint32_t iface, int big)
{
	put32(out + 8, iface, big);
}

size_t
pcapng_epb_tail(uint8_t out[PCAPNG_EPB_TAIL_MAX], uint32_t caplen, int big)
{
	size_t pad = (4 - caplen % 4) % 4;

	memset(out, 0, pad);
	put32(out + pad, 32 + ((caplen + 3) & ~3u), big);
	return pad + 4;
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

int
pcapfile_parse_header(const uint8_t h[PCAP_FILEHDR_LEN], struct pcapfile_hdr *fh)
{
	uint32_t magic = get32(h, 0);
	uint16_t major, minor;

	memset(fh, 0, sizeof *fh);
	if (magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS && magic != PCAP_MAGIC_KUZ) {
		fh->big = 1;
		magic = get32(h, 1);
		if (magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS && magic != PCAP_MAGIC_KUZ)
			return -1;
	}
	fh->nano = magic == PCAP_MAGIC_NS;
	fh->reclen = magic == PCAP_MAGIC_KUZ ? 24 : PCAP_RECHDR_LEN;
	major = (uint16_t)(fh->big ? h[4] << 8 | h[5] : h[5] << 8 | h[4]);
	minor = (uint16_t)(fh->big ? h[6] << 8 | h[7] : h[7] << 8 | h[6]);
	if (major < 2)
		return -2;
	/* As libpcap reads them: before 2.3 the two lengths were the other way round. */
	if (major == 2 && minor < 3)
		fh->swapped = 1;
	else if (major == 2 && minor == 3)
		fh->swapped = 2;
	else if (major == 543) /* 2.2 written byte-swapped by a buggy writer */
		fh->swapped = 1;
	fh->snaplen = get32(h + 16, fh->big);
	fh->linktype = get32(h + 20, fh->big) & 0x03ffffffu;
	return 0;
}

void
pcapfile_parse_record(const struct pcapfile_hdr *fh, const uint8_t *rh, uint32_t *sec,
    uint32_t *frac, uint32_t *caplen, uint32_t *len)
{
	uint32_t c = get32(rh + 8, fh->big), l = get32(rh + 12, fh->big);

	*sec = get32(rh, fh->big);
	*frac = get32(rh + 4, fh->big);
	if (fh->swapped == 1 || (fh->swapped == 2 && c > l)) {
		*caplen = l;
		*len = c;
	} else {
		*caplen = c;
		*len = l;
	}
}

size_t
pcapfile_valid_prefix(const uint8_t *buf, size_t len, struct pcapfile_summary *sum)
{
	struct pcapfile_summary none;
	struct pcapfile_hdr fh;
	uint32_t sec, frac, caplen, wire;
	size_t off;

	if (sum == NULL)
		sum = &none;
	memset(sum, 0, sizeof *sum);
	/* The reader's own parsers (capfile.c): one reading of the format. */
	if (len < PCAP_FILEHDR_LEN || pcapfile_parse_header(buf, &fh) != 0)
		return 0;
	off = PCAP_FILEHDR_LEN;
	while (len - off >= fh.reclen) {
		pcapfile_parse_record(&fh, buf + off, &sec, &frac, &caplen, &wire);
		if (caplen > PCAP_MAX_CAPLEN || (fh.snaplen != 0 && caplen > fh.snaplen) ||
		    len - off - fh.reclen < caplen)
			break;
		if (sum->packets++ == 0)
			sum->first_ns =
			    (uint64_t)sec * 1000000000u + (uint64_t)frac * (fh.nano ? 1 : 1000);
		sum->last_ns = (uint64_t)sec * 1000000000u + (uint64_t)frac * (fh.nano ? 1 : 1000);
		sum->bytes += wire;
		off += fh.reclen + caplen;
	}
	return off;
}
