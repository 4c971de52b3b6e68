/*
 * offline.c: the --read mode. The same engine as the live daemon, fed by
 * pcap_loop over a file; frames are numbered before the user's filter so
 * that frame numbers always match Wireshark's.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "log.h"
#include "names.h"
#include "offline.h"
#include "pcapfile.h"
#include "spool.h"
#include "xmalloc.h"

struct offline_ctx {
	struct engine *e;
	struct source src;
	struct bpf_program prog;
	int filtered;
	uint64_t batch;
};

/* Does the file carry nanosecond timestamps? (pcap magic, or a pcapng IDB's if_tsresol) */
static int
input_is_nano(const char *path)
{
	uint8_t b[512];
	uint32_t magic, blen, off;
	size_t n;
	FILE *fp;

	if (strcmp(path, "-") == 0 || (fp = fopen(path, "rb")) == NULL)
		return 0;
	n = fread(b, 1, sizeof b, fp);
	fclose(fp);
	if (n < 4)
		return 0;
	magic = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	if (magic == PCAP_MAGIC_NS || __builtin_bswap32(magic) == PCAP_MAGIC_NS)
		return 1;
	if (magic != 0x0a0d0d0a || n < 28)
		return 0;
	/* pcapng, little-endian section assumed (what every writer we know emits). */
	memcpy(&blen, b + 4, 4);
	off = blen;
	if (off + 20 > n)
		return 0;
	memcpy(&magic, b + off, 4);
	if (magic != 1) /* Interface Description Block */
		return 0;
	memcpy(&blen, b + off + 4, 4);
	for (uint32_t o = off + 16; o + 4 <= off + blen && o + 4 <= n;) {
		uint16_t code, len;

		memcpy(&code, b + o, 2);
		memcpy(&len, b + o + 2, 2);
		if (code == 0)
			break;
		if (code == 9 && len >= 1 && o + 4 < n) /* if_tsresol */
			return b[o + 4] != 6 && !(b[o + 4] & 0x80) && b[o + 4] >= 7;
		o += 4 + ((len + 3u) & ~3u);
	}
	return 0;
}

/*
 * The output folder: created if missing; a non-empty one only with
 * --force. Opened once under the spool's rules (no link, nobody else may
 * write to it or plant one in it); -1 when refused.
 */
static int
prepare_output(const char *dir, int force)
{
	char *cause = NULL;
	struct stat sb;
	int fd;

	if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
		log_warnx("%s: exists and is not a directory", dir);
		return -1;
	}
	if ((fd = spool_open(dir, NULL, &cause)) == -1)
		goto refused;
	if (!force && !spool_is_empty(fd)) {
		log_warnx("%s: output folder is not empty (use --force to add to it)", dir);
		close(fd);
		return -1;
	}
	if (spool_prepare(fd, dir, &cause) == -1)
		goto refused;
	return fd;
refused:
	log_warnx("--output %s", cause);
	free(cause);
	if (fd != -1)
		close(fd);
	return -1;
}

static void
on_frame(u_char *arg, const struct pcap_pkthdr *h, const u_char *data)
{
	struct offline_ctx *c = (struct offline_ctx *)arg;
	/* The handle was opened for nanosecond precision: tv_usec holds ns. */
	uint64_t ts = (uint64_t)h->ts.tv_sec * NS_PER_SEC + (uint64_t)h->ts.tv_usec;

	if (c->filtered && !pcap_offline_filter(&c->prog, h, data)) {
		engine_skip(c->e, &c->src);
		return;
	}
	engine_frame(c->e, &c->src, ts, h->caplen, h->len, data);
	if (++c->batch % 4096 == 0)
		engine_batch_end(c->e);
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
	printf("files: %" PRIu64 "\n", ws->files);
	/* Accepted but not on disk: what a full disk cost, always said. */
	printf("frames_lost: %" PRIu64 "\n", ws->frames_lost);
	if (ws->write_errors)
		printf("write_errors: %" PRIu64 "\nbytes_lost: %" PRIu64 "\n", ws->write_errors,
		    ws->bytes_lost);
	if (ws->index_pending + ws->index_lost)
		printf("index_lines_lost: %" PRIu64 "\n", ws->index_pending + ws->index_lost);
}

static pcap_t *
open_input(const char *input)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p;

	p = pcap_open_offline_with_tstamp_precision(input, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (p == NULL)
		log_warnx("%s: cannot read capture: %s", input, errbuf);
	return p;
}

int
offline_run(struct offline_opts *o)
{
	struct offline_ctx c;
	const struct output_stats *ws;
	char *cause = NULL;
	pcap_t *p;
	int rc, status = 0, outfd;

	memset(&c, 0, sizeof c);
	if ((p = open_input(o->input)) == NULL)
		return 1;
	c.src.dlt = pcap_datalink(p);
	if (!decode_supported(c.src.dlt)) {
		log_warnx("%s: link type %s (%d) is not supported", o->input,
		    pcap_datalink_val_to_name(c.src.dlt) ? pcap_datalink_val_to_name(c.src.dlt)
		                                         : "?",
		    c.src.dlt);
		pcap_close(p);
		return 1;
	}
	if (o->filter != NULL) {
		if (pcap_compile(p, &c.prog, o->filter, 1, PCAP_NETMASK_UNKNOWN) == -1) {
			log_warnx("bad filter expression \"%s\": %s", o->filter, pcap_geterr(p));
			pcap_close(p);
			return 2;
		}
		c.filtered = 1;
	}
	if (o->nanosecond == -1)
		o->cfg.writer.nanosecond = input_is_nano(o->input);
	else
		o->cfg.writer.nanosecond = o->nanosecond;
	if ((outfd = prepare_output(o->cfg.outdir, o->force)) == -1) {
		rc = 1;
		goto out;
	}
	o->cfg.outfd = outfd;
	if ((c.e = engine_new(&o->cfg, &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		close(outfd);
		rc = 1;
		goto out;
	}
	c.src.linktype = pcapfile_linktype(c.src.dlt);
	c.src.snaplen = (uint32_t)pcap_snapshot(p);
	engine_add_source(c.e, &c.src);

	if (pcap_loop(p, -1, on_frame, (u_char *)&c) == PCAP_ERROR) {
		/* Keep what was read: the flows so far are finished and indexed. */
		log_warnx("%s: read error after %" PRIu64 " frames: %s", o->input,
		    engine_source_frames(c.e, c.src.id), pcap_geterr(p));
		status = 1;
	}
	engine_finish_all(c.e, FLOW_R_EOF);
	print_summary(o->input, o->cfg.outdir, engine_stats(c.e), engine_output_stats(c.e));
	ws = engine_output_stats(c.e);
	if (ws->write_errors || ws->frames_lost || ws->index_pending || ws->index_lost)
		status = 1;
	engine_free(c.e);
	unlinkat(outfd, NAMES_ACTIVE, AT_REMOVEDIR); /* empty after a complete run */
	close(outfd);
	rc = status;
out:
	if (c.filtered)
		pcap_freecode(&c.prog);
	pcap_close(p);
	return rc;
}
