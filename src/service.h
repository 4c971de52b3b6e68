/*
 * service.h: what the control commands may ask of the running daemon, as
 * one table of calls the daemon fills in. The command handlers know
 * nothing else of it (no captures, no flow table), so that a unit test
 * gives them a fake, and a reload or a submit is a request the daemon
 * carries out in its own order.
 */
#ifndef TRACEFLOW_SERVICE_H
#define TRACEFLOW_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "engine.h"
#include "hook.h"

#define SERVICE_WORKERS_MAX 64

/* One worker's handle on an interface (capture_threads > 1). */
struct service_worker {
	int up;
	uint64_t received;
	uint64_t kernel_drops;
	uint64_t if_drops;
	uint64_t frames;
};

struct service_iface {
	const char *name;
	int up;
	uint64_t received; /* these four: summed over the workers */
	uint64_t kernel_drops;
	uint64_t if_drops;
	uint64_t frames;
	const char *error; /* the last one, NULL or "" if none */
	unsigned nworkers; /* 0 with one worker, else each one's figures */
	struct service_worker workers[SERVICE_WORKERS_MAX];
};

struct service_counters {
	struct engine_stats engine;
	struct output_stats output;
	uint64_t flows_active;
	uint64_t frag_pending;      /* datagrams awaiting their later fragments */
	struct spool_figures spool; /* the catalog's running sums; retention since start */
	uint64_t rss_bytes;         /* resident memory */
	uint64_t started_ns;
	json_t *ipfix; /* IPFIX export's counters (a reference for the caller), NULL when off */
	struct hook_stats hooks; /* on_file */
};

struct service {
	void *arg;
	const struct tf_config *(*config)(void *arg);
	void (*counters)(void *arg, struct service_counters *out);
	/* The i-th captured interface; -1 past the last. */
	int (*interface)(void *arg, unsigned i, struct service_iface *out);
	/*
	 * A walk of the active flows, a step at a time (the daemon's is a
	 * cursor over its table, engine_flows): begin, next until NULL, end.
	 */
	void *(*flows_begin)(void *arg);
	const struct flow *(*flows_next)(void *arg, void *walk);
	void (*flows_end)(void *arg, void *walk);
	/* The interface name of a flow key's iface (NULL for none). */
	const char *(*iface_name)(void *arg, uint32_t id);
	/* Read what the kernel holds, then engine_submit. */
	int (*submit)(void *arg, char *const *labels, int n, int *missing);
	/* As SIGHUP: -1 and *cause if refused (the running configuration stays). */
	int (*reload)(void *arg, char **cause);
};

#endif
