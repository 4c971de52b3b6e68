/*
 * offline.c: the --read mode. The same engine as the live daemon, fed by
 * our own reader (capfile.c) over a file; every interface of a pcapng file
 * is a source of its own (part of the flow key, with its own link type and
 * snaplen), and frames are numbered across the whole file before the
 * user's filter, so that frame numbers always match Wireshark's. libpcap
 * only compiles and runs the filter, once per link type.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <pcap/pcap.h>

#include "capfile.h"
#include "log.h"
#include "names.h"
#include "offline.h"
#include "pcapfile.h"
#include "reason.h"
#include "spool.h"
#include "xmalloc.h"

#define PEND_MAX 64

/* What the user's filter became for one link type: compiled once, for all its interfaces. */
struct filter {
	uint32_t linktype;
	struct bpf_program prog;
};

struct offline_ctx {
	const char *input;
	const char *expr; /* the user's filter, or NULL */
	struct engine *e;
	struct capfile *cf;
	struct source *src;        /* by interface number; src[i].id is the engine's */
	uint8_t *ready;            /* by interface number: its source and filter are set up */
	uint32_t nsrc;             /* interfaces met (src, ready and prog have room for them) */
	int64_t first;             /* the first interface set up, -1: none */
	struct source nosrc;       /* for records before any interface (numbered, never traced) */
	struct bpf_program **prog; /* by interface number; NULL: no filter */
	struct filter **filters;   /* each on its own: prog points into them */
	uint32_t nfilters;
	uint64_t batch;   /* frames traced */
	uint64_t records; /* read */
	/*
	 * Frames of one interface waiting for engine_frames (their data stays
	 * mapped). Its number, not a pointer: grow_sources moves src.
	 */
	struct engine_rec pend[PEND_MAX];
	size_t npend;
	uint32_t pend_ifno;
	int stable;                 /* capfile_stable: the whole run reads a map (or a window) */
	struct progress *prog_line; /* NULL: none (--quiet, stderr no terminal) */
};

/*
 * Progress for a person at a terminal: frames, MB read, rate, and for a
 * regular file percent and ETA, on one stderr line overwritten with \r.
 * No thread and no timer: every PROGRESS_EVERY records the clock is read,
 * and the line is redrawn when PROGRESS_NS passed (the first time at once).
 */
#define PROGRESS_EVERY 1024
#define PROGRESS_NS    200000000ULL /* 5 times a second */

struct progress {
	uint64_t size;  /* of a regular file; 0: unknown (a pipe) */
	uint64_t start; /* CLOCK_MONOTONIC, ns */
	uint64_t drawn; /* when the line was last drawn; 0: never */
	int width;      /* of the line on screen, to blank what a shorter one leaves */
};

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct progress *
progress_new(const char *input, int quiet)
{
	struct progress *p;
	struct stat sb;
	int r;

	if (quiet || !isatty(STDERR_FILENO))
		return NULL;
	p = xcalloc(1, sizeof *p);
	r = strcmp(input, "-") == 0 ? fstat(STDIN_FILENO, &sb) : stat(input, &sb);
	if (r == 0 && S_ISREG(sb.st_mode))
		p->size = (uint64_t)sb.st_size;
	p->start = mono_ns();
	return p;
}

static void
progress_tick(struct progress *p, uint64_t frames, uint64_t offset)
{
	char line[160];
	uint64_t now = mono_ns(), left;
	double secs, rate;
	int n;

	if (p->drawn != 0 && now - p->drawn < PROGRESS_NS)
		return;
	p->drawn = now;
	secs = (double)(now - p->start) / 1e9;
	rate = secs > 0 ? (double)offset / secs : 0;
	n = snprintf(line, sizeof line, "%" PRIu64 " frames, %.1f MB, %.1f MB/s", frames,
	    (double)offset / 1e6, rate / 1e6);
	if (p->size > 0 && offset <= p->size && n > 0 && (size_t)n < sizeof line) {
		left = rate > 0 ? (uint64_t)((double)(p->size - offset) / rate) : 0;
		n += snprintf(line + n, sizeof line - (size_t)n,
		    ", %d%%, ETA %" PRIu64 ":%02" PRIu64, (int)(offset * 100 / p->size), left / 60,
		    left % 60);
	}
	if (n < 0)
		return;
	fprintf(stderr, "\r%s%*s", line, p->width > n ? p->width - n : 0, "");
	if (n > p->width)
		p->width = n;
	fflush(stderr);
}

/* Leave the terminal as it was: the line blanked, the cursor at its start. */
static void
progress_end(struct progress *p)
{
	if (p == NULL)
		return;
	if (p->width > 0) {
		fprintf(stderr, "\r%*s\r", p->width, "");
		fflush(stderr);
	}
	free(p);
}

/* libpcap's DLT_ value for a LINKTYPE_ value, for pcap_open_dead and names. */
static int
linktype_dlt(uint32_t linktype)
{
	return linktype == DLT_T_RAW_LT ? DLT_T_RAW : (int)linktype;
}

static const char *
linktype_name(uint32_t linktype)
{
	const char *n = pcap_datalink_val_to_name(linktype_dlt(linktype));

	return n != NULL ? n : "?";
}

/* The filter for a link type: compiled the first time it is met. NULL on a compile error. */
static struct bpf_program *
filter_for(struct offline_ctx *c, uint32_t linktype, uint32_t snaplen)
{
	struct filter *f;
	pcap_t *p;
	uint32_t i;

	for (i = 0; i < c->nfilters; i++)
		if (c->filters[i]->linktype == linktype)
			return &c->filters[i]->prog;
	if ((p = pcap_open_dead(linktype_dlt(linktype), (int)snaplen)) == NULL) {
		log_warnx("bad filter expression \"%s\": link type %s (%u): out of memory", c->expr,
		    linktype_name(linktype), linktype);
		return NULL;
	}
	f = xcalloc(1, sizeof *f);
	if (pcap_compile(p, &f->prog, c->expr, 1, PCAP_NETMASK_UNKNOWN) == -1) {
		log_warnx("bad filter expression \"%s\" (link type %s): %s", c->expr,
		    linktype_name(linktype), pcap_geterr(p));
		pcap_close(p);
		free(f);
		return NULL;
	}
	pcap_close(p);
	f->linktype = linktype;
	c->filters = xreallocarray(c->filters, c->nfilters + 1, sizeof *c->filters);
	c->filters[c->nfilters++] = f;
	return &f->prog;
}

/* Whether no interface set up before has ifno's link type (to say things once per type). */
static int
first_of_linktype(const struct offline_ctx *c, uint32_t ifno)
{
	uint32_t i;

	for (i = 0; i < c->nsrc; i++)
		if (i != ifno && c->ready[i] && c->src[i].linktype == c->src[ifno].linktype)
			return 0;
	return 1;
}

/*
 * Before any output: does the filter compile for the link types described
 * so far? (Compiled once per link type: set_up finds them again.) 0 or -1.
 */
static int
check_filters(struct offline_ctx *c)
{
	const struct capfile_if *ifp;
	uint32_t i;

	for (i = 0; c->expr != NULL && i < capfile_nif(c->cf); i++)
		if ((ifp = capfile_if(c->cf, i)) != NULL && decode_supported((int)ifp->linktype) &&
		    filter_for(c, ifp->linktype, ifp->snaplen) == NULL)
			return -1;
	return 0;
}

/* Room for every interface the reader has met; each is set up at its first packet. */
static void
grow_sources(struct offline_ctx *c)
{
	uint32_t n = capfile_nif(c->cf);

	if (c->nsrc == n)
		return;
	c->src = xreallocarray(c->src, n, sizeof *c->src);
	c->prog = xreallocarray(c->prog, n, sizeof *c->prog);
	c->ready = xreallocarray(c->ready, n, sizeof *c->ready);
	for (; c->nsrc < n; c->nsrc++) {
		memset(&c->src[c->nsrc], 0, sizeof *c->src);
		c->prog[c->nsrc] = NULL;
		c->ready[c->nsrc] = 0;
	}
}

/*
 * Interface ifno's source and filter, at its first packet: it is then of
 * the current section, which the reader still describes (a pcapng file may
 * have any number of sections; only interfaces that carry packets take an
 * engine source, never merged by name: each keeps its link type and
 * snaplen). 0; -1 past the engine's limit; -2 if the filter does not
 * compile.
 */
static int
set_up(struct offline_ctx *c, uint32_t ifno, uint64_t offset)
{
	const struct capfile_if *ifp = capfile_if(c->cf, ifno);
	struct source *s = &c->src[ifno];
	char num[16];

	if (ifp == NULL)
		fatalx("%s: interface %u is not of the current section", c->input, ifno);
	s->dlt = (int)ifp->linktype;
	s->linktype = ifp->linktype;
	s->snaplen = ifp->snaplen;
	s->distinct = 1;
	/* The index names a pcapng interface by if_name, else by its number. */
	snprintf(num, sizeof num, "%" PRIu32, ifno);
	if (capfile_is_pcapng(c->cf))
		s->name = ifp->name[0] != '\0' ? ifp->name : num;
	if (engine_add_source(c->e, s) == -1) {
		log_warnx("%s: offset %" PRIu64 ": more than %d interfaces carry packets: the rest "
		          "of the file is not read",
		    c->input, offset, ENGINE_MAX_SOURCES);
		return -1;
	}
	s->name = NULL; /* copied by the engine; num is gone */
	c->ready[ifno] = 1;
	if (c->first == -1)
		c->first = ifno;
	if (!decode_supported(s->dlt) && capfile_nif(c->cf) > 1 && first_of_linktype(c, ifno))
		log_warnx("%s: interface %s: link type %s (%u) is not supported; frames "
		          "of that type count as malformed_unsupported_link",
		    c->input, engine_source_name(c->e, s->id), linktype_name(ifp->linktype),
		    ifp->linktype);
	/* Frames of a link type we cannot decode are counted as such, filter or not. */
	if (c->expr != NULL && decode_supported((int)ifp->linktype) &&
	    (c->prog[ifno] = filter_for(c, ifp->linktype, ifp->snaplen)) == NULL)
		return -2;
	return 0;
}

/*
 * The output folder: created if missing; a non-empty one only with
 * --force. Opened once under the spool's rules (no link, nobody else may
 * write to it or plant one in it), and locked as a spool is (spool_lock:
 * a second run into it, or a daemon, is refused before either writes);
 * -1 when refused, else the folder, its lock in *lockfd.
 */
static int
prepare_output(const char *dir, int force, int *lockfd)
{
	char *cause = NULL;
	struct stat sb;
	int fd;

	*lockfd = -1;
	if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
		log_warnx("%s: exists and is not a directory", dir);
		return -1;
	}
	if ((fd = spool_open(dir, NULL, &cause)) == -1 ||
	    (*lockfd = spool_lock(fd, dir, NULL, &cause)) == -1)
		goto refused;
	if (!force && !spool_is_empty(fd)) {
		log_warnx("%s: output folder is not empty (use --force to add to it)", dir);
		goto out;
	}
	if (spool_prepare(fd, dir, &cause) == -1)
		goto refused;
	return fd;
refused:
	log_warnx("--output %s", cause);
	free(cause);
out:
	if (fd != -1) {
		spool_unlock(fd, *lockfd);
		close(fd);
	}
	*lockfd = -1;
	return -1;
}

/* Hand the work over now and then (every 4,096 frames), as the daemon does per read. */
static void
count_traced(struct offline_ctx *c, size_t n)
{
	if ((c->batch + n) / 4096 != c->batch / 4096)
		engine_batch_end(c->e);
	c->batch += n;
}

/* Trace the frames waiting, before any other frame is numbered. */
static void
flush_pending(struct offline_ctx *c)
{
	if (c->npend == 0)
		return;
	engine_frames(c->e, &c->src[c->pend_ifno], c->pend, c->npend);
	count_traced(c, c->npend);
	c->npend = 0;
}

/*
 * A frame to trace: at once while the flow table is small enough to stay
 * in cache, or when the file is read through a window that the next
 * record may move; else held with the ones before it of the same source
 * (the map keeps their data) and traced as a batch (engine_frames).
 */
static void
trace_frame(struct offline_ctx *c, const struct capfile_rec *r)
{
	int k;

	if (c->npend > 0 && c->pend_ifno != r->ifno)
		flush_pending(c);
	if (c->npend == 0 && (!c->stable || !engine_wants_batches(c->e))) {
		engine_frame(c->e, &c->src[r->ifno], r->ts, r->caplen, r->wirelen, r->data);
		count_traced(c, 1);
		return;
	}
	/*
	 * Read ahead: the next records are only glanced at before their batch
	 * is traced (a prefetch never faults, past the map's end included).
	 */
	for (k = 0; k < 8; k++)
		__builtin_prefetch(r->data + r->caplen + 64 * k);
	c->pend_ifno = r->ifno;
	c->pend[c->npend++] = (struct engine_rec){
	    .ts = r->ts, .caplen = r->caplen, .wirelen = r->wirelen, .data = r->data};
	if (c->npend == PEND_MAX)
		flush_pending(c);
}

/*
 * One record: numbered always; traced if the user's filter (if any) takes
 * it. 0, or set_up's failure.
 */
static int
on_record(struct offline_ctx *c, const struct capfile_rec *r)
{
	struct pcap_pkthdr h;
	struct source *src;
	int rc;

	if (r->kind != CAPFILE_PACKET) {
		flush_pending(c);
		if (c->first == -1) {
			if (c->nosrc.distinct == 0) {
				c->nosrc.distinct = 1;
				if (engine_add_source(c->e, &c->nosrc) == -1)
					fatalx("no room for an input"); /* the first: cannot be */
			}
			src = &c->nosrc;
		} else
			src = &c->src[c->first];
		engine_skip(c->e, src);
		return 0;
	}
	if (!c->ready[r->ifno]) {
		flush_pending(c);
		if ((rc = set_up(c, r->ifno, r->offset)) != 0)
			return rc;
	}
	src = &c->src[r->ifno];
	if (c->prog[r->ifno] != NULL) {
		memset(&h, 0, sizeof h);
		h.caplen = r->caplen;
		h.len = r->wirelen;
		if (!pcap_offline_filter(c->prog[r->ifno], &h, r->data)) {
			flush_pending(c);
			engine_skip(c->e, src);
			return 0;
		}
	}
	trace_frame(c, r);
	return 0;
}

/* Every record, traced or not, moves the progress on. */
static void
on_progress(struct offline_ctx *c, const struct capfile_rec *r)
{
	if (c->prog_line != NULL && ++c->records % PROGRESS_EVERY == 0)
		progress_tick(c->prog_line, engine_stats(c->e)->frames, r->offset);
}

/*
 * --summary json: the same members as the lines below, every counter
 * always there (zeros included), so that a script needs no default.
 */
static void
print_summary_json(const char *input, const char *outdir, const struct engine_stats *st,
    const struct output_stats *ws)
{
	json_t *o = json_object();
	char key[64];
	char *text;
	int i;

#define SET_U64(k, v) json_object_set_new(o, (k), json_integer((json_int_t)(v)))
	json_object_set_new(o, "input", json_string(input));
	json_object_set_new(o, "output", json_string(outdir));
	SET_U64("frames", st->frames);
	SET_U64("tcp_frames", st->tcp);
	SET_U64("not_tcp", st->not_tcp);
	SET_U64("malformed", st->malformed);
	for (i = DECODE_TRUNCATED; i < DECODE_NREASONS; i++) {
		snprintf(key, sizeof key, "malformed_%s", decode_reason_name(i));
		SET_U64(key, st->reasons[i]);
	}
	SET_U64("malformed_frag_orphan", st->frag_orphan);
	SET_U64("flows", st->finished);
	for (i = FLOW_R_FIN; i < FLOW_R_NREASONS; i++) {
		snprintf(key, sizeof key, "ended_%s", flow_reason_name(i));
		SET_U64(key, st->ended[i]);
	}
	SET_U64("segments", st->segments);
	SET_U64("time_jumps", st->time_jumps);
	SET_U64("files", ws->files);
	SET_U64("frames_lost", ws->frames_lost);
	SET_U64("write_errors", ws->write_errors);
	SET_U64("bytes_lost", ws->bytes_lost);
	SET_U64("index_lines_lost", ws->index_pending + ws->index_lost);
#undef SET_U64
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text != NULL)
		printf("%s\n", text);
	free(text);
	json_decref(o);
}

static void
print_summary(const char *input, const char *outdir, const struct engine_stats *st,
    const struct output_stats *ws)
{
	int i;

	printf("input: %s\n", input);
	printf("output: %s\n", outdir);
	printf("frames: %" PRIu64 "\n", st->frames);
	printf("tcp_frames: %" PRIu64 "\n", st->tcp);
	printf("not_tcp: %" PRIu64 "\n", st->not_tcp);
	printf("malformed: %" PRIu64 "\n", st->malformed);
	for (i = DECODE_TRUNCATED; i < DECODE_NREASONS; i++)
		if (st->reasons[i])
			printf(
			    "malformed_%s: %" PRIu64 "\n", decode_reason_name(i), st->reasons[i]);
	if (st->frag_orphan)
		printf("malformed_frag_orphan: %" PRIu64 "\n", st->frag_orphan);
	printf("flows: %" PRIu64 "\n", st->finished);
	for (i = FLOW_R_FIN; i < FLOW_R_NREASONS; i++)
		if (st->ended[i])
			printf("ended_%s: %" PRIu64 "\n", flow_reason_name(i), st->ended[i]);
	if (st->time_jumps)
		printf("time_jumps: %" PRIu64 "\n", st->time_jumps);
	printf("files: %" PRIu64 "\n", ws->files);
	/* Accepted but not on disk: what a full disk cost, always said. */
	printf("frames_lost: %" PRIu64 "\n", ws->frames_lost);
	if (ws->write_errors)
		printf("write_errors: %" PRIu64 "\nbytes_lost: %" PRIu64 "\n", ws->write_errors,
		    ws->bytes_lost);
	if (ws->index_pending + ws->index_lost)
		printf("index_lines_lost: %" PRIu64 "\n", ws->index_pending + ws->index_lost);
}

/* A file that holds only link types we cannot decode is refused before any output. */
static int
input_supported(struct offline_ctx *c)
{
	const struct capfile_if *ifp = NULL, *one;
	uint32_t i, n = capfile_nif(c->cf);

	/* The current section's interfaces (those of sections before are gone). */
	for (i = 0; i < n; i++) {
		if ((one = capfile_if(c->cf, i)) == NULL)
			continue;
		if (decode_supported((int)one->linktype))
			return 1;
		if (ifp == NULL)
			ifp = one;
	}
	if (ifp == NULL)
		return 1;
	log_warnx("%s: link type %s (%u) is not supported", c->input, linktype_name(ifp->linktype),
	    ifp->linktype);
	return 0;
}

static void
ctx_free(struct offline_ctx *c)
{
	uint32_t i;

	for (i = 0; i < c->nfilters; i++) {
		pcap_freecode(&c->filters[i]->prog);
		free(c->filters[i]);
	}
	free(c->filters);
	free(c->prog);
	free(c->src);
	free(c->ready);
	capfile_close(c->cf);
}

int
offline_run(struct offline_opts *o)
{
	struct offline_ctx c;
	struct capfile_rec r;
	const struct output_stats *ws;
	char *cause = NULL;
	int rc, status = 0, outfd, lockfd;

	memset(&c, 0, sizeof c);
	c.first = -1;
	c.input = o->input;
	c.expr = o->filter;
	if ((c.cf = capfile_open(o->input, &cause)) == NULL) {
		log_warnx("%s: cannot read capture: %s", o->input, cause);
		free(cause);
		return 1;
	}
	c.stable = capfile_stable(c.cf);
	/*
	 * The first record, read ahead: the interfaces described before it
	 * decide whether the file can be split, the output's precision and
	 * whether the filter compiles, all before any output exists.
	 */
	rc = capfile_next(c.cf, &r);
	if (!input_supported(&c)) {
		ctx_free(&c);
		return 1;
	}
	if (check_filters(&c) == -1) {
		ctx_free(&c);
		return 2;
	}
	if (o->nanosecond == -1)
		o->cfg.writer.nanosecond = capfile_wants_nano(c.cf);
	else
		o->cfg.writer.nanosecond = o->nanosecond;
	o->cfg.file_numbering = 1;
	if ((outfd = prepare_output(o->cfg.outdir, o->force, &lockfd)) == -1) {
		ctx_free(&c);
		return 1;
	}
	o->cfg.outfd = outfd;
	if ((c.e = engine_new(&o->cfg, &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		spool_unlock(outfd, lockfd);
		close(outfd);
		ctx_free(&c);
		return 1;
	}

	c.prog_line = progress_new(o->input, o->quiet);
	for (; rc == 1; rc = capfile_next(c.cf, &r)) {
		grow_sources(&c);
		if ((rc = on_record(&c, &r)) != 0) {
			status = rc == -2 ? 2 : 1;
			rc = 0;
			break;
		}
		on_progress(&c, &r);
	}
	flush_pending(&c);
	progress_end(c.prog_line);
	c.prog_line = NULL;
	if (rc == -1) {
		/* Keep what was read: the flows so far are finished and indexed. */
		log_warnx("%s: %s; the %" PRIu64 " frames before it are split and indexed",
		    o->input, capfile_error(c.cf), engine_stats(c.e)->frames);
		status = 1;
	}
	engine_finish_all(c.e, FLOW_R_EOF);
	if (o->summary_json)
		print_summary_json(
		    o->input, o->cfg.outdir, engine_stats(c.e), engine_output_stats(c.e));
	else
		print_summary(o->input, o->cfg.outdir, engine_stats(c.e), engine_output_stats(c.e));
	ws = engine_output_stats(c.e);
	if (status == 0 &&
	    (ws->write_errors || ws->frames_lost || ws->index_pending || ws->index_lost))
		status = 1;
	engine_free(c.e);
	unlinkat(outfd, NAMES_ACTIVE, AT_REMOVEDIR); /* empty after a complete run */
	spool_unlock(outfd, lockfd);                 /* the last file is written */
	close(outfd);
	ctx_free(&c);
	return status;
}
