/*
 * workers.c: the capture workers (workers.h).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/thread.h>

#include "duration.h"
#include "log.h"
#include "workers.h"
#include "xmalloc.h"

#define WORKERS_MAX 64

struct worker {
	struct workers *ws;
	unsigned i;
	struct event_base *base; /* the daemon's with one worker */
	pthread_mutex_t lock;
	pthread_t thread;
	int running;
	struct event *tick;
	struct event *stop;  /* written by the daemon's thread: leave the loop */
	struct event *filed; /* on the daemon's loop: the filer finished flows of ours */
	int stopfd;
};

struct workers {
	unsigned n;
	struct event_base *base;
	struct worker w[WORKERS_MAX];
	struct engine *engines[WORKERS_MAX];
	struct event_base *bases[WORKERS_MAX];
	pthread_mutex_t *locks[WORKERS_MAX];
};

void
workers_threads(unsigned n)
{
	/*
	 * Several loops, and the daemon's thread adds events to the workers'
	 * (a reload's captures): libevent's locks, taken before any base is
	 * made so that every base has them.
	 */
	if (n > 1 && evthread_use_pthreads() == -1)
		fatalx("libevent: no thread support");
}

unsigned
workers_wanted(uint64_t capture_threads)
{
	cpu_set_t set;
	int n;

	if (capture_threads > 0)
		return capture_threads > WORKERS_MAX ? WORKERS_MAX : (unsigned)capture_threads;
	/* CPUAffinity= and cgroups' cpusets narrow the mask: count what we may use. */
	if (sched_getaffinity(0, sizeof set, &set) == -1 || (n = CPU_COUNT(&set)) < 1)
		return 1;
	return n > WORKERS_MAX ? WORKERS_MAX : (unsigned)n;
}

struct workers *
workers_new(unsigned n, struct event_base *base, int priorities)
{
	struct workers *ws = xcalloc(1, sizeof *ws);
	struct worker *w;
	unsigned i;

	ws->n = n < 1 ? 1 : n > WORKERS_MAX ? WORKERS_MAX : n;
	ws->base = base;
	for (i = 0; i < ws->n; i++) {
		w = &ws->w[i];
		w->ws = ws;
		w->i = i;
		w->stopfd = -1;
		pthread_mutex_init(&w->lock, NULL);
		if (ws->n == 1)
			w->base = base;
		else if ((w->base = event_base_new()) == NULL ||
		         event_base_priority_init(w->base, priorities) != 0)
			fatalx("event_base_new failed");
		ws->bases[i] = w->base;
		ws->locks[i] = &w->lock;
	}
	return ws;
}

unsigned
workers_count(const struct workers *ws)
{
	return ws->n;
}

struct event_base **
workers_bases(struct workers *ws)
{
	return ws->bases;
}

pthread_mutex_t **
workers_locks(struct workers *ws)
{
	return ws->n > 1 ? ws->locks : NULL;
}

struct engine **
workers_engines(struct workers *ws)
{
	return ws->engines;
}

/* A worker's share of the daemon's bounds: the sum stays what the settings say. */
static void
share_of(const struct workers *ws, const struct engine_config *cfg, struct engine_config *out)
{
	*out = *cfg;
	if (ws->n == 1)
		return;
	out->flow.max_flows = (cfg->flow.max_flows + ws->n - 1) / ws->n;
	out->flow.half_max = (cfg->flow.half_max + ws->n - 1) / ws->n;
	out->writer.buffer_total = cfg->writer.buffer_total / ws->n;
	if (out->writer.flow_buffer > out->writer.buffer_total)
		out->writer.flow_buffer = out->writer.buffer_total;
	out->worker = 1;
}

int
workers_engines_new(struct workers *ws, const struct engine_config *cfg, char **cause)
{
	struct engine_config ec;
	unsigned i;

	for (i = 0; i < ws->n; i++) {
		share_of(ws, cfg, &ec);
		ec.peer = i > 0 ? ws->engines[0] : NULL;
		if ((ws->engines[i] = engine_new(&ec, cause)) == NULL)
			return -1;
	}
	return 0;
}

void
workers_set_end_hook(struct workers *ws, engine_end_hook fn, void *arg)
{
	unsigned i;

	for (i = 0; i < ws->n; i++)
		if (ws->engines[i] != NULL)
			engine_set_end_hook(ws->engines[i], fn, arg);
}

void
workers_reconfigure(struct workers *ws, const struct engine_config *cfg)
{
	struct engine_config ec;
	unsigned i;

	share_of(ws, cfg, &ec);
	workers_hold(ws, -1);
	for (i = 0; i < ws->n; i++)
		engine_reconfigure(ws->engines[i], &ec);
	workers_release(ws, -1);
}

/* --- holding ------------------------------------------------------------- */

void
workers_hold(struct workers *ws, int i)
{
	unsigned k;

	if (ws->n == 1)
		return;
	if (i >= 0) {
		pthread_mutex_lock(&ws->w[i].lock);
		return;
	}
	for (k = 0; k < ws->n; k++) /* always in this order: no two holders cross */
		pthread_mutex_lock(&ws->w[k].lock);
}

void
workers_release(struct workers *ws, int i)
{
	unsigned k;

	if (ws->n == 1)
		return;
	if (i >= 0) {
		pthread_mutex_unlock(&ws->w[i].lock);
		return;
	}
	for (k = ws->n; k-- > 0;)
		pthread_mutex_unlock(&ws->w[k].lock);
}

/* --- the threads --------------------------------------------------------- */

/* Time passes without packets: flows expire, buffers reach the filer (the worker's loop). */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct engine *e = w->ws->engines[w->i];

	workers_hold(w->ws, (int)w->i);
	engine_tick(e, duration_wall_ns());
	engine_batch_end(e);
	workers_release(w->ws, (int)w->i);
}

static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	event_base_loopbreak(w->base);
}

/*
 * The filer finished flows of worker w's: reported on the daemon's thread,
 * the worker held only to take them and to free them, not while history,
 * on_file and IPFIX export take their turns.
 */
static void
on_filed(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct engine *e = w->ws->engines[w->i];
	struct filer_reports *r;

	workers_hold(w->ws, (int)w->i);
	r = engine_reports_take(e);
	workers_release(w->ws, (int)w->i);
	engine_reports_run(e, r);
	workers_hold(w->ws, (int)w->i);
	engine_reports_end(e, r);
	workers_release(w->ws, (int)w->i);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

void
workers_run(struct workers *ws, int tick_ms, int tick_priority)
{
	struct timeval tick = {0, tick_ms * 1000};
	struct worker *w;
	unsigned i;
	int fd;

	for (i = 0; i < ws->n; i++) {
		w = &ws->w[i];
		w->tick = event_new(w->base, -1, EV_PERSIST, on_tick, w);
		event_priority_set(w->tick, tick_priority);
		event_add(w->tick, &tick);
		if ((fd = engine_event_fd(ws->engines[i])) != -1) {
			w->filed = event_new(ws->base, fd, EV_READ | EV_PERSIST, on_filed, w);
			event_add(w->filed, NULL);
		}
		if (ws->n == 1)
			continue;
		if ((w->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
			fatal("eventfd");
		w->stop = event_new(w->base, w->stopfd, EV_READ, on_stop, w);
		/* With the packets': a capture always ready would starve a lower priority. */
		event_priority_set(w->stop, 0);
		event_add(w->stop, NULL);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			fatalx("cannot start capture worker %u", i);
		w->running = 1;
	}
}

/* --- sums ----------------------------------------------------------------- */

void
workers_stats(struct workers *ws, struct engine_stats *out)
{
	const struct engine_stats *s;
	unsigned i, r;

	memset(out, 0, sizeof *out);
	for (i = 0; i < ws->n; i++) {
		s = engine_stats(ws->engines[i]);
		out->frames += s->frames;
		out->tcp += s->tcp;
		out->not_tcp += s->not_tcp;
		out->malformed += s->malformed;
		for (r = 0; r < DECODE_NREASONS; r++)
			out->reasons[r] += s->reasons[r];
		out->frag_orphan += s->frag_orphan;
		out->flows += s->flows;
		out->finished += s->finished;
		out->segments += s->segments;
		for (r = 0; r < FLOW_R_NREASONS; r++)
			out->ended[r] += s->ended[r];
		out->rekeys += s->rekeys;
		out->time_jumps += s->time_jumps;
		out->half_open += s->half_open;
		out->unanswered_packets += s->unanswered_packets;
		out->half_open_evicted += s->half_open_evicted;
		out->half_open_overloaded |= s->half_open_overloaded;
	}
}

/* The file side is shared (the first engine's figures); buffers and losses are each worker's. */
void
workers_output_stats(struct workers *ws, struct output_stats *out)
{
	const struct output_stats *s;
	unsigned i;

	*out = *engine_output_stats(ws->engines[0]);
	for (i = 1; i < ws->n; i++) {
		s = engine_output_stats(ws->engines[i]);
		out->buffered += s->buffered;
	}
}

uint32_t
workers_active(struct workers *ws)
{
	uint32_t n = 0;
	unsigned i;

	for (i = 0; i < ws->n; i++)
		n += engine_active_count(ws->engines[i]);
	return n;
}

unsigned
workers_frag_pending(struct workers *ws)
{
	unsigned n = 0, i;

	for (i = 0; i < ws->n; i++)
		n += engine_frag_pending(ws->engines[i]);
	return n;
}

/* --- a walk of the active flows ------------------------------------------- */

/*
 * The tables one after the other, a step at a time, each step with its
 * worker held; the flow handed out is a copy (its frame numbers too), as
 * the worker goes on once released and may end the flow meanwhile.
 */
struct workers_walk {
	struct workers *ws;
	unsigned i;
	struct flow_cursor *c;
	struct flow copy;
	uint8_t *fbuf;
	uint32_t fcap;
};

struct workers_walk *
workers_walk(struct workers *ws)
{
	struct workers_walk *wk = xcalloc(1, sizeof *wk);

	wk->ws = ws;
	return wk;
}

static void
copy_flow(struct workers_walk *wk, const struct flow *f)
{
	wk->copy = *f;
	if (f->fn.len > wk->fcap) {
		free(wk->fbuf);
		wk->fcap = f->fn.len;
		wk->fbuf = xmalloc(wk->fcap);
	}
	if (f->fn.len > 0)
		memcpy(wk->fbuf, f->fn.buf, f->fn.len);
	wk->copy.fn.buf = wk->fbuf;
	wk->copy.fn.cap = wk->fcap;
	wk->copy.wstate = NULL;
}

const struct flow *
workers_walk_next(struct workers_walk *wk)
{
	const struct flow *f = NULL;
	int i;

	while (f == NULL && wk->i < wk->ws->n) {
		i = (int)wk->i;
		workers_hold(wk->ws, i);
		if (wk->c == NULL)
			wk->c = engine_flows(wk->ws->engines[i]);
		if ((f = flowtab_cursor_next(wk->c)) != NULL)
			copy_flow(wk, f);
		else {
			flowtab_cursor_free(wk->c);
			wk->c = NULL;
			wk->i++;
		}
		workers_release(wk->ws, i);
	}
	return f != NULL ? &wk->copy : NULL;
}

void
workers_walk_free(struct workers_walk *wk)
{
	if (wk->c != NULL) {
		workers_hold(wk->ws, (int)wk->i);
		flowtab_cursor_free(wk->c);
		workers_release(wk->ws, (int)wk->i);
	}
	free(wk->fbuf);
	free(wk);
}

/* --- the end -------------------------------------------------------------- */

void
workers_stop(struct workers *ws)
{
	struct worker *w;
	uint64_t one = 1;
	unsigned i;

	for (i = 0; ws != NULL && i < ws->n; i++) {
		w = &ws->w[i];
		if (!w->running)
			continue;
		if (write(w->stopfd, &one, sizeof one) == -1)
			log_warn("eventfd");
		pthread_join(w->thread, NULL);
		w->running = 0;
	}
}

void
workers_free(struct workers *ws)
{
	struct worker *w;
	unsigned i;

	if (ws == NULL)
		return;
	workers_stop(ws);
	for (i = ws->n; i-- > 0;) { /* the first, the filer's owner, last */
		w = &ws->w[i];
		if (w->tick != NULL)
			event_free(w->tick);
		if (w->filed != NULL)
			event_free(w->filed);
		if (w->stop != NULL)
			event_free(w->stop);
		if (w->stopfd != -1)
			close(w->stopfd);
		if (ws->engines[i] != NULL)
			engine_set_end_hook(ws->engines[i], NULL, NULL);
		engine_free(ws->engines[i]);
		if (ws->n > 1)
			event_base_free(w->base);
		pthread_mutex_destroy(&w->lock);
	}
	free(ws);
}
