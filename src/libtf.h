/*
 * libtf.h: what libtraceflow's two halves share (libtf.c, the API and its
 * tracer; libtf_file.c, capture files): the tracer itself, opaque in
 * traceflow.h.
 */
#ifndef TRACEFLOW_LIBTF_H
#define TRACEFLOW_LIBTF_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"
#include "record.h"
#include "traceflow.h"

#define TF_MAX_OPTIONS   64
#define TF_MAX_LINKTYPES 16     /* sources of frames given one by one, one per link type */
#define TF_SNAPLEN       262144 /* what a frame given by the caller may hold */

/* An index record as the tracer keeps it (tf_record points into it). */
struct tf_rec {
	char *label, *fpout, *json;
	uint64_t *index;
	size_t nindex;
};

struct tf_index {
	struct tf_rec *recs;
	size_t n, next;
	struct tf_record cur; /* what tf_index_next returned last */
};

struct tf_tracer {
	char err[512];
	struct tf_config tc; /* the settings: the engine's strings point into it */
	int have_tc;
	char names[TF_MAX_OPTIONS][32]; /* option names as the table spells them */
	struct engine_config cfg;
	int nanosecond; /* -1: the capture file's precision (microseconds for single frames) */
	int force;
	char *outdir;
	int outfd, lockfd;
	struct engine *e; /* made at the first frame, when the precision is known */
	struct source src[TF_MAX_LINKTYPES];
	size_t nsrc;
	uint64_t batch;
	int done; /* submitted: no more frames */
	struct tf_rec *recs;
	size_t nrecs, caprecs;
	struct text line; /* an index line as it is made (on_indexed) */
};

/* printf into buf (len bytes; nothing if len is 0). */
void tf_seterr(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The engine, made now if not yet, nanosecond unless an option said otherwise. */
int tf_engine(struct tf_tracer *t, int nanosecond);

#endif
