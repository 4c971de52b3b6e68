/*
 * libtf.c: libtraceflow's API (traceflow.h) over the engine that
 * traceflowd runs (engine.h): the offline mode's settings through the
 * config table, the output folder under the spool's rules, and the index
 * collected from the engine's end hook. Capture files: libtf_file.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "libtf.h"
#include "names.h"
#include "record.h"
#include "spool.h"
#include "xmalloc.h"

/*
 * The settings traceflowd --read takes by option (its DO_SETTING ones), and
 * no others: the library makes the tracer the offline mode makes (a copy of
 * traceflowd.c's table, which the library does not link:
 * tests/libtf-symbols.sh compares the two).
 */
static const char *const offline_settings[] = {"format", "byteorder", "flow_end", "flow_key",
    "label_time", "compat", "layout", "idle_timeout", "linger", "half_open_timeout", "unanswered",
    "max_flows", "max_open_files", "segment_packets", "segment_size", "write_buffer",
    "ipfix_collector", "ipfix_transport", "observation_domain", "ipfix_pen"};
#define NSETTINGS (sizeof offline_settings / sizeof offline_settings[0])

void
tf_seterr(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (buf == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

const char *
tf_version(void)
{
	return PACKAGE_VERSION;
}

/* "yes"/"no" and their usual spellings; -1 for anything else. */
static int
yes_no(const char *v)
{
	static const char *const yes[] = {"yes", "true", "1", "on"};
	static const char *const no[] = {"no", "false", "0", "off"};
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcmp(v, yes[i]) == 0)
			return 1;
		if (strcmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* pcapkit's format names: ours, or NULL for one that writes no file. */
static const char *
format_of(const char *fmt)
{
	static const char *const map[][2] = {{"pcap", "pcap"}, {"cap", "pcap"}, {"plist", "plist"},
	    {"xml", "plist"}, {"json", "json"}, {"tree", "tree"}, {"txt", "tree"}, {"text", "tree"},
	    {"pcapng", "pcapng"}};
	size_t i;

	for (i = 0; fmt != NULL && i < sizeof map / sizeof map[0]; i++)
		if (strcmp(fmt, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

static const char *
ext_of(const char *format)
{
	if (strcmp(format, "pcap") == 0)
		return ".pcap";
	if (strcmp(format, "plist") == 0)
		return ".plist";
	if (strcmp(format, "json") == 0)
		return ".json";
	if (strcmp(format, "pcapng") == 0)
		return ".pcapng";
	return ".txt";
}

/*
 * mkdir -p through descriptors: each component made (mkdirat) then opened
 * with O_NOFOLLOW under its parent's descriptor, so that no link on the
 * way is followed after the first component. The folder's descriptor, or
 * -1 with errno (ENOTDIR, EEXIST: a component is something else).
 */
static int
mkdirs_at(const char *path)
{
	char *copy, *p, *next;
	int dfd, fd;

	if (path[0] == '\0') {
		errno = ENOENT;
		return -1;
	}
	dfd = open(path[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1)
		return -1;
	copy = xstrdup(path);
	for (p = copy; p != NULL; p = next) {
		if ((next = strchr(p, '/')) != NULL)
			*next++ = '\0';
		if (*p == '\0' || strcmp(p, ".") == 0)
			continue;
		if (mkdirat(dfd, p, 0750) == -1 && errno != EEXIST)
			goto fail;
		fd = openat(dfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1) {
			if (errno == ELOOP)
				errno = ENOTDIR;
			goto fail;
		}
		close(dfd);
		dfd = fd;
	}
	free(copy);
	return dfd;
fail:
	free(copy);
	fd = errno;
	close(dfd);
	errno = fd;
	return -1;
}

int
tf_make_fout(const char *fout, const char *fmt, const char **ext, char *err, size_t errlen)
{
	const char *format;
	int fd, rc = TF_OK;

	tf_seterr(err, errlen, "%s", "");
	if (ext != NULL)
		*ext = NULL;
	if (fout == NULL)
		fout = "./tmp";
	if (fmt == NULL)
		fmt = "pcap";
	if ((format = format_of(fmt)) == NULL) {
		tf_seterr(err, errlen,
		    "Unsupported output format: %s; disabled file output feature", fmt);
		rc = TF_WFORMAT;
	} else if (ext != NULL)
		*ext = ext_of(format);
	if ((fd = mkdirs_at(fout)) != -1) {
		close(fd);
		return rc;
	}
	if (errno != ENOTDIR && errno != EEXIST) {
		tf_seterr(err, errlen, "%s: %s", fout, strerror(errno));
		return TF_EIO;
	}
	/* pcapkit: os.makedirs' FileExistsError, a warning when no file is written. */
	tf_seterr(err, errlen, "[Errno %d] File exists: '%s'", EEXIST, fout);
	return format == NULL ? rc | TF_WFILE : TF_EEXIST;
}

/*
 * The end hook: every index line written becomes a record of the tracer's
 * index, its text made as index.c makes the line (record.h's writer, not
 * jansson's objects: those cost a third of from_file on a capture of short
 * connections).
 */
static void
on_indexed(const struct flow_key *key, uint8_t init, const struct index_record *rec,
    const char *frames, int ended, void *arg)
{
	struct tf_tracer *t = arg;
	struct text *line = &t->line;
	struct tf_rec *r;
	const char *p;
	char *end;
	size_t cap = 0, len = strlen(frames);

	if (t->nrecs == t->caprecs) {
		t->caprecs = t->caprecs ? t->caprecs * 2 : 256;
		t->recs = xreallocarray(t->recs, t->caprecs, sizeof *t->recs);
	}
	r = &t->recs[t->nrecs++];
	memset(r, 0, sizeof *r);
	r->label = xstrdup(rec->label);
	r->fpout = rec->fpout[0] != '\0' ? xstrdup(rec->fpout) : NULL;
	/* The frame numbers: a JSON array of integers, "[1,4,5]". */
	for (p = frames; *p != '\0'; p = end) {
		if (*p < '0' || *p > '9') {
			end = (char *)p + 1;
			continue;
		}
		if (r->nindex == cap) {
			cap = cap ? cap * 2 : 8;
			r->index = xreallocarray(r->index, cap, sizeof *r->index);
		}
		r->index[r->nindex++] = strtoull(p, &end, 10);
	}
	line->len = 0;
	text_reserve(line, 512 + len);
	index_record_text(line, rec, 0);
	text_key(line, "index");
	text_add(line, frames, len);
	text_add(line, "}", 2); /* with its NUL */
	r->json = xmalloc(line->len);
	memcpy(r->json, line->s, line->len);
}

/*
 * The output folder as the offline mode takes it: made if missing, opened
 * under the spool's rules, locked for this tracer, and, unless force,
 * empty. TF_OK, or an error with its message.
 */
static int
prepare_output(struct tf_tracer *t, const char *dir)
{
	char *cause = NULL;
	int fd;

	if ((fd = mkdirs_at(dir)) == -1) {
		tf_seterr(t->err, sizeof t->err, "%s: %s", dir, strerror(errno));
		return errno == ENOTDIR || errno == EEXIST ? TF_EEXIST : TF_EIO;
	}
	close(fd);
	if ((t->outfd = spool_open(dir, NULL, &cause)) == -1 ||
	    (t->lockfd = spool_lock(t->outfd, dir, NULL, &cause)) == -1)
		goto refused;
	if (!t->force && !spool_is_empty(t->outfd)) {
		tf_seterr(t->err, sizeof t->err,
		    "%s: output folder is not empty (option force = yes adds to it)", dir);
		return TF_EEXIST;
	}
	if (spool_prepare(t->outfd, dir, &cause) == -1)
		goto refused;
	return TF_OK;
refused:
	tf_seterr(t->err, sizeof t->err, "%s", cause);
	free(cause);
	return TF_EIO;
}

/* opts into config_args' form: names checked here (the table would end the process). */
static int
read_options(struct tf_tracer *t, const struct tf_option *opts, size_t n)
{
	struct config_arg *args = xcalloc(n + 1, sizeof *args);
	char *cause = NULL;
	size_t i, j, k, nargs = 0;
	int v, rc = TF_OK;

	for (i = 0; i < n && rc == TF_OK; i++) {
		if (opts[i].name == NULL || opts[i].value == NULL ||
		    strlen(opts[i].name) >= sizeof t->names[0]) {
			tf_seterr(t->err, sizeof t->err, "option %zu: no name or no value", i);
			rc = TF_EINVAL;
			break;
		}
		/* "flow-end" as typed after traceflowd's "--", or the setting's "flow_end". */
		for (k = 0; opts[i].name[k] != '\0'; k++)
			t->names[i][k] = opts[i].name[k] == '-' ? '_' : opts[i].name[k];
		t->names[i][k] = '\0';
		if (strcmp(t->names[i], "nanosecond") == 0 || strcmp(t->names[i], "force") == 0) {
			if ((v = yes_no(opts[i].value)) == -1) {
				tf_seterr(t->err, sizeof t->err, "%s: %s: yes or no", opts[i].name,
				    opts[i].value);
				rc = TF_EINVAL;
			} else if (t->names[i][0] == 'n')
				t->nanosecond = v;
			else
				t->force = v;
			continue;
		}
		for (j = 0; j < NSETTINGS && strcmp(offline_settings[j], t->names[i]) != 0; j++)
			;
		if (j == NSETTINGS) {
			tf_seterr(t->err, sizeof t->err, "%s: no such option", opts[i].name);
			rc = TF_EINVAL;
			break;
		}
		args[nargs++] = (struct config_arg){t->names[i], opts[i].value, opts[i].name};
	}
	if (rc == TF_OK && config_args(&t->tc, args, nargs, &cause) == -1) {
		tf_seterr(t->err, sizeof t->err, "%s", cause);
		free(cause);
		rc = TF_EINVAL;
	} else if (rc == TF_OK)
		t->have_tc = 1;
	free(args);
	return rc;
}

int
tf_new(tf_tracer **out, const char *outdir, const struct tf_option *opts, size_t nopts, char *err,
    size_t errlen)
{
	struct tf_tracer *t;
	int rc;

	tf_seterr(err, errlen, "%s", "");
	if (out == NULL || outdir == NULL || (opts == NULL && nopts > 0) ||
	    nopts > TF_MAX_OPTIONS) {
		tf_seterr(err, errlen, "tf_new: %s",
		    nopts > TF_MAX_OPTIONS ? "too many options" : "no tracer, folder or options");
		return TF_EINVAL;
	}
	*out = NULL;
	t = xcalloc(1, sizeof *t);
	t->outfd = t->lockfd = -1;
	t->nanosecond = -1;
	if ((rc = read_options(t, opts, nopts)) == TF_OK) {
		config_to_engine(&t->tc, &t->cfg);
		t->outdir = xstrdup(outdir);
		t->cfg.outdir = t->outdir;
		/* Nobody watches .active/ here either: buffers go out by size alone. */
		t->cfg.writer.flush_ns = 0;
		t->cfg.file_numbering = 1;
		rc = prepare_output(t, outdir);
	}
	if (rc != TF_OK) {
		tf_seterr(err, errlen, "%s", t->err);
		tf_free(t);
		return rc;
	}
	*out = t;
	return TF_OK;
}

int
tf_engine(struct tf_tracer *t, int nanosecond)
{
	char *cause = NULL;

	if (t->done) {
		tf_seterr(
		    t->err, sizeof t->err, "the tracer was submitted: it takes no more frames");
		return TF_ESTATE;
	}
	if (t->e != NULL)
		return TF_OK;
	t->cfg.writer.nanosecond = t->nanosecond != -1 ? t->nanosecond : nanosecond;
	t->cfg.outfd = t->outfd;
	if ((t->e = engine_new(&t->cfg, &cause)) == NULL) {
		tf_seterr(t->err, sizeof t->err, "%s", cause);
		free(cause);
		return TF_EIO;
	}
	engine_set_end_hook(t->e, on_indexed, t);
	return TF_OK;
}

/* The source of frames of this link type given one by one (one per link type). */
static struct source *
source_of(struct tf_tracer *t, uint32_t linktype)
{
	struct source *s;
	size_t i;

	for (i = 0; i < t->nsrc; i++)
		if (t->src[i].linktype == linktype)
			return &t->src[i];
	if (t->nsrc == TF_MAX_LINKTYPES)
		return NULL;
	s = &t->src[t->nsrc];
	memset(s, 0, sizeof *s);
	s->dlt = (int)linktype;
	s->linktype = linktype;
	s->snaplen = TF_SNAPLEN;
	s->distinct = 1;
	if (engine_add_source(t->e, s) == -1)
		return NULL;
	t->nsrc++;
	return s;
}

static int
frame(struct tf_tracer *t, uint32_t linktype, uint64_t ts_ns, const void *data, size_t caplen,
    size_t wirelen, char *label)
{
	struct source *s;
	int rc;

	if (t == NULL)
		return TF_EINVAL;
	if ((data == NULL && caplen > 0) || caplen > TF_SNAPLEN || wirelen > UINT32_MAX ||
	    wirelen < caplen) {
		tf_seterr(t->err, sizeof t->err,
		    "bad frame: %zu bytes captured of %zu (at most %u, no more than on the wire)",
		    caplen, wirelen, TF_SNAPLEN);
		return TF_EINVAL;
	}
	if ((rc = tf_engine(t, 0)) != TF_OK)
		return rc;
	if ((s = source_of(t, linktype)) == NULL) {
		tf_seterr(t->err, sizeof t->err, "more than %d link types in one tracer",
		    TF_MAX_LINKTYPES);
		return TF_ELIMIT;
	}
	engine_frame_label(t->e, s, ts_ns, (uint32_t)caplen, (uint32_t)wirelen, data, label);
	if (++t->batch % 4096 == 0)
		engine_batch_end(t->e);
	return TF_OK;
}

int
tf_trace(tf_tracer *t, uint32_t linktype, uint64_t ts_ns, const void *data, size_t caplen,
    size_t wirelen, char *label, size_t labellen)
{
	char buf[LABEL_MAX];
	int rc;

	if (t != NULL && (label == NULL || labellen == 0)) {
		tf_seterr(t->err, sizeof t->err, "tf_trace: no room for the label");
		return TF_EINVAL;
	}
	if ((rc = frame(t, linktype, ts_ns, data, caplen, wirelen, buf)) != TF_OK)
		return rc;
	if (strlen(buf) >= labellen) {
		tf_seterr(
		    t->err, sizeof t->err, "tf_trace: the label needs %zu bytes", strlen(buf) + 1);
		label[0] = '\0';
		return TF_EINVAL;
	}
	strcpy(label, buf);
	return TF_OK;
}

int
tf_dump(tf_tracer *t, uint32_t linktype, uint64_t ts_ns, const void *data, size_t caplen,
    size_t wirelen)
{
	return frame(t, linktype, ts_ns, data, caplen, wirelen, NULL);
}

int
tf_skip(tf_tracer *t, uint64_t count)
{
	struct source *s;
	int rc;

	if (t == NULL)
		return TF_EINVAL;
	if ((rc = tf_engine(t, 0)) != TF_OK)
		return rc;
	/* Numbered on any source: numbering is the tracer's (file_numbering). */
	if ((s = t->nsrc > 0 ? &t->src[0] : source_of(t, 1)) == NULL)
		return TF_ELIMIT;
	while (count-- > 0)
		engine_skip(t->e, s);
	return TF_OK;
}

uint64_t
tf_frames(const tf_tracer *t)
{
	return t != NULL && t->e != NULL ? engine_stats(t->e)->frames : 0;
}

/* The end of the input: every flow ends (eof), every file and line is written. */
static int
finish(struct tf_tracer *t)
{
	const struct output_stats *ws;

	if (t->done)
		return TF_OK;
	t->done = 1;
	if (t->e == NULL)
		return TF_OK;
	engine_finish_all(t->e, FLOW_R_EOF);
	ws = engine_output_stats(t->e);
	if (ws->write_errors || ws->frames_lost || ws->index_pending || ws->index_lost) {
		tf_seterr(t->err, sizeof t->err,
		    "%s: %llu frames and %llu index lines were not written (%llu write errors)",
		    t->outdir, (unsigned long long)ws->frames_lost,
		    (unsigned long long)(ws->index_pending + ws->index_lost),
		    (unsigned long long)ws->write_errors);
		return TF_EIO;
	}
	return TF_OK;
}

int
tf_submit(tf_tracer *t, tf_index **out)
{
	struct tf_index *ix;
	int rc;

	if (t == NULL || out == NULL)
		return TF_EINVAL;
	*out = NULL;
	if (t->done) {
		tf_seterr(t->err, sizeof t->err, "the tracer was submitted already");
		return TF_ESTATE;
	}
	rc = finish(t);
	ix = xcalloc(1, sizeof *ix);
	/* The records move to the index: the tracer keeps none. */
	ix->recs = t->recs;
	ix->n = t->nrecs;
	t->recs = NULL;
	t->nrecs = t->caprecs = 0;
	*out = ix;
	return rc;
}

const struct tf_record *
tf_index_next(tf_index *ix)
{
	struct tf_rec *r;

	if (ix == NULL || ix->next == ix->n)
		return NULL;
	r = &ix->recs[ix->next++];
	ix->cur = (struct tf_record){r->label, r->fpout, r->index, r->nindex, r->json};
	return &ix->cur;
}

size_t
tf_index_count(const tf_index *ix)
{
	return ix != NULL ? ix->n : 0;
}

static void
recs_free(struct tf_rec *recs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(recs[i].label);
		free(recs[i].fpout);
		free(recs[i].index);
		free(recs[i].json);
	}
	free(recs);
}

void
tf_index_free(tf_index *ix)
{
	if (ix == NULL)
		return;
	recs_free(ix->recs, ix->n);
	free(ix);
}

const char *
tf_error(const tf_tracer *t)
{
	return t != NULL ? t->err : "no tracer";
}

void
tf_free(tf_tracer *t)
{
	if (t == NULL)
		return;
	finish(t);
	engine_free(t->e);
	if (t->outfd != -1) {
		unlinkat(t->outfd, NAMES_ACTIVE, AT_REMOVEDIR); /* empty once all is written */
		spool_unlock(t->outfd, t->lockfd);
		close(t->outfd);
	}
	if (t->have_tc)
		config_free(&t->tc);
	recs_free(t->recs, t->nrecs);
	free(t->line.s);
	free(t->outdir);
	free(t);
}
