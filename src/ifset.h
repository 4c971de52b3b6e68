/*
 * ifset.h: the interfaces the daemon captures on, as its configuration
 * names them: one capture (capture.h) each, added and removed as a reload
 * says, and the rate-limited log of their drops while running. It holds
 * every interface the configuration accepts (CONFIG_INTERFACES_MAX).
 */
#ifndef TRACEFLOW_IFSET_H
#define TRACEFLOW_IFSET_H

#include <pthread.h>
#include <stdint.h>

#include <event2/event.h>

#include "capture.h"
#include "config.h"
#include "engine.h"
#include "service.h"

#define IFSET_DROPS_EVERY 60 /* seconds: at most one drop line per interface this often */
#define IFSET_WORKERS_MAX 64 /* capture_threads at most (config.c) */

struct ifset;

/*
 * Interfaces captured by workers (capture_threads): worker w reads its
 * handles from bases[w] under locks[w] (locks NULL: one worker, no lock),
 * and feeds its own engine (e[w] below).
 */
struct ifset *ifset_new(unsigned workers, struct event_base **bases, pthread_mutex_t **locks);
/* Stop and free every capture (after draining nothing: at exit, after on_stop). */
void ifset_free(struct ifset *s);

/*
 * Make the set what cfg says: captures no longer named are drained and
 * freed, new ones opened (and attached to e if not NULL), the filter and
 * options of cfg applied to all.
 */
void ifset_sync(struct ifset *s, const struct tf_config *cfg, struct engine **e);
/*
 * Before ifset_sync while the workers run, holding none of their locks:
 * the captures cfg no longer names stop reading (capture_quiesce), so
 * that ifset_sync frees them without waiting for a worker it holds.
 */
void ifset_quiesce_dropped(struct ifset *s, const struct tf_config *cfg);

/* Worker w's captures feed e[w] from now on. */
void ifset_attach(struct ifset *s, struct engine **e);

/* Read what the kernel holds for every capture now (submit, shutdown): hold every lock. */
void ifset_drain(struct ifset *s);

unsigned ifset_count(const struct ifset *s);
unsigned ifset_workers(const struct ifset *s);
const char *ifset_name(const struct ifset *s, unsigned i);
/* What stops interface i's capture (its first worker's error), or NULL. */
const char *ifset_error(const struct ifset *s, unsigned i);
/* Interface i's counters summed over the workers, and one worker's (hold its lock). */
void ifset_stats(struct ifset *s, unsigned i, struct capture_stats *st);
void ifset_worker_stats(struct ifset *s, unsigned i, unsigned w, struct capture_stats *st);
/* What the control channel says of interface i: the sums, each worker's figures (hold them). */
void ifset_describe(struct ifset *s, unsigned i, struct service_iface *out);

/*
 * Log drops that happened since the last look: the first increase on an
 * interface at once, later ones summed into one line per IFSET_DROPS_EVERY
 * at most (a dropping sensor drops for a while; a line per second would
 * bury everything else). now in ns.
 */
void ifset_check_drops(struct ifset *s, uint64_t now);

#endif
