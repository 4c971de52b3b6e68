/*
 * libtf_file.c: tf_trace_file, a capture file through a tracer as
 * traceflowd --read takes it (offline.c): our reader (capfile.c), every
 * pcapng interface a source of its own (part of the flow key, its own link
 * type and snaplen), frames numbered across the file so that they match
 * Wireshark's. The fast path of Python's TraceFlow.from_file: no frame
 * crosses into Python.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capfile.h"
#include "libtf.h"
#include "xmalloc.h"

struct file_ctx {
	struct tf_tracer *t;
	struct capfile *cf;
	struct source *src; /* by interface number */
	uint8_t *ready;
	uint32_t nsrc;
	int64_t first;       /* the first interface set up; -1: none */
	struct source nosrc; /* numbers records before any interface */
};

static void
grow(struct file_ctx *c)
{
	uint32_t n = capfile_nif(c->cf);

	if (c->nsrc >= n)
		return;
	c->src = xreallocarray(c->src, n, sizeof *c->src);
	c->ready = xreallocarray(c->ready, n, sizeof *c->ready);
	for (; c->nsrc < n; c->nsrc++) {
		memset(&c->src[c->nsrc], 0, sizeof *c->src);
		c->ready[c->nsrc] = 0;
	}
}

/* Interface ifno's source, at its first packet. TF_OK or TF_ELIMIT/TF_EIO. */
static int
set_up(struct file_ctx *c, uint32_t ifno, const char *path)
{
	const struct capfile_if *ifp = capfile_if(c->cf, ifno);
	struct source *s = &c->src[ifno];
	char num[16];

	if (ifp == NULL) {
		tf_seterr(c->t->err, sizeof c->t->err,
		    "%s: interface %u is not of the current section", path, ifno);
		return TF_EIO;
	}
	s->dlt = (int)ifp->linktype;
	s->linktype = ifp->linktype;
	s->snaplen = ifp->snaplen;
	s->distinct = 1;
	snprintf(num, sizeof num, "%" PRIu32, ifno);
	if (capfile_is_pcapng(c->cf))
		s->name = ifp->name[0] != '\0' ? ifp->name : num;
	if (engine_add_source(c->t->e, s) == -1) {
		tf_seterr(c->t->err, sizeof c->t->err, "%s: more than %d interfaces carry packets",
		    path, ENGINE_MAX_SOURCES);
		return TF_ELIMIT;
	}
	s->name = NULL; /* copied by the engine; num is gone */
	c->ready[ifno] = 1;
	if (c->first == -1)
		c->first = ifno;
	return TF_OK;
}

static int
on_record(struct file_ctx *c, const struct capfile_rec *r, const char *path)
{
	struct source *src;
	int rc;

	if (r->kind != CAPFILE_PACKET) {
		/* Numbered, never traced (offline.c). */
		if (c->first == -1) {
			if (c->nosrc.distinct == 0) {
				c->nosrc.distinct = 1;
				if (engine_add_source(c->t->e, &c->nosrc) == -1)
					return TF_ELIMIT;
			}
			src = &c->nosrc;
		} else
			src = &c->src[c->first];
		engine_skip(c->t->e, src);
		return TF_OK;
	}
	if (!c->ready[r->ifno] && (rc = set_up(c, r->ifno, path)) != TF_OK)
		return rc;
	engine_frame(c->t->e, &c->src[r->ifno], r->ts, r->caplen, r->wirelen, r->data);
	if (++c->t->batch % 4096 == 0)
		engine_batch_end(c->t->e);
	return TF_OK;
}

int
tf_trace_file(tf_tracer *t, const char *path)
{
	struct file_ctx c;
	struct capfile_rec r;
	char *cause = NULL;
	int n, rc;

	if (t == NULL)
		return TF_EINVAL;
	if (path == NULL) {
		tf_seterr(t->err, sizeof t->err, "tf_trace_file: no file");
		return TF_EINVAL;
	}
	memset(&c, 0, sizeof c);
	c.t = t;
	c.first = -1;
	if ((c.cf = capfile_open(path, &cause)) == NULL) {
		tf_seterr(t->err, sizeof t->err, "%s: cannot read capture: %s", path, cause);
		free(cause);
		return TF_EIO;
	}
	/* The first record read ahead: its interfaces tell the precision. */
	n = capfile_next(c.cf, &r);
	if ((rc = tf_engine(t, capfile_wants_nano(c.cf))) == TF_OK) {
		for (; n == 1 && rc == TF_OK; n = capfile_next(c.cf, &r)) {
			grow(&c);
			rc = on_record(&c, &r, path);
		}
		engine_batch_end(t->e);
		if (rc == TF_OK && n == -1) {
			/* What was read stays traced, as with traceflowd --read. */
			tf_seterr(t->err, sizeof t->err, "%s: %s", path, capfile_error(c.cf));
			rc = TF_EIO;
		}
	}
	free(c.src);
	free(c.ready);
	capfile_close(c.cf);
	return rc;
}
