/*
 * files.h: the file system work of the output side: one flow's file
 * (struct ifile) created under .active/, appended to, and renamed into
 * place or the dated folder, within a budget of open descriptors. It runs
 * on the filer's thread; only files_ifile (on the writer's side) and
 * files_stats (anywhere) are called from elsewhere.
 */
#ifndef TRACEFLOW_FILES_H
#define TRACEFLOW_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "flow.h"
#include "record.h"
#include "names.h"

/* What the filer reads of the settings (copied: a reload frees the config). */
struct filer_config {
	int format;                /* enum writer_format */
	int big;                   /* big-endian pcap files */
	int nanosecond;            /* nanosecond pcap timestamps and labels */
	const char *layout;        /* strftime(3) pattern on the flow's start; "" = flat */
	unsigned max_open_files;   /* descriptor budget */
	int catalog;               /* keep the spool's catalog (spoolcat.h): the daemon, offline */
	uint64_t partition_files;  /* partitions of at most this many files; 0: none (flat) */
	uint64_t unanswered_bytes; /* the shared capture is filed at this size (shared.h) */
};

/* The output side's counters, most of them the filer's (filer_stats). */
struct output_stats {
	uint64_t files;  /* files completed and renamed into place */
	uint64_t bytes;  /* bytes written */
	uint64_t writes; /* write system calls */
	uint64_t opens;  /* open system calls (creates and reopens) */
	uint64_t write_errors;
	uint64_t bytes_lost;    /* buffered bytes that could not be written (logged) */
	uint64_t frames_lost;   /* frames accepted but not written (a full disk...) */
	uint64_t index_pending; /* index lines waiting for the disk */
	uint64_t index_lost;    /* index lines dropped: refused for too long */
	uint64_t index_errors;  /* failed index writes */
	uint32_t open_files;    /* descriptors open now */
	uint64_t buffered;      /* bytes of buffer memory (the writer's and in flight) */
};

struct files;
struct ifile;

/*
 * The output folder outdirfd (duplicated; outdir names it in messages),
 * with .active/ made in it unless the format writes no files. NULL and
 * *cause on failure.
 */
struct files *files_new(
    int outdirfd, const char *outdir, const struct filer_config *cfg, char **cause);
void files_free(struct files *fs);
void files_set_max_open(struct files *fs, unsigned max_open_files);

/*
 * A flow's name across its segments: the label suffix its first file took
 * (when another flow's file had the label), kept by every later segment,
 * so that two flows with one label never trade segments. Counted
 * references: the writer holds one from the flow's first segment to its
 * end, each of its files one; the suffix itself is read and set on the
 * filer's thread only, where the files are made in the order they come.
 */
struct fname;
struct fname *files_fname_new(void);
void files_fname_unref(struct fname *n);

/*
 * The file of f's current segment, named now; NULL when the format writes
 * none. ifname (may be NULL) names the interface in a pcapng header; it must
 * live as long as the file (the engine's source names do). name is the
 * flow's (a reference is taken), NULL for a flow of one file.
 */
struct ifile *files_ifile(const struct files *fs, const struct flow *f, uint32_t linktype,
    uint32_t snaplen, const char *ifname, struct fname *name);
void files_ifile_free(struct ifile *io);

/* A file that is no flow's (the shared capture, shared.h): named name, dated by first. */
struct ifile *files_ifile_named(
    const struct files *fs, const char *name, uint64_t first, uint32_t linktype, uint32_t snaplen);

/* Its bytes on disk: the header and the whole records written so far. */
uint64_t files_size(const struct ifile *io);

/* Where files_finish would put io in partition part unless its name is taken: fpout. */
void files_destination(
    struct files *fs, const struct ifile *io, const char *part, char *buf, size_t len);

/*
 * Append nrec whole records, len bytes in the n pieces data[] (the file's
 * header first if it is new).
 */
void files_append(
    struct files *fs, struct ifile *io, const struct iovec *data, int n, size_t len, uint64_t nrec);

/*
 * Close io and rename it into place, into the partition part ("" for
 * none: names.h) and the layout's folder in it; the path into place
 * (relative to the output folder; valid until the next call) or NULL if
 * there is no file. last_ns (the flow's last packet) becomes its time.
 */
const char *files_finish(struct files *fs, struct ifile *io, uint64_t last_ns, const char *part);

/* What became of the file, in the index record: label suffix, written, truncated. */
void files_describe(const struct ifile *io, struct index_record *r);

/* The file counters of output_stats (all but the index's and buffered). */
void files_stats(const struct files *fs, struct output_stats *st);

#endif
