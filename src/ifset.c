/*
 * ifset.c: the daemon's captured interfaces (ifset.h).
 */
#include <inttypes.h>
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

struct ifset {
	struct event_base *base;
	struct capture *caps[CONFIG_INTERFACES_MAX];
	struct drop_report drops[CONFIG_INTERFACES_MAX];
	unsigned n;
};

struct ifset *
ifset_new(struct event_base *base)
{
	struct ifset *s = xcalloc(1, sizeof *s);

	s->base = base;
	return s;
}

void
ifset_free(struct ifset *s)
{
	if (s == NULL)
		return;
	while (s->n > 0)
		capture_free(s->caps[--s->n]);
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

static int
find(const struct ifset *s, const char *name)
{
	unsigned i;

	for (i = 0; i < s->n; i++)
		if (strcmp(capture_name(s->caps[i]), name) == 0)
			return (int)i;
	return -1;
}

static void
add(struct ifset *s, const struct tf_config *cfg, const char *name, struct engine *e)
{
	struct capture_opts co;
	struct capture *c;

	/* Not reached: the config and -i hold no more (config.h). */
	if (s->n == CONFIG_INTERFACES_MAX) {
		log_warnx("%s: too many interfaces (at most %d)", name, CONFIG_INTERFACES_MAX);
		return;
	}
	opts_of(cfg, &co);
	c = capture_new(s->base, name, &co);
	memset(&s->drops[s->n], 0, sizeof s->drops[0]);
	s->caps[s->n++] = c;
	capture_start(c);
	if (e != NULL)
		capture_attach(c, e);
}

static void
drop(struct ifset *s, unsigned i)
{
	log_info("%s: no longer captured", capture_name(s->caps[i]));
	capture_drain(s->caps[i]);
	capture_free(s->caps[i]);
	s->caps[i] = s->caps[--s->n];
	s->drops[i] = s->drops[s->n];
}

void
ifset_sync(struct ifset *s, const struct tf_config *cfg, struct engine *e)
{
	struct capture_opts co;
	char *cause = NULL;
	unsigned i, j;
	int keep;

	for (i = 0; i < s->n;) {
		for (keep = 0, j = 0; j < cfg->ninterfaces; j++)
			keep |= strcmp(cfg->interfaces[j], capture_name(s->caps[i])) == 0;
		if (!keep)
			drop(s, i);
		else
			i++;
	}
	opts_of(cfg, &co);
	for (i = 0; i < s->n; i++) {
		if (capture_set_opts(s->caps[i], &co, &cause) == -1) {
			log_warnx("%s", cause);
			free(cause);
			cause = NULL;
		}
	}
	for (i = 0; i < cfg->ninterfaces; i++)
		if (find(s, cfg->interfaces[i]) == -1)
			add(s, cfg, cfg->interfaces[i], e);
}

void
ifset_attach(struct ifset *s, struct engine *e)
{
	unsigned i;

	for (i = 0; i < s->n; i++)
		capture_attach(s->caps[i], e);
}

void
ifset_drain(struct ifset *s)
{
	unsigned i;

	for (i = 0; i < s->n; i++)
		capture_drain(s->caps[i]);
}

unsigned
ifset_count(const struct ifset *s)
{
	return s->n;
}

struct capture *
ifset_get(const struct ifset *s, unsigned i)
{
	return i < s->n ? s->caps[i] : NULL;
}

static void
check_one(struct ifset *s, unsigned i, uint64_t now)
{
	struct drop_report *r = &s->drops[i];
	struct capture_stats cs;
	char n[24];
	uint64_t k, f;

	capture_stats(s->caps[i], &cs);
	if (cs.kernel_drops <= r->kernel && cs.if_drops <= r->ifdrops)
		return;
	if (r->last_ns != 0 && now - r->last_ns < IFSET_DROPS_EVERY * NS_PER_SEC) {
		log_debug("%s: drops held back until a minute after the last report",
		    capture_name(s->caps[i]));
		return;
	}
	k = cs.kernel_drops > r->kernel ? cs.kernel_drops - r->kernel : 0;
	f = cs.if_drops > r->ifdrops ? cs.if_drops - r->ifdrops : 0;
	snprintf(n, sizeof n, "%" PRIu64, k + f);
	log_fields(LOG_LVL_WARN, LOG_FIELDS({"INTERFACE", capture_name(s->caps[i])}, {"DROPS", n}),
	    "%s: %" PRIu64 " dropped by the kernel and %" PRIu64
	    " by the interface since the last report (%" PRIu64 " and %" PRIu64 " in all)",
	    capture_name(s->caps[i]), k, f, cs.kernel_drops, cs.if_drops);
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
