/*
 * duration.c: the one reader and writer of durations (duration.h). Exact
 * integer arithmetic: "0.1s" is 100000000 ns, not what a double makes of it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "duration.h"

#define NS_MS   1000000ULL
#define NS_SEC  DURATION_NS_PER_SEC
#define NS_MIN  (60 * NS_SEC)
#define NS_HOUR (60 * NS_MIN)
#define NS_DAY  (24 * NS_HOUR)

/* From the largest down: a term's unit comes after the previous term's. */
static const struct {
	const char *name;
	uint64_t ns;
} units[] = {
    {"d", NS_DAY},
    {"h", NS_HOUR},
    {"m", NS_MIN},
    {"s", NS_SEC},
    {"ms", NS_MS},
    {"us", 1000},
    {"ns", 1},
};

#define NUNITS (sizeof units / sizeof units[0])
#define MAXDEC 9 /* decimals that count: 10^9 keeps f * (scale % 10^k) in 64 bits */

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static const char *
skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/*
 * A number at *p ("12", "0.25"): its whole part, its first MAXDEC decimals
 * as an integer frac over 10^*ndec. -1 if there is none or it overflows.
 */
static int
read_number(const char **p, uint64_t *whole, uint64_t *frac, unsigned *ndec)
{
	const char *s = *p;

	if (!is_digit(*s))
		return -1;
	for (*whole = 0; is_digit(*s); s++) {
		if (*whole > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		*whole = *whole * 10 + (uint64_t)(*s - '0');
	}
	*frac = 0;
	*ndec = 0;
	if (*s == '.') {
		if (!is_digit(*++s))
			return -1;
		for (; is_digit(*s); s++) {
			if (*ndec < MAXDEC) {
				*frac = *frac * 10 + (uint64_t)(*s - '0');
				(*ndec)++;
			}
		}
	}
	*p = s;
	return 0;
}

/* whole + frac / 10^ndec times scale, into *ns: -1 on overflow. */
static int
add_term(uint64_t *ns, uint64_t whole, uint64_t frac, unsigned ndec, uint64_t scale)
{
	uint64_t pow = 1, a, b, part[3];
	unsigned i;

	for (i = 0; i < ndec; i++)
		pow *= 10;
	/* frac * scale / pow exactly, as frac * a + frac * b / pow. */
	a = scale / pow;
	b = scale % pow;
	if (whole > UINT64_MAX / scale || (a != 0 && frac > UINT64_MAX / a))
		return -1;
	part[0] = whole * scale;
	part[1] = frac * a;
	part[2] = frac * b / pow; /* both below 10^9 */
	for (i = 0; i < 3; i++) {
		if (UINT64_MAX - *ns < part[i])
			return -1;
		*ns += part[i];
	}
	return 0;
}

int
duration_parse(const char *s, uint64_t *out)
{
	const char *p = skip_blanks(s), *u;
	uint64_t whole, frac, ns = 0;
	unsigned ndec;
	size_t i, next = 0, n;
	int terms = 0;

	while (*p != '\0') {
		if (read_number(&p, &whole, &frac, &ndec) == -1)
			return -1;
		p = skip_blanks(p);
		for (u = p; *u >= 'a' && *u <= 'z'; u++)
			;
		n = (size_t)(u - p);
		if (n == 0) {
			/* A number alone is seconds; a unitless number after a term is not. */
			if (terms > 0 || *p != '\0')
				return -1;
			i = 3;
		} else {
			for (i = next; i < NUNITS; i++)
				if (strlen(units[i].name) == n && strncmp(units[i].name, p, n) == 0)
					break;
			if (i == NUNITS)
				return -1;
		}
		if (add_term(&ns, whole, frac, ndec, units[i].ns) == -1)
			return -1;
		next = i + 1;
		terms++;
		p = skip_blanks(u);
	}
	if (terms == 0)
		return -1;
	*out = ns;
	return 0;
}

void
duration_format(char *buf, size_t len, uint64_t ns)
{
	size_t i;

	for (i = 0; ns != 0 && i < NUNITS; i++) {
		if (ns % units[i].ns == 0) {
			snprintf(buf, len, "%" PRIu64 "%s", ns / units[i].ns, units[i].name);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64, ns);
}

uint64_t
duration_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * DURATION_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}
