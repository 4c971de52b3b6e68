/*
 * filejob.h: a job of the filer (filer.c): what the writer hands over
 * (records to append, a file to finish, a probe for the shared capture,
 * the index's and the catalog's turns) and what running it does on the
 * disk's side, on the filer's thread. filer.c owns the queue, the thread
 * and the way back; this is the work itself.
 */
#ifndef TRACEFLOW_FILEJOB_H
#define TRACEFLOW_FILEJOB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include "chunk.h"
#include "files.h"
#include "flow.h"
#include "record.h"
#include "spoolcat.h"

struct filer;

/* What became of a finished flow, in order; valid during the callback (filer_poll). */
struct filer_done {
	struct flow_key key;
	uint8_t init;
	int ended;
	const struct index_record *rec; /* the index line, but for its "index" member */
	const char *frames;             /* that member: the frame numbers as a JSON array text */
};
typedef void (*filer_done_cb)(const struct filer_done *d, void *arg);

enum job_op { J_WRITE, J_FINISH, J_FLUSH, J_REOPEN, J_RETAIN, J_RECONCILE, J_SHARED, J_ROTATE };

struct job {
	STAILQ_ENTRY(job) link;
	enum job_op op;
	struct ifile *io;
	struct chunk_chain chain; /* J_WRITE, J_SHARED: the records */
	struct chunk *freed;      /* J_WRITE: the log's chunks it left empty, for the writer */
	struct iovec *iov;        /* J_WRITE: where its records lie (prepare_writes) */
	size_t len;
	size_t cap;
	struct filer_done done;   /* J_FINISH */
	struct index_record *rec; /* J_FINISH: the index line's record (done.rec), ours */
	uint64_t nrec;            /* J_WRITE: records in buf */
	uint64_t last_ns;         /* J_FINISH: the segment's last packet, the file's time */
	char **gone;              /* J_PRUNE: the files retention deleted (the writer's) */
	size_t ngone;
	int missing;                            /* J_PRUNE: and every file that does not exist */
	uint64_t max_bytes, max_age_ns, now_ns; /* J_RETAIN: the limits, and when */
	uint64_t seq;               /* its place in the filer's queue, given at hand-over */
	struct filer *lane;         /* who made it: it goes back there when done */
	uint32_t linktype, snaplen; /* J_SHARED: its records' */
	uint8_t count; /* J_SHARED: a row and a line, the records dropped (unanswered = count) */
};
STAILQ_HEAD(job_list, job);

/*
 * What a finished flow waiting for the filer holds besides its frame
 * numbers: the job, its index record, the file's record and malloc's
 * overheads, about 1.3 KiB (512 bytes were counted once). Counted in
 * flight, so that the write budget bounds the memory a slow disk makes
 * us hold.
 */
#define FINISH_COST (sizeof(struct job) + sizeof(struct index_record) + 256)

/* The index's counters, read by the other thread (filer_stats). */
struct counters {
	_Atomic uint64_t index_pending, index_lost, index_errors;
};

/* The disk's side of the filer: its thread's alone (or the caller's, inline). */
struct filer_disk {
	struct files *fs;
	struct flow_index *idx;
	int index_again;      /* the index has lines waiting or a prune to retry */
	struct spoolcat *cat; /* the spool's catalog (NULL: none, as in unit tests) */
	struct shared *sh;    /* the shared capture of unanswered connections */
	unsigned batches;     /* drained since the last background slice */
	struct counters c;
};

/* Run j (and, for a write, find where the next few writes' records lie). */
/* A job that ends f's segment (J_FINISH, J_SHARED): its index record (ours now) and what comes back
 * of it. */
struct job *job_finish_new(
    enum job_op op, const struct flow *f, struct index_record *rec, int ended);

void run_job(struct filer_disk *d, struct job *j);

/* Index lines to the file (retry: again after a refusal); the catalog's due commit. */
void index_push(struct filer_disk *d, int retry);
/* ... when a batch's worth of lines waits. */
void index_push_full(struct filer_disk *d);

/* Retention and the reconcile, a slice (idle: the queue is dry, else every few batches). */
void background_slice(struct filer_disk *d, int idle);

#endif
