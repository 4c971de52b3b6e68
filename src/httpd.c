/*
 * httpd.c: the bounded HTTP/1.1 server of /metrics (httpd.h says what it
 * bounds and why evhttp was passed over).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "acceptguard.h"
#include "httpd.h"
#include "log.h"
#include "xmalloc.h"

struct hclient {
	TAILQ_ENTRY(hclient) entry; /* in the order they came */
	struct httpd *h;
	struct bufferevent *bev;
	struct event *deadline;
	int replying; /* a reply is being written: nothing more is read */
	int closing;  /* close once the reply is out */
};
TAILQ_HEAD(hclients, hclient);

struct httpd {
	struct httpd_config cfg;
	struct event_base *base;
	struct evconnlistener *lst;
	struct accept_guard *guard;
	struct hclients clients;
	unsigned nclients;
};

static void client_read(struct hclient *c);

static void
client_free(struct hclient *c)
{
	TAILQ_REMOVE(&c->h->clients, c, entry);
	c->h->nclients--;
	event_free(c->deadline);
	bufferevent_free(c->bev);
	free(c);
}

static void
arm_deadline(struct hclient *c)
{
	struct timeval tv = {c->h->cfg.request_ms / 1000, (c->h->cfg.request_ms % 1000) * 1000};

	evtimer_add(c->deadline, &tv);
}

/* The whole request did not come in time (or the connection sat idle): closed. */
static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	client_free(arg);
}

/* A reply with a body (NULL: none; head: its length only), then close if asked. */
static void
reply(struct hclient *c, int code, const char *reason, const char *type, struct evbuffer *body,
    int head)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t len = body != NULL ? evbuffer_get_length(body) : strlen(reason) + 1;

	evbuffer_add_printf(out,
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n", code, reason,
	    type != NULL ? type : "text/plain; charset=utf-8", len,
	    c->closing ? "Connection: close\r\n" : "");
	if (!head && body != NULL)
		evbuffer_add_buffer(out, body);
	else if (!head)
		evbuffer_add_printf(out, "%s\n", reason);
	/* Nothing more is read until this is out: pipelined requests wait in the kernel. */
	c->replying = 1;
	bufferevent_disable(c->bev, EV_READ);
	evtimer_del(c->deadline);
	arm_deadline(c); /* the client has as long to take the reply */
}

/* Does the request ask to close? HTTP/1.0 unless keep-alive; "Connection: close". */
static int
wants_close(const char *req, size_t len, int http10)
{
	const char *p = req, *end = req + len, *nl;
	int close_it = http10;

	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; p = nl + 1) {
		if (strncasecmp(p, "connection:", 11) != 0)
			continue;
		for (p += 11; p < nl && (*p == ' ' || *p == '\t'); p++)
			;
		if (strncasecmp(p, "close", 5) == 0)
			close_it = 1;
		else if (strncasecmp(p, "keep-alive", 10) == 0)
			close_it = 0;
	}
	return close_it;
}

/* One whole request (len bytes with its blank line): answered. */
static void
serve(struct hclient *c, const char *req, size_t len)
{
	char method[8], target[256], version[16];
	struct evbuffer *body;
	size_t plen;
	int head;

	if (sscanf(req, "%7s %255s %15s", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7) != 0) {
		c->closing = 1;
		reply(c, 400, "Bad Request", NULL, NULL, 0);
		return;
	}
	c->closing = wants_close(req, len, strcmp(version, "HTTP/1.0") == 0);
	head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0) {
		c->closing = 1;
		reply(c, 405, "Method Not Allowed", NULL, NULL, 0);
		return;
	}
	/* A body would be read as the next request: only bodiless ones are served. */
	if (strcasestr(req, "\ncontent-length:") != NULL ||
	    strcasestr(req, "\ntransfer-encoding:") != NULL) {
		c->closing = 1;
		reply(c, 400, "Bad Request", NULL, NULL, head);
		return;
	}
	plen = strcspn(target, "?");
	if (plen != strlen(c->h->cfg.path) || strncmp(target, c->h->cfg.path, plen) != 0) {
		reply(c, 404, "Not Found", NULL, NULL, head);
		return;
	}
	body = evbuffer_new();
	c->h->cfg.render(c->h->cfg.arg, body);
	reply(c, 200, "OK", c->h->cfg.content_type, body, head);
	evbuffer_free(body);
}

static void
client_read(struct hclient *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	size_t len;
	char *req;

	if (c->replying)
		return;
	if (end.pos == -1) {
		if (evbuffer_get_length(in) > HTTPD_MAX_REQUEST) {
			c->closing = 1;
			reply(c, 431, "Request Header Fields Too Large", NULL, NULL, 0);
		}
		return;
	}
	len = (size_t)end.pos + 4;
	if (len > HTTPD_MAX_REQUEST) {
		c->closing = 1;
		reply(c, 431, "Request Header Fields Too Large", NULL, NULL, 0);
		return;
	}
	req = xmalloc(len + 1);
	evbuffer_remove(in, req, len);
	req[len] = '\0';
	serve(c, req, len);
	free(req);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	client_read(arg);
}

/* The reply is out: close, or read the next request (one may be waiting already). */
static void
on_write(struct bufferevent *bev, void *arg)
{
	struct hclient *c = arg;

	(void)bev;
	if (!c->replying)
		return;
	if (c->closing) {
		client_free(c);
		return;
	}
	c->replying = 0;
	evtimer_del(c->deadline);
	arm_deadline(c);
	bufferevent_enable(c->bev, EV_READ);
	client_read(c);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		client_free(arg);
}

/* Full: the oldest connection waiting for a request makes room; 0 if none does. */
static int
make_room(struct httpd *h)
{
	struct hclient *c;

	TAILQ_FOREACH(c, &h->clients, entry)
	if (!c->replying) {
		client_free(c);
		return 1;
	}
	return 0;
}

static void
on_accept(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct httpd *h = arg;
	struct timeval wto = {h->cfg.request_ms / 1000, (h->cfg.request_ms % 1000) * 1000};
	struct hclient *c;

	(void)lst;
	(void)sa;
	(void)salen;
	accept_guard_ok(h->guard);
	if (h->nclients >= h->cfg.max_clients && !make_room(h)) {
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->h = h;
	if ((c->bev = bufferevent_socket_new(h->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    (c->deadline = evtimer_new(h->base, on_deadline, c)) == NULL) {
		log_warnx("%s: cannot serve a client", h->cfg.what);
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		else
			close(fd);
		free(c);
		return;
	}
	bufferevent_priority_set(c->bev, h->cfg.prio); /* capture goes first */
	event_priority_set(c->deadline, h->cfg.prio);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_set_timeouts(c->bev, NULL, &wto);
	/* No more than one request's worth read ahead. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, HTTPD_MAX_REQUEST + 1);
	bufferevent_enable(c->bev, EV_READ);
	arm_deadline(c);
	TAILQ_INSERT_TAIL(&h->clients, c, entry);
	h->nclients++;
}

static void
on_listen_error(struct evconnlistener *lst, void *arg)
{
	(void)lst;
	accept_guard_error(((struct httpd *)arg)->guard);
}

struct httpd *
httpd_new(struct event_base *base, int fd, const struct httpd_config *cfg, char **cause)
{
	struct httpd *h = xcalloc(1, sizeof *h);

	h->cfg = *cfg;
	h->base = base;
	if (h->cfg.max_clients == 0)
		h->cfg.max_clients = 1;
	if (h->cfg.request_ms == 0)
		h->cfg.request_ms = 5000;
	TAILQ_INIT(&h->clients);
	h->lst = evconnlistener_new(
	    base, on_accept, h, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (h->lst == NULL) {
		xasprintf(cause, "%s: cannot accept connections", cfg->what);
		free(h);
		return NULL;
	}
	evconnlistener_set_error_cb(h->lst, on_listen_error);
	h->guard = accept_guard_new(base, h->lst, cfg->what, NULL, NULL);
	return h;
}

void
httpd_free(struct httpd *h)
{
	if (h == NULL)
		return;
	while (!TAILQ_EMPTY(&h->clients))
		client_free(TAILQ_FIRST(&h->clients));
	accept_guard_free(h->guard);
	evconnlistener_free(h->lst);
	free(h);
}

unsigned
httpd_clients(const struct httpd *h)
{
	return h->nclients;
}

unsigned long
httpd_pauses(const struct httpd *h)
{
	return accept_guard_pauses(h->guard);
}
