/*
 * config.h: /etc/traceflow.conf. Every setting is declared once, in a table
 * in config.c (name, type, bounds, default, field, documentation, whether a
 * reload may change it); that table fills in the defaults, parses and checks
 * a file, prints the effective configuration, writes the commented sample
 * and renders the JSON the control channel answers with.
 */
#ifndef TRACEFLOW_CONFIG_H
#define TRACEFLOW_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "engine.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define CONFIG_PATH SYSCONFDIR "/traceflow.conf"

struct tf_config {
	/* Capture. */
	char **interfaces; /* default: one entry "any" */
	unsigned ninterfaces;
	char *filter;         /* BPF, ANDed with the built-in TCP filter; "" = none */
	int snaplen;          /* bytes captured per packet */
	int promisc;          /* promiscuous mode */
	uint64_t buffer_size; /* kernel capture buffer, bytes */
	int nanosecond;       /* ns timestamps, ns pcap files and labels */

	/* Output. */
	char *spool_dir;
	char *layout;      /* strftime(3) sub-folder pattern; "" = flat */
	int format;        /* enum writer_format */
	int byteorder_big; /* setting "byteorder": little (0) or big (1) */

	/* Flows and files. */
	int flow_end;          /* enum flow_end_mode */
	uint64_t idle_timeout; /* ns */
	uint64_t linger;       /* ns */
	uint64_t max_flows;
	uint64_t max_open_files;
	uint64_t segment_packets; /* a flow goes on in a new file after this many packets */
	uint64_t segment_size;    /* ... or bytes; 0 = no bound */
	uint64_t write_buffer;    /* all per-flow write buffers together, bytes */
	uint64_t flush_interval;  /* ns */

	/* Retention. */
	uint64_t max_spool_size; /* bytes; 0 = unlimited */
	uint64_t max_age;        /* ns; 0 = unlimited */

	/* Control channel and privileges. */
	char *control_socket;
	int control_mode;    /* file mode of the socket */
	char *control_group; /* may use read-only commands */
	char *admin_group;   /* may also submit and reload; "" = root only */
	char *user;          /* run as; "" = keep privileges */
	char *group;

	char *pid_file; /* "" = none; ignored under systemd */

	int log_level; /* LOG_LVL_* */

	char *path;   /* the file it came from; NULL: defaults only */
	char **where; /* per setting, "FILE:LINE" it was set at (config_where) */
};

/* Fill c with the defaults (allocates: config_free() it). */
void config_defaults(struct tf_config *c);

/*
 * Read and validate a file into c, starting from the defaults. On error
 * returns -1 with *cause = "FILE:LINE: setting NAME: what is wrong" (or
 * "FILE:LINE: syntax error"), and c holds nothing (config_free is harmless).
 */
int config_load(const char *path, struct tf_config *c, char **cause);

/* Free what c holds and zero it; safe to call twice. */
void config_free(struct tf_config *c);

/*
 * Whether new_ differs from old only in settings a reload (SIGHUP) may
 * change: -1 and *cause naming the first setting that may not change,
 * "FILE:LINE: setting NAME: cannot change on reload: restart traceflowd".
 */
int config_reload_check(const struct tf_config *old, const struct tf_config *new_, char **cause);

/*
 * Where setting NAME of c was set: "FILE:LINE" (of an @include'd file if it
 * was set there), the file's path when the file left it at its default,
 * "defaults" without a file. Points into c.
 */
const char *config_where(const struct tf_config *c, const char *name);

/* The names of the settings that differ, comma separated; NULL if none. */
char *config_changes(const struct tf_config *old, const struct tf_config *new_);

/* The effective configuration, in libconfig syntax, every setting. */
void config_print(FILE *fp, const struct tf_config *c);

/* The commented sample: every setting at its default, documented. */
void config_sample(FILE *fp);

/* Every setting: durations in seconds, sizes in bytes, words as strings. */
json_t *config_json(const struct tf_config *c);

/* Fill e from c (starting from engine_defaults); outdir points into c. */
void config_to_engine(const struct tf_config *c, struct engine_config *e);

#endif
