/*
 * export.c: IPFIX export of finished flows, through libfixbuf.
 *
 * libfixbuf does the IPFIX side: the information model, templates, the
 * transcoding of our record into a message, RFC 5610 descriptions of our
 * enterprise elements. Its own network exporter is passed over: it blocks
 * and says nothing of what became of a record when a connection breaks. So
 * libfixbuf writes each message into a buffer of ours (fbExporterAllocBuffer)
 * and this file moves the bytes: a socket of its own, reconnection with
 * backoff, and accounting of every record.
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
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/sockios.h>

#include <fixbuf/public.h>

#include "export.h"
#include "flow.h"
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
#define LOG_EVERY_NS    (10 * 1000000000ULL)

#define TID_V4  256
#define TID_V6  257
#define TID_INT 0x9000 /* internal template (never on the wire) */

/* Spec flags: which template an element belongs to. */
#define SF_V4  0x1
#define SF_V6  0x2
#define SF_INT 0x4 /* internal only: padding */

/* Our enterprise elements (under cfg.pen). */
#define EIE_LABEL   1
#define EIE_FPOUT   2
#define EIE_PARTIAL 3
#define EIE_REASON  4

/*
 * The record as libfixbuf reads it: the members in the order of the
 * internal template, with no gap (so the sum of the element lengths is
 * each member's offset). With ipfix_pen = 0 it ends before label.
 */
struct wire_rec {
	uint64_t start_ms, end_ms; /* flowStart/EndMilliseconds: what most collectors keep */
	uint64_t start_ns, end_ns; /* flowStart/EndNanoseconds, NTP format */
	uint64_t packets, octets;  /* packetDeltaCount, octetDeltaCount (IP octets) */
	fbVarfield_t ifname;       /* interfaceName */
	uint8_t src6[16], dst6[16];
	uint32_t src4, dst4; /* network order */
	uint32_t ingress;    /* ingressInterface: the ifindex */
	uint16_t sport, dport;
	uint16_t vlan, cvlan; /* dot1qVlanId, dot1qCustomerVlanId */
	uint16_t tcpflags;
	uint8_t proto, endreason;
	fbVarfield_t label, fpout, reason; /* enterprise */
	uint8_t partial;
	uint8_t pad[7];
};
_Static_assert(offsetof(struct wire_rec, ifname) == 48, "wire_rec layout");
_Static_assert(offsetof(struct wire_rec, src4) == 96, "wire_rec layout");
_Static_assert(offsetof(struct wire_rec, label) == 120, "wire_rec layout");
_Static_assert(sizeof(struct wire_rec) == 176, "wire_rec layout");

static fbInfoElementSpec_t spec_std[] = {
    {"flowStartMilliseconds", 8, 0},
    {"flowEndMilliseconds", 8, 0},
    {"flowStartNanoseconds", 8, 0},
    {"flowEndNanoseconds", 8, 0},
    {"packetDeltaCount", 8, 0},
    {"octetDeltaCount", 8, 0},
    {"interfaceName", FB_IE_VARLEN, 0},
    {"sourceIPv6Address", 16, SF_V6},
    {"destinationIPv6Address", 16, SF_V6},
    {"sourceIPv4Address", 4, SF_V4},
    {"destinationIPv4Address", 4, SF_V4},
    {"ingressInterface", 4, 0},
    {"sourceTransportPort", 2, 0},
    {"destinationTransportPort", 2, 0},
    {"dot1qVlanId", 2, 0},
    {"dot1qCustomerVlanId", 2, 0},
    {"tcpControlBits", 2, 0},
    {"protocolIdentifier", 1, 0},
    {"flowEndReason", 1, 0},
    FB_IESPEC_NULL,
};

static fbInfoElementSpec_t spec_ent[] = {
    {"traceflowLabel", FB_IE_VARLEN, 0},
    {"traceflowFpout", FB_IE_VARLEN, 0},
    {"traceflowReason", FB_IE_VARLEN, 0},
    {"traceflowPartial", 1, 0},
    {"paddingOctets", 7, SF_INT},
    FB_IESPEC_NULL,
};

/* A queued record: what the index line says, compact (strings follow). */
struct xrec {
	STAILQ_ENTRY(xrec) entry;
	uint64_t end_off; /* TCP: stream offset at the end of its message; 0 = not yet written */
	uint64_t first_ns, last_ns, packets, ipbytes;
	uint8_t src[16], dst[16];
	uint16_t srcport, dstport;
	uint16_t vlan[2];
	uint8_t af, tcpflags, reason, partial;
	uint16_t label_len, fpout_len, iface_len;
	char s[]; /* label, fpout, iface, each NUL-terminated */
};
STAILQ_HEAD(xrec_list, xrec);

struct exporter {
	struct export_config cfg;
	char *collector; /* our copy */
	char *host, *port;

	/* libfixbuf: the thread's alone once started. */
	fbInfoModel_t *model;
	fBuf_t *fbuf;
	FILE *outfp;  /* libfixbuf writes messages here: out_write() */
	uint8_t *out; /* messages made, not yet sent */
	size_t out_len, out_cap;
	size_t msg_est; /* UDP: bytes in the message being made, at most */
	size_t rec_size;

	/* The connection: the thread's alone. */
	int fd;
	uint64_t off;      /* bytes sent on this connection */
	uint64_t retry_at; /* CLOCK_MONOTONIC ns */
	uint64_t backoff;
	uint64_t tmpl_at; /* UDP: when templates went out last */
	int failing;      /* in an episode of failure (logged once) */
	int announced;
	struct xrec_list inflight; /* written, not yet acknowledged (TCP) */
	char ifcache[IF_NAMESIZE];
	uint32_t ifindex;

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

uint8_t
export_end_reason(int reason)
{
	/* RFC 5102 flowEndReason: 1 idle, 2 active, 3 end detected, 4 forced, 5 lack of resources.
	 */
	switch (reason) {
	case FLOW_R_IDLE:
		return 1;
	case FLOW_R_ROTATE:
		return 2; /* a full segment: the flow goes on, as after an active timeout */
	case FLOW_R_FIN:
	case FLOW_R_RST:
	case FLOW_R_REUSE: /* a new SYN on the tuple: the old connection's end, seen */
		return 3;
	case FLOW_R_EVICTED:
		return 5;
	default: /* submit, eof, shutdown, recovered */
		return 4;
	}
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

/* --- libfixbuf ------------------------------------------------------------ */

static int
add_template(
    struct exporter *x, fbSession_t *s, uint16_t tid, int internal, uint32_t flags, char **cause)
{
	fbTemplate_t *t = fbTemplateAlloc(x->model);
	GError *err = NULL;

	if (!fbTemplateAppendSpecArray(t, spec_std, flags, &err) ||
	    (x->cfg.pen != 0 && !fbTemplateAppendSpecArray(t, spec_ent, flags, &err)) ||
	    fbSessionAddTemplate(s, internal, tid, t, &err) == 0) {
		xasprintf(cause, "ipfix template: %s", err->message);
		g_clear_error(&err);
		fbTemplateFreeUnused(t);
		return -1;
	}
	return 0;
}

static void
add_enterprise_elements(struct exporter *x)
{
	fbInfoElement_t ies[] = {
	    FB_IE_INIT_FULL("traceflowLabel", x->cfg.pen, EIE_LABEL, FB_IE_VARLEN, 0, 0, 0,
	        FB_STRING, "traceflow's label of the flow: its file name without extension"),
	    FB_IE_INIT_FULL("traceflowFpout", x->cfg.pen, EIE_FPOUT, FB_IE_VARLEN, 0, 0, 0,
	        FB_STRING, "the flow's file, relative to the sensor's spool; empty for none"),
	    FB_IE_INIT_FULL("traceflowPartial", x->cfg.pen, EIE_PARTIAL, 1, FB_IE_F_ENDIAN, 0, 1,
	        FB_UINT_8, "1 if the flow's first packet was not a SYN"),
	    FB_IE_INIT_FULL("traceflowReason", x->cfg.pen, EIE_REASON, FB_IE_VARLEN, 0, 0, 0,
	        FB_STRING, "why traceflow ended the flow or segment (fin, rst, idle, ...)"),
	    FB_IE_NULL,
	};

	fbInfoModelAddElementArray(x->model, ies);
}

/*
 * libfixbuf writes every message it emits (full, or at fBufEmit, or between
 * template and data sets) to a stdio stream; this one, unbuffered, appends
 * the bytes to x->out, whole messages, for us to send.
 */
static ssize_t
out_write(void *cookie, const char *buf, size_t len)
{
	struct exporter *x = cookie;

	if (x->out_cap - x->out_len < len) {
		x->out_cap = x->out_len + len > 2 * x->out_cap ? x->out_len + len : 2 * x->out_cap;
		x->out = xreallocarray(x->out, x->out_cap, 1);
	}
	memcpy(x->out + x->out_len, buf, len);
	x->out_len += len;
	return (ssize_t)len;
}

static int
fixbuf_setup(struct exporter *x, char **cause)
{
	cookie_io_functions_t io = {.write = out_write};
	fbSession_t *s;
	GError *err = NULL;

	x->model = fbInfoModelAlloc();
	if (x->cfg.pen != 0)
		add_enterprise_elements(x);
	s = fbSessionAlloc(x->model);
	fbSessionSetDomain(s, x->cfg.domain);
	/* Templates before the buffer: added to a session with one, they would be sent. */
	if (add_template(x, s, TID_INT, 1, SF_V4 | SF_V6 | SF_INT, cause) == -1 ||
	    add_template(x, s, TID_V4, 0, SF_V4, cause) == -1 ||
	    add_template(x, s, TID_V6, 0, SF_V6, cause) == -1) {
		fbSessionFree(s);
		return -1;
	}
	/* Collectors learn our elements' names and types (RFC 5610) with the templates. */
	if (x->cfg.pen != 0 &&
	    fbSessionSetMetadataExportElements(s, TRUE, FB_TID_AUTO, &err) == 0) {
		xasprintf(cause, "ipfix element descriptions: %s", err->message);
		g_clear_error(&err);
		fbSessionFree(s);
		return -1;
	}
	if ((x->outfp = fopencookie(x, "w", io)) == NULL) {
		xasprintf(cause, "fopencookie: %s", strerror(errno));
		fbSessionFree(s);
		return -1;
	}
	setvbuf(x->outfp, NULL, _IONBF, 0);
	x->fbuf = fBufAllocForExport(s, fbExporterAllocFP(x->outfp));
	if (!fBufSetInternalTemplate(x->fbuf, TID_INT, &err)) {
		xasprintf(cause, "ipfix internal template: %s", err->message);
		g_clear_error(&err);
		return -1;
	}
	x->rec_size = x->cfg.pen != 0 ? sizeof(struct wire_rec) : offsetof(struct wire_rec, label);
	return 0;
}

/* NTP format (RFC 7011 dateTimeNanoseconds), the fraction rounded up so that it reads back. */
static uint64_t
ntp_time(uint64_t ns)
{
	uint64_t sec = ns / 1000000000ULL + 2208988800ULL, frac = ns % 1000000000ULL;

	frac = ((frac << 32) + 999999999ULL) / 1000000000ULL;
	return sec << 32 | (frac & 0xffffffffULL);
}

static uint32_t
ifindex_of(struct exporter *x, const char *name)
{
	if (name[0] == '\0')
		return 0;
	if (strcmp(name, x->ifcache) != 0) {
		snprintf(x->ifcache, sizeof x->ifcache, "%s", name);
		x->ifindex = if_nametoindex(name);
	}
	return x->ifindex;
}

static void
fill_wire(struct exporter *x, const struct xrec *r, struct wire_rec *w)
{
	const char *label = r->s, *fpout = label + r->label_len + 1;
	const char *iface = fpout + r->fpout_len + 1, *reason;

	memset(w, 0, sizeof *w);
	w->start_ms = r->first_ns / 1000000ULL;
	w->end_ms = r->last_ns / 1000000ULL;
	w->start_ns = ntp_time(r->first_ns);
	w->end_ns = ntp_time(r->last_ns);
	w->packets = r->packets;
	w->octets = r->ipbytes;
	w->ifname.buf = (uint8_t *)iface;
	w->ifname.len = r->iface_len;
	if (r->af == 6) {
		memcpy(w->src6, r->src, 16);
		memcpy(w->dst6, r->dst, 16);
	} else {
		memcpy(&w->src4, r->src, 4);
		memcpy(&w->dst4, r->dst, 4);
		w->src4 = ntohl(w->src4); /* libfixbuf swaps integers into network order */
		w->dst4 = ntohl(w->dst4);
	}
	w->ingress = ifindex_of(x, iface);
	w->sport = r->srcport;
	w->dport = r->dstport;
	w->vlan = r->vlan[0];
	w->cvlan = r->vlan[1];
	w->tcpflags = r->tcpflags;
	w->proto = IPPROTO_TCP;
	w->endreason = export_end_reason(r->reason);
	reason = flow_reason_name(r->reason);
	w->label.buf = (uint8_t *)label;
	w->label.len = r->label_len;
	w->fpout.buf = (uint8_t *)fpout;
	w->fpout.len = r->fpout_len;
	w->reason.buf = (uint8_t *)reason;
	w->reason.len = strlen(reason);
	w->partial = r->partial;
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
	GError *err = NULL;

	if (x->fd != -1) {
		close(x->fd);
		x->fd = -1;
		set_connected(x, 0);
	}
	requeue_inflight(x);
	/* A message half made, and what was not sent, are thrown away: sent again. */
	if (x->fbuf != NULL && fBufEmit(x->fbuf, &err) == FALSE)
		g_clear_error(&err);
	x->out_len = 0;
	x->msg_est = 0;
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
	x->out_len = 0;
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

/* Bytes made on this connection so far: sent, and waiting in out. */
static uint64_t
made(const struct exporter *x)
{
	return x->off + x->out_len;
}

/* Send what libfixbuf made: one stream (TCP), one datagram a message (UDP). -1: broken. */
static int
flush_out(struct exporter *x)
{
	size_t done = 0, len;
	ssize_t n;
	char why[128];

	while (done < x->out_len && x->fd != -1) {
		len = x->out_len - done;
		if (x->cfg.transport == EXPORT_UDP) {
			/* The IPFIX header says how long the message is. */
			len = len < 4 ? len : (size_t)(x->out[done + 2] << 8 | x->out[done + 3]);
			if (len < 16 || len > x->out_len - done)
				len = x->out_len - done;
		}
		n = send(x->fd, x->out + done, len, MSG_NOSIGNAL);
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
	x->out_len = 0;
	return x->fd == -1 ? -1 : 0;
}

/* What libfixbuf holds goes out as a message. */
static void
emit(struct exporter *x)
{
	GError *err = NULL;

	if (!fBufEmit(x->fbuf, &err)) {
		log_warnx("ipfix: %s", err->message);
		g_clear_error(&err);
	}
	x->msg_est = 0;
}

static int
send_templates(struct exporter *x)
{
	GError *err = NULL;

	x->tmpl_at = mono_ns();
	emit(x);
	if (!fbSessionExportTemplates(fBufGetSession(x->fbuf), &err)) {
		log_warnx("ipfix templates: %s", err->message);
		g_clear_error(&err);
	}
	emit(x);
	return flush_out(x);
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
drop_record(struct exporter *x, struct xrec *r, GError **err)
{
	struct xrec *next = STAILQ_NEXT(r, entry);

	log_warnx("ipfix: a record could not be encoded: %s", (*err)->message);
	g_clear_error(err);
	STAILQ_REMOVE(&x->inflight, r, xrec, entry);
	free(r);
	pthread_mutex_lock(&x->lock);
	x->ninflight--;
	x->lost++;
	pthread_mutex_unlock(&x->lock);
	return next;
}

static size_t
varlen(size_t n)
{
	return n < 255 ? 1 + n : 3 + n;
}

/* An upper bound of the record's bytes in a message, its set header included. */
static size_t
wire_size(const struct exporter *x, const struct xrec *r)
{
	size_t n = 4 + 64 + varlen(r->iface_len) + (r->af == 6 ? 32 : 8);

	if (x->cfg.pen != 0)
		n += varlen(r->label_len) + varlen(r->fpout_len) + varlen(16) + 1;
	return n;
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
	struct wire_rec w;
	GError *err = NULL;
	uint64_t before;
	size_t size;

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
		fill_wire(x, r, &w);
		size = wire_size(x, r);
		/* UDP: a message must fit a datagram (libfixbuf would fill 64 KiB). */
		if (x->cfg.transport == EXPORT_UDP && x->msg_est + size > MTU_UDP) {
			emit(x);
			mark_made(x, pending, r);
			pending = NULL;
		}
		before = made(x);
		if (!fBufSetExportTemplate(x->fbuf, r->af == 6 ? TID_V6 : TID_V4, &err) ||
		    !fBufAppend(x->fbuf, (uint8_t *)&w, x->rec_size, &err)) {
			r = drop_record(x, r, &err);
			continue;
		}
		/* A full message went out before this record: the ones before it were in it. */
		if (made(x) != before) {
			mark_made(x, pending, r);
			pending = NULL;
		}
		if (x->msg_est == 0)
			x->msg_est = 16;
		x->msg_est += size;
		if (pending == NULL)
			pending = r;
		r = STAILQ_NEXT(r, entry);
		if (x->out_len >= 256 * 1024 && flush_out(x) == -1)
			return -1;
	}
	emit(x);
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
	if (fixbuf_setup(x, cause) == -1)
		goto fail;
	if (pthread_create(&x->thread, NULL, export_main, x) != 0) {
		xasprintf(cause, "cannot start the IPFIX export thread");
		goto fail;
	}
	return x;
fail:
	if (x->fbuf != NULL)
		fBufFree(x->fbuf);
	if (x->outfp != NULL)
		fclose(x->outfp);
	if (x->model != NULL)
		fbInfoModelFree(x->model);
	free(x->out);
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
	fBufFree(x->fbuf); /* the session and the exporter with it */
	fclose(x->outfp);
	fbInfoModelFree(x->model);
	pthread_mutex_destroy(&x->lock);
	pthread_cond_destroy(&x->wake);
	free(x->out);
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

void
export_record(struct exporter *x, const struct index_record *r)
{
	size_t ll = strlen(r->label), fl = strlen(r->fpout), il = r->iface ? strlen(r->iface) : 0;
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

	q = xmalloc(sizeof *q + ll + fl + il + 3);
	memset(q, 0, sizeof *q);
	q->first_ns = r->first_ns;
	q->last_ns = r->last_ns;
	q->packets = r->packets;
	q->ipbytes = r->ipbytes;
	q->af = strchr(r->src, ':') != NULL ? 6 : 4;
	inet_pton(q->af == 6 ? AF_INET6 : AF_INET, r->src, q->src);
	inet_pton(q->af == 6 ? AF_INET6 : AF_INET, r->dst, q->dst);
	q->srcport = r->srcport;
	q->dstport = r->dstport;
	q->vlan[0] = r->nvlan > 0 ? r->vlan[0] : 0;
	q->vlan[1] = r->nvlan > 1 ? r->vlan[1] : 0;
	q->tcpflags = r->tcpflags;
	q->reason = r->reason;
	q->partial = r->partial;
	q->label_len = (uint16_t)ll;
	q->fpout_len = (uint16_t)fl;
	q->iface_len = (uint16_t)il;
	memcpy(q->s, r->label, ll + 1);
	memcpy(q->s + ll + 1, r->fpout, fl + 1);
	memcpy(q->s + ll + fl + 2, r->iface ? r->iface : "", il + 1);

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
