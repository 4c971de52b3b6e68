/*
 * hook.c: on_file, a command run on every finished file (hook.h).
 *
 * The daemon reports each index line from its event loop (engine_poll); a
 * line with a file becomes a job: the file's absolute path and an
 * environment made of the line's members. Jobs wait in a FIFO of at most
 * HOOK_QUEUE_MAX and start while fewer than on_file_jobs run. Nothing here
 * blocks the loop: children are started with posix_spawn (the parent does
 * not wait for more than the exec), their ends are noticed by a SIGCHLD
 * event and waitpid(WNOHANG) on each running pid, and each has a timer for
 * on_file_timeout, then SIGTERM to its session, then SIGKILL after
 * HOOK_KILL_GRACE.
 *
 * What the child inherits: no capability (hook_new clears the ambient and
 * inheritable sets; the daemon's own effective set stays, since it never
 * execs anything else), no descriptor but stdout and stderr (closefrom 3,
 * stdin from /dev/null), default dispositions and an empty signal mask
 * (the daemon ignores SIGPIPE and libevent catches others), a session of
 * its own (so that a timeout kills what a script started too, and a ^C on
 * the daemon's terminal reaches the daemon only), "/" as its folder, and
 * the daemon's environment without systemd's notification variables.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cap-ng.h>

#include "duration.h"
#include "hook.h"
#include "log.h"
#include "xmalloc.h"

extern char **environ;

#define NS              1000000000ULL
#define HOOK_KILL_GRACE (2 * NS)  /* from SIGTERM to SIGKILL */
#define HOOK_LOG_WINDOW (10 * NS) /* rate limit: at most HOOK_LOG_LINES lines ... */
#define HOOK_LOG_LINES  10        /* ... of one kind per window */
#define HOOK_NAMED_STOP 20        /* files not run at shutdown named one by one */
#define HOOK_STOP_POLL  (20 * 1000000L)
#define HOOK_ENV_PREFIX "TRACEFLOW_"

struct hook_job {
	TAILQ_ENTRY(hook_job) entry;
	struct hook *h;
	char *path;  /* absolute */
	char *label; /* for messages */
	char **env;  /* NULL-terminated, owned */
	pid_t pid;
	int killed;          /* 0, or the last signal sent (SIGTERM, SIGKILL) */
	int at_stop;         /* killed because the daemon stops */
	uint64_t deadline;   /* monotonic: the next signal is due then */
	uint64_t timeout_ns; /* on_file_timeout when it started */
	struct event *timer; /* at deadline */
};
TAILQ_HEAD(hook_jobs, hook_job);

/* One kind of message, at most HOOK_LOG_LINES per HOOK_LOG_WINDOW. */
struct ratelimit {
	uint64_t start;
	unsigned lines;
	uint64_t suppressed;
};

struct hook {
	struct event_base *base;
	int prio;
	char *spool_dir;
	char *command; /* "" when off */
	unsigned jobs;
	uint64_t timeout_ns;
	struct hook_jobs queue, running;
	struct hook_stats st; /* running and queued are the lists' lengths */
	struct event *sigchld;
	char **env; /* the base environment, NULL-terminated */
	size_t nenv;
	struct ratelimit rl_fail, rl_drop;
	int stopping;
	uint64_t stop_deadline;
};

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* Whether a line may go out now; *suppressed: lines held back since the last one. */
static int
rl_allow(struct ratelimit *rl, uint64_t *suppressed)
{
	uint64_t now = mono_ns();

	*suppressed = 0;
	if (rl->start == 0 || now - rl->start >= HOOK_LOG_WINDOW) {
		*suppressed = rl->suppressed;
		rl->start = now;
		rl->lines = 0;
		rl->suppressed = 0;
	}
	if (rl->lines < HOOK_LOG_LINES) {
		rl->lines++;
		return 1;
	}
	rl->suppressed++;
	return 0;
}

#define RL_LOG(rl, fmt, ...)                                                                 \
	do {                                                                                 \
		uint64_t sup_;                                                               \
		if (rl_allow((rl), &sup_)) {                                                 \
			if (sup_ > 0)                                                        \
				log_warnx(fmt " (and %" PRIu64 " such messages not logged)", \
				    __VA_ARGS__, sup_);                                      \
			else                                                                 \
				log_warnx(fmt, __VA_ARGS__);                                 \
		}                                                                            \
	} while (0)

/* --- capabilities and environment ----------------------------------------- */

/*
 * Under systemd the daemon holds CAP_NET_RAW and CAP_NET_ADMIN in its
 * ambient set, which an exec passes on to any program: the hook would
 * sniff. Clearing ambient and inheritable keeps the permitted and effective
 * sets the daemon needs to reopen interfaces. Capabilities are per thread:
 * this is the main thread, the one that spawns.
 */
static void
clear_inherited_caps(void)
{
	int cap;

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 && errno != EINVAL)
		log_warn("on_file: clearing the ambient capabilities");
	if (capng_get_caps_process() != 0) {
		log_warnx("on_file: cannot read the capabilities");
		return;
	}
	/* Past the kernel's last capability capng_update fails: harmless. */
	for (cap = 0; cap < 64; cap++)
		capng_update(CAPNG_DROP, CAPNG_INHERITABLE, (unsigned)cap);
	if (capng_apply(CAPNG_SELECT_CAPS) != 0)
		log_warnx("on_file: cannot clear the inheritable capabilities");
}

/* Variables a child must not see: they would let it speak to systemd as the daemon. */
static int
env_hidden(const char *kv)
{
	static const char *const hidden[] = {"NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=",
	    "LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=", HOOK_ENV_PREFIX};
	size_t i;

	for (i = 0; i < sizeof hidden / sizeof hidden[0]; i++)
		if (strncmp(kv, hidden[i], strlen(hidden[i])) == 0)
			return 1;
	return 0;
}

static void
base_env(struct hook *h)
{
	size_t n = 0, i;

	while (environ != NULL && environ[n] != NULL)
		n++;
	h->env = xcalloc(n + 1, sizeof *h->env);
	for (i = 0; i < n; i++)
		if (!env_hidden(environ[i]))
			h->env[h->nenv++] = xstrdup(environ[i]);
}

/* A member's value as a shell reads it: text, numbers as the index writes them, "" for null. */
static char *
env_value(const json_t *v)
{
	char *s, *t;
	const json_t *e;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return xstrdup(json_string_value(v));
	case JSON_INTEGER:
		xasprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return s;
	case JSON_REAL:
		/* index.c writes times with %.17g: the same text, the same double. */
		xasprintf(&s, "%.17g", json_real_value(v));
		return s;
	case JSON_TRUE:
		return xstrdup("true");
	case JSON_FALSE:
		return xstrdup("false");
	case JSON_ARRAY: /* vlan: "100,200" */
		s = xstrdup("");
		json_array_foreach(v, i, e)
		{
			char *u;

			t = env_value(e);
			xasprintf(&u, "%s%s%s", s, i > 0 ? "," : "", t);
			free(t);
			free(s);
			s = u;
		}
		return s;
	default:
		return xstrdup("");
	}
}

/* The base environment and TRACEFLOW_<MEMBER> for every member of the index line. */
static char **
job_env(const struct hook *h, const json_t *entry)
{
	const char *k;
	const json_t *v;
	char **env, *val, *p;
	size_t n = h->nenv, i;

	env = xcalloc(h->nenv + json_object_size(entry) + 1, sizeof *env);
	for (i = 0; i < h->nenv; i++)
		env[i] = xstrdup(h->env[i]);
	json_object_foreach((json_t *)entry, k, v)
	{
		val = env_value(v);
		xasprintf(&env[n], HOOK_ENV_PREFIX "%s=%s", k, val);
		for (p = env[n] + strlen(HOOK_ENV_PREFIX); *p != '='; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		n++;
		free(val);
	}
	return env;
}

static void
strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* --- jobs ---------------------------------------------------------------- */

static void
job_free(struct hook_job *j)
{
	if (j->timer != NULL)
		event_free(j->timer);
	strv_free(j->env);
	free(j->path);
	free(j->label);
	free(j);
}

static void
set_timer(struct hook_job *j, uint64_t now)
{
	uint64_t left = j->deadline > now ? j->deadline - now : 0;
	struct timeval tv = {(time_t)(left / NS), (suseconds_t)(left % NS / 1000)};

	event_add(j->timer, &tv);
}

/* Its session: what a script started goes too. */
static void
job_signal(struct hook_job *j, int sig)
{
	if (kill(-j->pid, sig) == -1 && kill(j->pid, sig) == -1 && errno != ESRCH)
		log_warn("on_file: kill %d", (int)j->pid);
	j->killed = sig;
}

/* The deadline passed: SIGTERM, then SIGKILL HOOK_KILL_GRACE later. */
static void
job_overdue(struct hook_job *j, uint64_t now)
{
	struct hook *h = j->h;

	if (j->killed == SIGKILL || now < j->deadline)
		return;
	if (j->killed == 0) {
		j->at_stop = h->stopping && now >= h->stop_deadline;
		log_debug("on_file %s: %s, SIGTERM to pid %d", j->path,
		    j->at_stop ? "the daemon stops" : "timed out", (int)j->pid);
		job_signal(j, SIGTERM);
		j->deadline = now + HOOK_KILL_GRACE;
	} else
		job_signal(j, SIGKILL);
}

static void job_done(struct hook_job *j, int status);
static void pump(struct hook *h);

static void
on_job_timer(evutil_socket_t fd, short what, void *arg)
{
	struct hook_job *j = arg;
	struct hook *h = j->h;
	uint64_t now = mono_ns();
	int status;

	/* It may have ended in time, its SIGCHLD not yet handled: not a timeout. */
	if (waitpid(j->pid, &status, WNOHANG) == j->pid) {
		job_done(j, status);
		pump(h);
		return;
	}
	job_overdue(j, now);
	if (j->killed != SIGKILL)
		set_timer(j, now);
}

static void
describe_status(char *buf, size_t len, int status)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "wait status %#x", (unsigned)status);
}

/* A child ended: count and log it, then forget it. */
static void
job_done(struct hook_job *j, int status)
{
	struct hook *h = j->h;
	char st[80], t[32];

	describe_status(st, sizeof st, status);
	if (j->killed != 0) {
		h->st.timed_out++;
		duration_format(t, sizeof t, j->timeout_ns);
		if (j->at_stop)
			RL_LOG(&h->rl_fail, "on_file %s (label %s): stopped, the daemon exits: %s",
			    j->path, j->label, st);
		else
			RL_LOG(&h->rl_fail, "on_file %s (label %s): timed out after %s: %s",
			    j->path, j->label, t, st);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		h->st.succeeded++;
		log_debug("on_file %s (label %s): done", j->path, j->label);
	} else {
		h->st.failed++;
		RL_LOG(&h->rl_fail, "on_file %s (label %s): failed: %s", j->path, j->label, st);
	}
	TAILQ_REMOVE(&h->running, j, entry);
	h->st.running--;
	job_free(j);
}

/* Run it; -1 (counted, logged, freed) if it could not start. */
static int
job_start(struct hook *h, struct hook_job *j)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	sigset_t none, all;
	char *argv[] = {h->command, j->path, NULL};
	uint64_t now = mono_ns();
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawn_file_actions_addchdir_np(&fa, "/");
	posix_spawnattr_init(&sa);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&sa, &none);
	posix_spawnattr_setsigdefault(&sa, &all);
	posix_spawnattr_setflags(
	    &sa, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
	rc = posix_spawn(&j->pid, h->command, &fa, &sa, argv, j->env);
	posix_spawnattr_destroy(&sa);
	posix_spawn_file_actions_destroy(&fa);
	h->st.started++;
	if (rc != 0) {
		h->st.failed++;
		RL_LOG(&h->rl_fail, "on_file %s (label %s): cannot run %s: %s", j->path, j->label,
		    h->command, strerror(rc));
		job_free(j);
		return -1;
	}
	log_debug("on_file %s (label %s): started, pid %d", j->path, j->label, (int)j->pid);
	j->timeout_ns = h->timeout_ns;
	j->deadline = now + h->timeout_ns;
	if (h->stopping && j->deadline > h->stop_deadline)
		j->deadline = h->stop_deadline;
	j->timer = evtimer_new(h->base, on_job_timer, j);
	event_priority_set(j->timer, h->prio);
	set_timer(j, now);
	TAILQ_INSERT_TAIL(&h->running, j, entry);
	h->st.running++;
	return 0;
}

/* Start what waits while jobs are free (none once the daemon's stop deadline passed). */
static void
pump(struct hook *h)
{
	struct hook_job *j;
	uint64_t n;

	if (h->command[0] == '\0' && h->st.queued > 0) {
		n = h->st.queued;
		while ((j = TAILQ_FIRST(&h->queue)) != NULL) {
			TAILQ_REMOVE(&h->queue, j, entry);
			job_free(j);
		}
		h->st.queued = 0;
		h->st.dropped += n;
		log_warnx("on_file turned off: %" PRIu64 " queued files not run", n);
		return;
	}
	while (h->st.running < h->jobs && (j = TAILQ_FIRST(&h->queue)) != NULL) {
		if (h->stopping && mono_ns() >= h->stop_deadline)
			return;
		TAILQ_REMOVE(&h->queue, j, entry);
		h->st.queued--;
		job_start(h, j);
	}
}

/* Collect every child that ended; 1 if any did. */
static int
reap(struct hook *h)
{
	struct hook_job *j, *next;
	int status, any = 0;
	pid_t r;

	/* Our pids only: whatever else this process may start is not ours to reap. */
	for (j = TAILQ_FIRST(&h->running); j != NULL; j = next) {
		next = TAILQ_NEXT(j, entry);
		while ((r = waitpid(j->pid, &status, WNOHANG)) == -1 && errno == EINTR)
			;
		if (r == j->pid || (r == -1 && errno == ECHILD)) {
			if (r == -1)
				status = 0xff00; /* lost: reaped elsewhere; counted as failed */
			job_done(j, status);
			any = 1;
		}
	}
	return any;
}

static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct hook *h = arg;

	if (reap(h))
		pump(h);
}

/* --- the interface --------------------------------------------------------- */

struct hook *
hook_new(struct event_base *base, int prio, const char *spool_dir)
{
	struct hook *h = xcalloc(1, sizeof *h);

	h->base = base;
	h->prio = prio;
	h->spool_dir = xstrdup(spool_dir);
	h->command = xstrdup("");
	h->jobs = 1;
	TAILQ_INIT(&h->queue);
	TAILQ_INIT(&h->running);
	clear_inherited_caps();
	base_env(h);
	h->sigchld = evsignal_new(base, SIGCHLD, on_sigchld, h);
	event_priority_set(h->sigchld, prio);
	event_add(h->sigchld, NULL);
	return h;
}

void
hook_configure(struct hook *h, const struct hook_config *hc)
{
	const char *cmd = hc->command != NULL ? hc->command : "";

	if (strcmp(cmd, h->command) != 0) {
		if (cmd[0] != '\0')
			log_info("on_file: running %s on every finished file", cmd);
		else if (h->command[0] != '\0')
			log_info("on_file: off");
	}
	/*
	 * Checked as the daemon's user (privileges are dropped by now). Only a
	 * warning: the program may be installed after the daemon started.
	 */
	if (cmd[0] != '\0' && access(cmd, X_OK) == -1)
		log_warn("%s: setting on_file: %s is not executable (files are queued and fail)",
		    hc->where != NULL ? hc->where : "on_file", cmd);
	free(h->command);
	h->command = xstrdup(cmd);
	h->jobs = hc->jobs > 0 ? hc->jobs : 1;
	h->timeout_ns = hc->timeout_ns;
	pump(h);
}

int
hook_wanted(const struct hook *h, const char *fpout)
{
	return h->command[0] != '\0' && fpout != NULL && fpout[0] != '\0';
}

void
hook_file(struct hook *h, const json_t *entry)
{
	const char *fpout = json_string_value(json_object_get(entry, "fpout"));
	const char *label = json_string_value(json_object_get(entry, "label"));
	struct hook_job *j;
	char *path;

	if (h->command[0] == '\0' || fpout == NULL || fpout[0] == '\0')
		return;
	xasprintf(&path, "%s/%s", h->spool_dir, fpout);
	if (h->st.queued >= HOOK_QUEUE_MAX) {
		h->st.dropped++;
		RL_LOG(&h->rl_drop,
		    "on_file: %d files wait already: not run for %s (%" PRIu64
		    " not run since start)",
		    HOOK_QUEUE_MAX, path, h->st.dropped);
		free(path);
		return;
	}
	j = xcalloc(1, sizeof *j);
	j->h = h;
	j->path = path;
	j->label = xstrdup(label != NULL ? label : "?");
	j->env = job_env(h, entry);
	TAILQ_INSERT_TAIL(&h->queue, j, entry);
	h->st.queued++;
	pump(h);
}

void
hook_stats(const struct hook *h, struct hook_stats *out)
{
	if (h == NULL)
		memset(out, 0, sizeof *out);
	else
		*out = h->st;
}

void
hook_shutdown(struct hook *h, uint64_t grace_ns)
{
	const struct timespec poll = {0, HOOK_STOP_POLL};
	struct hook_job *j;
	uint64_t now = mono_ns(), n = 0;
	char t[32];

	h->stopping = 1;
	h->stop_deadline = now + grace_ns;
	if (h->st.running == 0 && h->st.queued == 0)
		return;
	duration_format(t, sizeof t, grace_ns);
	log_info("on_file: %" PRIu64 " running, %" PRIu64 " queued: waiting up to %s",
	    h->st.running, h->st.queued, t);
	TAILQ_FOREACH(j, &h->running, entry)
	{
		if (j->deadline > h->stop_deadline && j->killed == 0)
			j->deadline = h->stop_deadline;
	}
	for (;;) {
		reap(h);
		pump(h);
		now = mono_ns();
		if (h->st.running == 0 && (h->st.queued == 0 || now >= h->stop_deadline))
			break;
		TAILQ_FOREACH(j, &h->running, entry)
		{
			job_overdue(j, now);
		}
		nanosleep(&poll, NULL);
	}
	while ((j = TAILQ_FIRST(&h->queue)) != NULL) {
		if (++n <= HOOK_NAMED_STOP)
			log_warnx("on_file not run for %s (label %s): the daemon stops", j->path,
			    j->label);
		TAILQ_REMOVE(&h->queue, j, entry);
		job_free(j);
	}
	h->st.queued = 0;
	h->st.dropped += n;
	if (n > 0)
		log_warnx("on_file: %" PRIu64 " queued files not run: the daemon stops", n);
}

void
hook_free(struct hook *h)
{
	struct hook_job *j;
	int status;

	if (h == NULL)
		return;
	while ((j = TAILQ_FIRST(&h->running)) != NULL) {
		job_signal(j, SIGKILL);
		while (waitpid(j->pid, &status, 0) == -1 && errno == EINTR)
			;
		TAILQ_REMOVE(&h->running, j, entry);
		job_free(j);
	}
	while ((j = TAILQ_FIRST(&h->queue)) != NULL) {
		TAILQ_REMOVE(&h->queue, j, entry);
		job_free(j);
	}
	if (h->sigchld != NULL)
		event_free(h->sigchld);
	strv_free(h->env);
	free(h->command);
	free(h->spool_dir);
	free(h);
}
