/*
 * filer.h: the file system side of the writer. It owns the output files'
 * descriptors (at most max_open_files, least recently used closed), creates
 * files under .active/ without ever truncating one, appends whole records,
 * renames finished files into place and appends their index lines, in the
 * order the writer asked. It runs on a thread of its own in the daemon, so
 * that a slow disk (file creation on a busy file system can take
 * milliseconds) never stops the packet path; inline for unit tests.
 */
#ifndef TRACEFLOW_FILER_H
#define TRACEFLOW_FILER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "chunk.h"
#include "filejob.h" /* struct filer_done */
#include "flow.h"
#include "record.h"
#include "files.h"
#include "names.h"
#include "spoolcat.h"

struct filer;
struct ifile;

/*
 * Files go to the folder outdirfd (outdir names it in messages; the
 * descriptor is duplicated); .active/ is made in it. The filer keeps its
 * own copy of every setting it reads. NULL and *cause on failure.
 */
struct filer *filer_new(
    int outdirfd, const char *outdir, const struct filer_config *cfg, int threaded, char **cause);
/*
 * Another producer on fl's queue and disk (a capture worker's writer): its
 * own batch, chunk pool, done list and event descriptor; its jobs take
 * their places in the one queue at each hand-over, so the disk keeps one
 * owner. Made by fl's thread, used by one other from then on.
 */
struct filer *filer_lane(struct filer *fl, char **cause);
/*
 * A lane: wait for its jobs, free it. The filer of filer_new (after every
 * lane): finish the queue, stop the thread, close everything.
 */
void filer_free(struct filer *fl);

void filer_setlimits(struct filer *fl, unsigned max_open_files);

/* On the filer's side, in order with the lines before (index.h): reopen index.jsonl by name. */
void filer_index_reopen(struct filer *fl);

/*
 * Retention on the filer's side, in order with the files before: the
 * oldest files go from the catalog while over the limits (spoolcat_retain),
 * their index lines with them. Without a catalog, nothing.
 */
void filer_retain(struct filer *fl, uint64_t max_bytes, uint64_t max_age_ns, uint64_t now_ns);
/* A new check of the catalog against the disk, in the background (spoolcat_reconcile). */
void filer_reconcile(struct filer *fl);
/* The spool's figures from the catalog (zeros without one); any thread. */
void filer_spool(const struct filer *fl, struct spool_figures *out);

/*
 * A file for the current segment of f; its name is fixed from the flow now.
 * ifname (may be NULL, borrowed: it must outlive the file) names the interface
 * in a pcapng header.
 */
struct ifile *filer_open(struct filer *fl, const struct flow *f, uint32_t linktype,
    uint32_t snaplen, const char *ifname, struct fname *name);

/*
 * The log the writer's buffers point into: the chunks that written chains
 * leave empty go back to it on the writer's thread (filer_poll).
 */
struct chunk_pool *filer_pool(struct filer *fl);

/*
 * Append len bytes of nrec whole records: the chain (cap bytes of memory)
 * passes to the filer, which drops its references once written.
 */
void filer_write(struct filer *fl, struct ifile *io, const struct chunk_chain *chain, size_t len,
    size_t cap, uint64_t nrec);

/*
 * Complete io (NULL when the format writes no files): close it and rename
 * it into place; then set the record's label, fpout, written and truncated
 * to what they became and append its line to the index. io is freed; rec
 * passes to the filer and comes back through filer_poll.
 */
void filer_finish(
    struct filer *fl, struct ifile *io, const struct flow *f, struct index_record *rec, int ended);

/*
 * An unanswered connection f (writer.h) ends with all its records in
 * chain (len bytes of nrec records, cap of memory): they go to the shared
 * capture (count: nowhere), rec to the index and the catalog's probes
 * (shared.h), and rec comes back through filer_poll as a finished flow's.
 */
void filer_shared(struct filer *fl, const struct flow *f, const struct chunk_chain *chain,
    size_t len, size_t cap, uint64_t nrec, uint32_t linktype, uint32_t snaplen,
    struct index_record *rec, int count);

/*
 * File the shared capture now, in order with the jobs before: the capture
 * that holds the probe of time since (the writer's first since its last
 * request); one younger is left to its own time (another worker's writer
 * filed that one already). since 0: whatever the capture.
 */
void filer_shared_rotate(struct filer *fl, uint64_t since);
/*
 * The time of a younger capture that a rotate of ours left alone, taken
 * back since the last call (0: none): the writer files it at its own bound,
 * or it would wait for the next probe, however long that takes.
 */
uint64_t filer_shared_due(struct filer *fl);

/* Block until everything queued so far is on disk and indexed. */
void filer_sync(struct filer *fl);

/*
 * Hand what was queued to the filer thread now. Jobs go over in batches
 * (256 jobs or 1 MiB), so the writer calls this at the end of each batch
 * of packets and on its timer: nothing waits longer than that.
 */
void filer_batch_end(struct filer *fl);

/* Bytes handed over and not yet written; block while above limit (back pressure). */
uint64_t filer_inflight(struct filer *fl);
/*
 * Bytes of finished flows taken back but not yet reported (a worker's
 * lane: filer_defer_reports): memory the stats count, back pressure not
 * (the reporter may be waiting for the worker that would wait for it).
 */
uint64_t filer_held(const struct filer *fl);
void filer_wait_below(struct filer *fl, uint64_t limit);

/* Where filer_poll reports finished flows. */
void filer_set_done(struct filer *fl, filer_done_cb cb, void *arg);

/*
 * Report the flows whose lines reached the index since the last call, in
 * order, and free what the filer has done with. Also called while the
 * writer waits for the filer (back pressure, sync).
 */
void filer_poll(struct filer *fl);

/*
 * Finished flows are reported only by filer_report, called by another
 * thread (the daemon's, under the lane's worker lock); filer_poll, as the
 * writer calls it while it waits, then only frees their buffers.
 */
void filer_defer_reports(struct filer *fl);
void filer_report(struct filer *fl);
/*
 * filer_report in three steps, for a reporter that holds the worker's lock
 * only where the worker's memory is touched: take (under the lock: the
 * jobs leave the lane, their buffers go back to its pool), run (without
 * it: the done callback on each, which reads only what the jobs own), end
 * (under it again: the jobs freed, names the writer shares among them).
 */
struct filer_reports;
struct filer_reports *filer_reports_take(struct filer *fl);
void filer_reports_run(const struct filer *fl, struct filer_reports *r);
void filer_reports_end(struct filer *fl, struct filer_reports *r);

/* Readable when filer_poll has something (for the daemon's event loop); -1 inline. */
int filer_event_fd(const struct filer *fl);

/* The file system counters (all but buffered). */
void filer_stats(struct filer *fl, struct output_stats *st);

#endif
