/* index.c: index.jsonl, one JSON line per finished flow or segment (jansson). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "label.h"
#include "log.h"
#include "xmalloc.h"

#define INDEX_FILE "index.jsonl"

struct flow_index {
	FILE *fp;
	char *path;
	uint64_t errors;
};

struct flow_index *
index_open(const char *outdir, char **cause)
{
	struct flow_index *idx;

	idx = xcalloc(1, sizeof *idx);
	xasprintf(&idx->path, "%s/%s", outdir, INDEX_FILE);
	if ((idx->fp = fopen(idx->path, "ae")) == NULL) {
		xasprintf(cause, "%s: %s", idx->path, strerror(errno));
		free(idx->path);
		free(idx);
		return NULL;
	}
	setvbuf(idx->fp, NULL, _IOFBF, 1 << 16);
	return idx;
}

void
index_close(struct flow_index *idx)
{
	if (idx == NULL)
		return;
	if (fclose(idx->fp) == EOF)
		log_warn("%s", idx->path);
	free(idx->path);
	free(idx);
}

static json_t *
addr_json(const struct flow *f, const uint8_t *addr)
{
	char buf[64];

	label_addr(buf, sizeof buf, f->key.af, addr, 0);
	return json_string(buf);
}

static json_t *
time_json(uint64_t ns)
{
	return json_real((double)(ns / 1000000000u) + (double)(ns % 1000000000u) / 1e9);
}

json_t *
index_entry(
    const struct flow *f, const char *fpout, const char *iface, int nanosecond, int with_frames)
{
	char label[LABEL_MAX];
	struct flow_fn_iter it;
	json_t *o, *frames, *vlan;
	uint16_t sport, dport;
	const uint8_t *src, *dst;
	uint64_t fr;
	unsigned i;

	label_make(label, f, nanosecond);
	src = flow_src(f, &sport);
	dst = flow_dst(f, &dport);
	vlan = json_array();
	for (i = 0; i < f->key.nvlan; i++)
		json_array_append_new(vlan, json_integer(f->key.vlan[i]));
	o = json_object();
	json_object_set_new(o, "label", json_string(label));
	json_object_set_new(o, "fpout", fpout ? json_string(fpout) : json_null());
	if (with_frames) {
		frames = json_array();
		flow_fn_begin(f, &it);
		while (flow_fn_next(&it, &fr))
			json_array_append_new(frames, json_integer((json_int_t)fr));
		json_object_set_new(o, "index", frames);
	}
	json_object_set_new(o, "src", addr_json(f, src));
	json_object_set_new(o, "srcport", json_integer(sport));
	json_object_set_new(o, "dst", addr_json(f, dst));
	json_object_set_new(o, "dstport", json_integer(dport));
	json_object_set_new(o, "vlan", vlan);
	json_object_set_new(o, "interface", iface ? json_string(iface) : json_null());
	json_object_set_new(o, "first", time_json(f->seg_first));
	json_object_set_new(o, "last", time_json(f->seg_last));
	json_object_set_new(o, "first_ns", json_integer((json_int_t)f->seg_first));
	json_object_set_new(o, "last_ns", json_integer((json_int_t)f->seg_last));
	json_object_set_new(o, "packets", json_integer(f->seg_packets));
	json_object_set_new(o, "bytes", json_integer((json_int_t)f->seg_bytes));
	json_object_set_new(o, "reason", json_string(flow_reason_name(f->reason)));
	json_object_set_new(o, "partial", json_boolean(f->flags & FLOWF_PARTIAL));
	json_object_set_new(o, "segment", json_integer(f->seg_no));
	return o;
}

int
index_append(struct flow_index *idx, json_t *entry)
{
	int rc = 0;

	if (json_dumpf(entry, idx->fp, JSON_COMPACT | JSON_PRESERVE_ORDER) == -1 ||
	    fputc('\n', idx->fp) == EOF) {
		if (idx->errors++ < 10)
			log_warn("%s", idx->path);
		rc = -1;
	}
	return rc;
}

char *
index_frames_text(const uint8_t *fn, size_t len)
{
	uint64_t frame = 0, d;
	size_t i = 0, n = 1, cap = 2 + len * 4 + 24;
	char *s = xmalloc(cap), digits[24];
	unsigned shift, k;

	s[0] = '[';
	while (i < len) {
		for (d = 0, shift = 0; i < len; shift += 7) {
			uint8_t c = fn[i++];

			d |= (uint64_t)(c & 0x7f) << shift;
			if (!(c & 0x80))
				break;
		}
		frame += d;
		for (k = 0, d = frame; k == 0 || d > 0; d /= 10)
			digits[k++] = (char)('0' + d % 10);
		if (cap - n < k + 3) {
			cap = cap * 2 + k + 3;
			s = xreallocarray(s, cap, 1);
		}
		if (n > 1)
			s[n++] = ',';
		while (k > 0)
			s[n++] = digits[--k];
	}
	s[n++] = ']';
	s[n] = '\0';
	return s;
}

int
index_append_frames(struct flow_index *idx, json_t *entry, const char *frames)
{
	char *text;
	size_t len;
	int rc = 0;

	if ((text = json_dumps(entry, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		fatalx("json_dumps: out of memory");
	len = strlen(text);
	/* The object's closing brace makes way for the frame numbers. */
	if (len < 2 || fwrite(text, 1, len - 1, idx->fp) != len - 1 ||
	    fprintf(idx->fp, "%s\"index\":%s}\n", len > 2 ? "," : "", frames) < 0) {
		if (idx->errors++ < 10)
			log_warn("%s", idx->path);
		rc = -1;
	}
	free(text);
	return rc;
}

void
index_flush(struct flow_index *idx)
{
	if (fflush(idx->fp) == EOF && idx->errors++ < 10)
		log_warn("%s", idx->path);
}
