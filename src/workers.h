/*
 * workers.h: the capture workers (capture_threads). Each worker has its own
 * flow table, fragment table and write buffers (an engine) and reads its
 * handles (one per interface, in the interface's fanout group: capture.h)
 * on a thread of its own; the filer, catalog and index are the first
 * engine's, shared (engine.h, peer). With one worker there is no thread
 * and no lock: the engine runs on the daemon's loop, today's shape.
 *
 * The daemon's thread does everything else (control, timers, signals,
 * reports of finished flows) and looks at a worker's engine only while it
 * holds it (workers_hold): the worker stops between two batches of packets
 * meanwhile.
 */
#ifndef TRACEFLOW_WORKERS_H
#define TRACEFLOW_WORKERS_H

#include <pthread.h>
#include <stdint.h>

#include <event2/event.h>

#include "engine.h"

struct workers;

/* The workers capture_threads asks for: 0 ("auto") one per CPU the daemon may run on. */
unsigned workers_wanted(uint64_t capture_threads);

/* n workers will run: libevent's thread support, before the daemon makes its loop. */
void workers_threads(unsigned n);

/* n workers (at least 1); the daemon's loop is base, theirs have as many priorities. */
struct workers *workers_new(unsigned n, struct event_base *base, int priorities);
/* Stop the threads (their captures may then be freed). */
void workers_stop(struct workers *ws);
/* Stop the threads and free every engine (the first one last: it owns the filer). */
void workers_free(struct workers *ws);

unsigned workers_count(const struct workers *ws);
/* Worker i's event loop and lock (lock NULL with one worker), for its captures. */
struct event_base **workers_bases(struct workers *ws);
pthread_mutex_t **workers_locks(struct workers *ws);

/*
 * Make the engines: cfg for the whole daemon, each worker's table and
 * write budget a share of it (max_flows, write_buffer divided by n). Then
 * the end hook of every engine, and workers_run to start them.
 */
int workers_engines_new(struct workers *ws, const struct engine_config *cfg, char **cause);
struct engine **workers_engines(struct workers *ws);
void workers_set_end_hook(struct workers *ws, engine_end_hook fn, void *arg);
void workers_reconfigure(struct workers *ws, const struct engine_config *cfg);

/* Start the threads (and each worker's tick); finished flows are reported on base. */
void workers_run(struct workers *ws, int tick_ms, int tick_priority);

/* Worker i (or all of them, i = -1) stops between batches until released. */
void workers_hold(struct workers *ws, int i);
void workers_release(struct workers *ws, int i);

/* Summed over the workers (hold them): counters, flows in the tables, datagrams awaited. */
void workers_stats(struct workers *ws, struct engine_stats *out);
void workers_output_stats(struct workers *ws, struct output_stats *out);
uint32_t workers_active(struct workers *ws);
unsigned workers_frag_pending(struct workers *ws);

/*
 * A walk of every worker's active flows, a step at a time (the listing's):
 * each flow returned is a copy, valid until the next step.
 */
struct workers_walk;
struct workers_walk *workers_walk(struct workers *ws);
const struct flow *workers_walk_next(struct workers_walk *wk);
void workers_walk_free(struct workers_walk *wk);

#endif
