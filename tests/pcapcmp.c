/*
 * pcapcmp.c: the byte-level judge of traceflowd's offline mode.
 *
 *	pcapcmp [-I] [-e little|big] [-r us|ns] INPUT OUTDIR
 *
 * Reads every record of INPUT, then OUTDIR/index.jsonl. For each index entry
 * it checks that the per-flow pcap file named by "fpout" holds exactly the
 * input frames listed in "index", record for record: captured and wire
 * length, data bytes and timestamp (to the file's own precision), and that
 * the file's link type and snaplen are the input's. It also checks that no
 * frame belongs to two entries, that "packets", "bytes", "first_ns" and
 * "last_ns" agree with those frames, and that OUTDIR holds no per-flow file
 * the index does not name (nor any left in OUTDIR/.active).
 *
 * On success it prints one line per covered frame, "FRAME\tFLOWNO\tLABEL"
 * (FLOWNO is the 0-based line of the index entry; segments of one flow share
 * the label), for judge.py, and exits 0. Any mismatch is reported on stderr,
 * naming the file, the record and the field, and the exit status is 1.
 *
 * -I checks the index only (no per-flow files: --format none/json/...).
 * -e and -r also require the per-flow files' byte order and resolution.
 *
 * A truncated INPUT is not an error here: the records read before the cut
 * are the reference (traceflowd must index those and nothing more).
 */
/* Stand-alone: getline, lstat, PATH_MAX and libpcap's u_char without config.h. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <pcap/pcap.h>

#define MAX_ERRORS 50 /* stop listing mismatches after this many */

struct rec {
	uint32_t caplen;
	uint32_t len;
	uint64_t ts_ns; /* epoch nanoseconds */
	unsigned char *data;
};

struct capture {
	struct rec *recs;
	size_t nrecs;
	int linktype;
	int snaplen;
};

struct entry {
	char *fpout; /* NULL when the index says null */
	int seen;    /* found on disk by the directory walk */
	/* A probe in a shared capture: its records' place (length 0: a file of its own). */
	long offset, length;
};

static int nerrors;
static struct entry *entries;
static size_t nentries;

static void
usage(void)
{
	fprintf(stderr, "usage: pcapcmp [-I] [-e little|big] [-r us|ns] INPUT OUTDIR\n");
	exit(2);
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if ((p = calloc(n, size)) == NULL) {
		perror("pcapcmp: calloc");
		exit(2);
	}
	return p;
}

static void *
xrealloc(void *old, size_t n, size_t size)
{
	void *p;

	if (n != 0 && size > SIZE_MAX / n) {
		fprintf(stderr, "pcapcmp: allocation too large\n");
		exit(2);
	}
	if ((p = realloc(old, n * size)) == NULL) {
		perror("pcapcmp: realloc");
		exit(2);
	}
	return p;
}

static char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL) {
		perror("pcapcmp: strdup");
		exit(2);
	}
	return p;
}

/* Report one mismatch; give up once there are too many to be useful. */
static void __attribute__((format(printf, 1, 2))) mismatch(const char *fmt, ...)
{
	va_list ap;

	fputs("pcapcmp: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (++nerrors >= MAX_ERRORS) {
		fprintf(stderr, "pcapcmp: too many mismatches, giving up\n");
		exit(1);
	}
}

/*
 * Open a capture with nanosecond timestamps, so that nothing is lost
 * whatever the file's own precision.
 */
static pcap_t *
open_capture(const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p;

	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (p == NULL)
		fprintf(stderr, "pcapcmp: %s: %s\n", path, errbuf);
	return p;
}

static void
read_input(const char *path, struct capture *cap)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	size_t alloc = 0;
	pcap_t *p;
	int r;

	if ((p = open_capture(path)) == NULL)
		exit(2);
	cap->linktype = pcap_datalink(p);
	cap->snaplen = pcap_snapshot(p);
	while ((r = pcap_next_ex(p, &h, &data)) == 1) {
		struct rec *rec;

		if (cap->nrecs == alloc) {
			alloc = alloc ? alloc * 2 : 1024;
			cap->recs = xrealloc(cap->recs, alloc, sizeof *cap->recs);
		}
		rec = &cap->recs[cap->nrecs++];
		rec->caplen = h->caplen;
		rec->len = h->len;
		/* Unsigned, as the format says (libpcap reads it signed: past 2038, 1901). */
		rec->ts_ns =
		    (uint64_t)(uint32_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec;
		rec->data = xcalloc(1, h->caplen ? h->caplen : 1);
		memcpy(rec->data, data, h->caplen);
	}
	if (r == -1)
		fprintf(stderr, "pcapcmp: warning: %s: %s (after %zu records; judging those)\n",
		    path, pcap_geterr(p), cap->nrecs);
	pcap_close(p);
}

/*
 * The byte order and timestamp precision of a pcap file, from its magic
 * number. Returns -1 (and says why) for anything but a pcap file.
 */
static int
file_format(const char *path, int *big, int *nano)
{
	static const struct {
		uint32_t magic;
		int nano;
	} magics[] = {
	    {0xa1b2c3d4, 0}, /* classic, microseconds */
	    {0xa1b23c4d, 1}, /* nanoseconds */
	    {0xa1b2cd34, 0}, /* Kuznetzov's modified format, microseconds */
	};
	unsigned char b[4];
	uint32_t be, le;
	size_t i;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL) {
		mismatch("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fread(b, 1, sizeof b, f) != sizeof b) {
		fclose(f);
		mismatch("%s: shorter than a pcap magic number", path);
		return -1;
	}
	fclose(f);
	be = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	le = (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
	for (i = 0; i < sizeof magics / sizeof magics[0]; i++) {
		if (be == magics[i].magic || le == magics[i].magic) {
			*big = be == magics[i].magic;
			*nano = magics[i].nano;
			return 0;
		}
	}
	mismatch("%s: not a pcap file (magic %02x%02x%02x%02x)", path, b[0], b[1], b[2], b[3]);
	return -1;
}

/*
 * Compare one per-flow file with the input frames of its index entry.
 * want_big/want_nano are -1 when either is accepted.
 */
static void
check_file(const char *outdir, const struct entry *e, json_t *frames, const struct capture *cap,
    int want_big, int want_nano)
{
	const char *fpout = e->fpout;
	struct pcap_pkthdr *h;
	const u_char *data;
	char path[PATH_MAX];
	size_t i = 0, n;
	int big, nano, r;
	pcap_t *p;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", outdir, fpout) >= sizeof path) {
		mismatch("%s/%s: path too long", outdir, fpout);
		return;
	}
	if (file_format(path, &big, &nano) != 0)
		return;
	if (want_big != -1 && big != want_big)
		mismatch("%s: header: byte order is %s, expected %s", path, big ? "big" : "little",
		    want_big ? "big" : "little");
	if (want_nano != -1 && nano != want_nano)
		mismatch("%s: header: resolution is %s, expected %s", path, nano ? "ns" : "us",
		    want_nano ? "ns" : "us");
	if ((p = open_capture(path)) == NULL) {
		mismatch("%s: cannot be read", path);
		return;
	}
	if (pcap_datalink(p) != cap->linktype)
		mismatch("%s: header: link type %d, input has %d", path, pcap_datalink(p),
		    cap->linktype);
	if (pcap_snapshot(p) != cap->snaplen)
		mismatch(
		    "%s: header: snaplen %d, input has %d", path, pcap_snapshot(p), cap->snaplen);

	n = json_array_size(frames);
	/* A probe's records: length bytes at offset of the shared capture, nothing else. */
	if (e->length > 0 && fseek(pcap_file(p), e->offset, SEEK_SET) != 0)
		mismatch("%s: cannot seek to its offset %ld", path, e->offset);
	while ((e->length == 0 || ftell(pcap_file(p)) < e->offset + e->length) &&
	       (r = pcap_next_ex(p, &h, &data)) == 1) {
		const struct rec *in;
		uint64_t ts_ns;
		json_int_t fno;

		if (i >= n) {
			i++;
			continue;
		}
		fno = json_integer_value(json_array_get(frames, i));
		if (fno < 1 || (uint64_t)fno > cap->nrecs) {
			i++;
			continue; /* reported by check_index() */
		}
		in = &cap->recs[fno - 1];
		ts_ns = (uint64_t)(uint32_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec;
		if (h->caplen != in->caplen)
			mismatch("%s: record %zu (frame %" JSON_INTEGER_FORMAT
			         "): caplen %u, input has %u",
			    path, i + 1, fno, h->caplen, in->caplen);
		else if (memcmp(data, in->data, h->caplen) != 0)
			mismatch("%s: record %zu (frame %" JSON_INTEGER_FORMAT
			         "): data bytes differ from the input",
			    path, i + 1, fno);
		if (h->len != in->len)
			mismatch("%s: record %zu (frame %" JSON_INTEGER_FORMAT
			         "): wire len %u, input has %u",
			    path, i + 1, fno, h->len, in->len);
		if (nano ? ts_ns != in->ts_ns : ts_ns / 1000 != in->ts_ns / 1000)
			mismatch("%s: record %zu (frame %" JSON_INTEGER_FORMAT
			         "): timestamp %" PRIu64 " ns, input has %" PRIu64 " ns",
			    path, i + 1, fno, ts_ns, in->ts_ns);
		i++;
	}
	if (r == -1)
		mismatch("%s: record %zu: %s", path, i + 1, pcap_geterr(p));
	if (e->length > 0 && ftell(pcap_file(p)) != e->offset + e->length)
		mismatch("%s: the probe at %ld ends at %ld, not %ld", path, e->offset,
		    ftell(pcap_file(p)), e->offset + e->length);
	if (i != n)
		mismatch("%s: %zu records, the index lists %zu frames", path, i, n);
	pcap_close(p);
}

/*
 * A shared capture holds its probes' records and nothing else: its header
 * and their lengths add up to its size, and no two probes overlap.
 */
static void
check_shared(const char *outdir)
{
	char path[PATH_MAX];
	struct stat sb;
	size_t i, j;
	long sum;

	for (i = 0; i < nentries; i++) {
		if (entries[i].length == 0)
			continue;
		for (j = 0; j < i && !(entries[j].length > 0 && entries[j].fpout != NULL &&
		                         strcmp(entries[j].fpout, entries[i].fpout) == 0);
		     j++)
			;
		if (j < i)
			continue; /* that capture was added up at its first probe */
		for (sum = 24, j = i; j < nentries; j++)
			if (entries[j].length > 0 &&
			    strcmp(entries[j].fpout, entries[i].fpout) == 0)
				sum += entries[j].length;
		snprintf(path, sizeof path, "%s/%s", outdir, entries[i].fpout);
		if (stat(path, &sb) == 0 && sb.st_size != sum)
			mismatch("%s: %lld bytes, its header and its probes' records %ld", path,
			    (long long)sb.st_size, sum);
	}
}

/* Whether a relative path stays inside its folder: not absolute, no ".." component. */
static int
inside(const char *fp)
{
	const char *c = fp;

	if (*fp == '\0' || *fp == '/')
		return 0;
	while (c != NULL) {
		if (strncmp(c, "..", 2) == 0 && (c[2] == '/' || c[2] == '\0'))
			return 0;
		if ((c = strchr(c, '/')) != NULL)
			c++;
	}
	return 1;
}

/* An integer member of an index entry, or -1 (reported) when absent. */
static json_int_t
get_int(json_t *obj, const char *key, size_t lineno)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v)) {
		mismatch("index.jsonl:%zu: \"%s\" missing or not an integer", lineno, key);
		return -1;
	}
	return json_integer_value(v);
}

/*
 * Check one index entry against the input; claim its frames in owner[]
 * (the entry's 0-based number plus one). Returns its label, or NULL.
 */
static const char *
check_index(json_t *obj, size_t lineno, const struct capture *cap, size_t *owner)
{
	json_int_t packets, bytes, first_ns, last_ns, fno, prev = 0;
	uint64_t lo = 0, hi = 0;
	json_t *frames, *label;
	uint64_t sum = 0;
	size_t i, n;

	label = json_object_get(obj, "label");
	if (!json_is_string(label)) {
		mismatch("index.jsonl:%zu: \"label\" missing or not a string", lineno);
		return NULL;
	}
	frames = json_object_get(obj, "index");
	if (!json_is_array(frames) || json_array_size(frames) == 0) {
		mismatch("index.jsonl:%zu: \"index\" missing, not an array, or empty", lineno);
		return NULL;
	}
	n = json_array_size(frames);
	for (i = 0; i < n; i++) {
		json_t *v = json_array_get(frames, i);

		if (!json_is_integer(v)) {
			mismatch("index.jsonl:%zu: index[%zu] is not an integer", lineno, i);
			return NULL;
		}
		fno = json_integer_value(v);
		if (fno < 1 || (uint64_t)fno > cap->nrecs) {
			mismatch("index.jsonl:%zu: index[%zu] = %" JSON_INTEGER_FORMAT
			         " is not a frame of the input (1..%zu)",
			    lineno, i, fno, cap->nrecs);
			continue;
		}
		if (fno <= prev)
			mismatch("index.jsonl:%zu: index[%zu] = %" JSON_INTEGER_FORMAT
			         " not after %" JSON_INTEGER_FORMAT,
			    lineno, i, fno, prev);
		prev = fno;
		if (owner[fno - 1] != 0)
			mismatch("index.jsonl:%zu: frame %" JSON_INTEGER_FORMAT
			         " also in the entry on line %zu",
			    lineno, fno, owner[fno - 1]);
		else
			owner[fno - 1] = lineno;
		sum += cap->recs[fno - 1].len;
	}

	packets = get_int(obj, "packets", lineno);
	if (packets != -1 && (size_t)packets != n)
		mismatch("index.jsonl:%zu: \"packets\" = %" JSON_INTEGER_FORMAT
		         " but the index lists %zu frames",
		    lineno, packets, n);
	bytes = get_int(obj, "bytes", lineno);
	if (bytes != -1 && (uint64_t)bytes != sum)
		mismatch("index.jsonl:%zu: \"bytes\" = %" JSON_INTEGER_FORMAT
		         ", the wire lengths of its frames sum to %" PRIu64,
		    lineno, bytes, sum);

	/*
	 * The segment's earliest and latest times (flow.c), not its first and
	 * last frame's: a capture's clock may step back, or one frame be far
	 * ahead; in order, they are the same.
	 */
	for (i = 0; i < n; i++) {
		fno = json_integer_value(json_array_get(frames, i));
		if (fno < 1 || (uint64_t)fno > cap->nrecs)
			continue;
		if (i == 0 || cap->recs[fno - 1].ts_ns < lo)
			lo = cap->recs[fno - 1].ts_ns;
		if (i == 0 || cap->recs[fno - 1].ts_ns > hi)
			hi = cap->recs[fno - 1].ts_ns;
	}
	first_ns = get_int(obj, "first_ns", lineno);
	if (first_ns != -1 && n > 0 && (uint64_t)first_ns != lo)
		mismatch("index.jsonl:%zu: \"first_ns\" = %" JSON_INTEGER_FORMAT
		         ", its earliest frame is at %" PRIu64,
		    lineno, first_ns, lo);
	last_ns = get_int(obj, "last_ns", lineno);
	if (last_ns != -1 && n > 0 && (uint64_t)last_ns != hi)
		mismatch("index.jsonl:%zu: \"last_ns\" = %" JSON_INTEGER_FORMAT
		         ", its latest frame is at %" PRIu64,
		    lineno, last_ns, hi);
	return json_string_value(label);
}

/*
 * Walk OUTDIR: every regular file but index.jsonl must be the fpout of an
 * entry, and .active must hold nothing once the run is over.
 */
static void
walk(const char *outdir, const char *rel)
{
	char path[PATH_MAX], sub[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	size_t i;
	DIR *d;

	snprintf(path, sizeof path, "%s%s%s", outdir, *rel ? "/" : "", rel);
	if ((d = opendir(path)) == NULL) {
		mismatch("%s: %s", path, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name) >=
		        sizeof sub ||
		    (size_t)snprintf(path, sizeof path, "%s/%s", outdir, sub) >= sizeof path) {
			mismatch("%s/%s: path too long", outdir, rel);
			continue;
		}
		if (lstat(path, &sb) != 0) {
			mismatch("%s: %s", path, strerror(errno));
			continue;
		}
		if (strcmp(sub, ".active") == 0 && S_ISDIR(sb.st_mode)) {
			DIR *a = opendir(path);
			struct dirent *ae;

			while (a != NULL && (ae = readdir(a)) != NULL)
				if (strcmp(ae->d_name, ".") != 0 && strcmp(ae->d_name, "..") != 0)
					mismatch("%s/%s: left in .active after the run", path,
					    ae->d_name);
			if (a != NULL)
				closedir(a);
			continue;
		}
		/* The spool's catalog (src/catalog.h) is no flow's file. */
		if (strcmp(sub, ".catalog") == 0 && S_ISDIR(sb.st_mode))
			continue;
		if (S_ISDIR(sb.st_mode)) {
			walk(outdir, sub);
			continue;
		}
		/* The spool's log, and a partition's own index (names.h). */
		if (strcmp(de->d_name, "index.jsonl") == 0)
			continue;
		for (i = 0; i < nentries; i++)
			if (entries[i].fpout != NULL && strcmp(entries[i].fpout, sub) == 0)
				break;
		if (i == nentries)
			mismatch("%s: a file the index does not name", path);
		/* a shared capture is every one of its probes' */
		for (; i < nentries; i++)
			if (entries[i].fpout != NULL && strcmp(entries[i].fpout, sub) == 0)
				entries[i].seen = 1;
	}
	closedir(d);
}

int
main(int argc, char **argv)
{
	int ch, index_only = 0, want_big = -1, want_nano = -1;
	const char *input, *outdir;
	struct capture cap = {0};
	char path[PATH_MAX];
	const char **labels;
	size_t *owner, lineno = 0, i, j;
	size_t linecap = 0;
	char *line = NULL;
	ssize_t linelen;
	FILE *f;
	int rc = 0;

	while ((ch = getopt(argc, argv, "Ie:r:")) != -1) {
		switch (ch) {
		case 'I':
			index_only = 1;
			break;
		case 'e':
			if (strcmp(optarg, "little") != 0 && strcmp(optarg, "big") != 0)
				usage();
			want_big = strcmp(optarg, "big") == 0;
			break;
		case 'r':
			if (strcmp(optarg, "us") != 0 && strcmp(optarg, "ns") != 0)
				usage();
			want_nano = strcmp(optarg, "ns") == 0;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	input = argv[0];
	outdir = argv[1];

	read_input(input, &cap);
	owner = xcalloc(cap.nrecs ? cap.nrecs : 1, sizeof *owner);
	labels = xcalloc(1, sizeof *labels);

	snprintf(path, sizeof path, "%s/index.jsonl", outdir);
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "pcapcmp: %s: %s\n", path, strerror(errno));
		rc = 1;
		goto out;
	}
	while ((linelen = getline(&line, &linecap, f)) != -1) {
		json_error_t jerr;
		json_t *obj, *fpout;
		const char *label;

		lineno++;
		entries = xrealloc(entries, lineno, sizeof *entries);
		labels = xrealloc(labels, lineno, sizeof *labels);
		entries[lineno - 1] = (struct entry){NULL, 0, 0, 0};
		labels[lineno - 1] = NULL;
		if ((obj = json_loadb(line, (size_t)linelen, 0, &jerr)) == NULL ||
		    !json_is_object(obj)) {
			mismatch("%s:%zu: not a JSON object: %s", path, lineno,
			    obj ? "wrong type" : jerr.text);
			json_decref(obj);
			continue;
		}
		nentries = lineno;
		if ((label = check_index(obj, lineno, &cap, owner)) != NULL)
			labels[lineno - 1] = xstrdup(label);
		fpout = json_object_get(obj, "fpout");
		if (json_is_string(fpout)) {
			const char *fp = json_string_value(fpout);

			entries[lineno - 1].fpout = xstrdup(fp);
			if (json_is_integer(json_object_get(obj, "offset"))) {
				entries[lineno - 1].offset =
				    (long)json_integer_value(json_object_get(obj, "offset"));
				entries[lineno - 1].length =
				    (long)json_integer_value(json_object_get(obj, "length"));
				if (entries[lineno - 1].length <= 0 ||
				    entries[lineno - 1].offset < 24)
					mismatch("%s:%zu: a probe at offset %ld, length %ld", path,
					    lineno, entries[lineno - 1].offset,
					    entries[lineno - 1].length);
			}
			for (j = 0; j + 1 < lineno && entries[lineno - 1].length == 0; j++)
				if (entries[j].fpout && strcmp(entries[j].fpout, fp) == 0)
					mismatch("%s:%zu: fpout \"%s\" already used on line %zu",
					    path, lineno, fp, j + 1);
			if (!inside(fp))
				mismatch("%s:%zu: fpout \"%s\" is not a path inside OUTDIR", path,
				    lineno, fp);
			else if (!index_only && label != NULL)
				check_file(outdir, &entries[lineno - 1],
				    json_object_get(obj, "index"), &cap, want_big, want_nano);
		} else if (!json_is_null(fpout)) {
			mismatch(
			    "%s:%zu: \"fpout\" missing or neither a string nor null", path, lineno);
		}
		json_decref(obj);
	}
	free(line);
	fclose(f);
	nentries = lineno;

	if (!index_only) {
		check_shared(outdir);
		walk(outdir, "");
		for (i = 0; i < nentries; i++)
			if (entries[i].fpout != NULL && !entries[i].seen)
				mismatch("%s/%s: named by the index (line %zu) but missing", outdir,
				    entries[i].fpout, i + 1);
	}
	if (nerrors != 0) {
		fprintf(stderr, "pcapcmp: %d mismatch%s\n", nerrors, nerrors == 1 ? "" : "es");
		rc = 1;
		goto out;
	}
	for (i = 0; i < cap.nrecs; i++)
		if (owner[i] != 0)
			printf("%zu\t%zu\t%s\n", i + 1, owner[i] - 1, labels[owner[i] - 1]);
out:
	/* Everything freed, so that LeakSanitizer's verdict means something. */
	for (i = 0; i < cap.nrecs; i++)
		free(cap.recs[i].data);
	free(cap.recs);
	for (i = 0; i < lineno; i++) {
		free((char *)labels[i]);
		free(entries[i].fpout);
	}
	free(labels);
	free(entries);
	free(owner);
	return rc;
}
