/*
 * pidfile.h: the pid file (setting pid_file) of a daemon started without
 * systemd, for init scripts. Opened before the daemon detaches and locked
 * with flock(2) for as long as it runs: a second daemon on the same file
 * refuses to start, and a file left by a crash is recognised as stale
 * (nobody holds its lock) and reused.
 */
#ifndef TRACEFLOW_PIDFILE_H
#define TRACEFLOW_PIDFILE_H

struct pidfile;

/*
 * Open, lock and empty PATH (created 0644 if missing). NULL and *cause when it is
 * not a regular file we may open (a symbolic link is refused), or when a
 * live daemon holds it: "... is locked by traceflowd 1234".
 */
struct pidfile *pidfile_open(const char *path, char **cause);

/* Write our pid (after daemon(3): the detached child's), once ready. -1 on error. */
int pidfile_write(struct pidfile *pf);

/*
 * At exit: remove the file, then give up the lock. Where the daemon's user
 * may not remove it (a root-owned folder), empty it instead, which init
 * scripts read as no daemon. NULL is harmless.
 */
void pidfile_close(struct pidfile *pf);

#endif
