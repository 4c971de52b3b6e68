/*
 * notify.h: the systemd glue, in one place: sd_notify readiness, status,
 * reload and stop notices, and the watchdog. Harmless without systemd (no
 * NOTIFY_SOCKET: every call does nothing).
 */
#ifndef TRACEFLOW_NOTIFY_H
#define TRACEFLOW_NOTIFY_H

#include <stdint.h>

void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
/*
 * Still starting or stopping: systemd's timeout for it ends usec from now,
 * not sooner (EXTEND_TIMEOUT_USEC).
 */
void notify_extend(uint64_t usec);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The watchdog interval systemd asked for, in microseconds; 0 if none. */
uint64_t notify_watchdog_usec(void);
void notify_watchdog(void);

/* Started by systemd (its journal is our stderr): log there with fields. */
int notify_under_systemd(void);

#endif
