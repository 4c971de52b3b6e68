/*
 * catalogfs.h: the catalog's folder and the files SQLite will open in it,
 * checked through descriptors before SQLite, which opens by path, is let
 * near them (catalog.c says why that is safe).
 *
 * Who: the writer (the daemon) must own the folder; a reader (traceflowctl
 * query) may be its owner, root, or a member of the spool's group, for the
 * folder and its files are readable by the group (CATALOG_DIR_MODE,
 * CATALOG_FILE_MODE): the same people who may read the spool's captures.
 */
#ifndef TRACEFLOW_CATALOGFS_H
#define TRACEFLOW_CATALOGFS_H

#define CATALOG_DIR       ".catalog"   /* in the spool */
#define CATALOG_DB        "catalog.db" /* in CATALOG_DIR, with its -wal, -shm and -journal */
#define CATALOG_DIR_MODE  0750
#define CATALOG_FILE_MODE 0640

/*
 * The catalog's folder in the spool spoolfd holds (shown names it in
 * messages): made if missing unless readonly, a folder, not a link,
 * writable by nobody but its owner; owned by the running user (writer),
 * or by the running user, root or the spool folder's owner (reader). A
 * writer gives a folder of an older traceflow (0700) the group's read.
 * Its descriptor, or -1 and *cause.
 */
int catalogfs_open_dir(int spoolfd, const char *shown, int readonly, char **cause);

/*
 * The names SQLite will open in the folder (the database, -wal, -shm,
 * -journal): absent, or regular files of the folder's owner with no other
 * name. A missing database is made (CATALOG_FILE_MODE) unless readonly:
 * then it is an error. 0, or -1 and *cause.
 */
int catalogfs_check_files(int dfd, const char *shown, int readonly, char **cause);

/*
 * The path SQLite gets: the kernel's name of the verified folder, if it
 * leads there now (no link on the way, so SQLITE_OPEN_NOFOLLOW holds);
 * else shown. malloc'd.
 */
char *catalogfs_db_path(int dfd, const char *shown);

#endif
