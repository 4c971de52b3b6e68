/*
 * filer.c: output files on disk: descriptors, creation, appends, renames
 * into place and index lines, on a thread of its own (or inline).
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
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "filer.h"
#include "label.h"
#include "log.h"
#include "pcapfile.h"
#include "spool.h"
#include "xmalloc.h"

#define ACTIVE_DIR SPOOL_ACTIVE
#define MAX_SUFFIX 10000
#define PATH_LEN   PATH_MAX

struct ifile {
	struct ifile *oprev, *onext; /* open-descriptor LRU */
	uint64_t first;              /* the flow's start, for the dated folder */
	uint32_t seg_no;
	uint32_t linktype;
	uint32_t snaplen;
	char *ifname;    /* for a pcapng header; NULL: none */
	uint16_t suffix; /* the name was taken: label-N */
	int fd;
	uint64_t size;    /* bytes on disk: the header and whole records */
	uint64_t written; /* records on disk */
	uint64_t lost;    /* records that could not be written (counted, logged) */
	uint8_t created;  /* it exists under .active/ */
	uint8_t hdr;      /* its header is on disk */
	uint8_t failed;   /* creating it failed: what it gets is counted as lost */
	char label[];     /* the flow's label when the file was opened (one allocation) */
};

enum job_op { J_WRITE, J_FINISH, J_FLUSH };

struct job {
	struct job *next;
	enum job_op op;
	struct ifile *io;
	uint8_t *buf;
	size_t len;
	size_t cap;
	struct writer_done done;  /* J_FINISH */
	struct index_record *rec; /* J_FINISH: the index line's record (done.rec), ours */
	uint8_t *fn; /* J_FINISH: the segment's frame numbers, as struct flow keeps them */
	size_t fnlen;
	uint64_t nrec;    /* J_WRITE: records in buf */
	uint64_t last_ns; /* J_FINISH: the segment's last packet, the file's time */
	uint64_t seq;
};

struct counters {
	_Atomic uint64_t files, bytes, writes, opens, write_errors, bytes_lost, frames_lost,
	    open_files, index_pending, index_lost, index_errors;
};

struct filer {
	struct writer_config cfg; /* cfg.layout is not used: a reload frees it */
	char *layout;             /* the filer's own copy, for the life of the filer */
	int threaded;

	/* The file system side: the filer thread's alone (or the caller's, inline). */
	int outfd;
	int activefd;
	struct ifile *ohead, *otail;
	unsigned nopen;
	_Atomic unsigned max_open;
	struct flow_index *idx;
	char lastdir[PATH_LEN]; /* the dated folder datefd is open on */
	int datefd;
	int failing;           /* in an episode of failed writes (a full disk) */
	uint64_t episode_lost; /* records lost in it */
	char fpout[PATH_LEN];
	uint16_t last_suffix; /* of the file finished last */
	uint64_t errors_logged;

	/*
	 * The writer's batch: jobs not yet handed over (the writer's thread
	 * alone touches it). Handing over one job at a time cost a lock and
	 * a wake-up per flow: most of the futex calls of a run.
	 */
	struct job *bhead, *btail;
	unsigned bjobs;
	size_t bbytes;
	uint64_t queued_seq; /* seq of the last job made (the writer's) */

	/* The queue, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t work;     /* a batch was handed over, or stop */
	pthread_cond_t progress; /* jobs were done (signalled only if someone waits) */
	struct job *qhead, *qtail;
	int sleeping; /* the filer waits for work: a hand-over must wake it */
	int stop;
	pthread_t thread;
	_Atomic uint64_t done_seq; /* seq of the last job done */
	_Atomic uint64_t inflight; /* bytes of buffers made and not yet done */
	_Atomic unsigned waiters;  /* writer-side waits on progress */
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
	struct job *lhead, *ltail;
	pthread_mutex_t dlock;
	struct job *dhead, *dtail;
	writer_done_cb done_cb; /* what became of finished flows goes to it (filer_poll) */
	void *done_arg;
	int efd;

	struct counters c;
};

static const char plist_head[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                 "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
                                 "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
                                 "<plist version=\"1.0\">\n<array>\n";

/* --- names and descriptors (filer side) ---------------------------------- */

static void
io_name(const struct filer *fl, const struct ifile *io, char *buf, size_t len)
{
	writer_compose_name(buf, len, io->label, io->suffix, io->seg_no, fl->cfg.format);
}

/*
 * A write failed (most often a full disk). One line when an episode
 * starts and one when it ends, with what it cost: not one per file.
 */
static void
count_error(struct filer *fl, const char *what, const char *name)
{
	fl->c.write_errors++;
	if (fl->failing)
		return;
	fl->failing = 1;
	fl->episode_lost = 0;
	log_warn("%s %s/%s: writing fails; what cannot be written is counted as lost until it "
	         "works again",
	    what, ACTIVE_DIR, name);
}

static void
count_lost(struct filer *fl, struct ifile *io, uint64_t nrec, uint64_t bytes)
{
	io->lost += nrec;
	fl->c.frames_lost += nrec;
	fl->c.bytes_lost += bytes;
	fl->episode_lost += nrec;
}

static void
count_written(struct filer *fl)
{
	if (!fl->failing)
		return;
	fl->failing = 0;
	log_info("writing works again: %llu frames were lost while it failed "
	         "(%llu since the start)",
	    (unsigned long long)fl->episode_lost, (unsigned long long)fl->c.frames_lost);
}

static void
olist_remove(struct filer *fl, struct ifile *io)
{
	if (io->oprev != NULL)
		io->oprev->onext = io->onext;
	else
		fl->ohead = io->onext;
	if (io->onext != NULL)
		io->onext->oprev = io->oprev;
	else
		fl->otail = io->oprev;
	io->oprev = io->onext = NULL;
}

static void
olist_append(struct filer *fl, struct ifile *io)
{
	io->onext = NULL;
	io->oprev = fl->otail;
	if (fl->otail != NULL)
		fl->otail->onext = io;
	else
		fl->ohead = io;
	fl->otail = io;
}

static void
fd_close(struct filer *fl, struct ifile *io)
{
	if (io->fd == -1)
		return;
	close(io->fd);
	io->fd = -1;
	olist_remove(fl, io);
	fl->nopen--;
	fl->c.open_files = fl->nopen;
}

/*
 * Reopen a file of ours to append: never a FIFO or a link planted in its
 * place (the daemon user could only harm itself, but must not hang us).
 */
static int
reopen(struct filer *fl, const char *name)
{
	struct stat sb;
	int fd;

	fd = openat(fl->activefd, name, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd != -1 && (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) || sb.st_nlink != 1)) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* Create the file (a free name if taken: never truncate) or reopen it to append. */
static int
fd_open(struct filer *fl, struct ifile *io)
{
	char name[PATH_LEN];
	unsigned tries;

	if (io->fd != -1) {
		olist_remove(fl, io);
		olist_append(fl, io);
		return 0;
	}
	while (fl->nopen >= fl->max_open && fl->ohead != NULL)
		fd_close(fl, fl->ohead);
	for (tries = 0; tries < MAX_SUFFIX; tries++) {
		io_name(fl, io, name, sizeof name);
		fl->c.opens++;
		if (io->created)
			io->fd = reopen(fl, name);
		else
			io->fd = openat(fl->activefd, name,
			    O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    SPOOL_FILE_MODE);
		if (io->fd != -1 || io->created || errno != EEXIST)
			break;
		io->suffix++;
	}
	if (io->fd == -1) {
		count_error(fl, io->created ? "reopen" : "create", name);
		return -1;
	}
	olist_append(fl, io);
	fl->nopen++;
	fl->c.open_files = fl->nopen;
	return 0;
}

/* --- appending (filer side) ------------------------------------------------ */

/* out holds PCAPNG_HEADER_MAX bytes. */
static size_t
file_header(const struct filer *fl, const struct ifile *io, uint8_t *out, const void **ptr)
{
	char label[LABEL_MAX + 8];

	switch (fl->cfg.format) {
	case FMT_PCAP:
		pcapfile_header(out, io->linktype, io->snaplen, fl->cfg.big, fl->cfg.nanosecond);
		*ptr = out;
		return PCAP_FILEHDR_LEN;
	case FMT_PCAPNG:
		/* The label the index gives the file, suffix and all: known once it is created. */
		if (io->suffix)
			snprintf(label, sizeof label, "%s-%u", io->label, io->suffix);
		else
			snprintf(label, sizeof label, "%s", io->label);
		*ptr = out;
		return pcapng_header(out, label, io->linktype, io->snaplen, io->ifname, fl->cfg.big,
		    fl->cfg.nanosecond);
	case FMT_PLIST:
		*ptr = plist_head;
		return sizeof plist_head - 1;
	default:
		*ptr = NULL;
		return 0;
	}
}

static int
write_all(struct filer *fl, int fd, struct iovec *iov, int iovcnt, uint64_t *done)
{
	ssize_t n;

	*done = 0;
	while (iovcnt > 0) {
		n = writev(fd, iov, iovcnt);
		fl->c.writes++;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		fl->c.bytes += (uint64_t)n;
		*done += (uint64_t)n;
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/*
 * Append nrec whole records (with the file header first if the file is
 * new). What cannot be written is counted and logged, never silently
 * dropped, and a failed write is cut back to the last whole record: a file
 * only ever holds whole records.
 */
static void
io_append(struct filer *fl, struct ifile *io, const uint8_t *buf, size_t len, uint64_t nrec)
{
	uint8_t hdr[PCAPNG_HEADER_MAX];
	struct iovec iov[2];
	char name[PATH_LEN];
	uint64_t done, total = len;
	int n = 0;

	if (len == 0 && io->hdr)
		return;
	if (io->failed || fd_open(fl, io) == -1) {
		/* A file that could not be created stays lost; a failed reopen loses this. */
		if (!io->created)
			io->failed = 1;
		count_lost(fl, io, nrec, len);
		return;
	}
	io->created = 1;
	if (!io->hdr) {
		iov[n].iov_len = file_header(fl, io, hdr, (const void **)&iov[n].iov_base);
		total += iov[n].iov_len;
		if (iov[n].iov_len > 0)
			n++;
	}
	iov[n].iov_base = (void *)buf;
	iov[n].iov_len = len;
	n++;
	if (write_all(fl, io->fd, iov, n, &done) == -1) {
		io_name(fl, io, name, sizeof name);
		count_error(fl, "write", name);
		count_lost(fl, io, nrec, len);
		if (done > 0 && ftruncate(io->fd, (off_t)io->size) == 0)
			fl->c.bytes -= done;
	} else {
		io->size += total;
		io->hdr = 1;
		io->written += nrec;
		if (nrec > 0)
			count_written(fl);
	}
}

/* --- finishing (filer side) ------------------------------------------------ */

/*
 * The dated folder (layout) of a flow that started at first, relative to
 * the output folder; "" for none.
 */
static void
dated_dir(const struct filer *fl, uint64_t first, char *buf, size_t len)
{
	time_t t = (time_t)(first / 1000000000u);
	struct tm tm;

	buf[0] = '\0';
	if (fl->layout[0] == '\0')
		return;
	localtime_r(&t, &tm);
	if (strftime(buf, len, fl->layout, &tm) == 0)
		buf[0] = '\0';
	/* No way out of the output folder, nor into .active/, whatever the pattern says. */
	if (strstr(buf, "..") != NULL || buf[0] == '/' ||
	    strncmp(buf, SPOOL_ACTIVE, strlen(SPOOL_ACTIVE)) == 0 ||
	    strncmp(buf, SPOOL_INDEX, strlen(SPOOL_INDEX)) == 0)
		buf[0] = '\0';
}

/*
 * A descriptor of the folder finished files go to: the output folder, or
 * the dated one, made if missing and opened without following a link on
 * the way (kept open while flows keep going there).
 */
static int
dest_dir(struct filer *fl, char *dir)
{
	if (dir[0] == '\0')
		return fl->outfd;
	if (fl->datefd != -1 && strcmp(dir, fl->lastdir) == 0)
		return fl->datefd;
	if (fl->datefd != -1)
		close(fl->datefd);
	fl->lastdir[0] = '\0';
	if ((fl->datefd = spool_openat_dir(fl->outfd, dir, 1)) == -1) {
		log_warn("mkdir %s (filed in the output folder instead)", dir);
		dir[0] = '\0';
		return fl->outfd;
	}
	snprintf(fl->lastdir, sizeof fl->lastdir, "%s", dir);
	return fl->datefd;
}

/* Rename .active/src into place; on a name already taken, take the next suffix. */
static const char *
move_into_place(struct filer *fl, struct ifile *io, const char *src)
{
	char dir[256], name[PATH_LEN - 512];
	unsigned tries;
	int dfd, reopened = 0;

	dated_dir(fl, io->first, dir, sizeof dir);
	dfd = dest_dir(fl, dir);
	for (tries = 0; tries < MAX_SUFFIX; tries++) {
		io_name(fl, io, name, sizeof name);
		snprintf(fl->fpout, sizeof fl->fpout, "%s%s%s", dir, dir[0] ? "/" : "", name);
		if (spool_rename_noreplace(fl->activefd, src, dfd, name) == 0) {
			fl->c.files++;
			return fl->fpout;
		}
		if (errno == ENOENT && dfd == fl->datefd && !reopened++) {
			/* Someone removed the dated folder: make it again, once. */
			close(fl->datefd);
			fl->datefd = -1;
			dfd = dest_dir(fl, dir);
			continue;
		}
		if (errno != EEXIST)
			break;
		io->suffix++;
	}
	log_warn("rename %s/%s to %s", ACTIVE_DIR, src, fl->fpout);
	fl->c.write_errors++;
	fl->fpout[0] = '\0';
	return NULL;
}

/*
 * The file's time is its flow's last packet: ls -t and retention then
 * order files by when their flows ended, not by when a buffer happened to
 * reach the disk.
 */
static void
set_time(struct filer *fl, struct ifile *io, const char *name, uint64_t last_ns)
{
	struct timespec ts[2];

	if (last_ns == 0)
		return;
	ts[0].tv_sec = ts[1].tv_sec = (time_t)(last_ns / 1000000000u);
	ts[0].tv_nsec = ts[1].tv_nsec = (long)(last_ns % 1000000000u);
	if ((io->fd != -1 ? futimens(io->fd, ts)
	                  : utimensat(fl->activefd, name, ts, AT_SYMLINK_NOFOLLOW)) == -1)
		log_debug("futimens %s/%s: %s", ACTIVE_DIR, name, strerror(errno));
}

/*
 * Close and rename; the path into place, or NULL if there is no file. A
 * file that holds none of its flow's records (they were all lost) is not
 * presented as one: it is removed, and its index line says so.
 */
static const char *
io_finish(struct filer *fl, struct ifile *io, uint64_t last_ns)
{
	char name[PATH_LEN];
	const char *fpout = NULL;

	if (fl->cfg.format == FMT_PLIST && io->hdr) {
		static const char tail[] = "</array>\n</plist>\n";

		io_append(fl, io, (const uint8_t *)tail, sizeof tail - 1, 0);
	} else if (!io->hdr && io->lost == 0)
		io_append(fl, io, NULL, 0, 0); /* an empty flow still gets a valid file */
	io_name(fl, io, name, sizeof name);
	if (io->created && !io->failed && io->written == 0 && io->lost > 0) {
		fd_close(fl, io);
		if (unlinkat(fl->activefd, name, 0) == -1)
			log_warn("unlink %s/%s", ACTIVE_DIR, name);
		return NULL;
	}
	if (io->created && !io->failed)
		set_time(fl, io, name, last_ns);
	fd_close(fl, io);
	if (io->created && !io->failed)
		fpout = move_into_place(fl, io, name);
	return fpout;
}

static void done_flush(struct filer *fl);

/*
 * Done jobs collect on the filer's side and go back in one piece per
 * batch (done_flush), with one eventfd write when the list the main
 * thread drains was empty: not a lock and a system call per flow.
 */
static void
done_push(struct filer *fl, struct job *j)
{
	j->next = NULL;
	if (fl->ltail != NULL)
		fl->ltail->next = j;
	else
		fl->lhead = j;
	fl->ltail = j;
	if (!fl->threaded)
		done_flush(fl);
}

static void
done_flush(struct filer *fl)
{
	uint64_t one = 1;
	int was_empty;

	if (fl->lhead == NULL)
		return;
	pthread_mutex_lock(&fl->dlock);
	was_empty = fl->dhead == NULL;
	if (fl->dtail != NULL)
		fl->dtail->next = fl->lhead;
	else
		fl->dhead = fl->lhead;
	fl->dtail = fl->ltail;
	pthread_mutex_unlock(&fl->dlock);
	fl->lhead = fl->ltail = NULL;
	if (was_empty && fl->efd != -1 && write(fl->efd, &one, sizeof one) == -1 && errno != EAGAIN)
		log_warn("eventfd");
}

/* The entry says what became of the file, then it goes to the index. */
static void
finish_entry(struct filer *fl, struct ifile *io, const char *fpout, struct writer_done *d,
    const uint8_t *fn, size_t fnlen)
{
	struct index_record *r = (struct index_record *)d->rec;
	char *frames;

	if (r == NULL)
		return;
	if (io != NULL && io->suffix)
		snprintf(r->label, sizeof r->label, "%s-%u", io->label, io->suffix);
	snprintf(r->fpout, sizeof r->fpout, "%s", fpout ? fpout : "");
	/* What the file holds, beside what was captured ("packets"): no file, nothing. */
	r->written = io != NULL ? io->written : 0;
	r->truncated = io != NULL && io->lost > 0;
	frames = index_frames_text(fn, fnlen);
	if (fl->idx != NULL)
		index_append_record(fl->idx, r, frames);
	d->frames = frames;
}

static void
io_free(struct ifile *io)
{
	if (io == NULL)
		return;
	free(io->ifname);
	free(io);
}

/* Index lines reach the file; the counters tell the other thread how it went. */
static void
index_push(struct filer *fl)
{
	uint64_t pending, lost, errors;

	if (fl->idx == NULL)
		return;
	index_flush(fl->idx);
	index_stats(fl->idx, &pending, &lost, &errors);
	fl->c.index_pending = pending;
	fl->c.index_lost = lost;
	fl->c.index_errors = errors;
}

static void
run_job(struct filer *fl, struct job *j)
{
	const char *fpout = NULL;

	switch (j->op) {
	case J_WRITE:
		io_append(fl, j->io, j->buf, j->len, j->nrec);
		break;
	case J_FINISH:
		/* Only this side touches fpout and last_suffix (read after filer_sync). */
		fl->fpout[0] = '\0';
		fl->last_suffix = 0;
		if (j->io != NULL) {
			fpout = io_finish(fl, j->io, j->last_ns);
			fl->last_suffix = j->io->suffix;
		}
		finish_entry(fl, j->io, fpout, &j->done, j->fn, j->fnlen);
		break;
	case J_FLUSH:
		index_push(fl); /* for filer_sync: the index is on disk too */
		break;
	}
}

/* What a done job holds, freed by the thread that allocated it (filer_poll). */
static void
job_free(struct job *j)
{
	if (j->op == J_FINISH)
		io_free(j->io);
	free(j->rec);
	free((char *)j->done.frames);
	free(j->fn);
	free(j->buf);
	free(j);
}

/* --- the thread ------------------------------------------------------------ */

/* Tell a waiting writer (filer_sync, back pressure) that what it waits for holds. */
static void
progress_made(struct filer *fl)
{
	if (atomic_load(&fl->waiters) == 0 ||
	    atomic_load(&fl->done_seq) < atomic_load(&fl->want_seq) ||
	    atomic_load(&fl->inflight) > atomic_load(&fl->want_inflight))
		return;
	pthread_mutex_lock(&fl->lock);
	pthread_cond_broadcast(&fl->progress);
	pthread_mutex_unlock(&fl->lock);
}

static void *
filer_main(void *arg)
{
	struct filer *fl = arg;
	struct job *j, *batch;
	struct timespec again;
	unsigned n;
	int retry;

	pthread_mutex_lock(&fl->lock);
	for (;;) {
		while (fl->qhead == NULL && !fl->stop) {
			/* Lines the disk refused: try again every second until it takes them. */
			retry = fl->c.index_pending > 0;
			fl->sleeping = 1;
			if (!retry)
				pthread_cond_wait(&fl->work, &fl->lock);
			else {
				clock_gettime(CLOCK_REALTIME, &again);
				again.tv_sec++;
				retry = pthread_cond_timedwait(&fl->work, &fl->lock, &again) ==
				        ETIMEDOUT;
			}
			fl->sleeping = 0;
			if (retry) {
				pthread_mutex_unlock(&fl->lock);
				index_push(fl);
				pthread_mutex_lock(&fl->lock);
			}
		}
		if (fl->qhead == NULL && fl->stop)
			break;
		batch = fl->qhead;
		fl->qhead = fl->qtail = NULL;
		pthread_mutex_unlock(&fl->lock);
		for (n = 1; (j = batch) != NULL; n++) {
			batch = j->next;
			run_job(fl, j);
			atomic_fetch_sub(&fl->inflight, j->cap);
			atomic_store(&fl->done_seq, j->seq);
			done_push(fl, j);
			/* A writer held by back pressure need not wait for the whole batch. */
			if (n % 16 == 0)
				progress_made(fl);
		}
		/* The queue ran dry: index lines reach the file, finished flows go back. */
		index_push(fl);
		done_flush(fl);
		progress_made(fl);
		pthread_mutex_lock(&fl->lock);
	}
	pthread_mutex_unlock(&fl->lock);
	return NULL;
}

/* Hand the writer's batch to the filer: one lock, and a wake-up only if it sleeps. */
static void
hand_over(struct filer *fl)
{
	int wake;

	if (fl->bhead == NULL)
		return;
	pthread_mutex_lock(&fl->lock);
	if (fl->qtail != NULL)
		fl->qtail->next = fl->bhead;
	else
		fl->qhead = fl->bhead;
	fl->qtail = fl->btail;
	wake = fl->sleeping;
	fl->sleeping = 0; /* one wake-up is enough */
	pthread_mutex_unlock(&fl->lock);
	/* After the unlock: woken while we held it, the filer would block on the lock at once. */
	if (wake)
		pthread_cond_signal(&fl->work);
	fl->bhead = fl->btail = NULL;
	fl->bjobs = 0;
	fl->bbytes = 0;
}

#define BATCH_JOBS  256
#define BATCH_BYTES (1024 * 1024)

static void
enqueue(struct filer *fl, struct job *j)
{
	if (!fl->threaded) {
		run_job(fl, j);
		done_push(fl, j);
		return;
	}
	j->next = NULL;
	j->seq = ++fl->queued_seq;
	atomic_fetch_add(&fl->inflight, j->cap);
	if (fl->btail != NULL)
		fl->btail->next = j;
	else
		fl->bhead = j;
	fl->btail = j;
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
	hand_over(fl);
	for (;;) {
		filer_poll(fl);
		if (atomic_load(&fl->done_seq) >= seq && atomic_load(&fl->inflight) <= inflight)
			return;
		pthread_mutex_lock(&fl->lock);
		atomic_store(&fl->want_seq, seq);
		atomic_store(&fl->want_inflight, inflight);
		atomic_fetch_add(&fl->waiters, 1);
		if (atomic_load(&fl->done_seq) < seq || atomic_load(&fl->inflight) > inflight)
			pthread_cond_wait(&fl->progress, &fl->lock);
		atomic_fetch_sub(&fl->waiters, 1);
		pthread_mutex_unlock(&fl->lock);
	}
}

/* --- the writer's side ------------------------------------------------------ */

struct filer *
filer_new(
    int outdirfd, const char *outdir, const struct writer_config *cfg, int threaded, char **cause)
{
	struct filer *fl;

	fl = xcalloc(1, sizeof *fl);
	fl->cfg = *cfg;
	/* Settings are copied, never pointed to: a reload frees the config they came from. */
	fl->layout = xstrdup(cfg->layout != NULL ? cfg->layout : "");
	fl->cfg.layout = NULL;
	fl->max_open = cfg->max_open_files < 1 ? 1 : cfg->max_open_files;
	fl->outfd = fl->activefd = fl->datefd = fl->efd = -1;
	pthread_mutex_init(&fl->lock, NULL);
	pthread_mutex_init(&fl->dlock, NULL);
	pthread_cond_init(&fl->work, NULL);
	pthread_cond_init(&fl->progress, NULL);
	if (cfg->format != FMT_NONE) {
		if ((fl->outfd = fcntl(outdirfd, F_DUPFD_CLOEXEC, 0)) == -1) {
			xasprintf(cause, "%s: %s", outdir, strerror(errno));
			goto fail;
		}
		/* .active/ is made if missing, never followed if a link. */
		if ((fl->activefd = spool_openat_dir(fl->outfd, ACTIVE_DIR, 1)) == -1) {
			xasprintf(cause, "%s/%s: %s", outdir, ACTIVE_DIR,
			    errno == ELOOP || errno == ENOTDIR
			        ? "not a directory of its own (a link?)"
			        : strerror(errno));
			goto fail;
		}
	}
	if (threaded) {
		if ((fl->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
			xasprintf(cause, "eventfd: %s", strerror(errno));
			goto fail;
		}
		if (pthread_create(&fl->thread, NULL, filer_main, fl) != 0) {
			xasprintf(cause, "cannot start the file writer thread");
			goto fail;
		}
		fl->threaded = 1;
	}
	return fl;
fail:
	filer_free(fl);
	return NULL;
}

void
filer_free(struct filer *fl)
{
	struct job *j;

	if (fl == NULL)
		return;
	if (fl->threaded) {
		hand_over(fl);
		pthread_mutex_lock(&fl->lock);
		fl->stop = 1;
		pthread_cond_signal(&fl->work);
		pthread_mutex_unlock(&fl->lock);
		pthread_join(fl->thread, NULL);
	}
	while (fl->ohead != NULL)
		fd_close(fl, fl->ohead);
	done_flush(fl);
	while ((j = fl->dhead) != NULL) {
		fl->dhead = j->next;
		job_free(j);
	}
	if (fl->activefd != -1)
		close(fl->activefd);
	if (fl->datefd != -1)
		close(fl->datefd);
	free(fl->layout);
	if (fl->outfd != -1)
		close(fl->outfd);
	if (fl->efd != -1)
		close(fl->efd);
	pthread_mutex_destroy(&fl->lock);
	pthread_mutex_destroy(&fl->dlock);
	pthread_cond_destroy(&fl->work);
	pthread_cond_destroy(&fl->progress);
	free(fl);
}

void
filer_set_index(struct filer *fl, struct flow_index *idx)
{
	fl->idx = idx;
}

void
filer_setlimits(struct filer *fl, unsigned max_open_files)
{
	/* The filer closes descriptors beyond it at its next open. */
	fl->max_open = max_open_files < 1 ? 1 : max_open_files;
}

struct ifile *
filer_open(
    struct filer *fl, const struct flow *f, uint32_t linktype, uint32_t snaplen, const char *ifname)
{
	char label[LABEL_MAX];
	struct ifile *io;

	if (fl->cfg.format == FMT_NONE)
		return NULL;
	label_make(label, f, fl->cfg.nanosecond);
	io = xcalloc(1, sizeof *io + strlen(label) + 1);
	memcpy(io->label, label, strlen(label) + 1);
	io->first = f->first;
	io->seg_no = f->seg_no;
	io->linktype = linktype;
	io->snaplen = snaplen;
	io->ifname = ifname != NULL ? xstrdup(ifname) : NULL;
	io->fd = -1;
	return io;
}

void
filer_write(struct filer *fl, struct ifile *io, uint8_t *buf, size_t len, size_t cap, uint64_t nrec)
{
	struct job *j = xcalloc(1, sizeof *j);

	j->nrec = nrec;
	j->op = J_WRITE;
	j->io = io;
	j->buf = buf;
	j->len = len;
	j->cap = cap;
	enqueue(fl, j);
}

void
filer_finish(
    struct filer *fl, struct ifile *io, const struct flow *f, struct index_record *rec, int ended)
{
	struct job *j = xcalloc(1, sizeof *j);

	j->op = J_FINISH;
	j->io = io;
	j->rec = rec;
	j->done.rec = rec;
	/* The index line's frame numbers travel compact; counted while queued. */
	if (rec != NULL && f != NULL) {
		j->fnlen = f->fn_len;
		j->fn = xmalloc(j->fnlen);
		memcpy(j->fn, f->fn_buf, j->fnlen);
		j->cap = 512 + j->fnlen;
	}
	j->done.ended = ended;
	if (f != NULL) {
		j->done.key = f->key;
		j->done.init = f->init;
		j->last_ns = f->seg_last;
	}
	enqueue(fl, j);
}

const char *
filer_last_fpout(const struct filer *fl, uint16_t *suffix)
{
	*suffix = fl->last_suffix;
	return fl->fpout[0] != '\0' ? fl->fpout : NULL;
}

void
filer_sync(struct filer *fl)
{
	struct job *j;

	if (!fl->threaded) {
		index_push(fl);
		return;
	}
	j = xcalloc(1, sizeof *j);
	j->op = J_FLUSH;
	enqueue(fl, j);
	wait_until(fl, fl->queued_seq, UINT64_MAX);
}

void
filer_batch_end(struct filer *fl)
{
	if (fl->threaded)
		hand_over(fl);
}

uint64_t
filer_inflight(struct filer *fl)
{
	return fl->threaded ? atomic_load(&fl->inflight) : 0;
}

void
filer_wait_below(struct filer *fl, uint64_t limit)
{
	/*
	 * The common case, far below the budget, costs one atomic load. Over
	 * it, wait until an eighth of it is free again: a disk that is slower
	 * than the packets would otherwise wake us for every file it makes.
	 */
	if (fl->threaded && atomic_load(&fl->inflight) > limit)
		wait_until(fl, 0, limit - limit / 8);
}

void
filer_set_done(struct filer *fl, writer_done_cb cb, void *arg)
{
	fl->done_cb = cb;
	fl->done_arg = arg;
}

void
filer_poll(struct filer *fl)
{
	struct job *j, *list;
	uint64_t n;

	if (fl->efd != -1 && read(fl->efd, &n, sizeof n) == -1 && errno != EAGAIN)
		log_warn("eventfd");
	pthread_mutex_lock(&fl->dlock);
	list = fl->dhead;
	fl->dhead = fl->dtail = NULL;
	pthread_mutex_unlock(&fl->dlock);
	while ((j = list) != NULL) {
		list = j->next;
		if (fl->done_cb != NULL && j->op == J_FINISH && j->rec != NULL)
			fl->done_cb(&j->done, fl->done_arg);
		job_free(j);
	}
}

int
filer_event_fd(const struct filer *fl)
{
	return fl->efd;
}

void
filer_stats(struct filer *fl, struct writer_stats *st)
{
	st->files = fl->c.files;
	st->bytes = fl->c.bytes;
	st->writes = fl->c.writes;
	st->opens = fl->c.opens;
	st->write_errors = fl->c.write_errors;
	st->bytes_lost = fl->c.bytes_lost;
	st->frames_lost = fl->c.frames_lost;
	if (!fl->threaded)
		index_push(fl); /* inline: the counters are read where they are */
	st->index_pending = fl->c.index_pending;
	st->index_lost = fl->c.index_lost;
	st->index_errors = fl->c.index_errors;
	st->open_files = (uint32_t)fl->c.open_files;
}
