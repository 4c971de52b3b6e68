/*
 * catalogfs.c: the catalog's folder and files, checked by descriptor
 * before SQLite opens them by path (catalogfs.h; catalog.c says why the
 * checks make that safe).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalogfs.h"
#include "xmalloc.h"

/*
 * May this owner's folder be used? The writer's must be its own: SQLite
 * writes there. A reader trusts what the spool's owner or root made, as
 * it trusts their captures.
 */
static int
owner_ok(int spoolfd, uid_t owner, int readonly)
{
	struct stat sb;

	if (owner == geteuid())
		return 1;
	if (!readonly)
		return 0;
	return owner == 0 || (fstat(spoolfd, &sb) == 0 && sb.st_uid == owner);
}

/* Give a writer's folder of an older traceflow (0700) the group's read: 0 or -1. */
static int
open_to_group(int fd, const struct stat *sb, int readonly)
{
	if (readonly || (sb->st_mode & 07777) == CATALOG_DIR_MODE)
		return 0;
	return fchmod(fd, CATALOG_DIR_MODE);
}

int
catalogfs_open_dir(int spoolfd, const char *shown, int readonly, char **cause)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	struct stat sb;
	int fd;

	fd = openat(spoolfd, CATALOG_DIR, flags);
	if (fd == -1 && errno == ENOENT && !readonly) {
		if (mkdirat(spoolfd, CATALOG_DIR, CATALOG_DIR_MODE) == -1 && errno != EEXIST) {
			xasprintf(cause, "mkdir %s: %s", shown, strerror(errno));
			return -1;
		}
		fd = openat(spoolfd, CATALOG_DIR, flags);
	}
	if (fd == -1) {
		if (errno == ENOENT)
			xasprintf(cause, "%s: no catalog (the daemon makes it)", shown);
		else if ((errno == ELOOP || errno == ENOTDIR) &&
		         fstatat(spoolfd, CATALOG_DIR, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		         S_ISLNK(sb.st_mode))
			xasprintf(cause,
			    "%s: is a symbolic link; the catalog is never opened through one "
			    "(someone may have planted it): remove it",
			    shown);
		else if (errno == ELOOP || errno == ENOTDIR)
			xasprintf(cause, "%s: not a directory; move it away", shown);
		else
			xasprintf(cause, "%s: %s", shown, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		xasprintf(cause, "%s: %s", shown, strerror(errno));
		goto fail;
	}
	if (!owner_ok(spoolfd, sb.st_uid, readonly)) {
		xasprintf(cause,
		    "%s: owned by uid %u, not by the running user (uid %u)%s; SQLite opens the "
		    "catalog by path, which is safe only in a folder of ours: chown it, or "
		    "remove it",
		    shown, (unsigned)sb.st_uid, (unsigned)geteuid(),
		    readonly ? ", root or the spool's owner" : "");
		goto fail;
	}
	if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
		xasprintf(cause,
		    "%s: writable by %s (mode %04o), who could plant links in it; chmod 0750 %s",
		    shown, (sb.st_mode & S_IWOTH) ? "every user" : "its group",
		    (unsigned)(sb.st_mode & 07777), shown);
		goto fail;
	}
	if (open_to_group(fd, &sb, readonly) == -1) {
		xasprintf(cause, "chmod %s: %s", shown, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* A file of an older traceflow (0600) given the group's read, by descriptor: 0 or -1. */
static int
set_mode(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK), rc;

	if (fd == -1)
		return -1;
	rc = fchmod(fd, CATALOG_FILE_MODE);
	close(fd);
	return rc;
}

int
catalogfs_check_files(int dfd, const char *shown, int readonly, char **cause)
{
	static const char *const names[] = {
	    CATALOG_DB, CATALOG_DB "-wal", CATALOG_DB "-shm", CATALOG_DB "-journal"};
	struct stat sb, dir;
	size_t i;
	int fd;

	if (fstat(dfd, &dir) == -1) {
		xasprintf(cause, "%s: %s", shown, strerror(errno));
		return -1;
	}
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (fstatat(dfd, names[i], &sb, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno != ENOENT) {
				xasprintf(cause, "%s/%s: %s", shown, names[i], strerror(errno));
				return -1;
			}
			if (i == 0 && readonly) {
				xasprintf(cause, "%s/%s: no catalog (the daemon makes it)", shown,
				    names[i]);
				return -1;
			}
			continue;
		}
		if (S_ISLNK(sb.st_mode))
			xasprintf(cause,
			    "%s/%s: is a symbolic link; SQLite would write through it (someone "
			    "may have planted it): remove it",
			    shown, names[i]);
		else if (!S_ISREG(sb.st_mode))
			xasprintf(
			    cause, "%s/%s: not a regular file; move it away", shown, names[i]);
		else if (sb.st_uid != dir.st_uid)
			xasprintf(cause,
			    "%s/%s: owned by uid %u, not by the folder's owner (uid %u); move it "
			    "away",
			    shown, names[i], (unsigned)sb.st_uid, (unsigned)dir.st_uid);
		else if (sb.st_nlink != 1)
			xasprintf(cause,
			    "%s/%s: has other hard links, SQLite would write into them; move it "
			    "away",
			    shown, names[i]);
		else if (!readonly && (sb.st_mode & 07777) != CATALOG_FILE_MODE &&
		         set_mode(dfd, names[i]) == -1)
			xasprintf(cause, "chmod %s/%s: %s", shown, names[i], strerror(errno));
		else
			continue;
		return -1;
	}
	if (readonly)
		return 0;
	fd = openat(
	    dfd, CATALOG_DB, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, CATALOG_FILE_MODE);
	if (fd == -1 && errno == EEXIST)
		return 0;
	if (fd == -1 || fchmod(fd, CATALOG_FILE_MODE) == -1) {
		xasprintf(cause, "%s/%s: %s", shown, CATALOG_DB, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

char *
catalogfs_db_path(int dfd, const char *shown)
{
	char proc[64], buf[PATH_MAX], *path;
	struct stat a, b;
	ssize_t n;

	snprintf(proc, sizeof proc, "/proc/self/fd/%d", dfd);
	n = readlink(proc, buf, sizeof buf - 1);
	if (n > 0 && buf[0] == '/') {
		buf[n] = '\0';
		if (stat(buf, &a) == 0 && fstat(dfd, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino) {
			xasprintf(&path, "%s/%s", buf, CATALOG_DB);
			return path;
		}
	}
	xasprintf(&path, "%s/%s", shown, CATALOG_DB);
	return path;
}
