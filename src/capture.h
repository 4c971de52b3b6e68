/*
 * capture.h: one live libpcap handle per interface, non-blocking, read in
 * batches from libevent. An interface that is missing or goes away is
 * logged and retried on a timer while the others keep capturing.
 */
#ifndef TRACEFLOW_CAPTURE_H
#define TRACEFLOW_CAPTURE_H

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

struct capture *capture_new(
    struct event_base *base, const char *ifname, const struct capture_opts *opts);
void capture_free(struct capture *c);

/*
 * Open the handle now (before privileges are dropped); on failure log it
 * and retry on a timer. 0 if open. Packets are read only once an engine is
 * attached.
 */
int capture_start(struct capture *c);

/* Hand packets to e from now on (the engine is made after the privilege drop). */
void capture_attach(struct capture *c, struct engine *e);

/* Read what the kernel holds right now (before shutdown). */
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
