/*
 * capture.c: live capture. Each interface has a libpcap handle in
 * non-blocking mode whose selectable descriptor is watched by libevent;
 * when it is readable we drain it with pcap_dispatch in batches (the
 * TPACKET_V3 ring hands over whole blocks, so this is a handful of calls
 * per block, not one per packet).
 */
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <pcap/pcap.h>

#include "capture.h"
#include "log.h"
#include "pcapfile.h"
#include "xmalloc.h"

#define RETRY_SEC   5
#define BATCH       512
#define MAX_BATCHES 64 /* per readiness event: let timers and other handles run */

struct capture {
	char *name;
	struct event_base *base;
	struct engine *engine;
	struct capture_opts opts;
	char *filter; /* owned copy of opts.filter */
	pcap_t *pcap;
	struct event *ev;
	struct event *retry;
	struct source src;
	int nano;                     /* the handle delivers nanoseconds */
	struct capture_stats base_st; /* totals of handles closed before */
	char errbuf[PCAP_ERRBUF_SIZE];
	int logged_down;           /* the failure was logged: say nothing until it changes */
	struct capture_fanout *fo; /* its interface's group (workers), or NULL */
	unsigned member;           /* which worker's: 0 captures alone if the group is refused */
	int parked;                /* refused a place in the group: not capturing, not retried */
	int armed;             /* capture_arm was called: a handle opened later takes its filter */
	pthread_mutex_t *lock; /* held while reading from the event loop (capture_new) */
	int closing;           /* capture_quiesce: its callbacks do nothing more (under lock) */
};

/*
 * The workers' handles of one interface are in one PACKET_FANOUT group,
 * whose program (PACKET_FANOUT_CBPF) picks a worker by the packet's IP
 * addresses alone, XORed: both directions of a connection, and every
 * fragment of a datagram, reach the same worker. PACKET_FANOUT_HASH was
 * passed over: its hash takes the ports, which later fragments lack, so
 * fragments and their connection part ways, and its defrag flag hands the
 * group reassembled datagrams, not the frames that were on the wire. The
 * XOR is scrambled by a multiplier drawn at start, so that the worker of
 * an address pair is not known in advance. Frames neither IPv4 nor IPv6
 * in the kernel's eyes (QinQ, PPPoE, MPLS) all go to the first worker.
 */
struct capture_fanout {
	pthread_mutex_t lock;
	char *ifname;
	int made;          /* id is the group's */
	unsigned id;       /* the kernel's (PACKET_FANOUT_FLAG_UNIQUEID) */
	char refused[160]; /* why the kernel refused the group; "" while it works */
	struct sock_filter prog[40];
	unsigned short plen;
};

#define NET(off) (SKF_NET_OFF + (off))

/* Build the group's program: the XOR of the addresses, times key, folded. */
static void
fanout_program(struct capture_fanout *fo, uint32_t key)
{
	static const unsigned v6[] = {8, 24, 12, 28, 16, 32, 20, 36};
	struct sock_filter *p = fo->prog;
	/* IPv4 at 2..6, IPv6 at 8..29 (a load, then a move, a load and a XOR per word) */
	const unsigned mix = 8 + 1 + 3 * 7, other = mix + 5;
	unsigned n = 0, i;
	p[n++] =
	    (struct sock_filter)BPF_STMT(BPF_LD | BPF_H | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL);
	p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 5);
	p[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NET(12));
	p[n++] = (struct sock_filter)BPF_STMT(BPF_MISC | BPF_TAX, 0);
	p[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NET(16));
	p[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0);
	p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, mix - 7, 0, 0);
	/* 7: not IPv4; IPv6? else to the last instruction (ret 0) */
	p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, other - 8);
	p[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NET(v6[0]));
	for (i = 1; i < 8; i++) {
		p[n++] = (struct sock_filter)BPF_STMT(BPF_MISC | BPF_TAX, 0);
		p[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NET(v6[i]));
		p[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0);
	}
	/* mix: A = A * key; A ^= A >> 16; the kernel takes it modulo the workers */
	p[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, key);
	p[n++] = (struct sock_filter)BPF_STMT(BPF_MISC | BPF_TAX, 0);
	p[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16);
	p[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0);
	p[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_A, 0);
	p[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
	fo->plen = (unsigned short)n;
}

struct capture_fanout *
capture_fanout_new(const char *ifname)
{
	struct capture_fanout *fo = xcalloc(1, sizeof *fo);
	uint32_t key = 0x9e3779b1;

	pthread_mutex_init(&fo->lock, NULL);
	fo->ifname = xstrdup(ifname);
	if (getrandom(&key, sizeof key, GRND_NONBLOCK) != sizeof key)
		key = 0x9e3779b1;
	fanout_program(fo, key | 1);
	return fo;
}

void
capture_fanout_free(struct capture_fanout *fo)
{
	if (fo == NULL)
		return;
	pthread_mutex_destroy(&fo->lock);
	free(fo->ifname);
	free(fo);
}

const char *
capture_fanout_refused(struct capture_fanout *fo)
{
	const char *r;

	pthread_mutex_lock(&fo->lock);
	r = fo->refused[0] ? fo->refused : NULL;
	pthread_mutex_unlock(&fo->lock);
	return r;
}

/* Join fd to the group (made by the first to come); -1 if the kernel refuses. */
static int
fanout_join(struct capture_fanout *fo, int fd)
{
	struct sock_fprog fp = {fo->plen, fo->prog};
	socklen_t len = sizeof(int);
	int val, rc = -1;

	pthread_mutex_lock(&fo->lock);
	if (fo->refused[0])
		goto out;
	/* A known id is joined, or made again if its last member went. */
	val = fo->made ? (int)fo->id | (PACKET_FANOUT_CBPF << 16)
	               : (PACKET_FANOUT_CBPF | PACKET_FANOUT_FLAG_UNIQUEID) << 16;
	if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &val, sizeof val) == -1 ||
	    (!fo->made && getsockopt(fd, SOL_PACKET, PACKET_FANOUT, &val, &len) == -1) ||
	    setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, &fp, sizeof fp) == -1) {
		snprintf(fo->refused, sizeof fo->refused, "%s", strerror(errno));
		log_warnx("%s: PACKET_FANOUT refused (%s): one worker captures this interface",
		    fo->ifname, fo->refused);
		goto out;
	}
	if (!fo->made)
		fo->id = (unsigned)val & 0xffff;
	fo->made = 1;
	rc = 0;
out:
	pthread_mutex_unlock(&fo->lock);
	return rc;
}

/*
 * A worker's handle joins its group without a frame read twice or split:
 * libpcap opened the socket with protocol 0, receiving nothing; it rejects
 * everything while it is bound to every protocol and joins the group, and
 * takes its filter (set_filter) only as a member. Refused, the first
 * worker captures alone and the others park.
 */
static int
fanout_enter(struct capture *c, pcap_t *p, char **cause)
{
	static struct sock_filter reject[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
	struct sock_fprog none = {1, reject};
	struct sockaddr_ll sll;
	int fd = pcap_fileno(p);

	memset(&sll, 0, sizeof sll);
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = strcmp(c->name, "any") == 0 ? 0 : (int)if_nametoindex(c->name);
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &none, sizeof none) == -1 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof sll) == -1) {
		xasprintf(cause, "cannot bind the capture socket: %s", strerror(errno));
		return -1;
	}
	if (fanout_join(c->fo, fd) == -1 && c->member > 0) {
		c->parked = 1;
		xasprintf(cause, "PACKET_FANOUT refused: the first worker captures this interface");
		return -1;
	}
	return 0;
}

/*
 * The kernel filter keeps what may be TCP as we decode it, by rejecting
 * what surely is not: ARP, and plain IPv4/IPv6 carrying something else.
 * Frames in VLAN, PPPoE or MPLS encapsulations pass and the decoder
 * decides: libpcap's "vlan", "pppoes" and "mpls" keywords shift the offsets
 * of everything after them, even across "or", so no single expression can
 * select TCP in all of them at once; and "ip6 protochain" compiles to a loop
 * the kernel refuses (libpcap would then filter in user space, slowly).
 * IPv6 whose first header is an extension header passes for the decoder
 * to walk. With the kernel's VLAN offload the tag is not in the data, so
 * tagged TCP is filtered exactly. The user's expression comes first.
 */
char *
capture_filter_text(const char *user, int level)
{
	static const char *base[] = {
	    "not arp and not (ip and not ip proto 6) and not (ip6 and not (ip6[6] == 6 or "
	    "ip6[6] == 0 or ip6[6] == 43 or ip6[6] == 44 or ip6[6] == 60 or ip6[6] == 51))",
	    "tcp",
	};
	char *s;

	if (level < 0 || level > 1)
		return NULL;
	if (user != NULL && user[0] != '\0')
		xasprintf(&s, "(%s) and (%s)", user, base[level]);
	else
		s = xstrdup(base[level]);
	return s;
}

const char *
capture_name(const struct capture *c)
{
	return c->name;
}

const char *
capture_error(const struct capture *c)
{
	return c->pcap == NULL && c->errbuf[0] ? c->errbuf : NULL;
}

static void
on_frame(u_char *arg, const struct pcap_pkthdr *h, const u_char *data)
{
	struct capture *c = (struct capture *)arg;
	uint64_t ts =
	    (uint64_t)h->ts.tv_sec * NS_PER_SEC + (uint64_t)h->ts.tv_usec * (c->nano ? 1 : 1000);

	engine_frame(c->engine, &c->src, ts, h->caplen, h->len, data);
}

static void capture_fail(struct capture *c, const char *why);

/* Read what the kernel holds (the caller holds the worker's lock, if any). */
static void
read_batches(struct capture *c)
{
	int i, n;

	for (i = 0; i < MAX_BATCHES; i++) {
		n = pcap_dispatch(c->pcap, BATCH, on_frame, (u_char *)c);
		if (n < 0) {
			capture_fail(c, pcap_geterr(c->pcap));
			break;
		}
		if (n < BATCH)
			break;
	}
	engine_batch_end(c->engine);
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct capture *c = arg;

	if (c->lock != NULL)
		pthread_mutex_lock(c->lock);
	if (!c->closing)
		read_batches(c);
	if (c->lock != NULL)
		pthread_mutex_unlock(c->lock);
}

static int
set_filter(struct capture *c, pcap_t *p, char **cause)
{
	struct bpf_program prog;
	char *text;
	int level, rc;

	for (level = 0; (text = capture_filter_text(c->filter, level)) != NULL; level++) {
		rc = pcap_compile(p, &prog, text, 1, PCAP_NETMASK_UNKNOWN);
		if (rc == 0) {
			rc = pcap_setfilter(p, &prog);
			pcap_freecode(&prog);
			if (rc == 0) {
				log_info("%s: filter %s", c->name, text);
				free(text);
				return 0;
			}
		}
		free(text);
	}
	xasprintf(cause, "%s: filter \"%s\": %s", c->name, c->filter, pcap_geterr(p));
	return -1;
}

/*
 * A new filter on a running handle, losing nothing. pcap_setfilter on
 * Linux attaches a reject-all filter, drains the socket, then attaches
 * the new one (pcap-linux.c, set_kernel_filter), so that nothing the old
 * filter passed is read afterwards; whatever arrives in between is
 * rejected and counted nowhere (a reload every 50 ms lost up to 1 % of a
 * 20,000 packets/s replay). The kernel swaps a socket's filter atomically
 * on SO_ATTACH_FILTER, so the compiled program is attached here directly:
 * what the ring already holds passed the old filter and is captured, as
 * it was when it arrived. Not on a cooked capture (any): libpcap rewrites
 * such programs for the kernel, whose offsets of the link header differ,
 * and only pcap_setfilter does that; there, and where the kernel refuses
 * the program, libpcap's way, logged.
 */
static int
swap_filter(struct capture *c, char **cause)
{
	struct bpf_program prog;
	struct sock_fprog fp;
	int dlt = pcap_datalink(c->pcap), level, rc;
	char *text;

	for (level = 0; dlt != DLT_LINUX_SLL && dlt != DLT_LINUX_SLL2 &&
	                (text = capture_filter_text(c->filter, level)) != NULL;
	     level++) {
		rc = pcap_compile(c->pcap, &prog, text, 1, PCAP_NETMASK_UNKNOWN);
		if (rc == 0) {
			/* libpcap's own cast: struct bpf_insn is the kernel's sock_filter */
			fp.len = (unsigned short)prog.bf_len;
			fp.filter = (struct sock_filter *)prog.bf_insns;
			rc = setsockopt(
			    pcap_fileno(c->pcap), SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp);
			pcap_freecode(&prog);
			if (rc == 0) {
				log_info("%s: filter %s (swapped in place)", c->name, text);
				free(text);
				return 0;
			}
		}
		free(text);
	}
	log_warnx("%s: the new filter goes through libpcap, which rejects every packet for an "
	          "instant: a few may be lost, uncounted",
	    c->name);
	return set_filter(c, c->pcap, cause);
}

static void
accumulate_stats(struct capture *c)
{
	struct pcap_stat ps;

	if (c->pcap != NULL && pcap_stats(c->pcap, &ps) == 0) {
		c->base_st.received += ps.ps_recv;
		c->base_st.kernel_drops += ps.ps_drop;
		c->base_st.if_drops += ps.ps_ifdrop;
	}
}

static void
handle_close(struct capture *c)
{
	if (c->ev != NULL) {
		event_free(c->ev);
		c->ev = NULL;
	}
	if (c->pcap != NULL) {
		accumulate_stats(c);
		pcap_close(c->pcap);
		c->pcap = NULL;
	}
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct capture *c = arg;

	if (c->lock != NULL)
		pthread_mutex_lock(c->lock);
	if (!c->closing)
		capture_start(c);
	if (c->lock != NULL)
		pthread_mutex_unlock(c->lock);
}

static void
schedule_retry(struct capture *c)
{
	struct timeval tv = {RETRY_SEC, 0};

	evtimer_add(c->retry, &tv);
}

static void
capture_fail(struct capture *c, const char *why)
{
	snprintf(c->errbuf, sizeof c->errbuf, "%s", why);
	log_warnx("%s: capture stopped: %s; retrying every %d s", c->name, why, RETRY_SEC);
	c->logged_down = 1;
	handle_close(c);
	schedule_retry(c);
}

static pcap_t *
handle_open(struct capture *c, char **cause)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p;
	int rc;

	if ((p = pcap_create(c->name, errbuf)) == NULL) {
		xasprintf(cause, "%s", errbuf);
		return NULL;
	}
	pcap_set_snaplen(p, c->opts.snaplen);
	pcap_set_promisc(p, c->opts.promisc);
	pcap_set_timeout(p, CAPTURE_BLOCK_MS);
	pcap_set_buffer_size(
	    p, (int)(c->opts.buffer_size > INT32_MAX ? INT32_MAX : c->opts.buffer_size));
	if (c->fo != NULL)
		pcap_set_protocol_linux(p, 0); /* receiving nothing until fanout_enter */
	c->nano =
	    c->opts.nanosecond && pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) == 0;
	rc = pcap_activate(p);
	if (rc < 0) {
		if (rc == PCAP_ERROR_NO_SUCH_DEVICE || rc == PCAP_ERROR_PERM_DENIED ||
		    rc == PCAP_ERROR)
			xasprintf(cause, "%s", pcap_geterr(p));
		else
			xasprintf(cause, "%s", pcap_statustostr(rc));
		pcap_close(p);
		return NULL;
	}
	if (rc > 0)
		log_warnx("%s: %s", c->name, pcap_statustostr(rc));
	if (!decode_supported(pcap_datalink(p))) {
		xasprintf(cause, "link type %s is not supported",
		    pcap_datalink_val_to_name(pcap_datalink(p)));
		pcap_close(p);
		return NULL;
	}
	if ((c->fo != NULL && fanout_enter(c, p, cause) == -1) ||
	    ((c->fo == NULL || c->armed) && set_filter(c, p, cause) == -1) ||
	    pcap_setnonblock(p, 1, errbuf) == -1) {
		if (*cause == NULL)
			xasprintf(cause, "%s", errbuf);
		pcap_close(p);
		return NULL;
	}
	return p;
}

int
capture_start(struct capture *c)
{
	char *cause = NULL;
	int fd;

	if (c->pcap != NULL || c->parked)
		return c->parked ? -1 : 0;
	if ((c->pcap = handle_open(c, &cause)) == NULL ||
	    (fd = pcap_get_selectable_fd(c->pcap)) == -1) {
		if (!c->logged_down)
			log_warnx("%s: cannot capture: %s; retrying every %d s", c->name,
			    cause ? cause : "no selectable descriptor", RETRY_SEC);
		snprintf(c->errbuf, sizeof c->errbuf, "%s", cause ? cause : "no descriptor");
		c->logged_down = 1;
		free(cause);
		handle_close(c);
		if (!c->parked) /* parked: the group's refusal was logged, and stays */
			schedule_retry(c);
		return -1;
	}
	c->src.dlt = pcap_datalink(c->pcap);
	c->src.linktype = pcapfile_linktype(c->src.dlt);
	c->src.snaplen = (uint32_t)pcap_snapshot(c->pcap);
	c->ev = event_new(c->base, fd, EV_READ | EV_PERSIST, on_readable, c);
	event_priority_set(c->ev, 0); /* PRIO_CAPTURE: packets before anything else */
	if (c->engine != NULL)
		event_add(c->ev, NULL);
	c->errbuf[0] = '\0';
	log_info("%s: capturing (link type %s, snaplen %u%s)", c->name,
	    pcap_datalink_val_to_name(c->src.dlt), c->src.snaplen,
	    c->nano ? ", nanosecond timestamps" : "");
	c->logged_down = 0;
	return 0;
}

void
capture_arm(struct capture *c)
{
	char *cause = NULL;

	if (c->armed || c->fo == NULL)
		return;
	c->armed = 1;
	if (c->pcap != NULL && set_filter(c, c->pcap, &cause) == -1) {
		capture_fail(c, cause);
		free(cause);
	}
}

void
capture_attach(struct capture *c, struct engine *e)
{
	if (engine_add_source(e, &c->src) == -1) {
		/* A daemon reloaded with new names thousands of times: say so, stay up. */
		log_warnx("%s: not captured: %d interface names seen since start, the most one "
		          "daemon keeps; restart it to capture here",
		    c->name, ENGINE_MAX_SOURCES);
		return;
	}
	c->engine = e;
	if (c->ev != NULL)
		event_add(c->ev, NULL);
}

void
capture_drain(struct capture *c)
{
	if (c->pcap != NULL && c->engine != NULL)
		read_batches(c);
}

/*
 * The caller does not hold c->lock: event_del, from another thread than
 * the loop's, waits for a callback of the event in flight, which may be
 * waiting for that lock. Once closing is set under the lock, the worker
 * no longer changes c->ev, and callbacks that still come return at once.
 */
void
capture_quiesce(struct capture *c)
{
	if (c->lock != NULL)
		pthread_mutex_lock(c->lock);
	c->closing = 1;
	if (c->lock != NULL)
		pthread_mutex_unlock(c->lock);
	if (c->ev != NULL)
		event_del(c->ev);
	event_del(c->retry);
}

struct capture *
capture_new(struct event_base *base, const char *ifname, const struct capture_opts *opts,
    struct capture_fanout *fo, unsigned member, pthread_mutex_t *lock)
{
	struct capture *c;

	c = xcalloc(1, sizeof *c);
	c->fo = fo;
	c->member = member;
	c->lock = lock;
	c->name = xstrdup(ifname);
	c->base = base;
	c->opts = *opts;
	c->filter = xstrdup(opts->filter ? opts->filter : "");
	c->opts.filter = c->filter;
	c->src.name = c->name;
	c->retry = evtimer_new(base, on_retry, c);
	return c;
}

void
capture_free(struct capture *c)
{
	if (c == NULL)
		return;
	handle_close(c);
	event_free(c->retry);
	free(c->filter);
	free(c->name);
	free(c);
}

int
capture_set_opts(struct capture *c, const struct capture_opts *opts, char **cause)
{
	char *old = c->filter;
	int same = strcmp(old, opts->filter ? opts->filter : "") == 0;

	c->filter = xstrdup(opts->filter ? opts->filter : "");
	c->opts = *opts;
	c->opts.filter = c->filter;
	/* An unchanged filter is left alone: a reload touches no socket for it. */
	if (c->pcap != NULL && !same && swap_filter(c, cause) == -1) {
		free(c->filter);
		c->filter = old;
		c->opts.filter = old;
		return -1;
	}
	free(old);
	return 0;
}

void
capture_stats(struct capture *c, struct capture_stats *st)
{
	struct pcap_stat ps;

	*st = c->base_st;
	st->frames = c->engine ? engine_source_frames(c->engine, c->src.id) : 0;
	st->up = c->pcap != NULL;
	if (c->pcap != NULL && pcap_stats(c->pcap, &ps) == 0) {
		st->received += ps.ps_recv;
		st->kernel_drops += ps.ps_drop;
		st->if_drops += ps.ps_ifdrop;
	}
}
