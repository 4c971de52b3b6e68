/*
 * filer.c: the hand-off of the output side's file system work (files.c)
 * and index lines to a thread of its own (or inline).
 *
 * The writer hands over jobs (write these whole records to that file;
 * finish that file and index it) through one queue; one thread runs them in
 * order, so a file's records, its rename and its index line never pass one
 * another. Ownership is simple: a job's buffer, an ifile and an index record
 * belong to the writer until handed over, then to the filer, and finished
 * entries come back through the done list. The only state both threads
 * touch is the queue, the done list and the counters.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "filer.h"
#include "files.h"
#include "index.h"
#include "log.h"
#include "filejob.h"
#include "shared.h"
#include "spoolcat.h"
#include "xmalloc.h"

/*
 * What every lane shares: the disk, the queue and its thread. The lanes
 * are the producers (a capture worker's writer each, filer_lane); their
 * jobs meet in one queue, in the order they were handed over, and one
 * thread runs them: the disk has one owner whatever the workers.
 */
struct filer_core {
	int threaded;
	/* The file system side: the filer thread's alone (or the caller's, inline). */
	struct filer_disk d;

	/* The queue, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t work;     /* a batch was handed over, or stop */
	pthread_cond_t progress; /* jobs were done (signalled only if someone waits) */
	struct job_list queue;
	uint64_t seq; /* of the last job handed over: the queue's order */
	int sleeping; /* the filer waits for work: a hand-over must wake it */
	int stop;
	pthread_t thread;
	_Atomic uint64_t done_seq; /* seq of the last job done */
	_Atomic unsigned waiters;  /* lanes waiting on progress */
	LIST_HEAD(, filer) lanes;  /* under lock */
};

/* A lane: one producer's side (the writer's thread alone touches it but for the done list). */
struct filer {
	struct filer_core *core;
	int owner; /* made the core (filer_new): frees it, last */
	LIST_ENTRY(filer) entry;

	/*
	 * The writer's batch: jobs not yet handed over. Handing over one job
	 * at a time cost a lock and a wake-up per flow: most of the futex
	 * calls of a run.
	 */
	struct job_list batch;
	unsigned bjobs;
	size_t bbytes;
	uint64_t last_seq;         /* seq of this lane's last job handed over */
	_Atomic uint64_t inflight; /* bytes of buffers made and not yet done */
	_Atomic unsigned waiting;  /* this lane waits on progress */
	/* What a waiting writer waits for: woken only when it holds, not at every step. */
	_Atomic uint64_t want_seq;      /* done_seq at least this (filer_sync) */
	_Atomic uint64_t want_inflight; /* inflight at most this (back pressure) */

	/*
	 * Done jobs on their way back: the filer's own list, then the shared
	 * one. A job goes back whole (its buffer, its file, its index record)
	 * to be freed by the thread that allocated it: freeing another
	 * thread's memory contends for its malloc arena, and that lock was
	 * most of the futex calls left once hand-overs were batched.
	 */
	struct job_list mine; /* done, not yet handed back (the filer thread's) */
	pthread_mutex_t dlock;
	struct job_list done;
	struct job_list held;  /* taken back, not yet reported (filer_defer_reports) */
	uint64_t held_bytes;   /* their cost (FINISH_COST and frame text): in the stats' buffered */
	uint64_t shared_due;   /* a shared capture our J_ROTATE left alone: its time (0: none) */
	filer_done_cb done_cb; /* what became of finished flows goes to it (filer_poll) */
	void *done_arg;
	int defer; /* reports only from filer_report: another thread's, under the caller's lock */
	int efd;

	struct chunk_pool *pool; /* the writer's chunks (used on the writer's thread only) */
};

/* --- the filer thread's side --------------------------------------------- */

static void lane_flush(struct filer *fl);

/*
 * Done jobs collect on the filer's side and go back in one piece per
 * batch (done_flush), with one eventfd write when the list the writer
 * drains was empty: not a lock and a system call per flow.
 */
static void
done_push(struct filer *fl, struct job *j)
{
	STAILQ_INSERT_TAIL(&fl->mine, j, link);
	if (!fl->core->threaded)
		lane_flush(fl);
}

static void
lane_flush(struct filer *fl)
{
	uint64_t one = 1;
	int was_empty;

	if (STAILQ_EMPTY(&fl->mine))
		return;
	pthread_mutex_lock(&fl->dlock);
	was_empty = STAILQ_EMPTY(&fl->done);
	STAILQ_CONCAT(&fl->done, &fl->mine); /* leaves mine empty */
	pthread_mutex_unlock(&fl->dlock);
	if (was_empty && fl->efd != -1 && write(fl->efd, &one, sizeof one) == -1 && errno != EAGAIN)
		log_warn("eventfd");
}

/* Every lane's done jobs go back (the lanes' list is under the lock). */
static void
done_flush(struct filer_core *core)
{
	struct filer *fl;

	pthread_mutex_lock(&core->lock);
	LIST_FOREACH(fl, &core->lanes, entry)
	lane_flush(fl);
	pthread_mutex_unlock(&core->lock);
}

/* What a done job holds, freed by the thread that allocated it (filer_poll). */
static void
job_free(struct filer *fl, struct job *j)
{
	size_t i;

	for (i = 0; i < j->ngone; i++)
		free(j->gone[i]);
	free(j->gone);
	if (j->op == J_FINISH)
		files_ifile_free(j->io);
	free(j->rec);
	free((char *)j->done.frames);
	chunk_recycle(fl->pool, j->freed);
	free(j);
}

/* --- the thread ------------------------------------------------------------ */

static int
lane_satisfied(struct filer *fl)
{
	return atomic_load(&fl->core->done_seq) >= atomic_load(&fl->want_seq) &&
	       atomic_load(&fl->inflight) <= atomic_load(&fl->want_inflight);
}

/* Tell a waiting writer (filer_sync, back pressure) that what it waits for holds. */
static void
progress_made(struct filer_core *core)
{
	struct filer *fl;

	if (atomic_load(&core->waiters) == 0)
		return;
	pthread_mutex_lock(&core->lock);
	LIST_FOREACH(fl, &core->lanes, entry)
	{
		if (atomic_load(&fl->waiting) > 0 && lane_satisfied(fl)) {
			pthread_cond_broadcast(&core->progress);
			break;
		}
	}
	pthread_mutex_unlock(&core->lock);
}

static void *
filer_main(void *arg)
{
	struct filer_core *core = arg;
	struct job_list batch;
	struct job *j;
	struct timespec again;
	uint64_t last = 0;
	unsigned n;
	int retry, due, woke, ms;

	pthread_mutex_lock(&core->lock);
	for (;;) {
		while (STAILQ_EMPTY(&core->queue) && !core->stop) {
			if (spoolcat_busy(core->d.cat)) {
				pthread_mutex_unlock(&core->lock);
				background_slice(&core->d, 1);
				pthread_mutex_lock(&core->lock);
				continue;
			}
			/*
			 * Lines the disk refused, or a prune it refused: try again
			 * every second until it takes them. Rows waiting for their
			 * commit: until it is due.
			 */
			retry = core->d.index_again;
			due = spoolcat_commit_due(core->d.cat);
			core->sleeping = 1;
			if (!retry && due < 0)
				pthread_cond_wait(&core->work, &core->lock);
			else {
				clock_gettime(CLOCK_REALTIME, &again);
				ms = retry && (due < 0 || due > 1000) ? 1000 : due;
				again.tv_nsec += (long)ms * 1000000L;
				again.tv_sec += again.tv_nsec / 1000000000L;
				again.tv_nsec %= 1000000000L;
				woke = pthread_cond_timedwait(&core->work, &core->lock, &again) !=
				       ETIMEDOUT;
				retry = retry && !woke;
			}
			core->sleeping = 0;
			if (retry || due >= 0) {
				pthread_mutex_unlock(&core->lock);
				if (retry)
					index_push(&core->d, 1);
				spoolcat_commit_due(core->d.cat);
				pthread_mutex_lock(&core->lock);
			}
		}
		if (STAILQ_EMPTY(&core->queue) && core->stop)
			break;
		STAILQ_INIT(&batch);
		STAILQ_CONCAT(&batch, &core->queue);
		pthread_mutex_unlock(&core->lock);
		for (n = 1; (j = STAILQ_FIRST(&batch)) != NULL; n++) {
			STAILQ_REMOVE_HEAD(&batch, link);
			run_job(&core->d, j);
			atomic_fetch_sub(&j->lane->inflight, j->cap);
			last = j->seq;
			done_push(j->lane, j);
			index_push_full(&core->d);
			/*
			 * A writer held by back pressure need not wait for the whole
			 * batch; and what is done goes back now, not at the batch's
			 * end: the budget counts a done job's memory as free, and a
			 * batch can be the whole budget (c200k held up to 2.5 times
			 * its write budget in done jobs not yet handed back).
			 */
			if (n % 16 == 0) {
				done_flush(core);
				progress_made(core);
			}
		}
		/* The queue ran dry: index lines reach the file, finished flows go back. */
		index_push(&core->d, 0);
		done_flush(core);
		background_slice(&core->d, 0);
		/*
		 * Done only now that the jobs went back: filer_sync returns when
		 * done_seq reaches its job and then polls, which must find them
		 * (a submit's reply lists what it filed from them).
		 */
		atomic_store(&core->done_seq, last);
		progress_made(core);
		pthread_mutex_lock(&core->lock);
	}
	pthread_mutex_unlock(&core->lock);
	return NULL;
}

/*
 * Hand the writer's batch to the filer: one lock, and a wake-up only if it
 * sleeps. The jobs take their places in the queue now: a lane's sync waits
 * for its last one, and every lane's jobs before it are done by then too.
 */
static void
hand_over(struct filer *fl)
{
	struct filer_core *core = fl->core;
	struct job *j;
	int wake;

	if (STAILQ_EMPTY(&fl->batch))
		return;
	pthread_mutex_lock(&core->lock);
	STAILQ_FOREACH(j, &fl->batch, link)
	j->seq = ++core->seq;
	fl->last_seq = core->seq;
	STAILQ_CONCAT(&core->queue, &fl->batch); /* leaves the batch empty */
	wake = core->sleeping;
	core->sleeping = 0; /* one wake-up is enough */
	pthread_mutex_unlock(&core->lock);
	/* After the unlock: woken while we held it, the filer would block on the lock at once. */
	if (wake)
		pthread_cond_signal(&core->work);
	fl->bjobs = 0;
	fl->bbytes = 0;
}

#define BATCH_JOBS  256
#define BATCH_BYTES (1024 * 1024)

static void
enqueue(struct filer *fl, struct job *j)
{
	j->lane = fl;
	if (!fl->core->threaded) {
		run_job(&fl->core->d, j);
		done_push(fl, j);
		return;
	}
	atomic_fetch_add(&fl->inflight, j->cap);
	STAILQ_INSERT_TAIL(&fl->batch, j, link);
	fl->bbytes += j->len;
	if (++fl->bjobs >= BATCH_JOBS || fl->bbytes >= BATCH_BYTES)
		hand_over(fl);
}

/*
 * Wait, holding nothing, until the filer has done job seq (0: any) and
 * holds at most inflight bytes; it wakes us when that holds. What it has
 * done meanwhile is taken back (filer_poll): its buffers are freed here,
 * or the memory the budget counts as free would still be held.
 */
static void
wait_until(struct filer *fl, uint64_t seq, uint64_t inflight)
{
	struct filer_core *core = fl->core;

	hand_over(fl);
	for (;;) {
		filer_poll(fl);
		if (atomic_load(&core->done_seq) >= seq && atomic_load(&fl->inflight) <= inflight)
			return;
		pthread_mutex_lock(&core->lock);
		atomic_store(&fl->want_seq, seq);
		atomic_store(&fl->want_inflight, inflight);
		atomic_fetch_add(&fl->waiting, 1);
		atomic_fetch_add(&core->waiters, 1);
		if (!lane_satisfied(fl))
			pthread_cond_wait(&core->progress, &core->lock);
		atomic_fetch_sub(&core->waiters, 1);
		atomic_fetch_sub(&fl->waiting, 1);
		pthread_mutex_unlock(&core->lock);
	}
}

/* --- the writer's side ------------------------------------------------------ */

static struct filer *
lane_new(struct filer_core *core, int owner, char **cause)
{
	struct filer *fl;

	fl = xcalloc(1, sizeof *fl);
	fl->core = core;
	fl->owner = owner;
	fl->efd = -1;
	fl->pool = chunk_pool_new();
	STAILQ_INIT(&fl->batch);
	STAILQ_INIT(&fl->mine);
	STAILQ_INIT(&fl->done);
	STAILQ_INIT(&fl->held);
	pthread_mutex_init(&fl->dlock, NULL);
	if (core->threaded || owner) {
		if ((fl->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
			xasprintf(cause, "eventfd: %s", strerror(errno));
			chunk_pool_free(fl->pool);
			pthread_mutex_destroy(&fl->dlock);
			free(fl);
			return NULL;
		}
	}
	pthread_mutex_lock(&core->lock);
	LIST_INSERT_HEAD(&core->lanes, fl, entry);
	pthread_mutex_unlock(&core->lock);
	return fl;
}

/* Everything the lane made is done: free what came back and the lane. */
static void
lane_free(struct filer *fl)
{
	struct filer_core *core = fl->core;
	struct job *j;

	pthread_mutex_lock(&core->lock);
	LIST_REMOVE(fl, entry);
	pthread_mutex_unlock(&core->lock);
	lane_flush(fl);
	STAILQ_CONCAT(&fl->held, &fl->done);
	while ((j = STAILQ_FIRST(&fl->held)) != NULL) {
		STAILQ_REMOVE_HEAD(&fl->held, link);
		job_free(fl, j);
	}
	chunk_pool_free(fl->pool);
	if (fl->efd != -1)
		close(fl->efd);
	pthread_mutex_destroy(&fl->dlock);
	free(fl);
}

static void
core_free(struct filer_core *core)
{
	shared_free(core->d.sh); /* filed, its row in the catalog's last batch */
	files_free(core->d.fs);
	spoolcat_close(core->d.cat);
	index_close(core->d.idx);
	pthread_mutex_destroy(&core->lock);
	pthread_cond_destroy(&core->work);
	pthread_cond_destroy(&core->progress);
	free(core);
}

struct filer *
filer_new(
    int outdirfd, const char *outdir, const struct filer_config *cfg, int threaded, char **cause)
{
	struct filer_core *core;
	struct filer *fl;

	core = xcalloc(1, sizeof *core);
	STAILQ_INIT(&core->queue);
	LIST_INIT(&core->lanes);
	pthread_mutex_init(&core->lock, NULL);
	pthread_cond_init(&core->work, NULL);
	pthread_cond_init(&core->progress, NULL);
	core->threaded = threaded;
	if ((fl = lane_new(core, 1, cause)) == NULL) {
		core_free(core);
		return NULL;
	}
	if (!threaded) { /* inline: nothing to poll */
		close(fl->efd);
		fl->efd = -1;
	}
	core->threaded = 0; /* until the thread runs */
	if ((core->d.fs = files_new(outdirfd, outdir, cfg, cause)) == NULL)
		goto fail;
	/* index.jsonl is ours alone, as every file once renamed: one owner of the disk. */
	if ((core->d.idx = index_open(outdirfd, outdir, cause)) == NULL)
		goto fail;
	/* A catalog of files, where there are files: format none writes the index alone. */
	if (cfg->catalog && cfg->format != FMT_NONE &&
	    (core->d.cat = spoolcat_open(outdirfd, outdir, cfg->partition_files, cause)) == NULL)
		goto fail;
	core->d.sh = shared_new(core->d.fs, core->d.cat, cfg->unanswered_bytes);
	if (threaded) {
		if (pthread_create(&core->thread, NULL, filer_main, core) != 0) {
			xasprintf(cause, "cannot start the file writer thread");
			goto fail;
		}
		core->threaded = 1;
	}
	return fl;
fail:
	filer_free(fl);
	return NULL;
}

struct filer *
filer_lane(struct filer *owner, char **cause)
{
	return lane_new(owner->core, 0, cause);
}

void
filer_free(struct filer *fl)
{
	struct filer_core *core;

	if (fl == NULL)
		return;
	core = fl->core;
	if (!fl->owner) {
		/* Its jobs done and back, the queue no longer needs it. */
		if (core->threaded) {
			hand_over(fl);
			wait_until(fl, fl->last_seq, 0);
		}
		lane_free(fl);
		return;
	}
	if (core->threaded) {
		hand_over(fl);
		pthread_mutex_lock(&core->lock);
		core->stop = 1;
		pthread_cond_signal(&core->work);
		pthread_mutex_unlock(&core->lock);
		pthread_join(core->thread, NULL);
	}
	if (LIST_FIRST(&core->lanes) != fl || LIST_NEXT(fl, entry) != NULL)
		log_warnx("filer: freed before its other lanes");
	lane_free(fl);
	core_free(core);
}

/* A job for the index: handed over at once, it waits for no batch. */
static void
index_job(struct filer *fl, struct job *j)
{
	enqueue(fl, j);
	if (fl->core->threaded)
		hand_over(fl);
}

void
filer_retain(struct filer *fl, uint64_t max_bytes, uint64_t max_age_ns, uint64_t now_ns)
{
	struct job *j = xcalloc(1, sizeof *j);

	j->op = J_RETAIN;
	j->max_bytes = max_bytes;
	j->max_age_ns = max_age_ns;
	j->now_ns = now_ns;
	index_job(fl, j);
}

void
filer_reconcile(struct filer *fl)
{
	struct job *j = xcalloc(1, sizeof *j);

	j->op = J_RECONCILE;
	index_job(fl, j);
}

void
filer_spool(const struct filer *fl, struct spool_figures *out)
{
	spoolcat_usage(fl->core->d.cat, out);
}

void
filer_index_reopen(struct filer *fl)
{
	struct job *j = xcalloc(1, sizeof *j);

	j->op = J_REOPEN;
	index_job(fl, j);
}

void
filer_setlimits(struct filer *fl, unsigned max_open_files)
{
	files_set_max_open(fl->core->d.fs, max_open_files);
}

struct ifile *
filer_open(struct filer *fl, const struct flow *f, uint32_t linktype, uint32_t snaplen,
    const char *ifname, struct fname *name)
{
	return files_ifile(fl->core->d.fs, f, linktype, snaplen, ifname, name);
}

struct chunk_pool *
filer_pool(struct filer *fl)
{
	return fl->pool;
}

void
filer_write(struct filer *fl, struct ifile *io, const struct chunk_chain *chain, size_t len,
    size_t cap, uint64_t nrec)
{
	struct job *j = xcalloc(1, sizeof *j);

	j->nrec = nrec;
	j->op = J_WRITE;
	j->io = io;
	j->chain = *chain;
	j->len = len;
	j->cap = cap + sizeof *j;
	enqueue(fl, j);
}

void
filer_finish(
    struct filer *fl, struct ifile *io, const struct flow *f, struct index_record *rec, int ended)
{
	struct job *j = job_finish_new(J_FINISH, f, rec, ended);

	j->io = io;
	enqueue(fl, j);
}

void
filer_shared(struct filer *fl, const struct flow *f, const struct chunk_chain *chain, size_t len,
    size_t cap, uint64_t nrec, uint32_t linktype, uint32_t snaplen, struct index_record *rec,
    int count)
{
	struct job *j = job_finish_new(J_SHARED, f, rec, 1);

	j->chain = *chain;
	j->len = len;
	j->nrec = nrec;
	j->linktype = linktype;
	j->snaplen = snaplen;
	j->count = (uint8_t)count;
	j->cap += cap;
	enqueue(fl, j);
}

void
filer_shared_rotate(struct filer *fl, uint64_t since)
{
	struct job *j = xcalloc(1, sizeof *j);

	j->op = J_ROTATE;
	j->last_ns = since;
	enqueue(fl, j);
}

uint64_t
filer_shared_due(struct filer *fl)
{
	uint64_t t = fl->shared_due;

	fl->shared_due = 0;
	return t;
}

void
filer_sync(struct filer *fl)
{
	struct job *j;

	if (!fl->core->threaded) {
		index_push(&fl->core->d, 0);
		return;
	}
	j = xcalloc(1, sizeof *j);
	j->op = J_FLUSH;
	enqueue(fl, j);
	hand_over(fl);
	wait_until(fl, fl->last_seq, UINT64_MAX);
}

void
filer_batch_end(struct filer *fl)
{
	if (fl->core->threaded)
		hand_over(fl);
	else
		index_push(&fl->core->d, 0); /* inline: nobody else writes the lines out */
}

uint64_t
filer_inflight(struct filer *fl)
{
	return fl->core->threaded ? atomic_load(&fl->inflight) : 0;
}

uint64_t
filer_held(const struct filer *fl)
{
	return fl->held_bytes;
}

void
filer_wait_below(struct filer *fl, uint64_t limit)
{
	/*
	 * The common case, far below the budget, costs one atomic load. Over
	 * it, wait until an eighth of it is free again: a disk that is slower
	 * than the packets would otherwise wake us for every file it makes.
	 */
	if (fl->core->threaded && atomic_load(&fl->inflight) > limit)
		wait_until(fl, 0, limit - limit / 8);
}

void
filer_set_done(struct filer *fl, filer_done_cb cb, void *arg)
{
	fl->done_cb = cb;
	fl->done_arg = arg;
}

/* Done jobs back from the filer: their memory freed now, finished flows held for their report. */
static void
take_back(struct filer *fl)
{
	struct job_list list;
	struct job *j;

	pthread_mutex_lock(&fl->dlock);
	STAILQ_INIT(&list);
	STAILQ_CONCAT(&list, &fl->done);
	pthread_mutex_unlock(&fl->dlock);
	while ((j = STAILQ_FIRST(&list)) != NULL) {
		STAILQ_REMOVE_HEAD(&list, link);
		if ((j->op != J_FINISH && j->op != J_SHARED) || j->rec == NULL) {
			if (j->op == J_ROTATE && j->last_ns != 0) /* the latest capture spared */
				fl->shared_due = j->last_ns;
			job_free(fl, j);
			continue;
		}
		chunk_recycle(fl->pool, j->freed); /* the bulk of it */
		j->freed = NULL;
		fl->held_bytes += j->cap;
		STAILQ_INSERT_TAIL(&fl->held, j, link);
	}
}

/* Reports taken out of a lane: run without the worker's lock, freed with it. */
struct filer_reports {
	struct job_list list;
};

struct filer_reports *
filer_reports_take(struct filer *fl)
{
	struct filer_reports *r = xmalloc(sizeof *r);
	uint64_t n;

	/* The reporter's wake-up, read by it alone: a writer's take_back must not eat it. */
	if (fl->efd != -1 && read(fl->efd, &n, sizeof n) == -1 && errno != EAGAIN)
		log_warn("eventfd");
	take_back(fl);
	STAILQ_INIT(&r->list);
	STAILQ_CONCAT(&r->list, &fl->held);
	fl->held_bytes = 0;
	return r;
}

void
filer_reports_run(const struct filer *fl, struct filer_reports *r)
{
	struct job *j;

	STAILQ_FOREACH(j, &r->list, link)
	if (fl->done_cb != NULL)
		fl->done_cb(&j->done, fl->done_arg);
}

void
filer_reports_end(struct filer *fl, struct filer_reports *r)
{
	struct job *j;

	while ((j = STAILQ_FIRST(&r->list)) != NULL) {
		STAILQ_REMOVE_HEAD(&r->list, link);
		job_free(fl, j);
	}
	free(r);
}

void
filer_report(struct filer *fl)
{
	struct filer_reports *r = filer_reports_take(fl);

	filer_reports_run(fl, r);
	filer_reports_end(fl, r);
}

void
filer_poll(struct filer *fl)
{
	if (fl->defer)
		take_back(fl);
	else
		filer_report(fl);
}

void
filer_defer_reports(struct filer *fl)
{
	fl->defer = 1;
}

int
filer_event_fd(const struct filer *fl)
{
	return fl->efd;
}

void
filer_stats(struct filer *fl, struct output_stats *st)
{
	struct filer_disk *d = &fl->core->d;

	files_stats(d->fs, st);
	if (!fl->core->threaded)
		index_push(d, 0); /* inline: the counters are read where they are */
	st->index_pending = d->c.index_pending;
	st->index_lost = d->c.index_lost;
	st->index_errors = d->c.index_errors;
}
