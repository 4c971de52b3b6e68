/*
 * qtime.c: the times of `traceflowctl query` expressions (qtime.h).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "duration.h"
#include "qtime.h"
#include "xmalloc.h"

#define NS      DURATION_NS_PER_SEC
#define MAX_SEC (INT64_MAX / (int64_t)NS) /* the catalog's times are signed 64-bit ns */

/* Exactly n digits at *s into *v. */
static int
digits(const char **s, int n, int *v)
{
	for (*v = 0; n > 0; n--, (*s)++) {
		if (!isdigit((unsigned char)**s))
			return -1;
		*v = *v * 10 + (**s - '0');
	}
	return 0;
}

/* The digits after a '.' at *s (the dot passed) as ns; those past the 9th dropped. */
static int
fraction(const char **s, uint64_t *ns)
{
	uint64_t scale = NS;

	if (!isdigit((unsigned char)**s))
		return -1;
	for (*ns = 0; isdigit((unsigned char)**s); (*s)++) {
		scale /= 10;
		*ns += (uint64_t)(**s - '0') * scale;
	}
	return 0;
}

/*
 * RFC 3339: YYYY-MM-DD, then optionally 'T' (or 't') HH:MM[:SS[.frac]]
 * and Z or +-HH:MM (seconds may be left out, as people type it). Without
 * a zone it is local time, the process's TZ, as mktime reads it (which
 * tells daylight saving time too); a date alone is its local midnight.
 */
static int
time_rfc3339(const char *s, int64_t *sec, uint64_t *frac)
{
	int zh = 0, zm = 0, sign = 0, local = 1;
	struct tm tm, day;

	*frac = 0;
	memset(&tm, 0, sizeof tm);
	if (digits(&s, 4, &tm.tm_year) || *s++ != '-' || digits(&s, 2, &tm.tm_mon) || *s++ != '-' ||
	    digits(&s, 2, &tm.tm_mday))
		return -1;
	if (*s == 'T' || *s == 't') {
		s++;
		if (digits(&s, 2, &tm.tm_hour) || *s++ != ':' || digits(&s, 2, &tm.tm_min))
			return -1;
		if (*s == ':' && (s++, digits(&s, 2, &tm.tm_sec) == -1))
			return -1;
		if (*s == '.' && (s++, fraction(&s, frac) == -1))
			return -1;
		if (*s == 'Z' || *s == 'z') {
			local = 0;
			s++;
		} else if (*s == '+' || *s == '-') {
			sign = *s++ == '+' ? 1 : -1;
			local = 0;
			if (digits(&s, 2, &zh) || *s++ != ':' || digits(&s, 2, &zm))
				return -1;
		}
	}
	tm.tm_year -= 1900;
	tm.tm_mon--;
	tm.tm_isdst = -1;
	day = tm; /* a day that is not, as 02-30 or 13-01, comes back from timegm as another */
	day.tm_hour = day.tm_min = day.tm_sec = 0;
	timegm(&day);
	if (*s != '\0' || day.tm_mday != tm.tm_mday || day.tm_mon != tm.tm_mon || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60 || zh > 23 || zm > 59)
		return -1;
	/* mktime's -1 is 1969-12-31T23:59:59, refused as before 1970 anyway */
	*sec = local ? (int64_t)mktime(&tm) : (int64_t)timegm(&tm) - sign * (zh * 3600 + zm * 60);
	return 0;
}

/* Epoch seconds, "1796551200" or "1796551200.25". */
static int
time_epoch(const char *s, int64_t *sec, uint64_t *frac)
{
	if (!isdigit((unsigned char)*s))
		return -1;
	for (*sec = 0; isdigit((unsigned char)*s); s++) {
		if (*sec <= MAX_SEC) /* past it, too large (the caller says so): stop counting */
			*sec = *sec * 10 + (*s - '0');
	}
	if (*s == '.' && (s++, fraction(&s, frac) == -1))
		return -1;
	return *s == '\0' ? 0 : -1;
}

int
qtime_read(
    const char *word, const char *next, uint64_t now_ns, uint64_t *ns, int *used, const char **why)
{
	uint64_t d, frac = 0;
	int64_t sec;
	char both[80];

	*used = 1;
	if (next != NULL && strcmp(next, "ago") == 0 && duration_parse(word, &d) == 0) {
		*used = 2;
		sec = d > now_ns ? -1 : (int64_t)((now_ns - d) / NS);
		frac = d > now_ns ? 0 : (now_ns - d) % NS;
	} else if (next != NULL && strlen(word) == 10 && strchr(next, ':') != NULL &&
	           snprintf(both, sizeof both, "%sT%s", word, next) < (int)sizeof both &&
	           time_rfc3339(both, &sec, &frac) == 0) {
		*used = 2; /* a date and a time, two words: as nfdump and people print them */
	} else if (time_epoch(word, &sec, &frac) == -1 && time_rfc3339(word, &sec, &frac) == -1) {
		if (duration_parse(word, &d) == 0)
			*why = "a duration is a time with \"ago\" after it (3m ago)";
		else
			*why = "not a time: expected " TIME_FORMS;
		return -1;
	}
	if (sec < 0 || sec > MAX_SEC || (uint64_t)sec * NS > (uint64_t)INT64_MAX - frac) {
		*why = "out of range (1970 to 2262: the catalog's times are signed 64-bit ns)";
		return -1;
	}
	*ns = (uint64_t)sec * NS + frac;
	return 0;
}

int
qtime_parse(
    const char *word, const char *next, uint64_t now_ns, uint64_t *ns, int *used, char **cause)
{
	const char *why;

	if (qtime_read(word, next, now_ns, ns, used, &why) == 0)
		return 0;
	xasprintf(cause, "\"%s\": %s", word, why);
	return -1;
}
