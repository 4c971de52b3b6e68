/*
 * commands.h: the handlers of the control commands (cmd.h), on top of the
 * transport (control.h), asking the daemon through service.h, and the
 * history of finished flows that `list` and `show` report.
 */
#ifndef TRACEFLOW_COMMANDS_H
#define TRACEFLOW_COMMANDS_H

#include <jansson.h>

#include "control.h"
#include "flow.h"
#include "service.h"

struct index_record;

#define COMMANDS_HISTORY      100000      /* finished flows kept for list and show */
#define COMMANDS_FRAMES_BYTES (32u << 20) /* bytes of their frame-number text kept */

struct commands;

struct commands *commands_new(const struct service *svc, size_t history, size_t frames_budget);
void commands_free(struct commands *cmds);

/* The handlers, in cmd_table's order, for control_params; their argument is cmds. */
extern const control_handler commands_handlers[CMD_COUNT];

/* engine_end_hook: a flow or segment was indexed (its argument is cmds). */
void commands_flow_done(const struct flow_key *key, uint8_t init, const struct index_record *rec,
    const char *frames, int ended, void *arg);

#endif
