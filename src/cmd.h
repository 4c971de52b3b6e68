/*
 * cmd.h: the control commands, declared once. CMD_TABLE is an X-macro:
 * cmd.c expands it into the table both programs read (names, arity,
 * permission, usage), control.c into the daemon's handlers and
 * traceflowctl.c into the client's printers, all in the same order, so a
 * command added here is dispatched, checked, documented and completed
 * everywhere, and a handler or printer that is missing fails the build.
 *
 * X(name, flags, minargs, maxargs, args, help): minargs and maxargs count
 * the arguments after the command name.
 *
 * Also the wire form of a request (the command line) and the typed readers
 * for what proto.h defines: each fails on a wrong length or leftover bytes.
 */
#ifndef TRACEFLOW_CMD_H
#define TRACEFLOW_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define CMD_READONLY 0x0 /* members of the socket's group */
#define CMD_ADMIN    0x1 /* root, the daemon's user or admin_group only */
#define CMD_HIDDEN   0x2 /* for shell completion; not in the usage text */

#define CMD_ANY (PROTO_MAX_ARGS - 1)

#define CMD_TABLE(X)                                                                           \
	X(list, CMD_READONLY, 0, 12,                                                           \
	    "[--active] [--finished] [--host ADDR] [--port N] [--label GLOB] [--limit N]",     \
	    "List active flows and those finished since start.")                               \
	X(show, CMD_READONLY, 1, 1, "LABEL", "Show one flow in full, frame numbers included.") \
	X(submit, CMD_ADMIN, 0, CMD_ANY, "[LABEL...]",                                         \
	    "Finish every active flow (or those named) now and file it in the spool.")         \
	X(stats, CMD_READONLY, 0, 1, "[--prometheus]",                                         \
	    "Packet, drop, flow, file and memory counters (or as Prometheus text).")           \
	X(interfaces, CMD_READONLY, 0, 0, "", "The captured interfaces and their state.")      \
	X(reload, CMD_ADMIN, 0, 0, "", "Reload the configuration file (as SIGHUP does).")      \
	X(config, CMD_READONLY, 0, 0, "", "The effective configuration.")                      \
	X(version, CMD_READONLY, 0, 0, "", "The daemon's version and protocol.")               \
	X(labels, CMD_READONLY | CMD_HIDDEN, 0, 1, "[--active]",                               \
	    "Labels of the flows, one a line (for shell completion).")

struct cmd_entry {
	const char *name;
	int flags;
	int minargs;
	int maxargs;
	const char *args;
	const char *help;
};

#define CMD_ENUM(name, flags, min, max, args, help) CMD_##name,
enum cmd_id { CMD_TABLE(CMD_ENUM) CMD_COUNT };
#undef CMD_ENUM

extern const struct cmd_entry cmd_table[CMD_COUNT];

/* The command called name, or NULL. */
const struct cmd_entry *cmd_find(const char *name);

/* Whether nargs arguments (after the name) suit the command: -1 and *cause if not. */
int cmd_check_args(const struct cmd_entry *ce, int nargs, char **cause);

/*
 * Whether opt ("--host") is an option of the command, as its args text
 * declares it ("[--host ADDR]"): -1 if not, 0 for a flag, 1 if it takes a
 * value. The client checks a command line with it before sending it.
 */
int cmd_option(const struct cmd_entry *ce, const char *opt);

/* --- wire form ----------------------------------------------------------- */

void proto_hdr_make(struct proto_hdr *h, uint32_t type, uint32_t len);

/*
 * A whole request message (header and payload) for argv: malloc'd, its
 * length in *len. NULL and *cause if it breaks a limit of proto.h.
 */
uint8_t *proto_request_encode(int argc, char *const argv[], size_t *len, char **cause);

/*
 * Check a request header as the daemon reads it: magic, version, type and
 * payload length. A version mismatch says which versions.
 */
int proto_request_check_hdr(const struct proto_hdr *h, char **cause);

/*
 * Split a request payload into argv (pointers into a copy, all in one
 * allocation: free(*argv)). Fails on a missing NUL, an argument too long,
 * a count that differs from the strings present, or leftover bytes.
 */
int proto_request_decode(const uint8_t *p, size_t len, int *argc, char ***argv, char **cause);

/* Check a reply header as the client reads it (a version mismatch is the caller's to report). */
int proto_reply_check_hdr(const struct proto_hdr *h, char **cause);

/* The status of a PROTO_EXIT payload: exactly 4 bytes, 0 or 1. */
int proto_exit_decode(const uint8_t *p, size_t len, uint32_t *status, char **cause);

#endif
