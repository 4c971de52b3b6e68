/*
 * query.h: `traceflowctl query`, run in the client with the caller's own
 * permissions, never in the daemon, so that a question cannot slow
 * capture. It reads the spool's catalog read-only (a folder without one,
 * such as an offline output folder, through its index.jsonl), lists the
 * flows an expression (qexpr.h) matches, or writes their packets as one
 * capture (merge.h).
 */
#ifndef TRACEFLOW_QUERY_H
#define TRACEFLOW_QUERY_H

#include <stdint.h>

/* What the usage text and help show: one place. */
#define QUERY_NAME "query"
#define QUERY_ARGS                                                                   \
	"[-d SPOOL_DIR] [--limit N] [--oldest|--newest] [-w FILE|-] [--filter BPF] " \
	"EXPRESSION..."
#define QUERY_HELP                                                                       \
	"Find flows in the spool (no daemon needed): list them, or write their packets " \
	"as one capture."

struct query_opts {
	const char *spool;  /* the folder: -d, or the config's spool_dir */
	int json;           /* a JSON object a line */
	uint64_t limit;     /* 0: every match */
	int newest;         /* the last limit matches rather than the first */
	const char *wfile;  /* -w: NULL to list; "-" standard output */
	const char *filter; /* --filter BPF, with -w */
	int argc;           /* the expression's words */
	char **argv;
};

/*
 * Parse traceflowctl query's own options from words[1..nwords-1] (words[0]
 * is "query") into *o; -d, --limit, --oldest, --newest, -w and --filter
 * may come anywhere among the expression's words, "--" ends them. 0, or
 * the usage error's exit status (2) with a message on stderr.
 */
int query_parse(int nwords, char **words, struct query_opts *o);

/* Run it: the exit status (0; 1 the spool or catalog could not be read; 2 a bad expression). */
int query_run(const struct query_opts *o);

#endif
