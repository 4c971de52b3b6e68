/*
 * ctlprint.h: traceflowctl's output for people: the printer of each
 * command's reply, and the two readers of a reply document the client's
 * other parts use.
 */
#ifndef TRACEFLOW_CTLPRINT_H
#define TRACEFLOW_CTLPRINT_H

#include <jansson.h>

#include "cmd.h"

/* Print doc, the reply to ce, as aligned columns and lines. */
void ctl_print(const struct cmd_entry *ce, const json_t *doc);

/* o's member key as an integer (0 if absent) or a string (dflt if absent). */
json_int_t ctl_jint(const json_t *o, const char *key);
const char *ctl_jstr(const json_t *o, const char *key, const char *dflt);

#endif
