/*
 * filejob.c: the filer's jobs (filejob.h), what each one does on the
 * disk's side: records to a file, a file into place and its index line,
 * a probe to the shared capture, the index and the catalog's turns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filejob.h"
#include "index.h"
#include "log.h"
#include "shared.h"
#include "xmalloc.h"

/* The entry says what became of the file, then it goes to the index. */
static void
finish_entry(struct filer_disk *d, struct ifile *io, const char *fpout, struct filer_done *done)
{
	struct index_record *r = (struct index_record *)done->rec;

	if (r == NULL)
		return;
	files_describe(io, r);
	snprintf(r->fpout, sizeof r->fpout, "%s", fpout ? fpout : "");
	if (d->idx != NULL)
		index_append_record(d->idx, r, done->frames);
	spoolcat_filed(d->cat, r, done->frames);
}

/* Index lines reach the file; the counters tell the other thread how it went. */
void
index_push(struct filer_disk *d, int retry)
{
	uint64_t pending, lost, errors;

	/* The rows reach the catalog in batches of their own (spoolcat_commit_due). */
	spoolcat_commit_due(d->cat);
	if (d->idx == NULL)
		return;
	if (retry)
		index_retry(d->idx);
	else
		index_flush(d->idx);
	d->index_again = index_wants_retry(d->idx);
	index_stats(d->idx, &pending, &lost, &errors);
	d->c.index_pending = pending;
	d->c.index_lost = lost;
	d->c.index_errors = errors;
}

static void
prefetch_iov(const struct iovec *iov, size_t n)
{
	size_t i, o;

	for (i = 0; i < n; i++)
		for (o = 0; o < iov[i].iov_len + 63; o += 64)
			__builtin_prefetch((const uint8_t *)iov[i].iov_base + o);
}

#define WALK_JOBS 8

/*
 * Where the records of this write job and of the next ones in its batch
 * lie, found together: a chain's spills are met one cache miss after the
 * other, and walking eight chains in step keeps eight misses in flight
 * (c10k: the walk of one chain at a time was 7 % of the filer's samples).
 */
static void
prepare_writes(struct job *j)
{
	struct chunk_walk w[WALK_JOBS];
	int n = 0, k, more;

	for (; j != NULL && n < WALK_JOBS; j = STAILQ_NEXT(j, link)) {
		if ((j->op != J_WRITE && j->op != J_SHARED) || j->iov != NULL)
			continue;
		j->iov = xreallocarray(NULL, chunk_chain_slots(&j->chain) + 1, sizeof *j->iov);
		chunk_walk_begin(&w[n++], &j->chain, j->iov);
	}
	do {
		more = 0;
		for (k = 0; k < n; k++)
			more |= chunk_walk_step(&w[k]);
	} while (more);
}

/*
 * The chain's records where they lie in the log, one iovec each (files_append
 * adds the file's header in front); then the chain lets go of them.
 */
static void
write_chain(struct filer_disk *d, struct job *j)
{
	size_t n = chunk_chain_slots(&j->chain);

	if (j->iov == NULL)
		prepare_writes(j);
	prefetch_iov(j->iov, n);
	files_append(d->fs, j->io, j->iov, (int)n, j->len, j->nrec);
	free(j->iov);
	j->iov = NULL;
	j->freed = chunk_chain_release(&j->chain, NULL);
}

/*
 * A queue that never runs dry (a disk slower than the packets) would keep
 * every index line of it in memory until it does, counted nowhere: some
 * 600 bytes per flow of a batch that can be the whole write budget. Whole
 * lines go to the file every INDEX_BATCH_LINES instead (unless the disk is
 * refusing them: then they wait, as index.c bounds).
 */
#define INDEX_BATCH_LINES 1024

void
index_push_full(struct filer_disk *d)
{
	uint64_t pending, lost, errors;

	if (d->idx == NULL || d->index_again)
		return;
	index_stats(d->idx, &pending, &lost, &errors);
	if (pending >= INDEX_BATCH_LINES)
		index_push(d, 0);
}

/*
 * Files retention or the reconcile found gone lose their index lines: in
 * a flat spool, those of index.jsonl; in partitions, their partition's
 * (spoolcat.c), and index.jsonl is a log that is never rewritten.
 */
static void
gone_from_index(struct filer_disk *d, char *const *gone, size_t n)
{
	if (n > 0 && d->idx != NULL && !spoolcat_partitioned(d->cat))
		index_prune(d->idx, gone, n, 0);
}

/*
 * An unanswered connection: its records to the shared capture (or, count,
 * nowhere), then its index line and its row as a probe (shared.h).
 */
static void
shared_job(struct filer_disk *d, struct job *j)
{
	struct index_record *r = j->rec;

	if (j->iov == NULL)
		prepare_writes(j);
	if (!j->count)
		shared_add(d->sh, j->iov, (int)chunk_chain_slots(&j->chain), j->len, j->nrec,
		    j->linktype, j->snaplen, r);
	else {
		r->probe = 1;
		r->written = 0;
	}
	free(j->iov);
	j->iov = NULL;
	j->freed = chunk_chain_release(&j->chain, NULL);
	if (d->idx != NULL)
		index_append_record(d->idx, r, j->done.frames);
	spoolcat_probe(d->cat, r, j->done.frames);
}

void
run_job(struct filer_disk *d, struct job *j)
{
	const char *fpout = NULL;

	switch (j->op) {
	case J_WRITE:
		write_chain(d, j);
		break;
	case J_FINISH:
		if (j->io != NULL)
			fpout = files_finish(
			    d->fs, j->io, j->last_ns, spoolcat_partition(d->cat, j->last_ns));
		finish_entry(d, j->io, fpout, &j->done);
		break;
	case J_FLUSH:
		spoolcat_commit(d->cat); /* for filer_sync: the catalog's rows are in */
		index_push(d, 0);        /* and the index is on disk too */
		break;
	case J_REOPEN:
		if (d->idx != NULL)
			index_reopen(d->idx);
		break;
	case J_RECONCILE:
		spoolcat_reconcile(d->cat);
		break;
	case J_SHARED:
		shared_job(d, j);
		break;
	case J_ROTATE:
		shared_rotate_since(d->sh, j->last_ns);
		/* A younger one left alone: its time back to the lane (filer_shared_due). */
		j->last_ns = shared_first(d->sh);
		break;
	case J_RETAIN: /* carried out a slice at a time: background_slice */
		spoolcat_retain_start(d->cat, j->max_bytes, j->max_age_ns, j->now_ns);
		break;
	}
}

/*
 * Work in the background of filing, a slice at a time (a pass that
 * deletes a million files must not hold filing up while it unlinks them):
 * whenever the queue is dry, and under a load that never lets it run dry,
 * after every BACKGROUND_EVERY batches.
 */
#define BACKGROUND_EVERY 8

void
background_slice(struct filer_disk *d, int idle)
{
	char **gone;
	size_t ngone, i;

	if (d->cat == NULL || (!idle && ++d->batches < BACKGROUND_EVERY))
		return;
	d->batches = 0;
	spoolcat_background(d->cat, &gone, &ngone);
	gone_from_index(d, gone, ngone);
	for (i = 0; i < ngone; i++)
		free(gone[i]);
	free(gone);
}

/* A job that ends f's segment: its index record (ours now) and what comes back of it. */
struct job *
job_finish_new(enum job_op op, const struct flow *f, struct index_record *rec, int ended)
{
	struct job *j = xcalloc(1, sizeof *j);

	j->op = op;
	j->rec = rec;
	j->done.rec = rec;
	/*
	 * The index line's frame numbers as text, made here: the flow's
	 * numbers are at hand, and the filer's thread is the busier one.
	 */
	if (rec != NULL) {
		j->done.frames = index_frames_text(f ? f->fn.buf : NULL, f ? f->fn.len : 0);
		j->cap = FINISH_COST + strlen(j->done.frames);
	}
	j->done.ended = ended;
	if (f != NULL) {
		j->done.key = f->key;
		j->done.init = f->init;
		j->last_ns = f->seg_last;
	}
	return j;
}
