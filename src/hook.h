/*
 * hook.h: on_file, a command run for every finished file (as tcpdump -z
 * runs one per rotated file): the file's absolute path as its argument, the
 * flow's index fields in TRACEFLOW_* environment variables. At most
 * on_file_jobs run at once, the rest wait in a bounded queue; each has
 * on_file_timeout to finish before it is killed. Children are started and
 * reaped from the daemon's libevent loop, so the capture never waits for
 * them. Each command runs in a session and process group of its own; the
 * timeout is the group's: at its deadline the group gets SIGTERM, and
 * SIGKILL 2 s later, whether the command itself has ended or not (what it
 * left running in the background goes too). What leaves the group
 * (setsid, setpgid) is out of reach.
 */
#ifndef TRACEFLOW_HOOK_H
#define TRACEFLOW_HOOK_H

#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#define HOOK_QUEUE_MAX 10000 /* files waiting for a free job at most */

/* Counters since start, for stats; failed and timed_out are disjoint. */
struct hook_stats {
	uint64_t started;   /* commands started */
	uint64_t succeeded; /* exited 0 */
	uint64_t failed;    /* exited non-zero, killed by a signal, or could not start */
	uint64_t timed_out; /* killed after on_file_timeout */
	uint64_t dropped;   /* not run: the queue was full, or the daemon stopped */
	uint64_t running;   /* now */
	uint64_t queued;    /* now */
};

struct hook_config {
	const char *command; /* absolute path; "" or NULL: off (copied) */
	unsigned jobs;       /* at most this many at once */
	uint64_t timeout_ns; /* each is killed after this long */
	const char *where;   /* "FILE:LINE" of on_file, for messages */
};

struct hook;

/*
 * The hooks of a daemon whose spool is spool_dir (copied), their events at
 * libevent priority prio. Clears this process's ambient and inheritable
 * capabilities: the daemon execs nothing but hooks, and those sets exist
 * only to pass into what it execs.
 */
struct hook *hook_new(struct event_base *base, int prio, const char *spool_dir);

/* At start and on reload: running commands keep their deadline. */
void hook_configure(struct hook *h, const struct hook_config *hc);

/* Would a finished file fpout ("" or NULL: none) run the command? */
int hook_wanted(const struct hook *h, const char *fpout);
/* An index entry was written: run the command on its file, if it has one. */
void hook_file(struct hook *h, const json_t *entry);

void hook_stats(const struct hook *h, struct hook_stats *out);

/*
 * The daemon stops (blocks): queued files keep starting and running ones
 * finishing for up to grace_ns; then every process group still there
 * (running commands' and what ended commands left behind) gets SIGTERM,
 * and SIGKILL 2 s later, and what still waits is logged as not run.
 * Returns when no group is left (what outlives SIGKILL is given up on a
 * second later).
 */
void hook_shutdown(struct hook *h, uint64_t grace_ns);

/* Kills what still runs, process groups and all (hook_shutdown first for an orderly end). */
void hook_free(struct hook *h);

#endif
