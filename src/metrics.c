/*
 * metrics.c: the Prometheus text format (metrics.h) and its HTTP endpoint.
 *
 * Names follow Prometheus's conventions: traceflow_ first, the unit in the
 * name (_bytes, _packets, _frames, _files), counters end in _total, and
 * every family has its HELP and TYPE lines and its samples together. The
 * renderer reads service.h alone, so that the endpoint and traceflowctl
 * stats --prometheus print the same, and the unit tests' fake service can
 * feed it.
 *
 * The endpoint is httpd.c's bounded server on the daemon's loop (httpd.h
 * says why not evhttp): a scrape is a few kilobytes formatted at once.
 * Every connection's events get the lowest priority, so that when packets
 * and a scrape are ready together the packets go first.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "decode.h"
#include "flow.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "reason.h"
#include "xmalloc.h"

#define IFACES_MAX 1024 /* more than any daemon captures (daemon.c MAX_CAPTURES) */

/* A label value: backslash, double quote and newline escaped (the format's rule). */
static void
label_value(struct evbuffer *o, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(o, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add(o, "\\n", 2);
		else
			evbuffer_add(o, v, 1);
	}
}

static void
family(struct evbuffer *o, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample; label NULL for none. */
static void
sample(struct evbuffer *o, const char *name, const char *label, const char *value, uint64_t v)
{
	evbuffer_add_printf(o, "%s", name);
	if (label != NULL) {
		evbuffer_add_printf(o, "{%s=\"", label);
		label_value(o, value);
		evbuffer_add(o, "\"}", 2);
	}
	evbuffer_add_printf(o, " %" PRIu64 "\n", v);
}

static void
single(struct evbuffer *o, const char *name, const char *type, const char *help, uint64_t v)
{
	family(o, name, type, help);
	sample(o, name, NULL, NULL, v);
}

/* --- the families ---------------------------------------------------------- */

struct iface_metric {
	const char *name;
	const char *type;
	const char *help;
	size_t off; /* a uint64_t of struct service_iface, or -1 for up */
};

static const struct iface_metric iface_metrics[] = {
    {"traceflow_interface_up", "gauge", "1 while a capture handle is open on the interface.",
        (size_t)-1},
    {"traceflow_received_packets_total", "counter",
        "Packets the kernel passed to the capture filter.",
        offsetof(struct service_iface, received)},
    {"traceflow_kernel_dropped_packets_total", "counter",
        "Packets the kernel dropped for want of capture buffer space.",
        offsetof(struct service_iface, kernel_drops)},
    {"traceflow_interface_dropped_packets_total", "counter",
        "Packets the interface or its driver dropped.", offsetof(struct service_iface, if_drops)},
    {"traceflow_read_frames_total", "counter", "Frames read from the interface.",
        offsetof(struct service_iface, frames)},
};

static void
render_interfaces(const struct service *svc, struct evbuffer *o)
{
	struct service_iface *ifs = xcalloc(IFACES_MAX, sizeof *ifs);
	const struct iface_metric *m;
	unsigned n, i;
	size_t k;

	for (n = 0; n < IFACES_MAX && svc->interface(svc->arg, n, &ifs[n]) == 0; n++)
		;
	for (k = 0; k < sizeof iface_metrics / sizeof iface_metrics[0]; k++) {
		m = &iface_metrics[k];
		family(o, m->name, m->type, m->help);
		for (i = 0; i < n; i++)
			sample(o, m->name, "interface", ifs[i].name,
			    m->off == (size_t)-1
			        ? (uint64_t)(ifs[i].up != 0)
			        : *(const uint64_t *)((const char *)&ifs[i] + m->off));
	}
	free(ifs);
}

static void
render_packets(const struct service_counters *sc, struct evbuffer *o)
{
	const struct engine_stats *st = &sc->engine;
	int i;

	single(o, "traceflow_frames_total", "counter", "Frames handed to the decoder.", st->frames);
	single(
	    o, "traceflow_tcp_frames_total", "counter", "TCP frames traced into flows.", st->tcp);
	single(o, "traceflow_not_tcp_frames_total", "counter",
	    "Well-formed frames that are not TCP (ignored).", st->not_tcp);
	family(o, "traceflow_malformed_frames_total", "counter",
	    "Malformed frames, counted and skipped, by reason.");
	for (i = DECODE_TRUNCATED; i < DECODE_NREASONS; i++)
		sample(o, "traceflow_malformed_frames_total", "reason", decode_reason_name(i),
		    st->reasons[i]);
	sample(o, "traceflow_malformed_frames_total", "reason", "frag_orphan", st->frag_orphan);
}

static void
render_flows(const struct service_counters *sc, struct evbuffer *o)
{
	const struct engine_stats *st = &sc->engine;
	int i;

	single(o, "traceflow_flows_active", "gauge", "Flows in the flow table (open or lingering).",
	    sc->flows_active);
	single(o, "traceflow_flows_started_total", "counter", "Flows started.", st->flows);
	family(o, "traceflow_flows_finished_total", "counter", "Flows ended, by reason.");
	for (i = FLOW_R_FIN; i < FLOW_R_NREASONS; i++)
		if (i != FLOW_R_ROTATE) /* not an end: the flow goes on in its next segment */
			sample(o, "traceflow_flows_finished_total", "reason", flow_reason_name(i),
			    st->ended[i]);
	single(o, "traceflow_segments_rotated_total", "counter",
	    "Segment files filled while their flow went on.", st->ended[FLOW_R_ROTATE]);
	single(o, "traceflow_index_lines_written_total", "counter",
	    "Index lines (finished flows and segments) handed to the index.", st->segments);
	single(o, "traceflow_half_open_flows", "gauge",
	    "Flows nothing has answered yet (half-open), in the flow table.", st->half_open);
	single(o, "traceflow_unanswered_packets_total", "counter",
	    "Packets of the flows that ended unanswered.", st->unanswered_packets);
	single(o, "traceflow_half_open_evicted_total", "counter",
	    "Half-open flows evicted: their share of the flow table was full.",
	    st->half_open_evicted);
	single(o, "traceflow_half_open_overloaded", "gauge",
	    "1 while half-open flows fill their share of the flow table (a scan or a flood).",
	    (uint64_t)st->half_open_overloaded);
	single(o, "traceflow_time_jumps_total", "counter",
	    "Frames far ahead of the capture's time, kept off the flow clock.", st->time_jumps);
	single(o, "traceflow_hash_rekeys_total", "counter",
	    "New secret keys of the flow tables: a chain outgrew its bound (colliding traffic).",
	    st->rekeys);
}

static void
render_output(const struct service_counters *sc, struct evbuffer *o)
{
	const struct output_stats *ws = &sc->output;

	single(o, "traceflow_files_written_total", "counter",
	    "Flow files completed and renamed into place.", ws->files);
	single(o, "traceflow_written_bytes_total", "counter", "Bytes written to flow files.",
	    ws->bytes);
	single(o, "traceflow_write_errors_total", "counter",
	    "Failed writes (most often a full disk).", ws->write_errors);
	single(o, "traceflow_lost_frames_total", "counter",
	    "Frames accepted but not written (a full disk).", ws->frames_lost);
	single(o, "traceflow_lost_bytes_total", "counter",
	    "Bytes accepted but not written (a full disk).", ws->bytes_lost);
	single(o, "traceflow_open_files", "gauge", "Flow files open now.", ws->open_files);
	single(o, "traceflow_buffered_bytes", "gauge",
	    "Buffer memory of the writer and of data on its way to the disk.", ws->buffered);
	single(o, "traceflow_index_lines_pending", "gauge", "Index lines waiting for the disk.",
	    ws->index_pending);
	single(o, "traceflow_index_lines_lost_total", "counter",
	    "Index lines dropped after the disk refused them for too long.", ws->index_lost);
}

static void
render_spool(const struct service *svc, const struct service_counters *sc, struct evbuffer *o)
{
	const struct spool_figures *sp = &sc->spool;

	single(o, "traceflow_spool_bytes", "gauge",
	    "Bytes of finished files in the spool (the catalog's running sum).", sp->bytes);
	/* For "spool near its limit" (contrib/prometheus): the limit itself, 0 for none. */
	single(o, "traceflow_spool_limit_bytes", "gauge",
	    "max_spool_size: what retention keeps the spool under (0: no limit).",
	    svc->config(svc->arg)->max_spool_size);
	single(o, "traceflow_spool_files", "gauge",
	    "Finished files in the spool (the catalog's running sum).", sp->files);
	single(o, "traceflow_spool_oldest_flow_seconds", "gauge",
	    "When the oldest flow in the spool ended (epoch seconds; 0: none).",
	    sp->oldest_ns / NS_PER_SEC);
	single(o, "traceflow_spool_newest_flow_seconds", "gauge",
	    "When the newest flow in the spool ended (epoch seconds; 0: none).",
	    sp->newest_ns / NS_PER_SEC);
	single(o, "traceflow_retention_deleted_files_total", "counter",
	    "Files retention deleted (max_spool_size, max_age).", sp->deleted);
	single(o, "traceflow_retention_deleted_bytes_total", "counter",
	    "Bytes of the files retention deleted.", sp->deleted_bytes);
}

static uint64_t
jint(const json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 ? (uint64_t)v : 0;
}

/* IPFIX export's counters, when it is on. */
static void
render_ipfix(const json_t *x, struct evbuffer *o)
{
	if (!json_is_object(x))
		return;
	single(o, "traceflow_ipfix_sent_records_total", "counter",
	    "IPFIX records sent to the collector.", jint(x, "sent"));
	single(o, "traceflow_ipfix_lost_records_total", "counter",
	    "IPFIX records lost (queue full, collector gone).", jint(x, "lost"));
	single(o, "traceflow_ipfix_queued_records", "gauge",
	    "IPFIX records waiting for the collector.", jint(x, "queued"));
	single(o, "traceflow_ipfix_connected", "gauge", "1 while connected to the collector.",
	    json_is_true(json_object_get(x, "connected")));
}

void
metrics_render(const struct service *svc, struct evbuffer *o)
{
	struct service_counters sc;

	memset(&sc, 0, sizeof sc);
	svc->counters(svc->arg, &sc);
	family(
	    o, "traceflow_build_info", "gauge", "The version of traceflowd, as a label; always 1.");
	sample(o, "traceflow_build_info", "version", PACKAGE_VERSION, 1);
	single(o, "traceflow_start_time_seconds", "gauge", "When the daemon started, in Unix time.",
	    sc.started_ns / NS_PER_SEC);
	render_interfaces(svc, o);
	render_packets(&sc, o);
	render_flows(&sc, o);
	render_output(&sc, o);
	render_spool(svc, &sc, o);
	single(o, "traceflow_resident_memory_bytes", "gauge", "Resident memory of the daemon.",
	    sc.rss_bytes);
	render_ipfix(sc.ipfix, o);
	json_decref(sc.ipfix);
}

char *
metrics_text(const struct service *svc)
{
	struct evbuffer *b = evbuffer_new();
	size_t n;
	char *s;

	metrics_render(svc, b);
	n = evbuffer_get_length(b);
	s = xmalloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

/* --- the endpoint ---------------------------------------------------------- */

struct metrics_http {
	struct httpd *httpd;
	struct service svc;
};

static void
render(void *arg, struct evbuffer *body)
{
	struct metrics_http *mh = arg;

	metrics_render(&mh->svc, body);
}

/* "host:port" or "[v6]:port" (config.c checked it) into host and port. */
static int
split_listen(const char *listen, char *host, size_t size, unsigned *port)
{
	const char *colon = strrchr(listen, ':');
	size_t n;

	if (colon == NULL || sscanf(colon + 1, "%u", port) != 1)
		return -1;
	n = (size_t)(colon - listen);
	if (n >= 2 && listen[0] == '[' && listen[n - 1] == ']') {
		listen++;
		n -= 2;
	}
	if (n == 0 || n >= size)
		return -1;
	memcpy(host, listen, n);
	host[n] = '\0';
	return 0;
}

/*
 * A listening socket on host:port, resolved here rather than by libevent's
 * evhttp_bind_socket: it asks getaddrinfo with AI_ADDRCONFIG, which finds
 * no "127.0.0.1" on a host whose only non-loopback addresses are IPv6,
 * and its failure left errno unset ("No such file or directory"). A
 * literal address is taken as it is (AI_NUMERICHOST); a name is resolved
 * as usual. -1 and *cause naming the real error.
 */
static int
listen_on(const char *setting, const char *host, unsigned port, char **cause)
{
	struct addrinfo hints, *res = NULL, *ai;
	char service[8];
	int fd = -1, one = 1, rc, saved = 0;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST;
	snprintf(service, sizeof service, "%u", port);
	if ((rc = getaddrinfo(host, service, &hints, &res)) == EAI_NONAME) {
		hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_ADDRCONFIG;
		rc = getaddrinfo(host, service, &hints, &res);
	}
	if (rc != 0) {
		xasprintf(cause, "metrics_listen %s: %s", setting,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
		fd = socket(
		    ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 || listen(fd, 128) == -1) {
			saved = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd == -1)
		xasprintf(
		    cause, "metrics_listen %s: cannot listen there: %s", setting, strerror(saved));
	return fd;
}

struct metrics_http *
metrics_http_new(struct event_base *base, const char *listen, unsigned max_clients,
    const struct service *svc, int prio, char **cause)
{
	struct httpd_config hc = {.max_clients = max_clients,
	    .request_ms = METRICS_REQUEST_MS,
	    .prio = prio,
	    .path = "/metrics",
	    .content_type = METRICS_CONTENT_TYPE,
	    .what = "metrics",
	    .render = render};
	struct metrics_http *mh;
	char host[256];
	unsigned port;
	int fd;

	if (split_listen(listen, host, sizeof host, &port) == -1 || port == 0 || port > 65535) {
		xasprintf(cause, "metrics_listen \"%s\": not host:port", listen);
		return NULL;
	}
	if ((fd = listen_on(listen, host, port, cause)) == -1)
		return NULL;
	mh = xcalloc(1, sizeof *mh);
	mh->svc = *svc;
	hc.arg = mh;
	if ((mh->httpd = httpd_new(base, fd, &hc, cause)) == NULL) {
		close(fd);
		free(mh);
		return NULL;
	}
	return mh;
}

void
metrics_http_free(struct metrics_http *mh)
{
	if (mh == NULL)
		return;
	httpd_free(mh->httpd);
	free(mh);
}
