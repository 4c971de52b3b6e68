/*
 * names.c: names on disk (names.h).
 */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "label.h"
#include "log.h"
#include "names.h"
#include "xmalloc.h"

static const char *format_ext[FMT_COUNT] = {".pcap", ".json", ".plist", ".txt", "", ".pcapng"};

const char *
names_format_ext(int format)
{
	return format < 0 || format >= FMT_COUNT ? "" : format_ext[format];
}

void
names_compose(
    char *buf, size_t len, const char *label, unsigned suffix, unsigned seg_no, int format)
{
	char tail[48], *p = tail;
	size_t n = strlen(label), m;

	/* "%s-%u.seg%u%s" without snprintf: a listing makes one name per flow. */
	if (suffix) {
		*p++ = '-';
		p = label_u64(p, suffix, 1);
	}
	if (seg_no)
		p = label_u64(stpcpy(p, ".seg"), seg_no, 1);
	p = stpcpy(p, names_format_ext(format));
	if (len == 0)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(buf, label, n);
	m = (size_t)(p - tail) < len - n ? (size_t)(p - tail) : len - n - 1;
	memcpy(buf + n, tail, m);
	buf[n + m] = '\0';
}

void
names_flow_file(int format, int nanosecond, const struct flow *f, char *buf, size_t len)
{
	char label[LABEL_MAX];

	label_make(label, f, nanosecond); /* with the flow's suffix, if it has one */
	names_compose(buf, len, label, 0, f->seg_no, format);
}

void
names_dated_dir(const char *layout, uint64_t first_ns, char *buf, size_t len)
{
	time_t t = (time_t)(first_ns / 1000000000u);
	struct tm tm;

	buf[0] = '\0';
	if (layout == NULL || layout[0] == '\0')
		return;
	localtime_r(&t, &tm);
	if (strftime(buf, len, layout, &tm) == 0)
		buf[0] = '\0';
	/* No way out of the output folder, nor into .active/, whatever the pattern says. */
	if (strstr(buf, "..") != NULL || buf[0] == '/' ||
	    strncmp(buf, NAMES_ACTIVE, strlen(NAMES_ACTIVE)) == 0 ||
	    strncmp(buf, NAMES_INDEX, strlen(NAMES_INDEX)) == 0 || buf[0] == '.')
		buf[0] = '\0';
}

void
names_partition(uint64_t last_ns, unsigned split, char *buf, size_t len)
{
	time_t t = (time_t)(last_ns / 1000000000u);
	struct tm tm;
	size_t n;

	if (gmtime_r(&t, &tm) == NULL || (n = strftime(buf, len, "%Y-%m-%dT%H", &tm)) == 0) {
		snprintf(buf, len, "1970-01-01T00");
		n = strlen(buf);
	}
	if (split > 0)
		snprintf(buf + n, len - n, ".%04u", split);
}

int
names_is_partition(const char *name)
{
	static const char shape[] = "dddd-dd-ddTdd";
	size_t i;

	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)name[i]) : name[i] != shape[i])
			return 0;
	if (name[i] == '\0')
		return 1;
	if (name[i] != '.' || name[i + 1] == '\0')
		return 0;
	for (i++; name[i] != '\0'; i++)
		if (!isdigit((unsigned char)name[i]))
			return 0;
	return 1;
}

/* The pattern of our file names, its extensions taken from the format table. */
static void
flow_name_re(char *buf, size_t len)
{
	size_t i;
	int first = 1;

	snprintf(buf, len, "%s",
	    "^[0-9A-Fa-f.]+_[0-9]+-[0-9A-Fa-f.]+_[0-9]+-[0-9]+\\.[0-9]+(-[0-9]+)?(\\.seg[0-9]+)?"
	    "(-r[0-9]+)?\\.(");
	for (i = 0; i < FMT_COUNT; i++) {
		if (format_ext[i][0] == '\0')
			continue;
		if (!first)
			strncat(buf, "|", len - strlen(buf) - 1);
		strncat(buf, format_ext[i] + 1, len - strlen(buf) - 1);
		first = 0;
	}
	strncat(buf, ")$", len - strlen(buf) - 1);
}

int
names_is_flow_file(const char *name)
{
	static regex_t re;
	static int compiled;
	char pattern[512];

	if (!compiled) {
		flow_name_re(pattern, sizeof pattern);
		if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
			fatalx("regcomp %s", pattern);
		compiled = 1;
	}
	return regexec(&re, name, 0, NULL, 0) == 0;
}

char *
names_label_of(const char *name)
{
	char *s = xstrdup(name), *dot;
	size_t i;

	if ((dot = strrchr(s, '.')) != NULL && strchr(dot, '_') == NULL)
		for (i = 0; i < FMT_COUNT; i++)
			if (format_ext[i][0] != '\0' && strcmp(dot, format_ext[i]) == 0) {
				*dot = '\0';
				break;
			}
	if ((dot = strrchr(s, '.')) != NULL && strncmp(dot, ".seg", 4) == 0)
		*dot = '\0';
	return s;
}
