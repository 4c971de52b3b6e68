/*
 * spoolcat.h: the filer's side of the spool's catalog (catalog.h). The
 * filer thread owns everything on disk once a file is renamed into place:
 * it adds the file's row in the same batch as its index line, deletes the
 * oldest files for retention from the catalog (never by walking the spool),
 * keeps the spool's usage as running sums that any thread may read, and,
 * a slice at a time between batches, reconciles the catalog with the disk:
 * rows of files that are gone go; files without a row (a spool of the
 * previous version, a crash between a rename and its commit) get one.
 *
 * Partitions: with a bound (partition_files), finished files go to a
 * folder per hour (UTC) of their flow's end, split when it holds the bound
 * (names_partition), each with an index.jsonl of its own files that
 * follows retention and goes with the partition when its last file does.
 *
 * Everything here but spoolcat_usage runs on the filer's thread.
 */
#ifndef TRACEFLOW_SPOOLCAT_H
#define TRACEFLOW_SPOOLCAT_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct spoolcat;

/* The spool's figures, from the catalog's running sums. */
struct spool_figures {
	uint64_t files, bytes;
	uint64_t oldest_ns, newest_ns;   /* the end of the oldest and newest flow kept; 0: none */
	uint64_t deleted, deleted_bytes; /* by retention, since start */
	uint64_t reconciled;             /* rows added or dropped to match the disk */
	int ready; /* the first reconcile of a spool without a catalog is done */
};

/*
 * Open (make) the catalog of the spool spoolfd (path names it, for SQLite
 * and messages). Every open starts a reconcile with the disk, carried out
 * in the background (spoolcat_background): a crash may have left files
 * without rows, and a spool of the previous version has no catalog.
 * NULL and *cause on failure.
 */
struct spoolcat *spoolcat_open(
    int spoolfd, const char *path, uint64_t partition_files, char **cause);
/* Commit what is pending, mark the catalog as cleanly closed, close it. */
void spoolcat_close(struct spoolcat *sc);

/*
 * The partition a flow that ended at last_ns is to be filed in ("" for a
 * flat spool, or no catalog): counted as one more file of it. Valid until
 * the next call.
 */
const char *spoolcat_partition(struct spoolcat *sc, uint64_t last_ns);
/* Files go to partitions (and their indexes follow retention, not index.jsonl's). */
int spoolcat_partitioned(const struct spoolcat *sc);

/*
 * A file was renamed into place: its row, in the batch open now, and its
 * line (frames: the "index" member's text) in its partition's index.
 */
void spoolcat_filed(struct spoolcat *sc, const struct index_record *r, const char *frames);

/*
 * A probe went to the shared capture r->fpout (not yet in place: the rows
 * name where it will be) or, fpout "", was only counted: its row in
 * probes, its line in its partition's index.
 */
void spoolcat_probe(struct spoolcat *sc, const struct index_record *r, const char *frames);

/* A shared capture of probes was renamed into place as fpout: its row in files. */
struct spool_shared {
	uint64_t first_ns, last_ns, packets, bytes, written, size;
};
void spoolcat_filed_shared(struct spoolcat *sc, const char *fpout, const struct spool_shared *s);

/* Its name was taken: it went to another one, its probes' rows follow. */
void spoolcat_probes_moved(struct spoolcat *sc, const char *from, const char *to);

/* The batch reaches the catalog (one transaction); the figures are brought up to date. */
void spoolcat_commit(struct spoolcat *sc);
/*
 * Commit if the batch is due (COMMIT_ROWS rows, or COMMIT_NS old): -1 if
 * no batch is open (then), or in how many ms it will be due.
 */
int spoolcat_commit_due(struct spoolcat *sc);

/*
 * Retention: delete the files whose flows ended first (by last_ns; ties in
 * filing order) while the spool holds more than max_bytes, and those that
 * ended more than max_age_ns before now_ns (0: no bound), unlinking each
 * and dropping its row in one transaction; one log line for the pass.
 * Partitions left without a file go (their index with them); the others'
 * indexes lose the lines. The names deleted (relative to the spool) are
 * returned in *gone, for index.jsonl in a flat spool (the caller frees
 * them). Work in proportion to what it deletes, and at most max_files
 * deletions a call: 1 when it stopped there with the spool still over its
 * limits (call again: the pass goes on, and its one line is logged when it
 * ends), so that filing is never held up for a whole pass.
 */
int spoolcat_retain(struct spoolcat *sc, uint64_t max_bytes, uint64_t max_age_ns, uint64_t now_ns,
    size_t max_files, char ***gone, size_t *ngone);

/*
 * One slice of the background reconcile (a bounded number of rows and
 * directory entries); 1 if more is left. Names of rows dropped because
 * their file is gone are appended to *gone (for the index).
 */
int spoolcat_slice(struct spoolcat *sc, char ***gone, size_t *ngone);

/*
 * Start a retention pass with these limits and this time, carried out by
 * spoolcat_background a slice of at most RETAIN_SLICE deletions at a time
 * (a pass under way goes on with the new limits).
 */
void spoolcat_retain_start(
    struct spoolcat *sc, uint64_t max_bytes, uint64_t max_age_ns, uint64_t now_ns);
/*
 * A slice of the background work: retention first, then the reconcile.
 * The names of files gone, for index.jsonl in a flat spool, in *gone (the
 * caller frees them). 1 if work is left (spoolcat_busy).
 */
int spoolcat_background(struct spoolcat *sc, char ***gone, size_t *ngone);

/* Start a reconcile (at reload: files removed by hand). */
void spoolcat_reconcile(struct spoolcat *sc);
/* A retention pass or a reconcile is under way: spoolcat_background has work. */
int spoolcat_busy(const struct spoolcat *sc);

/* The figures, from any thread. */
void spoolcat_usage(const struct spoolcat *sc, struct spool_figures *out);

#endif
