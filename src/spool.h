/*
 * spool.h: the spool folder around the engine. Other users, and the daemon
 * user itself, may plant symbolic links in it, so every operation here and
 * in the filer works relative to directory descriptors opened once, with
 * O_NOFOLLOW, after checking who owns them (OpenSSH's StrictModes rule):
 * nothing is opened, changed or deleted by a path another user could swap.
 *
 * Here: opening (and making) the spool safely, locking it for one writer,
 * and crash recovery of files a crash left in .active/. Retention is the
 * catalog's (spoolcat.h).
 */
#ifndef TRACEFLOW_SPOOL_H
#define TRACEFLOW_SPOOL_H

#include <stdint.h>
#include <sys/types.h>

/* Modes set explicitly: the daemon's group (and so control_group, if the same) may read. */
#define SPOOL_DIR_MODE  0750
#define SPOOL_FILE_MODE 0640

/* Who the spool belongs to: the user the daemon runs as once privileges are dropped. */
struct spool_owner {
	uid_t uid;
	gid_t gid;
};

/*
 * mkdir -p by path, for the control socket's folder (parents 0755, the
 * folder itself mode). -1 with errno set if one could not be made.
 */
int spool_mkdir(const char *path, mode_t mode);

/*
 * Open the folder at path (made, with missing parents, if it does not
 * exist) and return a descriptor of it, or -1 and *cause. Refused, with a
 * cause naming the path and the fix: a folder that is a symbolic link, that
 * belongs to someone other than root, the running user or own->uid, that
 * others may write to, or that lies under a folder writable by others
 * without the sticky bit (or owned by an untrusted user). A folder made
 * here gets SPOOL_DIR_MODE and own as its owner; one owned by root is
 * given to own (through the descriptor: a verified folder, never a link).
 * own may be NULL: the running user.
 */
int spool_open(const char *path, const struct spool_owner *own, char **cause);

/*
 * The folder at path (links on the way resolved once) and every folder
 * above it, checked as spool_open checks the spool's way: none may belong
 * to someone other than root, the running user or own->uid, nor be
 * writable by others unless sticky. For the control socket's folder, where
 * a user who could swap the socket would answer root's traceflowctl. 0, or
 * -1 and *cause naming the folder and the fix.
 */
int spool_check_folder(const char *path, const struct spool_owner *own, char **cause);

/*
 * Does the folder fd holds have nothing in it (SPOOL_LOCK aside: a writer's
 * lock, not content)? Read through a descriptor of its own (a dup() would
 * share, and move, fd's read position).
 */
int spool_is_empty(int fd);

/*
 * One writer per spool. Two processes writing one folder take each
 * other's files: a second daemon's recovery moves the first's growing
 * files, two offline runs fill one index with the same connections. So the
 * spool, and an offline output folder, is locked by the process that
 * writes it, before any recovery or file work: flock(2) on SPOOL_LOCK in
 * it, opened through the folder's descriptor with O_NOFOLLOW (a file, not
 * the folder: over NFS only a file open for writing takes an exclusive
 * lock). flock, not an fcntl lock: it belongs to the open file description, so it stays held
 * by the child daemon(3) forks, and goes with the last process that holds
 * it, a crash included. The file names the holder's pid, for the refusal;
 * a pid left there by a crash is only text and blocks nothing.
 */
#define SPOOL_LOCK      ".lock"
#define SPOOL_LOCK_MODE 0644

/*
 * Lock the folder spoolfd holds (path names it in messages) for this
 * process and write our pid in SPOOL_LOCK (made SPOOL_LOCK_MODE if missing,
 * then given to own, as spool_open does with the spool). Returns the lock's
 * descriptor, O_CLOEXEC, to keep open for as long as the folder is written,
 * or -1 and *cause: the folder is in use ("PATH: in use by traceflowd 1234,
 * ..."), or SPOOL_LOCK is a symbolic link, not a regular file of one name,
 * or another user's. own may be NULL: the running user.
 */
int spool_lock(int spoolfd, const char *path, const struct spool_owner *own, char **cause);

/* Write our pid in the lock file again (after daemon(3): the child's). -1 on error. */
int spool_lock_pid(int lockfd);

/*
 * Remove SPOOL_LOCK, if the name is still the file locked, then give the
 * lock up: removed first, so that the next writer makes a file of its own
 * (an offline run leaves only its results). A plain close(lockfd) gives
 * the lock up and leaves the file. lockfd -1: nothing to do.
 */
void spool_unlock(int spoolfd, int lockfd);

/*
 * Make or check .active/ and index.jsonl in the spool, as the user that
 * will write them (after the privilege drop): neither may be a symbolic
 * link or belong to another user, index.jsonl must have no other name;
 * .active/ is made SPOOL_DIR_MODE. -1 and *cause when refused.
 */
int spool_prepare(int spoolfd, const char *path, char **cause);

/*
 * renameat2(RENAME_NOREPLACE), or where the file system refuses the flag
 * (NFS), a hard link (which fails on a taken name as well) and an unlink.
 */
int spool_rename_noreplace(int olddirfd, const char *old, int newdirfd, const char *new);

/*
 * Open the folder rel (one or more components, no ".."), under dirfd,
 * following no symbolic link on the way; with create, missing folders are
 * made SPOOL_DIR_MODE. -1 with errno set.
 */
int spool_openat_dir(int dirfd, const char *rel, int create);

/*
 * Move every file left in .active/ into the spool (partitioned: a pcap
 * file into the partition of its last record, names.h), cut to its last
 * whole pcap record, and index it with reason "recovered". Only regular files of
 * the running user are touched: anything else is logged and left alone.
 * Returns how many were recovered.
 */
int spool_recover(int spoolfd, const char *path, int partitioned);

#endif
