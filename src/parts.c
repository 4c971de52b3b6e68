/*
 * parts.c: the indexes of a partitioned spool's partitions (parts.h):
 * each partition's index.jsonl holds the lines of its own files, so that
 * it can follow retention without the spool's index being rewritten, and
 * goes with the partition when its last file does. Part of the filer's
 * side of the spool (spoolcat.c), on its thread.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "index.h"
#include "log.h"
#include "names.h"
#include "parts.h"
#include "spool.h"
#include "xmalloc.h"

/* Partitions whose index is kept open: the one filed into, and late flows' few. */
#define PART_INDEXES 4
#define WALK_DEPTH   16

/* A partition's index.jsonl, open while flows are filed into it. */
struct part_index {
	char name[NAMES_PARTITION_MAX];
	struct flow_index *idx;
	uint64_t used; /* when last appended to (a counter), for the least recently used */
};

struct parts {
	int spoolfd; /* the spool's (borrowed) */
	char *path;
	struct part_index pidx[PART_INDEXES];
	uint64_t uses;
};

static void part_index_close(struct part_index *p);
static struct flow_index *part_index(struct parts *ps, const char *part, int create);

struct parts *
parts_new(int spoolfd, const char *path)
{
	struct parts *p = xcalloc(1, sizeof *p);

	p->spoolfd = spoolfd;
	p->path = xstrdup(path);
	return p;
}

void
parts_free(struct parts *p)
{
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < PART_INDEXES; i++)
		part_index_close(&p->pidx[i]);
	free(p->path);
	free(p);
}

void
parts_append(struct parts *p, const char *part, const struct index_record *r, const char *frames)
{
	struct flow_index *idx;

	if (p != NULL && part[0] != '\0' && (idx = part_index(p, part, 1)) != NULL)
		index_append_record(idx, r, frames);
}

/* The partition a path under the spool is in ("" for none), into part. */
void
parts_of(const char *rel, char *part, size_t len)
{
	const char *slash = strchr(rel, '/');

	part[0] = '\0';
	if (slash != NULL && (size_t)(slash - rel) < len) {
		snprintf(part, len, "%.*s", (int)(slash - rel), rel);
		if (!names_is_partition(part))
			part[0] = '\0';
	}
}

static void
part_index_close(struct part_index *p)
{
	if (p->idx != NULL) {
		index_flush(p->idx);
		index_close(p->idx);
	}
	memset(p, 0, sizeof *p);
}

/*
 * The index of partition part, opened (made, with the partition, when
 * create) if it is not open: the least recently used of PART_INDEXES goes.
 * NULL when it cannot be (logged).
 */
static struct flow_index *
part_index(struct parts *ps, const char *part, int create)
{
	struct part_index *p, *lru = &ps->pidx[0];
	char *cause = NULL, *path;
	int i, fd;

	for (i = 0; i < PART_INDEXES; i++) {
		p = &ps->pidx[i];
		if (p->idx != NULL && strcmp(p->name, part) == 0) {
			p->used = ++ps->uses;
			return p->idx;
		}
		if (p->used < lru->used)
			lru = p;
	}
	part_index_close(lru);
	if ((fd = spool_openat_dir(ps->spoolfd, part, create)) == -1) {
		if (create || errno != ENOENT)
			log_warn("partition %s/%s", ps->path, part);
		return NULL;
	}
	xasprintf(&path, "%s/%s", ps->path, part);
	lru->idx = index_open(fd, path, &cause);
	close(fd);
	free(path);
	if (lru->idx == NULL) {
		log_warnx("%s", cause);
		free(cause);
		return NULL;
	}
	snprintf(lru->name, sizeof lru->name, "%s", part);
	lru->used = ++ps->uses;
	return lru->idx;
}

void
parts_flush(struct parts *ps)
{
	int i;

	for (i = 0; ps != NULL && i < PART_INDEXES; i++)
		if (ps->pidx[i].idx != NULL)
			index_flush(ps->pidx[i].idx);
}

/*
 * Remove what is ours in a partition that holds no file any more (its
 * index, the layout's empty folders), then the partition: anything else
 * found in it stays, and so does the partition (said at debug level).
 */
static void
rm_ours(int dfd, int depth)
{
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int fd, sub;

	if (depth > WALK_DEPTH || (fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if (S_ISDIR(sb.st_mode) && (sub = spool_openat_dir(dfd, de->d_name, 0)) != -1) {
			rm_ours(sub, depth + 1);
			close(sub);
			unlinkat(dfd, de->d_name, AT_REMOVEDIR); /* fails while not empty */
		} else if (S_ISREG(sb.st_mode) && sb.st_uid == geteuid() &&
		           (strcmp(de->d_name, NAMES_INDEX) == 0 ||
		               strcmp(de->d_name, NAMES_INDEX_NEW) == 0))
			unlinkat(dfd, de->d_name, 0);
	}
	closedir(d);
}

static void
part_remove(struct parts *ps, const char *part)
{
	int i, fd;

	for (i = 0; i < PART_INDEXES; i++)
		if (ps->pidx[i].idx != NULL && strcmp(ps->pidx[i].name, part) == 0)
			part_index_close(&ps->pidx[i]);
	if ((fd = spool_openat_dir(ps->spoolfd, part, 0)) == -1)
		return;
	rm_ours(fd, 0);
	close(fd);
	if (unlinkat(ps->spoolfd, part, AT_REMOVEDIR) == 0)
		log_debug("partition %s/%s removed: it holds no file any more", ps->path, part);
	else
		log_debug("partition %s/%s holds no file of ours, but is not empty: left", ps->path,
		    part);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The indexes follow the files gone[0..n-1] (sorted here): a partition
 * that holds none any more goes whole, index and folder; one that still
 * does has its own index.jsonl pruned of their lines (a rewrite of that
 * partition's index, at most partition_files lines, never of the spool's).
 */
void
parts_follow(struct parts *ps, struct catalog *cat, char **gone, size_t n)
{
	char part[NAMES_PARTITION_MAX];
	struct flow_index *idx;
	uint64_t left;
	size_t i, j;

	if (ps == NULL || n == 0)
		return;
	qsort(gone, n, sizeof *gone, by_name);
	for (i = 0; i < n; i = j) {
		parts_of(gone[i], part, sizeof part);
		for (j = i + 1; j < n && strncmp(gone[j], part, strlen(part)) == 0 &&
		                gone[j][strlen(part)] == '/';
		     j++)
			;
		if (part[0] == '\0')
			continue;
		if (catalog_part_files(cat, part, &left) == 0 && left == 0)
			part_remove(ps, part);
		else if ((idx = part_index(ps, part, 0)) != NULL)
			index_prune(idx, gone + i, j - i, 0);
	}
}
