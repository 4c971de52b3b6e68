/*
 * metrics.h: the daemon's counters in the Prometheus text exposition
 * format 0.0.4, one renderer for both readers: the HTTP endpoint /metrics
 * (metrics_listen) and traceflowctl stats --prometheus (node_exporter's
 * textfile collector). It asks the daemon only through service.h.
 */
#ifndef TRACEFLOW_METRICS_H
#define TRACEFLOW_METRICS_H

#include <event2/buffer.h>
#include <event2/event.h>

#include "service.h"

/* The media type of the text format, for the HTTP reply. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_REQUEST_MS   5000 /* a whole request, or an idle keep-alive connection */

/* Append the metrics for what svc reports now to out. */
void metrics_render(const struct service *svc, struct evbuffer *out);

/* The same as a malloc'd string. */
char *metrics_text(const struct service *svc);

struct metrics_http;

/*
 * Serve GET /metrics on listen ("host:port", "[v6]:port") on base, every
 * connection's events at priority prio (the lowest: a scrape never delays
 * the capture); other paths get 404. At most max_clients connections, each
 * request whole within METRICS_REQUEST_MS (httpd.h). NULL and *cause if it
 * cannot bind.
 */
struct metrics_http *metrics_http_new(struct event_base *base, const char *listen,
    unsigned max_clients, const struct service *svc, int prio, char **cause);
void metrics_http_free(struct metrics_http *mh);

#endif
