/*
 * ctlconn.h: traceflowctl's side of one exchange with the daemon: connect,
 * send the request, read the reply (proto.h), all within one deadline, and
 * say who answers. Failures end the program with traceflowctl's exit codes:
 * 69 (EX_UNAVAILABLE) the daemon could not be reached or broke off the
 * reply, 75 (EX_TEMPFAIL) no whole reply by the deadline.
 */
#ifndef TRACEFLOW_CTLCONN_H
#define TRACEFLOW_CTLCONN_H

#include <stddef.h>
#include <stdint.h>

#define CTLCONN_MAX_REPLY (1ULL << 32) /* a reply beyond this is not believed */

/* One exchange, within one deadline for the connect and the whole reply. */
struct conn {
	int fd;
	const char *path;
	uint64_t timeout_ns;
	uint64_t deadline; /* CLOCK_MONOTONIC ns */
};

struct reply {
	char *doc; /* the JSON document, NUL-terminated */
	size_t len;
	uint32_t status;
	uint32_t version; /* the daemon's protocol version */
};

/* CLOCK_MONOTONIC in ns, for deadlines. */
uint64_t ctlconn_now(void);

/*
 * Connect to c->path; a server that runs as neither root, the packaged
 * daemon user nor ourselves is warned about on stderr (it may not be
 * traceflowd: whoever could replace the socket could answer).
 */
void ctlconn_connect(struct conn *c);

/* Send the whole request. */
void ctlconn_write(const struct conn *c, const uint8_t *p, size_t len);

/* Read DATA pieces up to EXIT into *r (doc malloc'd); any violation of proto.h ends with 69. */
void ctlconn_read_reply(const struct conn *c, struct reply *r);

#endif
