/*
 * cmd.c: the command table and the wire form of requests and replies,
 * shared by traceflowd and traceflowctl. Pure: no I/O, so the unit tests
 * call the readers directly with every malformed input they can think of.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "xmalloc.h"

#define CMD_ENTRY(n, fl, mn, mx, a, h) {#n, fl, mn, mx, a, h},
const struct cmd_entry cmd_table[CMD_COUNT] = {CMD_TABLE(CMD_ENTRY)};
#undef CMD_ENTRY

const struct cmd_entry *
cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < CMD_COUNT; i++)
		if (strcmp(cmd_table[i].name, name) == 0)
			return &cmd_table[i];
	return NULL;
}

int
cmd_check_args(const struct cmd_entry *ce, int nargs, char **cause)
{
	if (nargs < ce->minargs || nargs > ce->maxargs) {
		xasprintf(cause, "%s: wrong number of arguments (%d); usage: %s%s%s", ce->name,
		    nargs, ce->name, ce->args[0] ? " " : "", ce->args);
		return -1;
	}
	return 0;
}

int
cmd_option(const struct cmd_entry *ce, const char *opt)
{
	const char *p = ce->args;
	size_t n = strlen(opt);

	if (n < 3 || strncmp(opt, "--", 2) != 0)
		return -1;
	while ((p = strstr(p, opt)) != NULL) {
		/* A whole word of the text: "[--host ADDR]", not "--hostname". */
		if ((p == ce->args || p[-1] == '[' || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ']' || p[n] == ' '))
			/* "--host ADDR": a value in capitals follows. */
			return p[n] == ' ' && p[n + 1] >= 'A' && p[n + 1] <= 'Z';
		p += n;
	}
	return -1;
}

void
proto_hdr_make(struct proto_hdr *h, uint32_t type, uint32_t len)
{
	h->magic = PROTO_MAGIC;
	h->version = PROTO_VERSION;
	h->type = type;
	h->len = len;
}

uint8_t *
proto_request_encode(int argc, char *const argv[], size_t *len, char **cause)
{
	struct proto_hdr h;
	uint32_t n = (uint32_t)argc;
	size_t i, total = sizeof n, alen;
	uint8_t *buf, *p;

	if (argc < 1 || argc > PROTO_MAX_ARGS) {
		xasprintf(cause, "%d words in the command line (at most %d)", argc, PROTO_MAX_ARGS);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if ((alen = strlen(argv[i])) > PROTO_MAX_ARG) {
			xasprintf(cause, "argument %zu is longer than %d bytes", i, PROTO_MAX_ARG);
			return NULL;
		}
		total += alen + 1;
	}
	if (total > PROTO_MAX_REQUEST) {
		xasprintf(cause, "command line longer than %d bytes", PROTO_MAX_REQUEST);
		return NULL;
	}
	buf = xmalloc(PROTO_HDR_LEN + total);
	proto_hdr_make(&h, PROTO_REQUEST, (uint32_t)total);
	memcpy(buf, &h, sizeof h);
	p = buf + sizeof h;
	memcpy(p, &n, sizeof n);
	p += sizeof n;
	for (i = 0; i < n; i++) {
		alen = strlen(argv[i]) + 1;
		memcpy(p, argv[i], alen);
		p += alen;
	}
	*len = PROTO_HDR_LEN + total;
	return buf;
}

static int
check_magic(const struct proto_hdr *h, char **cause)
{
	if (h->magic != PROTO_MAGIC) {
		xasprintf(cause, "not a traceflow control message (bad magic)");
		return -1;
	}
	return 0;
}

int
proto_request_check_hdr(const struct proto_hdr *h, char **cause)
{
	if (check_magic(h, cause) == -1)
		return -1;
	if (h->version != PROTO_VERSION) {
		xasprintf(cause,
		    "protocol version mismatch: the client speaks %u, traceflowd speaks %u "
		    "(use the traceflowctl of the same release)",
		    h->version, PROTO_VERSION);
		return -1;
	}
	if (h->type != PROTO_REQUEST) {
		xasprintf(cause, "unexpected message type %u (a request was expected)", h->type);
		return -1;
	}
	if (h->len < sizeof(uint32_t) || h->len > PROTO_MAX_REQUEST) {
		xasprintf(cause, "request length %u out of range (%zu to %d)", h->len,
		    sizeof(uint32_t), PROTO_MAX_REQUEST);
		return -1;
	}
	return 0;
}

/* Count the NUL-terminated strings in p[0..len); -1 if the last one is not terminated. */
static int
count_strings(const char *p, size_t len, char **cause)
{
	const char *end = p + len, *nul;
	int n = 0;

	while (p < end) {
		if ((nul = memchr(p, '\0', (size_t)(end - p))) == NULL) {
			xasprintf(cause, "argument %d is not NUL-terminated", n);
			return -1;
		}
		if ((size_t)(nul - p) > PROTO_MAX_ARG) {
			xasprintf(cause, "argument %d is longer than %d bytes", n, PROTO_MAX_ARG);
			return -1;
		}
		if (++n > PROTO_MAX_ARGS) {
			xasprintf(cause, "more than %d arguments", PROTO_MAX_ARGS);
			return -1;
		}
		p = nul + 1;
	}
	return n;
}

int
proto_request_decode(const uint8_t *p, size_t len, int *argc, char ***argv, char **cause)
{
	uint32_t n;
	char *copy, **v, *s;
	int found, i;

	if (len < sizeof n || len > PROTO_MAX_REQUEST) {
		xasprintf(cause, "request length %zu out of range", len);
		return -1;
	}
	memcpy(&n, p, sizeof n);
	if (n < 1 || n > PROTO_MAX_ARGS) {
		xasprintf(cause, "argument count %u out of range (1 to %d)", n, PROTO_MAX_ARGS);
		return -1;
	}
	if ((found = count_strings((const char *)p + sizeof n, len - sizeof n, cause)) == -1)
		return -1;
	if ((uint32_t)found != n) {
		/* Fewer strings than announced is truncation, more is leftover bytes. */
		xasprintf(cause, "request announces %u arguments but holds %d", n, found);
		return -1;
	}
	/* One allocation: the pointers, then the strings they point into. */
	v = xmalloc(n * sizeof *v + (len - sizeof n));
	copy = (char *)(v + n);
	memcpy(copy, p + sizeof n, len - sizeof n);
	for (i = 0, s = copy; i < (int)n; i++) {
		v[i] = s;
		s += strlen(s) + 1;
	}
	*argc = (int)n;
	*argv = v;
	return 0;
}

int
proto_reply_check_hdr(const struct proto_hdr *h, char **cause)
{
	if (check_magic(h, cause) == -1)
		return -1;
	switch (h->type) {
	case PROTO_DATA:
		if (h->len == 0 || h->len > PROTO_MAX_DATA) {
			xasprintf(cause, "reply piece of %u bytes (1 to %u allowed)", h->len,
			    PROTO_MAX_DATA);
			return -1;
		}
		return 0;
	case PROTO_EXIT:
		if (h->len != PROTO_EXIT_LEN) {
			xasprintf(cause, "exit message of %u bytes (%d expected)", h->len,
			    PROTO_EXIT_LEN);
			return -1;
		}
		return 0;
	default:
		xasprintf(cause, "unexpected message type %u in a reply", h->type);
		return -1;
	}
}

int
proto_exit_decode(const uint8_t *p, size_t len, uint32_t *status, char **cause)
{
	if (len != PROTO_EXIT_LEN) {
		xasprintf(cause, "exit message of %zu bytes (%d expected)", len, PROTO_EXIT_LEN);
		return -1;
	}
	memcpy(status, p, sizeof *status);
	if (*status != PROTO_OK && *status != PROTO_ERROR) {
		xasprintf(cause, "exit status %u out of range", *status);
		return -1;
	}
	return 0;
}
