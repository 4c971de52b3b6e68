/*
 * writer.h: per-flow output files. Each flow's records collect in a buffer
 * of its own and reach the disk in one write when the buffer is full, when
 * all buffers together exceed their budget (oldest first), when it is older
 * than the flush interval, or when the flow ends; so the packet path makes
 * no system call per packet. At most max_open_files descriptors are open
 * (least recently written closed, reopened in append mode). Files grow under
 * <output>/.active/ and are renamed into <output>/ (or a dated sub-folder)
 * once complete, never over an existing file.
 */
#ifndef TRACEFLOW_WRITER_H
#define TRACEFLOW_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "decode.h"
#include "flow.h"
#include "filer.h"
#include "record.h"
#include "names.h"

struct writer_config {
	int format;               /* enum writer_format */
	int big;                  /* big-endian pcap files */
	int nanosecond;           /* nanosecond pcap timestamps and labels */
	const char *layout;       /* strftime(3) pattern on the flow's start; "" = flat (copied) */
	unsigned max_open_files;  /* descriptor budget */
	size_t flow_buffer;       /* one flow's buffer is written out at this size */
	size_t buffer_total;      /* all buffers; beyond it the oldest is written out */
	uint64_t flush_ns;        /* a buffer is written within this time; 0 = no time bound */
	int threaded;             /* the file system work on a thread of its own (filer.c) */
	int catalog;              /* keep the spool's catalog (spoolcat.h) */
	uint64_t partition_files; /* partitions of at most this many files; 0: none */
	/*
	 * A flow that never proved itself (flow.h: FLOWF_PROVEN) waits in its
	 * buffer, not handed over on time alone; at its end, unless it was
	 * handed over already (the budget), it goes to the shared capture
	 * (shared.h) or only to the index and the catalog (count).
	 */
	int unanswered;             /* enum unanswered_mode; own-file: as any flow */
	uint64_t unanswered_rotate; /* the shared capture is filed at this age (ns) */
};

struct writer;

/*
 * Buffers on top of fl (the filer, which the caller made and frees after
 * the writer). What the writer reads of cfg is copied.
 */
struct writer *writer_new(struct filer *fl, const struct writer_config *cfg);
/* Hand every buffer over and free them. Active flows must be finished first. */
void writer_free(struct writer *w);

/* The filer's share of a writer_config. */
void writer_filer_config(const struct writer_config *cfg, struct filer_config *fc);

/*
 * Append one packet of flow f. linktype, snaplen and ifname (may be NULL;
 * borrowed: the engine's source names outlive every file) describe its
 * source; the first packet's go into the file's header.
 */
void writer_packet(struct writer *w, struct flow *f, const struct packet *pkt, const uint8_t *data,
    uint32_t linktype, uint32_t snaplen, const char *ifname, uint64_t now);

/*
 * Complete the flow's current file: its last records, close, rename into
 * place; then rec (the index line's record, may be NULL: no line) gets the
 * file's side (label suffix, fpout, written, truncated) and is appended to
 * the index. All of it happens in order on the filer's side; rec (malloc'd)
 * passes to the writer and comes back through filer_poll, which frees it.
 * ended is 0 for a full segment of a flow that goes on.
 */
void writer_finish_entry(struct writer *w, struct flow *f, struct index_record *rec, int ended);

/* A flow that ends with nothing since its last segment: its per-flow state goes. */
void writer_forget(struct writer *w, struct flow *f);

/*
 * New limits (reload): descriptor budget, buffer sizes, flush interval.
 * Format, byte order, precision and layout stay as they were: files in
 * progress must not change shape halfway.
 */
void writer_setlimits(struct writer *w, const struct writer_config *cfg);

/* Write out buffers older than the flush interval; file the shared capture at its bound. */
void writer_tick(struct writer *w, uint64_t now);
/*
 * After a poll: a shared capture that a rotate request of ours left alone
 * (filer_shared_due) is filed at its own bound by writer_tick.
 */
void writer_shared_due(struct writer *w);

/* Write out every buffer (the files stay open and active). */
void writer_flush_all(struct writer *w);

/* Bytes of buffer memory held now (capacity, >= what they hold). */
uint64_t writer_buffered(const struct writer *w);

#endif
