/*
 * ctlconn.c: one exchange of traceflowctl with the daemon (ctlconn.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "ctlconn.h"
#include "duration.h"
#include "xmalloc.h"

#define EXIT_TIMEOUT EX_TEMPFAIL

static const char *progname = "traceflowctl";

uint64_t
ctlconn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * DURATION_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void __attribute__((noreturn)) timed_out(const struct conn *c)
{
	fprintf(stderr, "%s: no reply from %s within %g s\n", progname, c->path,
	    (double)c->timeout_ns / 1e9);
	exit(EXIT_TIMEOUT);
}

static void __attribute__((noreturn)) lost(const struct conn *c, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", progname, c->path, what);
	exit(EX_UNAVAILABLE);
}

/* Milliseconds left, rounded up; never returns once the deadline passed. */
static int
left_ms(const struct conn *c)
{
	uint64_t now = ctlconn_now(), ms;

	if (now >= c->deadline)
		timed_out(c);
	ms = (c->deadline - now + 999999) / 1000000;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* The user traceflowd runs as when packaged (the setting user's default). */
#define DAEMON_USER "traceflow"

/*
 * Whoever holds the socket's name gets our request: a user who could
 * replace the socket (one who owns its folder) could answer root's
 * "reload" with success. The kernel tells who the server runs as: root,
 * the packaged daemon user or ourselves are expected; anyone else is
 * said, once, before the reply is believed.
 */
static void
check_server(const struct conn *c)
{
	struct ucred uc;
	socklen_t len = sizeof uc;
	struct passwd *pw;

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1 || uc.uid == 0 ||
	    uc.uid == getuid())
		return;
	if ((pw = getpwnam(DAEMON_USER)) != NULL && pw->pw_uid == uc.uid)
		return;
	pw = getpwuid(uc.uid);
	fprintf(stderr,
	    "%s: warning: the server at %s runs as %s (uid %u), neither root nor %s: it may "
	    "not be traceflowd\n",
	    progname, c->path, pw != NULL ? pw->pw_name : "an unknown user", (unsigned)uc.uid,
	    DAEMON_USER);
}

/* Until fd is ready for events, or the deadline. */
static void
wait_fd(const struct conn *c, short events)
{
	struct pollfd pfd = {c->fd, events, 0};
	int n;

	while ((n = poll(&pfd, 1, left_ms(c))) == -1 && errno == EINTR)
		;
	if (n == -1)
		lost(c, strerror(errno));
	if (n == 0)
		timed_out(c);
}

void
ctlconn_connect(struct conn *c)
{
	struct sockaddr_un sun;
	struct timeval tv;
	int ms;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(c->path) >= sizeof sun.sun_path) {
		fprintf(stderr, "%s: socket path %s is too long\n", progname, c->path);
		exit(EX_UNAVAILABLE);
	}
	strcpy(sun.sun_path, c->path);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		lost(c, strerror(errno));
	/* A daemon whose backlog is full holds connect(2): SO_SNDTIMEO bounds it. */
	ms = left_ms(c);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		if (errno == EAGAIN || errno == EINPROGRESS || errno == ETIMEDOUT)
			timed_out(c);
		fprintf(stderr, "%s: cannot reach traceflowd at %s: %s%s\n", progname, c->path,
		    strerror(errno),
		    errno == ENOENT || errno == ECONNREFUSED ? " (is traceflowd running?)"
		    : errno == EACCES                        ? " (not in the socket's group?)"
		                                             : "");
		exit(EX_UNAVAILABLE);
	}
	if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) == -1)
		lost(c, strerror(errno));
	check_server(c);
}

/* Read exactly len bytes; 0 at a clean end of file before the first byte. */
static int
read_full(const struct conn *c, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(c->fd, (char *)buf + got, len - got);
		if (n == 0 && got == 0)
			return 0;
		if (n == 0)
			lost(c, "traceflowd closed the connection in the middle of a message");
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			wait_fd(c, POLLIN);
			continue;
		}
		if (n == -1)
			lost(c, strerror(errno));
		got += (size_t)n;
	}
	return 1;
}

void
ctlconn_write(const struct conn *c, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			wait_fd(c, POLLOUT);
			continue;
		}
		if (n == -1)
			lost(c, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/* Read DATA pieces up to EXIT; any violation of proto.h ends with 69. */
void
ctlconn_read_reply(const struct conn *c, struct reply *r)
{
	struct proto_hdr h;
	uint8_t st[PROTO_EXIT_LEN];
	char *cause = NULL;

	memset(r, 0, sizeof *r);
	r->doc = xmalloc(1);
	for (;;) {
		if (!read_full(c, &h, sizeof h))
			lost(c, "traceflowd closed the connection without an answer");
		if (proto_reply_check_hdr(&h, &cause) == -1)
			lost(c, cause);
		r->version = h.version;
		if (h.type == PROTO_EXIT)
			break;
		if (r->len + h.len > CTLCONN_MAX_REPLY)
			lost(c, "reply too long");
		r->doc = xreallocarray(r->doc, 1, r->len + h.len + 1);
		read_full(c, r->doc + r->len, h.len);
		r->len += h.len;
	}
	read_full(c, st, sizeof st);
	if (proto_exit_decode(st, sizeof st, &r->status, &cause) == -1)
		lost(c, cause);
	r->doc[r->len] = '\0';
}
