/*
 * export.h: every finished flow (or segment) as an IPFIX record (RFC 7011)
 * to a collector, so that a fleet of sensors feeds the flow tools of its
 * site (nfcapd, SiLK, pmacct...). Records are made where the index line is
 * made; they wait in a bounded queue and go out from a thread of their own,
 * so that a slow or absent collector never holds up capture: what does not
 * fit in the queue is counted as lost and logged, never dropped silently.
 * The encoding itself is ipfix.c's.
 */
#ifndef TRACEFLOW_EXPORT_H
#define TRACEFLOW_EXPORT_H

#include <stdint.h>

#include <jansson.h>

#include "record.h"

enum export_transport { EXPORT_UDP = 0, EXPORT_TCP };

struct export_config {
	const char *collector; /* "host:port" or "[v6addr]:port"; NULL or "" = no export (copied) */
	int transport;         /* enum export_transport */
	uint32_t domain;       /* observation domain id: which sensor this is */
	uint32_t pen;          /* private enterprise number of traceflow's own elements; 0 = none */
	uint64_t refresh_ns;   /* UDP: templates are sent again this often */
	uint64_t queue_max;    /* records waiting (or sent, not yet acknowledged) at most */
};

struct export_stats {
	uint64_t sent;     /* records the collector has (TCP: acknowledged; UDP: sent) */
	uint64_t lost;     /* records dropped: the queue was full, or still queued at exit */
	uint64_t queued;   /* records waiting or unacknowledged now */
	uint64_t connects; /* connections made (TCP) */
	int connected;     /* a connection is up now (UDP: the last send worked) */
};

struct exporter;

/* Whether s is a valid "host:port" (for the config check): 0, or -1 and *why. */
int export_check_collector(const char *s, char **why);

/*
 * Start exporting (the connection is made by the thread, with backoff while
 * the collector is away). NULL and *cause on a bad setting.
 */
struct exporter *export_new(const struct export_config *cfg, char **cause);

/*
 * Send what is queued (for a few seconds at most), count the rest as lost,
 * log the totals, stop the thread. NULL is fine.
 */
void export_free(struct exporter *x);

/* Queue the record of a finished flow (or segment): never blocks on the network. */
void export_record(struct exporter *x, const struct index_record *r);

void export_stats(struct exporter *x, struct export_stats *st);

/* The counters for the control channel's stats; JSON null when x is NULL (export off). */
json_t *export_stats_json(struct exporter *x);

#endif
