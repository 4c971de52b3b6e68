/*
 * fuzz_decode.c: libFuzzer harness for the packet path that needs no I/O:
 * decode, the fragment table and the flow table. The input is a series of
 * frames, each [link type index][length, 2 bytes][bytes], fed in order to
 * one flow table, so that the state machine sees sequences, not just
 * single frames. Each frame is copied to a buffer of exactly its length so
 * that AddressSanitizer catches any read past caplen.
 *
 * Build: ./configure CC=clang --enable-fuzzing && make fuzz/fuzz_decode
 * Run:   fuzz/fuzz_decode -max_total_time=300 fuzz/corpus-decode
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "flow.h"
#include "frag.h"

static const int dlts[] = {DLT_T_NULL, DLT_T_EN10MB, DLT_T_RAW, DLT_T_RAW_OBSD, DLT_T_RAW_LT,
    DLT_T_LOOP, DLT_T_SLL, DLT_T_SLL2, DLT_T_IPV4, DLT_T_IPV6, DLT_T_PPP, DLT_T_PPP_HDLC,
    DLT_T_C_HDLC, DLT_T_PFLOG, DLT_T_ARCNET, DLT_T_IPNET, DLT_T_NFLOG, 9999};

static uint64_t ended;

static void
on_end(struct flow *f, void *arg)
{
	struct flow_fn_iter it;
	uint64_t fr, n = 0;

	flow_fn_begin(f, &it);
	while (flow_fn_next(&it, &fr))
		n++;
	if (n != f->seg_packets)
		abort(); /* the frame list and the counters must agree */
	ended++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flow_config fc = {
	    .idle_ns = 1000, .linger_ns = 100, .max_flows = 8, .seg_packets = 3, .seed = 1};
	struct flow_table *t;
	struct frag_table *ft;
	struct packet p;
	uint64_t frame = 0, ts = 0;
	size_t off = 0, len;
	uint8_t *buf;

	fc.end_mode = size > 0 && (data[0] & 0x80) ? FLOW_END_FIRST_FIN : FLOW_END_TEARDOWN;
	t = flowtab_new(&fc, on_end, NULL);
	ft = frag_new(4, 500);
	while (off + 3 <= size) {
		int dlt = dlts[data[off] % (sizeof dlts / sizeof dlts[0])];

		len = (size_t)data[off + 1] << 8 | data[off + 2];
		off += 3;
		if (len > size - off)
			len = size - off;
		buf = malloc(len ? len : 1);
		memcpy(buf, data + off, len);
		off += len;
		ts += 37;
		if (decode_frame(dlt, buf, (uint32_t)len, &p) == DECODE_OK) {
			p.frame = ++frame;
			p.ts = ts;
			p.caplen = p.wirelen = (uint32_t)len;
			if (p.frag == FRAG_FIRST)
				frag_first(ft, &p, ts);
			if (p.frag != FRAG_LATER || frag_later(ft, &p, ts) == 0) {
				flowtab_expire(t, ts);
				flowtab_release(t, flowtab_packet(t, &p, 0, ts));
			}
			frag_expire(ft, ts);
		}
		free(buf);
	}
	flowtab_end_all(t, FLOW_R_EOF);
	if (flowtab_count(t) != 0)
		abort();
	flowtab_free(t);
	frag_free(ft);
	return 0;
}
