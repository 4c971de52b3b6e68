/*
 * spool.h: the spool folder around the engine: recovery of files that a
 * crash left in .active/, and retention (the oldest finished files go
 * first when the spool is too big or too old; active files never).
 */
#ifndef TRACEFLOW_SPOOL_H
#define TRACEFLOW_SPOOL_H

#include <stdint.h>
#include <sys/types.h>

struct spool_usage {
	uint64_t files;
	uint64_t bytes;
	uint64_t deleted;       /* by this pass */
	uint64_t deleted_bytes; /* by this pass */
};

/*
 * mkdir -p: the folder and its missing parents (parents 0755, the folder
 * itself mode). -1 with errno set if one could not be made.
 */
int spool_mkdir(const char *path, mode_t mode);

/*
 * Move every file left in <spool>/.active/ into <spool>/, cut to its last
 * whole pcap record, and index it with reason "recovered". Returns how many.
 */
int spool_recover(const char *spool);

/*
 * Delete finished files, oldest first, while the spool holds more than
 * max_bytes or while the oldest is older than max_age_ns (0 = no bound).
 * Each deletion is logged. usage receives what is left.
 */
void spool_retention(const char *spool, uint64_t max_bytes, uint64_t max_age_ns, uint64_t now_ns,
    struct spool_usage *usage);

#endif
