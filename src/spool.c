/*
 * spool.c: crash recovery and retention of the spool folder.
 *
 * Recovery relies on the writer's discipline: files are only ever appended
 * whole records (header first), so after kill -9 a file in .active/ is a
 * valid pcap up to its last complete record; we cut the torn tail.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "index.h"
#include "log.h"
#include "pcapfile.h"
#include "spool.h"
#include "xmalloc.h"

#define ACTIVE_DIR "/.active"

struct rec_summary {
	uint64_t packets;
	uint64_t bytes;
	uint64_t first_ns;
	uint64_t last_ns;
};

static uint32_t
rd32(const uint8_t *p, int big)
{
	if (big)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/*
 * Walk the records of a pcap file; return the length of its valid prefix
 * (0 if the header is bad) and summarise the records in it.
 */
static off_t
pcap_scan(int fd, struct rec_summary *rs)
{
	uint8_t h[PCAP_FILEHDR_LEN];
	off_t off = PCAP_FILEHDR_LEN;
	uint32_t magic, caplen;
	uint64_t ts;
	int big, nano;
	struct stat sb;

	memset(rs, 0, sizeof *rs);
	if (fstat(fd, &sb) == -1 || pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h)
		return 0;
	magic = rd32(h, 0);
	big = !(magic == PCAP_MAGIC_US || magic == PCAP_MAGIC_NS);
	magic = rd32(h, big);
	if (magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS)
		return 0;
	nano = magic == PCAP_MAGIC_NS;
	while (sb.st_size - off >= PCAP_RECHDR_LEN) {
		if (pread(fd, h, PCAP_RECHDR_LEN, off) != PCAP_RECHDR_LEN)
			break;
		caplen = rd32(h + 8, big);
		if (caplen > 262144 || sb.st_size - off - PCAP_RECHDR_LEN < (off_t)caplen)
			break;
		ts = (uint64_t)rd32(h, big) * 1000000000u +
		     (uint64_t)rd32(h + 4, big) * (nano ? 1 : 1000);
		if (rs->packets++ == 0)
			rs->first_ns = ts;
		rs->last_ns = ts;
		rs->bytes += rd32(h + 12, big);
		off += PCAP_RECHDR_LEN + caplen;
	}
	return off;
}

int
spool_mkdir(const char *path, mode_t mode)
{
	char *p, *copy = xstrdup(path);
	int rc = 0;

	for (p = copy + 1; *p != '\0' && rc == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) == -1 && errno != EEXIST)
			rc = -1;
		*p = '/';
	}
	if (rc == 0 && mkdir(copy, mode) == -1 && errno != EEXIST)
		rc = -1;
	free(copy);
	return rc;
}

/* "label.segN.ext" or "label.ext" -> "label" */
static char *
label_of(const char *name)
{
	char *s = xstrdup(name), *dot;

	if ((dot = strrchr(s, '.')) != NULL && strchr(dot, '_') == NULL &&
	    (strcmp(dot, ".pcap") == 0 || strcmp(dot, ".json") == 0 || strcmp(dot, ".plist") == 0 ||
	        strcmp(dot, ".txt") == 0))
		*dot = '\0';
	if ((dot = strrchr(s, '.')) != NULL && strncmp(dot, ".seg", 4) == 0)
		*dot = '\0';
	return s;
}

/* Rename into the spool under a free name; returns the name used (caller frees). */
static char *
move_free_name(int activefd, int spoolfd, const char *name)
{
	const char *ext = strrchr(name, '.');
	char *target = xstrdup(name);
	size_t stem = ext ? (size_t)(ext - name) : strlen(name);
	unsigned n;

	for (n = 1; n < 10000; n++) {
		if (renameat2(activefd, name, spoolfd, target, RENAME_NOREPLACE) == 0)
			return target;
		if (errno != EEXIST)
			break;
		free(target);
		xasprintf(&target, "%.*s-r%u%s", (int)stem, name, n, ext ? ext : "");
	}
	log_warn("recover %s", name);
	free(target);
	return NULL;
}

static void
index_recovered(struct flow_index *idx, const char *name, const char *fpout,
    const struct rec_summary *rs, int is_pcap)
{
	json_t *o = json_object();
	char *label = label_of(name);

	json_object_set_new(o, "label", json_string(label));
	json_object_set_new(o, "fpout", json_string(fpout));
	json_object_set_new(o, "index", json_array()); /* frame numbers died with the process */
	if (is_pcap) {
		json_object_set_new(o, "first_ns", json_integer((json_int_t)rs->first_ns));
		json_object_set_new(o, "last_ns", json_integer((json_int_t)rs->last_ns));
		json_object_set_new(o, "packets", json_integer((json_int_t)rs->packets));
		json_object_set_new(o, "bytes", json_integer((json_int_t)rs->bytes));
	}
	json_object_set_new(o, "reason", json_string("recovered"));
	index_append(idx, o);
	json_decref(o);
	free(label);
}

static int
recover_one(struct flow_index *idx, int activefd, int spoolfd, const char *name)
{
	struct rec_summary rs;
	int is_pcap, fd;
	off_t valid;
	char *fpout;

	memset(&rs, 0, sizeof rs);
	is_pcap = strlen(name) > 5 && strcmp(name + strlen(name) - 5, ".pcap") == 0;
	if (is_pcap) {
		if ((fd = openat(activefd, name, O_RDWR | O_CLOEXEC)) == -1) {
			log_warn("recover %s", name);
			return 0;
		}
		valid = pcap_scan(fd, &rs);
		if (valid > 0 && ftruncate(fd, valid) == -1)
			log_warn("truncate %s", name);
		close(fd);
		if (valid == 0) {
			log_warnx("recover %s: no pcap header; left in .active", name);
			return 0;
		}
	}
	if ((fpout = move_free_name(activefd, spoolfd, name)) == NULL)
		return 0;
	index_recovered(idx, name, fpout, &rs, is_pcap);
	log_info("recovered %s (%" PRIu64 " packets)", fpout, rs.packets);
	free(fpout);
	return 1;
}

int
spool_recover(const char *spool)
{
	struct flow_index *idx = NULL;
	struct dirent *de;
	char *active, *cause = NULL;
	int spoolfd, activefd, n = 0;
	DIR *d;

	xasprintf(&active, "%s%s", spool, ACTIVE_DIR);
	if ((d = opendir(active)) == NULL) {
		free(active);
		return 0;
	}
	spoolfd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	activefd = dirfd(d);
	while (spoolfd != -1 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (idx == NULL && (idx = index_open(spool, &cause)) == NULL) {
			log_warnx("recover: %s", cause);
			free(cause);
			break;
		}
		n += recover_one(idx, activefd, spoolfd, de->d_name);
	}
	if (idx != NULL)
		index_close(idx);
	if (spoolfd != -1)
		close(spoolfd);
	closedir(d);
	free(active);
	return n;
}

/* --- retention ----------------------------------------------------------- */

struct spool_file {
	char *path;
	uint64_t mtime_ns;
	uint64_t size;
};

static struct {
	struct spool_file *v;
	size_t n, cap;
} walk;

static int
walk_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	const char *base = path + ftw->base;

	/* Active files are never candidates: do not even stat them. */
	if (type == FTW_D && ftw->level == 1 && strcmp(base, ".active") == 0)
		return FTW_SKIP_SUBTREE;
	if (type != FTW_F)
		return FTW_CONTINUE;
	if (strcmp(base, "index.jsonl") == 0 && ftw->level == 1)
		return FTW_CONTINUE;
	if (walk.n == walk.cap) {
		walk.cap = walk.cap ? walk.cap * 2 : 256;
		walk.v = xreallocarray(walk.v, walk.cap, sizeof *walk.v);
	}
	walk.v[walk.n].path = xstrdup(path);
	walk.v[walk.n].mtime_ns =
	    (uint64_t)sb->st_mtim.tv_sec * 1000000000u + (uint64_t)sb->st_mtim.tv_nsec;
	walk.v[walk.n].size = (uint64_t)sb->st_size;
	walk.n++;
	return FTW_CONTINUE;
}

static int
by_age(const void *a, const void *b)
{
	const struct spool_file *x = a, *y = b;

	return (x->mtime_ns > y->mtime_ns) - (x->mtime_ns < y->mtime_ns);
}

void
spool_retention(const char *spool, uint64_t max_bytes, uint64_t max_age_ns, uint64_t now_ns,
    struct spool_usage *u)
{
	size_t i;

	memset(u, 0, sizeof *u);
	memset(&walk, 0, sizeof walk);
	if (nftw(spool, walk_cb, 16, FTW_PHYS | FTW_ACTIONRETVAL) == -1)
		log_warn("retention: %s", spool);
	qsort(walk.v, walk.n, sizeof *walk.v, by_age);
	for (i = 0; i < walk.n; i++) {
		u->files++;
		u->bytes += walk.v[i].size;
	}
	for (i = 0; i < walk.n; i++) {
		struct spool_file *f = &walk.v[i];
		int too_big = max_bytes && u->bytes > max_bytes;
		int too_old =
		    max_age_ns && now_ns > f->mtime_ns && now_ns - f->mtime_ns > max_age_ns;

		if (!too_big && !too_old)
			break;
		if (unlink(f->path) == -1) {
			log_warn("retention: unlink %s", f->path);
			continue;
		}
		log_info("retention: deleted %s (%" PRIu64 " bytes, %s)", f->path, f->size,
		    too_big ? "spool over max_spool_size" : "older than max_age");
		u->files--;
		u->bytes -= f->size;
		u->deleted++;
		u->deleted_bytes += f->size;
	}
	for (i = 0; i < walk.n; i++)
		free(walk.v[i].path);
	free(walk.v);
}
