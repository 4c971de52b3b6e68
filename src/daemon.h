/*
 * daemon.h: the live daemon: configuration, capture handles, the engine on
 * the spool, timers, signals, privileges and systemd notices, around one
 * libevent loop.
 */
#ifndef TRACEFLOW_DAEMON_H
#define TRACEFLOW_DAEMON_H

#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "engine.h"

struct daemon_opts {
	const char *config;  /* path of the config file */
	int config_explicit; /* -c given: a missing file is an error */
	int foreground;      /* -f: no detaching (systemd) */
	int check_only;      /* -n: check the config and exit */
	int verbose;         /* -v */
	char **interfaces;   /* -i, replacing the config's list */
	unsigned ninterfaces;
};

struct daemon;

/*
 * libevent priorities: when several events are ready, packets come first,
 * then timers and signals, then control clients, then metrics scrapes, so
 * that a big listing or a scrape never holds up the capture.
 */
#define PRIO_CAPTURE 0
#define PRIO_TIMER   1
#define PRIO_CONTROL 2
#define PRIO_METRICS 3
#define PRIO_COUNT   4

/* Run the daemon; returns the exit status. */
int daemon_main(const struct daemon_opts *o);

#endif
