/*
 * offline.h: traceflowd --read: split a capture file (pcap or pcapng, or
 * standard input) into one file per TCP connection plus an index.
 */
#ifndef TRACEFLOW_OFFLINE_H
#define TRACEFLOW_OFFLINE_H

#include "engine.h"

struct offline_opts {
	const char *input;  /* path, or "-" for standard input */
	const char *filter; /* BPF expression or NULL */
	int force;          /* write into a non-empty output folder */
	int nanosecond;     /* -1: follow the input's precision */
	int quiet;          /* no progress on stderr, even on a terminal */
	int summary_json;   /* the end summary as one JSON object (stdout) */
	struct engine_config cfg;
};

/* Returns the process exit status: 0 done, 1 input or output error, 2 bad usage. */
int offline_run(struct offline_opts *o);

#endif
