/* label.c: flow labels and the address and time formats they use. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "label.h"

void
label_addr(char *buf, size_t len, uint8_t af, const uint8_t *addr, int dots)
{
	char *p;

	if (inet_ntop(af == 6 ? AF_INET6 : AF_INET, addr, buf, (socklen_t)len) == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	if (dots) {
		for (p = buf; *p != '\0'; p++)
			if (*p == ':')
				*p = '.';
	}
}

void
label_time(char *buf, size_t len, uint64_t ts_ns, int nanosecond)
{
	uint64_t sec = ts_ns / 1000000000u, frac = ts_ns % 1000000000u;

	if (nanosecond)
		snprintf(
		    buf, len, "%llu.%09llu", (unsigned long long)sec, (unsigned long long)frac);
	else
		snprintf(buf, len, "%llu.%06llu", (unsigned long long)sec,
		    (unsigned long long)(frac / 1000));
}

size_t
label_make(char *buf, const struct flow *f, int nanosecond)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], ts[32];
	uint16_t sport, dport;
	int n;

	label_addr(src, sizeof src, f->key.af, flow_src(f, &sport), 1);
	label_addr(dst, sizeof dst, f->key.af, flow_dst(f, &dport), 1);
	label_time(ts, sizeof ts, f->first, nanosecond);
	if (f->suffix)
		n = snprintf(
		    buf, LABEL_MAX, "%s_%u-%s_%u-%s-%u", src, sport, dst, dport, ts, f->suffix);
	else
		n = snprintf(buf, LABEL_MAX, "%s_%u-%s_%u-%s", src, sport, dst, dport, ts);
	return n < 0 ? 0 : (size_t)n;
}
