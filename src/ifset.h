/*
 * ifset.h: the interfaces the daemon captures on, as its configuration
 * names them: one capture (capture.h) each, added and removed as a reload
 * says, and the rate-limited log of their drops while running. It holds
 * every interface the configuration accepts (CONFIG_INTERFACES_MAX).
 */
#ifndef TRACEFLOW_IFSET_H
#define TRACEFLOW_IFSET_H

#include <stdint.h>

#include <event2/event.h>

#include "capture.h"
#include "config.h"
#include "engine.h"

#define IFSET_DROPS_EVERY 60 /* seconds: at most one drop line per interface this often */

struct ifset;

struct ifset *ifset_new(struct event_base *base);
/* Stop and free every capture (after draining nothing: at exit, after on_stop). */
void ifset_free(struct ifset *s);

/*
 * Make the set what cfg says: captures no longer named are drained and
 * freed, new ones opened (and attached to e if not NULL), the filter and
 * options of cfg applied to all.
 */
void ifset_sync(struct ifset *s, const struct tf_config *cfg, struct engine *e);

/* Every capture feeds e from now on. */
void ifset_attach(struct ifset *s, struct engine *e);

/* Read what the kernel holds for every capture now (submit, shutdown). */
void ifset_drain(struct ifset *s);

unsigned ifset_count(const struct ifset *s);
struct capture *ifset_get(const struct ifset *s, unsigned i);

/*
 * Log drops that happened since the last look: the first increase on an
 * interface at once, later ones summed into one line per IFSET_DROPS_EVERY
 * at most (a dropping sensor drops for a while; a line per second would
 * bury everything else). now in ns.
 */
void ifset_check_drops(struct ifset *s, uint64_t now);

#endif
