/*
 * spool.c: the spool folder: opened safely (see spool.h), locked for one
 * writer, and crash recovery, all through directory descriptors
 * (retention: spoolcat.c).
 *
 * Recovery relies on the writer's discipline: files are only ever appended
 * whole records (header first), so after kill -9 a file in .active/ is a
 * valid pcap up to its last complete record; we cut the torn tail.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "names.h"
#include "spool.h"
#include "xmalloc.h"

int
spool_mkdir(const char *path, mode_t mode)
{
	char *p, *copy = xstrdup(path);
	int rc = 0;

	for (p = copy + 1; *p != '\0' && rc == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) == -1 && errno != EEXIST)
			rc = -1;
		*p = '/';
	}
	if (rc == 0 && mkdir(copy, mode) == -1 && errno != EEXIST)
		rc = -1;
	free(copy);
	return rc;
}

/* --- opening the spool safely --------------------------------------------- */

static int
trusted_uid(uid_t uid, const struct spool_owner *own)
{
	return uid == 0 || uid == geteuid() || (own != NULL && uid == own->uid);
}

/* A group whose members may write: root's, or (not root) our own. Not the daemon's group. */
static int
trusted_gid(gid_t gid)
{
	return gid == 0 || (geteuid() != 0 && gid == getegid());
}

/*
 * May only root, the running user and the spool's owner change what this
 * folder holds? A sticky folder (like /tmp) protects its entries from
 * other users, so a parent may be writable by all; the spool itself never.
 * ACLs are not read: a folder whose ACL lets others write is on its admin.
 */
static int
check_dir(
    const struct stat *sb, const char *path, const struct spool_owner *own, int leaf, char **cause)
{
	if (!S_ISDIR(sb->st_mode)) {
		xasprintf(cause, "%s: not a directory", path);
		return -1;
	}
	if (!trusted_uid(sb->st_uid, own)) {
		xasprintf(cause,
		    "%s: owned by uid %u, who could swap what it holds; it must belong to root "
		    "or the daemon user (chown root %s, or choose another folder)",
		    path, (unsigned)sb->st_uid, path);
		return -1;
	}
	if ((leaf || !(sb->st_mode & S_ISVTX)) &&
	    ((sb->st_mode & S_IWOTH) || ((sb->st_mode & S_IWGRP) && !trusted_gid(sb->st_gid)))) {
		xasprintf(cause,
		    "%s: writable by %s (mode %04o), who could plant links in it; "
		    "chmod go-w %s, or choose another folder",
		    path, (sb->st_mode & S_IWOTH) ? "every user" : "its group",
		    (unsigned)(sb->st_mode & 07777), path);
		return -1;
	}
	return 0;
}

int
spool_check_folder(const char *path, const struct spool_owner *own, char **cause)
{
	char *real, *p, *next, sofar[4096] = "";
	struct stat sb;
	int rc = -1;

	if ((real = realpath(path, NULL)) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* Each folder from the root down, by the real path: what is checked is what is used. */
	for (p = real;; p = next) {
		if (lstat(sofar[0] ? sofar : "/", &sb) == -1) {
			xasprintf(cause, "%s: %s", sofar[0] ? sofar : "/", strerror(errno));
			break;
		}
		if (S_ISLNK(sb.st_mode)) {
			xasprintf(cause, "%s: became a symbolic link while it was checked", sofar);
			break;
		}
		if (check_dir(&sb, sofar[0] ? sofar : "/", own, 0, cause) == -1)
			break;
		while (*p == '/')
			p++;
		if (*p == '\0') {
			rc = 0;
			break;
		}
		next = p + strcspn(p, "/");
		if (strlen(sofar) + (size_t)(next - p) + 2 > sizeof sofar) {
			xasprintf(cause, "%s: path too long", path);
			break;
		}
		snprintf(sofar + strlen(sofar), sizeof sofar - strlen(sofar), "/%.*s",
		    (int)(next - p), p);
	}
	free(real);
	return rc;
}

/* Open one component under dirfd as a folder; ELOOP and ENOTDIR say why not. */
static int
open_component(int dirfd, const char *name, int nofollow)
{
	return openat(
	    dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
}

static int
refuse_link(int dirfd, const char *name, const char *path, char **cause)
{
	struct stat sb;

	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode))
		xasprintf(cause,
		    "%s: is a symbolic link; the daemon never follows one here (someone may have "
		    "planted it): remove it, or name the real folder",
		    path);
	else
		xasprintf(cause, "%s: not a directory", path);
	return -1;
}

/*
 * Open the folder name under dirfd, never through a link, making it
 * (SPOOL_DIR_MODE) if missing; *made says whether this call made it, not
 * someone racing us. shown names it in the cause.
 */
static int
open_or_make(int dirfd, const char *name, const char *shown, int *made, char **cause)
{
	int fd;

	*made = 0;
	fd = open_component(dirfd, name, 1);
	if (fd == -1 && errno == ENOENT) {
		if (mkdirat(dirfd, name, SPOOL_DIR_MODE) == 0)
			*made = 1;
		else if (errno != EEXIST) {
			xasprintf(cause, "mkdir %s: %s", shown, strerror(errno));
			return -1;
		}
		fd = open_component(dirfd, name, 1);
	}
	if (fd == -1) {
		if (errno == ELOOP || errno == ENOTDIR)
			refuse_link(dirfd, name, shown, cause);
		else
			xasprintf(cause, "%s: %s", shown, strerror(errno));
	}
	return fd;
}

/* The folder was made here: its mode and owner are set, not left to the umask. */
static int
own_new_dir(int fd, const char *path, const struct spool_owner *own, char **cause)
{
	if (fchmod(fd, SPOOL_DIR_MODE) == -1 ||
	    (own != NULL && geteuid() == 0 && fchown(fd, own->uid, own->gid) == -1)) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
spool_is_empty(int fd)
{
	struct dirent *de;
	int dfd, empty = 1;
	DIR *d;

	if ((dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (d = fdopendir(dfd)) == NULL) {
		if (dfd != -1)
			close(dfd);
		return 0;
	}
	while (empty && (de = readdir(d)) != NULL)
		empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		        strcmp(de->d_name, SPOOL_LOCK) == 0;
	closedir(d);
	return empty;
}

/*
 * An existing spool of root's becomes the daemon user's only while it is
 * empty: root made it in a folder nobody else can write to (checked), so
 * nobody swapped it, and a typo naming a folder of the system
 * (spool_dir = "/var/log") is refused, not handed over.
 */
static int
adopt(int fd, const struct stat *sb, const char *path, const struct spool_owner *own, char **cause)
{
	if (own == NULL || geteuid() != 0 || sb->st_uid != 0 || own->uid == 0)
		return 0;
	if (!spool_is_empty(fd)) {
		xasprintf(cause,
		    "%s: owned by root and not empty: not handed to the daemon user; if it is the "
		    "spool, chown -R it to the daemon user",
		    path);
		return -1;
	}
	if (fchown(fd, own->uid, own->gid) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The folder that holds the spool, as a real path: links on the way
 * (/var/run -> /run) are resolved here, once, and the walk that follows
 * then refuses any link, so what is checked is what is used. Missing
 * folders at the end are kept as they are written, to be made.
 */
static char *
real_parent(const char *path, char **leaf, char **cause)
{
	char *abs, *slash, *real, *rest, *res, save;
	char cwd[4096];
	size_t cut;

	if (path[0] == '/')
		abs = xstrdup(path);
	else if (getcwd(cwd, sizeof cwd) != NULL)
		xasprintf(&abs, "%s/%s", cwd, path);
	else {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return NULL;
	}
	while ((slash = strrchr(abs, '/')) != NULL && slash != abs && slash[1] == '\0')
		*slash = '\0'; /* trailing slashes */
	slash = strrchr(abs, '/');
	if (slash[1] == '\0' || strcmp(slash + 1, ".") == 0 || strcmp(slash + 1, "..") == 0) {
		xasprintf(
		    cause, "%s: not a folder the spool can be (\"/\", \".\" or \"..\")", path);
		free(abs);
		return NULL;
	}
	*leaf = xstrdup(slash + 1);
	*slash = '\0';
	/* The longest existing prefix, resolved; the rest appended as written. */
	cut = strlen(abs);
	for (;;) {
		save = abs[cut];
		abs[cut] = '\0';
		real = realpath(cut > 0 ? abs : "/", NULL);
		abs[cut] = save;
		if (real != NULL)
			break;
		if (errno != ENOENT || cut == 0) {
			xasprintf(cause, "%s: %s", abs, strerror(errno));
			free(abs);
			free(*leaf);
			return NULL;
		}
		while (cut > 0 && abs[cut - 1] != '/')
			cut--;
		if (cut > 0)
			cut--; /* at the slash */
	}
	rest = abs + cut; /* "" or "/missing/folders" */
	xasprintf(&res, "%s%s", strcmp(real, "/") == 0 ? "" : real, rest);
	free(real);
	free(abs);
	return res;
}

int
spool_open(const char *path, const struct spool_owner *own, char **cause)
{
	char *parent, *leaf = NULL, *p, *next, *shown = NULL, sofar[4096], name[256];
	struct stat sb;
	int fd = -1, nfd, made;

	if ((parent = real_parent(path, &leaf, cause)) == NULL)
		return -1;
	if (strlen(parent) >= sizeof sofar - 256 || strlen(leaf) >= sizeof name) {
		xasprintf(cause, "%s: path too long", path);
		goto fail;
	}
	if ((fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "/: %s", strerror(errno));
		goto fail;
	}
	/* Walk from the root: each folder on the way is checked as we stand in it. */
	sofar[0] = '\0';
	for (p = parent;; p = next) {
		if (fstat(fd, &sb) == -1) {
			xasprintf(cause, "%s: %s", sofar[0] ? sofar : "/", strerror(errno));
			goto fail;
		}
		if (check_dir(&sb, sofar[0] ? sofar : "/", own, 0, cause) == -1)
			goto fail;
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		next = p + strcspn(p, "/");
		if ((size_t)(next - p) >= sizeof name) {
			xasprintf(cause, "%s: a name in it is too long", path);
			goto fail;
		}
		snprintf(sofar + strlen(sofar), sizeof sofar - strlen(sofar), "/%.*s",
		    (int)(next - p), p);
		memcpy(name, p, (size_t)(next - p));
		name[next - p] = '\0';
		nfd = open_component(fd, name, 1);
		if (nfd == -1 && errno == ENOENT && mkdirat(fd, name, 0755) == 0) {
			nfd = open_component(fd, name, 1);
			if (nfd != -1 &&
			    fchmod(nfd, 0755) == -1) /* the daemon user walks through */
				log_warn("chmod %s", sofar);
		}
		if (nfd == -1) {
			if (errno == ELOOP || errno == ENOTDIR)
				refuse_link(fd, name, sofar, cause);
			else
				xasprintf(cause, "%s: %s", sofar, strerror(errno));
			goto fail;
		}
		close(fd);
		fd = nfd;
	}
	/* The spool itself: never a link; made here only if mkdirat says so. */
	xasprintf(&shown, "%s/%s", strcmp(parent, "/") == 0 ? "" : parent, leaf);
	if ((nfd = open_or_make(fd, leaf, shown, &made, cause)) == -1)
		goto fail;
	close(fd);
	fd = nfd;
	if (made && own_new_dir(fd, shown, own, cause) == -1)
		goto fail;
	if (fstat(fd, &sb) == -1) {
		xasprintf(cause, "%s: %s", shown, strerror(errno));
		goto fail;
	}
	if (check_dir(&sb, shown, own, 1, cause) == -1)
		goto fail;
	if (!made && adopt(fd, &sb, shown, own, cause) == -1)
		goto fail;
	if (!made && (sb.st_mode & S_IROTH))
		log_warnx("%s: every user may read the captured traffic in it (mode %04o); "
		          "chmod o-rwx %s",
		    shown, (unsigned)(sb.st_mode & 07777), shown);
	free(shown);
	free(parent);
	free(leaf);
	return fd;
fail:
	if (fd != -1)
		close(fd);
	free(shown);
	free(parent);
	free(leaf);
	return -1;
}

/* --- one writer per spool ------------------------------------------------- */

/* The pid a lock file names, for the refusal; 0 if it names none. */
static long
lock_pid_in(int fd)
{
	char buf[32], *end;
	ssize_t n;
	long pid;

	if ((n = pread(fd, buf, sizeof buf - 1, 0)) <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	return pid > 0 && end != buf && (*end == '\n' || *end == '\0') ? pid : 0;
}

/*
 * Open (or make) SPOOL_LOCK in the folder, never through a link: while
 * root, we would otherwise write our pid into whatever file the daemon
 * user pointed it at. A file we did not make must be a regular file of one
 * name (no hard link to another file) of the user who writes the folder;
 * one we made is given its mode and that owner, so that the daemon user
 * can lock it next time.
 */
static int
open_lock_file(int spoolfd, const char *shown, const struct spool_owner *own, char **cause)
{
	uid_t owner = own != NULL ? own->uid : geteuid();
	struct stat sb;
	int fd, made = 0;

	fd = openat(spoolfd, SPOOL_LOCK, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    SPOOL_LOCK_MODE);
	if (fd != -1)
		made = 1;
	else if (errno == EEXIST) /* O_NONBLOCK: a FIFO planted there fails, never blocks */
		fd = openat(spoolfd, SPOOL_LOCK, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ELOOP)
			xasprintf(cause,
			    "%s: is a symbolic link; the daemon never follows one here "
			    "(someone may have planted it): remove it",
			    shown);
		else if (errno == EACCES &&
		         fstatat(spoolfd, SPOOL_LOCK, &sb, AT_SYMLINK_NOFOLLOW) == 0)
			xasprintf(cause,
			    "%s: owned by uid %u, which the daemon user (uid %u) may not write; "
			    "remove it",
			    shown, (unsigned)sb.st_uid, (unsigned)geteuid());
		else
			xasprintf(cause, "%s: %s", shown, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1)
		xasprintf(cause, "%s: %s", shown, strerror(errno));
	else if (!S_ISREG(sb.st_mode) || sb.st_nlink != 1)
		xasprintf(cause, "%s: not a regular file of its own (%s); move it away", shown,
		    S_ISREG(sb.st_mode) ? "it has other hard links" : "wrong type");
	else if (!made && sb.st_uid != owner)
		xasprintf(cause, "%s: owned by uid %u, not by the daemon user (uid %u); remove it",
		    shown, (unsigned)sb.st_uid, (unsigned)owner);
	else if (made &&
	         (fchmod(fd, SPOOL_LOCK_MODE) == -1 ||
	             (own != NULL && sb.st_uid != owner && fchown(fd, owner, own->gid) == -1)))
		xasprintf(cause, "%s: %s", shown, strerror(errno));
	else
		return fd;
	close(fd);
	return -1;
}

/* Is the name SPOOL_LOCK still the file fd holds? */
static int
lock_is_named(int spoolfd, int fd)
{
	struct stat ours, there;

	return fstat(fd, &ours) == 0 &&
	       fstatat(spoolfd, SPOOL_LOCK, &there, AT_SYMLINK_NOFOLLOW) == 0 &&
	       ours.st_dev == there.st_dev && ours.st_ino == there.st_ino;
}

#define LOCK_TRIES 10 /* a holder's exit removes the name under us: open again */

int
spool_lock(int spoolfd, const char *path, const struct spool_owner *own, char **cause)
{
	char *shown;
	long pid;
	int fd = -1, tries;

	xasprintf(&shown, "%s/%s", path, SPOOL_LOCK);
	for (tries = 0; tries < LOCK_TRIES; tries++) {
		if ((fd = open_lock_file(spoolfd, shown, own, cause)) == -1)
			break;
		if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
			if (errno != EWOULDBLOCK)
				xasprintf(cause, "%s: cannot lock it: %s", shown, strerror(errno));
			else if ((pid = lock_pid_in(fd)) > 0)
				xasprintf(cause,
				    "%s: in use by traceflowd %ld, which holds its lock (%s): "
				    "a folder has one writer; stop that one, or give this one "
				    "a folder of its own",
				    path, pid, shown);
			else
				xasprintf(cause,
				    "%s: in use by another traceflowd, which holds its lock "
				    "(%s) but has not written its pid in it",
				    path, shown);
			close(fd);
			fd = -1;
			break;
		}
		/*
		 * Locked. But a holder that exits removes the name, then lets go:
		 * a file we opened before that is no longer the lock anyone sees.
		 */
		if (lock_is_named(spoolfd, fd))
			break;
		close(fd);
		fd = -1;
	}
	/* The pid only informs: on a full disk the lock holds without it. */
	if (fd != -1 && spool_lock_pid(fd) == -1)
		log_warn("%s: our pid not written", shown);
	else if (fd == -1 && tries == LOCK_TRIES)
		xasprintf(cause, "%s: replaced again and again while it was being locked", shown);
	free(shown);
	return fd;
}

int
spool_lock_pid(int lockfd)
{
	char buf[32];
	int len = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());

	/* Written over, then cut: a reader never meets an empty file. */
	if (pwrite(lockfd, buf, (size_t)len, 0) != len || ftruncate(lockfd, len) == -1)
		return -1;
	return 0;
}

void
spool_unlock(int spoolfd, int lockfd)
{
	if (lockfd == -1)
		return;
	if (spoolfd != -1 && lock_is_named(spoolfd, lockfd) &&
	    unlinkat(spoolfd, SPOOL_LOCK, 0) == -1)
		log_debug("unlink %s: %s", SPOOL_LOCK, strerror(errno));
	close(lockfd);
}

/* A folder or file in the spool that we are about to write in: ours alone. */
static int
check_ours(const struct stat *sb, const char *path, char **cause)
{
	if (sb->st_uid != geteuid()) {
		xasprintf(cause,
		    "%s: owned by uid %u, not by the daemon user (uid %u): chown it to the "
		    "daemon user, or move it away",
		    path, (unsigned)sb->st_uid, (unsigned)geteuid());
		return -1;
	}
	if (!S_ISDIR(sb->st_mode) && (!S_ISREG(sb->st_mode) || sb->st_nlink != 1)) {
		xasprintf(cause, "%s: not a regular file of its own (%s); move it away", path,
		    S_ISREG(sb->st_mode) ? "it has other hard links" : "wrong type");
		return -1;
	}
	return 0;
}

int
spool_prepare(int spoolfd, const char *path, char **cause)
{
	char *shown;
	struct stat sb;
	int fd, made = 0, rc = -1;

	/* .active/: the files in progress; made by the user who writes them. */
	xasprintf(&shown, "%s/%s", path, NAMES_ACTIVE);
	if ((fd = open_or_make(spoolfd, NAMES_ACTIVE, shown, &made, cause)) == -1)
		goto out;
	if (made && fchmod(fd, SPOOL_DIR_MODE) == -1)
		xasprintf(cause, "%s: %s", shown, strerror(errno));
	else if (fstat(fd, &sb) == -1)
		xasprintf(cause, "%s: %s", shown, strerror(errno));
	else if (check_dir(&sb, shown, NULL, 1, cause) == 0 && check_ours(&sb, shown, cause) == 0)
		rc = 0;
	close(fd);
	if (rc == -1)
		goto out;

	/* index.jsonl: made later by index_open; an existing one is checked. */
	rc = -1;
	free(shown);
	xasprintf(&shown, "%s/%s", path, NAMES_INDEX);
	fd = openat(spoolfd, NAMES_INDEX, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			rc = 0;
		else if (errno == ELOOP)
			xasprintf(cause,
			    "%s: is a symbolic link; the daemon never writes through one (someone "
			    "may have planted it): remove it",
			    shown);
		else if (errno == EACCES &&
		         fstatat(spoolfd, NAMES_INDEX, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		         check_ours(&sb, shown, cause) == -1)
			; /* says whose it is */
		else
			xasprintf(cause, "%s: %s", shown, strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) == -1)
		xasprintf(cause, "%s: %s", shown, strerror(errno));
	else if (check_ours(&sb, shown, cause) == 0)
		rc = 0;
	close(fd);
out:
	free(shown);
	return rc;
}

int
spool_openat_dir(int dirfd, const char *rel, int create)
{
	char *copy = xstrdup(rel), *p, *next;
	int fd = dup(dirfd), nfd, saved;
	struct stat sb;

	for (p = copy; fd != -1 && *p != '\0'; p = next) {
		next = p + strcspn(p, "/");
		if (*next != '\0')
			*next++ = '\0';
		if (*p == '\0' || strcmp(p, ".") == 0)
			continue;
		if (strcmp(p, "..") == 0) {
			close(fd);
			fd = -1;
			errno = EINVAL;
			break;
		}
		nfd = open_component(fd, p, 1);
		if (nfd == -1 && errno == ENOENT && create &&
		    (mkdirat(fd, p, SPOOL_DIR_MODE) == 0 || errno == EEXIST))
			nfd = open_component(fd, p, 1);
		/* A folder someone else made (or planted) receives nothing of ours. */
		if (nfd != -1 && (fstat(nfd, &sb) == -1 || sb.st_uid != geteuid())) {
			close(nfd);
			nfd = -1;
			errno = EPERM;
		}
		saved = errno;
		close(fd);
		fd = nfd;
		errno = saved;
	}
	saved = errno;
	free(copy);
	errno = saved;
	return fd;
}

int
spool_rename_noreplace(int olddirfd, const char *old, int newdirfd, const char *new)
{
	if (renameat2(olddirfd, old, newdirfd, new, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/*
	 * NFS (and some FUSE file systems) refuse every renameat2 flag: a hard
	 * link fails on a name that is taken just the same, then the old name goes.
	 */
	if (linkat(olddirfd, old, newdirfd, new, 0) == -1)
		return -1;
	if (unlinkat(olddirfd, old, 0) == -1)
		log_warn("unlink after link of %s", old);
	return 0;
}
