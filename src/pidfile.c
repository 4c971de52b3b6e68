/*
 * pidfile.c: the pid file. Not O_EXCL: a file a crash left must be reused,
 * so the lock, not the file's existence, says whether a daemon runs. The
 * lock is flock(2), not lockf(3): a flock belongs to the open file
 * description, which daemon(3)'s child inherits, so it stays held across
 * the fork; an fcntl lock would be the parent's and die with it.
 *
 * The file is opened with O_NOFOLLOW relative to its folder, opened once:
 * a link planted at the path is refused, and the file removed at exit is
 * the one in the folder opened at start.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "pidfile.h"
#include "xmalloc.h"

#define PIDFILE_MODE 0644

struct pidfile {
	char *path;
	char *name; /* the last component, within dirfd */
	int dirfd;
	int fd;
};

/* The pid a locked file names, for the refusal; 0 if unreadable. */
static long
pid_in(int fd)
{
	char buf[32];
	ssize_t n;

	if ((n = pread(fd, buf, sizeof buf - 1, 0)) <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static void
pidfile_free(struct pidfile *pf)
{
	if (pf->fd != -1)
		close(pf->fd);
	if (pf->dirfd != -1)
		close(pf->dirfd);
	free(pf->path);
	free(pf->name);
	free(pf);
}

struct pidfile *
pidfile_open(const char *path, char **cause)
{
	struct pidfile *pf = xcalloc(1, sizeof *pf);
	const char *slash = strrchr(path, '/');
	char *dir;
	struct stat st;
	long pid;

	pf->path = xstrdup(path);
	pf->fd = -1;
	dir = xstrdup(slash == NULL ? "." : path);
	if (slash != NULL)
		dir[slash == path ? 1 : slash - path] = '\0';
	pf->name = xstrdup(slash == NULL ? path : slash + 1);
	pf->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (pf->dirfd == -1 || pf->name[0] == '\0') {
		xasprintf(cause, "pid_file %s: %s", path,
		    pf->name[0] == '\0' ? "names a folder" : strerror(errno));
		goto fail;
	}
	/* O_NONBLOCK: a FIFO planted there fails instead of blocking the start. */
	pf->fd = openat(pf->dirfd, pf->name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
	    PIDFILE_MODE);
	if (pf->fd == -1) {
		xasprintf(cause, "pid_file %s: %s", path,
		    errno == ELOOP ? "is a symbolic link" : strerror(errno));
		goto fail;
	}
	if (fstat(pf->fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		xasprintf(cause, "pid_file %s: not a regular file", path);
		goto fail;
	}
	if (flock(pf->fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK && (pid = pid_in(pf->fd)) > 0)
			xasprintf(cause, "pid_file %s is locked by traceflowd %ld: is it running?",
			    path, pid);
		else
			xasprintf(cause, "pid_file %s: locked: %s", path, strerror(errno));
		goto fail;
	}
	/* The umask (027) would hide it from the init scripts' users. */
	if (fchmod(pf->fd, PIDFILE_MODE) == -1)
		log_warn("pid_file %s: fchmod", path);
	/* A stale pid must not be read as ours until pidfile_write. */
	if (ftruncate(pf->fd, 0) == -1) {
		xasprintf(cause, "pid_file %s: ftruncate: %s", path, strerror(errno));
		goto fail;
	}
	return pf;
fail:
	pidfile_free(pf);
	return NULL;
}

int
pidfile_write(struct pidfile *pf)
{
	char buf[32];
	int len = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());

	if (ftruncate(pf->fd, 0) == -1 || pwrite(pf->fd, buf, (size_t)len, 0) != len) {
		log_warn("pid_file %s", pf->path);
		return -1;
	}
	return 0;
}

void
pidfile_close(struct pidfile *pf)
{
	struct stat ours, there;

	if (pf == NULL)
		return;
	/*
	 * Removed while still locked: a daemon starting now makes a new file.
	 * Only if the name is still ours: another file put in its place stays.
	 */
	if (fstat(pf->fd, &ours) == -1 ||
	    fstatat(pf->dirfd, pf->name, &there, AT_SYMLINK_NOFOLLOW) == -1 ||
	    ours.st_dev != there.st_dev || ours.st_ino != there.st_ino)
		log_warnx("pid_file %s: no longer the file the daemon made, left alone", pf->path);
	else if (unlinkat(pf->dirfd, pf->name, 0) == -1) {
		log_debug("pid_file %s: cannot remove it (%s), emptied instead", pf->path,
		    strerror(errno));
		if (ftruncate(pf->fd, 0) == -1)
			log_warn("pid_file %s: ftruncate", pf->path);
	}
	pidfile_free(pf);
}
