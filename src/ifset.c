/*
 * ifset.c: the daemon's captured interfaces (ifset.h).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ifset.h"
#include "log.h"
#include "xmalloc.h"

/* What the drop lines of one interface have reported. */
struct drop_report {
	uint64_t kernel, ifdrops; /* counts the last line brought up to */
	uint64_t last_ns;         /* when it was logged; 0: never */
};

/* Each interface is a source of the engine's (engine_add_source). */
_Static_assert(CONFIG_INTERFACES_MAX <= ENGINE_MAX_SOURCES, "an interface is an engine source");

/* One interface: a capture per worker, in one fanout group when there are several. */
struct iface {
	struct capture *caps[IFSET_WORKERS_MAX];
	struct capture_fanout *fo; /* NULL with one worker */
};

struct ifset {
	unsigned nw; /* workers */
	struct event_base *bases[IFSET_WORKERS_MAX];
	pthread_mutex_t *locks[IFSET_WORKERS_MAX];
	struct iface ifs[CONFIG_INTERFACES_MAX];
	struct drop_report drops[CONFIG_INTERFACES_MAX];
	unsigned n;
};

struct ifset *
ifset_new(unsigned workers, struct event_base **bases, pthread_mutex_t **locks)
{
	struct ifset *s = xcalloc(1, sizeof *s);
	unsigned w;

	s->nw = workers < 1 ? 1 : workers > IFSET_WORKERS_MAX ? IFSET_WORKERS_MAX : workers;
	for (w = 0; w < s->nw; w++) {
		s->bases[w] = bases[w];
		s->locks[w] = locks != NULL ? locks[w] : NULL;
	}
	return s;
}

static void
iface_free(struct ifset *s, struct iface *f)
{
	unsigned w;

	for (w = 0; w < s->nw; w++)
		capture_free(f->caps[w]);
	capture_fanout_free(f->fo);
}

void
ifset_free(struct ifset *s)
{
	if (s == NULL)
		return;
	while (s->n > 0)
		iface_free(s, &s->ifs[--s->n]);
	free(s);
}

static void
opts_of(const struct tf_config *c, struct capture_opts *co)
{
	co->snaplen = c->snaplen;
	co->promisc = c->promisc;
	co->buffer_size = c->buffer_size;
	co->nanosecond = c->nanosecond;
	co->filter = c->filter;
}

/* Does cfg still name the interface? */
static int
named(const struct tf_config *cfg, const char *name)
{
	unsigned j;

	for (j = 0; j < cfg->ninterfaces; j++)
		if (strcmp(cfg->interfaces[j], name) == 0)
			return 1;
	return 0;
}

static int
find(const struct ifset *s, const char *name)
{
	unsigned i;

	for (i = 0; i < s->n; i++)
		if (strcmp(capture_name(s->ifs[i].caps[0]), name) == 0)
			return (int)i;
	return -1;
}

/*
 * Every worker's handle is opened and in the group before any takes its
 * filter (capture_arm): a connection's frames go to one worker from the
 * first.
 */
static void
add(struct ifset *s, const struct tf_config *cfg, const char *name, struct engine **e)
{
	struct capture_opts co;
	struct iface *f;
	unsigned w;

	/* Not reached: the config and -i hold no more (config.h). */
	if (s->n == CONFIG_INTERFACES_MAX) {
		log_warnx("%s: too many interfaces (at most %d)", name, CONFIG_INTERFACES_MAX);
		return;
	}
	opts_of(cfg, &co);
	memset(&s->drops[s->n], 0, sizeof s->drops[0]);
	f = &s->ifs[s->n++];
	memset(f, 0, sizeof *f);
	if (s->nw > 1)
		f->fo = capture_fanout_new(name);
	for (w = 0; w < s->nw; w++) {
		f->caps[w] = capture_new(s->bases[w], name, &co, f->fo, w, s->locks[w]);
		capture_start(f->caps[w]);
	}
	for (w = 0; w < s->nw; w++) {
		capture_arm(f->caps[w]);
		if (e != NULL)
			capture_attach(f->caps[w], e[w]);
	}
}

static void
drop(struct ifset *s, unsigned i)
{
	unsigned w;

	log_info("%s: no longer captured", capture_name(s->ifs[i].caps[0]));
	for (w = 0; w < s->nw; w++)
		capture_drain(s->ifs[i].caps[w]);
	iface_free(s, &s->ifs[i]);
	s->ifs[i] = s->ifs[--s->n];
	s->drops[i] = s->drops[s->n];
}

void
ifset_sync(struct ifset *s, const struct tf_config *cfg, struct engine **e)
{
	struct capture_opts co;
	char *cause = NULL;
	unsigned i, w;

	for (i = 0; i < s->n;) {
		if (!named(cfg, ifset_name(s, i)))
			drop(s, i);
		else
			i++;
	}
	opts_of(cfg, &co);
	for (i = 0; i < s->n; i++) {
		for (w = 0; w < s->nw; w++) {
			if (capture_set_opts(s->ifs[i].caps[w], &co, &cause) == -1) {
				log_warnx("%s", cause);
				free(cause);
				cause = NULL;
			}
		}
	}
	for (i = 0; i < cfg->ninterfaces; i++)
		if (find(s, cfg->interfaces[i]) == -1)
			add(s, cfg, cfg->interfaces[i], e);
}

void
ifset_quiesce_dropped(struct ifset *s, const struct tf_config *cfg)
{
	unsigned i, w;

	for (i = 0; i < s->n; i++) {
		if (named(cfg, ifset_name(s, i)))
			continue;
		for (w = 0; w < s->nw; w++)
			capture_quiesce(s->ifs[i].caps[w]);
	}
}

void
ifset_attach(struct ifset *s, struct engine **e)
{
	unsigned i, w;

	for (i = 0; i < s->n; i++)
		for (w = 0; w < s->nw; w++)
			capture_attach(s->ifs[i].caps[w], e[w]);
}

void
ifset_drain(struct ifset *s)
{
	unsigned i, w;

	for (i = 0; i < s->n; i++)
		for (w = 0; w < s->nw; w++)
			capture_drain(s->ifs[i].caps[w]);
}

unsigned
ifset_count(const struct ifset *s)
{
	return s->n;
}

unsigned
ifset_workers(const struct ifset *s)
{
	return s->nw;
}

const char *
ifset_name(const struct ifset *s, unsigned i)
{
	return i < s->n ? capture_name(s->ifs[i].caps[0]) : NULL;
}

/* The first worker's error, or why its group was refused. */
const char *
ifset_error(const struct ifset *s, unsigned i)
{
	const char *e;

	if (i >= s->n)
		return NULL;
	if ((e = capture_error(s->ifs[i].caps[0])) == NULL && s->ifs[i].fo != NULL &&
	    capture_fanout_refused(s->ifs[i].fo) != NULL)
		e = "PACKET_FANOUT refused: the first worker captures alone";
	return e;
}

void
ifset_worker_stats(struct ifset *s, unsigned i, unsigned w, struct capture_stats *st)
{
	memset(st, 0, sizeof *st);
	if (i < s->n && w < s->nw)
		capture_stats(s->ifs[i].caps[w], st);
}

void
ifset_stats(struct ifset *s, unsigned i, struct capture_stats *st)
{
	struct capture_stats one;
	unsigned w;

	ifset_worker_stats(s, i, 0, st);
	for (w = 1; w < s->nw; w++) {
		ifset_worker_stats(s, i, w, &one);
		st->received += one.received;
		st->kernel_drops += one.kernel_drops;
		st->if_drops += one.if_drops;
		st->frames += one.frames;
	}
}

void
ifset_describe(struct ifset *s, unsigned i, struct service_iface *out)
{
	struct capture_stats cs;
	unsigned w;

	ifset_stats(s, i, &cs);
	out->name = ifset_name(s, i);
	out->up = cs.up;
	out->received = cs.received;
	out->kernel_drops = cs.kernel_drops;
	out->if_drops = cs.if_drops;
	out->frames = cs.frames;
	out->error = ifset_error(s, i);
	out->nworkers = s->nw > 1 ? s->nw : 0;
	for (w = 0; w < out->nworkers && w < SERVICE_WORKERS_MAX; w++) {
		ifset_worker_stats(s, i, w, &cs);
		out->workers[w].up = cs.up;
		out->workers[w].received = cs.received;
		out->workers[w].kernel_drops = cs.kernel_drops;
		out->workers[w].if_drops = cs.if_drops;
		out->workers[w].frames = cs.frames;
	}
}

static void
check_one(struct ifset *s, unsigned i, uint64_t now)
{
	struct drop_report *r = &s->drops[i];
	struct capture_stats cs;
	char n[24];
	uint64_t k, f;

	ifset_stats(s, i, &cs);
	if (cs.kernel_drops <= r->kernel && cs.if_drops <= r->ifdrops)
		return;
	if (r->last_ns != 0 && now - r->last_ns < IFSET_DROPS_EVERY * NS_PER_SEC) {
		log_debug(
		    "%s: drops held back until a minute after the last report", ifset_name(s, i));
		return;
	}
	k = cs.kernel_drops > r->kernel ? cs.kernel_drops - r->kernel : 0;
	f = cs.if_drops > r->ifdrops ? cs.if_drops - r->ifdrops : 0;
	snprintf(n, sizeof n, "%" PRIu64, k + f);
	log_fields(LOG_LVL_WARN, LOG_FIELDS({"INTERFACE", ifset_name(s, i)}, {"DROPS", n}),
	    "%s: %" PRIu64 " dropped by the kernel and %" PRIu64
	    " by the interface since the last report (%" PRIu64 " and %" PRIu64 " in all)",
	    ifset_name(s, i), k, f, cs.kernel_drops, cs.if_drops);
	r->kernel = cs.kernel_drops;
	r->ifdrops = cs.if_drops;
	r->last_ns = now;
}

void
ifset_check_drops(struct ifset *s, uint64_t now)
{
	unsigned i;

	for (i = 0; i < s->n; i++)
		check_one(s, i, now);
}
