/*
 * control.h: the daemon's side of the control channel: a Unix socket that
 * traceflowctl(8) talks to (proto.h), the commands of cmd.h, and the ring
 * of finished flows that `list` and `show` report.
 */
#ifndef TRACEFLOW_CONTROL_H
#define TRACEFLOW_CONTROL_H

#include <event2/event.h>

#include "daemon.h"
#include "engine.h"

struct control;

/*
 * Bind the control socket per daemon_config(d) (control_socket,
 * control_mode, control_group; admin_group is read per request, so a
 * reload changes it). Called while still root, before privileges drop.
 * NULL and *cause on failure (e.g. a live daemon already answers on it).
 */
struct control *control_new(struct daemon *d, struct event_base *base, char **cause);

/* Once the engine exists: keep the flows it finishes (engine_set_end_hook). */
void control_attach_engine(struct control *ctl, struct engine *e);

/* Close every client and the socket, and unlink it. */
void control_free(struct control *ctl);

#endif
