/*
 * hookenv.h: what an on_file command inherits of the daemon, made once
 * (the base) and for each file (the base and the index line's members).
 */
#ifndef TRACEFLOW_HOOKENV_H
#define TRACEFLOW_HOOKENV_H

#include <jansson.h>

/*
 * Clear the ambient and inheritable capabilities of the calling thread
 * (the one that spawns): the daemon keeps its effective set, a command
 * gets none. Failures are logged.
 */
void hookenv_clear_caps(void);

/* The daemon's environment without what speaks to systemd or poses as ours: NULL-terminated. */
char **hookenv_base(void);

/*
 * base and TRACEFLOW_<MEMBER>=value for every member of the index line
 * (names in capitals; numbers as the index writes them, arrays joined by
 * ",", null as ""): NULL-terminated.
 */
char **hookenv_job(char *const *base, const json_t *entry);

/* Free a NULL-terminated vector (NULL: nothing). */
void hookenv_free(char **v);

#endif
