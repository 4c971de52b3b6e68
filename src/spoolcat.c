/*
 * spoolcat.c: the filer's side of the spool's catalog (spoolcat.h).
 *
 * Retention used to walk the whole spool on the capture thread, stat every
 * file and sort the names: at a million files that cost seconds of every
 * ten and a fifth of the packets. Here the oldest files come from the
 * catalog's index on their end time, so a pass costs what it deletes, and
 * the usage is the catalog's running sums. What the catalog cannot know
 * (files removed by hand, files a crash renamed without a row, a spool of
 * the previous version) the reconcile finds, a slice at a time, on the
 * filer's thread between its batches: never on the capture thread, never
 * holding up the start.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "index.h"
#include "log.h"
#include "names.h"
#include "notify.h"
#include "parts.h"
#include "reason.h"
#include "spool.h"
#include "spoolcat.h"
#include "xmalloc.h"

/* A reconcile slice: this many rows checked, or directory entries read. */
#define SLICE_ROWS    2000
#define SLICE_ENTRIES 2000
#define WALK_DEPTH    16
/* Retention takes the oldest rows this many at a time, and unlinks at most a slice. */
#define RETAIN_BATCH 1000
#define RETAIN_SLICE 2000
/* A folder of the walk for files without a row. */
struct walk_dir {
	DIR *d;
	char *rel; /* relative to the spool; "" for the spool itself */
};

struct spoolcat {
	struct catalog *cat;
	int spoolfd;
	char *path;
	int in_batch;
	uint64_t batch_rows; /* rows added in the open batch */
	uint64_t batch_t0;   /* when it was opened (CLOCK_MONOTONIC, ns) */

	/* A retention pass that goes on over several slices: its limits, its totals. */
	int retaining;
	uint64_t max_bytes, max_age_ns, retain_now;
	uint64_t pass_files, pass_bytes, pass_failed;

	/* The reconcile: rows first (by id), then the folders. */
	int reconciling;
	int walking;
	int64_t row_cursor;
	struct walk_dir walk[WALK_DEPTH];
	int depth;

	/* Partitions: the bound, the one filed into now, their indexes. */
	uint64_t part_files; /* 0: a flat spool */
	uint64_t cur_hour;   /* hours since the epoch, +1 (0: none yet) */
	unsigned cur_split;
	uint64_t cur_count;
	char cur_name[NAMES_PARTITION_MAX];
	struct parts *parts; /* their indexes */

	/* Figures for other threads. */
	_Atomic uint64_t files, bytes, oldest_ns, newest_ns, deleted, deleted_bytes, reconciled;
	_Atomic int ready;
};

/* --- partitions ----------------------------------------------------------------- */

const char *
spoolcat_partition(struct spoolcat *sc, uint64_t last_ns)
{
	uint64_t hour = last_ns / (3600 * 1000000000ull) + 1, files = 0;

	if (sc == NULL || sc->part_files == 0)
		return "";
	if (hour != sc->cur_hour || sc->cur_count >= sc->part_files) {
		if (hour != sc->cur_hour)
			sc->cur_split = 0;
		else
			sc->cur_split++;
		sc->cur_hour = hour;
		/* The hour's split with room: a restart, or a late flow, finds the last one. */
		for (;;) {
			names_partition(last_ns, sc->cur_split, sc->cur_name, sizeof sc->cur_name);
			if (catalog_part_files(sc->cat, sc->cur_name, &files) == -1 ||
			    files < sc->part_files)
				break;
			sc->cur_split++;
		}
		sc->cur_count = files;
	}
	sc->cur_count++;
	return sc->cur_name;
}

int
spoolcat_partitioned(const struct spoolcat *sc)
{
	return sc != NULL && sc->part_files != 0;
}

static void
figures_refresh(struct spoolcat *sc)
{
	struct catalog_usage u;

	if (catalog_usage(sc->cat, &u) == -1)
		return;
	sc->files = u.files;
	sc->bytes = u.bytes;
	sc->oldest_ns = u.oldest_last_ns;
	sc->newest_ns = u.newest_last_ns;
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
batch_open(struct spoolcat *sc)
{
	if (sc->in_batch)
		return;
	if (catalog_begin(sc->cat) == 0) {
		sc->in_batch = 1;
		sc->batch_rows = 0;
		sc->batch_t0 = mono_ns();
	}
}

/*
 * Rows reach the catalog in transactions of up to COMMIT_ROWS, or as old
 * as COMMIT_NS: a commit per batch of the filer (a few flows at a time
 * when the traffic is light) wrote the b-tree pages every row touches to
 * the WAL again and again, some 240 us of CPU per flow. A crash loses the
 * rows of at most the last COMMIT_NS; the check at start adds them again.
 */
#define COMMIT_ROWS 4096
#define COMMIT_NS   (250 * 1000000ull)

int
spoolcat_commit_due(struct spoolcat *sc)
{
	uint64_t age;

	if (sc == NULL || !sc->in_batch)
		return -1;
	age = mono_ns() - sc->batch_t0;
	if (sc->batch_rows >= COMMIT_ROWS || age >= COMMIT_NS) {
		spoolcat_commit(sc);
		return -1;
	}
	return (int)((COMMIT_NS - age) / 1000000u) + 1;
}

void
spoolcat_commit(struct spoolcat *sc)
{
	if (sc == NULL)
		return;
	if (sc->in_batch) {
		/* A failed commit (a full disk) was logged; reconcile adds the rows later. */
		if (catalog_commit(sc->cat) == -1) {
			catalog_rollback(sc->cat);
			sc->reconciling = 1;
		}
		sc->in_batch = 0;
	}
	parts_flush(sc->parts);
	figures_refresh(sc);
}

static void
vlan_text(const struct index_record *r, char *buf, size_t len)
{
	size_t o = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < r->nvlan && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%u", i ? "," : "", r->vlan[i]);
}

/* The catalog's row of an index record (its strings r's, vlan's and part's). */
static void
row_of(const struct index_record *r, const char *part, char *vlan, size_t vlen,
    struct catalog_row *row)
{
	vlan_text(r, vlan, vlen);
	memset(row, 0, sizeof *row);
	row->fpout = r->fpout[0] != '\0' ? r->fpout : NULL;
	row->part = part;
	row->label = r->label;
	row->src = r->src;
	row->dst = r->dst;
	row->srcport = r->srcport;
	row->dstport = r->dstport;
	row->vlan = vlan[0] ? vlan : NULL;
	row->iface = r->iface;
	row->first_ns = r->first_ns;
	row->last_ns = r->last_ns;
	row->packets = r->packets;
	row->bytes = r->bytes;
	row->written = r->written;
	row->size = r->size;
	row->reason = flow_reason_name(r->reason);
	row->partial = r->partial;
	row->truncated = r->truncated;
	row->segment = r->segment;
	row->probe = r->probe;
	row->offset = r->offset;
	row->length = r->length;
}

void
spoolcat_filed(struct spoolcat *sc, const struct index_record *r, const char *frames)
{
	struct catalog_row row;
	char vlan[64], part[NAMES_PARTITION_MAX];

	if (sc == NULL || r->fpout[0] == '\0')
		return;
	parts_of(r->fpout, part, sizeof part);
	parts_append(sc->parts, part, r, frames);
	row_of(r, part, vlan, sizeof vlan, &row);
	batch_open(sc);
	if (catalog_add(sc->cat, &row) == 0)
		sc->batch_rows++;
}

void
spoolcat_probe(struct spoolcat *sc, const struct index_record *r, const char *frames)
{
	struct catalog_row row;
	char vlan[64], part[NAMES_PARTITION_MAX];

	if (sc == NULL)
		return;
	/* Counted, not kept: the partition its line would have gone to (split or not). */
	if (r->fpout[0] != '\0')
		parts_of(r->fpout, part, sizeof part);
	else if (sc->part_files == 0)
		part[0] = '\0';
	else
		names_partition(r->last_ns, 0, part, sizeof part);
	parts_append(sc->parts, part, r, frames);
	row_of(r, part, vlan, sizeof vlan, &row);
	batch_open(sc);
	if (catalog_add_probe(sc->cat, &row) == 0)
		sc->batch_rows++;
}

void
spoolcat_filed_shared(struct spoolcat *sc, const char *fpout, const struct spool_shared *s)
{
	struct catalog_row row;
	char part[NAMES_PARTITION_MAX];
	const char *name = strrchr(fpout, '/');

	if (sc == NULL)
		return;
	parts_of(fpout, part, sizeof part);
	memset(&row, 0, sizeof row);
	row.fpout = fpout;
	row.part = part;
	row.label = name != NULL ? name + 1 : fpout;
	row.first_ns = s->first_ns;
	row.last_ns = s->last_ns;
	row.packets = s->packets;
	row.bytes = s->bytes;
	row.written = s->written;
	row.size = s->size;
	row.reason = CATALOG_SHARED;
	batch_open(sc);
	if (catalog_add(sc->cat, &row) == 0)
		sc->batch_rows++;
}

void
spoolcat_probes_moved(struct spoolcat *sc, const char *from, const char *to)
{
	if (sc == NULL)
		return;
	batch_open(sc);
	catalog_probes_moved(sc->cat, from, to);
}

/* --- deleting ----------------------------------------------------------------- */

/*
 * Unlink rel under the spool, following no link on the way: 0 when it is
 * gone (or was), -1 when it stays (logged). Only a regular file of ours is
 * removed; anything else planted under the name loses its row, not itself.
 */
static int
unlink_rel(struct spoolcat *sc, const char *rel)
{
	const char *slash = strrchr(rel, '/'), *base = slash ? slash + 1 : rel;
	struct stat sb;
	char *dir;
	int fd = sc->spoolfd, rc = 0;

	if (slash != NULL) {
		xasprintf(&dir, "%.*s", (int)(slash - rel), rel);
		fd = spool_openat_dir(sc->spoolfd, dir, 0);
		free(dir);
		if (fd == -1)
			return errno == ENOENT ? 0 : -1;
	}
	if (fstatat(fd, base, &sb, AT_SYMLINK_NOFOLLOW) == -1)
		rc = errno == ENOENT ? 0 : -1;
	else if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid())
		log_warnx("retention: %s/%s is not a file of ours: left alone", sc->path, rel);
	else if (unlinkat(fd, base, 0) == -1 && errno != ENOENT)
		rc = -1;
	if (rc == -1)
		log_warn("retention: unlink %s/%s", sc->path, rel);
	if (fd != sc->spoolfd)
		close(fd);
	return rc;
}

struct retain {
	struct spoolcat *sc;
	uint64_t max_bytes, max_age_ns, now_ns;
	uint64_t bytes; /* the spool's size as it goes */
	uint64_t files, freed, failed;
	uint64_t kept_ns; /* the end of the oldest flow kept */
	char **gone;
	size_t ngone;
	int more;       /* the batch was used up: look again */
	size_t budget;  /* files this slice may delete */
	int budget_hit; /* it stopped there, over the limits still */
};

static int
retain_one(const struct catalog_row *row, void *arg)
{
	struct retain *rt = arg;
	int too_big = rt->max_bytes && rt->bytes > rt->max_bytes;
	int too_old = rt->max_age_ns && rt->now_ns > row->last_ns &&
	              rt->now_ns - row->last_ns > rt->max_age_ns;

	if (!too_big && !too_old) {
		rt->kept_ns = row->last_ns;
		return 1;
	}
	if (rt->files >= rt->budget) {
		rt->budget_hit = 1;
		return 1;
	}
	if (unlink_rel(rt->sc, row->fpout) == -1) {
		rt->failed++;
		return 0;
	}
	log_debug("retention: deleted %s/%s (%" PRIu64 " bytes, %s)", rt->sc->path, row->fpout,
	    row->size, too_old ? "older than max_age" : "spool over max_spool_size");
	catalog_delete(rt->sc->cat, row->id);
	rt->gone = xreallocarray(rt->gone, rt->ngone + 1, sizeof *rt->gone);
	rt->gone[rt->ngone++] = xstrdup(row->fpout);
	rt->bytes -= row->size < rt->bytes ? row->size : rt->bytes;
	rt->files++;
	rt->freed += row->size;
	rt->more = 1;
	return 0;
}

static void
retain_log(struct spoolcat *sc, const struct retain *rt)
{
	char when[64] = "none";
	time_t t = (time_t)(rt->kept_ns / 1000000000u);
	struct tm tm;

	if (rt->kept_ns != 0 && localtime_r(&t, &tm) != NULL)
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
	log_fields(LOG_LVL_INFO, LOG_FIELDS({"SPOOL_DIR", sc->path}),
	    "retention pass: %" PRIu64 " files (%" PRIu64 " bytes) deleted%s; %" PRIu64
	    " files kept, the oldest flow kept ended %s",
	    sc->pass_files, sc->pass_bytes, sc->pass_failed ? ", some could not be" : "",
	    (uint64_t)sc->files, when);
}

int
spoolcat_retain(struct spoolcat *sc, uint64_t max_bytes, uint64_t max_age_ns, uint64_t now_ns,
    size_t max_files, char ***gone, size_t *ngone)
{
	struct retain rt = {sc, max_bytes, max_age_ns, now_ns, 0, 0, 0, 0, 0, NULL, 0, 0, 0, 0};

	*gone = NULL;
	*ngone = 0;
	if (sc == NULL || (max_bytes == 0 && max_age_ns == 0))
		return 0;
	rt.budget = max_files;
	spoolcat_commit(sc);
	rt.bytes = sc->bytes;
	do {
		rt.more = 0;
		batch_open(sc);
		if (catalog_oldest(sc->cat, RETAIN_BATCH, retain_one, &rt) == -1)
			break;
		spoolcat_commit(sc);
	} while (rt.more && !rt.budget_hit && rt.failed < RETAIN_BATCH);
	spoolcat_commit(sc);
	parts_follow(sc->parts, sc->cat, rt.gone, rt.ngone);
	sc->deleted += rt.files;
	sc->deleted_bytes += rt.freed;
	sc->pass_files += rt.files;
	sc->pass_bytes += rt.freed;
	sc->pass_failed += rt.failed;
	*gone = rt.gone;
	*ngone = rt.ngone;
	if (rt.budget_hit)
		return 1;
	if (sc->pass_files > 0 || sc->pass_failed > 0)
		retain_log(sc, &rt);
	sc->pass_files = sc->pass_bytes = sc->pass_failed = 0;
	return 0;
}

/* --- the reconcile -------------------------------------------------------------- */

struct rowcheck {
	struct spoolcat *sc;
	char ***gone;
	size_t *ngone;
	int64_t last;
	int seen;
};

static int
file_exists(struct spoolcat *sc, const char *rel)
{
	const char *slash = strrchr(rel, '/');
	struct stat sb;
	char *dir;
	int fd, rc;

	if (slash == NULL)
		return fstatat(sc->spoolfd, rel, &sb, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
	xasprintf(&dir, "%.*s", (int)(slash - rel), rel);
	fd = spool_openat_dir(sc->spoolfd, dir, 0);
	free(dir);
	if (fd == -1)
		return errno != ENOENT && errno != ENOTDIR;
	rc = fstatat(fd, slash + 1, &sb, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
	close(fd);
	return rc;
}

static int
row_check(const struct catalog_row *row, void *arg)
{
	struct rowcheck *rc = arg;

	rc->last = row->id;
	rc->seen++;
	if (file_exists(rc->sc, row->fpout))
		return 0;
	catalog_delete(rc->sc->cat, row->id);
	*rc->gone = xreallocarray(*rc->gone, *rc->ngone + 1, sizeof **rc->gone);
	(*rc->gone)[(*rc->ngone)++] = xstrdup(row->fpout);
	rc->sc->reconciled++;
	return 0;
}

/* Rows whose files are gone (removed by hand, or a crash between unlink and commit). */
static int
slice_rows(struct spoolcat *sc, char ***gone, size_t *ngone)
{
	struct rowcheck rc = {sc, gone, ngone, sc->row_cursor, 0};

	batch_open(sc);
	if (catalog_scan(sc->cat, sc->row_cursor, SLICE_ROWS, row_check, &rc) == -1)
		rc.seen = 0;
	spoolcat_commit(sc);
	parts_follow(sc->parts, sc->cat, *gone, *ngone);
	sc->row_cursor = rc.last;
	return rc.seen == SLICE_ROWS;
}

/* label's "src_port-dst_port-seconds" into the row, as far as it goes. */
static void
row_from_label(struct catalog_row *row, char *label, char *src, char *dst)
{
	char *p = label, *us, *dash;

	row->label = label;
	if ((us = strchr(p, '_')) == NULL || (dash = strchr(us, '-')) == NULL)
		return;
	snprintf(src, 48, "%.*s", (int)(us - p), p);
	row->src = src;
	row->srcport = (uint16_t)strtoul(us + 1, NULL, 10);
	p = dash + 1;
	if ((us = strchr(p, '_')) == NULL || (dash = strchr(us, '-')) == NULL)
		return;
	snprintf(dst, 48, "%.*s", (int)(us - p), p);
	row->dst = dst;
	row->dstport = (uint16_t)strtoul(us + 1, NULL, 10);
	row->first_ns = (uint64_t)strtoull(dash + 1, NULL, 10) * 1000000000u;
}

/* A file of ours without a row: one from what its name and its inode say. */
static void
adopt_file(struct spoolcat *sc, const char *rel, const char *name, const struct stat *sb)
{
	struct catalog_row row;
	char src[48], dst[48], part[NAMES_PARTITION_MAX], *label;

	if (catalog_has(sc->cat, rel) != 0)
		return;
	memset(&row, 0, sizeof row);
	label = names_label_of(name);
	/* A shared capture of probes (shared.h) is no flow: its probes' rows are gone with the
	 * catalog's. */
	if (strncmp(name, SHARED_PREFIX, strlen(SHARED_PREFIX)) == 0)
		row.reason = CATALOG_SHARED;
	else
		row_from_label(&row, label, src, dst);
	parts_of(rel, part, sizeof part);
	row.fpout = rel;
	row.part = part;
	row.last_ns = (uint64_t)sb->st_mtim.tv_sec * 1000000000u + (uint64_t)sb->st_mtim.tv_nsec;
	if (row.first_ns > row.last_ns)
		row.first_ns = row.last_ns;
	row.size = (uint64_t)sb->st_size;
	row.recovered = 1;
	catalog_add(sc->cat, &row);
	sc->reconciled++;
	free(label);
}

static void
walk_push(struct spoolcat *sc, int fd, const char *rel)
{
	DIR *d;

	if (sc->depth == WALK_DEPTH || (d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	sc->walk[sc->depth].d = d;
	sc->walk[sc->depth].rel = xstrdup(rel);
	sc->depth++;
}

static void
walk_pop(struct spoolcat *sc)
{
	sc->depth--;
	closedir(sc->walk[sc->depth].d);
	free(sc->walk[sc->depth].rel);
}

/* Not ours to adopt: the folder files grow in, the catalog's, the index. */
static int
walk_skips(int depth, const char *name)
{
	return name[0] == '.' || (depth == 1 && strcmp(name, NAMES_INDEX) == 0);
}

/* One entry of the walk: a folder goes on the stack, a file of ours without a row gets one. */
static void
walk_entry(struct spoolcat *sc, struct walk_dir *w, const char *name)
{
	struct stat sb;
	char *rel;
	int fd;

	if (walk_skips(sc->depth, name) ||
	    fstatat(dirfd(w->d), name, &sb, AT_SYMLINK_NOFOLLOW) == -1)
		return;
	if (w->rel[0] != '\0')
		xasprintf(&rel, "%s/%s", w->rel, name);
	else
		rel = xstrdup(name);
	if (S_ISDIR(sb.st_mode)) {
		if ((fd = spool_openat_dir(dirfd(w->d), name, 0)) != -1)
			walk_push(sc, fd, rel);
	} else if (S_ISREG(sb.st_mode) && sb.st_uid == geteuid() && names_is_flow_file(name))
		adopt_file(sc, rel, name, &sb);
	free(rel);
}

static int
slice_walk(struct spoolcat *sc)
{
	struct dirent *de;
	unsigned n;

	batch_open(sc);
	for (n = 0; n < SLICE_ENTRIES && sc->depth > 0; n++) {
		struct walk_dir *w = &sc->walk[sc->depth - 1];

		if ((de = readdir(w->d)) == NULL) {
			walk_pop(sc);
			continue;
		}
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			walk_entry(sc, w, de->d_name);
	}
	spoolcat_commit(sc);
	return sc->depth > 0;
}

int
spoolcat_slice(struct spoolcat *sc, char ***gone, size_t *ngone)
{
	int fd;

	*gone = NULL;
	*ngone = 0;
	if (sc == NULL || !sc->reconciling)
		return 0;
	if (!sc->walking) {
		if (slice_rows(sc, gone, ngone))
			return 1;
		/* Not dup(): it would share the read position of the spool's descriptor. */
		if ((fd = openat(sc->spoolfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
			log_warn("reconcile: %s", sc->path);
			sc->reconciling = 0;
			return 0;
		}
		walk_push(sc, fd, "");
		sc->walking = 1;
	}
	if (slice_walk(sc))
		return 1;
	sc->walking = 0;
	sc->reconciling = 0;
	sc->row_cursor = 0;
	/* Said when it changed something (an offline run's empty folder: nothing to say). */
	if (!sc->ready)
		log_fields(sc->reconciled > 0 ? LOG_LVL_INFO : LOG_LVL_DEBUG,
		    LOG_FIELDS({"SPOOL_DIR", sc->path}),
		    "catalog of %s matches the disk: %" PRIu64 " files, %" PRIu64 " bytes (%" PRIu64
		    " rows added or dropped)",
		    sc->path, (uint64_t)sc->files, (uint64_t)sc->bytes, (uint64_t)sc->reconciled);
	sc->ready = 1;
	return 0;
}

void
spoolcat_retain_start(struct spoolcat *sc, uint64_t max_bytes, uint64_t max_age_ns, uint64_t now_ns)
{
	if (sc == NULL)
		return;
	sc->retaining = max_bytes != 0 || max_age_ns != 0;
	sc->max_bytes = max_bytes;
	sc->max_age_ns = max_age_ns;
	sc->retain_now = now_ns;
}

int
spoolcat_background(struct spoolcat *sc, char ***gone, size_t *ngone)
{
	*gone = NULL;
	*ngone = 0;
	if (sc == NULL)
		return 0;
	if (sc->retaining)
		sc->retaining = spoolcat_retain(
		    sc, sc->max_bytes, sc->max_age_ns, sc->retain_now, RETAIN_SLICE, gone, ngone);
	else
		spoolcat_slice(sc, gone, ngone);
	return spoolcat_busy(sc);
}

/* --- the rest ------------------------------------------------------------------- */

/*
 * An older catalog is upgraded before the daemon is ready (nothing is
 * captured meanwhile, so nothing waits): systemd is told to wait, at
 * 20 s a million files, four times what ext4 took, and a minute more.
 */
static void
upgrade_notice(const char *path, uint64_t files)
{
	log_info("catalog %s: upgrading %" PRIu64 " rows to version %d (the host indexes by time; "
	         "once, about 5 s a million rows)",
	    path, files, CATALOG_VERSION);
	notify_extend((60 + files / 50000) * 1000000u);
	notify_status("upgrading the catalog of %" PRIu64 " files", files);
}

struct spoolcat *
spoolcat_open(int spoolfd, const char *path, uint64_t partition_files, char **cause)
{
	struct spoolcat *sc;
	struct catalog *cat;

	if ((cat = catalog_open(spoolfd, path, 0, cause)) == NULL)
		return NULL;
	switch (catalog_upgrade(cat, upgrade_notice)) {
	case -1:
		xasprintf(cause, "%s", catalog_error(cat));
		catalog_close(cat);
		return NULL;
	case 1:
		log_info("catalog %s: upgraded to version %d", path, CATALOG_VERSION);
		notify_status("starting");
		break;
	}
	sc = xcalloc(1, sizeof *sc);
	sc->cat = cat;
	if ((sc->spoolfd = fcntl(spoolfd, F_DUPFD_CLOEXEC, 0)) == -1)
		fatal("dup");
	sc->path = xstrdup(path);
	sc->part_files = partition_files;
	if (partition_files != 0)
		sc->parts = parts_new(sc->spoolfd, path);
	/*
	 * Every start checks the catalog against the disk, in the background:
	 * a crash may have renamed files whose rows it did not commit, and a
	 * spool of the previous version has files and no catalog at all.
	 */
	sc->reconciling = 1;
	figures_refresh(sc);
	return sc;
}

void
spoolcat_close(struct spoolcat *sc)
{
	if (sc == NULL)
		return;
	spoolcat_commit(sc);
	parts_free(sc->parts);
	while (sc->depth > 0)
		walk_pop(sc);
	catalog_close(sc->cat);
	close(sc->spoolfd);
	free(sc->path);
	free(sc);
}

void
spoolcat_reconcile(struct spoolcat *sc)
{
	if (sc != NULL)
		sc->reconciling = 1; /* one under way goes on: it will see the disk as it is now */
}

int
spoolcat_busy(const struct spoolcat *sc)
{
	return sc != NULL && (sc->reconciling || sc->retaining);
}

void
spoolcat_usage(const struct spoolcat *sc, struct spool_figures *out)
{
	memset(out, 0, sizeof *out);
	out->ready = 1; /* without a catalog (format none) there is nothing to check */
	if (sc == NULL)
		return;
	out->files = sc->files;
	out->bytes = sc->bytes;
	out->oldest_ns = sc->oldest_ns;
	out->newest_ns = sc->newest_ns;
	out->deleted = sc->deleted;
	out->deleted_bytes = sc->deleted_bytes;
	out->reconciled = sc->reconciled;
	out->ready = sc->ready;
}
