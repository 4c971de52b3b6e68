/*
 * parts.h: the indexes of a partitioned spool's partitions (names.h for
 * the partitions themselves): PART/index.jsonl holds the lines of the
 * files in PART, follows retention (a partition that loses some files has
 * its own index rewritten; one that loses its last goes whole, index and
 * folder) and is never the spool's index.jsonl. On the filer's thread.
 */
#ifndef TRACEFLOW_PARTS_H
#define TRACEFLOW_PARTS_H

#include <stddef.h>

#include "record.h"

struct catalog;
struct parts;

/* The partitions of the spool spoolfd holds (borrowed: it must outlive them); path for messages. */
struct parts *parts_new(int spoolfd, const char *path);
/* Write out what waits and close every index. NULL is ignored. */
void parts_free(struct parts *p);

/* The partition a path under the spool is in ("" for none), into part. */
void parts_of(const char *rel, char *part, size_t len);

/* The line of a file filed in partition part, into its index (made with the partition). */
void parts_append(
    struct parts *p, const char *part, const struct index_record *r, const char *frames);
/* The indexes' waiting lines to their files (NULL: a flat spool, nothing). */
void parts_flush(struct parts *p);

/*
 * The indexes follow the files gone[0..n-1] (sorted here): a partition
 * the catalog says holds none any more goes whole; another has its index
 * pruned of their lines.
 */
void parts_follow(struct parts *p, struct catalog *cat, char **gone, size_t n);

#endif
