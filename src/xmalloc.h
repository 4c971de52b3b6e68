/*
 * xmalloc.h: allocation that never returns NULL. Running out of memory is a
 * broken invariant for a daemon whose memory is bounded by its config, so
 * these call fatalx() rather than make every caller handle it.
 */
#ifndef TRACEFLOW_XMALLOC_H
#define TRACEFLOW_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
int xasprintf(char **ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
