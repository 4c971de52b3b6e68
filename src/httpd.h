/*
 * httpd.h: the HTTP/1.1 server of /metrics: one resource, GET and HEAD,
 * on the daemon's loop, bounded in every way a client could push it.
 *
 * libevent's evhttp (2.1, Debian 12's) was passed over: it has no bound on
 * connections, restarts its timeout on every byte (a client sending a
 * header line every few seconds is held for ever), reads pipelined
 * requests while their replies wait (three clients that never read took
 * a gigabyte in ten seconds), and spins on EMFILE. What /metrics needs of
 * HTTP is small enough to do here with the guards built in:
 *  - at most max_clients connections; when full, the oldest one waiting
 *    for a request is closed for the new one (none: the new one is);
 *  - the whole request within request_ms of the connection's start or of
 *    the last reply (a keep-alive connection idle longer is closed too);
 *  - one request at a time: reading stops while a reply is unsent, and no
 *    more than HTTPD_MAX_REQUEST bytes are read ahead;
 *  - a reply that the client does not take within request_ms ends the
 *    connection.
 */
#ifndef TRACEFLOW_HTTPD_H
#define TRACEFLOW_HTTPD_H

#include <event2/buffer.h>
#include <event2/event.h>

#define HTTPD_MAX_REQUEST 8192 /* request line and headers */

struct httpd_config {
	unsigned max_clients;
	unsigned request_ms;
	int prio;                 /* of every connection's events */
	const char *path;         /* the one resource, "/metrics" */
	const char *content_type; /* of its body */
	const char *what;         /* for messages: "metrics" */
	/* The body, made at each GET (or HEAD, for its length). */
	void (*render)(void *arg, struct evbuffer *body);
	void *arg;
};

struct httpd;

/* Serve on fd, a listening socket (taken: closed by httpd_free). NULL and *cause on failure. */
struct httpd *httpd_new(
    struct event_base *base, int fd, const struct httpd_config *cfg, char **cause);
void httpd_free(struct httpd *h);

/* Connections open now; pauses for want of descriptors so far. */
unsigned httpd_clients(const struct httpd *h);
unsigned long httpd_pauses(const struct httpd *h);

#endif
