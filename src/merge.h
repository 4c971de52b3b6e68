/*
 * merge.h: one capture of every packet of many flow files, merged in time
 * order: what `traceflowctl query -w` writes.
 *
 * The flows come in the order they began (the catalog's first_ns), so
 * the merge streams: before a flow's file is opened, every packet of the
 * earlier flows up to its first packet is written. A heap orders the open
 * flows by their next packet (ties: the flow that began first, then the
 * file's own order). At most max_open files are open at once: beyond
 * that, the flow whose next packet comes last is closed and remembers
 * where it stood (a file offset), and is opened again when its turn
 * comes. Memory is a few hundred bytes per flow that overlaps the one
 * being written, never the result's size.
 *
 * The output's format must be known before its first byte, so a survey
 * pass over the same flows (merge_survey) comes first: pcap where every
 * flow has one link type (nanoseconds if any file has them), pcapng with
 * an interface per link type otherwise.
 *
 * Files are read with libpcap (pcap and pcapng alike), opened through the
 * spool's descriptor with O_NOFOLLOW. A file gone (retention), unreadable
 * or cut short is reported on stderr and skipped, or kept up to where it
 * ends: never an error of the whole.
 */
#ifndef TRACEFLOW_MERGE_H
#define TRACEFLOW_MERGE_H

#include <stdint.h>
#include <stdio.h>

#define MERGE_MAX_LINKTYPES 32 /* distinct link types in one result */

struct merge_stats {
	uint64_t flows;   /* files whose packets were read */
	uint64_t packets; /* written (after the filter) */
	uint64_t bytes;   /* their captured bytes */
	uint64_t skipped; /* files gone, unreadable or not captures */
	uint64_t cut;     /* files that ended in a broken record */
};

struct merge;

/* A merge of files under spoolfd (spoolpath names it in messages), max_open at once. */
struct merge *merge_new(int spoolfd, const char *spoolpath, size_t max_open);

/* Pass one: note the file's link type and time precision (a file not there is passed over). */
void merge_survey(struct merge *m, const char *fpout);

/*
 * Begin the output on out, named shown in messages: its header, and the
 * BPF filter (NULL: none) compiled for every link type surveyed. 0, or -1
 * and *cause (a filter that does not compile names it; too many link
 * types).
 */
int merge_start(struct merge *m, FILE *out, const char *shown, const char *filter, char **cause);

/*
 * Pass two: the next flow, in the order they began. Packets of earlier
 * flows up to first_ns are written first. 0, or -1 when the output fails
 * (*cause).
 */
int merge_add(struct merge *m, const char *fpout, uint64_t first_ns, char **cause);
/* A probe: only the length bytes of records at offset in the pcap file fpout (shared.h). */
int merge_add_range(struct merge *m, const char *fpout, uint64_t first_ns, uint64_t offset,
    uint64_t length, char **cause);

/* Write what is left and flush: 0, or -1 and *cause. *st gets the figures. */
int merge_finish(struct merge *m, struct merge_stats *st, char **cause);

void merge_free(struct merge *m);

#endif
