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
#include "index.h"

enum writer_format { FMT_PCAP = 0, FMT_JSON, FMT_PLIST, FMT_TREE, FMT_NONE, FMT_PCAPNG, FMT_COUNT };

struct writer_config {
	int format;              /* enum writer_format */
	int big;                 /* big-endian pcap files */
	int nanosecond;          /* nanosecond pcap timestamps and labels */
	const char *layout;      /* strftime(3) pattern on the flow's start; "" = flat (copied) */
	unsigned max_open_files; /* descriptor budget */
	size_t flow_buffer;      /* one flow's buffer is written out at this size */
	size_t buffer_total;     /* all buffers; beyond it the oldest is written out */
	uint64_t flush_ns;       /* a buffer is written within this time; 0 = no time bound */
	int threaded;            /* the file system work on a thread of its own (filer.c) */
};

struct writer_stats {
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
	uint64_t buffered;      /* bytes of buffer memory now (capacity, >= what they hold) */
};

struct writer;

/*
 * Files go to the folder outdirfd (outdir names it in messages); .active/
 * is made in it. What the writer and its filer read of cfg is copied.
 * NULL and *cause on failure.
 */
struct writer *writer_new(
    int outdirfd, const char *outdir, const struct writer_config *cfg, char **cause);
/* Finish what is queued and close everything. Active flows must be finished first. */
void writer_free(struct writer *w);

/* Where finished flows' index lines go; they are appended after the file is in place. */
void writer_set_index(struct writer *w, struct flow_index *idx);

/*
 * Append one packet of flow f. linktype, snaplen and ifname (may be NULL)
 * describe its source; the first packet's go into the file's header.
 */
void writer_packet(struct writer *w, struct flow *f, const struct packet *pkt, const uint8_t *data,
    uint32_t linktype, uint32_t snaplen, const char *ifname, uint64_t now);

/*
 * Complete the flow's current file: its last records, close, rename into
 * place; then rec (the index line's record, may be NULL: no line) gets the
 * file's side (label suffix, fpout, written, truncated) and is appended to
 * the index. All of it happens in order on the filer's side; rec (malloc'd)
 * passes to the writer and comes back through writer_poll, which frees it.
 * ended is 0 for a full segment of a flow that goes on.
 */
void writer_finish_entry(struct writer *w, struct flow *f, struct index_record *rec, int ended);

/*
 * The same without an index line, waiting for the file to be in place:
 * returns its path relative to the output folder (valid until the next
 * call), or NULL when the format writes no files or the file was lost.
 */
const char *writer_finish(struct writer *w, struct flow *f);

/* Wait until everything handed over so far is on disk and indexed. */
void writer_sync(struct writer *w);

/* End of a batch of packets: what waits for the file writer thread goes to it. */
void writer_batch_end(struct writer *w);

/* What became of finished flows, in order; valid during the callback. */
struct writer_done {
	struct flow_key key;
	uint8_t init;
	int ended;
	const struct index_record *rec; /* the index line, but for its "index" member */
	const char *frames;             /* that member: the frame numbers as a JSON array text */
};
typedef void (*writer_done_cb)(const struct writer_done *d, void *arg);
/* Where they go: cb is called from writer_poll, and from any writer call that waits for the disk.
 */
void writer_set_done(struct writer *w, writer_done_cb cb, void *arg);
void writer_poll(struct writer *w);

/* Readable when writer_poll has something; -1 without a filer thread. */
int writer_event_fd(const struct writer *w);

/*
 * New limits (reload): descriptor budget, buffer sizes, flush interval.
 * Format, byte order, precision and layout stay as they were: files in
 * progress must not change shape halfway.
 */
void writer_setlimits(struct writer *w, const struct writer_config *cfg);

/* Write out buffers older than the flush interval. */
void writer_tick(struct writer *w, uint64_t now);

/* Write out every buffer (the files stay open and active). */
void writer_flush_all(struct writer *w);

const struct writer_stats *writer_stats(struct writer *w);

/*
 * The name of the flow's current file in a given format (its label, the
 * segment, the extension): in .active/ while the flow lives, then in place.
 */
void writer_file_name(int format, int nanosecond, const struct flow *f, char *buf, size_t len);

/* The same from its parts: label[-suffix][.segN].ext (suffix and seg_no 0: none). */
void writer_compose_name(
    char *buf, size_t len, const char *label, unsigned suffix, unsigned seg_no, int format);

/* Format names: "pcap", "json", "plist", "tree", "none", "pcapng" (and pcapkit's aliases). */
int writer_format_parse(const char *name);
const char *writer_format_name(int format);
const char *writer_format_list(void);

#endif
