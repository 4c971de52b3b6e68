/*
 * acceptguard.c: a listener paused, not spinning, when descriptors run out
 * (acceptguard.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acceptguard.h"
#include "log.h"
#include "xmalloc.h"

#define OTHER_LOG_SEC 10 /* other accept errors: a line at most this often */
#define PAUSE_LOG_SEC 60 /* a new episode of pauses: said at most this often */

struct accept_guard {
	struct evconnlistener *lst;
	struct event *resume;
	char *what;
	int (*enabled)(void *arg);
	void *arg;
	int paused;
	int episode;          /* pauses since the last one that found descriptors again */
	unsigned long pauses; /* in all */
	time_t other_logged;  /* CLOCK_MONOTONIC seconds */
	time_t pause_logged;  /* ... when an episode was last said */
	int said;             /* this episode was */
};

static int
out_of_descriptors(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct accept_guard *g = arg;

	(void)fd;
	(void)what;
	g->paused = 0;
	if (g->enabled == NULL || g->enabled(g->arg))
		evconnlistener_enable(g->lst);
}

void
accept_guard_error(struct accept_guard *g)
{
	struct evconnlistener *lst = g->lst;
	struct timeval tv = {ACCEPT_PAUSE_MS / 1000, (ACCEPT_PAUSE_MS % 1000) * 1000};
	struct timespec now;
	int err = EVUTIL_SOCKET_ERROR();

	if (!out_of_descriptors(err)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - g->other_logged >= OTHER_LOG_SEC) {
			g->other_logged = now.tv_sec;
			log_warnx("%s: accept: %s", g->what, strerror(err));
		}
		return;
	}
	/* The connection stays in the backlog: taken when a descriptor is free again. */
	evconnlistener_disable(lst);
	g->paused = 1;
	g->pauses++;
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* Few descriptors free: episodes come and go; one line a minute says so. */
	if (g->episode++ == 0 && (g->said = now.tv_sec - g->pause_logged >= PAUSE_LOG_SEC))
		g->pause_logged = now.tv_sec;
	if (g->episode == 1 && g->said)
		log_warnx(
		    "%s: accept: %s: no new connection is taken for %d ms at a time until "
		    "descriptors are free again (raise LimitNOFILE, or lower the clients allowed)",
		    g->what, strerror(err), ACCEPT_PAUSE_MS);
	evtimer_add(g->resume, &tv);
}

void
accept_guard_ok(struct accept_guard *g)
{
	if (g->episode > 1 && g->said)
		log_info("%s: accepting again after %d pauses for want of descriptors", g->what,
		    g->episode);
	g->episode = 0;
}

struct accept_guard *
accept_guard_new(struct event_base *base, struct evconnlistener *lst, const char *what,
    int (*enabled)(void *arg), void *arg)
{
	struct accept_guard *g = xcalloc(1, sizeof *g);

	g->lst = lst;
	g->what = xstrdup(what);
	g->enabled = enabled;
	g->arg = arg;
	g->other_logged = -OTHER_LOG_SEC;
	g->pause_logged = -PAUSE_LOG_SEC;
	if ((g->resume = evtimer_new(base, on_resume, g)) == NULL)
		fatalx("evtimer_new failed");
	return g;
}

void
accept_guard_free(struct accept_guard *g)
{
	if (g == NULL)
		return;
	event_free(g->resume);
	free(g->what);
	free(g);
}

int
accept_guard_paused(const struct accept_guard *g)
{
	return g != NULL && g->paused;
}

unsigned long
accept_guard_pauses(const struct accept_guard *g)
{
	return g != NULL ? g->pauses : 0;
}
