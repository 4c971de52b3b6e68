/*
 * shared.c: the shared capture of unanswered connections (shared.h), on
 * the filer's thread, over files.c's file work (create under .active/,
 * append whole records, rename into place without replacing anything).
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "names.h"
#include "shared.h"
#include "xmalloc.h"

#define HOUR_NS (3600 * 1000000000ull)

struct shared {
	struct files *fs;
	struct spoolcat *cat;
	uint64_t max_bytes;

	/* The capture being written (io NULL: none) and what its row will say. */
	struct ifile *io;
	char part[NAMES_PARTITION_MAX];
	uint64_t hour; /* of its partition */
	uint32_t linktype, snaplen;
	char fpout[sizeof((struct index_record *)0)->fpout]; /* where it will be filed: its probes
	                                                        say */
	struct spool_shared sum;
};

struct shared *
shared_new(struct files *fs, struct spoolcat *cat, uint64_t max_bytes)
{
	struct shared *sh = xcalloc(1, sizeof *sh);

	sh->fs = fs;
	sh->cat = cat;
	sh->max_bytes = max_bytes;
	return sh;
}

void
shared_free(struct shared *sh)
{
	if (sh == NULL)
		return;
	shared_rotate(sh);
	free(sh);
}

/*
 * A new capture for the probe r: named by its time to the nanosecond,
 * in the partition its end falls in (one file of it), the layout's folder
 * of its start.
 */
static void
shared_open(struct shared *sh, const struct index_record *r, uint32_t linktype, uint32_t snaplen)
{
	char name[64];

	snprintf(name, sizeof name, SHARED_PREFIX "%" PRIu64 ".%09" PRIu64,
	    r->first_ns / 1000000000u, r->first_ns % 1000000000u);
	sh->io = files_ifile_named(sh->fs, name, r->first_ns, linktype, snaplen);
	if (sh->io == NULL)
		return;
	snprintf(sh->part, sizeof sh->part, "%s", spoolcat_partition(sh->cat, r->last_ns));
	sh->hour = r->last_ns / HOUR_NS;
	sh->linktype = linktype;
	sh->snaplen = snaplen;
	files_destination(sh->fs, sh->io, sh->part, sh->fpout, sizeof sh->fpout);
	memset(&sh->sum, 0, sizeof sh->sum);
	sh->sum.first_ns = r->first_ns;
	/* Its header now: a probe's offset is past it. */
	files_append(sh->fs, sh->io, NULL, 0, 0, 0);
}

void
shared_add(struct shared *sh, const struct iovec *iov, int n, size_t len, uint64_t nrec,
    uint32_t linktype, uint32_t snaplen, struct index_record *r)
{
	uint64_t off;

	/* One header for all: a link type or snapshot length of its own is a capture of its own. */
	if (sh->io != NULL &&
	    (linktype != sh->linktype || snaplen != sh->snaplen ||
	        r->last_ns / HOUR_NS != sh->hour || files_size(sh->io) + len > sh->max_bytes))
		shared_rotate(sh);
	if (sh->io == NULL)
		shared_open(sh, r, linktype, snaplen);
	r->probe = 1;
	r->written = 0;
	r->size = 0; /* the capture's bytes are its own row's */
	if (sh->io == NULL)
		return;
	off = files_size(sh->io);
	files_append(sh->fs, sh->io, iov, n, len, nrec);
	if (files_size(sh->io) == off + len && off > 0) {
		r->written = nrec;
		r->offset = off;
		r->length = len;
	} else
		r->truncated = 1; /* a full disk: counted lost by files.c */
	snprintf(r->fpout, sizeof r->fpout, "%s", sh->fpout);
	if (r->first_ns < sh->sum.first_ns)
		sh->sum.first_ns = r->first_ns;
	if (r->last_ns > sh->sum.last_ns)
		sh->sum.last_ns = r->last_ns;
	sh->sum.packets += r->packets;
	sh->sum.bytes += r->bytes;
	sh->sum.written += r->written;
}

void
shared_rotate(struct shared *sh)
{
	const char *fpout;

	if (sh->io == NULL)
		return;
	sh->sum.size = files_size(sh->io);
	fpout = files_finish(sh->fs, sh->io, sh->sum.last_ns, sh->part);
	if (fpout == NULL)
		log_warnx("%s: the shared capture of unanswered connections was not filed (logged "
		          "above); the index lines of its probes name it",
		    sh->fpout);
	else {
		if (strcmp(fpout, sh->fpout) != 0) {
			log_warnx(
			    "%s was taken: the shared capture of unanswered connections was filed "
			    "as %s (the catalog's rows follow; index lines name the first)",
			    sh->fpout, fpout);
			spoolcat_probes_moved(sh->cat, sh->fpout, fpout);
		}
		spoolcat_filed_shared(sh->cat, fpout, &sh->sum);
	}
	files_ifile_free(sh->io);
	sh->io = NULL;
}

void
shared_rotate_since(struct shared *sh, uint64_t since)
{
	if (sh->io != NULL && since != 0 && sh->sum.first_ns > since)
		return;
	shared_rotate(sh);
}

uint64_t
shared_first(const struct shared *sh)
{
	return sh->io != NULL ? sh->sum.first_ns : 0;
}
