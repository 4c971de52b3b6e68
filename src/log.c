/*
 * log.c: stderr or journal logging. Every function keeps errno, so a caller
 * can log and then still test it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <systemd/sd-journal.h>

#include "log.h"

static const char *log_name = "traceflow";
static int log_level = LOG_LVL_INFO;
static int log_target = LOG_TO_STDERR;

void
log_init(const char *name, int level, int target)
{
	log_name = name;
	log_level = level;
	log_target = target;
	if (target == LOG_TO_SYSLOG)
		openlog(name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

static void
log_vemit(int lvl, int with_errno, const char *fmt, va_list ap)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char msg[2048];
	int saved = errno;
	size_t n;

	if (lvl > log_level)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (with_errno) {
		n = strlen(msg);
		snprintf(msg + n, sizeof msg - n, ": %s", strerror(saved));
	}
	switch (log_target) {
	case LOG_TO_JOURNAL:
		sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio[lvl], "SYSLOG_IDENTIFIER=%s",
		    log_name, NULL);
		break;
	case LOG_TO_SYSLOG:
		syslog(prio[lvl], "%s", msg);
		break;
	default:
		fprintf(stderr, "%s: %s\n", log_name, msg);
		break;
	}
	errno = saved;
}

#define LOG_FN(name, lvl, with_errno)                \
	void name(const char *fmt, ...)              \
	{                                            \
		va_list ap;                          \
		va_start(ap, fmt);                   \
		log_vemit(lvl, with_errno, fmt, ap); \
		va_end(ap);                          \
	}
LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
