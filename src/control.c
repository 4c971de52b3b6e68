/*
 * control.c: the transport of the control channel (control.h).
 *
 * Clients are libevent bufferevents with bounded buffers. A client has
 * CONTROL_REQUEST_MS for its whole request, however it dribbles the bytes
 * in, so that a slow or idle client cannot hold a slot; a uid other than
 * root holds at most max_per_uid connections (more are told so and closed
 * at once), so that one user cannot crowd out the others; beyond
 * max_clients the rest wait in the listen backlog.
 *
 * Long replies are streamed: the handler's step function formats a chunk
 * at a time, only as fast as the client reads, so that packets get their
 * turn between chunks.
 */
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "acceptguard.h"
#include "control.h"
#include "spool.h"
#include "xmalloc.h"

#define BACKLOG         512         /* a burst of clients waits here, not refused */
#define STREAM_HIGH     (64 * 1024) /* a stream is formatted up to this much ahead */
#define STREAM_LOW      (16 * 1024) /* ... and resumes when the client drained to this */
#define MAX_PEER_GROUPS 65536

enum client_state { C_READ, C_STREAM, C_DONE };

struct ctl_client {
	struct control *ctl;
	struct bufferevent *bev;
	struct event *deadline; /* the whole request must be in by then */
	struct event *more;     /* resumes a stream when nothing was left to write */
	enum client_state state;
	int have_hdr;
	struct proto_hdr hdr;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	gid_t *groups; /* supplementary groups (SO_PEERGROUPS) */
	int ngroups;
	ctl_stream_step step;
	void (*done)(void *);
	void *state_arg;
	TAILQ_ENTRY(ctl_client) entry;
};
TAILQ_HEAD(client_list, ctl_client);

struct control {
	struct event_base *base;
	struct evconnlistener *listener;
	struct control_params p; /* path and admin_group are copies */
	gid_t group;
	struct client_list clients;
	unsigned nclients;
	int paused;                 /* max_clients reached: not accepting */
	int serving;                /* control_enable was called */
	gid_t admin_gid;            /* admin_group's, (gid_t)-1: none (resolve_admin) */
	struct accept_guard *guard; /* paused, not spinning, when descriptors run out */
	uint64_t requests;
	uint64_t refused;
};

static void client_free(struct ctl_client *c);
static void stream_more(struct ctl_client *c);

/* --- replies ------------------------------------------------------------ */

static void
send_msg(struct ctl_client *c, uint32_t type, const void *p, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct proto_hdr h;

	proto_hdr_make(&h, type, (uint32_t)len);
	evbuffer_add(out, &h, sizeof h);
	evbuffer_add(out, p, len);
}

/* A piece of the JSON document, in messages of at most PROTO_MAX_DATA bytes. */
static void
send_data(struct ctl_client *c, const char *s, size_t len)
{
	size_t n;

	while (len > 0) {
		n = len < PROTO_MAX_DATA ? len : PROTO_MAX_DATA;
		send_msg(c, PROTO_DATA, s, n);
		s += n;
		len -= n;
	}
}

/* The end of the reply: no more reading, close once the client has it all. */
static void
send_exit(struct ctl_client *c, uint32_t status)
{
	send_msg(c, PROTO_EXIT, &status, sizeof status);
	c->state = C_DONE;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_enable(c->bev, EV_WRITE);
}

void
ctl_reply_json(struct ctl_client *c, uint32_t status, json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(doc);
	if (s == NULL) /* out of memory in jansson */
		s = xstrdup("{\"error\":\"cannot format the reply\"}"), status = PROTO_ERROR;
	send_data(c, s, strlen(s));
	free(s);
	send_exit(c, status);
}

void
ctl_reply_error(struct ctl_client *c, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	ctl_reply_json(c, PROTO_ERROR, json_pack("{s:s}", "error", msg ? msg : "error"));
	free(msg);
}

void
ctl_reply_stream(struct ctl_client *c, ctl_stream_step step, void (*done)(void *), void *state)
{
	c->step = step;
	c->done = done;
	c->state_arg = state;
	c->state = C_STREAM;
	bufferevent_setwatermark(c->bev, EV_WRITE, STREAM_LOW, 0);
	stream_more(c);
}

static void
stream_end(struct ctl_client *c)
{
	if (c->done != NULL)
		c->done(c->state_arg);
	c->done = NULL;
	c->step = NULL;
	c->state_arg = NULL;
}

static void
stream_more(struct ctl_client *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev), *chunk;
	size_t have = evbuffer_get_length(out);
	struct timeval now = {0, 0};
	int done;

	if (c->state != C_STREAM || have >= STREAM_HIGH)
		return;
	chunk = evbuffer_new();
	done = c->step(c->state_arg, chunk, STREAM_HIGH - have);
	send_data(c, (const char *)evbuffer_pullup(chunk, -1), evbuffer_get_length(chunk));
	evbuffer_free(chunk);
	if (done) {
		stream_end(c);
		send_exit(c, done == 2 ? PROTO_ERROR : PROTO_OK);
	} else if (evbuffer_get_length(out) == 0)
		evtimer_add(c->more, &now); /* the step skipped everything: go on next turn */
}

static void
on_more(evutil_socket_t fd, short what, void *arg)
{
	stream_more(arg);
}

uid_t
ctl_client_uid(const struct ctl_client *c)
{
	return c->uid;
}

const struct control *
ctl_client_control(const struct ctl_client *c)
{
	return c->ctl;
}

/* --- permissions ------------------------------------------------------- */

static int
in_group(gid_t gid, const gid_t *groups, int ngroups, gid_t g)
{
	int i;

	if (g == (gid_t)-1)
		return 0;
	if (gid == g)
		return 1;
	for (i = 0; i < ngroups; i++)
		if (groups[i] == g)
			return 1;
	return 0;
}

int
control_may(uid_t uid, gid_t gid, const gid_t *groups, int ngroups, int cmd_flags, uid_t self,
    gid_t group, gid_t admin_gid)
{
	if (uid == 0 || uid == self)
		return 1;
	if (!(cmd_flags & CMD_ADMIN))
		return in_group(gid, groups, ngroups, group);
	return in_group(gid, groups, ngroups, admin_gid);
}

static int
peer_allowed(const struct ctl_client *c, const struct cmd_entry *ce)
{
	return control_may(c->uid, c->gid, c->groups, c->ngroups, ce->flags, geteuid(),
	    c->ctl->group, c->ctl->admin_gid);
}

/*
 * admin_group's id, looked up at start and at each reload, never per
 * request: a slow NSS source (LDAP) would hold the event loop, and capture
 * with it. A group made later counts from the next reload; one that does
 * not exist is said, and admits nobody meanwhile.
 */
static void
resolve_admin(struct control *ctl)
{
	const char *name = ctl->p.admin_group;
	struct group *gr;

	ctl->admin_gid = (gid_t)-1;
	if (name == NULL || name[0] == '\0')
		return;
	if ((gr = getgrnam(name)) == NULL) {
		log_warnx("admin_group \"%s\" does not exist: submit and reload are for root and "
		          "the daemon's user until it does and the configuration is reloaded",
		    name);
		return;
	}
	ctl->admin_gid = gr->gr_gid;
}

static void
peer_credentials(struct ctl_client *c, int fd)
{
	struct ucred uc;
	socklen_t len = sizeof uc;

	c->uid = (uid_t)-1;
	c->gid = (gid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0) {
		c->uid = uc.uid;
		c->gid = uc.gid;
		c->pid = uc.pid;
	}
	/* Supplementary groups: ask with a small buffer, then with the size the kernel wants. */
	len = 32 * sizeof(gid_t);
	c->groups = xmalloc(len);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, c->groups, &len) == -1) {
		if (errno != ERANGE || len > MAX_PEER_GROUPS * sizeof(gid_t))
			return;
		c->groups = xreallocarray(c->groups, 1, len);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, c->groups, &len) == -1)
			return;
	}
	c->ngroups = (int)(len / sizeof(gid_t));
}

/* --- requests ------------------------------------------------------------ */

static void
dispatch(struct ctl_client *c, int argc, char **argv)
{
	const struct cmd_entry *ce = cmd_find(argv[0]);
	char *cause = NULL;

	c->ctl->requests++;
	if (ce == NULL) {
		ctl_reply_error(c, "unknown command \"%.64s\"", argv[0]);
		return;
	}
	if (cmd_check_args(ce, argc - 1, &cause) == -1) {
		ctl_reply_error(c, "%s", cause);
		free(cause);
		return;
	}
	if (!peer_allowed(c, ce)) {
		c->ctl->refused++;
		log_info(
		    "control: %s refused to uid %d (pid %d)", ce->name, (int)c->uid, (int)c->pid);
		ctl_reply_error(c, "%s: permission denied: %s", ce->name,
		    ce->flags & CMD_ADMIN ? "root or a member of admin_group only"
		                          : "not a member of the control group");
		return;
	}
	log_debug("control: %s from uid %d (pid %d)", ce->name, (int)c->uid, (int)c->pid);
	c->ctl->p.handlers[ce - cmd_table](c, argc, argv, c->ctl->p.arg);
}

/* A whole request has arrived (or a bad header): check it and answer. */
static void
read_request(struct ctl_client *c, struct evbuffer *in)
{
	char *cause = NULL, **argv;
	int argc;

	if (!c->have_hdr) {
		if (evbuffer_get_length(in) < PROTO_HDR_LEN)
			return;
		evbuffer_remove(in, &c->hdr, PROTO_HDR_LEN);
		c->have_hdr = 1;
		if (proto_request_check_hdr(&c->hdr, &cause) == -1)
			goto bad;
	}
	if (evbuffer_get_length(in) < c->hdr.len)
		return;
	if (evbuffer_get_length(in) > c->hdr.len) {
		xasprintf(&cause, "bytes after the request");
		goto bad;
	}
	if (proto_request_decode(
	        evbuffer_pullup(in, c->hdr.len), c->hdr.len, &argc, &argv, &cause) == -1)
		goto bad;
	evbuffer_drain(in, c->hdr.len);
	evtimer_del(c->deadline);
	bufferevent_disable(c->bev, EV_READ);
	dispatch(c, argc, argv);
	free(argv);
	return;
bad:
	log_debug("control: bad request from uid %d (pid %d): %s", (int)c->uid, (int)c->pid, cause);
	evtimer_del(c->deadline);
	ctl_reply_error(c, "bad request: %s", cause);
	free(cause);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct ctl_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (c->state == C_READ)
		read_request(c, in);
	else
		evbuffer_drain(in, evbuffer_get_length(in));
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct ctl_client *c = arg;

	if (c->state == C_STREAM)
		stream_more(c);
	else if (c->state == C_DONE && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		client_free(c);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_client *c = arg;

	if (what & BEV_EVENT_TIMEOUT)
		log_debug("control: client uid %d (pid %d) read nothing of its reply in time",
		    (int)c->uid, (int)c->pid);
	client_free(c);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_client *c = arg;

	log_debug("control: client uid %d (pid %d) did not send its request in time", (int)c->uid,
	    (int)c->pid);
	ctl_reply_error(c, "bad request: not complete within %u ms", c->ctl->p.request_ms);
}

/* --- clients and the socket ---------------------------------------------- */

static void
client_free(struct ctl_client *c)
{
	struct control *ctl = c->ctl;

	TAILQ_REMOVE(&ctl->clients, c, entry);
	ctl->nclients--;
	evtimer_del(c->deadline);
	stream_end(c);
	bufferevent_free(c->bev);
	event_free(c->more);
	event_free(c->deadline);
	free(c->groups);
	free(c);
	if (ctl->paused && ctl->listener != NULL) {
		ctl->paused = 0;
		if (!accept_guard_paused(ctl->guard))
			evconnlistener_enable(ctl->listener);
	}
}

/* Should the listener accept, when a pause for want of descriptors ends? */
static int
may_accept(void *arg)
{
	struct control *ctl = arg;

	return ctl->serving && !ctl->paused;
}

static void
on_listen_error(struct evconnlistener *lst, void *arg)
{
	(void)lst;
	accept_guard_error(((struct control *)arg)->guard);
}

static unsigned
clients_of(const struct control *ctl, uid_t uid)
{
	const struct ctl_client *c;
	unsigned n = 0;

	TAILQ_FOREACH(c, &ctl->clients, entry)
	n += c->uid == uid;
	return n;
}

/*
 * One connection too many for its uid: say so in one message the socket
 * buffer takes whole (the client may read nothing), and close.
 */
static void
refuse_busy(struct control *ctl, int fd, uid_t uid)
{
	uint8_t msg[2 * PROTO_HDR_LEN + 192], *p = msg;
	uint32_t status = PROTO_ERROR;
	struct proto_hdr h;
	char text[160];
	int n;

	ctl->refused++;
	n = snprintf(text, sizeof text,
	    "{\"error\":\"uid %d has %u connections open already: try again later\"}", (int)uid,
	    ctl->p.max_per_uid);
	proto_hdr_make(&h, PROTO_DATA, (uint32_t)n);
	memcpy(p, &h, sizeof h);
	memcpy(p += sizeof h, text, (size_t)n);
	proto_hdr_make(&h, PROTO_EXIT, sizeof status);
	memcpy(p += n, &h, sizeof h);
	memcpy(p += sizeof h, &status, sizeof status);
	p += sizeof status;
	if (send(fd, msg, (size_t)(p - msg), MSG_DONTWAIT | MSG_NOSIGNAL) == -1)
		log_debug("control: cannot tell uid %d it has too many connections", (int)uid);
	close(fd);
}

static void
on_accept(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct control *ctl = arg;
	struct timeval wto = {ctl->p.write_ms / 1000, (ctl->p.write_ms % 1000) * 1000},
	               rto = {ctl->p.request_ms / 1000, (ctl->p.request_ms % 1000) * 1000};
	struct ctl_client *c;

	accept_guard_ok(ctl->guard);
	c = xcalloc(1, sizeof *c);
	c->ctl = ctl;
	peer_credentials(c, fd);
	/* Root could stop the daemon anyway: its bursts wait in the backlog instead. */
	if (c->uid != 0 && clients_of(ctl, c->uid) >= ctl->p.max_per_uid) {
		refuse_busy(ctl, fd, c->uid);
		free(c->groups);
		free(c);
		return;
	}
	c->bev = bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		log_warnx("control: cannot serve a client");
		close(fd);
		free(c->groups);
		free(c);
		return;
	}
	bufferevent_priority_set(c->bev, ctl->p.priority); /* capture goes first */
	c->more = evtimer_new(ctl->base, on_more, c);
	c->deadline = evtimer_new(ctl->base, on_deadline, c);
	event_priority_set(c->deadline, ctl->p.priority);
	event_priority_set(c->more, ctl->p.priority);
	evtimer_add(c->deadline, &rto);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_set_timeouts(c->bev, NULL, &wto);
	/* Never buffer more than one request's worth of input. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, PROTO_HDR_LEN + PROTO_MAX_REQUEST + 1);
	bufferevent_enable(c->bev, EV_READ);
	TAILQ_INSERT_TAIL(&ctl->clients, c, entry);
	if (++ctl->nclients >= ctl->p.max_clients) {
		ctl->paused = 1;
		evconnlistener_disable(lst);
	}
}

static int
fill_addr(struct sockaddr_un *sun, const char *path, char **cause)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun->sun_path) {
		xasprintf(cause, "control socket path %s is too long (at most %zu bytes)", path,
		    sizeof sun->sun_path - 1);
		return -1;
	}
	strcpy(sun->sun_path, path);
	return 0;
}

/*
 * A socket file already there: if a daemon answers on it, refuse to start
 * (never steal a live daemon's socket); if nobody does, it is stale: remove it.
 */
static int
remove_stale(const char *path, const struct sockaddr_un *sun, char **cause)
{
	struct stat st;
	int fd, err;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		xasprintf(cause, "%s exists and is not a socket: not replacing it", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -1;
	}
	err = connect(fd, (const struct sockaddr *)sun, sizeof *sun) == 0 ? 0 : errno;
	close(fd);
	if (err == 0 || err == EAGAIN || err == EINPROGRESS) {
		xasprintf(cause, "%s: another traceflowd is running and answers on it", path);
		return -1;
	}
	if (err != ECONNREFUSED && err != ENOENT) {
		xasprintf(
		    cause, "%s: cannot tell whether a daemon answers: %s", path, strerror(err));
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		xasprintf(cause, "cannot remove stale %s: %s", path, strerror(errno));
		return -1;
	}
	log_info("removed a stale control socket %s", path);
	return 0;
}

/* The socket's folder, if missing (without systemd's RuntimeDirectory). */
static void
make_parent(const char *path)
{
	char *copy = xstrdup(path), *dir = dirname(copy);

	if (access(dir, F_OK) == -1 && spool_mkdir(dir, 0755) == 0)
		log_info("created %s", dir);
	free(copy);
}

/*
 * Whoever may swap what the socket's folder holds could put a server of
 * their own in the socket's place, and root's traceflowctl reload would
 * talk to it: the folder is checked as the spool's way is (spool.h).
 */
static int
check_parent(struct control *ctl, const char *path, char **cause)
{
	struct spool_owner own = {ctl->p.owner_uid, (gid_t)-1};
	char *copy = xstrdup(path), *why = NULL;
	int rc;

	rc = spool_check_folder(dirname(copy), &own, &why);
	if (rc == -1) {
		xasprintf(cause, "control socket %s refused: %s", path, why);
		free(why);
	}
	free(copy);
	return rc;
}

static int
resolve_group(struct control *ctl, const char *name, char **cause)
{
	struct group *gr;

	ctl->group = getegid();
	if (name == NULL || name[0] == '\0')
		return 0;
	if ((gr = getgrnam(name)) == NULL) {
		xasprintf(cause, "group \"%s\" (setting control_group) does not exist", name);
		return -1;
	}
	ctl->group = gr->gr_gid;
	return 0;
}

/*
 * Bind with a umask that leaves the socket to its owner, then hand it to
 * the group: no moment in which others could connect.
 */
static int
bind_socket(struct control *ctl, int mode, char **cause)
{
	const char *path = ctl->p.path;
	struct sockaddr_un sun;
	mode_t old;
	gid_t egid;
	int fd, rc, saved;

	if (fill_addr(&sun, path, cause) == -1)
		return -1;
	make_parent(path);
	if (check_parent(ctl, path, cause) == -1 || remove_stale(path, &sun, cause) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -1;
	}
	/*
	 * The socket is born with its mode and group: a chown or chmod by path
	 * after bind() would follow a link that the daemon user (who may own
	 * the socket's folder) renamed over it, and root would change the
	 * target. The mode comes from the umask, the group from the effective
	 * group while binding.
	 */
	old = umask(~(mode_t)mode & 0777);
	egid = getegid();
	if (geteuid() == 0 && ctl->group != egid && setegid(ctl->group) == -1) {
		umask(old);
		xasprintf(cause, "setegid %u: %s", (unsigned)ctl->group, strerror(errno));
		goto fail;
	}
	rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	saved = errno;
	umask(old);
	if (getegid() != egid && setegid(egid) == -1)
		fatal("setegid back to %u", (unsigned)egid);
	errno = saved;
	if (rc == -1) {
		xasprintf(cause, "bind %s: %s", path, strerror(errno));
		goto fail;
	}
	/* Not root: no link can turn this against anyone but ourselves. */
	if ((geteuid() != 0 && ctl->group != getegid() &&
	        chown(path, (uid_t)-1, ctl->group) == -1) ||
	    listen(fd, BACKLOG) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static void
params_copy(struct control_params *to, const struct control_params *from)
{
	*to = *from;
	to->path = xstrdup(from->path);
	to->admin_group = from->admin_group != NULL ? xstrdup(from->admin_group) : NULL;
	to->group = NULL; /* resolved once, at bind */
	if (to->request_ms == 0)
		to->request_ms = CONTROL_REQUEST_MS;
	if (to->write_ms == 0)
		to->write_ms = CONTROL_WRITE_MS;
	if (to->max_clients == 0)
		to->max_clients = CONTROL_MAX_CLIENTS;
	if (to->max_per_uid == 0)
		to->max_per_uid = CONTROL_MAX_PER_UID;
}

static void
params_free(struct control_params *p)
{
	free((char *)p->path);
	free((char *)p->admin_group);
}

struct control *
control_new(struct event_base *base, const struct control_params *p, char **cause)
{
	struct control *ctl;
	int fd;

	ctl = xcalloc(1, sizeof *ctl);
	ctl->base = base;
	params_copy(&ctl->p, p);
	TAILQ_INIT(&ctl->clients);
	if (resolve_group(ctl, p->group, cause) == -1 ||
	    (fd = bind_socket(ctl, p->mode, cause)) == -1)
		goto fail;
	resolve_admin(ctl);
	ctl->listener = evconnlistener_new(
	    base, on_accept, ctl, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (ctl->listener == NULL) {
		xasprintf(cause, "%s: cannot listen", ctl->p.path);
		close(fd);
		unlink(ctl->p.path);
		goto fail;
	}
	/* Clients are served once the daemon says so. */
	evconnlistener_disable(ctl->listener);
	evconnlistener_set_error_cb(ctl->listener, on_listen_error);
	ctl->guard = accept_guard_new(base, ctl->listener, "control", may_accept, ctl);
	log_info("control socket %s (mode %04o, group %s)", ctl->p.path, p->mode,
	    p->group && p->group[0] ? p->group : "(daemon's)");
	return ctl;
fail:
	params_free(&ctl->p);
	free(ctl);
	return NULL;
}

void
control_enable(struct control *ctl)
{
	ctl->serving = 1;
	evconnlistener_enable(ctl->listener);
}

void
control_set_admin_group(struct control *ctl, const char *name)
{
	free((char *)ctl->p.admin_group);
	ctl->p.admin_group = name != NULL ? xstrdup(name) : NULL;
	resolve_admin(ctl);
}

void
control_counts(const struct control *ctl, unsigned *clients, uint64_t *requests, uint64_t *refused)
{
	*clients = ctl->nclients;
	*requests = ctl->requests;
	*refused = ctl->refused;
}

void
control_free(struct control *ctl)
{
	if (ctl == NULL)
		return;
	accept_guard_free(ctl->guard);
	evconnlistener_free(ctl->listener);
	ctl->listener = NULL;
	while (!TAILQ_EMPTY(&ctl->clients))
		client_free(TAILQ_FIRST(&ctl->clients));
	/* After the privilege drop this may fail; the next start replaces a stale socket. */
	if (unlink(ctl->p.path) == -1 && errno != ENOENT)
		log_debug("unlink %s: %s", ctl->p.path, strerror(errno));
	params_free(&ctl->p);
	free(ctl);
}
