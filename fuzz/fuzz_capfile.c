/*
 * fuzz_capfile.c: libFuzzer harness for the capture file reader. The input
 * is a whole file, pcap or pcapng, read from memory to its end or its first
 * error; every record's bytes are touched, so that AddressSanitizer sees
 * any record that points outside the input, and the reader's promises
 * (records within the bounds it states, interfaces that exist) are checked.
 *
 * Build: ./configure CC=clang --enable-fuzzing && make fuzz/fuzz_capfile
 * Run:   fuzz/fuzz_capfile -max_total_time=300 fuzz/corpus-capfile
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct capfile_rec r;
	struct capfile *cf;
	char *cause = NULL;
	uint8_t *copy;
	volatile uint8_t sink = 0;
	uint32_t i;
	int rc;

	/* A buffer of exactly the input's size: reading one byte past it is caught. */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	if ((cf = capfile_open_mem(copy, size, &cause)) == NULL) {
		free(cause);
		free(copy);
		return 0;
	}
	while ((rc = capfile_next(cf, &r)) == 1) {
		if (r.kind != CAPFILE_PACKET)
			continue;
		if (r.ifno >= capfile_nif(cf) || r.caplen > CAPFILE_MAX_CAPLEN)
			abort();
		if (r.data < copy || r.data + r.caplen > copy + size)
			abort();
		for (i = 0; i < r.caplen; i++)
			sink ^= r.data[i];
		/* The time conversion over any tick count: no overflow trap. */
		(void)capfile_ts_ns(capfile_if(cf, r.ifno), r.ts);
	}
	if (rc == -1 && strncmp(capfile_error(cf), "offset ", 7) != 0)
		abort(); /* every error says where */
	capfile_close(cf);
	free(copy);
	return 0;
}
