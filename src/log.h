/*
 * log.h: the logging idioms of OpenBSD daemons. log_warn() appends
 * strerror(errno), log_warnx() does not; fatal() and fatalx() log and exit.
 * Messages go to stderr, or to the journal with structured fields when the
 * daemon runs under systemd (log_init).
 */
#ifndef TRACEFLOW_LOG_H
#define TRACEFLOW_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

enum log_target { LOG_TO_STDERR = 0, LOG_TO_JOURNAL, LOG_TO_SYSLOG };

/* Where messages go: stderr (prefixed by name), the journal (structured), or syslog. */
void log_init(const char *name, int level, int target);
void log_setlevel(int level);
int log_getlevel(void);

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void fatal(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

#endif
