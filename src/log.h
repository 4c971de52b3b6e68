/*
 * log.h: the logging idioms of OpenBSD daemons. log_warn() appends
 * strerror(errno), log_warnx() does not; fatal() and fatalx() log and exit.
 * Messages go to stderr, or to the journal with structured fields when the
 * daemon runs under systemd (log_init).
 */
#ifndef TRACEFLOW_LOG_H
#define TRACEFLOW_LOG_H

#include <stdarg.h>
#include <stddef.h>

struct iovec;

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

/*
 * A message with fields besides MESSAGE (INTERFACE=, DROPS=, SPOOL_DIR=,
 * FLOW_LABEL=), so that journalctl selects on them: in the journal each is
 * a field of the entry; on stderr and syslog they are appended to the
 * message as " [NAME=value ...]" (a value with a space, quote or bracket in
 * double quotes, '"' and '\\' escaped). Names are the journal's: A-Z, 0-9
 * and _, not starting with _ or a digit, at most 64; a field with another
 * name, or a NULL value, is left out. LOG_FIELDS ends the list.
 */
struct log_field {
	const char *name;
	const char *value;
};
#define LOG_MAX_FIELDS  8 /* fields beyond are left out of the journal entry */
#define LOG_FIELDS(...) ((const struct log_field[]){__VA_ARGS__, {NULL, NULL}})
void log_fields(int level, const struct log_field *fields, const char *fmt, ...) LOG_PRINTF(3, 4);

/* What log_fields builds, for the tests: whether name may be a journal field, */
int log_field_name_ok(const char *name);
/* the text appended without the journal (snprintf's contract: the length it needs), */
size_t log_fields_text(char *buf, size_t size, const struct log_field *fields);
/* and the journal entry: "NAME=value" strings in store, iov pointing at them; the count. */
int log_journal_entry(struct iovec *iov, int max, char *store, size_t size, int prio,
    const char *ident, const char *msg, const struct log_field *fields);

void fatal(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

#endif
