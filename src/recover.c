/*
 * recover.c: files left in .active/ by a run that did not end cleanly
 * (spool.h, spool_recover): each of ours is cut back to its last whole
 * record, moved into the spool under a free name and indexed as
 * recovered; anything else there (a link, a foreign file) is left alone.
 */
#include <dirent.h>
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
#include "log.h"
#include "names.h"
#include "pcapfile.h"
#include "spool.h"
#include "xmalloc.h"

/*
 * The valid prefix of the pcap file fd and what its records say, read
 * through a mapping: the same walker (pcapfile.c) that the tests pin.
 */
static off_t
scan_pcap(int fd, struct pcapfile_summary *rs)
{
	struct stat sb;
	size_t valid;
	void *map;

	memset(rs, 0, sizeof *rs);
	if (fstat(fd, &sb) == -1 || sb.st_size < PCAP_FILEHDR_LEN)
		return 0;
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		log_warn("recover: mmap");
		return 0;
	}
	valid = pcapfile_valid_prefix(map, (size_t)sb.st_size, rs);
	munmap(map, (size_t)sb.st_size);
	return (off_t)valid;
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
		if (spool_rename_noreplace(activefd, name, spoolfd, target) == 0)
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

/* Close enough: what the file itself says of the flow, the rest null (index.c). */
static void
index_recovered(struct flow_index *idx, const char *name, const char *fpout,
    const struct pcapfile_summary *rs, int is_pcap)
{
	struct index_recovered r;
	char *label = names_label_of(name);

	memset(&r, 0, sizeof r);
	r.label = label;
	r.fpout = fpout;
	r.have_records = is_pcap;
	r.first_ns = rs->first_ns;
	r.last_ns = rs->last_ns;
	r.packets = rs->packets;
	r.bytes = rs->bytes;
	index_append_recovered(idx, &r);
	free(label);
}

/*
 * Only a regular file of ours with no other name is ours to cut and move:
 * a link or a foreign file in .active/ was planted, and is left alone.
 */
static int
open_own(int activefd, const char *name)
{
	struct stat sb;
	int fd;

	if (fstatat(activefd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
		log_warn("recover %s/%s", NAMES_ACTIVE, name);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		log_warnx("recover %s/%s: not a regular file (%s); left alone", NAMES_ACTIVE, name,
		    S_ISLNK(sb.st_mode) ? "a symbolic link" : "another type");
		return -1;
	}
	fd = openat(activefd, name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		log_warn("recover %s/%s: left alone", NAMES_ACTIVE, name);
		return -1;
	}
	/* The file we opened, not the one we looked at: checked again. */
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid() ||
	    sb.st_nlink != 1) {
		log_warnx("recover %s/%s: owned by uid %u (we are %u) or with other names; "
		          "not ours, left alone",
		    NAMES_ACTIVE, name, (unsigned)sb.st_uid, (unsigned)geteuid());
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A partitioned spool takes a recovered pcap file into the partition of
 * its last record's hour (split 0: a few recovered files may take it past
 * its bound), with a line in that partition's index too; the rest, and a
 * flat spool, at the top. The folder to move into, and its name ("").
 */
static int
recover_dest(int spoolfd, int partitioned, const struct pcapfile_summary *rs, char *part,
    size_t len, struct flow_index **pidx)
{
	char *cause = NULL;
	int fd;

	part[0] = '\0';
	*pidx = NULL;
	if (!partitioned || rs->packets == 0)
		return spoolfd;
	names_partition(rs->last_ns, 0, part, len);
	if ((fd = spool_openat_dir(spoolfd, part, 1)) == -1) {
		log_warn("recover: partition %s (the file stays at the top)", part);
		part[0] = '\0';
		return spoolfd;
	}
	if ((*pidx = index_open(fd, part, &cause)) == NULL) {
		log_warnx("recover: %s", cause);
		free(cause);
	}
	return fd;
}

static int
recover_one(struct flow_index *idx, int activefd, int spoolfd, int partitioned, const char *name)
{
	char part[NAMES_PARTITION_MAX], *where;
	struct flow_index *pidx;
	int dfd;
	struct pcapfile_summary rs;
	int is_pcap, fd;
	off_t valid = 0;
	char *fpout, *label;

	memset(&rs, 0, sizeof rs);
	is_pcap = strlen(name) > 5 && strcmp(name + strlen(name) - 5, ".pcap") == 0;
	if ((fd = open_own(activefd, name)) == -1)
		return 0;
	if (is_pcap) {
		valid = scan_pcap(fd, &rs);
		if (valid > 0 && ftruncate(fd, valid) == -1)
			log_warn("truncate %s/%s", NAMES_ACTIVE, name);
	}
	close(fd);
	if (is_pcap && rs.packets == 0) {
		/* Nothing captured made it to the disk: no empty file goes into the spool. */
		if (unlinkat(activefd, name, 0) == -1)
			log_warn("recover %s/%s", NAMES_ACTIVE, name);
		else
			log_warnx(
			    "recover %s/%s: no whole record in it; removed", NAMES_ACTIVE, name);
		return 0;
	}
	dfd = recover_dest(spoolfd, partitioned, &rs, part, sizeof part, &pidx);
	fpout = move_free_name(activefd, dfd, name);
	if (dfd != spoolfd)
		close(dfd);
	if (fpout == NULL) {
		index_close(pidx);
		return 0;
	}
	if (part[0] != '\0') {
		xasprintf(&where, "%s/%s", part, fpout);
		free(fpout);
		fpout = where;
	}
	index_recovered(idx, name, fpout, &rs, is_pcap);
	if (pidx != NULL) {
		index_recovered(pidx, name, fpout, &rs, is_pcap);
		index_close(pidx);
	}
	label = names_label_of(name);
	log_fields(LOG_LVL_INFO, LOG_FIELDS({"FLOW_LABEL", label}),
	    "recovered %s (%" PRIu64 " packets)", fpout, rs.packets);
	free(label);
	free(fpout);
	return 1;
}

int
spool_recover(int spoolfd, const char *path, int partitioned)
{
	struct flow_index *idx = NULL;
	struct dirent *de;
	char *cause = NULL;
	int activefd, n = 0;
	DIR *d;

	if ((activefd = spool_openat_dir(spoolfd, NAMES_ACTIVE, 0)) == -1) {
		if (errno != ENOENT)
			log_warn("recover %s/%s", path, NAMES_ACTIVE);
		return 0;
	}
	if ((d = fdopendir(activefd)) == NULL) {
		log_warn("recover %s/%s", path, NAMES_ACTIVE);
		close(activefd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (idx == NULL && (idx = index_open(spoolfd, path, &cause)) == NULL) {
			log_warnx("recover: %s", cause);
			free(cause);
			break;
		}
		n += recover_one(idx, activefd, spoolfd, partitioned, de->d_name);
	}
	if (idx != NULL)
		index_close(idx);
	closedir(d);
	return n;
}
