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
 * on_file_timeout, then SIGTERM to its process group, then SIGKILL after
 * HOOK_KILL_GRACE.
 *
 * What the child inherits: no capability (hook_new clears the ambient and
 * inheritable sets; the daemon's own effective set stays, since it never
 * execs anything else), no descriptor but stdout and stderr (closefrom 3,
 * stdin from /dev/null), default dispositions and an empty signal mask
 * (the daemon ignores SIGPIPE and libevent catches others), a session and
 * so a process group of its own, whose id is its pid (so that a timeout
 * kills what a script started too, and a ^C on the daemon's terminal
 * reaches the daemon only), "/" as its folder, and the daemon's
 * environment without systemd's notification variables.
 *
 * A command's end is not its group's: a child that ignores SIGTERM, or a
 * "cmd &" before "exit 0", stays in the group after the command was
 * reaped. Such a group moves to the list "left" and is watched until it is
 * empty; the timeout is the group's, so at the command's deadline the group
 * gets SIGTERM and HOOK_KILL_GRACE later SIGKILL, whether the command ended
 * or not, and the daemon's stop does the same to every group after its
 * grace. A group is signalled by its id, the command's pid, also once the
 * command was reaped: the kernel gives that number to no new process while
 * a member of the group (a zombie included) is left, and whether one is
 * left is checked every HOOK_GROUP_POLL, so a signal could reach a stranger
 * only if the pids went round in between. What leaves the group goes out of
 * reach: a process that calls setsid (a daemon) or moves to a group of its
 * own (setpgid, as a shell with job control does for its jobs). Under
 * systemd the unit's cgroup still holds it (KillMode=control-group, the
 * default, ends it when the service stops).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "duration.h"
#include "hook.h"
#include "hookenv.h"
#include "log.h"
#include "xmalloc.h"

#define NS              1000000000ULL
#define HOOK_KILL_GRACE (2 * NS)           /* from SIGTERM to SIGKILL */
#define HOOK_KILL_WAIT  (1 * NS)           /* after SIGKILL, a group is watched this long at most */
#define HOOK_GROUP_POLL (200 * 1000000ULL) /* a group whose command ended: is it empty? */
#define HOOK_LOG_WINDOW (10 * NS)          /* rate limit: at most HOOK_LOG_LINES lines ... */
#define HOOK_LOG_LINES  10                 /* ... of one kind per window */
#define HOOK_NAMED_STOP 20                 /* files not run at shutdown named one by one */
#define HOOK_STOP_POLL  (20 * 1000000L)

struct hook_job {
	TAILQ_ENTRY(hook_job) entry;
	struct hook *h;
	char *path;          /* absolute */
	char *label;         /* for messages */
	char **env;          /* NULL-terminated, owned; NULL once started */
	pid_t pid;           /* the command's, and its process group's id */
	int ended;           /* the command was reaped; its group lives on (h->left) */
	int killed;          /* 0, or the last signal sent to the group (SIGTERM, SIGKILL) */
	int at_stop;         /* killed because the daemon stops */
	uint64_t deadline;   /* monotonic: the next signal is due then (after SIGKILL: give up) */
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
	struct hook_jobs left; /* groups of commands that ended, not yet empty */
	uint64_t nleft;
	struct hook_stats st; /* running and queued are the lists' lengths */
	struct event *sigchld;
	char **env; /* the base environment, NULL-terminated (hookenv.h) */
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

/* --- jobs ---------------------------------------------------------------- */

static void
job_free(struct hook_job *j)
{
	if (j->timer != NULL)
		event_free(j->timer);
	hookenv_free(j->env);
	free(j->path);
	free(j->label);
	free(j);
}

/* At the deadline; a group whose command ended is looked at every HOOK_GROUP_POLL too. */
static void
set_timer(struct hook_job *j, uint64_t now)
{
	uint64_t at = j->deadline, left;
	struct timeval tv;

	if (j->ended && at > now + HOOK_GROUP_POLL)
		at = now + HOOK_GROUP_POLL;
	left = at > now ? at - now : 0;
	tv.tv_sec = (time_t)(left / NS);
	tv.tv_usec = (suseconds_t)(left % NS / 1000);
	event_add(j->timer, &tv);
}

/* Its process group: what a script started goes too, even once the script ended. */
static void
job_signal(struct hook_job *j, int sig)
{
	if (kill(-j->pid, sig) == -1 && errno != ESRCH)
		log_warn("on_file: kill process group %d", (int)j->pid);
	j->killed = sig;
}

/*
 * Whether anything is left of the group of a command that ended. A member
 * the daemon adopted (as PID 1 of a container) is reaped here, or its
 * zombie would keep the group; other zombies count until their parent
 * reaps them, which keeps the id theirs meanwhile.
 */
static int
group_alive(struct hook_job *j)
{
	int status;

	while (waitpid(-j->pid, &status, WNOHANG) > 0)
		;
	return kill(-j->pid, 0) == 0 || errno == EPERM;
}

/*
 * Whether a process of group pgid is more than a zombie: 1, or 0 if none
 * is; -1 if /proc cannot say. Asked only when a group is due a signal:
 * zombies whose parent does not reap them (PID 1 of some containers) keep
 * a group there for kill(2), though nothing is left to kill.
 */
static int
group_running(pid_t pgid)
{
	char path[300], buf[512], *p, state;
	struct dirent *de;
	int fd, found = 0;
	long pgrp, ppid;
	ssize_t n;
	DIR *d;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* "pid (comm) state ppid pgrp ...": comm may hold anything, ')' too. */
		if ((p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 1, " %c %ld %ld", &state, &ppid, &pgrp) != 3)
			continue;
		found = pgrp == (long)pgid && state != 'Z' && state != 'X';
	}
	closedir(d);
	return found;
}

/*
 * The deadline passed: SIGTERM to the group, then SIGKILL HOOK_KILL_GRACE
 * later. 1: a group whose command ended is still there HOOK_KILL_WAIT after
 * SIGKILL (members not ours to kill, zombies nobody reaps): give up on it.
 */
static int
job_overdue(struct hook_job *j, uint64_t now)
{
	struct hook *h = j->h;
	char t[32];

	if (now < j->deadline)
		return 0;
	switch (j->killed) {
	case 0:
		j->at_stop = h->stopping && now >= h->stop_deadline;
		if (!j->ended)
			log_debug("on_file %s: %s, SIGTERM to process group %d", j->path,
			    j->at_stop ? "the daemon stops" : "timed out", (int)j->pid);
		else if (j->at_stop)
			RL_LOG(&h->rl_fail,
			    "on_file %s (label %s): its command ended, what it started still "
			    "runs: SIGTERM to process group %d, the daemon exits",
			    j->path, j->label, (int)j->pid);
		else {
			duration_format(t, sizeof t, j->timeout_ns);
			RL_LOG(&h->rl_fail,
			    "on_file %s (label %s): its command ended, what it started still "
			    "runs after %s: SIGTERM to process group %d",
			    j->path, j->label, t, (int)j->pid);
		}
		job_signal(j, SIGTERM);
		j->deadline = now + HOOK_KILL_GRACE;
		return 0;
	case SIGTERM:
		duration_format(t, sizeof t, HOOK_KILL_GRACE);
		RL_LOG(&h->rl_fail,
		    "on_file %s (label %s): process group %d still there %s after "
		    "SIGTERM: SIGKILL",
		    j->path, j->label, (int)j->pid, t);
		job_signal(j, SIGKILL);
		j->deadline = now + HOOK_KILL_WAIT;
		return 0;
	default:
		return j->ended;
	}
}

/* A group whose command ended is empty (gone), or given up on: forget it. */
static void
left_done(struct hook_job *j, int gone)
{
	struct hook *h = j->h;

	if (gone)
		log_debug(
		    "on_file %s: process group %d is gone (or zombies only)", j->path, (int)j->pid);
	else
		log_warnx("on_file %s (label %s): process group %d still there after SIGKILL, "
		          "no longer watched",
		    j->path, j->label, (int)j->pid);
	TAILQ_REMOVE(&h->left, j, entry);
	h->nleft--;
	job_free(j);
}

/* A group whose command ended: gone, overdue, or watched on; 1 if it was forgotten. */
static int
left_check(struct hook_job *j, uint64_t now)
{
	if (!group_alive(j) || (now >= j->deadline && group_running(j->pid) == 0)) {
		left_done(j, 1);
		return 1;
	}
	if (job_overdue(j, now)) {
		left_done(j, 0);
		return 1;
	}
	return 0;
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

	if (j->ended) {
		if (!left_check(j, now))
			set_timer(j, now);
		return;
	}
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

/* A command ended: count and log it; then watch what it left in its group, or forget it. */
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
	j->ended = 1;
	if (!group_alive(j)) {
		job_free(j);
		return;
	}
	log_debug("on_file %s: its command ended, process group %d lives on", j->path, (int)j->pid);
	TAILQ_INSERT_TAIL(&h->left, j, entry);
	h->nleft++;
	set_timer(j, mono_ns());
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
	hookenv_free(j->env);
	j->env = NULL;
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
	TAILQ_INIT(&h->left);
	hookenv_clear_caps();
	h->env = hookenv_base();
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
	j->env = hookenv_job(h->env, entry);
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
	struct hook_job *j, *next;
	uint64_t now = mono_ns(), n = 0, last;
	char t[32];

	h->stopping = 1;
	h->stop_deadline = now + grace_ns;
	/*
	 * Every group not yet killed gets SIGTERM at the stop deadline at the
	 * latest, so the last SIGKILL is due HOOK_KILL_GRACE later; past the
	 * wait after it (and a few polls), what is left does not die.
	 */
	last = h->stop_deadline + HOOK_KILL_GRACE + HOOK_KILL_WAIT + 10 * HOOK_STOP_POLL;
	if (h->st.running == 0 && h->st.queued == 0 && h->nleft == 0)
		return;
	duration_format(t, sizeof t, grace_ns);
	if (h->nleft > 0)
		log_info("on_file: %" PRIu64 " running, %" PRIu64 " queued, %" PRIu64
		         " process groups of ended commands: waiting up to %s",
		    h->st.running, h->st.queued, h->nleft, t);
	else
		log_info("on_file: %" PRIu64 " running, %" PRIu64 " queued: waiting up to %s",
		    h->st.running, h->st.queued, t);
	TAILQ_FOREACH(j, &h->running, entry)
	{
		if (j->deadline > h->stop_deadline && j->killed == 0)
			j->deadline = h->stop_deadline;
	}
	TAILQ_FOREACH(j, &h->left, entry)
	{
		if (j->deadline > h->stop_deadline && j->killed == 0)
			j->deadline = h->stop_deadline;
	}
	for (;;) {
		reap(h);
		pump(h);
		now = mono_ns();
		for (j = TAILQ_FIRST(&h->left); j != NULL; j = next) {
			next = TAILQ_NEXT(j, entry);
			left_check(j, now);
		}
		if (h->st.running == 0 && h->nleft == 0 &&
		    (h->st.queued == 0 || now >= h->stop_deadline))
			break;
		if (now >= last) {
			log_warnx("on_file: %" PRIu64 " commands, %" PRIu64
			          " process groups still there after SIGKILL",
			    h->st.running, h->nleft);
			break;
		}
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
	while ((j = TAILQ_FIRST(&h->left)) != NULL) {
		if (group_alive(j))
			job_signal(j, SIGKILL);
		TAILQ_REMOVE(&h->left, j, entry);
		job_free(j);
	}
	while ((j = TAILQ_FIRST(&h->queue)) != NULL) {
		TAILQ_REMOVE(&h->queue, j, entry);
		job_free(j);
	}
	if (h->sigchld != NULL)
		event_free(h->sigchld);
	hookenv_free(h->env);
	free(h->command);
	free(h->spool_dir);
	free(h);
}
