/*
 * acceptguard.h: a listener that survives running out of descriptors.
 *
 * libevent's evconnlistener, on an accept() that fails with EMFILE, logs
 * "Error from accept()" and tries again at once: the connection that could
 * not be taken stays in the backlog, the socket stays readable, and the
 * loop spins, logging millions of lines. With a guard, such a failure
 * pauses the listener for ACCEPT_PAUSE_MS and is logged once per episode
 * (and the number of pauses when it ends); other errors are logged,
 * rate-limited, without a pause. The control socket and /metrics use it.
 */
#ifndef TRACEFLOW_ACCEPTGUARD_H
#define TRACEFLOW_ACCEPTGUARD_H

#include <event2/event.h>
#include <event2/listener.h>

#define ACCEPT_PAUSE_MS 1000

struct accept_guard;

/*
 * Guard lst (on base; what names it in messages, e.g. "control"). The
 * guard must be freed before the listener. enabled() tells whether the
 * listener's owner wants it accepting (it may have disabled it itself,
 * e.g. at its client bound): a pause that ends re-enables it only then;
 * NULL: always.
 */
struct accept_guard *accept_guard_new(struct event_base *base, struct evconnlistener *lst,
    const char *what, int (*enabled)(void *arg), void *arg);
void accept_guard_free(struct accept_guard *g);

/*
 * From the listener's error callback (evconnlistener_set_error_cb; the
 * error is in errno): pause on running out of descriptors.
 */
void accept_guard_error(struct accept_guard *g);

/* From the accept callback: descriptors were found again (ends an episode). */
void accept_guard_ok(struct accept_guard *g);

/* Is the listener paused for want of descriptors now? (Its owner must not enable it.) */
int accept_guard_paused(const struct accept_guard *g);

/* Pauses so far (for tests and stats). */
unsigned long accept_guard_pauses(const struct accept_guard *g);

#endif
