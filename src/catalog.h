/*
 * catalog.h: the catalog of the spool, one SQLite database with a row per
 * filed file, so that retention finds the oldest files and the spool's
 * usage is read without walking millions of files. The filer thread owns
 * the writing connection and changes rows in batches (one transaction
 * each); query tools in other processes open it read-only.
 *
 * The database is <spool>/.catalog/catalog.db, in a folder of its own
 * (mode 0700, the running user's) that is checked before SQLite, which
 * opens by path, is let near it (catalog.c says why that is safe).
 *
 * A struct catalog is one connection and is not thread-safe: one thread
 * uses it at a time (the filer's, for the daemon's). Errors are -1 (NULL
 * for pointers) with the message in catalog_error(); runtime failures are
 * also logged. Nothing here aborts on a database error.
 */
#ifndef TRACEFLOW_CATALOG_H
#define TRACEFLOW_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "catalogfs.h" /* CATALOG_DIR, CATALOG_DB */

#define CATALOG_VERSION 3 /* PRAGMA user_version; a newer one is refused, an older one upgraded */
/*
 * A database file is trusted no more than needed (SQLite's defensive mode,
 * no schema from it is trusted); WAL once for the file, where the file
 * system refuses WAL the rollback journal (logged: readers then hold the
 * writer up). The writer's page cache, 32 MiB: with SQLite's 2 MiB, rows inserted by
 * address missed it once per index and row (a split of a million flows
 * took 5 times as long as without the catalog).
 */
#define CATALOG_CACHE_PRAGMA "PRAGMA cache_size = -32768"
/*
 * A reader's, 8 MiB: a query of four hosts over an hour on 10 M rows read
 * 2,342 pages with SQLite's 2 MiB (the index pages of each "or" evicted by
 * the rows' pages) and 653 with this.
 */
#define CATALOG_READ_CACHE_PRAGMA "PRAGMA cache_size = -8192"
/*
 * Statement journals (each insert's, a few pages) in memory: in a file
 * they were some 29 writes a flow to /var/tmp, a second disk's worth of
 * work that ProtectSystem may not even allow.
 */
#define CATALOG_TEMP_PRAGMA "PRAGMA temp_store = MEMORY"

/*
 * One filed file. Strings may be NULL but fpout (the path relative to the
 * spool, unique) and part (its partition folder). size is the file's size
 * on disk: what usage and the partitions add up. Times in ns since the
 * epoch, as the index has them; every number is stored as SQLite's signed
 * 64-bit integer (a uint64_t over INT64_MAX comes back the same, but
 * sorts as negative). id is set by reads, ignored by catalog_add.
 */
struct catalog_row {
	const char *fpout, *part, *label, *src, *dst, *iface, *vlan;
	uint16_t srcport, dstport;
	uint64_t first_ns, last_ns, packets, bytes, written, size;
	const char *reason;
	uint8_t partial, truncated, recovered;
	uint32_t segment;
	int64_t id;
	/*
	 * A probe (catalog_add_probe, catalog_select_flows): its records are
	 * length bytes at offset in the shared capture fpout (NULL: counted,
	 * not kept). Its id is negative in a select of flows.
	 */
	uint8_t probe;
	uint64_t offset, length;
};

struct catalog_usage {
	uint64_t files, bytes;   /* bytes: the sum of size */
	uint64_t oldest_last_ns; /* 0 for each when there is no file */
	uint64_t newest_last_ns;
	uint64_t oldest_first_ns;
};

struct catalog;
struct sqlite3;

/*
 * Open the catalog of the spool spoolfd holds (spoolpath names it in
 * messages). A writer must own the catalog's folder and files; a reader
 * (readonly) may be their owner, root or a member of the spool's group
 * (the folder is 0750 and its files 0640: catalogfs.h). Made if missing,
 * unless readonly: then a missing catalog, or one not yet given its
 * tables, is an error and neither the folder nor the database is made.
 * Refused, NULL and *cause naming what and why: CATALOG_DIR a symbolic
 * link or not a folder, not owned as above, or writable by group or
 * others; CATALOG_DB or its -wal, -shm or -journal there but not a
 * regular file of the folder's owner with one name; a file that is not
 * SQLite, or whose user_version is newer than CATALOG_VERSION (left as it
 * is). A writer sets WAL mode and synchronous=NORMAL (a crash loses no
 * committed batch, a power cut may lose the last ones) and keeps the -wal
 * and -shm when it closes, so that readers who may not make them can read
 * a stopped daemon's catalog; every connection waits up to 5 s for a lock.
 */
struct catalog *catalog_open(int spoolfd, const char *spoolpath, int readonly, char **cause);

/*
 * Bring a writer's catalog of an older version to CATALOG_VERSION, in one
 * transaction (version 1: its host indexes rebuilt, about 5 s per million
 * files on ext4, once). before, if not NULL, is told first (the path and
 * the files): the daemon tells systemd to wait. 1 upgraded, 0 nothing to
 * do, -1 error (catalog_error; the catalog is as it was). A reader reads
 * an older catalog as it is.
 */
int catalog_upgrade(struct catalog *cat, void (*before)(const char *path, uint64_t files));

/*
 * A catalog of no spool: a private database (a temporary file, deleted at
 * close) with the same tables, for reading an index.jsonl with the same
 * queries where a folder has no catalog. NULL and *cause on failure.
 */
struct catalog *catalog_open_temp(char **cause);

/* Close it; a batch still open is rolled back. NULL is ignored. */
void catalog_close(struct catalog *cat);

/*
 * A batch: catalog_add and catalog_delete between catalog_begin and
 * catalog_commit are one transaction (BEGIN IMMEDIATE: the writer's lock
 * from the start), seen by readers whole or not at all, and after a crash
 * all or none of it. -1 if a batch is already open or the lock could not
 * be had.
 */
int catalog_begin(struct catalog *cat);

/*
 * Commit the batch. -1 on failure (a full disk), logged: the batch is
 * rolled back, nothing of it stays, and the caller keeps its rows to try
 * again.
 */
int catalog_commit(struct catalog *cat);

/* Give the batch up (nothing if none is open). */
void catalog_rollback(struct catalog *cat);

/*
 * Add the row, in a batch. An fpout already there is replaced: its row
 * goes (its sums with it) and the new one comes with a new id, as if added
 * now (recovery may add a file again). -1 without a batch or without
 * fpout or part (the batch is kept); -1 on a database failure, logged,
 * and the whole batch is then rolled back, as catalog_commit's failure.
 */
int catalog_add(struct catalog *cat, const struct catalog_row *row);

/*
 * Add a probe's row (catalog.h: probes), in a batch: fpout is its shared
 * capture's final path (its file's row comes when it is filed) or NULL; -1
 * as catalog_add.
 */
int catalog_add_probe(struct catalog *cat, const struct catalog_row *row);
/* The probes of the shared capture from were filed as to (its name was taken), in a batch. */
int catalog_probes_moved(struct catalog *cat, const char *from, const char *to);

/*
 * Delete the row with this id, or the one of this fpout, in a batch: 1,
 * or 0 when there was none; -1 as catalog_add (the batch rolled back on a
 * database failure).
 */
int catalog_delete(struct catalog *cat, int64_t id);
int catalog_delete_fpout(struct catalog *cat, const char *fpout);

/* Is fpout in the catalog (this connection's view, its batch included)? 1, 0 or -1. */
int catalog_has(struct catalog *cat, const char *fpout);

/*
 * Call fn for the n oldest rows, by last_ns then id (the order they were
 * added), an index walk. fn returns nonzero to stop the walk. The row's
 * strings are valid only during the call. fn may catalog_delete the row
 * it is given (in a batch: retention's loop), but not start another walk
 * or query. Returns the number of rows fn was called for (the one that
 * stopped the walk counted), or -1.
 */
int catalog_oldest(
    struct catalog *cat, size_t n, int (*fn)(const struct catalog_row *row, void *arg), void *arg);

/*
 * The same for the n rows after id after, in id order (the order they
 * were added): the reconcile's walk, a slice at a time.
 */
int catalog_scan(struct catalog *cat, int64_t after, size_t n,
    int (*fn)(const struct catalog_row *row, void *arg), void *arg);

/*
 * Files, bytes and the ends of time, from the running sums and the ends
 * of the indexes: O(log n), never a pass over the files. 0 or -1.
 */
int catalog_usage(struct catalog *cat, struct catalog_usage *u);

/* The same figures counted from every row (for tests and a background check). 0 or -1. */
int catalog_recount(struct catalog *cat, struct catalog_usage *u);

/*
 * Call fn for each partition that holds files (a partition whose last
 * file went is gone), the one whose files ended first first (ties by
 * name): its files, their bytes (size), their earliest first_ns and latest
 * last_ns. fn returns nonzero to stop. Returns how many fn was called for,
 * or -1; fn may not use the catalog.
 */
int catalog_parts(struct catalog *cat,
    int (*fn)(const char *name, uint64_t files, uint64_t bytes, uint64_t first_ns, uint64_t last_ns,
        void *arg),
    void *arg);

/* How many files the partition holds (0 for one the catalog does not know). 0 or -1. */
int catalog_part_files(struct catalog *cat, const char *part, uint64_t *files);

/*
 * Call fn for each row of "SELECT CATALOG_COLUMNS FROM files WHERE where
 * tail" (tail: ORDER BY and LIMIT, or ""), as catalog_oldest calls it; the
 * caller built where and tail from trusted parts (qexpr_sql quotes what
 * users wrote). Returns the rows fn was called for, or -1 (catalog_error).
 */
int catalog_select(struct catalog *cat, const char *where, const char *tail,
    int (*fn)(const struct catalog_row *row, void *arg), void *arg);

/*
 * The flows: files' rows but shared captures, and the probes' rows
 * (offset and length set), where where holds for each, then tail; with
 * newest, the newest that many by first_ns, in tail's order. A version 2
 * catalog has files only. The rows fn was called for, or -1.
 */
int catalog_select_flows(struct catalog *cat, const char *where, const char *tail, uint64_t newest,
    int (*fn)(const struct catalog_row *row, void *arg), void *arg);

/* The connection, for adding SQL functions (qexpr_register) to a query tool's catalog. */
struct sqlite3 *catalog_handle(struct catalog *cat);

/* A statement's row of CATALOG_COLUMNS (and offset, length after them, if there) into r. */
struct sqlite3_stmt;
void catalog_read_row(struct sqlite3_stmt *st, struct catalog_row *r);

/* The failure of what, with SQLite's message, as catalog_error() gives it: -1. */
int catalog_fail(struct catalog *cat, const char *what);

/* The catalog's version (PRAGMA user_version), or -1. */
int catalog_version(struct catalog *cat);

/* The last failure's message (SQLite's or ours); "" if none. Valid until the next call. */
const char *catalog_error(struct catalog *cat);

/*
 * The plan SQLite would use for a SELECT (no trailing ';' needed): the
 * detail lines of EXPLAIN QUERY PLAN joined with '\n', malloc'd; NULL if
 * it does not compile (catalog_error says why). Parameters may be left
 * unbound. For the tests and the query tool.
 */
char *catalog_explain(struct catalog *cat, const char *select_sql);

/*
 * The tables, version 2 (CATALOG_VERSION, set last), for those who query
 * them (catalog_explain, the query tool). files: a row per filed file,
 * the fields of struct catalog_row. parts: per partition, its files,
 * their bytes (size), the earliest first_ns and latest last_ns; a
 * partition whose last file goes is deleted. totals: one row, files and
 * bytes. Every index ends in the rowid (id), so files_last orders by
 * (last_ns, id). A flow overlaps [T1, T2] when first_ns <= T2 AND
 * last_ns >= T1: files_last serves it from T1 on.
 *
 * parts and totals are kept by triggers on files, not by statements in
 * catalog.c: a row and its sums change in the same statement, so in the
 * same transaction (a rollback or a crash undoes both), and no way of
 * changing files can forget them: ours, a future one, or someone deleting
 * rows by hand with sqlite3. Rows are never updated (a trigger refuses
 * it); catalog_add replaces an fpout by a delete and an insert, because
 * the delete that INSERT OR REPLACE makes fires no trigger unless
 * recursive_triggers is on, a setting of each connection (so do not
 * INSERT OR REPLACE by hand). A partition's first_ns and last_ns are
 * recomputed on a delete only when the row held them, from the
 * (part, first_ns) and (part, last_ns) indexes: O(log n).
 */
#define CATALOG_SCHEMA                                                                             \
	"CREATE TABLE files ("                                                                     \
	" id INTEGER PRIMARY KEY, fpout TEXT UNIQUE NOT NULL, part TEXT NOT NULL, label TEXT,"     \
	" src TEXT, dst TEXT, srcport INT, dstport INT, vlan TEXT, iface TEXT,"                    \
	" first_ns INT, last_ns INT, packets INT, bytes INT, written INT, size INT,"               \
	" reason TEXT, partial INT, truncated INT, recovered INT, segment INT);"                   \
	"CREATE INDEX files_last ON files (last_ns);"                                              \
	"CREATE INDEX files_part_first ON files (part, first_ns);"                                 \
	"CREATE INDEX files_part_last ON files (part, last_ns);" CATALOG_HOST_INDEXES              \
	"CREATE INDEX files_srcport ON files (srcport);"                                           \
	"CREATE INDEX files_dstport ON files (dstport);"                                           \
	"CREATE TABLE parts (name TEXT PRIMARY KEY, files INT NOT NULL, bytes INT NOT NULL,"       \
	" first_ns INT, last_ns INT);"                                                             \
	"CREATE INDEX parts_last ON parts (last_ns, name);"                                        \
	"CREATE INDEX parts_first ON parts (first_ns);"                                            \
	"CREATE TABLE totals (one INTEGER PRIMARY KEY CHECK (one = 1), files INT NOT NULL,"        \
	" bytes INT NOT NULL);"                                                                    \
	"INSERT INTO totals VALUES (1, 0, 0);"                                                     \
	"CREATE TRIGGER files_insert AFTER INSERT ON files BEGIN"                                  \
	" INSERT INTO parts VALUES (new.part, 1, new.size, new.first_ns, new.last_ns)"             \
	"  ON CONFLICT (name) DO UPDATE SET files = files + 1, bytes = bytes + excluded.bytes,"    \
	"  first_ns = min(first_ns, excluded.first_ns), last_ns = max(last_ns, excluded.last_ns);" \
	" UPDATE totals SET files = files + 1, bytes = bytes + new.size;"                          \
	"END;"                                                                                     \
	"CREATE TRIGGER files_update BEFORE UPDATE ON files BEGIN"                                 \
	" SELECT RAISE(ABORT, 'catalog rows are replaced (deleted, added), never updated');"       \
	"END;" CATALOG_PROBES "PRAGMA user_version = 3;"

/*
 * What deleting a file's row does to the sums (parts, totals): the body of
 * files_delete in every version (CATALOG_PROBES adds the probes' part).
 */
#define CATALOG_DELETE_SUMS                                                    \
	" UPDATE parts SET files = files - 1, bytes = bytes - old.size,"       \
	"  first_ns = CASE WHEN first_ns < old.first_ns THEN first_ns"         \
	"   ELSE (SELECT min(first_ns) FROM files WHERE part = old.part) END," \
	"  last_ns = CASE WHEN last_ns > old.last_ns THEN last_ns"             \
	"   ELSE (SELECT max(last_ns) FROM files WHERE part = old.part) END"   \
	"  WHERE name = old.part;"                                             \
	" DELETE FROM parts WHERE name = old.part AND files <= 0;"             \
	" UPDATE totals SET files = files - 1, bytes = bytes - old.size;"

/*
 * Version 3: probes, a row per connection nothing answered (or only an
 * RST) that was filed in a shared capture (unanswered = "shared": fpout
 * that capture, offset and length where its records lie in it) or only
 * counted (unanswered = "count": fpout NULL). The shared capture has its
 * row in files like any file, reason CATALOG_SHARED (not a flow: queries
 * of flows pass it over); deleting it deletes its probes, and a partition
 * that goes takes its counted probes with it, in the same trigger (one
 * trigger: SQLite orders two of one event as it likes).
 */
#define CATALOG_SHARED "shared"
#define CATALOG_PROBES                                                                \
	"CREATE TABLE probes ("                                                       \
	" id INTEGER PRIMARY KEY, fpout TEXT, part TEXT NOT NULL, label TEXT,"        \
	" src TEXT, dst TEXT, srcport INT, dstport INT, vlan TEXT, iface TEXT,"       \
	" first_ns INT, last_ns INT, packets INT, bytes INT, written INT,"            \
	" reason TEXT, partial INT, truncated INT, offset INT, length INT);"          \
	"CREATE INDEX probes_fpout ON probes (fpout, part);"                          \
	"CREATE INDEX probes_last ON probes (last_ns);"                               \
	"CREATE INDEX probes_src ON probes (src, last_ns);"                           \
	"CREATE INDEX probes_dst ON probes (dst, last_ns);"                           \
	"CREATE TRIGGER files_delete AFTER DELETE ON files BEGIN" CATALOG_DELETE_SUMS \
	" DELETE FROM probes WHERE fpout = old.fpout AND part = old.part;"            \
	" DELETE FROM probes WHERE fpout IS NULL AND part = old.part"                 \
	"  AND NOT EXISTS (SELECT 1 FROM parts WHERE name = old.part);"               \
	"END;"
#define CATALOG_UPGRADE_2 "DROP TRIGGER files_delete;" CATALOG_PROBES "PRAGMA user_version = 3;"

/*
 * A host's flows by time: the question asked most ("host X ... after T"),
 * served from T on, not from the host's first flow in the spool (version
 * 1 had (src, srcport) and (dst, dstport): a host and port over an hour
 * read every flow of the port). Version 1 catalogs are upgraded by their
 * writer (catalog_upgrade, CATALOG_UPGRADE_1: one transaction).
 */
#define CATALOG_HOST_INDEXES                              \
	"CREATE INDEX files_src ON files (src, last_ns);" \
	"CREATE INDEX files_dst ON files (dst, last_ns);"
#define CATALOG_UPGRADE_1       \
	"DROP INDEX files_src;" \
	"DROP INDEX files_dst;" CATALOG_HOST_INDEXES "PRAGMA user_version = 2;"
/* Versions 1 and 2's trigger, for the tests that make such a catalog. */
#define CATALOG_FILES_DELETE_2 \
	"CREATE TRIGGER files_delete AFTER DELETE ON files BEGIN" CATALOG_DELETE_SUMS "END;"

/*
 * The reads this module makes whose plans matter, spelled here so that
 * the tests explain the very statements the module runs.
 */
#define CATALOG_COLUMNS                                                                        \
	"id, fpout, part, label, src, dst, iface, vlan, srcport, dstport, first_ns, last_ns, " \
	"packets, bytes, written, size, reason, partial, truncated, recovered, segment"
#define CATALOG_SQL_FLOWS                                                                      \
	"SELECT " CATALOG_COLUMNS ", NULL AS offset, NULL AS length FROM files"                \
	" WHERE (%s) AND reason IS NOT '" CATALOG_SHARED "' UNION ALL"                         \
	" SELECT -id, fpout, part, label, src, dst, iface, vlan, srcport, dstport, first_ns,"  \
	" last_ns, packets, bytes, written, length, reason, partial, truncated, 0, 0, offset," \
	" length FROM probes WHERE (%s)"
#define CATALOG_SQL_OLDEST "SELECT " CATALOG_COLUMNS " FROM files ORDER BY last_ns, id LIMIT ?1"
#define CATALOG_SQL_SCAN   "SELECT " CATALOG_COLUMNS " FROM files WHERE id > ?2 ORDER BY id LIMIT ?1"
#define CATALOG_SQL_USAGE                                                                          \
	"SELECT files, bytes, (SELECT min(last_ns) FROM files), (SELECT max(last_ns) FROM files)," \
	" (SELECT min(first_ns) FROM parts) FROM totals"

#endif
