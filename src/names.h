/*
 * names.h: every name traceflow gives on disk, in one place: the folder
 * files grow in, the index, the output formats and their extensions, a
 * flow's file name (label[-N][.segN].ext), the dated folder of its layout,
 * and the test of whether a name is one of ours (for retention and
 * recovery, which must never touch anything else).
 */
#ifndef TRACEFLOW_NAMES_H
#define TRACEFLOW_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"

#define NAMES_ACTIVE    ".active"          /* files grow here, in the output folder */
#define NAMES_INDEX     "index.jsonl"      /* the index of finished flows */
#define NAMES_INDEX_NEW ".index.jsonl.new" /* a pruned index on its way to the name */

/*
 * Where an unanswered or refused connection's packets go (unanswered =):
 * a capture shared by them all per partition, a file each, or nowhere
 * (a catalog row and the counters).
 */
/* The shared capture's name begins so (shared.c): retention and people see what it is. */
#define SHARED_PREFIX "unanswered-"

enum unanswered_mode { UNANSWERED_SHARED = 0, UNANSWERED_OWN_FILE, UNANSWERED_COUNT };

enum writer_format { FMT_PCAP = 0, FMT_JSON, FMT_PLIST, FMT_TREE, FMT_NONE, FMT_PCAPNG, FMT_COUNT };

/*
 * The formats' extensions: ".pcap", ... ("" for none). Their names are the
 * format setting's words (config.c).
 */
const char *names_format_ext(int format);

/* A file name from its parts: label[-suffix][.segN].ext (suffix and seg_no 0: none). */
void names_compose(
    char *buf, size_t len, const char *label, unsigned suffix, unsigned seg_no, int format);

/* The name of the flow's current file (its label, the segment, the extension). */
void names_flow_file(int format, int nanosecond, const struct flow *f, char *buf, size_t len);

/*
 * The dated folder, relative to the output folder, of a flow that started
 * at first_ns: strftime(layout) in local time; "" for a flat layout or a
 * result that would leave the folder or reach into .active/ or the index.
 */
void names_dated_dir(const char *layout, uint64_t first_ns, char *buf, size_t len);

/*
 * The partition of the spool a flow that ended at last_ns is filed in: the
 * hour of its end in UTC ("2026-12-06T10"; UTC, so that no hour comes
 * twice in autumn), and after split n > 0 of that hour ("...T10.0001"),
 * once a partition holds its bound of files. Names sort by time.
 */
void names_partition(uint64_t last_ns, unsigned split, char *buf, size_t len);
#define NAMES_PARTITION_MAX 32
/* Whether name is a partition's: YYYY-MM-DDTHH[.N]. */
int names_is_partition(const char *name);

/*
 * Whether name is a finished file of ours: label[-N][.segN][-rN].ext
 * (-rN: renamed by recovery), the label being src_port-dst_port-seconds.frac
 * with addresses in digits, hex and dots.
 */
int names_is_flow_file(const char *name);

/* "label[.segN].ext" -> "label" (malloc'd). */
char *names_label_of(const char *name);

#endif
