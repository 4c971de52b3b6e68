/*
 * commands.c: the control commands' handlers (commands.h).
 *
 * The listings (list, labels, show) are listing.c's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "duration.h"
#include "history.h"
#include "label.h"
#include "listing.h"
#include "log.h"
#include "metrics.h"
#include "reason.h"
#include "record.h"
#include "spool.h"
#include "xmalloc.h"

struct commands {
	struct service svc;
	struct history *hist;
	struct listing_src ls; /* svc and hist, for listing.c */
	json_t *submitted;     /* while submit runs: the entries it filed */
	json_t *submit_labels; /* ... and the labels it names (a set: label -> true) */
	struct text entry;     /* a finished flow's entry, made here (reused) */
};

static const struct tf_config *
cfg_of(const struct commands *cmds)
{
	return cmds->svc.config(cmds->svc.arg);
}

/* --- the history of finished flows --------------------------------------- */

/*
 * Did the submit running now file this entry? Flows that ended otherwise
 * may be reported in the same poll. A submitted flow's segment says
 * submit; a lingering one ends with its own reason (fin, rst), so it is
 * known by its label: any end but a rotation's of a flow the submit named.
 */
static int
submit_filed(const struct commands *cmds, const struct index_record *rec)
{
	if (rec->reason == FLOW_R_SUBMIT)
		return 1;
	return rec->reason != FLOW_R_ROTATE &&
	       json_object_get(cmds->submit_labels, rec->label) != NULL;
}

void
commands_flow_done(const struct flow_key *key, uint8_t init, const struct index_record *rec,
    const char *frames, int ended, void *arg)
{
	struct commands *cmds = arg;
	struct history_entry he;
	json_t *full;

	/*
	 * The entry as the index line has it, "state" added, written by hand
	 * (record.c): a jansson object, copy and dump per finished flow was
	 * most of the main thread's time at shutdown with many flows open.
	 */
	cmds->entry.len = 0;
	index_record_text(&cmds->entry, rec, 0);
	text_key(&cmds->entry, "state");
	text_add(&cmds->entry, "\"finished\"}", 12); /* the NUL too */
	he.summary = cmds->entry.s;
	he.frames = (char *)frames;
	he.label = (char *)rec->label;
	he.src = (char *)rec->src;
	he.dst = (char *)rec->dst;
	he.sport = rec->srcport;
	he.dport = rec->dstport;
	history_add(cmds->hist, &he);
	if (cmds->submitted != NULL && submit_filed(cmds, rec)) {
		/* The entry as the index has it, frame numbers included. */
		full = index_record_json(rec);
		json_object_set_new(full, "index", json_loads(frames ? frames : "[]", 0, NULL));
		json_array_append_new(cmds->submitted, full);
	}
}

static void
cmd_list(struct ctl_client *c, int argc, char **argv, void *arg)
{
	listing_list(c, argc, argv, &((struct commands *)arg)->ls);
}

static void
cmd_labels(struct ctl_client *c, int argc, char **argv, void *arg)
{
	listing_labels(c, argc, argv, &((struct commands *)arg)->ls);
}

static void
cmd_show(struct ctl_client *c, int argc, char **argv, void *arg)
{
	listing_show(c, argc, argv, &((struct commands *)arg)->ls);
}

/* --- submit ------------------------------------------------------------------ */

/* The labels a submit names: those given, or every active flow's. */
static json_t *
submit_label_set(struct commands *cmds, int n, char **labels)
{
	const struct tf_config *cfg = cfg_of(cmds);
	json_t *set = json_object();
	char label[LABEL_MAX];
	const struct flow *f;
	void *walk;
	int k;

	for (k = 0; k < n; k++)
		json_object_set_new(set, labels[k], json_true());
	if (n > 0)
		return set;
	walk = cmds->svc.flows_begin(cmds->svc.arg);
	while ((f = cmds->svc.flows_next(cmds->svc.arg, walk)) != NULL) {
		label_make(label, f, cfg->nanosecond);
		json_object_set_new(set, label, json_true());
	}
	cmds->svc.flows_end(cmds->svc.arg, walk);
	return set;
}

static void
cmd_submit(struct ctl_client *c, int argc, char **argv, void *arg)
{
	struct commands *cmds = arg;
	int n, missing = 0;
	json_t *doc;

	/* The end hook collects what each submitted flow files (its index entries). */
	cmds->submitted = json_array();
	cmds->submit_labels = submit_label_set(cmds, argc - 1, argv + 1);
	n = cmds->svc.submit(cmds->svc.arg, argv + 1, argc - 1, &missing);
	doc = cmds->submitted;
	cmds->submitted = NULL;
	json_decref(cmds->submit_labels);
	cmds->submit_labels = NULL;
	if (n == -1) {
		json_decref(doc);
		ctl_reply_error(
		    c, "no active flow labelled %s: nothing submitted", argv[1 + missing]);
		return;
	}
	log_info("control: uid %d submitted %d flows", (int)ctl_client_uid(c), n);
	ctl_reply_json(c, PROTO_OK, json_pack("{s:o,s:i}", "submitted", doc, "count", n));
}

/* --- stats, interfaces, reload, config, version -------------------------- */

/* Each worker's handle on an interface: its share and its drops. */
static json_t *
workers_json(const struct service_iface *si)
{
	json_t *a = json_array();
	unsigned w;

	for (w = 0; w < si->nworkers && w < SERVICE_WORKERS_MAX; w++)
		json_array_append_new(
		    a, json_pack("{s:b,s:I,s:I,s:I,s:I}", "up", si->workers[w].up, "received",
		           (json_int_t)si->workers[w].received, "kernel_drops",
		           (json_int_t)si->workers[w].kernel_drops, "if_drops",
		           (json_int_t)si->workers[w].if_drops, "frames",
		           (json_int_t)si->workers[w].frames));
	return a;
}

static json_t *
interfaces_json(struct commands *cmds)
{
	struct service_iface *si = xcalloc(1, sizeof *si);
	json_t *a = json_array(), *o;
	unsigned i;

	for (i = 0; cmds->svc.interface(cmds->svc.arg, i, si) == 0; i++) {
		o = json_pack("{s:s,s:b,s:I,s:I,s:I,s:I,s:o}", "name", si->name, "up", si->up,
		    "received", (json_int_t)si->received, "kernel_drops",
		    (json_int_t)si->kernel_drops, "if_drops", (json_int_t)si->if_drops, "frames",
		    (json_int_t)si->frames, "error",
		    si->error != NULL && si->error[0] != '\0' ? json_string(si->error)
		                                              : json_null());
		if (si->nworkers > 0)
			json_object_set_new(o, "workers", workers_json(si));
		json_array_append_new(a, o);
		memset(si, 0, sizeof *si);
	}
	free(si);
	return a;
}

static json_t *
malformed_json(const struct engine_stats *st)
{
	json_t *m = json_object();
	int i;

	for (i = DECODE_TRUNCATED; i < DECODE_NREASONS; i++)
		json_object_set_new(
		    m, decode_reason_name(i), json_integer((json_int_t)st->reasons[i]));
	json_object_set_new(m, "frag_orphan", json_integer((json_int_t)st->frag_orphan));
	return m;
}

static json_t *
ended_json(const struct engine_stats *st)
{
	json_t *e = json_object();
	int i;

	for (i = FLOW_R_FIN; i < FLOW_R_NREASONS; i++)
		json_object_set_new(e, flow_reason_name(i), json_integer((json_int_t)st->ended[i]));
	return e;
}

/* on_file's commands: started, how they ended, and what waits or was not run. */
static json_t *
hooks_json(const struct hook_stats *h)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "started", (json_int_t)h->started,
	    "succeeded", (json_int_t)h->succeeded, "failed", (json_int_t)h->failed, "timed_out",
	    (json_int_t)h->timed_out, "dropped", (json_int_t)h->dropped, "running",
	    (json_int_t)h->running, "queued", (json_int_t)h->queued);
}

static json_t *
totals_json(const struct service_counters *sc, unsigned clients)
{
	const struct engine_stats *st = &sc->engine;
	const struct output_stats *ws = &sc->output;
	uint64_t now = duration_wall_ns();
	json_t *tot;

	tot = json_pack("{s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:I,s:I,s:o}", "frames",
	    (json_int_t)st->frames, "tcp", (json_int_t)st->tcp, "not_tcp", (json_int_t)st->not_tcp,
	    "malformed", (json_int_t)st->malformed, "malformed_by_reason", malformed_json(st),
	    "flows_active", (json_int_t)sc->flows_active, "flows_started", (json_int_t)st->flows,
	    "flows_finished", (json_int_t)st->finished, "segments", (json_int_t)st->segments,
	    "ended_by_reason", ended_json(st));
	json_object_update_new(tot,
	    json_pack("{s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:i}", "open_files",
	        (int)ws->open_files, "files_written", (json_int_t)ws->files, "bytes_written",
	        (json_int_t)ws->bytes, "write_errors", (json_int_t)ws->write_errors, "buffered",
	        (json_int_t)ws->buffered, "rss", (json_int_t)sc->rss_bytes, "spool_files",
	        (json_int_t)sc->spool.files, "spool_bytes", (json_int_t)sc->spool.bytes, "uptime",
	        now > sc->started_ns ? (double)(now - sc->started_ns) / NS_PER_SEC : 0.0,
	        "control_clients", (int)clients));
	/* Accepted but not on disk (a full disk): never silent. */
	json_object_update_new(tot,
	    json_pack("{s:I,s:I,s:I,s:I}", "frames_lost", (json_int_t)ws->frames_lost, "bytes_lost",
	        (json_int_t)ws->bytes_lost, "index_lines_pending", (json_int_t)ws->index_pending,
	        "index_lines_lost", (json_int_t)ws->index_lost));
	json_object_set_new(tot, "fragments_pending", json_integer((json_int_t)sc->frag_pending));
	json_object_set_new(tot, "hash_rekeys", json_integer((json_int_t)st->rekeys));
	json_object_set_new(tot, "time_jumps", json_integer((json_int_t)st->time_jumps));
	json_object_update_new(
	    tot, json_pack("{s:I,s:I,s:I,s:b}", "half_open", (json_int_t)st->half_open,
	             "unanswered_packets", (json_int_t)st->unanswered_packets, "half_open_evicted",
	             (json_int_t)st->half_open_evicted, "half_open_overloaded",
	             st->half_open_overloaded));
	json_object_set_new(tot, "spool_oldest",
	    sc->spool.oldest_ns ? json_real((double)sc->spool.oldest_ns / NS_PER_SEC)
	                        : json_null());
	json_object_set_new(tot, "spool_newest",
	    sc->spool.newest_ns ? json_real((double)sc->spool.newest_ns / NS_PER_SEC)
	                        : json_null());
	json_object_set_new(tot, "spool_catalog_ready", json_boolean(sc->spool.ready));
	/* IPFIX export: records sent and lost (null when off). */
	json_object_set_new(tot, "ipfix", sc->ipfix != NULL ? sc->ipfix : json_null());
	json_object_set_new(tot, "on_file", hooks_json(&sc->hooks));
	return tot;
}

static void
cmd_stats(struct ctl_client *c, int argc, char **argv, void *arg)
{
	struct commands *cmds = arg;
	struct service_counters sc;
	uint64_t requests, refused;
	unsigned clients;
	char *text;

	if (argc == 2 && strcmp(argv[1], "--prometheus") == 0) {
		text = metrics_text(&cmds->svc);
		ctl_reply_json(c, PROTO_OK, json_pack("{s:s}", "prometheus", text));
		free(text);
		return;
	}
	if (argc == 2) {
		ctl_reply_error(c, "stats: unknown option %s", argv[1]);
		return;
	}
	cmds->svc.counters(cmds->svc.arg, &sc);
	control_counts(ctl_client_control(c), &clients, &requests, &refused);
	ctl_reply_json(c, PROTO_OK,
	    json_pack("{s:o,s:o}", "interfaces", interfaces_json(cmds), "totals",
	        totals_json(&sc, clients)));
}

static void
cmd_interfaces(struct ctl_client *c, int argc, char **argv, void *arg)
{
	ctl_reply_json(c, PROTO_OK, json_pack("{s:o}", "interfaces", interfaces_json(arg)));
}

static void
cmd_reload(struct ctl_client *c, int argc, char **argv, void *arg)
{
	struct commands *cmds = arg;
	const struct tf_config *cfg;
	char *cause = NULL;

	log_info("control: reload requested by uid %d", (int)ctl_client_uid(c));
	if (cmds->svc.reload(cmds->svc.arg, &cause) == -1) {
		ctl_reply_error(c, "reload refused, the running configuration stays: %s", cause);
		free(cause);
		return;
	}
	cfg = cfg_of(cmds);
	ctl_reply_json(c, PROTO_OK,
	    json_pack("{s:b,s:s?}", "reloaded", 1, "config", cfg->path ? cfg->path : NULL));
}

static void
cmd_config(struct ctl_client *c, int argc, char **argv, void *arg)
{
	ctl_reply_json(c, PROTO_OK, config_json(cfg_of(arg)));
}

static void
cmd_version(struct ctl_client *c, int argc, char **argv, void *arg)
{
	ctl_reply_json(c, PROTO_OK,
	    json_pack("{s:s,s:i}", "version", PACKAGE_VERSION, "protocol", PROTO_VERSION));
}

/* The handlers, in cmd_table's order: a command without one does not build. */
#define CMD_HANDLER(n, fl, mn, mx, a, h) cmd_##n,
const control_handler commands_handlers[CMD_COUNT] = {CMD_TABLE(CMD_HANDLER)};
#undef CMD_HANDLER

struct commands *
commands_new(const struct service *svc, size_t history, size_t frames_budget)
{
	struct commands *cmds = xcalloc(1, sizeof *cmds);

	cmds->svc = *svc;
	cmds->hist = history_new(history, frames_budget);
	cmds->ls.svc = &cmds->svc;
	cmds->ls.hist = cmds->hist;
	return cmds;
}

void
commands_free(struct commands *cmds)
{
	if (cmds == NULL)
		return;
	history_free(cmds->hist);
	json_decref(cmds->submitted);
	free(cmds->entry.s);
	free(cmds);
}
