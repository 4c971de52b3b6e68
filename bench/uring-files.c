/*
 * bench/uring-files.c: what it costs to create many small files the way
 * src/files.c does for each finished flow (openat O_CREAT|O_EXCL in
 * .active/, writev of the pcap header and the records, futimens, close,
 * renameat2 RENAME_NOREPLACE into the output folder), with plain system
 * calls against io_uring batches (issue 13). Built and run by
 * `bench/run uring`; `uring-files -h` lists the options and methods.
 *
 * The io_uring facts that decide the outcome (kernel io_uring/openclose.c,
 * fs.c, rw.c, io-wq.c, tctx.c; the probe table this program prints checks
 * them on the running kernel and file system):
 * - OPENAT with O_CREAT (or O_TRUNC, O_TMPFILE) is never tried inline: its
 *   prep sets REQ_F_FORCE_ASYNC and it goes straight to an io-wq worker.
 *   Without O_CREAT it is tried inline (LOOKUP_CACHED) first.
 * - RENAMEAT (and UNLINKAT, MKDIRAT, LINKAT, SYMLINKAT) is always
 *   REQ_F_FORCE_ASYNC: io-wq.
 * - A buffered WRITE/WRITEV to a regular file is tried inline only if the
 *   file system sets FOP_BUFFER_WASYNC (XFS, btrfs). ext4 does not, tmpfs
 *   does not: -EAGAIN, then io-wq.
 * - CLOSE of a direct descriptor is inline (it empties a table slot); of a
 *   regular descriptor inline unless the file has ->flush.
 * - There is no io_uring op for futimens/utimensat: setting the file's time
 *   costs one system call per file whatever else is batched.
 * - A direct descriptor cannot be opened O_CLOEXEC (EINVAL); it is not in
 *   the descriptor table, so exec could not inherit it anyway. liburing 2.3
 *   (Debian 12) io_uring_prep_openat_direct() mis-encodes
 *   IORING_FILE_INDEX_ALLOC (index + 1 wraps to 0: a plain open): set
 *   sqe->file_index by hand.
 * - io-wq workers are threads of this process ("iou-wrk-PID"), one pool
 *   per submitting thread shared by its rings, at most min(SQ entries,
 *   4 x CPUs) bounded workers (8 on 2 CPUs); a worker that blocks (on a
 *   lock) lets another start; idle ones exit after 5 s. Their CPU time is
 *   the process's: getrusage(RUSAGE_SELF) sums all threads, live and
 *   exited (checked per run against /proc/self/task/ * /schedstat).
 * - A linked chain runs in order, and the worker that finishes one member
 *   runs the next: a whole per-file chain runs in one worker; chains of a
 *   batch run in parallel workers that contend for the inode lock of
 *   .active/ (a create takes it exclusively) and for the file system's
 *   rename mutex (a rename between two folders takes s_vfs_rename_mutex).
 * On 2 CPUs that means: what a batch saves in system-call entries is paid
 * in hand-offs to worker threads (wake-ups, context switches, workers
 * queueing on the same two locks), and the workers run on the CPU the
 * capture thread needs.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <liburing.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define NAME_LEN     64
#define PCAP_HDR_LEN 24
#define MAX_TASKS    512
#define MAX_DIRS     8
#define MAX_RUNS     101
#define FILE_MODE    0640
/* files.c's flags; a direct descriptor takes them without O_CLOEXEC. */
#define OPEN_FLAGS (O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW)
#define TIME_BASE  1700000000
#ifndef LIBURING_VERSION /* bench/run passes pkg-config's; 2.3 has no macro of its own */
#define LIBURING_VERSION "?"
#endif

enum { OP_OPEN, OP_WRITE, OP_CLOSE, OP_RENAME, OP_ANY };
static const char *const op_names[] = {"openat", "writev", "close", "renameat"};

/* --- the setting ------------------------------------------------------------ */

struct bench {
	unsigned n, size, batch, runs, max_workers;
	int refuse; /* simulate a refusal: errno for io_uring_setup, 0 none */
	char (*names)[NAME_LEN];
	uint8_t hdr[PCAP_HDR_LEN];
	uint8_t *payload; /* batch buffers of size bytes: each flow its own */
	const char *fs;   /* the folder's file system, for the table */
	int basefd;
};

struct run {
	const struct bench *b;
	int outfd, activefd;
	char dir[NAME_LEN];
	struct io_uring ring;
	int have_ring;
	struct iovec (*iov)[2];
	int *slot;               /* per batch entry: a direct descriptor or a plain one */
	unsigned old_workers[2]; /* io-wq limits before -w, restored */
	uint64_t syscalls;
	char err[256];
};

struct method;
typedef int (*method_fn)(struct run *, const struct method *);

struct method {
	const char *name;
	const char *what;
	method_fn fn;
	int uring;            /* needs a ring */
	unsigned setup_flags; /* IORING_SETUP_* */
	unsigned sqe_flags;   /* added to every SQE: IOSQE_ASYNC */
	int times;            /* sets each file's time (futimens or utimensat) */
	int limit_workers;    /* io-wq bounded workers limited to -w */
	int skip_success;     /* IOSQE_CQE_SKIP_SUCCESS on all but the rename */
	int ring_fd;          /* io_uring_register_ring_fd */
};

struct sample {
	double wall, cpu, self_cpu, wq_cpu, gap, csw;
	unsigned workers;
};

struct tasks {
	double self; /* this thread: CLOCK_THREAD_CPUTIME_ID, exact to the call */
	int n;
	pid_t tid[MAX_TASKS];
	uint64_t ns[MAX_TASKS];
	uint8_t worker[MAX_TASKS];
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	fprintf(stderr, "uring-files: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(e));
	exit(1);
}

static int fail(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The first failure of a run is kept; the run is then reported as failed. */
static int
fail(struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(r->err, sizeof r->err, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
tv(const struct timeval *t)
{
	return (double)t->tv_sec + (double)t->tv_usec / 1e6;
}

static const char *
name(const struct run *r, unsigned i)
{
	return r->b->names[i];
}

/* The flow's last packet: a different time per file, checked afterwards. */
static void
file_time(unsigned i, struct timespec ts[2])
{
	ts[0].tv_sec = ts[1].tv_sec = TIME_BASE + i / 1000;
	ts[0].tv_nsec = ts[1].tv_nsec = (long)(i % 1000) * 1000000 + 123;
}

static size_t
file_size(const struct bench *b)
{
	return PCAP_HDR_LEN + (size_t)b->size;
}

static void
set_iov(struct run *r, unsigned j)
{
	const struct bench *b = r->b;

	r->iov[j][0].iov_base = (void *)b->hdr;
	r->iov[j][0].iov_len = PCAP_HDR_LEN;
	r->iov[j][1].iov_base = b->payload + (size_t)j * b->size;
	r->iov[j][1].iov_len = b->size;
}

/* --- CPU of every thread: /proc/self/task/<tid>/schedstat ----------------- */

static int
read_small(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static double
thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Each io-wq worker's run time in ns (schedstat's first field). schedstat
 * is brought up to date when a thread leaves the CPU, so it is exact for
 * workers that sleep once the batch is done, stale for the running
 * thread: this one is read with its own clock.
 */
static void
tasks_sample(struct tasks *t)
{
	char path[64], buf[128];
	struct dirent *de;
	DIR *d;

	t->n = 0;
	t->self = thread_cpu();
	if ((d = opendir("/proc/self/task")) == NULL)
		return;
	while ((de = readdir(d)) != NULL && t->n < MAX_TASKS) {
		pid_t tid = (pid_t)atoi(de->d_name);

		if (tid <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", tid);
		if (read_small(path, buf, sizeof buf) == -1)
			continue;
		t->tid[t->n] = tid;
		t->ns[t->n] = strtoull(buf, NULL, 10);
		snprintf(path, sizeof path, "/proc/self/task/%d/comm", tid);
		t->worker[t->n] =
		    read_small(path, buf, sizeof buf) == 0 && strncmp(buf, "iou-wrk", 7) == 0;
		t->n++;
	}
	closedir(d);
}

/* CPU seconds between two samples: of this thread, of io-wq workers; workers that ran. */
static void
tasks_delta(
    const struct tasks *a, const struct tasks *z, double *self, double *wq, unsigned *workers)
{
	uint64_t wsum = 0;
	int i, k;

	*workers = 0;
	for (i = 0; i < z->n; i++) {
		uint64_t before = 0, d;

		for (k = 0; k < a->n; k++)
			if (a->tid[k] == z->tid[i])
				before = a->ns[k];
		d = z->ns[i] >= before ? z->ns[i] - before : 0;
		if (z->worker[i]) {
			wsum += d;
			*workers += d > 0;
		}
	}
	*self = z->self - a->self;
	*wq = (double)wsum / 1e9;
}

/* --- folders ---------------------------------------------------------------- */

static int
run_dirs(struct run *r, const char *method, unsigned k)
{
	snprintf(r->dir, sizeof r->dir, "run-%d-%s-%u", (int)getpid(), method, k);
	if (mkdirat(r->b->basefd, r->dir, 0750) == -1)
		return fail(r, "mkdir %s: %s", r->dir, strerror(errno));
	r->outfd = openat(r->b->basefd, r->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r->outfd == -1)
		return fail(r, "open %s: %s", r->dir, strerror(errno));
	if (mkdirat(r->outfd, ".active", 0750) == -1)
		return fail(r, "mkdir .active: %s", strerror(errno));
	r->activefd = openat(r->outfd, ".active", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r->activefd == -1)
		return fail(r, "open .active: %s", strerror(errno));
	return 0;
}

/* Entries of a folder but . and ..; each removed if rm. */
static long
dir_entries(int dfd, int rm)
{
	struct dirent *de;
	long n = 0;
	DIR *d;
	int fd;

	if ((fd = dup(dfd)) == -1 || (d = fdopendir(fd)) == NULL)
		return -1;
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		if (rm)
			unlinkat(dfd, de->d_name, 0);
	}
	closedir(d);
	return n;
}

/*
 * Correct when the output folder holds exactly the n files, each with the
 * header and payload (and the flow's time if the method sets it), and
 * .active/ is empty.
 */
static int
run_check(struct run *r, const struct method *m)
{
	const struct bench *b = r->b;
	struct timespec ts[2];
	struct stat st;
	long entries;
	unsigned i;

	if ((entries = dir_entries(r->activefd, 0)) != 0)
		return fail(r, "%ld left in .active", entries);
	/* .active itself is one entry of the output folder. */
	if ((entries = dir_entries(r->outfd, 0) - 1) != (long)b->n)
		return fail(r, "%ld files, not %u", entries, b->n);
	for (i = 0; i < b->n; i++) {
		if (fstatat(r->outfd, name(r, i), &st, AT_SYMLINK_NOFOLLOW) == -1)
			return fail(r, "%s: %s", name(r, i), strerror(errno));
		if (!S_ISREG(st.st_mode) || (size_t)st.st_size != file_size(b))
			return fail(r, "%s: %lld bytes, not %zu", name(r, i), (long long)st.st_size,
			    file_size(b));
		file_time(i, ts);
		if (m->times &&
		    (st.st_mtim.tv_sec != ts[1].tv_sec || st.st_mtim.tv_nsec != ts[1].tv_nsec))
			return fail(r, "%s: wrong time", name(r, i));
	}
	return 0;
}

static void
run_cleanup(struct run *r)
{
	unsigned i;

	if (r->outfd != -1) {
		for (i = 0; i < r->b->n; i++)
			unlinkat(r->outfd, name(r, i), 0);
		if (r->activefd != -1)
			dir_entries(r->activefd, 1);
		unlinkat(r->outfd, ".active", AT_REMOVEDIR);
		dir_entries(r->outfd, 1);
		close(r->outfd);
	}
	if (r->activefd != -1)
		close(r->activefd);
	if (r->dir[0] != '\0')
		unlinkat(r->b->basefd, r->dir, AT_REMOVEDIR);
	/* On disk: the next run starts with nothing left to write back. */
	syncfs(r->b->basefd);
	r->outfd = r->activefd = -1;
	r->dir[0] = '\0';
}

/* --- io_uring: setting up, and what a refusal looks like ---------------------- */

static int
io_uring_disabled(void)
{
	char buf[16];

	if (read_small("/proc/sys/kernel/io_uring_disabled", buf, sizeof buf) == -1)
		return -1; /* before 6.6: no such switch */
	return atoi(buf);
}

/* Why io_uring_setup failed, in words, for the table and the log. */
static void
refusal(int err, char *buf, size_t len)
{
	int dis = io_uring_disabled();

	switch (err) {
	case ENOSYS:
		snprintf(buf, len,
		    "ENOSYS: no io_uring in this kernel (CONFIG_IO_URING=n, before 5.1) or a "
		    "seccomp filter answering ENOSYS");
		break;
	case EPERM:
		snprintf(buf, len, "EPERM: %s",
		    dis == 2   ? "kernel.io_uring_disabled=2"
		    : dis == 1 ? "kernel.io_uring_disabled=1 and not in kernel.io_uring_group"
		               : "a seccomp filter (systemd SystemCallFilter=) or an LSM");
		break;
	case EINVAL:
		snprintf(buf, len, "EINVAL: a setup flag this kernel does not know");
		break;
	case ENOMEM:
		snprintf(buf, len, "ENOMEM: RLIMIT_MEMLOCK too small (kernels before 5.12)");
		break;
	default:
		snprintf(buf, len, "%s", strerror(err));
	}
}

/* 0, or -errno of the step that failed (r->err says which). */
static int
ring_open(struct run *r, const struct method *m)
{
	const struct bench *b = r->b;
	struct io_uring_params p;
	unsigned entries = 4 * b->batch;
	char why[200];
	int ret;

	if (entries > 32768)
		entries = 32768;
	memset(&p, 0, sizeof p);
	p.flags = m->setup_flags;
	if ((ret = io_uring_queue_init_params(entries, &r->ring, &p)) < 0) {
		refusal(-ret, why, sizeof why);
		fail(r, "io_uring refused: %s", why);
		return ret;
	}
	r->have_ring = 1;
	if (m->ring_fd && (ret = io_uring_register_ring_fd(&r->ring)) < 0) {
		fail(r, "io_uring_register_ring_fd: %s", strerror(-ret));
		return ret;
	}
	/* Direct descriptors: a sparse table, one slot per flow of a batch. */
	if ((ret = io_uring_register_files_sparse(&r->ring, b->batch)) < 0) {
		fail(r, "io_uring_register_files_sparse: %s (kernel before 5.19?)", strerror(-ret));
		return ret;
	}
	/* The pool is the thread's and outlives the ring: the old limits go back after. */
	if (m->limit_workers) {
		r->old_workers[0] = b->max_workers;
		r->old_workers[1] = 0; /* 0: unchanged */
		if ((ret = io_uring_register_iowq_max_workers(&r->ring, r->old_workers)) < 0) {
			fail(r, "io_uring_register_iowq_max_workers: %s", strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static void
ring_close(struct run *r, const struct method *m)
{
	if (!r->have_ring)
		return;
	if (m->limit_workers)
		io_uring_register_iowq_max_workers(&r->ring, r->old_workers);
	io_uring_queue_exit(&r->ring);
	r->have_ring = 0;
}

static struct io_uring_sqe *
sqe_get(struct run *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	if (sqe == NULL) {
		fprintf(stderr, "uring-files: submission queue full (a bug)\n");
		exit(1);
	}
	return sqe;
}

static uint64_t
tag(unsigned j, int op)
{
	return (uint64_t)j << 3 | (uint64_t)op;
}

/*
 * Reap completions until `want` of op `until` (OP_ANY: of any op) have
 * come; each result is checked against what the op must return. A failed
 * member of a chain cancels the rest (-ECANCELED): counted as failed too.
 */
static int
reap(struct run *r, unsigned want, int until, unsigned first)
{
	const size_t total = file_size(r->b);
	struct io_uring_cqe *cqe;
	unsigned seen = 0;
	int ret, bad = 0;

	while (seen < want) {
		if (io_uring_cq_ready(&r->ring) == 0)
			r->syscalls++;
		if ((ret = io_uring_wait_cqe(&r->ring, &cqe)) < 0) {
			if (ret == -EINTR)
				continue;
			return fail(r, "io_uring_wait_cqe: %s", strerror(-ret));
		}
		unsigned j = (unsigned)(cqe->user_data >> 3);
		int op = (int)(cqe->user_data & 7), res = cqe->res;

		if (until == OP_ANY || op == until)
			seen++;
		if ((op == OP_OPEN && res < 0) || (op == OP_WRITE && res != (int)total) ||
		    ((op == OP_CLOSE || op == OP_RENAME) && res != 0)) {
			bad++;
			fail(r, "%s %s: %s", op_names[op], r->b->names[first + j],
			    res < 0 ? strerror(-res) : "short write");
		} else if (op == OP_OPEN)
			r->slot[j] = res; /* a direct descriptor allocated by the kernel, or 0 */
		io_uring_cqe_seen(&r->ring, cqe);
	}
	return bad ? -1 : 0;
}

static int
submit_wait(struct run *r, unsigned n)
{
	int ret;

	r->syscalls++;
	do
		ret = io_uring_submit_and_wait(&r->ring, n);
	while (ret == -EINTR);
	if (ret < 0)
		return fail(r, "io_uring_submit_and_wait: %s", strerror(-ret));
	return 0;
}

/* --- the methods -------------------------------------------------------------- */

/* (a) files.c's calls, one flow at a time; futimens only for plain+t. */
static int
m_plain(struct run *r, const struct method *m)
{
	const struct bench *b = r->b;
	const ssize_t total = (ssize_t)file_size(b);
	struct timespec ts[2];
	unsigned i;
	int fd;

	for (i = 0; i < b->n; i++) {
		unsigned j = i % b->batch;

		fd = openat(r->activefd, name(r, i), OPEN_FLAGS | O_CLOEXEC, FILE_MODE);
		if (fd == -1)
			return fail(r, "openat %s: %s", name(r, i), strerror(errno));
		if (writev(fd, r->iov[j], 2) != total)
			return fail(r, "writev %s: %s", name(r, i), strerror(errno));
		if (m->times) {
			file_time(i, ts);
			if (futimens(fd, ts) == -1)
				return fail(r, "futimens %s: %s", name(r, i), strerror(errno));
		}
		if (close(fd) == -1)
			return fail(r, "close %s: %s", name(r, i), strerror(errno));
		if (renameat2(r->activefd, name(r, i), r->outfd, name(r, i), RENAME_NOREPLACE) ==
		    -1)
			return fail(r, "renameat2 %s: %s", name(r, i), strerror(errno));
		r->syscalls += 4 + (m->times != 0);
	}
	return 0;
}

/* The time, after the rename (no io_uring op for it): one system call per file. */
static int
set_times(struct run *r, unsigned first, unsigned k)
{
	struct timespec ts[2];
	unsigned j;

	for (j = 0; j < k; j++) {
		file_time(first + j, ts);
		r->syscalls++;
		if (utimensat(r->outfd, name(r, first + j), ts, AT_SYMLINK_NOFOLLOW) == -1)
			return fail(r, "utimensat %s: %s", name(r, first + j), strerror(errno));
	}
	return 0;
}

/*
 * (b) Per flow a linked chain OPENAT (direct, slot j) -> WRITEV (fixed
 * file j) -> CLOSE (direct j) -> RENAMEAT; one submit-and-wait per batch.
 */
static int
m_chain(struct run *r, const struct method *m)
{
	const struct bench *b = r->b;
	const unsigned skip = m->skip_success ? IOSQE_CQE_SKIP_SUCCESS : 0;
	struct io_uring_sqe *sqe;
	unsigned first, j, k;

	for (first = 0; first < b->n; first += k) {
		k = b->n - first < b->batch ? b->n - first : b->batch;
		for (j = 0; j < k; j++) {
			const char *nm = name(r, first + j);

			sqe = sqe_get(r);
			io_uring_prep_openat_direct(sqe, r->activefd, nm, OPEN_FLAGS, FILE_MODE, j);
			sqe->flags |= IOSQE_IO_LINK | m->sqe_flags | skip;
			sqe->user_data = tag(j, OP_OPEN);
			sqe = sqe_get(r);
			/* Offset 0: the file is new, and O_APPEND appends anyway. */
			io_uring_prep_writev(sqe, (int)j, r->iov[j], 2, 0);
			sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK | m->sqe_flags | skip;
			sqe->user_data = tag(j, OP_WRITE);
			sqe = sqe_get(r);
			io_uring_prep_close_direct(sqe, j);
			sqe->flags |= IOSQE_IO_LINK | m->sqe_flags | skip;
			sqe->user_data = tag(j, OP_CLOSE);
			sqe = sqe_get(r);
			io_uring_prep_renameat(
			    sqe, r->activefd, nm, r->outfd, nm, RENAME_NOREPLACE);
			sqe->flags |= m->sqe_flags;
			sqe->user_data = tag(j, OP_RENAME);
		}
		/* With skipped successes only the renames (or a failure) post. */
		if (submit_wait(r, skip ? k : 4 * k) == -1 ||
		    reap(r, skip ? k : 4 * k, skip ? OP_RENAME : OP_ANY, first) == -1)
			return -1;
		if (skip && io_uring_cq_ready(&r->ring) > 0)
			return fail(r, "completions left after a batch");
		if (m->times && set_times(r, first, k) == -1)
			return -1;
	}
	return 0;
}

/*
 * (c) No chains: the batch's opens together (the kernel picks the slots,
 * IORING_FILE_INDEX_ALLOC), then its writes, then closes and renames
 * together. The closes do not share the writes' submission: a write that
 * goes to io-wq (IOSQE_ASYNC, or any write on ext4/tmpfs) looks its fixed
 * file up there, maybe after an unlinked close in the same submission
 * emptied the slot (EBADF). A rename does not need the file closed.
 */
static int
m_phased(struct run *r, const struct method *m)
{
	const struct bench *b = r->b;
	struct io_uring_sqe *sqe;
	unsigned first, j, k;

	for (first = 0; first < b->n; first += k) {
		k = b->n - first < b->batch ? b->n - first : b->batch;
		for (j = 0; j < k; j++) {
			sqe = sqe_get(r);
			io_uring_prep_openat(
			    sqe, r->activefd, name(r, first + j), OPEN_FLAGS, FILE_MODE);
			sqe->file_index = IORING_FILE_INDEX_ALLOC; /* not via the 2.3 helper */
			sqe->flags |= m->sqe_flags;
			sqe->user_data = tag(j, OP_OPEN);
		}
		if (submit_wait(r, k) == -1 || reap(r, k, OP_ANY, first) == -1)
			return -1;
		for (j = 0; j < k; j++) {
			sqe = sqe_get(r);
			io_uring_prep_writev(sqe, r->slot[j], r->iov[j], 2, 0);
			sqe->flags |= IOSQE_FIXED_FILE | m->sqe_flags;
			sqe->user_data = tag(j, OP_WRITE);
		}
		if (submit_wait(r, k) == -1 || reap(r, k, OP_ANY, first) == -1)
			return -1;
		for (j = 0; j < k; j++) {
			const char *nm = name(r, first + j);

			sqe = sqe_get(r);
			io_uring_prep_close_direct(sqe, (unsigned)r->slot[j]);
			sqe->flags |= m->sqe_flags;
			sqe->user_data = tag(j, OP_CLOSE);
			sqe = sqe_get(r);
			io_uring_prep_renameat(
			    sqe, r->activefd, nm, r->outfd, nm, RENAME_NOREPLACE);
			sqe->flags |= m->sqe_flags;
			sqe->user_data = tag(j, OP_RENAME);
		}
		if (submit_wait(r, 2 * k) == -1 || reap(r, 2 * k, OP_ANY, first) == -1)
			return -1;
	}
	return 0;
}

/*
 * (d) Plain openat and renameat2 on the filer thread (they would go to
 * io-wq anyway), the batch's writev -> close chains through io_uring on
 * plain descriptors.
 */
static int
m_hybrid(struct run *r, const struct method *m)
{
	const struct bench *b = r->b;
	struct io_uring_sqe *sqe;
	unsigned first, j, k;

	for (first = 0; first < b->n; first += k) {
		k = b->n - first < b->batch ? b->n - first : b->batch;
		for (j = 0; j < k; j++) {
			const char *nm = name(r, first + j);

			r->syscalls++;
			r->slot[j] = openat(r->activefd, nm, OPEN_FLAGS | O_CLOEXEC, FILE_MODE);
			if (r->slot[j] == -1)
				return fail(r, "openat %s: %s", nm, strerror(errno));
			sqe = sqe_get(r);
			io_uring_prep_writev(sqe, r->slot[j], r->iov[j], 2, 0);
			sqe->flags |= IOSQE_IO_LINK | m->sqe_flags;
			sqe->user_data = tag(j, OP_WRITE);
			sqe = sqe_get(r);
			io_uring_prep_close(sqe, r->slot[j]);
			sqe->flags |= m->sqe_flags;
			sqe->user_data = tag(j, OP_CLOSE);
		}
		if (submit_wait(r, 2 * k) == -1 || reap(r, 2 * k, OP_ANY, first) == -1)
			return -1;
		for (j = 0; j < k; j++) {
			const char *nm = name(r, first + j);

			r->syscalls++;
			if (renameat2(r->activefd, nm, r->outfd, nm, RENAME_NOREPLACE) == -1)
				return fail(r, "renameat2 %s: %s", nm, strerror(errno));
		}
	}
	return 0;
}

static const struct method methods[] = {
    {.name = "plain",
        .what = "openat, writev, close, renameat2 per file (files.c without futimens)",
        .fn = m_plain},
    {.name = "plain+t",
        .what = "files.c exactly: openat, writev, futimens, close, renameat2",
        .fn = m_plain,
        .times = 1},
    {.name = "chain",
        .what = "per file a linked OPENAT(direct)->WRITEV->CLOSE->RENAMEAT, 1 submit per batch",
        .fn = m_chain,
        .uring = 1},
    {.name = "chain+t",
        .what = "chain, then utimensat per file after the rename",
        .fn = m_chain,
        .uring = 1,
        .times = 1},
    {.name = "chain-async",
        .what = "chain with IOSQE_ASYNC on every SQE",
        .fn = m_chain,
        .uring = 1,
        .sqe_flags = IOSQE_ASYNC},
    {.name = "chain-w",
        .what = "chain with io-wq bounded workers limited to -w (default 1)",
        .fn = m_chain,
        .uring = 1,
        .limit_workers = 1},
    {.name = "chain-defer",
        .what = "chain, ring SINGLE_ISSUER|DEFER_TASKRUN, registered ring fd",
        .fn = m_chain,
        .uring = 1,
        .setup_flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        .ring_fd = 1},
    {.name = "chain-skip",
        .what = "chain, IOSQE_CQE_SKIP_SUCCESS: one completion per file",
        .fn = m_chain,
        .uring = 1,
        .skip_success = 1},
    {.name = "phased",
        .what = "no links: opens (FILE_INDEX_ALLOC), writes, closes+renames: 3 submits/batch",
        .fn = m_phased,
        .uring = 1},
    {.name = "phased-async",
        .what = "phased with IOSQE_ASYNC on every SQE",
        .fn = m_phased,
        .uring = 1,
        .sqe_flags = IOSQE_ASYNC},
    {.name = "hybrid",
        .what = "plain openat and renameat2, WRITEV->CLOSE chains through io_uring",
        .fn = m_hybrid,
        .uring = 1},
};
#define NMETHODS (sizeof methods / sizeof methods[0])

/* --- one run of one method ------------------------------------------------------ */

/*
 * A fresh folder, the method timed (wall, and CPU of the whole process
 * before the ring and its workers go), its result checked, the folder
 * removed. The system calls it made, or -1 (err says why; *refused if
 * io_uring could not be set up).
 */
static long
run_once(const struct bench *b, const struct method *m, unsigned k, struct sample *s, char *err,
    size_t errlen, int *refused)
{
	struct rusage ru0, ru1;
	struct tasks t0, t1;
	struct run r;
	long ret = -1;
	double t;
	unsigned j;

	memset(&r, 0, sizeof r);
	r.b = b;
	r.outfd = r.activefd = -1;
	r.iov = calloc(b->batch, sizeof *r.iov);
	r.slot = calloc(b->batch, sizeof *r.slot);
	if (r.iov == NULL || r.slot == NULL)
		die("calloc");
	for (j = 0; j < b->batch; j++)
		set_iov(&r, j);
	*refused = 0;
	if (run_dirs(&r, m->name, k) == -1)
		goto out;
	if (m->uring && ring_open(&r, m) < 0) {
		*refused = 1;
		goto out;
	}
	tasks_sample(&t0);
	t0.self = thread_cpu(); /* after reading /proc: the same span as RUSAGE_SELF's */
	getrusage(RUSAGE_SELF, &ru0);
	t = now();
	ret = m->fn(&r, m);
	s->wall = now() - t;
	getrusage(RUSAGE_SELF, &ru1);
	tasks_sample(&t1);
	s->cpu = tv(&ru1.ru_utime) - tv(&ru0.ru_utime) + tv(&ru1.ru_stime) - tv(&ru0.ru_stime);
	s->csw = (double)(ru1.ru_nvcsw - ru0.ru_nvcsw + ru1.ru_nivcsw - ru0.ru_nivcsw);
	tasks_delta(&t0, &t1, &s->self_cpu, &s->wq_cpu, &s->workers);
	/* What RUSAGE_SELF holds beyond the threads read one by one: ~0 if workers are in it. */
	s->gap = s->cpu - s->self_cpu - s->wq_cpu;
	if (ret == 0 && run_check(&r, m) == 0)
		ret = (long)r.syscalls;
	else
		ret = -1;
out:
	ring_close(&r, m);
	snprintf(err, errlen, "%s", ret >= 0 ? "" : r.err);
	run_cleanup(&r);
	free(r.iov);
	free(r.slot);
	return ret;
}

/* --- the probe: which ops run inline, which go to io-wq ------------------------- */

/* Submit what is queued, wait for all of it, and say who did the work. */
static void
probe_op(struct run *r, const char *what, unsigned n)
{
	struct tasks t0, t1;
	double self, wq;
	unsigned workers;
	const char *verdict;

	tasks_sample(&t0);
	if (submit_wait(r, n) == -1 || reap(r, n, OP_ANY, 0) == -1) {
		printf("| %s | failed: %s | | | |\n", what, r->err);
		r->err[0] = '\0';
		return;
	}
	tasks_sample(&t1);
	tasks_delta(&t0, &t1, &self, &wq, &workers);
	verdict = wq > self ? "io-wq (punted)" : wq < 0.1 * self ? "inline" : "partly io-wq";
	printf("| %s | %s | %.2f | %.2f | %u |\n", what, verdict, self * 1e3, wq * 1e3, workers);
}

static void
probe(struct bench *b)
{
	static const struct method pm = {.name = "probe", .uring = 1};
	const unsigned n = b->batch;
	struct io_uring_probe *p;
	struct io_uring_sqe *sqe;
	struct run r;
	unsigned j;
	int fd;

	memset(&r, 0, sizeof r);
	r.b = b;
	r.outfd = r.activefd = -1;
	r.iov = calloc(n, sizeof *r.iov);
	r.slot = calloc(n, sizeof *r.slot);
	if (r.iov == NULL || r.slot == NULL)
		die("calloc");
	for (j = 0; j < n; j++)
		set_iov(&r, j);
	printf("\nWho does the work, %u ops of one kind submitted together on %s (no IOSQE_ASYNC; "
	       "submitter: CLOCK_THREAD_CPUTIME_ID, io-wq: /proc/self/task/*/schedstat):\n\n",
	    n, b->fs);
	printf(
	    "| op | runs | submitter CPU ms | io-wq CPU ms | workers |\n|---|---|---|---|---|\n");
	if (run_dirs(&r, "probe", 0) == -1 || ring_open(&r, &pm) < 0) {
		printf("| (all) | %s | | | |\n", r.err);
		goto out;
	}
	if ((p = io_uring_get_probe_ring(&r.ring)) != NULL) {
		static const int ops[] = {
		    IORING_OP_OPENAT, IORING_OP_WRITEV, IORING_OP_CLOSE, IORING_OP_RENAMEAT};

		for (j = 0; j < sizeof ops / sizeof ops[0]; j++)
			if (!io_uring_opcode_supported(p, ops[j]))
				printf("| op %d | not supported by this kernel | | | |\n", ops[j]);
		io_uring_free_probe(p);
	}
	for (j = 0; j < n; j++) {
		sqe = sqe_get(&r);
		io_uring_prep_openat_direct(sqe, r.activefd, name(&r, j), OPEN_FLAGS, FILE_MODE, j);
		sqe->user_data = tag(j, OP_OPEN);
	}
	probe_op(&r, "openat O_CREAT|O_EXCL, direct", n);
	for (j = 0; j < n; j++) {
		sqe = sqe_get(&r);
		io_uring_prep_writev(sqe, (int)j, r.iov[j], 2, 0);
		sqe->flags |= IOSQE_FIXED_FILE;
		sqe->user_data = tag(j, OP_WRITE);
	}
	probe_op(&r, "writev, buffered, fixed file", n);
	for (j = 0; j < n; j++) {
		sqe = sqe_get(&r);
		io_uring_prep_close_direct(sqe, j);
		sqe->user_data = tag(j, OP_CLOSE);
	}
	probe_op(&r, "close, direct", n);
	for (j = 0; j < n; j++) {
		sqe = sqe_get(&r);
		io_uring_prep_openat_direct(
		    sqe, r.activefd, name(&r, j), O_WRONLY | O_APPEND, FILE_MODE, j);
		sqe->user_data = tag(j, OP_OPEN);
	}
	probe_op(&r, "openat without O_CREAT (reopen), direct", n);
	for (j = 0; j < n; j++) {
		sqe = sqe_get(&r);
		io_uring_prep_close_direct(sqe, j);
		sqe->user_data = tag(j, OP_CLOSE);
	}
	if (submit_wait(&r, n) == -1 || reap(&r, n, OP_ANY, 0) == -1)
		printf("| close | failed: %s | | | |\n", r.err);
	for (j = 0; j < n; j++) {
		if ((fd = openat(r.activefd, name(&r, j), O_WRONLY | O_APPEND | O_CLOEXEC)) == -1)
			die("openat %s", name(&r, j));
		sqe = sqe_get(&r);
		io_uring_prep_close(sqe, fd);
		sqe->user_data = tag(j, OP_CLOSE);
	}
	probe_op(&r, "close, plain descriptor", n);
	for (j = 0; j < n; j++) {
		sqe = sqe_get(&r);
		io_uring_prep_renameat(
		    sqe, r.activefd, name(&r, j), r.outfd, name(&r, j), RENAME_NOREPLACE);
		sqe->user_data = tag(j, OP_RENAME);
	}
	probe_op(&r, "renameat RENAME_NOREPLACE", n);
out:
	ring_close(&r, &pm);
	run_cleanup(&r);
	free(r.iov);
	free(r.slot);
}

/* --- medians and the table ------------------------------------------------------ */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stat3 {
	double med, min, max;
};

static struct stat3
stat3(const struct sample *s, unsigned n, size_t off)
{
	double v[MAX_RUNS];
	struct stat3 r;
	unsigned i;

	for (i = 0; i < n; i++)
		v[i] = *(const double *)((const char *)&s[i] + off);
	qsort(v, n, sizeof v[0], cmp_double);
	r.min = v[0];
	r.max = v[n - 1];
	r.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return r;
}

struct result {
	struct sample s[MAX_RUNS];
	unsigned ok;
	long syscalls;
	int refused;
	char err[256];
};

static void
print_row(const struct bench *b, const struct method *m, const struct result *res)
{
	struct stat3 wall, cpu, self, wq, gap, csw;
	unsigned i, workers = 0;

	if (res->ok == 0) {
		printf("| %s | %s%s | | | | | | | | |\n", m->name,
		    res->refused ? "" : "FAILED: ", res->err);
		return;
	}
	wall = stat3(res->s, res->ok, offsetof(struct sample, wall));
	cpu = stat3(res->s, res->ok, offsetof(struct sample, cpu));
	wq = stat3(res->s, res->ok, offsetof(struct sample, wq_cpu));
	self = stat3(res->s, res->ok, offsetof(struct sample, self_cpu));
	gap = stat3(res->s, res->ok, offsetof(struct sample, gap));
	csw = stat3(res->s, res->ok, offsetof(struct sample, csw));
	for (i = 0; i < res->ok; i++)
		if (res->s[i].workers > workers)
			workers = res->s[i].workers;
	printf("| %s | %.3f | %.3f (%.3f–%.3f) | %.0f | %.3f (%.3f–%.3f) | %.3f | %.3f | %u | "
	       "%.2f | %+.1f (%+.1f–%+.1f) | %u/%u ok%s%s |\n",
	    m->name, (double)res->syscalls / b->n, wall.med, wall.min, wall.max, b->n / wall.med,
	    cpu.med, cpu.min, cpu.max, self.med, wq.med, workers, csw.med / b->n, gap.med * 1e3,
	    gap.min * 1e3, gap.max * 1e3, res->ok, b->runs, res->err[0] ? "; " : "", res->err);
}

static const char *
fs_name(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) == -1)
		return "?";
	switch ((unsigned long)sf.f_type) {
	case 0x01021994:
		return "tmpfs";
	case 0xEF53:
		return "ext4";
	case 0x58465342:
		return "xfs";
	case 0x9123683E:
		return "btrfs";
	default:
		return "other";
	}
}

static void
bench_dir(struct bench *b, const char *dir, const unsigned *sel, unsigned nsel, int do_probe)
{
	static struct result res[NMETHODS];
	unsigned k, i;

	if (mkdir(dir, 0750) == -1 && errno != EEXIST)
		die("mkdir %s", dir);
	if ((b->basefd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		die("open %s", dir);
	b->fs = fs_name(b->basefd);
	printf("\n### %s (%s)\n", dir, b->fs);
	if (do_probe)
		probe(b);
	memset(res, 0, sizeof res);
	/* Round robin: run k of every method, then run k+1: drift hits all alike. */
	for (k = 0; k < b->runs; k++)
		for (i = 0; i < nsel; i++) {
			const struct method *m = &methods[sel[i]];
			struct result *r = &res[sel[i]];
			char err[256];
			long sc;

			if (r->refused || (r->err[0] && r->ok == 0 && k > 0))
				continue;
			fprintf(stderr, "uring-files: %s: %s run %u/%u\n", b->fs, m->name, k + 1,
			    b->runs);
			sc = run_once(b, m, k, &r->s[r->ok], err, sizeof err, &r->refused);
			if (sc >= 0) {
				r->syscalls = sc;
				r->ok++;
			} else if (r->err[0] == '\0')
				snprintf(r->err, sizeof r->err, "%s", err);
		}
	printf("\n%u files of %zu bytes (pcap header + %u) on %s, batches of %u, %u runs: median "
	       "(min–max).\n\n",
	    b->n, file_size(b), b->size, b->fs, b->batch, b->runs);
	printf("| method | syscalls/file | wall s | files/s | CPU s (RUSAGE_SELF) | filer thread "
	       "CPU s | io-wq CPU s | io-wq threads | ctx switches/file | RUSAGE − threads ms | "
	       "check |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (i = 0; i < nsel; i++)
		print_row(b, &methods[sel[i]], &res[sel[i]]);
	close(b->basefd);
}

/* --- set-up: names, payload, tmpfs, a refusal on purpose -------------------------- */

static void
make_names(struct bench *b)
{
	unsigned i;

	if ((b->names = calloc(b->n, NAME_LEN)) == NULL)
		die("calloc");
	/* As long as a traceflow label: time, endpoints, protocol. */
	for (i = 0; i < b->n; i++)
		snprintf(b->names[i], NAME_LEN,
		    "20240101T000000.%06uZ-10.%u.%u.%u.%u-192.0.2.1.443.pcap", i % 1000000,
		    (i >> 16) & 255, (i >> 8) & 255, i & 255, 1024 + i % 60000);
}

static void
make_payload(struct bench *b)
{
	static const uint8_t hdr[PCAP_HDR_LEN] = {
	    0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0};
	size_t i, len = (size_t)b->batch * b->size;
	uint32_t x = 2463534242u;

	memcpy(b->hdr, hdr, sizeof hdr);
	if ((b->payload = malloc(len ? len : 1)) == NULL)
		die("malloc");
	for (i = 0; i < len; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		b->payload[i] = (uint8_t)x;
	}
}

/*
 * A tmpfs of our own, in a mount namespace of our own: nobody else sees
 * it, and it goes when we do, even if we crash.
 */
static int
tmpfs_setup(char *path, size_t len)
{
	snprintf(path, len, "/tmp/uring-files.XXXXXX");
	if (unshare(CLONE_NEWNS) == -1 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1) {
		fprintf(stderr, "uring-files: no mount namespace (%s): no tmpfs (run as root)\n",
		    strerror(errno));
		return -1;
	}
	if (mkdtemp(path) == NULL)
		die("mkdtemp");
	if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") == -1) {
		fprintf(stderr, "uring-files: mount tmpfs: %s\n", strerror(errno));
		rmdir(path);
		return -1;
	}
	return 0;
}

/* What a unit's SystemCallFilter= does to io_uring_setup: here, on purpose. */
static void
refuse_io_uring(int err)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof f / sizeof f[0], f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1)
		die("seccomp");
}

static void
usage(void)
{
	unsigned i;

	fprintf(stderr,
	    "usage: uring-files [-n files] [-s payload] [-b batch] [-r runs] [-w workers]\n"
	    "                   [-m method,...] [-d dir]... [-T] [-P] [-x eperm|enosys]\n"
	    "  -n  files per run (200000)         -s  payload bytes per file (400)\n"
	    "  -b  flows per batch (256)          -r  runs per method (5), medians\n"
	    "  -w  io-wq bounded workers for chain-w (1)\n"
	    "  -d  also a folder (made if missing), e.g. on ext4\n"
	    "  -T  no tmpfs (by default one is mounted, which needs root)\n"
	    "  -P  no probe table               -x  refuse io_uring_setup with a seccomp filter\n"
	    "methods:\n");
	for (i = 0; i < NMETHODS; i++)
		fprintf(stderr, "  %-13s %s\n", methods[i].name, methods[i].what);
	exit(2);
}

static unsigned
number(const char *s, unsigned min, unsigned max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > max)
		usage();
	return (unsigned)v;
}

static unsigned
select_methods(const char *list, unsigned *sel)
{
	char *copy, *tok, *save;
	unsigned n = 0, i;

	if (list == NULL) {
		for (i = 0; i < NMETHODS; i++)
			sel[n++] = i;
		return n;
	}
	if ((copy = strdup(list)) == NULL)
		die("strdup");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < NMETHODS && strcmp(methods[i].name, tok) != 0; i++)
			;
		if (i == NMETHODS) {
			fprintf(stderr, "uring-files: no method %s\n", tok);
			usage();
		}
		if (n < NMETHODS)
			sel[n++] = i;
	}
	free(copy);
	return n;
}

int
main(int argc, char **argv)
{
	struct bench b = {.n = 200000, .size = 400, .batch = 256, .runs = 5, .max_workers = 1};
	const char *dirs[MAX_DIRS], *list = NULL;
	int ndirs = 0, tmpfs = 1, do_probe = 1, c, dis;
	char tmp[64], why[200];
	unsigned sel[NMETHODS], nsel, i;
	struct rlimit rl;
	struct rusage ru;
	struct utsname u;

	while ((c = getopt(argc, argv, "n:s:b:r:w:m:d:TPx:h")) != -1)
		switch (c) {
		case 'n':
			b.n = number(optarg, 1, 50000000);
			break;
		case 's':
			b.size = number(optarg, 0, 1 << 24);
			break;
		case 'b':
			b.batch = number(optarg, 1, 8192);
			break;
		case 'r':
			b.runs = number(optarg, 1, MAX_RUNS);
			break;
		case 'w':
			b.max_workers = number(optarg, 1, 1024);
			break;
		case 'm':
			list = optarg;
			break;
		case 'd':
			if (ndirs == MAX_DIRS)
				usage();
			dirs[ndirs++] = optarg;
			break;
		case 'T':
			tmpfs = 0;
			break;
		case 'P':
			do_probe = 0;
			break;
		case 'x':
			b.refuse = strcmp(optarg, "eperm") == 0    ? EPERM
			           : strcmp(optarg, "enosys") == 0 ? ENOSYS
			                                           : (usage(), 0);
			break;
		default:
			usage();
		}
	if (optind != argc)
		usage();
	nsel = select_methods(list, sel);
	/* hybrid holds a batch of plain descriptors; the direct table counts against it too. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	make_names(&b);
	make_payload(&b);
	uname(&u);
	dis = io_uring_disabled();
	printf("## uring-files: %u files, %u-byte payload, batches of %u, %u runs\n\n", b.n, b.size,
	    b.batch, b.runs);
	printf("Linux %s, %ld CPUs, liburing %s, kernel.io_uring_disabled=%s%s%s\n", u.release,
	    sysconf(_SC_NPROCESSORS_ONLN), LIBURING_VERSION,
	    dis < 0    ? "(none)"
	    : dis == 0 ? "0"
	    : dis == 1 ? "1"
	               : "2",
	    b.refuse ? "; io_uring_setup refused on purpose by a seccomp filter: " : "",
	    b.refuse ? strerror(b.refuse) : "");
	if (b.refuse)
		refuse_io_uring(b.refuse);
	/* Say once, up front, whether io_uring is there at all. */
	{
		struct io_uring ring;
		int ret = io_uring_queue_init(8, &ring, 0);

		if (ret < 0) {
			refusal(-ret, why, sizeof why);
			printf("\n**io_uring refused** (io_uring_queue_init: %s): the io_uring "
			       "methods "
			       "say so and are skipped; the daemon would fall back to plain system "
			       "calls.\n",
			    why);
		} else
			io_uring_queue_exit(&ring);
	}
	if (tmpfs && tmpfs_setup(tmp, sizeof tmp) == 0) {
		bench_dir(&b, tmp, sel, nsel, do_probe);
		umount2(tmp, MNT_DETACH);
		rmdir(tmp);
	}
	for (i = 0; i < (unsigned)ndirs; i++)
		bench_dir(&b, dirs[i], sel, nsel, do_probe);
	printf("\nsyscalls/file: system calls made in the timed part (an io_uring_enter counts "
	       "one). CPU s: getrusage(RUSAGE_SELF), all threads; filer thread: the calling "
	       "thread (CLOCK_THREAD_CPUTIME_ID); io-wq: the iou-wrk threads' "
	       "/proc/self/task/*/schedstat. RUSAGE − threads: RUSAGE_SELF minus those two "
	       "(near 0, within a tick, when RUSAGE_SELF holds the workers' time). ctx "
	       "switches: ru_nvcsw + ru_nivcsw of RUSAGE_SELF.\n");
	getrusage(RUSAGE_SELF, &ru);
	printf("\nThis process in all: %.2f s user, %.2f s sys (compare: the shell's `time`).\n",
	    tv(&ru.ru_utime), tv(&ru.ru_stime));
	free(b.names);
	free(b.payload);
	return 0;
}
