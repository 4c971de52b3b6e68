/*
 * log.c: stderr, syslog or journal logging. Every function keeps errno, so
 * a caller can log and then still test it.
 *
 * Fields (log_fields): in the journal each is a field of the entry beside
 * MESSAGE, for journalctl INTERFACE=eth0 to select on; on stderr and
 * syslog, which have no fields, they are appended to the message as
 * " [NAME=value ...]", so that the same facts can be grepped there.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/uio.h>

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

/* --- fields ---------------------------------------------------------------- */

int
log_field_name_ok(const char *name)
{
	size_t i;

	/* The journal's rule: a leading "_" is for the fields journald itself adds. */
	if (name == NULL || name[0] == '\0' || name[0] == '_' || strlen(name) > 64)
		return 0;
	for (i = 0; name[i] != '\0'; i++)
		if (!((name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= '0' && name[i] <= '9') ||
		        name[i] == '_'))
			return 0;
	return !(name[0] >= '0' && name[0] <= '9');
}

/* A value as the text form writes it: bare, or quoted when it holds a space, quote or bracket. */
static size_t
text_value(char *buf, size_t size, const char *v)
{
	size_t n = 0;
	int quote = v[0] == '\0' || strpbrk(v, " \t\n\"\\[]") != NULL;

#define PUT(ch)                        \
	do {                           \
		if (n + 1 < size)      \
			buf[n] = (ch); \
		n++;                   \
	} while (0)
	if (quote)
		PUT('"');
	for (; *v != '\0'; v++) {
		if (quote && (*v == '"' || *v == '\\'))
			PUT('\\');
		PUT(*v == '\n' ? ' ' : *v);
	}
	if (quote)
		PUT('"');
#undef PUT
	if (size > 0)
		buf[n < size ? n : size - 1] = '\0';
	return n;
}

size_t
log_fields_text(char *buf, size_t size, const struct log_field *fields)
{
	size_t n = 0, k;
	int any = 0;

	if (size > 0)
		buf[0] = '\0';
	for (; fields != NULL && fields->name != NULL; fields++) {
		if (!log_field_name_ok(fields->name) || fields->value == NULL)
			continue;
		k = (size_t)snprintf(buf + (n < size ? n : size), n < size ? size - n : 0,
		    "%s%s=", any ? " " : " [", fields->name);
		n += k;
		n +=
		    text_value(buf + (n < size ? n : size), n < size ? size - n : 0, fields->value);
		any = 1;
	}
	if (any)
		n += (size_t)snprintf(buf + (n < size ? n : size), n < size ? size - n : 0, "]");
	return n;
}

int
log_journal_entry(struct iovec *iov, int max, char *store, size_t size, int prio, const char *ident,
    const char *msg, const struct log_field *fields)
{
	size_t used = 0;
	int n = 0, k;

	/* One "NAME=value" string in store per field; what does not fit is left out. */
#define ADD(...)                                                      \
	do {                                                          \
		k = snprintf(store + used, size - used, __VA_ARGS__); \
		if (n < max && k >= 0 && (size_t)k < size - used) {   \
			iov[n].iov_base = store + used;               \
			iov[n++].iov_len = (size_t)k;                 \
			used += (size_t)k + 1;                        \
		}                                                     \
	} while (0)
	ADD("MESSAGE=%s", msg);
	ADD("PRIORITY=%d", prio);
	ADD("SYSLOG_IDENTIFIER=%s", ident);
	for (; fields != NULL && fields->name != NULL; fields++)
		if (log_field_name_ok(fields->name) && fields->value != NULL)
			ADD("%s=%s", fields->name, fields->value);
#undef ADD
	return n;
}

/* --- emitting ---------------------------------------------------------------- */

static void
log_vemit(int lvl, int with_errno, const struct log_field *fields, const char *fmt, va_list ap)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char msg[2048], store[4096];
	struct iovec iov[LOG_MAX_FIELDS + 3];
	int saved = errno, n;
	size_t len;

	if (lvl > log_level)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (with_errno) {
		len = strlen(msg);
		snprintf(msg + len, sizeof msg - len, ": %s", strerror(saved));
	}
	if (log_target == LOG_TO_JOURNAL) {
		n = log_journal_entry(
		    iov, LOG_MAX_FIELDS + 3, store, sizeof store, prio[lvl], log_name, msg, fields);
		sd_journal_sendv(iov, n);
		errno = saved;
		return;
	}
	len = strlen(msg);
	log_fields_text(msg + len, sizeof msg - len, fields);
	if (log_target == LOG_TO_SYSLOG)
		syslog(prio[lvl], "%s", msg);
	else
		fprintf(stderr, "%s: %s\n", log_name, msg);
	errno = saved;
}

#define LOG_FN(name, lvl, with_errno)                      \
	void name(const char *fmt, ...)                    \
	{                                                  \
		va_list ap;                                \
		va_start(ap, fmt);                         \
		log_vemit(lvl, with_errno, NULL, fmt, ap); \
		va_end(ap);                                \
	}
LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)

void
log_fields(int level, const struct log_field *fields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(level, 0, fields, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERR, 1, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERR, 0, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
