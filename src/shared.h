/*
 * shared.h: the shared capture of unanswered connections (unanswered =
 * "shared"). A connection nothing answered, or that an RST refused, gets
 * no file of its own: its records are appended to one pcap file per
 * partition, unanswered-<first probe's time>.pcap, grown under .active/
 * like any file and filed at SHARED_MAX_BYTES, at unanswered_rotate, when
 * the partition's hour or the link type changes, and at the end. Each
 * probe keeps its index line and a row in the catalog's probes table
 * saying where its records lie in the capture (offset, length), so that
 * list, query and query -w find it as they find a flow with a file.
 *
 * Its lines and rows name the capture's final path from the start: a
 * probe is findable as soon as it ends, its packets once the capture is
 * filed. Runs on the filer's thread.
 */
#ifndef TRACEFLOW_SHARED_H
#define TRACEFLOW_SHARED_H

#include <stdint.h>
#include <sys/uio.h>

#include "files.h"
#include "record.h"
#include "spoolcat.h"

/*
 * 64 MiB: some 900,000 probes of one packet, fewer than one file per
 * 10,000 probes even with the partition's hour changing; and a query -w
 * of one probe reads only its own bytes, whatever the capture's size.
 */
#define SHARED_MAX_BYTES (64ull << 20)

struct shared;

/* The capture on fs's side, rows in cat (NULL: none), filed at max_bytes. */
struct shared *shared_new(struct files *fs, struct spoolcat *cat, uint64_t max_bytes);
/* File the capture being written, and free. */
void shared_free(struct shared *sh);

/*
 * Append one probe's nrec records (len bytes in iov[0..n-1]) to the
 * capture of its partition, made if need be, and set r's file side:
 * fpout, offset, length, written, truncated.
 */
void shared_add(struct shared *sh, const struct iovec *iov, int n, size_t len, uint64_t nrec,
    uint32_t linktype, uint32_t snaplen, struct index_record *r);

/* File the capture being written now. */
void shared_rotate(struct shared *sh);
/*
 * The writer's age bound: file the capture unless it is younger than the
 * probe of time since (ns; 0: any), i.e. unless another worker's writer
 * had it filed after that probe: with N workers, one capture per
 * unanswered_rotate, not N.
 */
void shared_rotate_since(struct shared *sh, uint64_t since);
/* The time of the capture being written (its first probe's), 0 if none. */
uint64_t shared_first(const struct shared *sh);

#endif
