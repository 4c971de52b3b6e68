/*
 * fuzz_capfile_pipe.c: libFuzzer harness for the capture file reader's
 * other input path, a pipe ("traceflowd --read -", a FIFO): records come
 * out of a window the reader refills with read(2), so a record that
 * straddles two reads, a header cut by a short read, or a length that asks
 * for more than the window holds is what this reaches and fuzz_capfile
 * (the mapped path) cannot. The first input byte chooses how the rest is
 * fed to the pipe: in pieces of 1 to 256 bytes, or whole, so that reads
 * end at every kind of boundary. Every record's bytes are touched
 * (AddressSanitizer sees one outside the window) and the reader's promises
 * are checked as in fuzz_capfile.
 *
 * Build: ./configure CC=clang --enable-fuzzing && make fuzz/fuzz_capfile_pipe
 * Run:   fuzz/fuzz_capfile_pipe -max_total_time=300 fuzz/corpus-capfile
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capfile.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A reader that stops early leaves the writer to EPIPE, not to SIGPIPE. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

struct feed {
	int fd;
	const uint8_t *data;
	size_t size;
	size_t piece; /* 0: all at once */
};

/* The writer's end: the input in pieces, then EOF. A reader that stops early gets EPIPE. */
static void *
feed_pipe(void *arg)
{
	struct feed *f = arg;
	size_t off = 0, n;
	ssize_t w;

	while (off < f->size) {
		n = f->piece == 0 ? f->size - off : f->piece;
		if (n > f->size - off)
			n = f->size - off;
		if ((w = write(f->fd, f->data + off, n)) <= 0)
			break;
		off += (size_t)w;
	}
	close(f->fd);
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct capfile_rec r;
	struct capfile *cf;
	struct feed f;
	pthread_t writer;
	char *cause = NULL, path[32];
	volatile uint8_t sink = 0;
	uint32_t i;
	int p[2], rc;

	if (size < 1 || pipe2(p, O_CLOEXEC) == -1)
		return 0;
	f.fd = p[1];
	f.data = data + 1;
	f.size = size - 1;
	f.piece = data[0] == 0 ? 0 : data[0];
	if (pthread_create(&writer, NULL, feed_pipe, &f) != 0) {
		close(p[0]);
		close(p[1]);
		return 0;
	}
	/* A path, as traceflowd --read takes one: /dev/fd/N is the pipe's read end. */
	snprintf(path, sizeof path, "/dev/fd/%d", p[0]);
	if ((cf = capfile_open(path, &cause)) != NULL) {
		while ((rc = capfile_next(cf, &r)) == 1) {
			if (r.kind != CAPFILE_PACKET)
				continue;
			if (r.ifno >= capfile_nif(cf) || r.caplen > CAPFILE_MAX_CAPLEN)
				abort();
			for (i = 0; i < r.caplen; i++)
				sink ^= r.data[i];
			(void)capfile_ts_ns(capfile_if(cf, r.ifno), r.ts);
		}
		if (rc == -1 && strncmp(capfile_error(cf), "offset ", 7) != 0)
			abort(); /* every error says where */
		(void)sink;
		capfile_close(cf);
	}
	free(cause);
	close(p[0]); /* the writer, if still writing, ends on EPIPE */
	pthread_join(writer, NULL);
	return 0;
}
