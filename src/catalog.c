/*
 * catalog.c: the spool's catalog in SQLite (see catalog.h): one row per
 * filed file, running sums per partition and in total, read by retention
 * and usage in O(log n).
 *
 * Opening by path. The house rule is that file work in the spool goes
 * through directory descriptors, because other users and the daemon user
 * itself may plant links there; SQLite opens its database, and its -wal,
 * -shm and -journal beside it, by path. That is acceptable here because
 * every name SQLite resolves lies in CATALOG_DIR, a folder checked through
 * the spool's descriptor (opened O_NOFOLLOW, a folder, writable by its
 * owner alone, the running user for the writer: catalogfs.c): only that
 * owner or root can put a link, or anything else, in it, and either could
 * as well write the database itself. What is left is closed on top of that:
 *  - before SQLite is called, the four names it may use are checked
 *    (fstatat, no following): absent, or a regular file of the folder's
 *    owner with no other name (a hard link would have SQLite write into
 *    another file);
 *  - the database file is made there (openat O_EXCL|O_NOFOLLOW), so
 *    SQLite never creates it, and the -wal and -shm it makes take its mode;
 *  - the path SQLite gets is the kernel's name of the verified folder
 *    (/proc/self/fd), checked to lead to it, not the spool's path as given:
 *    links above the spool (/var/run -> /run), which spool_open accepts,
 *    are resolved, so that SQLITE_OPEN_NOFOLLOW can be used, which has
 *    SQLite refuse a path with a link anywhere in it (SQLITE_CANTOPEN_SYMLINK:
 *    unixFullPathname lstat()s each component);
 *  - SQLite 3.40's unix VFS opens every file of a database with O_NOFOLLOW:
 *    unixOpen adds it to the flags of the database, the journals and the
 *    WAL alike, and unixOpenSharedMemory opens -shm with
 *    O_RDWR|O_CREAT|O_NOFOLLOW (read in os_unix.c; strace on Debian's
 *    3.40.1 shows O_NOFOLLOW on the openat of catalog.db, -wal and -shm).
 * Left open: a name swapped between these checks and SQLite's open, which
 * again only the running user or root can do.
 *
 * The running sums are kept by triggers: catalog.h, above CATALOG_SCHEMA,
 * says why.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "catalog.h"
#include "log.h"
#include "xmalloc.h"

#define CATALOG_BUSY_MS 5000 /* readers in other processes, a checkpoint */

/* The statements kept prepared: their ids and their text, in one table. */
#define CATALOG_STATEMENTS                                                                     \
	X(S_BEGIN, "BEGIN IMMEDIATE")                                                          \
	X(S_COMMIT, "COMMIT")                                                                  \
	X(S_ROLLBACK, "ROLLBACK")                                                              \
	X(S_INSERT, /* CATALOG_COLUMNS' order without id: ?N is column N of a read */          \
	    "INSERT INTO files (fpout, part, label, src, dst, iface, vlan, srcport, dstport,"  \
	    " first_ns, last_ns, packets, bytes, written, size, reason, partial, truncated,"   \
	    " recovered, segment) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"  \
	    " ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)")                                        \
	X(S_PROBE, /* the same ?1 to ?14, then the probe's own */                              \
	    "INSERT INTO probes (fpout, part, label, src, dst, iface, vlan, srcport, dstport," \
	    " first_ns, last_ns, packets, bytes, written, reason, partial, truncated, offset," \
	    " length) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"    \
	    " ?15, ?16, ?17, ?18, ?19)")                                                       \
	X(S_PROBES_MOVED, "UPDATE probes SET fpout = ?2 WHERE fpout = ?1")                     \
	X(S_DELETE_ID, "DELETE FROM files WHERE id = ?1")                                      \
	X(S_DELETE_FPOUT, "DELETE FROM files WHERE fpout = ?1")                                \
	X(S_HAS, "SELECT 1 FROM files WHERE fpout = ?1")                                       \
	X(S_OLDEST, CATALOG_SQL_OLDEST)                                                        \
	X(S_SCAN, CATALOG_SQL_SCAN)                                                            \
	X(S_USAGE, CATALOG_SQL_USAGE)                                                          \
	X(S_RECOUNT, "SELECT count(*), coalesce(sum(size), 0), min(last_ns), max(last_ns),"    \
	             " min(first_ns) FROM files")                                              \
	X(S_PARTS,                                                                             \
	    "SELECT name, files, bytes, first_ns, last_ns FROM parts ORDER BY last_ns, name")  \
	X(S_PART_FILES, "SELECT files FROM parts WHERE name = ?1")

#define X(id, sql) id,
enum { CATALOG_STATEMENTS S_COUNT };
#undef X
#define X(id, sql) [id] = sql,
static const char *const catalog_sql[S_COUNT] = {CATALOG_STATEMENTS};
#undef X

struct catalog {
	sqlite3 *db;
	int readonly;
	char *path; /* <spool>/.catalog/catalog.db, for messages */
	sqlite3_stmt *st[S_COUNT];
	char err[512];
};

/* --- errors ---------------------------------------------------------------- */

static int set_err(struct catalog *cat, const char *fmt, ...) LOG_PRINTF(2, 3);

/* The message catalog_error() gives: -1. */
static int
set_err(struct catalog *cat, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cat->err, sizeof cat->err, fmt, ap);
	va_end(ap);
	return -1;
}

/* SQLite's message for what failed, kept and logged: -1. */
static int
fail(struct catalog *cat, const char *what)
{
	set_err(cat, "%s: %s", what, sqlite3_errmsg(cat->db));
	log_warnx("catalog %s: %s", cat->path, cat->err);
	return -1;
}

static int
in_batch(struct catalog *cat)
{
	return !sqlite3_get_autocommit(cat->db);
}

static void
rollback_quiet(struct catalog *cat)
{
	if (in_batch(cat) && sqlite3_exec(cat->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
		log_warnx("catalog %s: rollback: %s", cat->path, sqlite3_errmsg(cat->db));
}

/* A database failure in a batch: logged, and the batch rolled back (catalog.h). */
static int
batch_fail(struct catalog *cat, const char *what)
{
	set_err(cat, "%s: %s", what, sqlite3_errmsg(cat->db));
	log_warnx("catalog %s: %s; the batch is rolled back", cat->path, cat->err);
	rollback_quiet(cat);
	return -1;
}

/* --- statements ------------------------------------------------------------ */

/* The statement, prepared on its first use and kept; NULL (SQLite's message) if it fails. */
static sqlite3_stmt *
stmt(struct catalog *cat, int id)
{
	if (cat->st[id] == NULL && sqlite3_prepare_v3(cat->db, catalog_sql[id], -1,
	                               SQLITE_PREPARE_PERSISTENT, &cat->st[id], NULL) != SQLITE_OK)
		cat->st[id] = NULL;
	return cat->st[id];
}

/*
 * Step a statement for its first row or its end: sqlite3_step()'s code,
 * the statement reset and its parameters cleared (no pointer into the
 * caller's strings kept).
 */
static int
run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC); /* NULL: NULL */
}

static uint64_t
col_u64(sqlite3_stmt *st, int i)
{
	return (uint64_t)sqlite3_column_int64(st, i); /* NULL: 0 */
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* A row of CATALOG_COLUMNS. */
void
catalog_read_row(sqlite3_stmt *st, struct catalog_row *r)
{
	r->id = sqlite3_column_int64(st, 0);
	r->fpout = col_text(st, 1);
	r->part = col_text(st, 2);
	r->label = col_text(st, 3);
	r->src = col_text(st, 4);
	r->dst = col_text(st, 5);
	r->iface = col_text(st, 6);
	r->vlan = col_text(st, 7);
	r->srcport = (uint16_t)col_u64(st, 8);
	r->dstport = (uint16_t)col_u64(st, 9);
	r->first_ns = col_u64(st, 10);
	r->last_ns = col_u64(st, 11);
	r->packets = col_u64(st, 12);
	r->bytes = col_u64(st, 13);
	r->written = col_u64(st, 14);
	r->size = col_u64(st, 15);
	r->reason = col_text(st, 16);
	r->partial = (uint8_t)col_u64(st, 17);
	r->truncated = (uint8_t)col_u64(st, 18);
	r->recovered = (uint8_t)col_u64(st, 19);
	r->segment = (uint32_t)col_u64(st, 20);
	/* A probe (catalog_select_flows): where its records lie in its shared capture. */
	r->probe = sqlite3_column_count(st) > 22 && sqlite3_column_type(st, 21) != SQLITE_NULL;
	r->offset = r->probe ? col_u64(st, 21) : 0;
	r->length = r->probe ? col_u64(st, 22) : 0;
}

/* --- opening --------------------------------------------------------------- */

/* A PRAGMA, and its one value as a number or text (if asked for). */
static int
pragma(struct catalog *cat, const char *sql, int *num, char *text, size_t len)
{
	sqlite3_stmt *st = NULL;
	int rc = SQLITE_ERROR, ok;

	if (sqlite3_prepare_v2(cat->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (num != NULL)
			*num = sqlite3_column_int(st, 0);
		if (text != NULL)
			snprintf(text, len, "%s", col_text(st, 0) ? col_text(st, 0) : "");
	}
	ok = rc == SQLITE_ROW || (rc == SQLITE_DONE && num == NULL && text == NULL);
	if (!ok)
		set_err(cat, "%s: %s", sql, sqlite3_errmsg(cat->db));
	sqlite3_finalize(st);
	return ok ? 0 : -1;
}

/*
 * sql applied to a catalog whose user_version is still from, in one
 * transaction (another writer may have been first: then nothing is done).
 * *v: the version found, or the one sql sets (from + 1; the tables: the last) once applied.
 */
static int
change_schema(struct catalog *cat, int from, const char *sql, const char *what, int *v)
{
	int rc;

	if (sqlite3_exec(cat->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return set_err(cat, "begin: %s", sqlite3_errmsg(cat->db));
	rc = pragma(cat, "PRAGMA user_version", v, NULL, 0);
	if (rc == 0 && *v == from &&
	    (sqlite3_exec(cat->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
	        sqlite3_exec(cat->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK))
		rc = set_err(cat, "%s: %s", what, sqlite3_errmsg(cat->db));
	if (rc == -1 || *v != from)
		rollback_quiet(cat);
	else
		*v = from == 0 ? CATALOG_VERSION : from + 1;
	return rc;
}

/* The version check; a new catalog's tables, an old one's upgrade (by its writer). */
static int
set_schema(struct catalog *cat)
{
	int v;

	if (pragma(cat, "PRAGMA user_version", &v, NULL, 0) == -1)
		return -1;
	if (v == 0 && !cat->readonly &&
	    change_schema(cat, 0, CATALOG_SCHEMA, "making the tables", &v) == -1)
		return -1;
	if (v == 0)
		return set_err(cat, "no tables yet (the daemon makes them)");
	if (v > CATALOG_VERSION)
		return set_err(cat,
		    "made by a newer traceflow (version %d; this one knows up to %d); refused, "
		    "not changed",
		    v, CATALOG_VERSION);
	return 0;
}

int
catalog_upgrade(struct catalog *cat, void (*before)(const char *path, uint64_t files))
{
	struct catalog_usage u;
	int v;

	if (pragma(cat, "PRAGMA user_version", &v, NULL, 0) == -1)
		return -1;
	if (v == CATALOG_VERSION)
		return 0;
	if (cat->readonly)
		return set_err(cat, "version %d: its writer upgrades it", v);
	if (v != 1 && v != 2)
		return set_err(cat, "version %d: no upgrade known", v);
	/* Version 2 to 3 adds a table: instant. 1 to 2 rebuilds the host indexes. */
	if (v == 1 && before != NULL && catalog_usage(cat, &u) == 0)
		before(cat->path, u.files);
	/* The indexes sort in temporary files, not in memory (10 M rows: ~500 MB). */
	if (v == 1 &&
	    (pragma(cat, "PRAGMA temp_store = FILE", NULL, NULL, 0) == -1 ||
	        change_schema(cat, 1, CATALOG_UPGRADE_1, "upgrading to version 2", &v) == -1 ||
	        pragma(cat, CATALOG_TEMP_PRAGMA, NULL, NULL, 0) == -1))
		return -1;
	if (v == 2 && change_schema(cat, 2, CATALOG_UPGRADE_2, "upgrading to version 3", &v) == -1)
		return -1;
	return 1;
}

struct catalog *
catalog_open(int spoolfd, const char *spoolpath, int readonly, char **cause)
{
	struct catalog *cat = NULL;
	char *dir, *path = NULL, mode[16];
	int dfd, flags, rc;

	xasprintf(&dir, "%s/%s", spoolpath, CATALOG_DIR);
	if ((dfd = catalogfs_open_dir(spoolfd, dir, readonly, cause)) == -1)
		goto out;
	if (catalogfs_check_files(dfd, dir, readonly, cause) == -1)
		goto out;
	cat = xcalloc(1, sizeof *cat);
	cat->readonly = readonly;
	xasprintf(&cat->path, "%s/%s", dir, CATALOG_DB);
	path = catalogfs_db_path(dfd, dir);

	/* No SQLITE_OPEN_CREATE: the file was made above. One thread at a time: no mutex. */
	flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOFOLLOW |
	        SQLITE_OPEN_NOMUTEX;
	rc = sqlite3_open_v2(path, &cat->db, flags, NULL);
	if (rc != SQLITE_OK || cat->db == NULL) {
		xasprintf(cause, "%s: %s%s", cat->path,
		    cat->db ? sqlite3_errmsg(cat->db) : sqlite3_errstr(rc),
		    cat->db && sqlite3_extended_errcode(cat->db) == SQLITE_CANTOPEN_SYMLINK
		        ? " (a symbolic link on the way)"
		        : "");
		goto fail;
	}
	sqlite3_extended_result_codes(cat->db, 1);
	sqlite3_busy_timeout(cat->db, CATALOG_BUSY_MS);
	/* Trusted no more than needed; WAL, or the journal where WAL is refused (catalog.h). */
	sqlite3_db_config(cat->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(cat->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	if (!readonly && (pragma(cat, "PRAGMA journal_mode = WAL", NULL, mode, sizeof mode) == -1 ||
	                     pragma(cat, "PRAGMA synchronous = NORMAL", NULL, NULL, 0) == -1 ||
	                     pragma(cat, CATALOG_CACHE_PRAGMA, NULL, NULL, 0) == -1 ||
	                     pragma(cat, CATALOG_TEMP_PRAGMA, NULL, NULL, 0) == -1)) {
		xasprintf(cause, "%s: %s", cat->path, cat->err);
		goto fail;
	}
	if (readonly && pragma(cat, CATALOG_READ_CACHE_PRAGMA, NULL, NULL, 0) == -1) {
		xasprintf(cause, "%s: %s", cat->path, cat->err);
		goto fail;
	}
	if (!readonly && strcmp(mode, "wal") != 0)
		log_warnx("catalog %s: journal mode %s, not wal: readers will hold the writer up",
		    cat->path, mode);
	/*
	 * The -wal and -shm stay when the writer closes: a reader of the spool's
	 * group, who may not make them in the folder, can then still open the
	 * catalog (SQLite reads a WAL database read-only only where they exist).
	 */
	if (!readonly)
		sqlite3_file_control(cat->db, "main", SQLITE_FCNTL_PERSIST_WAL, &(int){1});
	if (set_schema(cat) == -1) {
		xasprintf(cause, "%s: %s", cat->path, cat->err);
		goto fail;
	}
	cat->err[0] = '\0';
	goto out;
fail:
	catalog_close(cat);
	cat = NULL;
out:
	if (dfd != -1)
		close(dfd);
	free(path);
	free(dir);
	return cat;
}

struct catalog *
catalog_open_temp(char **cause)
{
	struct catalog *cat = xcalloc(1, sizeof *cat);

	cat->path = xstrdup("(a temporary catalog)");
	/* "": a private database on disk, deleted at close: memory bounded by its cache. */
	if (sqlite3_open_v2("", &cat->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	        SQLITE_OK ||
	    sqlite3_exec(cat->db, "PRAGMA synchronous = OFF", NULL, NULL, NULL) != SQLITE_OK ||
	    set_schema(cat) == -1) {
		xasprintf(cause, "%s: %s", cat->path,
		    cat->err[0] ? cat->err
		    : cat->db   ? sqlite3_errmsg(cat->db)
		                : "out of memory");
		catalog_close(cat);
		return NULL;
	}
	return cat;
}

void
catalog_close(struct catalog *cat)
{
	size_t i;

	if (cat == NULL)
		return;
	if (cat->db != NULL) {
		rollback_quiet(cat);
		for (i = 0; i < S_COUNT; i++)
			sqlite3_finalize(cat->st[i]);
		if (sqlite3_close(cat->db) != SQLITE_OK)
			log_warnx("catalog %s: close: %s", cat->path, sqlite3_errmsg(cat->db));
	}
	free(cat->path);
	free(cat);
}

/* --- batches --------------------------------------------------------------- */

int
catalog_begin(struct catalog *cat)
{
	sqlite3_stmt *st;

	if (cat->readonly)
		return set_err(cat, "begin: the catalog is open read-only");
	if (in_batch(cat))
		return set_err(cat, "begin: a batch is already open");
	if ((st = stmt(cat, S_BEGIN)) == NULL || run(st) != SQLITE_DONE)
		return fail(cat, "begin");
	return 0;
}

int
catalog_commit(struct catalog *cat)
{
	sqlite3_stmt *st;

	if (!in_batch(cat))
		return set_err(cat, "commit: no batch open");
	if ((st = stmt(cat, S_COMMIT)) == NULL || run(st) != SQLITE_DONE)
		return batch_fail(cat, "commit");
	return 0;
}

void
catalog_rollback(struct catalog *cat)
{
	sqlite3_stmt *st;

	if (!in_batch(cat))
		return;
	if ((st = stmt(cat, S_ROLLBACK)) == NULL || run(st) != SQLITE_DONE)
		rollback_quiet(cat); /* logs if that fails too */
}

/* ?1 to ?14: what a file's row and a probe's share. */
static void
bind_flow(sqlite3_stmt *st, const struct catalog_row *r)
{
	bind_text(st, 1, r->fpout);
	bind_text(st, 2, r->part);
	bind_text(st, 3, r->label);
	bind_text(st, 4, r->src);
	bind_text(st, 5, r->dst);
	bind_text(st, 6, r->iface);
	bind_text(st, 7, r->vlan);
	sqlite3_bind_int(st, 8, r->srcport);
	sqlite3_bind_int(st, 9, r->dstport);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)r->first_ns);
	sqlite3_bind_int64(st, 11, (sqlite3_int64)r->last_ns);
	sqlite3_bind_int64(st, 12, (sqlite3_int64)r->packets);
	sqlite3_bind_int64(st, 13, (sqlite3_int64)r->bytes);
	sqlite3_bind_int64(st, 14, (sqlite3_int64)r->written);
}

int
catalog_add_probe(struct catalog *cat, const struct catalog_row *r)
{
	sqlite3_stmt *st;

	if (r->part == NULL)
		return set_err(cat, "add a probe: a row needs its part");
	if (!in_batch(cat))
		return set_err(cat, "add a probe: outside a batch");
	if ((st = stmt(cat, S_PROBE)) == NULL)
		return batch_fail(cat, "add a probe");
	bind_flow(st, r);
	bind_text(st, 15, r->reason);
	sqlite3_bind_int(st, 16, r->partial);
	sqlite3_bind_int(st, 17, r->truncated);
	sqlite3_bind_int64(st, 18, (sqlite3_int64)r->offset);
	sqlite3_bind_int64(st, 19, (sqlite3_int64)r->length);
	if (run(st) != SQLITE_DONE)
		return batch_fail(cat, "add a probe");
	return 0;
}

int
catalog_probes_moved(struct catalog *cat, const char *from, const char *to)
{
	sqlite3_stmt *st;

	if (!in_batch(cat))
		return set_err(cat, "move probes: outside a batch");
	if ((st = stmt(cat, S_PROBES_MOVED)) == NULL)
		return batch_fail(cat, "move probes");
	bind_text(st, 1, from);
	bind_text(st, 2, to);
	return run(st) == SQLITE_DONE ? 0 : batch_fail(cat, "move probes");
}

int
catalog_add(struct catalog *cat, const struct catalog_row *r)
{
	sqlite3_stmt *st;

	if (r->fpout == NULL || r->part == NULL)
		return set_err(cat, "add: a row needs fpout and part");
	if (!in_batch(cat))
		return set_err(cat, "add %s: outside a batch", r->fpout);
	if ((st = stmt(cat, S_DELETE_FPOUT)) == NULL)
		return batch_fail(cat, "add");
	bind_text(st, 1, r->fpout);
	if (run(st) != SQLITE_DONE)
		return batch_fail(cat, "add (replacing)");
	if ((st = stmt(cat, S_INSERT)) == NULL)
		return batch_fail(cat, "add");
	bind_flow(st, r);
	sqlite3_bind_int64(st, 15, (sqlite3_int64)r->size);
	bind_text(st, 16, r->reason);
	sqlite3_bind_int(st, 17, r->partial);
	sqlite3_bind_int(st, 18, r->truncated);
	sqlite3_bind_int(st, 19, r->recovered);
	sqlite3_bind_int64(st, 20, r->segment);
	if (run(st) != SQLITE_DONE)
		return batch_fail(cat, "add");
	return 0;
}

/* Delete by id, or by fpout if not NULL: 1 or 0 rows gone, or -1. */
static int
delete_row(struct catalog *cat, int64_t id, const char *fpout)
{
	sqlite3_stmt *st;

	if (!in_batch(cat))
		return set_err(cat, "delete %s: outside a batch", fpout ? fpout : "by id");
	if ((st = stmt(cat, fpout ? S_DELETE_FPOUT : S_DELETE_ID)) == NULL)
		return batch_fail(cat, "delete");
	if (fpout != NULL)
		bind_text(st, 1, fpout);
	else
		sqlite3_bind_int64(st, 1, id);
	if (run(st) != SQLITE_DONE)
		return batch_fail(cat, "delete");
	return sqlite3_changes(cat->db) > 0; /* the row's, not its triggers' */
}

int
catalog_delete(struct catalog *cat, int64_t id)
{
	return delete_row(cat, id, NULL);
}

int
catalog_delete_fpout(struct catalog *cat, const char *fpout)
{
	return delete_row(cat, 0, fpout);
}

/* --- reads ----------------------------------------------------------------- */

int
catalog_has(struct catalog *cat, const char *fpout)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = stmt(cat, S_HAS)) == NULL)
		return fail(cat, "has");
	bind_text(st, 1, fpout);
	if ((rc = run(st)) == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return fail(cat, "has");
}

/* Rows of statement id (?1: how many, ?2: after which id), to fn; as catalog_oldest. */
static int
walk_rows(struct catalog *cat, int id, int64_t after, size_t n,
    int (*fn)(const struct catalog_row *, void *), void *arg)
{
	struct catalog_row row;
	sqlite3_stmt *st;
	int rc, count = 0;

	if (n == 0)
		return 0;
	if ((st = stmt(cat, id)) == NULL)
		return fail(cat, "walk");
	sqlite3_bind_int64(st, 1, n > INT_MAX ? INT_MAX : (sqlite3_int64)n);
	sqlite3_bind_int64(st, 2, after); /* SQLITE_RANGE where there is no ?2: oldest */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		catalog_read_row(st, &row);
		count++;
		if (fn(&row, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? count : fail(cat, "walk");
}

int
catalog_oldest(
    struct catalog *cat, size_t n, int (*fn)(const struct catalog_row *row, void *arg), void *arg)
{
	return walk_rows(cat, S_OLDEST, 0, n, fn, arg);
}

int
catalog_scan(struct catalog *cat, int64_t after, size_t n,
    int (*fn)(const struct catalog_row *row, void *arg), void *arg)
{
	return walk_rows(cat, S_SCAN, after, n, fn, arg);
}

/* A statement whose one row is a struct catalog_usage's five figures. */
static int
usage_row(struct catalog *cat, int id, struct catalog_usage *u)
{
	sqlite3_stmt *st;
	int rc;

	memset(u, 0, sizeof *u);
	if ((st = stmt(cat, id)) == NULL)
		return fail(cat, "usage");
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		u->files = col_u64(st, 0);
		u->bytes = col_u64(st, 1);
		u->oldest_last_ns = col_u64(st, 2);
		u->newest_last_ns = col_u64(st, 3);
		u->oldest_first_ns = col_u64(st, 4);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE) {
		set_err(cat, "usage: the totals row is missing");
		log_warnx("catalog %s: %s", cat->path, cat->err);
		return -1;
	}
	return fail(cat, "usage");
}

int
catalog_usage(struct catalog *cat, struct catalog_usage *u)
{
	return usage_row(cat, S_USAGE, u);
}

int
catalog_recount(struct catalog *cat, struct catalog_usage *u)
{
	return usage_row(cat, S_RECOUNT, u);
}

int
catalog_parts(struct catalog *cat,
    int (*fn)(const char *name, uint64_t files, uint64_t bytes, uint64_t first_ns, uint64_t last_ns,
        void *arg),
    void *arg)
{
	sqlite3_stmt *st;
	int rc, count = 0;

	if ((st = stmt(cat, S_PARTS)) == NULL)
		return fail(cat, "parts");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		count++;
		if (fn(col_text(st, 0), col_u64(st, 1), col_u64(st, 2), col_u64(st, 3),
		        col_u64(st, 4), arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return fail(cat, "parts");
	return count;
}

int
catalog_part_files(struct catalog *cat, const char *part, uint64_t *files)
{
	sqlite3_stmt *st;
	int rc;

	*files = 0;
	if ((st = stmt(cat, S_PART_FILES)) == NULL)
		return fail(cat, "part files");
	bind_text(st, 1, part);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*files = col_u64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail(cat, "part files");
	return 0;
}

const char *
catalog_error(struct catalog *cat)
{
	return cat->err;
}

struct sqlite3 *
catalog_handle(struct catalog *cat)
{
	return cat->db;
}

int
catalog_fail(struct catalog *cat, const char *what)
{
	return set_err(cat, "%s: %s", what, sqlite3_errmsg(cat->db));
}

int
catalog_version(struct catalog *cat)
{
	int v;

	return pragma(cat, "PRAGMA user_version", &v, NULL, 0) == -1 ? -1 : v;
}
