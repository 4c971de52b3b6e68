/*
 * config.c: the configuration file, libconfig syntax. Every setting is one
 * row of cfg_table below: its name, type, bounds, default, where it lives in
 * struct tf_config, a line of documentation and whether a reload may change
 * it. Nothing else in this file knows a setting by name: the defaults, the
 * parser and its error messages, config_print(), the sample file, the JSON
 * for the control channel and the reload check all walk the table, so a new
 * setting is one new row (and a field, and a line in config_to_engine()).
 *
 * Numbers: durations are kept in nanoseconds and written with a unit
 * ("500ms", "5m", or an integer number of seconds); sizes in bytes, written
 * with a power-of-1024 unit ("256M") or as an integer.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libconfig.h>
#include <pcap/pcap.h>

#include "config.h"
#include "duration.h"
#include "log.h"
#include "proto.h"
#include "xmalloc.h"

enum cfg_type {
	CT_BOOL,     /* int: 0 or 1 */
	CT_INT,      /* int */
	CT_COUNT,    /* uint64_t, a plain integer */
	CT_SIZE,     /* uint64_t bytes */
	CT_DURATION, /* uint64_t ns */
	CT_STRING,   /* char * */
	CT_ENUM,     /* int, one of words */
	CT_STRLIST,  /* char ** and an unsigned count */
	CT_MODE      /* int, a file mode written in octal */
};

#define CF_NORELOAD 0x01 /* a reload may not change it: restart */
#define CF_ZERO     0x02 /* 0 ("none", "unlimited"), or "" for a string, is allowed too */
#define CF_ABSPATH  0x04 /* an absolute path */
#define CF_RELPATH  0x08 /* a relative path without ".." */
#define CF_BPF      0x10 /* a pcap-filter(7) expression */
#define CF_HOSTPORT 0x20 /* "host:port" or "" */
#define CF_AUTO     0x40 /* a count: "auto" too, kept as 0 (the daemon decides) */

struct cfg_word {
	const char *word;
	int value;
	int alias; /* accepted, not listed */
};

struct cfg_entry {
	const char *section; /* a heading in the sample before this row, or NULL */
	const char *name;
	enum cfg_type type;
	size_t off;       /* the field */
	size_t off_n;     /* CT_STRLIST: the count */
	uint64_t def;     /* numeric default */
	const char *sdef; /* CT_STRING default; CT_STRLIST: its one element */
	uint64_t min;     /* CT_STRLIST: fewest elements */
	uint64_t max;
	unsigned flags;
	const struct cfg_word *words;
	const char *doc;
};

/*
 * What reading one file needs besides the table: how this libconfig reads
 * numbers, and the text of the file last searched for a literal.
 */
struct reader {
	const char *path; /* the file config_load() was given */
	int octal;        /* libconfig reads 010 as 8 */
	char *file;       /* the file text holds, or NULL */
	char *text;       /* NUL-terminated */
	size_t len;
};

#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)
#define TiB (1024ULL * GiB)
#define PiB (1024ULL * TiB)
#define EiB (1024ULL * PiB)

#define MS   (NS_PER_SEC / 1000)
#define SEC  NS_PER_SEC
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)

#define F(field) offsetof(struct tf_config, field)

/* clang-format off */
static const struct cfg_word words_format[] = {
	{ "pcap", FMT_PCAP, 0 },
	{ "json", FMT_JSON, 0 },
	{ "plist", FMT_PLIST, 0 },
	{ "tree", FMT_TREE, 0 },
	{ "none", FMT_NONE, 0 },
	{ "pcapng", FMT_PCAPNG, 0 },
	{ "cap", FMT_PCAP, 1 },
	{ "xml", FMT_PLIST, 1 },
	{ "txt", FMT_TREE, 1 },
	{ "text", FMT_TREE, 1 },
	{ NULL, 0, 0 },
};

static const struct cfg_word words_byteorder[] = {
	{ "little", 0, 0 },
	{ "big", 1, 0 },
	{ NULL, 0, 0 },
};

static const struct cfg_word words_flow_end[] = {
	{ "teardown", FLOW_END_TEARDOWN, 0 },
	{ "first-fin", FLOW_END_FIRST_FIN, 0 },
	{ NULL, 0, 0 },
};

static const struct cfg_word words_unanswered[] = {
	{ "shared", UNANSWERED_SHARED, 0 },
	{ "own-file", UNANSWERED_OWN_FILE, 0 },
	{ "count", UNANSWERED_COUNT, 0 },
	{ NULL, 0, 0 },
};

static const struct cfg_word words_flow_key[] = {
	{ "connection", FLOW_KEY_CONNECTION, 0 },
	{ "directional", FLOW_KEY_DIRECTIONAL, 0 },
	{ NULL, 0, 0 },
};

static const struct cfg_word words_label_time[] = {
	{ "fixed", LABEL_TIME_FIXED, 0 },
	{ "shortest", LABEL_TIME_SHORTEST, 0 },
	{ NULL, 0, 0 },
};

static const struct cfg_word words_compat[] = {
	{ "none", CONFIG_COMPAT_NONE, 0 },
	{ "pcapkit", CONFIG_COMPAT_PCAPKIT, 0 },
	{ NULL, 0, 0 },
};

static const struct cfg_word words_log_level[] = {
	{ "error", LOG_LVL_ERR, 0 },
	{ "warning", LOG_LVL_WARN, 0 },
	{ "info", LOG_LVL_INFO, 0 },
	{ "debug", LOG_LVL_DEBUG, 0 },
	{ "warn", LOG_LVL_WARN, 1 },
	{ NULL, 0, 0 },
};

static const struct cfg_word words_transport[] = {
	{ "udp", EXPORT_UDP, 0 },
	{ "tcp", EXPORT_TCP, 0 },
	{ NULL, 0, 0 },
};

static const struct cfg_entry cfg_table[] = {
	{ "Capture", "interfaces", CT_STRLIST, F(interfaces), F(ninterfaces), 0, "any", 1,
	  CONFIG_INTERFACES_MAX, 0, NULL,
	  "Interfaces to capture on; \"any\" captures on every interface." },
	{ NULL, "filter", CT_STRING, F(filter), 0, 0, "", 0, 0, CF_BPF, NULL,
	  "pcap-filter(7) expression ANDed with the built-in TCP filter; \"\" traces all TCP." },
	{ NULL, "snaplen", CT_INT, F(snaplen), 0, 262144, NULL, 64, 262144, CF_NORELOAD, NULL,
	  "Bytes captured of each packet; longer packets are cut." },
	{ NULL, "promisc", CT_BOOL, F(promisc), 0, 1, NULL, 0, 1, CF_NORELOAD, NULL,
	  "Put the interfaces into promiscuous mode." },
	{ NULL, "buffer_size", CT_SIZE, F(buffer_size), 0, 32 * MiB, NULL, MiB, 2 * GiB, CF_NORELOAD, NULL,
	  "Kernel capture buffer of each interface." },
	{ NULL, "nanosecond", CT_BOOL, F(nanosecond), 0, 0, NULL, 0, 1, CF_NORELOAD, NULL,
	  "Nanosecond timestamps: nanosecond pcap files and labels." },
	{ NULL, "capture_threads", CT_COUNT, F(capture_threads), 0, 1, NULL, 1, 64,
	  CF_AUTO | CF_NORELOAD, NULL,
	  "Capture workers, each with its flow table (PACKET_FANOUT); \"auto\": one per CPU." },

	{ "Output", "spool_dir", CT_STRING, F(spool_dir), 0, 0, "/var/spool/traceflow", 0, 0,
	  CF_ABSPATH | CF_NORELOAD, NULL,
	  "Folder that receives the flow files and index.jsonl." },
	{ NULL, "partition_files", CT_COUNT, F(partition_files), 0, 100000, NULL, 10, 100000,
	  CF_ZERO | CF_NORELOAD, NULL,
	  "Files per partition (a folder per hour, UTC, of the flows' end); 0 = flat spool." },
	{ NULL, "layout", CT_STRING, F(layout), 0, 0, "", 0, 0, CF_RELPATH | CF_NORELOAD, NULL,
	  "strftime(3) sub-folder pattern for finished files, e.g. \"%Y/%m/%d\"; \"\" = flat." },
	{ NULL, "format", CT_ENUM, F(format), 0, FMT_PCAP, NULL, 0, 0, CF_NORELOAD, words_format,
	  "Format of the flow files; none writes the index only." },
	{ NULL, "byteorder", CT_ENUM, F(byteorder_big), 0, 0, NULL, 0, 0, CF_NORELOAD, words_byteorder,
	  "Byte order of pcap files." },

	{ "Flows and files", "compat", CT_ENUM, F(compat), 0, CONFIG_COMPAT_NONE, NULL, 0, 0,
	  CF_NORELOAD, words_compat,
	  "pcapkit: the files, labels and index pcapkit makes (traceflowd(8)); none: our rules." },
	{ NULL, "flow_end", CT_ENUM, F(flow_end), 0, FLOW_END_TEARDOWN, NULL, 0, 0, 0,
	  words_flow_end,
	  "teardown: FIN both ways and ACK, or RST, then linger; first-fin: the first FIN ends it." },
	{ NULL, "flow_key", CT_ENUM, F(flow_key), 0, FLOW_KEY_CONNECTION, NULL, 0, 0, CF_NORELOAD,
	  words_flow_key,
	  "connection: both directions in one flow; directional: each direction its own flow." },
	{ NULL, "label_time", CT_ENUM, F(label_time), 0, LABEL_TIME_FIXED, NULL, 0, 0, CF_NORELOAD,
	  words_label_time,
	  "Label times: fixed, 6 or 9 decimals; shortest, as Python writes the float (pcapkit)." },
	{ NULL, "idle_timeout", CT_DURATION, F(idle_timeout), 0, 300 * SEC, NULL, SEC, 365 * DAY, 0,
	  NULL, "A flow with no packet for this long ends." },
	{ NULL, "linger", CT_DURATION, F(linger), 0, 2 * SEC, NULL, 0, HOUR, 0, NULL,
	  "A torn-down flow stays open this long for trailing packets." },
	{ NULL, "max_flows", CT_COUNT, F(max_flows), 0, 1000000, NULL, 1, 100000000, 0, NULL,
	  "Flows tracked at most; beyond, the longest idle one ends (evicted)." },
	{ NULL, "half_open_timeout", CT_DURATION, F(half_open_timeout), 0, 5 * SEC, NULL, 100 * MS,
	  HOUR, CF_ZERO, NULL,
	  "A flow nothing answered ends after this long without a packet (unanswered); 0: "
	  "idle_timeout." },
	{ NULL, "half_open_packets", CT_COUNT, F(half_open_packets), 0, 4, NULL, 1, 1000000, 0, NULL,
	  "... unless it has more packets than this: then it is a connection like any." },
	{ NULL, "half_open_share", CT_COUNT, F(half_open_share), 0, 50, NULL, 1, 100, 0, NULL,
	  "Percent of max_flows unanswered flows may take; beyond, the oldest of them is evicted." },
	{ NULL, "unanswered", CT_ENUM, F(unanswered), 0, UNANSWERED_SHARED, NULL, 0, 0, 0,
	  words_unanswered,
	  "Unanswered and refused connections: shared (one capture per partition), own-file or "
	  "count." },
	{ NULL, "unanswered_rotate", CT_DURATION, F(unanswered_rotate), 0, MIN, NULL, SEC, DAY, 0,
	  NULL, "The shared capture of unanswered connections is filed after this long (or 64 MiB)." },
	{ NULL, "max_open_files", CT_COUNT, F(max_open_files), 0, 256, NULL, 8, 1000000, 0, NULL,
	  "Output files open at most; the least recently written is closed and reopened later." },
	{ NULL, "segment_packets", CT_COUNT, F(segment_packets), 0, 1000000, NULL, 1, 4294967295ULL,
	  0, NULL, "A flow goes on in a new numbered file after this many packets." },
	{ NULL, "segment_size", CT_SIZE, F(segment_size), 0, 0, NULL, MiB, TiB, CF_ZERO, NULL,
	  "... or after this many bytes; 0 = no bound." },
	{ NULL, "write_buffer", CT_SIZE, F(write_buffer), 0, 256 * MiB, NULL, MiB, 64 * GiB, 0, NULL,
	  "Write buffers and data waiting for the disk, together; beyond it reading waits." },
	{ NULL, "flush_interval", CT_DURATION, F(flush_interval), 0, SEC, NULL, 10 * MS, HOUR, 0,
	  NULL, "Buffered packets reach the disk within this time." },

	{ "Retention", "max_spool_size", CT_SIZE, F(max_spool_size), 0, 0, NULL, MiB, EiB, CF_ZERO,
	  NULL, "Oldest files are removed while the spool is larger; 0 = unlimited." },
	{ NULL, "max_age", CT_DURATION, F(max_age), 0, 0, NULL, MIN, 3650 * DAY, CF_ZERO, NULL,
	  "Files older than this are removed; 0 = kept forever." },

	{ "Control channel", "control_socket", CT_STRING, F(control_socket), 0, 0,
	  PROTO_DEFAULT_SOCKET, 0, 0, CF_ABSPATH | CF_NORELOAD, NULL,
	  "Unix socket that traceflowctl(8) talks to." },
	{ NULL, "control_mode", CT_MODE, F(control_mode), 0, 0660, NULL, 0, 0777, CF_NORELOAD, NULL,
	  "File mode of the socket, in octal: write 0660 or \"0660\"." },
	{ NULL, "control_group", CT_STRING, F(control_group), 0, 0, "traceflow", 0, 0, CF_NORELOAD,
	  NULL, "Group of the socket: its members may use the read-only commands." },
	{ NULL, "admin_group", CT_STRING, F(admin_group), 0, 0, "", 0, 0, 0, NULL,
	  "Members may also submit flows and reload; \"\" = root only." },

	{ "Privileges", "user", CT_STRING, F(user), 0, 0, "traceflow", 0, 0, CF_NORELOAD, NULL,
	  "Run as this user once the capture is open; \"\" = keep privileges." },
	{ NULL, "group", CT_STRING, F(group), 0, 0, "traceflow", 0, 0, CF_NORELOAD, NULL,
	  "... and this group." },

	{ "Without systemd", "pid_file", CT_STRING, F(pid_file), 0, 0, "", 0, 0,
	  CF_ABSPATH | CF_ZERO | CF_NORELOAD, NULL,
	  "Pid file for init scripts, written when not started by systemd; \"\" = none." },

	{ "Hooks", "on_file", CT_STRING, F(on_file), 0, 0, "", 0, 0, CF_ABSPATH | CF_ZERO, NULL,
	  "Program run on every finished file, its path as argument, TRACEFLOW_* set; \"\" = none." },
	{ NULL, "on_file_jobs", CT_COUNT, F(on_file_jobs), 0, 4, NULL, 1, 256, 0, NULL,
	  "on_file commands running at once at most; more files wait in a queue." },
	{ NULL, "on_file_timeout", CT_DURATION, F(on_file_timeout), 0, 60 * SEC, NULL, SEC, DAY, 0,
	  NULL, "An on_file command (and what it started) still running after this long is killed: "
	  "SIGTERM to its process group, then SIGKILL." },

	{ "Logging", "log_level", CT_ENUM, F(log_level), 0, LOG_LVL_INFO, NULL, 0, 0, 0,
	  words_log_level, "Least important messages logged." },

	{ "Metrics", "metrics_listen", CT_STRING, F(metrics_listen), 0, 0, "", 0, 0,
	  CF_HOSTPORT | CF_NORELOAD, NULL,
	  "HTTP endpoint /metrics in Prometheus's format, \"host:port\"; \"\" = none." },
	{ NULL, "metrics_max_clients", CT_COUNT, F(metrics_max_clients), 0, 8, NULL, 1, 1024,
	  CF_NORELOAD, NULL,
	  "Connections to /metrics at once at most; when full, the oldest one idle is closed." },

	{ "IPFIX export", "ipfix_collector", CT_STRING, F(ipfix_collector), 0, 0, "", 0, 0,
	  CF_HOSTPORT | CF_NORELOAD, NULL,
	  "Collector that receives a record of every finished flow, \"host:port\"; \"\" = none." },
	{ NULL, "ipfix_transport", CT_ENUM, F(ipfix_transport), 0, EXPORT_UDP, NULL, 0, 0,
	  CF_NORELOAD, words_transport, "udp (what nfcapd and most collectors take) or tcp." },
	{ NULL, "observation_domain", CT_COUNT, F(observation_domain), 0, 0, NULL, 0, 4294967295ULL,
	  CF_NORELOAD, NULL, "Observation domain id of this sensor: tells sensors apart at the collector." },
	{ NULL, "ipfix_pen", CT_COUNT, F(ipfix_pen), 0, 0, NULL, 0, 4294967295ULL,
	  CF_NORELOAD, NULL,
	  "Private enterprise number of traceflow's elements (label, fpout...); 0 = leave them out." },
	{ NULL, "ipfix_template_refresh", CT_DURATION, F(ipfix_template_refresh), 0, 60 * SEC, NULL,
	  SEC, DAY, CF_NORELOAD, NULL, "UDP: templates are sent again this often." },
	{ NULL, "ipfix_queue", CT_COUNT, F(ipfix_queue), 0, 65536, NULL, 16, 100000000,
	  CF_NORELOAD, NULL,
	  "Records waiting for the collector at most; beyond, they are counted as lost." },
};

/*
 * compat = "pcapkit": the settings it sets and to what, so that the output
 * is pcapkit's (and a key without VLAN or interface, config_flow_rule). The
 * offline ones only offline: pcapkit has no timeout and no segments, but
 * the daemon keeps both as its bounds on memory and file size.
 */
static const struct cfg_preset {
	const char *name;
	uint64_t value;
	int offline;
} preset_pcapkit[] = {
	{ "flow_end", FLOW_END_FIRST_FIN, 0 },
	{ "flow_key", FLOW_KEY_DIRECTIONAL, 0 },
	{ "label_time", LABEL_TIME_SHORTEST, 0 },
	{ "idle_timeout", 0, 1 }, /* 0: none (flow.h) */
	{ "segment_packets", 0, 1 },
	{ "segment_size", 0, 1 },
	{ "partition_files", 0, 1 }, /* pcapkit's flat folder */
};
/* clang-format on */

#define CFG_N    (sizeof cfg_table / sizeof cfg_table[0])
#define PRESET_N (sizeof preset_pcapkit / sizeof preset_pcapkit[0])

/* --- fields -------------------------------------------------------------- */

static int *
field_int(const struct cfg_entry *e, const struct tf_config *c)
{
	return (int *)((char *)c + e->off);
}

static uint64_t *
field_u64(const struct cfg_entry *e, const struct tf_config *c)
{
	return (uint64_t *)((char *)c + e->off);
}

static char **
field_str(const struct cfg_entry *e, const struct tf_config *c)
{
	return (char **)((char *)c + e->off);
}

static char ***
field_list(const struct cfg_entry *e, const struct tf_config *c)
{
	return (char ***)((char *)c + e->off);
}

static unsigned *
field_count(const struct cfg_entry *e, const struct tf_config *c)
{
	return (unsigned *)((char *)c + e->off_n);
}

static void
list_free(char **list, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static void
set_string(const struct cfg_entry *e, struct tf_config *c, const char *s)
{
	char **p = field_str(e, c);

	free(*p);
	*p = xstrdup(s);
}

static void
set_list(const struct cfg_entry *e, struct tf_config *c, char **list, unsigned n)
{
	list_free(*field_list(e, c), *field_count(e, c));
	*field_list(e, c) = list;
	*field_count(e, c) = n;
}

static const struct cfg_entry *
find_entry(const char *name)
{
	size_t i;

	for (i = 0; i < CFG_N; i++)
		if (strcmp(cfg_table[i].name, name) == 0)
			return &cfg_table[i];
	return NULL;
}

/* --- words, units and their rendering ------------------------------------ */

static const char *
word_name(const struct cfg_word *w, int value)
{
	for (; w->word != NULL; w++)
		if (!w->alias && w->value == value)
			return w->word;
	return "?";
}

/* "a, b, c": the words a setting allows (not the aliases). Static buffer. */
static const char *
word_list(const struct cfg_word *w)
{
	static char buf[256];
	size_t len = 0;

	buf[0] = '\0';
	for (; w->word != NULL; w++) {
		if (w->alias)
			continue;
		len +=
		    (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", len ? ", " : "", w->word);
		if (len >= sizeof buf)
			break;
	}
	return buf;
}

static const struct {
	const char *suffix;
	uint64_t scale;
} size_units[] = {
    {"E", EiB},
    {"P", PiB},
    {"T", TiB},
    {"G", GiB},
    {"M", MiB},
    {"k", KiB},
};

#define NSIZE_UNITS (sizeof size_units / sizeof size_units[0])

/* A size with the largest unit that divides it: "256M"; "1000" if none. */
static void
fmt_size(char *buf, size_t len, uint64_t v)
{
	size_t i;

	for (i = 0; v != 0 && i < NSIZE_UNITS; i++) {
		if (v % size_units[i].scale == 0) {
			snprintf(buf, len, "%" PRIu64 "%s", v / size_units[i].scale,
			    size_units[i].suffix);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64, v);
}

/* A number of the setting's kind, as its bounds are shown. */
static void
fmt_number(const struct cfg_entry *e, char *buf, size_t len, uint64_t v)
{
	if (e->type == CT_SIZE)
		fmt_size(buf, len, v);
	else if (e->type == CT_DURATION)
		duration_format(buf, len, v);
	else if (e->type == CT_MODE)
		snprintf(buf, len, "0%03" PRIo64, v);
	else
		snprintf(buf, len, "%" PRIu64, v);
}

/* "64..262144", "0 or 1M..1T". Static buffer. */
static const char *
range_text(const struct cfg_entry *e)
{
	static char buf[128];
	char lo[32], hi[32];

	fmt_number(e, lo, sizeof lo, e->min);
	fmt_number(e, hi, sizeof hi, e->max);
	snprintf(buf, sizeof buf, "%s%s..%s",
	    (e->flags & CF_ZERO)   ? "0 or "
	    : (e->flags & CF_AUTO) ? "\"auto\" or "
	                           : "",
	    lo, hi);
	return buf;
}

/* Split "64 KiB" into a number and its unit: -1 if there is no number. */
static int
split_number(const char *s, uint64_t *num, const char **unit)
{
	char *end;

	while (*s == ' ')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*num = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -1;
	while (*end == ' ')
		end++;
	*unit = end;
	return 0;
}

/* "64k", "256M", "2GiB", "1000": bytes, powers of 1024. */
static int
parse_size_string(const char *s, uint64_t *out)
{
	const char *unit;
	uint64_t num, scale = 1;
	size_t i, n;

	if (split_number(s, &num, &unit) == -1)
		return -1;
	if (*unit != '\0' && strcasecmp(unit, "b") != 0) {
		for (i = 0; i < NSIZE_UNITS; i++) {
			n = strlen(size_units[i].suffix);
			if (strncasecmp(unit, size_units[i].suffix, n) == 0 &&
			    (unit[n] == '\0' || strcasecmp(unit + n, "b") == 0 ||
			        strcasecmp(unit + n, "ib") == 0))
				break;
		}
		if (i == NSIZE_UNITS)
			return -1;
		scale = size_units[i].scale;
	}
	if (num > UINT64_MAX / scale)
		return -1;
	*out = num * scale;
	return 0;
}

/* --- integer literals, read again ---------------------------------------- */

/* A file's whole text, NUL-terminated; NULL if it cannot be read. */
static char *
read_text(const char *path, size_t *len)
{
	FILE *fp;
	char *buf = NULL;
	size_t size = 0, n;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	*len = 0;
	do {
		if (*len + 1 >= size) {
			size = size == 0 ? 4096 : size * 2;
			buf = xreallocarray(buf, size, 1);
		}
		n = fread(buf + *len, 1, size - *len - 1, fp);
		*len += n;
	} while (n != 0);
	if (ferror(fp)) {
		free(buf);
		buf = NULL;
	} else
		buf[*len] = '\0';
	fclose(fp);
	return buf;
}

static int
name_char(int ch, int first)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '*' ||
	       (!first && ((ch >= '0' && ch <= '9') || ch == '-' || ch == '_'));
}

/*
 * Past blanks, line breaks and comments, counting lines as libconfig's
 * scanner does (every '\n', in comments too).
 */
static const char *
skip_space(const char *p, const char *end, unsigned *line)
{
	while (p < end) {
		if (*p == '\n') {
			(*line)++;
			p++;
		} else if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\f')
			p++;
		else if (*p == '#' || (*p == '/' && p + 1 < end && p[1] == '/')) {
			while (p < end && *p != '\n')
				p++;
		} else if (*p == '/' && p + 1 < end && p[1] == '*') {
			for (p += 2; p < end && !(*p == '*' && p + 1 < end && p[1] == '/'); p++)
				if (*p == '\n')
					(*line)++;
			p = p < end ? p + 2 : end;
		} else
			break;
	}
	return p;
}

/* Past a string (or an @include's file name) that starts at p, a '"'. */
static const char *
skip_string(const char *p, const char *end, unsigned *line)
{
	for (p++; p < end && *p != '"'; p++) {
		if (*p == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\\'))
			p++;
		else if (*p == '\n')
			(*line)++;
	}
	return p < end ? p + 1 : end;
}

/*
 * Past a number at p, a digit, sign or point, taken as libconfig's scanner
 * takes it (the longest of integer, hex, float, with L or LL): a name may
 * follow at once, as in "snaplen = 1500max_flows = 5", semicolons being
 * optional.
 */
static const char *
skip_number(const char *p, const char *end)
{
	const char *start = p, *q;
	int isfloat = 0;

	if (p < end && (*p == '-' || *p == '+'))
		p++;
	if (end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
	    isxdigit((unsigned char)p[2])) {
		for (p += 2; p < end && isxdigit((unsigned char)*p); p++)
			;
	} else {
		while (p < end && isdigit((unsigned char)*p))
			p++;
		if (p < end && *p == '.') {
			isfloat = 1;
			while (++p < end && isdigit((unsigned char)*p))
				;
		}
		if (p < end && (*p == 'e' || *p == 'E')) {
			q = p + 1;
			if (q < end && (*q == '-' || *q == '+'))
				q++;
			if (q < end && isdigit((unsigned char)*q)) {
				isfloat = 1;
				for (p = q; p < end && isdigit((unsigned char)*p); p++)
					;
			}
		}
	}
	if (!isfloat && p < end && *p == 'L')
		p += p + 1 < end && p[1] == 'L' ? 2 : 1;
	return p > start ? p : start + 1;
}

/*
 * Where the value of the top-level setting name, whose name is on line
 * line, starts in text; NULL if it is not there. A small scanner that
 * knows libconfig's comments, strings and brackets, so that the name in a
 * comment, a string or a group does not count.
 */
static const char *
find_value(const char *text, size_t len, const char *name, unsigned line)
{
	const char *p = text, *end = text + len, *word;
	size_t n = strlen(name);
	unsigned at = 1;
	int depth = 0;

	while ((p = skip_space(p, end, &at)) < end) {
		if (*p == '"') {
			p = skip_string(p, end, &at);
			continue;
		}
		if (*p != '\0' && strchr("{([", *p) != NULL)
			depth++;
		else if (*p != '\0' && strchr("})]", *p) != NULL)
			depth--;
		if (!name_char((unsigned char)*p, 1)) {
			/* "1e5" holds no name "e5". */
			if (isdigit((unsigned char)*p) || *p == '-' || *p == '+' || *p == '.')
				p = skip_number(p, end);
			else
				p++;
			continue;
		}
		for (word = p; p < end && name_char((unsigned char)*p, 0); p++)
			;
		if (depth != 0 || at != line || (size_t)(p - word) != n ||
		    strncmp(word, name, n) != 0)
			continue;
		p = skip_space(p, end, &at);
		if (p == end || (*p != '=' && *p != ':'))
			return NULL;
		return skip_space(p + 1, end, &at);
	}
	return NULL;
}

/*
 * The integer literal at p, one libconfig read as a CONFIG_TYPE_INT, so
 * [-+]digits or 0xhexdigits and nothing more (a float or an L would have
 * made it another type; what follows is the next token). 0 and *v; 1 if it
 * does not fit 64 bits; -1 if it is not one. shown gets it in decimal, or
 * as written if it does not fit.
 */
static int
parse_literal(const char *p, int64_t *v, char *shown, size_t len)
{
	const char *digits, *q;
	uint64_t u;
	int sign = 0, hex = 0;

	if (*p == '-' || *p == '+')
		sign = *p++;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && isxdigit((unsigned char)p[2])) {
		if (sign)
			return -1;
		hex = 1;
		p += 2;
	}
	for (digits = q = p; hex ? isxdigit((unsigned char)*q) : isdigit((unsigned char)*q); q++)
		;
	if (q == digits)
		return -1;
	errno = 0;
	u = strtoull(digits, NULL, hex ? 16 : 10);
	if (errno == ERANGE || u > (uint64_t)INT64_MAX + (sign == '-')) {
		snprintf(shown, len, "%s%s%.*s", sign == '-' ? "-" : "", hex ? "0x" : "",
		    (int)(q - digits), digits);
		return 1;
	}
	*v = sign == '-' ? (int64_t)(0 - u) : (int64_t)u;
	snprintf(shown, len, "%" PRId64, *v);
	return 0;
}

/*
 * The integer s holds. libconfig 1.5 (Debian 12) reads every integer
 * without an L suffix into an int, without a word: 5000000000 becomes
 * 705032704, 4294967360 a valid snaplen of 64. Later versions promote
 * decimal ones to 64 bits, but still cut hex ones. So the literal of a
 * CONFIG_TYPE_INT is read again from the setting's file and line: within
 * 32 bits libconfig's value stands (and its reading of 010), beyond them
 * the literal's. A CONFIG_TYPE_INT64 is whole; beyond 64 bits libconfig
 * refuses or saturates it, out of every range either way.
 * -1 and *why if the literal is beyond 64 bits or cannot be found again.
 */
static int
setting_integer(const struct cfg_entry *e, const config_setting_t *s, struct reader *r, int64_t *v,
    char *shown, size_t len, char **why)
{
	const char *file = config_setting_source_file(s), *p;
	char lshown[64];
	int64_t lit;
	int found;

	*v = config_setting_get_int64(s);
	snprintf(shown, len, "%" PRId64, *v);
	if (config_setting_type(s) == CONFIG_TYPE_INT64)
		return 0;

	if (file == NULL)
		file = r->path;
	if (r->file == NULL || strcmp(r->file, file) != 0) {
		free(r->file);
		free(r->text);
		r->file = xstrdup(file);
		r->text = read_text(file, &r->len);
	}
	p = NULL;
	if (r->text != NULL)
		p = find_value(
		    r->text, r->len, config_setting_name(s), config_setting_source_line(s));
	if (p == NULL || (found = parse_literal(p, &lit, lshown, sizeof lshown)) == -1) {
		xasprintf(why,
		    "cannot read the number again from %s to see that libconfig did not cut it "
		    "to 32 bits; write it with an L suffix",
		    file);
		return -1;
	}
	if (found == 1) {
		xasprintf(why, "%s is out of range %s", lshown, range_text(e));
		return -1;
	}
	if (lit < INT_MIN || lit > INT_MAX) {
		*v = lit;
		snprintf(shown, len, "%s", lshown);
	}
	return 0;
}

/* --- reading one setting ------------------------------------------------- */

static const char *
type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	case CONFIG_TYPE_GROUP:
		return "a group";
	}
	return "something else";
}

static int
wrong_type(const config_setting_t *s, const char *expects, char **why)
{
	xasprintf(why, "expects %s, not %s", expects, type_name(s));
	return -1;
}

/* The largest value the setting's field holds: an int, or a uint64_t. */
static uint64_t
field_max(const struct cfg_entry *e)
{
	switch (e->type) {
	case CT_BOOL:
	case CT_INT:
	case CT_ENUM:
	case CT_MODE:
		return INT_MAX;
	default:
		return UINT64_MAX;
	}
}

/* Check v against the bounds and the field; shown is how the user wrote it. */
static int
check_range(const struct cfg_entry *e, uint64_t v, const char *shown, char **why)
{
	if ((v == 0 && (e->flags & CF_ZERO)) || (v >= e->min && v <= e->max && v <= field_max(e)))
		return 0;
	xasprintf(why, "%s is out of range %s", shown, range_text(e));
	return -1;
}

static int
is_integer(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_INT ||
	       config_setting_type(s) == CONFIG_TYPE_INT64;
}

/* An integer setting: within bounds, never negative. */
static int
read_integer(
    const struct cfg_entry *e, const config_setting_t *s, struct reader *r, uint64_t *v, char **why)
{
	int64_t i;
	char shown[32];

	if (!is_integer(s))
		return wrong_type(s, "an integer", why);
	if (setting_integer(e, s, r, &i, shown, sizeof shown, why) == -1)
		return -1;
	if (i < 0) {
		xasprintf(why, "%s is out of range %s", shown, range_text(e));
		return -1;
	}
	*v = (uint64_t)i;
	return check_range(e, *v, shown, why);
}

static int
read_size(
    const struct cfg_entry *e, const config_setting_t *s, struct reader *r, uint64_t *v, char **why)
{
	const char *str;

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return read_integer(e, s, r, v, why);
	str = config_setting_get_string(s);
	if (parse_size_string(str, v) == -1) {
		xasprintf(why, "\"%s\" is not a size (bytes, or a number with k, M, G, T)", str);
		return -1;
	}
	return check_range(e, *v, str, why);
}

static int
read_duration(
    const struct cfg_entry *e, const config_setting_t *s, struct reader *r, uint64_t *v, char **why)
{
	const char *str;
	int64_t i;
	double d;
	char shown[64];

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_STRING:
		str = config_setting_get_string(s);
		if (duration_parse(str, v) == -1) {
			xasprintf(why, "\"%s\" is not a duration (%s)", str, DURATION_FORMS);
			return -1;
		}
		return check_range(e, *v, str, why);
	case CONFIG_TYPE_FLOAT:
		d = config_setting_get_float(s);
		snprintf(shown, sizeof shown, "%g", d);
		if (!(d >= 0 && d < 1e10)) {
			xasprintf(why, "%s is out of range %s", shown, range_text(e));
			return -1;
		}
		*v = (uint64_t)(d * 1e9 + 0.5);
		return check_range(e, *v, shown, why);
	}
	if (!is_integer(s))
		return wrong_type(s, "a duration (seconds, or a string like \"5m\")", why);
	if (setting_integer(e, s, r, &i, shown, sizeof shown, why) == -1)
		return -1;
	if (i < 0 || (uint64_t)i > UINT64_MAX / SEC) {
		xasprintf(why, "%s is out of range %s", shown, range_text(e));
		return -1;
	}
	*v = (uint64_t)i * SEC;
	return check_range(e, *v, shown, why);
}

/*
 * libconfig 1.5 reads 0660 as decimal 660; later versions may read it as
 * octal. Ask the library once per load rather than guess from its version.
 */
static int
libconfig_reads_octal(void)
{
	config_t t;
	long long v = 0;

	config_init(&t);
	if (config_read_string(&t, "x = 010;") == CONFIG_TRUE)
		config_lookup_int64(&t, "x", &v);
	config_destroy(&t);
	return v == 8;
}

/*
 * The decimal digits of v read as octal ones: 660 -> 0660. At most 19
 * digits, so the result stays below 8^19 = 2^57.
 */
static int
digits_as_octal(int64_t v, uint64_t *out)
{
	uint64_t r = 0, place = 1;

	if (v < 0)
		return -1;
	for (; v != 0; v /= 10, place *= 8) {
		if (v % 10 > 7)
			return -1;
		r += (uint64_t)(v % 10) * place;
	}
	*out = r;
	return 0;
}

static int
read_mode(
    const struct cfg_entry *e, const config_setting_t *s, struct reader *r, uint64_t *v, char **why)
{
	const char *str;
	char *end, shown[32];
	int64_t i;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		str = config_setting_get_string(s);
		errno = 0;
		i = strtoll(str, &end, 8);
		if (*str == '\0' || *end != '\0' || errno != 0 || i < 0) {
			xasprintf(why, "\"%s\" is not an octal mode", str);
			return -1;
		}
		*v = (uint64_t)i;
		return check_range(e, *v, str, why);
	}
	if (!is_integer(s))
		return wrong_type(s, "an octal mode (0660 or \"0660\")", why);
	if (setting_integer(e, s, r, &i, shown, sizeof shown, why) == -1)
		return -1;
	if (r->octal || config_setting_get_format(s) == CONFIG_FORMAT_HEX) {
		snprintf(shown, sizeof shown, "0%" PRIo64, (uint64_t)i);
		if (i < 0) {
			xasprintf(why, "%" PRId64 " is not a file mode", i);
			return -1;
		}
		*v = (uint64_t)i;
		return check_range(e, *v, shown, why);
	}
	snprintf(shown, sizeof shown, "0%" PRId64, i);
	if (digits_as_octal(i, v) == -1) {
		xasprintf(why, "%s is not an octal mode (digits 0-7)", shown);
		return -1;
	}
	return check_range(e, *v, shown, why);
}

/* One of the setting's words (or an alias) into *v. */
static int
parse_word(const struct cfg_entry *e, const char *str, int *v, char **why)
{
	const struct cfg_word *w;

	for (w = e->words; w->word != NULL; w++) {
		if (strcmp(w->word, str) == 0) {
			*v = w->value;
			return 0;
		}
	}
	xasprintf(why, "unknown word \"%s\" (allowed: %s)", str, word_list(e->words));
	return -1;
}

static int
read_enum(const struct cfg_entry *e, const config_setting_t *s, int *v, char **why)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		xasprintf(why, "expects one of %s, not %s", word_list(e->words), type_name(s));
		return -1;
	}
	return parse_word(e, config_setting_get_string(s), v, why);
}

/* Whether the filter compiles for one of the link types the daemon captures. */
static int
check_bpf(const char *expr, char **why)
{
	static const int dlts[] = {DLT_EN10MB, DLT_LINUX_SLL};
	struct bpf_program prog;
	pcap_t *p;
	size_t i;
	int ok = 0;

	for (i = 0; i < sizeof dlts / sizeof dlts[0] && !ok; i++) {
		if ((p = pcap_open_dead(dlts[i], 262144)) == NULL)
			continue;
		if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) == 0) {
			pcap_freecode(&prog);
			ok = 1;
		} else if (i == 0)
			xasprintf(why, "bad filter: %s", pcap_geterr(p));
		pcap_close(p);
	}
	if (ok && *why != NULL) {
		free(*why);
		*why = NULL;
	}
	return ok ? 0 : -1;
}

static int
check_string(const struct cfg_entry *e, const char *str, char **why)
{
	if ((e->flags & CF_ZERO) && str[0] == '\0')
		return 0;
	if ((e->flags & CF_ABSPATH) && str[0] != '/') {
		xasprintf(why, "\"%s\" is not an absolute path", str);
		return -1;
	}
	if ((e->flags & CF_RELPATH) &&
	    (str[0] == '/' || strcmp(str, "..") == 0 || strncmp(str, "../", 3) == 0 ||
	        strstr(str, "/../") != NULL ||
	        (strlen(str) >= 3 && strcmp(str + strlen(str) - 3, "/..") == 0))) {
		xasprintf(why, "\"%s\" must stay inside the folder (relative, no \"..\")", str);
		return -1;
	}
	if ((e->flags & CF_BPF) && *str != '\0')
		return check_bpf(str, why);
	if (e->flags & CF_HOSTPORT)
		return export_check_collector(str, why);
	return 0;
}

static int
read_string(const struct cfg_entry *e, const config_setting_t *s, struct tf_config *c, char **why)
{
	const char *str;

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return wrong_type(s, "a string", why);
	str = config_setting_get_string(s);
	if (check_string(e, str, why) == -1)
		return -1;
	set_string(e, c, str);
	return 0;
}

static int
read_list(const struct cfg_entry *e, const config_setting_t *s, struct tf_config *c, char **why)
{
	const config_setting_t *elem;
	char **list;
	int i, n;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		list = xcalloc(1, sizeof *list);
		list[0] = xstrdup(config_setting_get_string(s));
		n = 1;
	} else if (config_setting_is_list(s) || config_setting_is_array(s)) {
		n = config_setting_length(s);
		list = xcalloc((size_t)n + 1, sizeof *list);
		for (i = 0; i < n; i++) {
			elem = config_setting_get_elem(s, (unsigned)i);
			if (config_setting_type(elem) != CONFIG_TYPE_STRING) {
				xasprintf(
				    why, "element %d is %s, not a string", i + 1, type_name(elem));
				list_free(list, (unsigned)i);
				return -1;
			}
			list[i] = xstrdup(config_setting_get_string(elem));
		}
	} else
		return wrong_type(s, "a list of strings or a string", why);
	for (i = 0; i < n; i++) {
		if (*list[i] == '\0') {
			xasprintf(why, "element %d is empty", i + 1);
			break;
		}
	}
	if (*why == NULL && ((uint64_t)n < e->min || (uint64_t)n > e->max))
		xasprintf(why, "%d elements, expects %" PRIu64 "..%" PRIu64, n, e->min, e->max);
	if (*why != NULL) {
		list_free(list, (unsigned)n);
		return -1;
	}
	set_list(e, c, list, (unsigned)n);
	return 0;
}

static int
read_bool(const config_setting_t *s, int *v, char **why)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return wrong_type(s, "true or false", why);
	*v = config_setting_get_bool(s) ? 1 : 0;
	return 0;
}

/* One setting into c; -1 and *why (without file, line and name) if it is wrong. */
static int
read_setting(const struct cfg_entry *e, const config_setting_t *s, struct tf_config *c,
    struct reader *rd, char **why)
{
	uint64_t v = 0;
	int r = -1;

	switch (e->type) {
	case CT_BOOL:
		return read_bool(s, field_int(e, c), why);
	case CT_ENUM:
		return read_enum(e, s, field_int(e, c), why);
	case CT_STRING:
		return read_string(e, s, c, why);
	case CT_STRLIST:
		return read_list(e, s, c, why);
	case CT_INT:
	case CT_MODE:
		if (e->type == CT_INT)
			r = read_integer(e, s, rd, &v, why);
		else
			r = read_mode(e, s, rd, &v, why);
		if (r == 0)
			*field_int(e, c) = (int)v;
		return r;
	case CT_COUNT:
		if ((e->flags & CF_AUTO) && config_setting_type(s) == CONFIG_TYPE_STRING &&
		    strcmp(config_setting_get_string(s), "auto") == 0) {
			*field_u64(e, c) = 0;
			return 0;
		}
		r = read_integer(e, s, rd, field_u64(e, c), why);
		break;
	case CT_SIZE:
		r = read_size(e, s, rd, field_u64(e, c), why);
		break;
	case CT_DURATION:
		r = read_duration(e, s, rd, field_u64(e, c), why);
		break;
	}
	return r;
}

/* --- defaults, loading, freeing ------------------------------------------ */

static void
set_default(const struct cfg_entry *e, struct tf_config *c)
{
	char **list;

	switch (e->type) {
	case CT_BOOL:
	case CT_INT:
	case CT_ENUM:
	case CT_MODE:
		*field_int(e, c) = (int)e->def;
		break;
	case CT_COUNT:
	case CT_SIZE:
	case CT_DURATION:
		*field_u64(e, c) = e->def;
		break;
	case CT_STRING:
		set_string(e, c, e->sdef);
		break;
	case CT_STRLIST:
		list = xcalloc(2, sizeof *list);
		list[0] = xstrdup(e->sdef);
		set_list(e, c, list, 1);
		break;
	}
}

void
config_defaults(struct tf_config *c)
{
	size_t i;

	memset(c, 0, sizeof *c);
	for (i = 0; i < CFG_N; i++)
		set_default(&cfg_table[i], c);
}

void
config_free(struct tf_config *c)
{
	const struct cfg_entry *e;
	size_t i;

	for (i = 0; i < CFG_N; i++) {
		e = &cfg_table[i];
		if (e->type == CT_STRING)
			free(*field_str(e, c));
		else if (e->type == CT_STRLIST)
			list_free(*field_list(e, c), *field_count(e, c));
		if (c->where != NULL)
			free(c->where[i]);
	}
	free(c->where);
	free(c->path);
	memset(c, 0, sizeof *c);
}

/* "FILE:LINE: setting NAME: why", the file being the one the setting is in. */
static void
setting_error(const char *path, const config_setting_t *s, const char *why, char **cause)
{
	const char *file = config_setting_source_file(s);

	xasprintf(cause, "%s:%u: setting %s: %s", file != NULL ? file : path,
	    config_setting_source_line(s), config_setting_name(s), why);
}

static int
read_root(const char *path, const config_setting_t *root, struct tf_config *c, char **cause)
{
	struct reader rd;
	const config_setting_t *s;
	const struct cfg_entry *e;
	char *why;
	int i, r = 0;

	memset(&rd, 0, sizeof rd);
	rd.path = path;
	rd.octal = libconfig_reads_octal();
	for (i = 0; i < config_setting_length(root); i++) {
		s = config_setting_get_elem(root, (unsigned)i);
		why = NULL;
		if ((e = find_entry(config_setting_name(s))) == NULL)
			why = xstrdup("unknown setting");
		else if (read_setting(e, s, c, &rd, &why) == -1 && why == NULL)
			why = xstrdup("bad value");
		if (why != NULL) {
			setting_error(path, s, why, cause);
			free(why);
			r = -1;
			break;
		}
		free(c->where[e - cfg_table]);
		xasprintf(&c->where[e - cfg_table], "%s:%u",
		    config_setting_source_file(s) != NULL ? config_setting_source_file(s) : path,
		    config_setting_source_line(s));
	}
	free(rd.file);
	free(rd.text);
	return r;
}

/* --- presets ------------------------------------------------------------ */

/* The value as the user wrote it, for messages: the word of an enum. */
static void
value_text(const struct cfg_entry *e, const struct tf_config *c, char *buf, size_t len)
{
	if (e->type == CT_ENUM)
		snprintf(buf, len, "%s", word_name(e->words, *field_int(e, c)));
	else if (e->type == CT_DURATION || e->type == CT_SIZE)
		fmt_number(e, buf, len, *field_u64(e, c));
	else if (e->type == CT_COUNT)
		snprintf(buf, len, "%" PRIu64, *field_u64(e, c));
	else
		snprintf(buf, len, "?");
}

static void
set_preset(const struct cfg_entry *e, struct tf_config *c, uint64_t value)
{
	if (e->type == CT_ENUM)
		*field_int(e, c) = (int)value;
	else
		*field_u64(e, c) = value;
}

/* Whether compat = pcapkit in a file sets e (offline-only ones it does not). */
static int
preset_sets(const struct cfg_entry *e)
{
	size_t i;

	for (i = 0; i < PRESET_N; i++)
		if (!preset_pcapkit[i].offline && strcmp(preset_pcapkit[i].name, e->name) == 0)
			return 1;
	return 0;
}

/*
 * compat = pcapkit in a file: its settings take the preset's values; one of
 * them set in the file too is an error naming both places.
 */
static int
apply_preset_file(const char *path, const config_setting_t *root, struct tf_config *c, char **cause)
{
	const config_setting_t *cs, *s;
	const struct cfg_entry *ce = find_entry("compat"), *e;
	const char *file;
	char shown[64], *why;
	size_t i;

	if (c->compat == CONFIG_COMPAT_NONE)
		return 0;
	cs = config_setting_get_member(root, "compat");
	for (i = 0; i < PRESET_N; i++) {
		if (preset_pcapkit[i].offline)
			continue;
		e = find_entry(preset_pcapkit[i].name);
		if ((s = config_setting_get_member(root, e->name)) != NULL) {
			file = config_setting_source_file(s);
			value_text(e, c, shown, sizeof shown);
			xasprintf(&why, "compat = %s sets %s; %s = %s also set at %s:%u",
			    word_name(ce->words, c->compat), e->name, e->name, shown,
			    file != NULL ? file : path, config_setting_source_line(s));
			setting_error(path, cs, why, cause);
			free(why);
			return -1;
		}
		set_preset(e, c, preset_pcapkit[i].value);
	}
	return 0;
}

/*
 * One value given on the command line, read as the file's reader reads it:
 * the same types, bounds and messages. Numbers become libconfig integers,
 * everything else a string (sizes and durations take their units there).
 */
static int
read_arg(const struct cfg_entry *e, const char *value, struct tf_config *c, char **why)
{
	struct reader rd = {NULL, 0, NULL, NULL, 0};
	config_setting_t *s;
	long long ll;
	char *end;
	config_t cf;
	int rc, type = CONFIG_TYPE_STRING;

	if (e->type == CT_BOOL)
		type = CONFIG_TYPE_BOOL;
	else if (e->type == CT_INT || e->type == CT_COUNT || e->type == CT_MODE)
		type = CONFIG_TYPE_INT64;
	config_init(&cf);
	s = config_setting_add(config_root_setting(&cf), e->name, type);
	if (type == CONFIG_TYPE_BOOL)
		config_setting_set_bool(s, strcmp(value, "true") == 0);
	else if (type == CONFIG_TYPE_INT64) {
		errno = 0;
		ll = strtoll(value, &end, e->type == CT_MODE ? 8 : 10);
		if (errno != 0 || end == value || *end != '\0') {
			xasprintf(why, "\"%s\" is not a number (%s)", value, range_text(e));
			config_destroy(&cf);
			return -1;
		}
		config_setting_set_int64(s, ll);
	} else
		config_setting_set_string(s, value);
	rc = read_setting(e, s, c, &rd, why);
	config_destroy(&cf);
	return rc;
}

int
config_args(struct tf_config *c, const struct config_arg *args, size_t n, char **cause)
{
	const struct cfg_entry *e, *ce = find_entry("compat");
	const struct config_arg *compat = NULL;
	char *why = NULL;
	size_t i, j;

	config_defaults(c);
	for (i = 0; i < n; i++) {
		if ((e = find_entry(args[i].name)) == NULL)
			fatalx("config_args: no setting %s", args[i].name);
		if (read_arg(e, args[i].value, c, &why) == -1) {
			xasprintf(cause, "%s: %s", args[i].option, why);
			free(why);
			config_free(c);
			return -1;
		}
		if (e == ce)
			compat = &args[i];
	}
	if (c->compat == CONFIG_COMPAT_NONE)
		return 0;
	for (j = 0; j < PRESET_N; j++) {
		e = find_entry(preset_pcapkit[j].name);
		for (i = 0; i < n; i++) {
			if (strcmp(args[i].name, e->name) != 0)
				continue;
			xasprintf(cause, "%s %s sets %s; %s %s also given", compat->option,
			    word_name(ce->words, c->compat), e->name, args[i].option,
			    args[i].value);
			config_free(c);
			return -1;
		}
		set_preset(e, c, preset_pcapkit[j].value);
	}
	return 0;
}

const char *
config_words(const char *name)
{
	const struct cfg_entry *e = find_entry(name);

	if (e == NULL || e->words == NULL)
		fatalx("config_words: no word setting %s", name);
	return word_list(e->words);
}

const char *
config_default(const char *name)
{
	static char buf[256];
	const struct cfg_entry *e = find_entry(name);
	struct tf_config c;

	if (e == NULL)
		fatalx("config_default: no setting %s", name);
	config_defaults(&c);
	if (e->type == CT_STRING)
		snprintf(buf, sizeof buf, "%s", *field_str(e, &c));
	else if (e->type == CT_BOOL || e->type == CT_INT)
		snprintf(buf, sizeof buf, "%d", *field_int(e, &c));
	else
		value_text(e, &c, buf, sizeof buf);
	config_free(&c);
	return buf;
}

int
config_load(const char *path, struct tf_config *c, char **cause)
{
	config_t cf;
	FILE *fp;
	int r = -1;

	config_defaults(c);
	c->path = xstrdup(path);
	c->where = xcalloc(CFG_N, sizeof *c->where);
	if ((fp = fopen(path, "r")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		config_free(c);
		return -1;
	}
	fclose(fp);

	/*
	 * No include directory: libconfig 1.5 would prefix it to absolute
	 * @include paths too. Relative ones are relative to the working
	 * directory.
	 */
	config_init(&cf);
	if (config_read_file(&cf, path) != CONFIG_TRUE) {
		if (config_error_file(&cf) != NULL)
			xasprintf(cause, "%s:%d: %s", config_error_file(&cf),
			    config_error_line(&cf), config_error_text(&cf));
		else
			xasprintf(cause, "%s: %s", path, config_error_text(&cf));
	} else if ((r = read_root(path, config_root_setting(&cf), c, cause)) == 0)
		r = apply_preset_file(path, config_root_setting(&cf), c, cause);
	config_destroy(&cf);
	if (r == -1)
		config_free(c);
	return r;
}

/* --- comparing ----------------------------------------------------------- */

static int
str_equal(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

static int
entry_equal(const struct cfg_entry *e, const struct tf_config *a, const struct tf_config *b)
{
	unsigned i;

	switch (e->type) {
	case CT_BOOL:
	case CT_INT:
	case CT_ENUM:
	case CT_MODE:
		return *field_int(e, a) == *field_int(e, b);
	case CT_COUNT:
	case CT_SIZE:
	case CT_DURATION:
		return *field_u64(e, a) == *field_u64(e, b);
	case CT_STRING:
		return str_equal(*field_str(e, a), *field_str(e, b));
	case CT_STRLIST:
		if (*field_count(e, a) != *field_count(e, b))
			return 0;
		for (i = 0; i < *field_count(e, a); i++)
			if (!str_equal((*field_list(e, a))[i], (*field_list(e, b))[i]))
				return 0;
		return 1;
	}
	return 0;
}

const char *
config_where(const struct tf_config *c, const char *name)
{
	const struct cfg_entry *e = find_entry(name);

	if (e != NULL && c->where != NULL && c->where[e - cfg_table] != NULL)
		return c->where[e - cfg_table];
	return c->path != NULL ? c->path : "defaults";
}

int
config_reload_check(const struct tf_config *old, const struct tf_config *new_, char **cause)
{
	const struct cfg_entry *e;
	size_t i;

	for (i = 0; i < CFG_N; i++) {
		e = &cfg_table[i];
		if ((e->flags & CF_NORELOAD) && !entry_equal(e, old, new_)) {
			xasprintf(cause,
			    "%s: setting %s: cannot change on reload: restart traceflowd",
			    config_where(new_, e->name), e->name);
			return -1;
		}
	}
	return 0;
}

char *
config_changes(const struct tf_config *old, const struct tf_config *new_)
{
	char *list = NULL, *tmp;
	size_t i;

	for (i = 0; i < CFG_N; i++) {
		if (entry_equal(&cfg_table[i], old, new_))
			continue;
		if (list == NULL)
			list = xstrdup(cfg_table[i].name);
		else {
			xasprintf(&tmp, "%s, %s", list, cfg_table[i].name);
			free(list);
			list = tmp;
		}
	}
	return list;
}

/* --- printing ------------------------------------------------------------ */

/* A libconfig string literal. */
static void
print_string(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(fp, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", fp);
		else if (*s == '\t')
			fputs("\\t", fp);
		else if ((unsigned char)*s < 0x20)
			fprintf(fp, "\\x%02x", (unsigned char)*s);
		else
			fputc(*s, fp);
	}
	fputc('"', fp);
}

/* An integer libconfig reads back whatever its version: L beyond 32 bits. */
static void
print_integer(FILE *fp, uint64_t v)
{
	fprintf(fp, "%" PRIu64 "%s", v, v > INT32_MAX ? "L" : "");
}

/* A size or duration: "256M" when a unit fits, else a plain integer. */
static void
print_unit(FILE *fp, const struct cfg_entry *e, uint64_t v)
{
	char buf[64];

	fmt_number(e, buf, sizeof buf, v);
	if (v == 0 || (e->type == CT_SIZE && strchr("EPTGMk", buf[strlen(buf) - 1]) == NULL))
		print_integer(fp, v);
	else
		print_string(fp, buf);
}

static void
print_value(FILE *fp, const struct cfg_entry *e, const struct tf_config *c)
{
	unsigned i;

	switch (e->type) {
	case CT_BOOL:
		fputs(*field_int(e, c) ? "true" : "false", fp);
		break;
	case CT_INT:
	case CT_COUNT:
		if ((e->flags & CF_AUTO) && *field_u64(e, c) == 0)
			fputs("\"auto\"", fp);
		else
			print_integer(
			    fp, e->type == CT_INT ? (uint64_t)*field_int(e, c) : *field_u64(e, c));
		break;
	case CT_SIZE:
	case CT_DURATION:
		print_unit(fp, e, *field_u64(e, c));
		break;
	case CT_MODE:
		fprintf(fp, "0%03o", (unsigned)*field_int(e, c));
		break;
	case CT_ENUM:
		print_string(fp, word_name(e->words, *field_int(e, c)));
		break;
	case CT_STRING:
		print_string(fp, *field_str(e, c) != NULL ? *field_str(e, c) : "");
		break;
	case CT_STRLIST:
		fputs("[ ", fp);
		for (i = 0; i < *field_count(e, c); i++) {
			if (i > 0)
				fputs(", ", fp);
			print_string(fp, (*field_list(e, c))[i]);
		}
		fputs(" ]", fp);
		break;
	}
}

void
config_print(FILE *fp, const struct tf_config *c)
{
	size_t i;

	for (i = 0; i < CFG_N; i++) {
		/* What the preset set stays a comment: read back, it would clash. */
		if (c->compat != CONFIG_COMPAT_NONE && preset_sets(&cfg_table[i]))
			fputs("# set by compat: ", fp);
		fprintf(fp, "%s = ", cfg_table[i].name);
		print_value(fp, &cfg_table[i], c);
		fputs(";\n", fp);
	}
}

/*
 * The sample, as sshd_config is: every setting commented out at its
 * default under one line of documentation, so that the file says what the
 * daemon does without setting anything, and a setting changed is one "#"
 * removed. Types, ranges and what needs a restart are in traceflow.conf(5).
 */
void
config_sample(FILE *fp)
{
	struct tf_config def;
	const struct cfg_entry *e;
	size_t i;

	config_defaults(&def);
	fputs("# traceflow.conf: configuration of traceflowd(8), see traceflow.conf(5).\n"
	      "#\n"
	      "# Every setting is shown commented out at its default: remove the \"#\" to\n"
	      "# change one. Durations are seconds or a string with a unit: \"500ms\",\n"
	      "# \"2s\", \"5m\", \"1h\", \"1d\". Sizes are bytes or a string with a unit of\n"
	      "# 1024: \"64k\", \"256M\", \"2G\". traceflow.conf(5) gives each setting's\n"
	      "# type and range, and which ones a reload cannot change. Unknown settings\n"
	      "# are errors. traceflowd -n checks this file; SIGHUP reloads it.\n",
	    fp);
	for (i = 0; i < CFG_N; i++) {
		e = &cfg_table[i];
		if (e->section != NULL)
			fprintf(fp, "\n# --- %s ---\n", e->section);
		fprintf(fp, "\n# %s\n", e->doc);
		/* Set, it would clash with compat = "pcapkit": say so beside it. */
		if (preset_sets(e))
			fputs("# (compat = \"pcapkit\" sets it: uncomment only without compat)\n",
			    fp);
		fprintf(fp, "#%s = ", e->name);
		print_value(fp, e, &def);
		fputs(";\n", fp);
	}
	config_free(&def);
}

/* --- JSON ---------------------------------------------------------------- */

static json_t *
json_seconds(uint64_t ns)
{
	if (ns % SEC == 0)
		return json_integer((json_int_t)(ns / SEC));
	return json_real((double)ns / (double)SEC);
}

static json_t *
json_value(const struct cfg_entry *e, const struct tf_config *c)
{
	json_t *a;
	char buf[16];
	unsigned i;

	switch (e->type) {
	case CT_BOOL:
		return json_boolean(*field_int(e, c));
	case CT_INT:
		return json_integer(*field_int(e, c));
	case CT_COUNT:
	case CT_SIZE:
		if ((e->flags & CF_AUTO) && *field_u64(e, c) == 0)
			return json_string("auto");
		return json_integer((json_int_t)*field_u64(e, c));
	case CT_DURATION:
		return json_seconds(*field_u64(e, c));
	case CT_MODE:
		snprintf(buf, sizeof buf, "0%03o", (unsigned)*field_int(e, c));
		return json_string(buf);
	case CT_ENUM:
		return json_string(word_name(e->words, *field_int(e, c)));
	case CT_STRING:
		return json_string(*field_str(e, c) != NULL ? *field_str(e, c) : "");
	case CT_STRLIST:
		a = json_array();
		for (i = 0; i < *field_count(e, c); i++)
			json_array_append_new(a, json_string((*field_list(e, c))[i]));
		return a;
	}
	return json_null();
}

json_t *
config_json(const struct tf_config *c)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < CFG_N; i++)
		json_object_set_new(o, cfg_table[i].name, json_value(&cfg_table[i], c));
	return o;
}

/* --- the engine's view --------------------------------------------------- */

void
config_to_engine(const struct tf_config *c, struct engine_config *e)
{
	/* What no setting names is the engine's own constant (engine.h). */
	memset(e, 0, sizeof *e);
	e->outfd = -1;
	e->writer.flow_buffer = ENGINE_FLOW_BUFFER;
	e->writer.threaded = 1;
	e->writer.catalog = 1;
	e->frag_max = ENGINE_FRAG_MAX;
	e->frag_timeout_ns = ENGINE_FRAG_TIMEOUT_NS;
	e->outdir = c->spool_dir;
	e->flow.idle_ns = c->idle_timeout;
	e->flow.linger_ns = c->linger;
	e->flow.max_flows = (uint32_t)c->max_flows;
	e->flow.seg_packets = (uint32_t)c->segment_packets;
	e->flow.seg_size = c->segment_size;
	config_flow_rule(c, &e->flow);
	e->writer.format = c->format;
	e->writer.big = c->byteorder_big;
	e->writer.nanosecond = c->nanosecond;
	e->writer.layout = c->layout;
	e->writer.partition_files = c->partition_files;
	e->writer.max_open_files = (unsigned)c->max_open_files;
	e->writer.buffer_total = (size_t)c->write_buffer;
	if (e->writer.flow_buffer > e->writer.buffer_total)
		e->writer.flow_buffer = e->writer.buffer_total;
	e->writer.flush_ns = c->flush_interval;
	config_unanswered(c, &e->writer);
	e->export.collector = c->ipfix_collector;
	e->export.transport = c->ipfix_transport;
	e->export.domain = (uint32_t)c->observation_domain;
	e->export.pen = (uint32_t)c->ipfix_pen;
	e->export.refresh_ns = c->ipfix_template_refresh;
	e->export.queue_max = c->ipfix_queue;
}

void
config_unanswered(const struct tf_config *c, struct writer_config *w)
{
	/* Only a pcap file can be shared by flows: its records stand alone. */
	w->unanswered = c->format == FMT_PCAP ? c->unanswered : UNANSWERED_OWN_FILE;
	w->unanswered_rotate = c->unanswered_rotate;
}

void
config_flow_rule(const struct tf_config *c, struct flow_config *f)
{
	f->end_mode = c->flow_end;
	f->key_mode = c->flow_key;
	f->label_time = c->label_time;
	/*
	 * The half-open rule needs both sides in one flow and an answer to
	 * wait for: not for directional keys, first-fin or pcapkit (whose
	 * model has no notion of an answer: their files stay as they were).
	 */
	f->half_ns = c->half_open_timeout;
	f->half_packets = (uint32_t)c->half_open_packets;
	f->half_max = (uint32_t)(c->max_flows * c->half_open_share / 100);
	if (c->flow_key == FLOW_KEY_DIRECTIONAL || c->flow_end == FLOW_END_FIRST_FIN ||
	    c->compat != CONFIG_COMPAT_NONE)
		f->half_ns = 0;
	if (f->half_max == 0 && c->max_flows > 0)
		f->half_max = 1;
	if (c->compat == CONFIG_COMPAT_NONE)
		return;
	/* pcapkit keys by (src, srcport, dst, dstport) alone: no VLAN, no interface. */
	f->key_bare = 1;
	f->idle_ns = c->idle_timeout;
	f->seg_packets = (uint32_t)c->segment_packets;
	f->seg_size = c->segment_size;
}
