/*
 * control.h: the transport of the control channel: a Unix stream socket
 * that traceflowctl(8) talks to (proto.h), one request per connection.
 * It knows the command table (cmd.h) for arity and permissions and
 * nothing of the daemon: the handlers come in as a table, in cmd_table's
 * order, and answer through the reply calls below.
 *
 * Every client costs the capture nothing but a little memory: a whole
 * request must arrive within a deadline (not per byte), a reply that the
 * client stops reading is dropped after a timeout, each uid but root holds
 * at most a few connections at once, and the total is capped (the rest wait in the
 * listen backlog). A malformed request gets an error reply and the
 * connection is closed.
 */
#ifndef TRACEFLOW_CONTROL_H
#define TRACEFLOW_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "cmd.h"
#include "log.h"

struct control;
struct ctl_client;

/* A command's handler: argv[0] is the command, its arity already checked. */
typedef void (*control_handler)(struct ctl_client *c, int argc, char **argv, void *arg);

struct control_params {
	const char *path;        /* the socket */
	int mode;                /* its permissions */
	const char *group;       /* its group (NULL or "": the daemon's) */
	const char *admin_group; /* may run CMD_ADMIN commands too (NULL: nobody but root) */
	int priority;            /* libevent priority of the clients' events */
	const control_handler *handlers; /* CMD_COUNT of them, in cmd_table's order */
	void *arg;                       /* their argument */
	unsigned request_ms;             /* deadline for a whole request; 0: CONTROL_REQUEST_MS */
	unsigned write_ms;    /* a reply not read at all for this long is dropped; 0: default */
	unsigned max_clients; /* served at once; 0: CONTROL_MAX_CLIENTS */
	unsigned max_per_uid; /* ... of which one uid (root: no cap); 0: CONTROL_MAX_PER_UID */
	uid_t owner_uid;      /* the daemon's user: trusted with the socket's folder, as root */
};

#define CONTROL_REQUEST_MS  5000
#define CONTROL_WRITE_MS    10000
#define CONTROL_MAX_CLIENTS 256
#define CONTROL_MAX_PER_UID 16

/*
 * Bind the socket (while still root, before privileges drop), born with
 * its mode and group; a stale socket nobody answers on is replaced, a live
 * daemon's never. Clients are served from control_enable on. NULL and
 * *cause on failure.
 */
struct control *control_new(struct event_base *base, const struct control_params *p, char **cause);
void control_enable(struct control *ctl);

/* A reload may change who is an administrator. */
void control_set_admin_group(struct control *ctl, const char *name);

/* Close every client and the socket, and unlink it. */
void control_free(struct control *ctl);

/* Clients connected now; requests served and refused (permission, per-uid cap) since start. */
void control_counts(
    const struct control *ctl, unsigned *clients, uint64_t *requests, uint64_t *refused);

/* Who asks. */
uid_t ctl_client_uid(const struct ctl_client *c);
const struct control *ctl_client_control(const struct ctl_client *c);

/* The whole reply: doc (its reference is taken) with status PROTO_OK or PROTO_ERROR. */
void ctl_reply_json(struct ctl_client *c, uint32_t status, json_t *doc);
void ctl_reply_error(struct ctl_client *c, const char *fmt, ...) LOG_PRINTF(2, 3);

/*
 * A reply too long to build at once: step is called whenever the client
 * has read enough, to append up to about room bytes of the JSON document
 * to chunk, and returns 1 when it appended the last of it (the reply ends
 * PROTO_OK), or 2 when that last was an error (PROTO_ERROR: the document
 * then has an "error" key); done(state) is called once, when the client is
 * gone or served.
 */
typedef int (*ctl_stream_step)(void *state, struct evbuffer *chunk, size_t room);
void ctl_reply_stream(
    struct ctl_client *c, ctl_stream_step step, void (*done)(void *state), void *state);

/*
 * The permission rule, for a peer with uid, gid and supplementary groups:
 * root and the daemon's own user (self) may do anything; read-only
 * commands need the socket's group, CMD_ADMIN ones admin_group (admin_gid,
 * (gid_t)-1 for none).
 */
int control_may(uid_t uid, gid_t gid, const gid_t *groups, int ngroups, int cmd_flags, uid_t self,
    gid_t group, gid_t admin_gid);

#endif
