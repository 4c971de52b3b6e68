/*
 * fuzz_proto.c: libFuzzer harness for the control protocol's readers: a
 * request header and body as a peer could send them, through the same
 * checks the daemon runs before it dispatches anything.
 *
 * Build: ./configure CC=clang --enable-fuzzing && make fuzz/fuzz_proto
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_hdr h;
	char *cause = NULL, **argv = NULL;
	uint8_t *body;
	int argc = 0;

	if (size < sizeof h)
		return 0;
	memcpy(&h, data, sizeof h);
	if (proto_request_check_hdr(&h, &cause) == 0) {
		/* Exactly the body, so that a read past it is caught. */
		body = malloc(size - sizeof h + 1);
		memcpy(body, data + sizeof h, size - sizeof h);
		if (proto_request_decode(body, size - sizeof h, &argc, &argv, &cause) == 0) {
			const struct cmd_entry *ce = argc > 0 ? cmd_find(argv[0]) : NULL;

			if (ce != NULL && cmd_check_args(ce, argc - 1, &cause) == -1) {
				free(cause);
				cause = NULL;
			}
			free(argv); /* one allocation: pointers and strings */
		}
		free(body);
	}
	free(cause);
	return 0;
}
