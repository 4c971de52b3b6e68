/*
 * proto.h: the control protocol between traceflowd and traceflowctl, over
 * a Unix stream socket (both ends on one host, so host byte order).
 *
 * Every message is a fixed header and a payload of hdr.len bytes:
 *
 *   client -> daemon   PROTO_REQUEST  u32 argc, then argc NUL-terminated
 *                                     strings: the command and its arguments,
 *                                     filling the payload exactly.
 *   daemon -> client   PROTO_DATA     a piece of the reply's JSON document
 *                                     (pieces concatenate; none may be empty).
 *                      PROTO_EXIT     u32 exit status (0 ok, 1 error): the end.
 *
 * One request per connection; the daemon closes it after PROTO_EXIT. An
 * error's document is {"error": "message"}.
 *
 * The header layout and the meaning of PROTO_DATA and PROTO_EXIT are frozen
 * for every version, so that either side can always tell the other that
 * the versions differ: a daemon answers a request of another version with
 * an error in this framing, stamped with its own version.
 */
#ifndef TRACEFLOW_PROTO_H
#define TRACEFLOW_PROTO_H

#include <stdint.h>

#define PROTO_MAGIC   0x74666374u /* "tfct": not a traceflow peer otherwise */
#define PROTO_VERSION 1

enum proto_type {
	PROTO_REQUEST = 1,
	PROTO_DATA = 2,
	PROTO_EXIT = 3,
};

struct proto_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t type; /* enum proto_type */
	uint32_t len;  /* payload bytes after the header */
};

#define PROTO_HDR_LEN     ((uint32_t)sizeof(struct proto_hdr))
#define PROTO_MAX_REQUEST 8192       /* request payload: a command line, not data */
#define PROTO_MAX_ARGS    64         /* argc, the command included */
#define PROTO_MAX_ARG     1024       /* one argument, its NUL excluded */
#define PROTO_MAX_DATA    (1u << 20) /* one PROTO_DATA payload */
#define PROTO_EXIT_LEN    4          /* PROTO_EXIT payload: u32 status */

/*
 * Where the two meet unless told otherwise: the default of the
 * control_socket setting and of traceflowctl -s. Not configure's
 * runstatedir: the unit's RuntimeDirectory= makes /run/traceflow whatever
 * the prefix.
 */
#define PROTO_DEFAULT_SOCKET "/run/traceflow/control.sock"

/* Exit statuses carried by PROTO_EXIT. */
#define PROTO_OK    0
#define PROTO_ERROR 1

#endif
