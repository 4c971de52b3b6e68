/*
 * daemon.c: the life of traceflowd: read the config, open and lock the
 * spool, open the capture handles while still privileged, drop privileges,
 * recover what a crash left, start the engine on the spool, and run the
 * libevent loop with its timers and signals until SIGTERM, when every flow
 * is finished and filed.
 */
#include <errno.h>
#include <sys/resource.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cap-ng.h>

#include "capture.h"
#include "commands.h"
#include "control.h"
#include "daemon.h"
#include "duration.h"
#include "export.h"
#include "hook.h"
#include "ifset.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "pidfile.h"
#include "spool.h"
#include "workers.h"
#include "xmalloc.h"

#define TICK_MS       100
#define STATUS_SEC    5
#define RETENTION_SEC 10
#define DROPS_SEC     1 /* how often the capture counters are read for drops */

#define HOOK_STOP_SEC 10 /* running on_file commands get at most this at shutdown */

struct daemon {
	struct daemon_opts opts;
	struct tf_config cfg;
	struct event_base *base;
	struct workers *ws; /* the capture workers, each with its engine */
	struct control *control;
	struct commands *cmds;
	struct hook *hook; /* on_file */
	struct ifset *ifs; /* the captured interfaces */
	struct event *status, *retention, *watchdog, *dropcheck;
	struct metrics_http *metrics;
	struct event *sigterm, *sigint, *sighup;
	uint64_t started;
	uid_t uid;
	gid_t gid;
	int drop;    /* change user after opening the handles */
	int spoolfd; /* the spool, opened once: all file work is relative to it */
	int lockfd;  /* its lock (spool_lock), held until the last file is written */
	struct pidfile *pidfile;
	int exit_status;
};

/* --- what the control commands may ask (service.h) ------------------------ */

static const struct tf_config *
svc_config(void *arg)
{
	struct daemon *d = arg;

	return &d->cfg;
}

static uint64_t
rss_bytes(void)
{
	unsigned long long size, resident = 0;
	FILE *fp = fopen("/proc/self/statm", "re");

	if (fp == NULL)
		return 0;
	if (fscanf(fp, "%llu %llu", &size, &resident) != 2)
		resident = 0;
	fclose(fp);
	return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* The first worker's engine: the filer, catalog and exporter are its (workers.h). */
static struct engine *
first(struct daemon *d)
{
	return workers_engines(d->ws)[0];
}

static void
svc_counters(void *arg, struct service_counters *out)
{
	struct daemon *d = arg;

	workers_hold(d->ws, -1);
	workers_stats(d->ws, &out->engine);
	workers_output_stats(d->ws, &out->output);
	out->flows_active = workers_active(d->ws);
	out->frag_pending = workers_frag_pending(d->ws);
	workers_release(d->ws, -1);
	engine_spool(first(d), &out->spool);
	out->rss_bytes = rss_bytes();
	out->started_ns = d->started;
	out->ipfix = export_stats_json(engine_exporter(first(d)));
	hook_stats(d->hook, &out->hooks);
}

static int
svc_interface(void *arg, unsigned i, struct service_iface *out)
{
	struct daemon *d = arg;

	if (i >= ifset_count(d->ifs))
		return -1;
	workers_hold(d->ws, -1);
	ifset_describe(d->ifs, i, out);
	workers_release(d->ws, -1);
	return 0;
}

static void *
svc_flows_begin(void *arg)
{
	struct daemon *d = arg;

	return workers_walk(d->ws);
}

static const struct flow *
svc_flows_next(void *arg, void *walk)
{
	(void)arg;
	return workers_walk_next(walk);
}

static void
svc_flows_end(void *arg, void *walk)
{
	(void)arg;
	workers_walk_free(walk);
}

static const char *
svc_iface_name(void *arg, uint32_t id)
{
	struct daemon *d = arg;

	return engine_source_name(first(d), id);
}

/* Packets the kernel already handed over belong to the flows being submitted. */
static int
svc_submit(void *arg, char *const *labels, int n, int *missing)
{
	struct daemon *d = arg;
	int rc;

	workers_hold(d->ws, -1);
	ifset_drain(d->ifs);
	rc = engine_submit(workers_engines(d->ws), workers_count(d->ws), labels, n, missing);
	workers_release(d->ws, -1);
	return rc;
}

static int daemon_reload(struct daemon *d, char **cause);

static int
svc_reload(void *arg, char **cause)
{
	return daemon_reload(arg, cause);
}

/* --- configuration -------------------------------------------------------- */

static void
apply_cli_interfaces(const struct daemon_opts *o, struct tf_config *c)
{
	unsigned i;

	if (o->ninterfaces == 0)
		return;
	for (i = 0; i < c->ninterfaces; i++)
		free(c->interfaces[i]);
	free(c->interfaces);
	c->interfaces = xcalloc(o->ninterfaces, sizeof *c->interfaces);
	for (i = 0; i < o->ninterfaces; i++)
		c->interfaces[i] = xstrdup(o->interfaces[i]);
	c->ninterfaces = o->ninterfaces;
}

/* Load the file (defaults alone if the default file is missing). */
static int
load_config(const struct daemon_opts *o, struct tf_config *c, char **cause)
{
	if (!o->config_explicit && access(o->config, F_OK) == -1 && errno == ENOENT) {
		config_defaults(c);
		log_info("%s not found: running on the built-in defaults", o->config);
	} else if (config_load(o->config, c, cause) == -1)
		return -1;
	apply_cli_interfaces(o, c);
	return 0;
}

/* --- privileges and the spool ------------------------------------------- */

/*
 * The user and group a start as root changes to exist: checked by -n too,
 * so that it refuses what the start would, naming the file and line.
 */
static int
check_accounts(const struct tf_config *c, char **cause)
{
	if (c->user == NULL || c->user[0] == '\0')
		return 0;
	if (getpwnam(c->user) == NULL) {
		xasprintf(cause, "%s: setting user: user \"%s\" does not exist",
		    config_where(c, "user"), c->user);
		return -1;
	}
	if (c->group != NULL && c->group[0] != '\0' && getgrnam(c->group) == NULL) {
		xasprintf(cause, "%s: setting group: group \"%s\" does not exist",
		    config_where(c, "group"), c->group);
		return -1;
	}
	return 0;
}

static void
resolve_user(struct daemon *d)
{
	struct passwd *pw;
	struct group *gr;
	char *cause = NULL;

	d->drop = geteuid() == 0 && d->cfg.user != NULL && d->cfg.user[0] != '\0';
	if (!d->drop)
		return;
	if (check_accounts(&d->cfg, &cause) == -1 || (pw = getpwnam(d->cfg.user)) == NULL)
		fatalx("%s", cause != NULL ? cause : "setting user: lookup failed");
	d->uid = pw->pw_uid;
	d->gid = pw->pw_gid;
	if (d->cfg.group != NULL && d->cfg.group[0] != '\0') {
		if ((gr = getgrnam(d->cfg.group)) == NULL)
			fatalx("group \"%s\" (setting group) does not exist", d->cfg.group);
		d->gid = gr->gr_gid;
	}
}

/*
 * Open the spool once, as root, and keep its descriptor: all later work
 * is relative to it. It must belong to the user we become (or we could
 * not write it), and nothing in it or on the way to it may be a link
 * someone planted or a folder others can write to (spool.h).
 *
 * Then lock it, before anything touches what it holds: a second daemon on
 * this spool is refused here, naming us, before its recovery could move
 * our growing files. Done before detaching, as the pid file is, so that
 * the refusal reaches the terminal the second one was started from; the
 * lock stays with the detached child (flock: spool.h).
 */
static void
prepare_spool(struct daemon *d)
{
	struct spool_owner own = {geteuid(), getegid()};
	char *cause = NULL;

	if (d->drop) {
		own.uid = d->uid;
		own.gid = d->gid;
	}
	if ((d->spoolfd = spool_open(d->cfg.spool_dir, &own, &cause)) == -1)
		fatalx("spool_dir %s", cause);
	if ((d->lockfd = spool_lock(d->spoolfd, d->cfg.spool_dir, &own, &cause)) == -1)
		fatalx("spool_dir %s", cause);
}

/* What the spool holds is checked and made by the user that writes it, never by root. */
static void
prepare_spool_contents(struct daemon *d)
{
	char *cause = NULL;

	if (spool_prepare(d->spoolfd, d->cfg.spool_dir, &cause) == -1)
		fatalx("spool_dir %s", cause);
}

/*
 * Become the configured user with no capability left (libcap-ng clears
 * the bounding set too). Under systemd we already run as that user with
 * CAP_NET_RAW/CAP_NET_ADMIN ambient, and keep them to reopen interfaces.
 */
static void
drop_privileges(struct daemon *d)
{
	if (!d->drop)
		return;
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_change_id((int)d->uid, (int)d->gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) !=
	    0)
		fatalx("cannot change to user %s", d->cfg.user);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		log_warn("PR_SET_NO_NEW_PRIVS");
	log_info("running as %s:%s without capabilities", d->cfg.user,
	    d->cfg.group && d->cfg.group[0] ? d->cfg.group : "(user's group)");
}

/* --- finished files ------------------------------------------------------ */

/* engine_end_hook: the control channel's history, and on_file. */
static void
flow_done(const struct flow_key *key, uint8_t init, const struct index_record *rec,
    const char *frames, int ended, void *arg)
{
	struct daemon *d = arg;
	json_t *entry;

	commands_flow_done(key, init, rec, frames, ended, d->cmds);
	if (!rec->probe && hook_wanted(d->hook, rec->fpout)) {
		/* Its variables are the index members: JSON only when a command runs. */
		entry = index_record_json(rec);
		hook_file(d->hook, entry);
		json_decref(entry);
	}
}

static void
configure_hook(struct daemon *d)
{
	struct hook_config hc = {d->cfg.on_file, (unsigned)d->cfg.on_file_jobs,
	    d->cfg.on_file_timeout, config_where(&d->cfg, "on_file")};

	hook_configure(d->hook, &hc);
}

/* --- timers and signals ----------------------------------------------------- */

static void
on_status(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct engine_stats st;
	struct output_stats ws;
	struct capture_stats cs;
	uint64_t drops = 0;
	uint32_t active;
	unsigned i, up = 0;

	workers_hold(d->ws, -1);
	for (i = 0; i < ifset_count(d->ifs); i++) {
		ifset_stats(d->ifs, i, &cs);
		drops += cs.kernel_drops + cs.if_drops;
		up += cs.up;
	}
	workers_stats(d->ws, &st);
	workers_output_stats(d->ws, &ws);
	active = workers_active(d->ws);
	workers_release(d->ws, -1);
	notify_status("capturing on %u/%u interfaces; %u flows active, %" PRIu64
	              " finished; %" PRIu64 " TCP packets, %" PRIu64 " drops, %" PRIu64
	              " frames lost (not written)",
	    up, ifset_count(d->ifs), active, st.finished, st.tcp, drops, ws.frames_lost);
}

/*
 * Retention is the file writer thread's (filer_retain): this only hands it
 * the limits in force. Its cost is what it deletes; usage needs no pass.
 */
static void
on_retention(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	if (d->cfg.max_spool_size == 0 && d->cfg.max_age == 0)
		return;
	/* The filer's first lane is worker 0's: its batch is that thread's but under its lock. */
	workers_hold(d->ws, 0);
	engine_retain(first(d), d->cfg.max_spool_size, d->cfg.max_age, duration_wall_ns());
	workers_release(d->ws, 0);
}

/* Drops while running, not only at shutdown (rate-limited: ifset.c). */
static void
on_dropcheck(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	workers_hold(d->ws, -1);
	ifset_check_drops(d->ifs, duration_wall_ns());
	workers_release(d->ws, -1);
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	notify_watchdog();
}

/*
 * Descriptors: the soft limit raised at start to what the settings need,
 * within the hard one (systemd's LimitNOFILE=, 65536 in our unit). Files
 * (max_open_files), hooks, the capture handles and the catalog are ours;
 * clients come on top, each side bounded (control's CONTROL_MAX_CLIENTS,
 * metrics_max_clients), so that clients cannot take the files'
 * descriptors and files cannot starve the control socket. Where the hard
 * limit is lower, said once; a listener that runs out pauses
 * (acceptguard.h).
 */
#define NOFILE_FIXED 128 /* the spool, index, catalog, log, sockets, libraries */

static void
raise_nofile(const struct tf_config *cfg)
{
	struct rlimit rl;
	rlim_t w = workers_wanted(cfg->capture_threads);
	/* A worker: a handle per interface, and its loop's, lane's and wake-up's (about 8). */
	rlim_t need = cfg->max_open_files + 3 * cfg->on_file_jobs + 2 * cfg->ninterfaces * w +
	              8 * w + CONTROL_MAX_CLIENTS + cfg->metrics_max_clients + NOFILE_FIXED;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= need)
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
		log_warnx(
		    "the descriptor limit (%llu, hard) is below what the settings need (%llu: "
		    "max_open_files, on_file_jobs, interfaces and clients): raise LimitNOFILE",
		    (unsigned long long)rl.rlim_max, (unsigned long long)need);
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ? rl.rlim_max : need;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit RLIMIT_NOFILE %llu", (unsigned long long)rl.rlim_cur);
}

/*
 * Every flow is filed before exit. A million open flows take longer than
 * TimeoutStopSec (60 s), and a stop that systemd kills with SIGKILL leaves
 * them to recovery: so they are finished in slices, each telling systemd
 * how far it got and that the stop goes on (a stop that makes no progress
 * still ends at the timeout).
 */
#define STOP_SLICE      10000
#define STOP_EXTEND_SEC 30

static void
finish_in_slices(struct daemon *d)
{
	struct engine **es = workers_engines(d->ws);
	uint32_t total = workers_active(d->ws), left = total, quota, before, rest;
	unsigned i, n = workers_count(d->ws);

	while (left > STOP_SLICE) {
		notify_extend(STOP_EXTEND_SEC * 1000000u);
		notify_watchdog();
		notify_status("stopping: %u of %u flows filed", total - left, total);
		/* A slice is STOP_SLICE flows whatever their spread over the workers. */
		for (quota = STOP_SLICE, left = 0, i = 0; i < n; i++) {
			before = engine_active_count(es[i]);
			rest = engine_finish_some(es[i], FLOW_R_SHUTDOWN, quota / (n - i));
			quota -= before - rest;
			left += rest;
		}
	}
	/* The last slice, then the wait until the filer has written all of it. */
	notify_extend(STOP_EXTEND_SEC * 1000000u);
	notify_status("stopping: %u of %u flows filed, writing the rest", total - left, total);
	for (i = 0; i < n; i++)
		engine_finish_all(es[i], FLOW_R_SHUTDOWN);
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	unsigned i;

	struct capture_stats cs;
	struct engine_stats st;
	struct output_stats ws;

	log_info("%s: finishing every flow", strsignal((int)sig));
	notify_stopping();
	/* Let the kernel retire its last, partly filled block, then read it. */
	usleep((CAPTURE_BLOCK_MS + 20) * 1000);
	/* The workers stop here for good: what they hold is finished on this thread. */
	workers_stop(d->ws);
	ifset_drain(d->ifs);
	for (i = 0; i < ifset_count(d->ifs); i++) {
		ifset_stats(d->ifs, i, &cs);
		log_info("%s: %" PRIu64 " frames read, %" PRIu64 " received, %" PRIu64
		         " dropped by the kernel, %" PRIu64 " by the interface",
		    ifset_name(d->ifs, i), cs.frames, cs.received, cs.kernel_drops, cs.if_drops);
	}
	finish_in_slices(d);
	workers_stats(d->ws, &st);
	workers_output_stats(d->ws, &ws);
	log_info("%" PRIu64 " TCP frames, %" PRIu64 " malformed, %" PRIu64
	         " flows finished, %" PRIu64 " frames lost (not written), %" PRIu64
	         " index lines not written",
	    st.tcp, st.malformed, st.finished, ws.frames_lost, ws.index_pending + ws.index_lost);
	/* What shutdown filed is queued too: a short grace, within systemd's watchdog. */
	notify_watchdog();
	hook_shutdown(d->hook, d->cfg.on_file_timeout < HOOK_STOP_SEC * NS_PER_SEC
	                           ? d->cfg.on_file_timeout
	                           : HOOK_STOP_SEC * NS_PER_SEC);
	event_base_loopbreak(d->base);
}

static int
daemon_reload(struct daemon *d, char **cause)
{
	struct tf_config nc;
	struct engine_config ec;
	char *changes;

	/* Whatever becomes of the config: logrotate moved the index and waits for this. */
	workers_hold(d->ws, 0); /* the first lane's batch: worker 0's (on_retention) */
	engine_index_reopen(first(d));
	/* Files removed by hand since: their rows and lines go (in the background). */
	engine_reconcile(first(d));
	workers_release(d->ws, 0);
	memset(&nc, 0, sizeof nc);
	if (load_config(&d->opts, &nc, cause) == -1 ||
	    config_reload_check(&d->cfg, &nc, cause) == -1) {
		/* Logged here, whoever asked: SIGHUP or traceflowctl reload. */
		log_warnx("reload refused, the running configuration stays: %s", *cause);
		config_free(&nc);
		return -1;
	}
	changes = config_changes(&d->cfg, &nc);
	config_free(&d->cfg);
	d->cfg = nc;
	log_setlevel(d->opts.verbose ? LOG_LVL_DEBUG : d->cfg.log_level);
	config_to_engine(&d->cfg, &ec);
	workers_reconfigure(d->ws, &ec);
	control_set_admin_group(d->control, d->cfg.admin_group);
	configure_hook(d);
	ifset_quiesce_dropped(d->ifs, &d->cfg); /* no lock held: libevent may wait for a worker */
	workers_hold(d->ws, -1);
	ifset_sync(d->ifs, &d->cfg, workers_engines(d->ws));
	workers_release(d->ws, -1);
	log_info("reloaded %s: %s", d->cfg.path ? d->cfg.path : "defaults",
	    changes ? changes : "nothing changed");
	free(changes);
	return 0;
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	char *cause = NULL;

	notify_reloading();
	if (daemon_reload(d, &cause) == -1)
		free(cause);
	notify_ready();
}

static void
start_timers(struct daemon *d)
{
	struct timeval status = {STATUS_SEC, 0}, ret = {RETENTION_SEC, 0}, drops = {DROPS_SEC, 0},
	               wd;
	uint64_t wd_usec;

	d->status = event_new(d->base, -1, EV_PERSIST, on_status, d);
	event_add(d->status, &status);
	d->retention = event_new(d->base, -1, EV_PERSIST, on_retention, d);
	event_add(d->retention, &ret);
	d->dropcheck = event_new(d->base, -1, EV_PERSIST, on_dropcheck, d);
	event_add(d->dropcheck, &drops);
	workers_run(d->ws, TICK_MS, PRIO_TIMER);
	if ((wd_usec = notify_watchdog_usec()) > 0) {
		wd.tv_sec = (time_t)(wd_usec / 2 / 1000000);
		wd.tv_usec = (suseconds_t)(wd_usec / 2 % 1000000);
		d->watchdog = event_new(d->base, -1, EV_PERSIST, on_watchdog, d);
		event_add(d->watchdog, &wd);
	}
	d->sigterm = evsignal_new(d->base, SIGTERM, on_stop, d);
	d->sigint = evsignal_new(d->base, SIGINT, on_stop, d);
	d->sighup = evsignal_new(d->base, SIGHUP, on_hup, d);
	event_add(d->sigterm, NULL);
	event_add(d->sigint, NULL);
	event_add(d->sighup, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void
daemon_free(struct daemon *d)
{
	struct event **evs[] = {&d->status, &d->retention, &d->watchdog, &d->dropcheck, &d->sigterm,
	    &d->sigint, &d->sighup};
	size_t i;

	metrics_http_free(d->metrics);
	control_free(d->control);
	workers_stop(d->ws); /* before their captures go */
	ifset_free(d->ifs);
	for (i = 0; i < sizeof evs / sizeof evs[0]; i++)
		if (*evs[i] != NULL)
			event_free(*evs[i]);
	workers_free(d->ws);
	hook_free(d->hook);
	commands_free(d->cmds);
	if (d->base != NULL)
		event_base_free(d->base);
	config_free(&d->cfg);
	/*
	 * Once the engine has written its last file: the next daemon may
	 * start. The file stays (its pid then means nothing): a restart on a
	 * spool out of inodes needs no new one.
	 */
	if (d->lockfd != -1)
		close(d->lockfd);
	if (d->spoolfd != -1)
		close(d->spoolfd);
	pidfile_close(d->pidfile);
	free(d);
}

static void
start_engine(struct daemon *d)
{
	struct engine_config ec;
	char *cause = NULL;
	int n;

	if ((n = spool_recover(d->spoolfd, d->cfg.spool_dir,
	         d->cfg.format != FMT_NONE && d->cfg.partition_files != 0)) > 0)
		log_fields(LOG_LVL_INFO, LOG_FIELDS({"SPOOL_DIR", d->cfg.spool_dir}),
		    "recovered %d files left by an earlier run", n);
	config_to_engine(&d->cfg, &ec);
	ec.outfd = d->spoolfd;
	if (workers_engines_new(d->ws, &ec, &cause) == -1)
		fatalx("%s", cause);
	ifset_attach(d->ifs, workers_engines(d->ws));
	/*
	 * Files deleted while we were not running lose their rows and index
	 * lines as the catalog's reconcile finds them, in the background.
	 */
}

static struct service
daemon_service(struct daemon *d)
{
	const struct service svc = {d, svc_config, svc_counters, svc_interface, svc_flows_begin,
	    svc_flows_next, svc_flows_end, svc_iface_name, svc_submit, svc_reload};

	return svc;
}

/* The control socket, bound while still root; clients are served once the engine runs. */
static void
start_control(struct daemon *d)
{
	const struct service svc = daemon_service(d);
	struct control_params p = {0};
	char *cause = NULL;

	d->cmds = commands_new(&svc, COMMANDS_HISTORY, COMMANDS_FRAMES_BYTES);
	p.path = d->cfg.control_socket;
	p.mode = d->cfg.control_mode;
	p.group = d->cfg.control_group;
	p.admin_group = d->cfg.admin_group;
	p.owner_uid = d->uid;
	p.priority = PRIO_CONTROL;
	p.handlers = commands_handlers;
	p.arg = d->cmds;
	if ((d->control = control_new(d->base, &p, &cause)) == NULL)
		fatalx("%s", cause);
}

/* The /metrics endpoint (metrics_listen), bound at start: a taken port stops the start. */
static void
start_metrics(struct daemon *d)
{
	const struct service svc = daemon_service(d);
	char *cause = NULL;

	if (d->cfg.metrics_listen == NULL || d->cfg.metrics_listen[0] == '\0')
		return;
	d->metrics = metrics_http_new(d->base, d->cfg.metrics_listen,
	    (unsigned)d->cfg.metrics_max_clients, &svc, PRIO_METRICS, &cause);
	if (d->metrics == NULL)
		fatalx("%s", cause);
	log_info("metrics on http://%s/metrics", d->cfg.metrics_listen);
}

/*
 * The pid file, when asked for and not started by systemd (which knows our
 * pid, and whose sandbox may not let us write one). Opened, locked and
 * emptied before detaching, so that a second daemon says why it refuses on
 * the terminal it was started from; the pid goes in when the daemon is
 * ready.
 */
static int
open_pidfile(struct daemon *d)
{
	char *cause = NULL;

	if (d->cfg.pid_file == NULL || d->cfg.pid_file[0] == '\0')
		return 0;
	if (getenv("NOTIFY_SOCKET") != NULL || notify_under_systemd()) {
		log_info("pid_file %s not written: started by systemd", d->cfg.pid_file);
		return 0;
	}
	if ((d->pidfile = pidfile_open(d->cfg.pid_file, &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

int
daemon_main(const struct daemon_opts *o)
{
	struct daemon *d;
	char *cause = NULL;
	int status;

	d = xcalloc(1, sizeof *d);
	d->opts = *o;
	d->spoolfd = -1;
	d->lockfd = -1;
	if (load_config(o, &d->cfg, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		free(d);
		return 1;
	}
	if (o->check_only) {
		if (check_accounts(&d->cfg, &cause) == -1) {
			log_warnx("%s", cause);
			free(cause);
			daemon_free(d);
			return 1;
		}
		if (o->verbose)
			config_print(stdout, &d->cfg);
		printf("%s: configuration OK\n", d->cfg.path ? d->cfg.path : "defaults");
		daemon_free(d);
		return 0;
	}
	log_setlevel(o->verbose ? LOG_LVL_DEBUG : d->cfg.log_level);
	if (open_pidfile(d) == -1) {
		daemon_free(d);
		return 1;
	}
	raise_nofile(&d->cfg);
	resolve_user(d);
	prepare_spool(d);
	if (!o->foreground) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		log_init("traceflowd", log_getlevel(), LOG_TO_SYSLOG);
		/* The lock is the child's now: the pid in it too. */
		if (spool_lock_pid(d->lockfd) == -1)
			log_warn("spool_dir %s/%s", d->cfg.spool_dir, SPOOL_LOCK);
	}
	d->started = duration_wall_ns();
	workers_threads(workers_wanted(d->cfg.capture_threads));
	if ((d->base = event_base_new()) == NULL ||
	    event_base_priority_init(d->base, PRIO_COUNT) != 0)
		fatalx("event_base_new failed");
	start_control(d);
	start_metrics(d);
	d->ws = workers_new(workers_wanted(d->cfg.capture_threads), d->base, PRIO_COUNT);
	d->ifs = ifset_new(workers_count(d->ws), workers_bases(d->ws), workers_locks(d->ws));
	ifset_sync(d->ifs, &d->cfg, NULL); /* opened while still root */
	drop_privileges(d);
	prepare_spool_contents(d);
	start_engine(d);
	d->hook = hook_new(d->base, PRIO_TIMER, d->cfg.spool_dir);
	configure_hook(d);
	workers_set_end_hook(d->ws, flow_done, d);
	control_enable(d->control);
	start_timers(d);
	/* Written once SIGTERM is handled, as READY=1 is sent: pid and readiness at once. */
	if (d->pidfile != NULL && pidfile_write(d->pidfile) == -1)
		fatalx("cannot write the pid file %s", d->cfg.pid_file);
	notify_ready();
	log_info("started: spool %s, %u interfaces, %u capture workers", d->cfg.spool_dir,
	    ifset_count(d->ifs), workers_count(d->ws));
	event_base_dispatch(d->base);
	status = d->exit_status;
	log_info("stopped");
	daemon_free(d);
	return status;
}
