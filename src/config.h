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

/*
 * Interfaces at most, the bound of the setting interfaces (and of
 * traceflowd -i): the daemon captures on every one it accepts (ifset.h).
 */
#define CONFIG_INTERFACES_MAX 256

/* Setting compat: a preset of other settings, so that the output is another tool's. */
enum config_compat { CONFIG_COMPAT_NONE = 0, CONFIG_COMPAT_PCAPKIT };

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
	char *layout;             /* strftime(3) sub-folder pattern; "" = flat */
	uint64_t partition_files; /* files per partition folder at most; 0 = no partitions */
	int format;               /* enum writer_format */
	int byteorder_big;        /* setting "byteorder": little (0) or big (1) */

	/* Flows and files. */
	int compat;               /* enum config_compat */
	int flow_end;             /* enum flow_end_mode */
	int flow_key;             /* enum flow_key_mode */
	int label_time;           /* enum label_time_mode */
	uint64_t idle_timeout;    /* ns */
	uint64_t linger;          /* ns */
	uint64_t capture_threads; /* 0: auto */
	uint64_t max_flows;
	uint64_t half_open_timeout; /* ns; 0: no half-open rule */
	uint64_t half_open_packets; /* a one-sided flow is a connection past this many */
	uint64_t half_open_share;   /* percent of max_flows half-open flows may take */
	int unanswered;             /* enum unanswered_mode (names.h) */
	uint64_t unanswered_rotate; /* ns: the shared capture's age bound */
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

	/* Hooks (hook.h). */
	char *on_file;            /* absolute path; "" = none */
	uint64_t on_file_jobs;    /* at once */
	uint64_t on_file_timeout; /* ns */

	int log_level; /* LOG_LVL_* */

	char *metrics_listen; /* "host:port" of /metrics; "" = off */
	uint64_t metrics_max_clients;

	/* IPFIX export (export.h). */
	char *ipfix_collector; /* "host:port"; "" = off */
	int ipfix_transport;   /* enum export_transport */
	uint64_t observation_domain;
	uint64_t ipfix_pen;
	uint64_t ipfix_template_refresh; /* ns */
	uint64_t ipfix_queue;            /* records */

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

/* Fill e from c; outdir, layout and the collector point into c. */
void config_to_engine(const struct tf_config *c, struct engine_config *e);

/*
 * The command line's way into the table (offline mode reads no file): one
 * setting given by an option, its value as typed, read with the table's
 * types, bounds and messages ("--max-open-files: 1 is out of range
 * 8..1000000").
 */
struct config_arg {
	const char *name;   /* the setting, "flow_key" */
	const char *value;  /* as given: "directional", "300" */
	const char *option; /* "--flow-key", for messages */
};

/*
 * Offline: c from the defaults and args, then the preset c->compat applied
 * with its offline-only part (no idle timeout, no segments: pcapkit has
 * neither). -1 and *cause for a bad word, or for a setting the preset
 * overrides that args also give ("--compat pcapkit sets flow_end;
 * --flow-end teardown also given").
 */
int config_args(struct tf_config *c, const struct config_arg *args, size_t n, char **cause);

/* A setting's default as the sample writes it ("5m", "256M", "pcap"), for usage texts. */
const char *config_default(const char *name);

/* The words a setting allows, "pcap, json, plist, tree, none" (a static buffer). */
const char *config_words(const char *name);

/*
 * The flow rule of c into f: end, key and label time; with a preset also the
 * idle timeout and segment bounds it set (config_args: none offline).
 */
void config_flow_rule(const struct tf_config *c, struct flow_config *f);

/* Where unanswered connections go (unanswered, unanswered_rotate) into w: pcap only shares. */
void config_unanswered(const struct tf_config *c, struct writer_config *w);

#endif
