/*
 * index.h: the index of finished flows, pcapkit's `index` grown up: one
 * JSON object per line in <output>/index.jsonl, appended when a flow (or a
 * segment of a long one) is complete, so that anyone tailing it sees only
 * files that are in place.
 */
#ifndef TRACEFLOW_INDEX_H
#define TRACEFLOW_INDEX_H

#include <jansson.h>

#include "flow.h"
#include "label.h"
#include "record.h"

struct flow_index;

/*
 * Open (append to) index.jsonl in the folder dirfd (dirpath names it in
 * messages), never through a link nor a file another user owns; a torn
 * last line is cut. NULL and *cause on failure.
 */
struct flow_index *index_open(int dirfd, const char *dirpath, char **cause);
void index_close(struct flow_index *idx);

/*
 * Open index.jsonl again by name (SIGHUP, after logrotate moved it): the
 * lines from now on, those waiting included, go to the file the name holds
 * (made if missing), never to the moved one. A link or a foreign file
 * there is refused and logged once; lines then wait in memory (pending,
 * then lost, as on a full disk) and the name is tried again at each flush.
 * 0, or -1 when refused.
 */
int index_reopen(struct flow_index *idx);

/*
 * Drop the lines whose "fpout" names a file that is gone: one of
 * gone[0..n-1] (relative to the index's folder, as fpout is: what
 * retention deleted), or with missing any file that does not exist (a
 * crash between a deletion and its prune, files removed by hand, an index
 * from before pruning). The index is rewritten (a new file renamed over
 * the name) only when a line goes; waiting lines are pruned too. A moved
 * index is reopened first. On failure (a full disk) the prune is kept for
 * index_retry: -1.
 */
int index_prune(struct flow_index *idx, char *const *gone, size_t n, int missing);

/* Lines waiting, or a prune to do again: index_retry (about once a second) should run. */
int index_wants_retry(const struct flow_index *idx);
/* Flush the waiting lines and do a prune left to do; index_wants_retry after it. */
int index_retry(struct flow_index *idx);

/* Append the record's line, "index": frames (a JSON array text) last; as index_append. */
int index_append_record(struct flow_index *idx, const struct index_record *r, const char *frames);

/*
 * Append one entry as a line. Lines collect in memory and reach the file
 * whole, in one write per batch; -1 if the line had to be dropped (the
 * disk refused lines for so long that too many are waiting: counted).
 */
int index_append(struct flow_index *idx, json_t *entry);

/* Its line: the same keys as any other, unknown ones null, "recovered": true. */
int index_append_recovered(struct flow_index *idx, const struct index_recovered *r);

/*
 * Write the waiting lines to the file (at the end of a batch). On failure
 * (a full disk) a line cut short is cut back out of the file and every
 * line is kept for the next call: -1, logged once per episode.
 */
int index_flush(struct flow_index *idx);

/* Lines waiting, lines dropped, failed writes. */
void index_stats(const struct flow_index *idx, uint64_t *pending, uint64_t *lost, uint64_t *errors);

#endif
