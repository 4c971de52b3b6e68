/*
 * reason.h: the word for each reason a flow ends (flow.h's enum
 * flow_reason), as the index, the catalog, stats, metrics and queries
 * write it.
 */
#ifndef TRACEFLOW_REASON_H
#define TRACEFLOW_REASON_H

#include "flow.h"

/* "fin", "rst", ...; "unknown" for a value out of range. */
const char *flow_reason_name(enum flow_reason r);

#endif
