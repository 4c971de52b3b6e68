/*
 * export.c: IPFIX export of finished flows: the queue, the thread, the
 * connection to the collector.
 *
 * ipfix.c encodes (through libfixbuf) into memory; libfixbuf's own network
 * exporter is passed over: it blocks and says nothing of what became of a
 * record when a connection breaks. So this file moves the bytes: a socket
 * of its own, reconnection with backoff, and accounting of every record.
 *
 * The main thread only queues (export_record: a lock and a copy). The export
 * thread takes the queue, encodes, sends. Over TCP a record counts as sent
 * once the collector's kernel has acknowledged its bytes (what is still in
 * our send queue is not); when the connection breaks, records not yet
 * acknowledged go back to the head of the queue and are sent again on the
 * next connection, after the templates. Over UDP nothing is acknowledged: a
 * record counts as sent when its datagram left. The queue is bounded
 * (queue_max records, waiting and unacknowledged together): beyond it a
 * record is counted as lost and a line says so (at most every 10 seconds).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "export.h"
#include "ipfix.h"
#include "log.h"
#include "xmalloc.h"

#define MTU_UDP         1400 /* one datagram, within an Ethernet MTU */
#define BACKOFF_MIN_NS  (500 * 1000000ULL)
#define BACKOFF_MAX_NS  (8 * 1000000000ULL)
#define ACK_POLL_NS     (20 * 1000000ULL)   /* unacknowledged bytes: look again this soon */
#define IDLE_NS         (1000000000ULL)     /* idle: look at the connection this often */
#define EXIT_GRACE_NS   (3 * 1000000000ULL) /* at exit, how long the queue may take to go out */
#define CONNECT_TIMEOUT 3000                /* ms */
#define SEND_TIMEOUT    5                   /* s: a collector that takes nothing is down */
#define STALL_NS        (SEND_TIMEOUT * 1000000000ULL) /* ... and so is one that acks nothing */
#define LOG_EVERY_NS    (10 * 1000000000ULL)
#define STR_(x)         #x
#define STR(x)          STR_(x)

/* A queued record: the flow to encode, its strings after it. */
struct xrec {
	STAILQ_ENTRY(xrec) entry;
	uint64_t end_off; /* TCP: stream offset at the end of its message; 0 = not yet written */
	struct ipfix_flow f;
	char s[]; /* label, fpout, iface, each NUL-terminated */
};
STAILQ_HEAD(xrec_list, xrec);

struct exporter {
	struct export_config cfg;
	char *collector; /* our copy */
	char *host, *port;

	/* The encoder (libfixbuf): the thread's alone once started. */
	struct ipfix *ipfix;

	/* The connection: the thread's alone. */
	int fd;
	uint64_t off;      /* bytes sent on this connection */
	uint64_t retry_at; /* CLOCK_MONOTONIC ns */
	uint64_t backoff;
	uint64_t tmpl_at;     /* UDP: when templates went out last */
	int failing;          /* in an episode of failure (logged once) */
	uint64_t acked;       /* TCP: bytes of this connection acknowledged so far */
	uint64_t stall_since; /* TCP: since when bytes wait and nothing more was acknowledged */
	int announced;
	struct xrec_list inflight; /* written, not yet acknowledged (TCP) */

	/* Shared, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct xrec_list queue;
	uint64_t nqueue, ninflight;
	uint64_t sent, lost, lost_at_exit, connects;
	uint64_t lost_logged_at, lost_logged;
	int connected;
	int stop;
	pthread_t thread;
};

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* --- the collector's address ---------------------------------------------- */

static int
split_hostport(const char *s, char **host, char **port, char **why)
{
	const char *colon, *h = s, *hend;
	char *end;
	unsigned long p;

	if (s[0] == '[') {
		h = s + 1;
		if ((hend = strchr(h, ']')) == NULL || hend[1] != ':')
			goto bad;
		colon = hend + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL || strchr(s, ':') != colon)
			goto bad;
		hend = colon;
	}
	if (hend == h)
		goto bad;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || p < 1 || p > 65535)
		goto bad;
	if (host != NULL) {
		*host = xcalloc(1, (size_t)(hend - h) + 1);
		memcpy(*host, h, (size_t)(hend - h));
		*port = xstrdup(colon + 1);
	}
	return 0;
bad:
	xasprintf(why, "\"%s\" is not host:port (an IPv6 address in brackets: [::1]:4739)", s);
	return -1;
}

int
export_check_collector(const char *s, char **why)
{
	if (s == NULL || s[0] == '\0')
		return 0;
	return split_hostport(s, NULL, NULL, why);
}

/* --- the connection (export thread) --------------------------------------- */

static void
set_connected(struct exporter *x, int up)
{
	pthread_mutex_lock(&x->lock);
	x->connected = up;
	if (up && x->cfg.transport == EXPORT_TCP)
		x->connects++;
	pthread_mutex_unlock(&x->lock);
}

/* Unacknowledged records go back to the head of the queue, to be sent again. */
static void
requeue_inflight(struct exporter *x)
{
	struct xrec *r;

	STAILQ_FOREACH(r, &x->inflight, entry)
	r->end_off = 0; /* offsets of a connection that is gone */
	pthread_mutex_lock(&x->lock);
	STAILQ_CONCAT(&x->inflight, &x->queue);
	STAILQ_CONCAT(&x->queue, &x->inflight);
	x->nqueue += x->ninflight;
	x->ninflight = 0;
	pthread_mutex_unlock(&x->lock);
}

static void
disconnect(struct exporter *x, const char *why)
{
	if (x->fd != -1) {
		close(x->fd);
		x->fd = -1;
		set_connected(x, 0);
	}
	requeue_inflight(x);
	/* A message half made, and what was not sent, are thrown away: sent again. */
	ipfix_abandon(x->ipfix);
	x->retry_at = mono_ns() + x->backoff;
	if (!x->failing)
		log_warnx("ipfix: collector %s: %s; records wait in memory (at most %" PRIu64
		          ") and the connection is tried again",
		    x->collector, why, x->cfg.queue_max);
	x->failing = 1;
	log_debug("ipfix: next try in %llu ms", (unsigned long long)(x->backoff / 1000000ULL));
	x->backoff = x->backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : x->backoff * 2;
}

static int
connect_timeout(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	socklen_t elen = sizeof(int);
	int e = 0, n;

	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -1;
	while ((n = poll(&pfd, 1, CONNECT_TIMEOUT)) == -1 && errno == EINTR)
		;
	if (n == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (n == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
		return -1;
	if (e != 0) {
		errno = e;
		return -1;
	}
	return 0;
}

static int send_templates(struct exporter *x);

static int
connect_collector(struct exporter *x)
{
	struct addrinfo hints, *res, *ai;
	struct timeval tv = {.tv_sec = SEND_TIMEOUT};
	char why[256];
	int fd = -1, rc, saved = 0;

	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = x->cfg.transport == EXPORT_TCP ? SOCK_STREAM : SOCK_DGRAM;
	if ((rc = getaddrinfo(x->host, x->port, &hints, &res)) != 0) {
		disconnect(x, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd == -1)
			continue;
		if (connect_timeout(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(why, sizeof why, "%s", strerror(saved ? saved : EHOSTUNREACH));
		disconnect(x, why);
		return -1;
	}
	/* Blocking from now on, with a bound: the thread is ours, capture never waits on it. */
	rc = 0;
	ioctl(fd, FIONBIO, &rc);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	x->fd = fd;
	x->off = 0;
	x->acked = 0;
	x->stall_since = 0;
	ipfix_out_clear(x->ipfix);
	set_connected(x, 1);
	if (send_templates(x) == -1)
		return -1;
	if (x->failing)
		log_info("ipfix: collector %s: connected again", x->collector);
	else if (!x->announced)
		log_info("ipfix: exporting to %s over %s, observation domain %" PRIu32,
		    x->collector, x->cfg.transport == EXPORT_TCP ? "tcp" : "udp", x->cfg.domain);
	x->announced = 1;
	x->failing = 0;
	x->backoff = BACKOFF_MIN_NS;
	return 0;
}

/* Bytes encoded, not yet sent. */
static size_t
unsent(const struct exporter *x)
{
	size_t len;

	ipfix_out(x->ipfix, &len);
	return len;
}

/* Bytes made on this connection so far: sent, and waiting in the encoder's output. */
static uint64_t
made(const struct exporter *x)
{
	return x->off + unsent(x);
}

/* Send what libfixbuf made: one stream (TCP), one datagram a message (UDP). -1: broken. */
static int
flush_out(struct exporter *x)
{
	size_t done = 0, len, out_len;
	const uint8_t *out = ipfix_out(x->ipfix, &out_len);
	ssize_t n;
	char why[128];

	while (done < out_len && x->fd != -1) {
		len = out_len - done;
		if (x->cfg.transport == EXPORT_UDP) {
			/* The IPFIX header says how long the message is. */
			len = len < 4 ? len : (size_t)(out[done + 2] << 8 | out[done + 3]);
			if (len < 16 || len > out_len - done)
				len = out_len - done;
		}
		n = send(x->fd, out + done, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(why, sizeof why, "send: %s",
			    errno == EAGAIN ? "it takes nothing (timed out)" : strerror(errno));
			disconnect(x, why);
			return -1;
		}
		done += (size_t)n;
		x->off += (uint64_t)n;
	}
	ipfix_out_clear(x->ipfix);
	return x->fd == -1 ? -1 : 0;
}

static int
send_templates(struct exporter *x)
{
	x->tmpl_at = mono_ns();
	ipfix_templates(x->ipfix);
	return flush_out(x);
}

/*
 * A collector that stopped reading but keeps the connection: once its
 * window is shut, our bytes wait and nothing times out, since nothing more
 * is sent while the queue is full of records waiting for it. Bytes waiting
 * with no acknowledgement for STALL_NS: the connection is given up, and its
 * records go out again on the next one.
 */
static int
stalled(struct exporter *x, uint64_t acked, int outq)
{
	uint64_t now = mono_ns();

	if (outq <= 0 || acked > x->acked || x->stall_since == 0) {
		x->acked = acked;
		x->stall_since = outq > 0 ? now : 0;
		return 0;
	}
	return now - x->stall_since >= STALL_NS;
}

/*
 * Records whose bytes are through count as sent: over TCP, acknowledged
 * by the collector's kernel (what waits in our send queue is not); over
 * UDP, sent. The send queue is read while the connection stands: after a
 * reset the kernel empties it, which would look like everything arrived.
 */
static void
confirm(struct exporter *x)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	struct xrec *r;
	uint64_t acked = x->off, n = 0;
	int outq = 0, up = 1;

	if (x->fd == -1)
		return;
	if (x->cfg.transport == EXPORT_TCP) {
		if (getsockopt(x->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1) {
			disconnect(x, strerror(errno));
			return;
		}
		up = ti.tcpi_state == TCP_ESTABLISHED;
		if ((!up && ti.tcpi_state != TCP_CLOSE_WAIT) || ioctl(x->fd, SIOCOUTQ, &outq) == -1)
			acked = 0;
		else
			acked = x->off - (uint64_t)outq;
	}
	if (up && stalled(x, acked, outq)) {
		disconnect(x, "it took nothing for " STR(SEND_TIMEOUT) " s (stalled)");
		return;
	}
	while ((r = STAILQ_FIRST(&x->inflight)) != NULL && r->end_off != 0 && r->end_off <= acked) {
		STAILQ_REMOVE_HEAD(&x->inflight, entry);
		free(r);
		n++;
	}
	if (n > 0) {
		pthread_mutex_lock(&x->lock);
		x->ninflight -= n;
		x->sent += n;
		pthread_mutex_unlock(&x->lock);
	}
	if (!up)
		disconnect(x, "the collector closed the connection");
}

/* A record that cannot be encoded (cannot happen with our templates): counted, never silent. */
static struct xrec *
drop_record(struct exporter *x, struct xrec *r, char *why)
{
	struct xrec *next = STAILQ_NEXT(r, entry);

	log_warnx("ipfix: a record could not be encoded: %s", why);
	free(why);
	STAILQ_REMOVE(&x->inflight, r, xrec, entry);
	free(r);
	pthread_mutex_lock(&x->lock);
	x->ninflight--;
	x->lost++;
	pthread_mutex_unlock(&x->lock);
	return next;
}

/* Records from first up to (not including) until are in the bytes made so far. */
static void
mark_made(struct exporter *x, struct xrec *first, struct xrec *until)
{
	struct xrec *r;

	for (r = first; r != NULL && r != until; r = STAILQ_NEXT(r, entry))
		r->end_off = made(x);
}

/*
 * Encode and send what is queued. The records move to the end of inflight
 * first, so that if the connection breaks, disconnect() puts all of them
 * back, in order. Each learns where its message ends in the stream
 * (end_off), which confirm() holds against what went through. -1 when the
 * connection broke.
 */
static int
send_queue(struct exporter *x)
{
	struct xrec *r, *pending = NULL;
	uint64_t before;
	char *why = NULL;
	int rc;

	pthread_mutex_lock(&x->lock);
	r = STAILQ_FIRST(&x->queue);
	STAILQ_CONCAT(&x->inflight, &x->queue);
	x->ninflight += x->nqueue;
	x->nqueue = 0;
	pthread_mutex_unlock(&x->lock);
	if (r == NULL)
		return 0;
	/* UDP: the templates again now and then, for collectors that started after us. */
	if (x->cfg.transport == EXPORT_UDP && mono_ns() - x->tmpl_at >= x->cfg.refresh_ns &&
	    send_templates(x) == -1)
		return -1;
	while (r != NULL) {
		before = made(x);
		rc = ipfix_append(x->ipfix, &r->f, &why);
		/* A message ended before this record: the ones before it were in it. */
		if (made(x) != before) {
			mark_made(x, pending, r);
			pending = NULL;
		}
		if (rc == -1) {
			r = drop_record(x, r, why);
			continue;
		}
		if (pending == NULL)
			pending = r;
		r = STAILQ_NEXT(r, entry);
		if (unsent(x) >= 256 * 1024 && flush_out(x) == -1)
			return -1;
	}
	ipfix_emit(x->ipfix);
	mark_made(x, pending, NULL);
	if (flush_out(x) == -1)
		return -1;
	confirm(x);
	return 0;
}

/* --- the thread ----------------------------------------------------------- */

/* How long to sleep when nothing is queued. */
static uint64_t
idle_wait(struct exporter *x, uint64_t now)
{
	uint64_t due;

	if (x->fd == -1)
		return x->retry_at > now ? x->retry_at - now : 0;
	if (!STAILQ_EMPTY(&x->inflight))
		return ACK_POLL_NS;
	if (x->cfg.transport == EXPORT_UDP) {
		due = x->tmpl_at + x->cfg.refresh_ns;
		return due > now ? (due - now < IDLE_NS ? due - now : IDLE_NS) : 0;
	}
	return IDLE_NS;
}

static void
sleep_locked(struct exporter *x, uint64_t ns)
{
	struct timespec ts;
	uint64_t t;

	clock_gettime(CLOCK_REALTIME, &ts);
	t = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec + ns;
	ts.tv_sec = (time_t)(t / 1000000000ULL);
	ts.tv_nsec = (long)(t % 1000000000ULL);
	pthread_cond_timedwait(&x->wake, &x->lock, &ts);
}

static void *
export_main(void *arg)
{
	struct exporter *x = arg;
	uint64_t now, deadline = 0, wait;
	int stopping, have;

	for (;;) {
		now = mono_ns();
		pthread_mutex_lock(&x->lock);
		have = x->nqueue > 0;
		stopping = x->stop;
		if (!stopping && (!have || x->fd == -1) && (wait = idle_wait(x, now)) > 0) {
			sleep_locked(x, wait);
			have = x->nqueue > 0;
			stopping = x->stop;
		}
		pthread_mutex_unlock(&x->lock);
		now = mono_ns();
		if (stopping) {
			if (deadline == 0)
				deadline = now + EXIT_GRACE_NS;
			if ((!have && STAILQ_EMPTY(&x->inflight)) || now >= deadline)
				break;
		}
		if (x->fd == -1) {
			if (now < x->retry_at) {
				if (stopping) /* no backoff left at exit: one more try, then give up
				               */
					usleep(50000);
				continue;
			}
			if (connect_collector(x) == -1)
				continue;
		}
		confirm(x);
		if (x->fd != -1 && have)
			send_queue(x);
		else if (x->fd != -1 && x->cfg.transport == EXPORT_UDP &&
		         now - x->tmpl_at >= x->cfg.refresh_ns)
			send_templates(x);
		if (stopping && x->fd != -1 && !STAILQ_EMPTY(&x->inflight))
			usleep(ACK_POLL_NS / 1000);
	}
	return NULL;
}

/* --- the main thread's side ----------------------------------------------- */

struct exporter *
export_new(const struct export_config *cfg, char **cause)
{
	struct exporter *x;
	struct ipfix_config ipc;
	char *why = NULL;

	if (cfg->collector == NULL || cfg->collector[0] == '\0')
		return NULL;
	x = xcalloc(1, sizeof *x);
	x->cfg = *cfg;
	x->collector = xstrdup(cfg->collector);
	x->cfg.collector = x->collector;
	if (x->cfg.queue_max == 0)
		x->cfg.queue_max = 1;
	x->fd = -1;
	x->backoff = BACKOFF_MIN_NS;
	STAILQ_INIT(&x->queue);
	STAILQ_INIT(&x->inflight);
	pthread_mutex_init(&x->lock, NULL);
	pthread_cond_init(&x->wake, NULL);
	if (split_hostport(x->collector, &x->host, &x->port, &why) == -1) {
		xasprintf(cause, "ipfix_collector: %s", why);
		free(why);
		goto fail;
	}
	ipc.domain = x->cfg.domain;
	ipc.pen = x->cfg.pen;
	/* UDP: a message must fit a datagram. */
	ipc.msg_max = x->cfg.transport == EXPORT_UDP ? MTU_UDP : 0;
	if ((x->ipfix = ipfix_new(&ipc, cause)) == NULL)
		goto fail;
	if (pthread_create(&x->thread, NULL, export_main, x) != 0) {
		xasprintf(cause, "cannot start the IPFIX export thread");
		goto fail;
	}
	return x;
fail:
	ipfix_free(x->ipfix);
	free(x->host);
	free(x->port);
	free(x->collector);
	free(x);
	return NULL;
}

static void
free_list(struct xrec_list *l)
{
	struct xrec *r;

	while ((r = STAILQ_FIRST(l)) != NULL) {
		STAILQ_REMOVE_HEAD(l, entry);
		free(r);
	}
}

void
export_free(struct exporter *x)
{
	if (x == NULL)
		return;
	pthread_mutex_lock(&x->lock);
	x->stop = 1;
	pthread_cond_signal(&x->wake);
	pthread_mutex_unlock(&x->lock);
	pthread_join(x->thread, NULL);
	/* What did not go out in time is lost, and said so. */
	x->lost_at_exit = x->nqueue + x->ninflight;
	x->lost += x->lost_at_exit;
	log_info("ipfix: %" PRIu64 " records sent to %s, %" PRIu64 " lost (%" PRIu64
	         " not sent at exit)",
	    x->sent, x->collector, x->lost, x->lost_at_exit);
	free_list(&x->queue);
	free_list(&x->inflight);
	if (x->fd != -1)
		close(x->fd);
	ipfix_free(x->ipfix);
	pthread_mutex_destroy(&x->lock);
	pthread_cond_destroy(&x->wake);
	free(x->host);
	free(x->port);
	free(x->collector);
	free(x);
}

/* Lost records: a line when it starts, then at most one every LOG_EVERY_NS. */
static void
count_lost(struct exporter *x)
{
	uint64_t now = mono_ns(), lost, since;

	x->lost++;
	if (x->lost_logged != 0 && now - x->lost_logged_at < LOG_EVERY_NS)
		return;
	lost = x->lost;
	since = lost - x->lost_logged;
	x->lost_logged = lost;
	x->lost_logged_at = now;
	pthread_mutex_unlock(&x->lock);
	log_warnx("ipfix: %" PRIu64 " records queued for %s (the most ipfix_queue allows): %" PRIu64
	          " records lost (%" PRIu64 " so far)",
	    x->cfg.queue_max, x->collector, since, lost);
	pthread_mutex_lock(&x->lock);
}

/* The record of the index line, compact, in one allocation with its strings. */
static struct xrec *
xrec_of(const struct index_record *r)
{
	size_t ll = strlen(r->label), fl = strlen(r->fpout), il = r->iface ? strlen(r->iface) : 0;
	struct xrec *q = xmalloc(sizeof *q + ll + fl + il + 3);
	struct ipfix_flow *f = &q->f;

	memset(q, 0, sizeof *q);
	f->first_ns = r->first_ns;
	f->last_ns = r->last_ns;
	f->packets = r->packets;
	f->ipbytes = r->ipbytes;
	f->af = strchr(r->src, ':') != NULL ? 6 : 4;
	inet_pton(f->af == 6 ? AF_INET6 : AF_INET, r->src, f->src);
	inet_pton(f->af == 6 ? AF_INET6 : AF_INET, r->dst, f->dst);
	f->srcport = r->srcport;
	f->dstport = r->dstport;
	f->vlan[0] = r->nvlan > 0 ? r->vlan[0] : 0;
	f->vlan[1] = r->nvlan > 1 ? r->vlan[1] : 0;
	f->tcpflags = r->tcpflags;
	f->reason = r->reason;
	f->partial = r->partial;
	f->label_len = (uint16_t)ll;
	f->fpout_len = (uint16_t)fl;
	f->iface_len = (uint16_t)il;
	memcpy(q->s, r->label, ll + 1);
	memcpy(q->s + ll + 1, r->fpout, fl + 1);
	memcpy(q->s + ll + fl + 2, r->iface ? r->iface : "", il + 1);
	f->label = q->s;
	f->fpout = q->s + ll + 1;
	f->iface = q->s + ll + fl + 2;
	return q;
}

void
export_record(struct exporter *x, const struct index_record *r)
{
	struct xrec *q;

	if (x == NULL)
		return;
	pthread_mutex_lock(&x->lock);
	if (x->nqueue + x->ninflight >= x->cfg.queue_max) {
		count_lost(x);
		pthread_mutex_unlock(&x->lock);
		return;
	}
	pthread_mutex_unlock(&x->lock);

	q = xrec_of(r);
	pthread_mutex_lock(&x->lock);
	STAILQ_INSERT_TAIL(&x->queue, q, entry);
	x->nqueue++;
	pthread_cond_signal(&x->wake);
	pthread_mutex_unlock(&x->lock);
}

void
export_stats(struct exporter *x, struct export_stats *st)
{
	memset(st, 0, sizeof *st);
	if (x == NULL)
		return;
	pthread_mutex_lock(&x->lock);
	st->sent = x->sent;
	st->lost = x->lost;
	st->queued = x->nqueue + x->ninflight;
	st->connects = x->connects;
	st->connected = x->connected;
	pthread_mutex_unlock(&x->lock);
}

json_t *
export_stats_json(struct exporter *x)
{
	struct export_stats st;

	if (x == NULL)
		return json_null();
	export_stats(x, &st);
	return json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:b}", "collector", x->collector, "transport",
	    x->cfg.transport == EXPORT_TCP ? "tcp" : "udp", "sent", (json_int_t)st.sent, "lost",
	    (json_int_t)st.lost, "queued", (json_int_t)st.queued, "connects",
	    (json_int_t)st.connects, "connected", st.connected);
}
