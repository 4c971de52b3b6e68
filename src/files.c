/*
 * files.c: the file system work of the output side (files.h), all of it
 * through the output folder's descriptors: create under .active/ without
 * ever truncating (O_EXCL, a free name if taken), append whole records
 * (a failed write is cut back to the last whole one), close the least
 * recently used descriptor beyond the budget, rename into place without
 * replacing anything. Failures are counted and logged once per episode.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "label.h"
#include "log.h"
#include "names.h"
#include "pcapfile.h"
#include "spool.h"
#include "xmalloc.h"

#define MAX_SUFFIX 10000
#define PATH_LEN   PATH_MAX

struct ifile {
	TAILQ_ENTRY(ifile) olink; /* open-descriptor LRU */
	uint64_t first;           /* the flow's start, for the dated folder */
	uint32_t seg_no;
	uint32_t linktype;
	uint32_t snaplen;
	const char *ifname; /* for a pcapng header (the engine's, borrowed); NULL: none */
	uint16_t suffix;    /* the name was taken: label-N */
	int fd;
	uint64_t size;      /* bytes on disk: the header and whole records */
	uint64_t written;   /* records on disk */
	uint64_t lost;      /* records that could not be written (counted, logged) */
	uint8_t created;    /* it exists under .active/ */
	uint8_t hdr;        /* its header is on disk */
	uint8_t failed;     /* creating it failed: what it gets is counted as lost */
	struct fname *name; /* the flow's, across segments (NULL: none) */
	dev_t dev;          /* the file as created: what its name must still be at the rename */
	ino_t ino;
	char label[]; /* the flow's label when the file was opened (one allocation) */
};

struct fname {
	_Atomic unsigned refs;
	uint16_t suffix; /* the filer's thread's alone */
	uint8_t set;     /* the first file took its suffix */
};
TAILQ_HEAD(ifile_list, ifile);

/* Read by another thread (files_stats): atomic. */
struct file_counters {
	_Atomic uint64_t files, bytes, writes, opens, write_errors, bytes_lost, frames_lost,
	    open_files;
};

struct files {
	struct filer_config cfg; /* cfg.layout is not used: a reload frees it */
	char *layout;            /* our own copy, for our whole life */
	int outfd;
	int activefd;
	struct ifile_list open;
	unsigned nopen;
	_Atomic unsigned max_open;
	char lastdir[PATH_LEN]; /* the dated folder datefd is open on */
	int datefd;
	int failing;           /* in an episode of failed writes (a full disk) */
	uint64_t episode_lost; /* records lost in it */
	char fpout[PATH_LEN];  /* of the file finished last */
	struct file_counters c;
};

static const char plist_head[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                 "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
                                 "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
                                 "<plist version=\"1.0\">\n<array>\n";

/* --- names and descriptors ------------------------------------------------ */

static void
io_name(const struct files *fs, const struct ifile *io, char *buf, size_t len)
{
	names_compose(buf, len, io->label, io->suffix, io->seg_no, fs->cfg.format);
}

/*
 * A write failed (most often a full disk). One line when an episode
 * starts and one when it ends, with what it cost: not one per file.
 */
static void
count_error(struct files *fs, const char *what, const char *name)
{
	fs->c.write_errors++;
	if (fs->failing)
		return;
	fs->failing = 1;
	fs->episode_lost = 0;
	log_warn("%s %s/%s: writing fails; what cannot be written is counted as lost until it "
	         "works again",
	    what, NAMES_ACTIVE, name);
}

static void
count_lost(struct files *fs, struct ifile *io, uint64_t nrec, uint64_t bytes)
{
	io->lost += nrec;
	fs->c.frames_lost += nrec;
	fs->c.bytes_lost += bytes;
	fs->episode_lost += nrec;
}

static void
count_written(struct files *fs)
{
	if (!fs->failing)
		return;
	fs->failing = 0;
	log_info("writing works again: %llu frames were lost while it failed "
	         "(%llu since the start)",
	    (unsigned long long)fs->episode_lost, (unsigned long long)fs->c.frames_lost);
}

static void
fd_close(struct files *fs, struct ifile *io)
{
	if (io->fd == -1)
		return;
	close(io->fd);
	io->fd = -1;
	TAILQ_REMOVE(&fs->open, io, olink);
	fs->nopen--;
	fs->c.open_files = fs->nopen;
}

/*
 * Reopen a file of ours to append: never a FIFO or a link planted in its
 * place (the daemon user could only harm itself, but must not hang us).
 */
static int
reopen(struct files *fs, const char *name)
{
	struct stat sb;
	int fd;

	fd = openat(fs->activefd, name, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd != -1 && (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) || sb.st_nlink != 1)) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* A later segment starts from the suffix its flow's first file took. */
static void
name_take(struct ifile *io)
{
	if (io->name != NULL && io->name->set)
		io->suffix = io->name->suffix;
}

/* The suffix this file took is its flow's, for the segments to come. */
static void
name_keep(struct ifile *io)
{
	if (io->name != NULL) {
		io->name->suffix = io->suffix;
		io->name->set = 1;
	}
}

/* Create the file (a free name if taken: never truncate) or reopen it to append. */
static int
fd_open(struct files *fs, struct ifile *io)
{
	char name[PATH_LEN];
	struct stat sb;
	unsigned tries;

	if (io->fd != -1) {
		TAILQ_REMOVE(&fs->open, io, olink);
		TAILQ_INSERT_TAIL(&fs->open, io, olink);
		return 0;
	}
	while (fs->nopen >= fs->max_open && !TAILQ_EMPTY(&fs->open))
		fd_close(fs, TAILQ_FIRST(&fs->open));
	if (!io->created)
		name_take(io);
	for (tries = 0; tries < MAX_SUFFIX; tries++) {
		io_name(fs, io, name, sizeof name);
		fs->c.opens++;
		if (io->created)
			io->fd = reopen(fs, name);
		else
			io->fd = openat(fs->activefd, name,
			    O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    SPOOL_FILE_MODE);
		if (io->fd != -1 || io->created || errno != EEXIST)
			break;
		io->suffix++;
	}
	if (io->fd == -1) {
		count_error(fs, io->created ? "reopen" : "create", name);
		return -1;
	}
	if (!io->created && fstat(io->fd, &sb) == 0) {
		io->dev = sb.st_dev;
		io->ino = sb.st_ino;
	}
	TAILQ_INSERT_TAIL(&fs->open, io, olink);
	fs->nopen++;
	fs->c.open_files = fs->nopen;
	return 0;
}

/* --- appending ------------------------------------------------------------ */

/* out holds PCAPNG_HEADER_MAX bytes. */
static size_t
file_header(const struct files *fs, const struct ifile *io, uint8_t *out, const void **ptr)
{
	char label[LABEL_MAX + 8];

	switch (fs->cfg.format) {
	case FMT_PCAP:
		pcapfile_header(out, io->linktype, io->snaplen, fs->cfg.big, fs->cfg.nanosecond);
		*ptr = out;
		return PCAP_FILEHDR_LEN;
	case FMT_PCAPNG:
		/* The label the index gives the file, suffix and all: known once it is created. */
		if (io->suffix)
			snprintf(label, sizeof label, "%s-%u", io->label, io->suffix);
		else
			snprintf(label, sizeof label, "%s", io->label);
		*ptr = out;
		return pcapng_header(out, label, io->linktype, io->snaplen, io->ifname, fs->cfg.big,
		    fs->cfg.nanosecond);
	case FMT_PLIST:
		*ptr = plist_head;
		return sizeof plist_head - 1;
	default:
		*ptr = NULL;
		return 0;
	}
}

static int
write_all(struct files *fs, int fd, struct iovec *iov, int iovcnt, uint64_t *done)
{
	ssize_t n;

	*done = 0;
	while (iovcnt > 0) {
		n = writev(fd, iov, iovcnt < IOV_MAX ? iovcnt : IOV_MAX);
		fs->c.writes++;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		fs->c.bytes += (uint64_t)n;
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
void
files_append(struct files *fs, struct ifile *io, const struct iovec *data, int ndata, size_t len,
    uint64_t nrec)
{
	uint8_t hdr[PCAPNG_HEADER_MAX];
	struct iovec small[17], *iov = small;
	char name[PATH_LEN];
	uint64_t done, total = len;
	int n = 0;

	if (len == 0 && io->hdr)
		return;
	if (io->failed || fd_open(fs, io) == -1) {
		/* A file that could not be created stays lost; a failed reopen loses this. */
		if (!io->created)
			io->failed = 1;
		count_lost(fs, io, nrec, len);
		return;
	}
	io->created = 1;
	if (ndata + 1 > (int)(sizeof small / sizeof small[0]))
		iov = xreallocarray(NULL, (size_t)ndata + 1, sizeof *iov);
	if (!io->hdr) {
		iov[n].iov_len = file_header(fs, io, hdr, (const void **)&iov[n].iov_base);
		total += iov[n].iov_len;
		if (iov[n].iov_len > 0)
			n++;
	}
	if (ndata > 0)
		memcpy(iov + n, data, (size_t)ndata * sizeof *iov);
	n += ndata;
	if (write_all(fs, io->fd, iov, n, &done) == -1) {
		io_name(fs, io, name, sizeof name);
		count_error(fs, "write", name);
		count_lost(fs, io, nrec, len);
		if (done > 0 && ftruncate(io->fd, (off_t)io->size) == 0)
			fs->c.bytes -= done;
	} else {
		io->size += total;
		io->hdr = 1;
		io->written += nrec;
		if (nrec > 0)
			count_written(fs);
	}
	if (iov != small)
		free(iov);
}

/* --- finishing ------------------------------------------------------------ */

/* The dated folder (layout) of a flow that started at first; "" for none. */
static void
dated_dir(const struct files *fs, uint64_t first, char *buf, size_t len)
{
	names_dated_dir(fs->layout, first, buf, len);
}

/*
 * A descriptor of the folder finished files go to: the output folder, or
 * the dated one, made if missing and opened without following a link on
 * the way (kept open while flows keep going there).
 */
static int
dest_dir(struct files *fs, char *dir)
{
	if (dir[0] == '\0')
		return fs->outfd;
	if (fs->datefd != -1 && strcmp(dir, fs->lastdir) == 0)
		return fs->datefd;
	if (fs->datefd != -1)
		close(fs->datefd);
	fs->lastdir[0] = '\0';
	if ((fs->datefd = spool_openat_dir(fs->outfd, dir, 1)) == -1) {
		log_warn("mkdir %s (filed in the output folder instead)", dir);
		dir[0] = '\0';
		return fs->outfd;
	}
	snprintf(fs->lastdir, sizeof fs->lastdir, "%s", dir);
	return fs->datefd;
}

/* The folder a file goes to: the partition part ("" for none), then the layout's. */
static void
dest_of(struct files *fs, const struct ifile *io, const char *part, char *dir, size_t len)
{
	char dated[256];

	dated_dir(fs, io->first, dated, sizeof dated);
	snprintf(dir, len, "%s%s%s", part, part[0] && dated[0] ? "/" : "", dated);
}

void
files_destination(struct files *fs, const struct ifile *io, const char *part, char *buf, size_t len)
{
	char dir[256 + NAMES_PARTITION_MAX], name[PATH_LEN - 512];

	dest_of(fs, io, part, dir, sizeof dir);
	io_name(fs, io, name, sizeof name);
	snprintf(buf, len, "%s%s%s", dir, dir[0] ? "/" : "", name);
}

/*
 * Rename .active/src into place (the partition part, "" for none, then the
 * layout's folder); on a name already taken, take the next suffix.
 */
static const char *
move_into_place(struct files *fs, struct ifile *io, const char *src, const char *part)
{
	char dir[256 + NAMES_PARTITION_MAX], name[PATH_LEN - 512];
	unsigned tries;
	int dfd, reopened = 0;

	dest_of(fs, io, part, dir, sizeof dir);
	dfd = dest_dir(fs, dir);
	for (tries = 0; tries < MAX_SUFFIX; tries++) {
		io_name(fs, io, name, sizeof name);
		snprintf(fs->fpout, sizeof fs->fpout, "%s%s%s", dir, dir[0] ? "/" : "", name);
		if (spool_rename_noreplace(fs->activefd, src, dfd, name) == 0) {
			fs->c.files++;
			name_keep(io);
			return fs->fpout;
		}
		if (errno == ENOENT && dfd == fs->datefd && !reopened++) {
			/* Someone removed the dated folder: make it again, once. */
			close(fs->datefd);
			fs->datefd = -1;
			dfd = dest_dir(fs, dir);
			continue;
		}
		if (errno != EEXIST)
			break;
		io->suffix++;
	}
	log_warn("rename %s/%s to %s", NAMES_ACTIVE, src, fs->fpout);
	fs->c.write_errors++;
	fs->fpout[0] = '\0';
	return NULL;
}

/*
 * The file's time is its flow's last packet: ls -t and retention then
 * order files by when their flows ended, not by when a buffer happened to
 * reach the disk.
 */
static void
set_time(struct files *fs, struct ifile *io, const char *name, uint64_t last_ns)
{
	struct timespec ts[2];

	if (last_ns == 0)
		return;
	ts[0].tv_sec = ts[1].tv_sec = (time_t)(last_ns / 1000000000u);
	ts[0].tv_nsec = ts[1].tv_nsec = (long)(last_ns % 1000000000u);
	if ((io->fd != -1 ? futimens(io->fd, ts)
	                  : utimensat(fs->activefd, name, ts, AT_SYMLINK_NOFOLLOW)) == -1)
		log_debug("futimens %s/%s: %s", NAMES_ACTIVE, name, strerror(errno));
}

/*
 * Is .active/name still the file this flow wrote? The daemon's user may
 * have put something else under the name (a FIFO, a folder, a hard link to
 * another user's file), which a rename would file as the flow's: the name
 * must be a regular file, the very one created (device and inode).
 */
static int
still_ours(struct files *fs, const struct ifile *io, const char *name)
{
	struct stat sb;
	const char *what;

	if (fstatat(fs->activefd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1)
		what = "removed";
	else if (S_ISREG(sb.st_mode) && sb.st_dev == io->dev && sb.st_ino == io->ino)
		return 1;
	else
		what = S_ISREG(sb.st_mode)    ? "another file in its place"
		       : S_ISFIFO(sb.st_mode) ? "a FIFO in its place"
		       : S_ISDIR(sb.st_mode)  ? "a folder in its place"
		                              : "something else in its place";
	log_warnx("%s/%s is no longer the file its flow wrote (%s): not filed, the flow's %llu "
	          "records are lost",
	    NAMES_ACTIVE, name, what, (unsigned long long)io->written);
	return 0;
}

/*
 * A file that did not reach its place: its index line says so (written 0,
 * truncated), its records are counted as lost. A file a rename refused is
 * left in .active/, where the next start recovers it.
 */
static void
not_filed(struct files *fs, struct ifile *io)
{
	fs->c.frames_lost += io->written;
	fs->c.bytes_lost += io->size;
	io->lost += io->written;
	io->written = 0;
	io->size = 0;
}

/*
 * Close and rename; the path into place, or NULL if there is no file. A
 * file that holds none of its flow's records (they were all lost) is not
 * presented as one: it is removed, and its index line says so.
 */
const char *
files_finish(struct files *fs, struct ifile *io, uint64_t last_ns, const char *part)
{
	char name[PATH_LEN];
	const char *fpout = NULL;

	fs->fpout[0] = '\0';
	if (fs->cfg.format == FMT_PLIST && io->hdr) {
		static const char tail[] = "</array>\n</plist>\n";
		struct iovec v = {(void *)tail, sizeof tail - 1};

		files_append(fs, io, &v, 1, v.iov_len, 0);
	} else if (!io->hdr && io->lost == 0)
		files_append(fs, io, NULL, 0, 0, 0); /* an empty flow still gets a valid file */
	io_name(fs, io, name, sizeof name);
	if (io->created && !io->failed && io->written == 0 && io->lost > 0) {
		fd_close(fs, io);
		if (unlinkat(fs->activefd, name, 0) == -1)
			log_warn("unlink %s/%s", NAMES_ACTIVE, name);
		return NULL;
	}
	if (io->created && !io->failed)
		set_time(fs, io, name, last_ns);
	fd_close(fs, io);
	if (io->created && !io->failed && still_ours(fs, io, name))
		fpout = move_into_place(fs, io, name, part);
	if (io->created && !io->failed && fpout == NULL)
		not_filed(fs, io);
	return fpout;
}

/* --- set-up and the rest ---------------------------------------------------- */

struct files *
files_new(int outdirfd, const char *outdir, const struct filer_config *cfg, char **cause)
{
	struct files *fs = xcalloc(1, sizeof *fs);

	fs->cfg = *cfg;
	/* Settings are copied, never pointed to: a reload frees the config they came from. */
	fs->layout = xstrdup(cfg->layout != NULL ? cfg->layout : "");
	fs->cfg.layout = NULL;
	fs->max_open = cfg->max_open_files < 1 ? 1 : cfg->max_open_files;
	fs->outfd = fs->activefd = fs->datefd = -1;
	TAILQ_INIT(&fs->open);
	if (cfg->format == FMT_NONE)
		return fs;
	if ((fs->outfd = fcntl(outdirfd, F_DUPFD_CLOEXEC, 0)) == -1) {
		xasprintf(cause, "%s: %s", outdir, strerror(errno));
		goto fail;
	}
	/* .active/ is made if missing, never followed if a link. */
	if ((fs->activefd = spool_openat_dir(fs->outfd, NAMES_ACTIVE, 1)) == -1) {
		xasprintf(cause, "%s/%s: %s", outdir, NAMES_ACTIVE,
		    errno == ELOOP || errno == ENOTDIR ? "not a directory of its own (a link?)"
		                                       : strerror(errno));
		goto fail;
	}
	return fs;
fail:
	files_free(fs);
	return NULL;
}

void
files_free(struct files *fs)
{
	if (fs == NULL)
		return;
	while (!TAILQ_EMPTY(&fs->open))
		fd_close(fs, TAILQ_FIRST(&fs->open));
	if (fs->activefd != -1)
		close(fs->activefd);
	if (fs->datefd != -1)
		close(fs->datefd);
	if (fs->outfd != -1)
		close(fs->outfd);
	free(fs->layout);
	free(fs);
}

void
files_set_max_open(struct files *fs, unsigned max_open_files)
{
	/* Descriptors beyond it are closed at the next open. */
	fs->max_open = max_open_files < 1 ? 1 : max_open_files;
}

struct fname *
files_fname_new(void)
{
	struct fname *n = xcalloc(1, sizeof *n);

	n->refs = 1;
	return n;
}

void
files_fname_unref(struct fname *n)
{
	if (n != NULL && --n->refs == 0)
		free(n);
}

struct ifile *
files_ifile(const struct files *fs, const struct flow *f, uint32_t linktype, uint32_t snaplen,
    const char *ifname, struct fname *name)
{
	char label[LABEL_MAX];
	struct ifile *io;

	if (fs->cfg.format == FMT_NONE)
		return NULL;
	label_make(label, f, fs->cfg.nanosecond);
	io = xcalloc(1, sizeof *io + strlen(label) + 1);
	memcpy(io->label, label, strlen(label) + 1);
	io->first = f->first;
	io->seg_no = f->seg_no;
	io->linktype = linktype;
	io->snaplen = snaplen;
	io->ifname = ifname;
	io->fd = -1;
	if ((io->name = name) != NULL)
		name->refs++;
	return io;
}

struct ifile *
files_ifile_named(
    const struct files *fs, const char *name, uint64_t first, uint32_t linktype, uint32_t snaplen)
{
	struct ifile *io;

	if (fs->cfg.format == FMT_NONE)
		return NULL;
	io = xcalloc(1, sizeof *io + strlen(name) + 1);
	memcpy(io->label, name, strlen(name) + 1);
	io->first = first;
	io->linktype = linktype;
	io->snaplen = snaplen;
	io->fd = -1;
	return io;
}

uint64_t
files_size(const struct ifile *io)
{
	return io->size;
}

void
files_ifile_free(struct ifile *io)
{
	if (io != NULL)
		files_fname_unref(io->name);
	free(io);
}

void
files_describe(const struct ifile *io, struct index_record *r)
{
	if (io != NULL && io->suffix)
		snprintf(r->label, sizeof r->label, "%s-%u", io->label, io->suffix);
	/* What the file holds, beside what was captured ("packets"): no file, nothing. */
	r->written = io != NULL ? io->written : 0;
	r->size = io != NULL ? io->size : 0;
	r->truncated = io != NULL && io->lost > 0;
}

void
files_stats(const struct files *fs, struct output_stats *st)
{
	st->files = fs->c.files;
	st->bytes = fs->c.bytes;
	st->writes = fs->c.writes;
	st->opens = fs->c.opens;
	st->write_errors = fs->c.write_errors;
	st->bytes_lost = fs->c.bytes_lost;
	st->frames_lost = fs->c.frames_lost;
	st->open_files = (uint32_t)fs->c.open_files;
}
