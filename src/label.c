/* label.c: flow labels and the address and time formats they use. */
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "label.h"

/* Copy the n bytes of s into buf of len bytes, cut to fit, as snprintf "%s" would; the length. */
static size_t
copy_cut(char *buf, size_t len, const char *s, size_t n)
{
	if (len == 0)
		return 0;
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return n;
}

void
label_addr(char *buf, size_t len, uint8_t af, const uint8_t *addr, int dots)
{
	char v4[16], *p = v4;
	int i;

	if (af != 6) {
		/* By hand: glibc's inet_ntop formats IPv4 with sprintf, four per listed flow. */
		for (i = 0; i < 4; i++) {
			if (i > 0)
				*p++ = '.';
			p = label_u64(p, addr[i], 1);
		}
		copy_cut(buf, len, v4, (size_t)(p - v4));
		return;
	}
	if (inet_ntop(AF_INET6, addr, buf, (socklen_t)len) == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	if (dots) {
		for (p = buf; *p != '\0'; p++)
			if (*p == ':')
				*p = '.';
	}
}

/*
 * Decimal digits of v at p, at least width of them (zero-padded); the end.
 * By hand: every label and listing entry is made of these, and snprintf
 * was most of a large listing's time.
 */
char *
label_u64(char *p, uint64_t v, unsigned width)
{
	char d[24];
	unsigned n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0 || n < width);
	while (n > 0)
		*p++ = d[--n];
	return p;
}

void
label_time(char *buf, size_t len, uint64_t ts_ns, int nanosecond)
{
	char d[32], *p;

	p = label_u64(d, ts_ns / 1000000000u, 1);
	*p++ = '.';
	p = nanosecond ? label_u64(p, ts_ns % 1000000000u, 9)
	               : label_u64(p, ts_ns % 1000000000u / 1000, 6);
	copy_cut(buf, len, d, (size_t)(p - d));
}

/*
 * The double nearest to ts_ns / 1e9, rounded once, as pcapkit gets it:
 * float() of the exact Decimal epoch. (sec + frac / 1e9 in doubles would round
 * twice and miss by an ulp now and then.) strtod rounds correctly; the
 * daemon never changes LC_NUMERIC, so the point is '.'.
 */
static double
epoch_double(uint64_t ts_ns)
{
	char buf[32];

	snprintf(buf, sizeof buf, "%llu.%09llu", (unsigned long long)(ts_ns / 1000000000u),
	    (unsigned long long)(ts_ns % 1000000000u));
	return strtod(buf, NULL);
}

/*
 * The last digit of the mantissa of a "%.*e" string, one up (carrying, and
 * "9.9e+09" becomes "1.0e+10"): the candidate just above the nearest one.
 */
static void
bump_last_digit(char *buf, size_t len)
{
	char *e = strchr(buf, 'e'), *p;
	int exp;

	if (e == NULL)
		return;
	exp = atoi(e + 1);
	for (p = e - 1; p >= buf; p--) {
		if (*p == '.')
			continue;
		if (*p != '9') {
			(*p)++;
			return;
		}
		*p = '0';
	}
	/* All nines: 1 and as many zeros, one decade up. */
	buf[0] = '1';
	snprintf(e, len - (size_t)(e - buf), "e%+03d", exp + 1);
}

/*
 * The shortest significant digits of x that read back to x (1 to 17 of
 * them), closest to x among those of that length, as David Gay's dtoa mode 0
 * (Python's repr) picks them. The correctly rounded p digits are the closest
 * of length p, and they read back whenever any p digits do, but for one case:
 * x a power of two, whose gap to the next double below is half the gap
 * above, where the digits one up may read back while the nearest do not.
 * Returns the number of digits; *decpt places the point (x = 0.DIGITS *
 * 10^decpt).
 */
static int
shortest_digits(double x, char *digits, int *decpt)
{
	char buf[40], *p;
	int prec, n = 0, exp2;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
		if (strtod(buf, NULL) == x)
			break;
		if (frexp(x, &exp2) == 0.5) {
			bump_last_digit(buf, sizeof buf);
			if (strtod(buf, NULL) == x)
				break;
		}
	}
	for (p = buf; *p != 'e' && *p != '\0'; p++)
		if (*p >= '0' && *p <= '9')
			digits[n++] = *p;
	while (n > 1 && digits[n - 1] == '0')
		n--;
	digits[n] = '\0';
	*decpt = (*p == 'e' ? atoi(p + 1) : 0) + 1;
	return n;
}

void
label_time_shortest(char *buf, size_t len, uint64_t ts_ns)
{
	char digits[20], out[48];
	double x = epoch_double(ts_ns);
	int n, decpt, i, o = 0;

	if (x == 0) { /* the epoch itself: "0.0" */
		snprintf(digits, sizeof digits, "0");
		n = decpt = 1;
	} else
		n = shortest_digits(x, digits, &decpt);
	/* Python's repr: exponent form when decpt <= -4 or > 16, else positional. */
	if (decpt <= -4 || decpt > 16) {
		snprintf(buf, len, "%c%s%se%c%02d", digits[0], n > 1 ? "." : "", digits + 1,
		    decpt - 1 < 0 ? '-' : '+', abs(decpt - 1));
		return;
	}
	if (decpt <= 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (i = decpt; i < 0; i++)
			out[o++] = '0';
		for (i = 0; i < n; i++)
			out[o++] = digits[i];
	} else {
		for (i = 0; i < decpt || i < n; i++) {
			if (i == decpt)
				out[o++] = '.';
			out[o++] = i < n ? digits[i] : '0';
		}
		if (decpt >= n) {
			out[o++] = '.';
			out[o++] = '0';
		}
	}
	out[o] = '\0';
	snprintf(buf, len, "%s", out);
}

size_t
label_make(char *buf, const struct flow *f, int nanosecond)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], ts[32], whole[256], *p = whole;
	uint16_t sport, dport;

	label_addr(src, sizeof src, f->key.af, flow_src(f, &sport), 1);
	label_addr(dst, sizeof dst, f->key.af, flow_dst(f, &dport), 1);
	if (f->ltime == LABEL_TIME_SHORTEST)
		/* The time the output files carry: microseconds unless nanosecond. */
		label_time_shortest(ts, sizeof ts, nanosecond ? f->first : f->first / 1000 * 1000);
	else
		label_time(ts, sizeof ts, f->first, nanosecond);
	/* "%s_%u-%s_%u-%s[-%u]" by hand, cut to LABEL_MAX as snprintf would. */
	p = stpcpy(p, src);
	*p++ = '_';
	p = label_u64(p, sport, 1);
	*p++ = '-';
	p = stpcpy(p, dst);
	*p++ = '_';
	p = label_u64(p, dport, 1);
	*p++ = '-';
	p = stpcpy(p, ts);
	if (f->suffix) {
		*p++ = '-';
		p = label_u64(p, f->suffix, 1);
	}
	return copy_cut(buf, LABEL_MAX, whole, (size_t)(p - whole));
}
