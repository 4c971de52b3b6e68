/*
 * traceflow.h: libtraceflow, traceflow's engine for C programs (and, through
 * ctypes, the Python module traceflow). The verbs are pcapkit's flow
 * tracer's (pcapkit.foundation.traceflow): trace a frame and get its flow's
 * label, dump it, submit to get the index, make the output folder. See
 * traceflow(3).
 *
 * Every function returns TF_OK (0) or a negative TF_E* code and leaves a
 * message in the tracer (tf_error) or in the caller's buffer; nothing exits
 * or aborts, but for an allocation failure, which ends the process as it
 * ends traceflowd. There is no global state: any number of tracers may live
 * in one process, each used by one thread at a time (a tracer is not locked;
 * two threads may use two tracers at once).
 */
#ifndef TRACEFLOW_H
#define TRACEFLOW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TF_VERSION_MAJOR 0
#define TF_LABEL_MAX     160 /* a label, its suffix and the terminating NUL fit */

/* Return codes: 0 done, > 0 done with a warning (bits), < 0 refused. */
enum tf_status {
	TF_OK = 0,
	TF_WFORMAT = 1, /* unknown format: no files are written (pcapkit's FormatWarning) */
	TF_WFILE = 2,   /* the output path is not a folder, and nothing is written there */
	TF_EINVAL = -1, /* a bad argument or option */
	TF_EEXIST = -2, /* the output path exists and is not a folder (pcapkit's FileExists) */
	TF_EIO = -3,    /* the output folder or a capture file failed */
	TF_ESTATE = -4, /* not now: the tracer is used up (tf_submit ended it) */
	TF_ELIMIT = -5, /* too many link types or interfaces in one tracer */
};

/*
 * One setting by name, as traceflowd --read takes it ("format" = "json",
 * "flow-end" or "flow_end" = "teardown", "compat" = "pcapkit", ...; see
 * traceflow(3) for the list), plus "nanosecond" ("yes", "no"; default:
 * the capture file's precision in tf_trace_file, else "no") and "force"
 * ("yes": write into a folder that already holds files).
 */
struct tf_option {
	const char *name;
	const char *value;
};

typedef struct tf_tracer tf_tracer;
typedef struct tf_index tf_index;

/* One index record: one flow (or one segment of a long flow). */
struct tf_record {
	const char *label;
	const char *fpout;     /* its file, relative to the output folder; NULL: none written */
	const uint64_t *index; /* its frame numbers (1 = the tracer's first frame) */
	size_t nindex;
	const char *json; /* the whole index line (index.jsonl): every other key */
};

/*
 * A tracer writing into the folder outdir (made if missing, as
 * tf_make_fout does) with opts[0..nopts-1]. TF_OK and *out, or an error
 * and its message in err (errlen bytes, may be 0).
 */
int tf_new(tf_tracer **out, const char *outdir, const struct tf_option *opts, size_t nopts,
    char *err, size_t errlen);

/*
 * One frame: its link type (LINKTYPE_ETHERNET = 1, ...), capture time in
 * nanoseconds since the epoch, caplen bytes at data, wirelen on the wire.
 * Frames are numbered from 1 in the order given, traced or not. Its flow's
 * label goes into label (labellen bytes, TF_LABEL_MAX is enough; "" for a
 * frame that is not TCP). The frame is part of its flow's file as with
 * tf_dump: traceflow's index lists the frames its files hold.
 */
int tf_trace(tf_tracer *t, uint32_t linktype, uint64_t ts_ns, const void *data, size_t caplen,
    size_t wirelen, char *label, size_t labellen);

/* The same without the label: the frame goes to its flow's file. */
int tf_dump(tf_tracer *t, uint32_t linktype, uint64_t ts_ns, const void *data, size_t caplen,
    size_t wirelen);

/* count frames numbered and not traced (a filter dropped them). */
int tf_skip(tf_tracer *t, uint64_t count);

/*
 * Every frame of a capture file (pcap or pcapng; each pcapng interface a
 * source of its own), as traceflowd --read traces it.
 */
int tf_trace_file(tf_tracer *t, const char *path);

/*
 * End every flow (reason eof), write its file and index line, and give the
 * whole index, in the order the flows ended: tf_index_next walks it. The
 * tracer takes no frame after it (TF_ESTATE); tf_free it.
 */
int tf_submit(tf_tracer *t, tf_index **out);
/* The next record, NULL after the last; valid until tf_index_free. */
const struct tf_record *tf_index_next(tf_index *ix);
size_t tf_index_count(const tf_index *ix);
void tf_index_free(tf_index *ix);

/*
 * pcapkit's make_fout: the folder fout made (with its parents) for the
 * format fmt, whose file extension goes to *ext (".pcap"; NULL for an
 * unknown format, TF_WFORMAT: no files). fout already there as something
 * else than a folder: TF_EEXIST for a known format, TF_WFILE for an
 * unknown one (both warnings may come together). Message in err.
 */
int tf_make_fout(const char *fout, const char *fmt, const char **ext, char *err, size_t errlen);

/* The last error's or warning's message ("" if none). */
const char *tf_error(const tf_tracer *t);

/* Frames numbered so far. */
uint64_t tf_frames(const tf_tracer *t);

/* End the flows still open as tf_submit does (their index dropped) and free t. */
void tf_free(tf_tracer *t);

/* "0.1.0" */
const char *tf_version(void);

#ifdef __cplusplus
}
#endif

#endif
