/*
 * capture.h: one live libpcap handle per interface, non-blocking, read in
 * batches from libevent. An interface that is missing or goes away is
 * logged and retried on a timer while the others keep capturing.
 */
#ifndef TRACEFLOW_CAPTURE_H
#define TRACEFLOW_CAPTURE_H

#include <pthread.h>
#include <stdint.h>

#include <event2/event.h>

#include "engine.h"

/*
 * The kernel hands packets over in blocks, a block at the latest this long
 * after its first packet: what arrived just before shutdown is readable
 * only after that.
 */
#define CAPTURE_BLOCK_MS 100

struct capture_opts {
	int snaplen;
	int promisc;
	uint64_t buffer_size; /* kernel buffer, bytes */
	int nanosecond;       /* ask the kernel for nanosecond timestamps */
	const char *filter;   /* the user's BPF expression, or "" */
};

struct capture_stats {
	uint64_t received;     /* packets the kernel passed to the filter, all handles so far */
	uint64_t kernel_drops; /* dropped for want of buffer space */
	uint64_t if_drops;     /* dropped by the interface or driver */
	uint64_t frames;       /* frames read by us */
	int up;                /* a handle is open now */
};

struct capture;

/*
 * Capture workers (capture_threads): one handle per worker on an
 * interface, all in the interface's PACKET_FANOUT group, which sends both
 * directions of a connection and every fragment of a datagram to the same
 * worker (capture.c says how). Where the kernel refuses the group, the
 * first worker captures the interface alone (logged, and said by
 * capture_fanout_refused) and the others' handles park.
 */
struct capture_fanout;
struct capture_fanout *capture_fanout_new(const char *ifname);
void capture_fanout_free(struct capture_fanout *fo);
const char *capture_fanout_refused(struct capture_fanout *fo);

/*
 * A capture on ifname read from base. fo: its interface's group and member
 * the worker (NULL, 0: alone, today's shape). lock (NULL: none) is held
 * while the event loop reads packets or retries the handle: the daemon's
 * thread takes it to look at the worker's engine.
 */
struct capture *capture_new(struct event_base *base, const char *ifname,
    const struct capture_opts *opts, struct capture_fanout *fo, unsigned member,
    pthread_mutex_t *lock);
void capture_free(struct capture *c);
/*
 * Stop c's events while its worker runs, holding no worker lock (a
 * callback in flight is waited for); then capture_drain and capture_free
 * under the lock as before. Not needed once the worker's loop stopped.
 */
void capture_quiesce(struct capture *c);

/*
 * Open the handle now (before privileges are dropped); on failure log it
 * and retry on a timer. 0 if open. Packets are read only once an engine is
 * attached.
 */
int capture_start(struct capture *c);

/*
 * A worker's handle (fo) rejects every frame until this: once every
 * worker of the interface joined its group, so that no connection's frames
 * start on one worker and go on on another. A handle reopened later (the
 * interface came back) takes its filter at once.
 */
void capture_arm(struct capture *c);

/* Hand packets to e from now on (the engine is made after the privilege drop). */
void capture_attach(struct capture *c, struct engine *e);

/* Read what the kernel holds right now (before shutdown); the caller holds the lock. */
void capture_drain(struct capture *c);

/*
 * New options (reload): the filter applies at once, swapped in place where
 * the kernel allows (nothing arriving meanwhile is lost; an unchanged
 * filter is left alone), the rest at the next open.
 */
int capture_set_opts(struct capture *c, const struct capture_opts *opts, char **cause);

void capture_stats(struct capture *c, struct capture_stats *st);
const char *capture_name(const struct capture *c);
const char *capture_error(const struct capture *c);

/* The filter the kernel runs: TCP in every encapsulation we decode, and the user's. */
char *capture_filter_text(const char *user, int level);

#endif
