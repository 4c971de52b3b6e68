/* index.c: index.jsonl, one JSON line per finished flow or segment (jansson). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index.h"
#include "record.h"
#include "label.h"
#include "log.h"
#include "names.h"
#include "spool.h"
#include "xmalloc.h"

#define INDEX_BATCH   (64 * 1024)        /* lines go to the file in writes of this size */
#define INDEX_PENDING (16 * 1024 * 1024) /* kept while the disk refuses them */

/*
 * The index is written by hand, not through stdio: a FILE flushes
 * whatever its buffer holds, so on a full disk half a line reaches the
 * file and the next line is glued to it. Here the buffer only ever holds
 * whole lines, it goes out in one write(2) on an O_APPEND descriptor, a
 * write that fails halfway is cut back, and the lines are kept to be tried
 * again.
 */
struct flow_index {
	int fd;          /* -1 while the name refuses a reopen (index_reopen) */
	int dirfd;       /* the folder, our own duplicate: reopen and prune work in it */
	char *path;      /* for messages */
	struct text out; /* whole lines not yet in the file */
	uint64_t lines;  /* in out */
	uint64_t lost;   /* lines dropped: the disk refused them for too long */
	uint64_t errors; /* failed writes */
	int failing;
	int reopen_failing; /* the name held a link or a foreign file: logged once */

	/* A prune still to do (it failed, e.g. on a full disk): tried again by index_retry. */
	char **gone; /* sorted */
	size_t ngone;
	int missing;
	int prune_failing; /* logged once */
};

/*
 * A torn last line (a crash mid-write, or an older version) is cut: it
 * was never whole, and the next line would be glued to it. Read back in
 * blocks until a newline, or the start of the file.
 */
static void
cut_torn_tail(struct flow_index *idx)
{
	char block[65536];
	struct stat sb;
	off_t end, start, keep = -1;
	ssize_t n, i;

	if (fstat(idx->fd, &sb) == -1 || sb.st_size == 0)
		return;
	if (pread(idx->fd, block, 1, sb.st_size - 1) == 1 && block[0] == '\n')
		return;
	for (end = sb.st_size; end > 0 && keep == -1; end = start) {
		start = end > (off_t)sizeof block ? end - (off_t)sizeof block : 0;
		if ((n = pread(idx->fd, block, (size_t)(end - start), start)) <= 0)
			return;
		for (i = n - 1; i >= 0; i--)
			if (block[i] == '\n') {
				keep = start + i + 1;
				break;
			}
	}
	if (keep == -1)
		keep = 0;
	if (ftruncate(idx->fd, keep) == -1)
		log_warn("%s: cut torn last line", idx->path);
	else
		log_warnx("%s: cut a torn last line (%lld bytes)", idx->path,
		    (long long)(sb.st_size - keep));
}

/*
 * index.jsonl under idx->dirfd, for appending: made if missing, else the
 * existing one, never through a link, never a file that is not ours
 * alone. -1 and *cause when refused.
 */
static int
open_named(struct flow_index *idx, int *created, char **cause)
{
	struct stat sb;
	int fd;

	*created = 1;
	fd = openat(idx->dirfd, NAMES_INDEX,
	    O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, SPOOL_FILE_MODE);
	if (fd == -1 && errno == EEXIST) {
		*created = 0;
		fd = openat(idx->dirfd, NAMES_INDEX,
		    O_RDWR | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	}
	if (fd == -1) {
		xasprintf(cause, "%s: %s", idx->path,
		    errno == ELOOP ? "is a symbolic link; never written through (remove it)"
		                   : strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) || sb.st_nlink != 1 ||
	    sb.st_uid != geteuid()) {
		xasprintf(cause, "%s: not a regular file of ours alone (owner uid %u, %u links)",
		    idx->path, (unsigned)sb.st_uid, (unsigned)sb.st_nlink);
		close(fd);
		return -1;
	}
	if (*created && fchmod(fd, SPOOL_FILE_MODE) == -1)
		log_warn("%s", idx->path);
	return fd;
}

struct flow_index *
index_open(int dirfd, const char *dirpath, char **cause)
{
	struct flow_index *idx;
	int created;

	idx = xcalloc(1, sizeof *idx);
	xasprintf(&idx->path, "%s/%s", dirpath, NAMES_INDEX);
	if ((idx->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) == -1) {
		xasprintf(cause, "%s: %s", dirpath, strerror(errno));
		goto fail;
	}
	if ((idx->fd = open_named(idx, &created, cause)) == -1)
		goto fail;
	cut_torn_tail(idx);
	return idx;
fail:
	if (idx->dirfd != -1)
		close(idx->dirfd);
	free(idx->path);
	free(idx);
	return NULL;
}

int
index_reopen(struct flow_index *idx)
{
	struct stat a, b;
	char *cause = NULL;
	int fd, created;

	if ((fd = open_named(idx, &created, &cause)) == -1) {
		/* Not the moved file either: lines wait, as on a full disk, until the name is ours.
		 */
		if (!idx->reopen_failing)
			log_warnx("%s; not reopened: index lines wait until it can be", cause);
		free(cause);
		idx->reopen_failing = 1;
		idx->failing = 1;
		if (idx->fd != -1)
			close(idx->fd);
		idx->fd = -1;
		return -1;
	}
	if (idx->reopen_failing)
		log_info("%s: reopened", idx->path);
	idx->reopen_failing = 0;
	if (idx->fd != -1 && fstat(idx->fd, &a) == 0 && fstat(fd, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		close(fd); /* the same file: nothing moved */
		return 0;
	}
	if (idx->fd != -1)
		close(idx->fd);
	idx->fd = fd;
	if (!created)
		cut_torn_tail(idx);
	log_info("%s: reopened by name%s", idx->path, created ? ", a new file" : "");
	return 0;
}

/* --- pruning: the lines of files that are gone ------------------------------ */

static void
gone_clear(struct flow_index *idx)
{
	size_t i;

	for (i = 0; i < idx->ngone; i++)
		free(idx->gone[i]);
	free(idx->gone);
	idx->gone = NULL;
	idx->ngone = 0;
	idx->missing = 0;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Where a file's existence is asked: its folder, kept open while lines stay in it. */
struct dircache {
	char dir[448];
	int fd; /* -1: none open; -2: the folder is missing */
};

/*
 * Is the file name (relative to the index's folder) certainly gone? Asked
 * through descriptors (spool_openat_dir, fstatat without following); only
 * ENOENT says so: a folder we may not read, or any other error, keeps the
 * line.
 */
static int
file_missing(struct flow_index *idx, struct dircache *dc, const char *name)
{
	const char *slash = strrchr(name, '/');
	struct stat sb;
	size_t dlen = slash ? (size_t)(slash - name) : 0;

	if (dlen >= sizeof dc->dir)
		return 0;
	if (dc->fd == -1 || strlen(dc->dir) != dlen || memcmp(dc->dir, name, dlen) != 0) {
		if (dc->fd >= 0)
			close(dc->fd);
		memcpy(dc->dir, name, dlen);
		dc->dir[dlen] = '\0';
		dc->fd = spool_openat_dir(idx->dirfd, dc->dir, 0);
		if (dc->fd == -1 && errno == ENOENT)
			dc->fd = -2;
		else if (dc->fd == -1)
			return 0;
	}
	if (dc->fd == -2)
		return 1;
	return fstatat(dc->fd, slash ? slash + 1 : name, &sb, AT_SYMLINK_NOFOLLOW) == -1 &&
	       errno == ENOENT;
}

/*
 * The "fpout" of a line, into buf: 1, or 0 for none (null, or a line of
 * no shape we know: kept). The key is looked for near the start, where
 * every version writes it (second, after the label); a value with escapes
 * is decoded by jansson.
 */
static int
line_fpout(const char *line, size_t len, char *buf, size_t cap)
{
	static const char key[] = "\"fpout\":\"";
	const char *p, *end;
	size_t head = len < 1024 ? len : 1024, i, esc = 0;
	json_error_t jerr;
	json_t *v;

	if ((p = memmem(line, head, key, sizeof key - 1)) == NULL)
		return 0;
	p += sizeof key - 2; /* at the opening quote */
	for (i = 1, end = NULL; p + i < line + len; i++) {
		if (p[i] == '\\') {
			esc = 1;
			i++;
		} else if (p[i] == '"') {
			end = p + i;
			break;
		}
	}
	if (end == NULL || (size_t)(end - p) > cap)
		return 0;
	if (!esc) {
		memcpy(buf, p + 1, (size_t)(end - p - 1));
		buf[end - p - 1] = '\0';
		return 1;
	}
	if ((v = json_loadb(p, (size_t)(end - p + 1), JSON_DECODE_ANY, &jerr)) == NULL)
		return 0;
	i = json_is_string(v) && json_string_length(v) < cap;
	if (i)
		snprintf(buf, cap, "%s", json_string_value(v));
	json_decref(v);
	return (int)i;
}

/* Does this line go: its file is in the gone list or (with missing) does not exist? */
static int
line_goes(struct flow_index *idx, struct dircache *dc, const char *line, size_t len)
{
	char name[512];
	const char *key = name;

	if (!line_fpout(line, len, name, sizeof name))
		return 0;
	if (idx->ngone > 0 && bsearch(&key, idx->gone, idx->ngone, sizeof *idx->gone, cmp_name))
		return 1;
	return idx->missing && file_missing(idx, dc, name);
}

/* len bytes at off of in to the end of out: in the kernel when it can, else from map. */
static int
copy_range(int in, int out, const char *map, off_t off, size_t len)
{
	ssize_t n;
	off_t o = off;
	int kernel = 1;

	while (len > 0) {
		if (kernel) {
			n = copy_file_range(in, &o, out, NULL, len, 0);
			if (n == -1 && errno != EINTR && errno != ENOSPC && errno != EIO &&
			    errno != EDQUOT) {
				kernel =
				    0; /* EXDEV, EINVAL, ENOSYS...: an older kernel, another fs */
				continue;
			}
		} else {
			n = write(out, map + o, len);
			if (n > 0)
				o += n;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		len -= (size_t)n;
	}
	return 0;
}

/* The waiting lines (idx->out) lose theirs too; skip: a first one that ends a torn file line. */
static size_t
prune_pending(struct flow_index *idx, struct dircache *dc, int skip_first)
{
	char *s = idx->out.s, *nl;
	size_t at = 0, to = 0, len, dropped = 0;

	while (at < idx->out.len) {
		nl = memchr(s + at, '\n', idx->out.len - at);
		len = nl ? (size_t)(nl - (s + at)) + 1 : idx->out.len - at;
		if (!skip_first && line_goes(idx, dc, s + at, len)) {
			dropped++;
			idx->lines--;
		} else {
			memmove(s + to, s + at, len);
			to += len;
		}
		skip_first = 0;
		at += len;
	}
	idx->out.len = to;
	return dropped;
}

/* The file the name index.jsonl holds is the one we write? If not, reopen (it was moved). */
static int
index_current(struct flow_index *idx)
{
	struct stat a, b;

	if (idx->fd != -1 && fstat(idx->fd, &a) == 0 &&
	    fstatat(idx->dirfd, NAMES_INDEX, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return 0;
	return index_reopen(idx);
}

/*
 * The rewrite: the kept lines go to NAMES_INDEX_NEW (made with O_EXCL:
 * never a link, never an old file), which is synced and renamed over
 * index.jsonl, so that the name holds the old index or the new one, whole,
 * whatever happens. Only when a line goes: until the first, nothing is
 * written. Runs of kept lines are copied in the kernel (copy_file_range:
 * a reflink on XFS or btrfs), not through our memory. The index is read
 * through a mapping; only the daemon writes it (the filer's thread, which
 * runs this), so it does not change under us.
 */
static int
prune_file(struct flow_index *idx, struct dircache *dc, size_t *dropped, int *torn)
{
	struct stat sb;
	const char *map = NULL, *line, *nl, *what;
	off_t run = 0, at = 0;
	size_t len;
	int out = -1, saved;

	*dropped = 0;
	*torn = 0;
	if (fstat(idx->fd, &sb) == -1) {
		what = "fstat";
		goto fail;
	}
	if (sb.st_size == 0)
		return 0;
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, idx->fd, 0);
	if (map == MAP_FAILED) {
		map = NULL;
		what = "mmap";
		goto fail;
	}
	*torn = map[sb.st_size - 1] != '\n';
	for (at = 0; at < sb.st_size; at += (off_t)len) {
		line = map + at;
		nl = memchr(line, '\n', (size_t)(sb.st_size - at));
		len = nl ? (size_t)(nl - line) + 1 : (size_t)(sb.st_size - at);
		if (nl == NULL || !line_goes(idx, dc, line, len))
			continue;
		if (out == -1) {
			if (unlinkat(idx->dirfd, NAMES_INDEX_NEW, 0) == -1 && errno != ENOENT) {
				what = "unlink " NAMES_INDEX_NEW;
				goto fail;
			}
			out = openat(idx->dirfd, NAMES_INDEX_NEW,
			    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, SPOOL_FILE_MODE);
			if (out == -1 || fchmod(out, SPOOL_FILE_MODE) == -1) {
				what = NAMES_INDEX_NEW;
				goto fail;
			}
		}
		if (copy_range(idx->fd, out, map, run, (size_t)(at - run)) == -1) {
			what = "write " NAMES_INDEX_NEW;
			goto fail;
		}
		run = at + (off_t)len;
		(*dropped)++;
	}
	if (out == -1) {
		munmap((void *)map, (size_t)sb.st_size);
		return 0;
	}
	what = "write " NAMES_INDEX_NEW;
	if (copy_range(idx->fd, out, map, run, (size_t)(sb.st_size - run)) == -1)
		goto fail;
	what = "fsync " NAMES_INDEX_NEW;
	if (fsync(out) == -1)
		goto fail;
	/* copy_file_range refuses an O_APPEND descriptor: appending starts now. */
	what = "fcntl";
	if (fcntl(out, F_SETFL, O_APPEND) == -1)
		goto fail;
	what = "rename " NAMES_INDEX_NEW;
	if (renameat(idx->dirfd, NAMES_INDEX_NEW, idx->dirfd, NAMES_INDEX) == -1)
		goto fail;
	if (fsync(idx->dirfd) == -1)
		log_warn("%s: fsync of its folder", idx->path);
	munmap((void *)map, (size_t)sb.st_size);
	close(idx->fd);
	idx->fd = out;
	return 0;
fail:
	saved = errno;
	if (map != NULL)
		munmap((void *)map, (size_t)sb.st_size);
	if (out != -1) {
		close(out);
		unlinkat(idx->dirfd, NAMES_INDEX_NEW, 0);
	}
	if (!idx->prune_failing)
		log_warnx("%s: lines of deleted files not dropped yet (%s: %s); tried again",
		    idx->path, what, strerror(saved));
	idx->prune_failing = 1;
	*dropped = 0;
	return -1;
}

/* The prune asked for (idx->gone, idx->missing), now: the file, then the waiting lines. */
static int
prune_now(struct flow_index *idx)
{
	struct dircache dc = {"", -1};
	size_t infile, inmem;
	int torn, rc = -1;

	/* The waiting lines reach the file first, if they can: one pass sees them all. */
	index_flush(idx);
	if (index_current(idx) == -1)
		goto out; /* the name refused a reopen: tried again with the lines */
	if (prune_file(idx, &dc, &infile, &torn) == -1)
		goto out;
	inmem = prune_pending(idx, &dc, torn);
	if (infile + inmem > 0)
		log_info("%s: %zu lines of files no longer in the spool dropped", idx->path,
		    infile + inmem);
	if (idx->prune_failing)
		log_info("%s: pruned again", idx->path);
	idx->prune_failing = 0;
	gone_clear(idx);
	rc = 0;
out:
	if (dc.fd >= 0)
		close(dc.fd);
	return rc;
}

int
index_prune(struct flow_index *idx, char *const *gone, size_t n, int missing)
{
	size_t i;

	if (n > 0) {
		idx->gone = xreallocarray(idx->gone, idx->ngone + n, sizeof *idx->gone);
		for (i = 0; i < n; i++)
			idx->gone[idx->ngone++] = xstrdup(gone[i]);
		qsort(idx->gone, idx->ngone, sizeof *idx->gone, cmp_name);
	}
	idx->missing |= missing;
	if (idx->ngone == 0 && !idx->missing)
		return 0;
	return prune_now(idx);
}

int
index_retry(struct flow_index *idx)
{
	if (idx->ngone > 0 || idx->missing)
		prune_now(idx);
	else
		index_flush(idx);
	return index_wants_retry(idx);
}

int
index_wants_retry(const struct flow_index *idx)
{
	return idx->lines > 0 || idx->ngone > 0 || idx->missing;
}

void
index_close(struct flow_index *idx)
{
	if (idx == NULL)
		return;
	if (index_flush(idx) == -1 && idx->lines > 0) {
		log_warnx(
		    "%s: %" PRIu64 " index lines could not be written", idx->path, idx->lines);
		idx->lost += idx->lines;
	}
	if (idx->fd != -1)
		close(idx->fd);
	close(idx->dirfd);
	gone_clear(idx);
	free(idx->out.s);
	free(idx->path);
	free(idx);
}

/*
 * Lines are made in place at the end of out. Room for one more? While the
 * disk refuses lines, at most INDEX_PENDING bytes of them wait; beyond,
 * a line is dropped and counted.
 */
static int
line_room(struct flow_index *idx)
{
	if (!idx->failing || idx->out.len <= INDEX_PENDING)
		return 1;
	if (idx->lost++ % 1000 == 0)
		log_warnx("%s: the disk refused index lines for too long: %" PRIu64
		          " dropped so far",
		    idx->path, idx->lost);
	return 0;
}

/* The line made at the end of out is whole: its newline; out goes to the file in batches. */
static void
line_done(struct flow_index *idx)
{
	text_add(&idx->out, "\n", 1);
	idx->lines++;
	if (idx->out.len >= INDEX_BATCH && !idx->failing)
		index_flush(idx);
}

int
index_flush(struct flow_index *idx)
{
	struct stat sb;
	size_t off = 0;
	ssize_t n;
	int saved;

	if (idx->out.len == 0)
		return 0;
	/* The name refused a reopen: tried again, quietly, until it takes the lines. */
	if (idx->fd == -1 && index_reopen(idx) == -1) {
		idx->errors++;
		return -1;
	}
	if (fstat(idx->fd, &sb) == -1)
		sb.st_size = -1;
	while (off < idx->out.len) {
		if ((n = write(idx->fd, idx->out.s + off, idx->out.len - off)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	if (off == idx->out.len) {
		if (idx->failing)
			log_info("%s: index lines written again", idx->path);
		idx->failing = 0;
		idx->out.len = 0;
		idx->lines = 0;
		return 0;
	}
	saved = errno;
	/* Half a line must not stay in the file: cut back and keep them all. */
	if (off > 0 && (sb.st_size < 0 || ftruncate(idx->fd, sb.st_size) == -1)) {
		/* Could not cut: the rest, written later, completes the line. */
		memmove(idx->out.s, idx->out.s + off, idx->out.len - off);
		idx->out.len -= off;
	}
	idx->errors++;
	if (!idx->failing)
		log_warnx("%s: %s; %" PRIu64 " lines kept to be written when it can be", idx->path,
		    strerror(saved), idx->lines);
	idx->failing = 1;
	return -1;
}

void
index_stats(const struct flow_index *idx, uint64_t *pending, uint64_t *lost, uint64_t *errors)
{
	*pending = idx ? idx->lines : 0;
	*lost = idx ? idx->lost : 0;
	*errors = idx ? idx->errors : 0;
}

int
index_append_record(struct flow_index *idx, const struct index_record *r, const char *frames)
{
	struct text *t = &idx->out;

	if (!line_room(idx))
		return -1;
	text_reserve(t, 512 + strlen(frames));
	index_record_text(t, r, 0);
	text_key(t, "index");
	text_add(t, frames, strlen(frames));
	text_add(t, "}", 1);
	line_done(idx);
	return 0;
}

int
index_append_recovered(struct flow_index *idx, const struct index_recovered *r)
{
	json_t *o = index_recovered_json(r);
	int rc = index_append(idx, o);

	json_decref(o);
	return rc;
}

int
index_append(struct flow_index *idx, json_t *entry)
{
	char *text;

	if (!line_room(idx))
		return -1;
	if ((text = json_dumps(entry, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		fatalx("json_dumps: out of memory");
	text_add(&idx->out, text, strlen(text));
	free(text);
	line_done(idx);
	return 0;
}
