/*
 * listing.h: the replies of the control commands that list flows: list,
 * labels and show (cmd.h), streamed from the daemon's live table and its
 * history of finished flows, in memory bounded per request whatever the
 * table holds (control.h's stream). commands.c hands them the requests.
 */
#ifndef TRACEFLOW_LISTING_H
#define TRACEFLOW_LISTING_H

#include "control.h"
#include "service.h"

struct history;

/* Where listings read: the daemon (its config, interfaces, flows) and the history. */
struct listing_src {
	const struct service *svc;
	struct history *hist;
};

/* The handlers' bodies; argv[0] is the command. src must outlive the replies. */
void listing_list(struct ctl_client *c, int argc, char **argv, const struct listing_src *src);
void listing_labels(struct ctl_client *c, int argc, char **argv, const struct listing_src *src);
void listing_show(struct ctl_client *c, int argc, char **argv, const struct listing_src *src);

#endif
