/*
 * record.c: a finished flow's index record and its JSON, written by hand
 * as jansson would write it (record.h): the index's lines, the control
 * channel's entries of active flows, the frame-number arrays.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "label.h"
#include "reason.h"
#include "record.h"
#include "xmalloc.h"

void
text_grow(struct text *t, size_t n)
{
	t->cap = t->len + n > 2 * t->cap ? t->len + n + 256 : 2 * t->cap;
	t->s = xreallocarray(t->s, t->cap, 1);
}

static json_t *
time_json(uint64_t ns)
{
	return json_real((double)(ns / 1000000000u) + (double)(ns % 1000000000u) / 1e9);
}

/*
 * Every line has the same keys in the same order, whatever made it: what
 * is not known is null. The filer fills in written and truncated.
 */
static const char *entry_keys[] = {"label", "fpout", "src", "srcport", "dst", "dstport", "vlan",
    "interface", "first", "last", "first_ns", "last_ns", "packets", "bytes", "written", "reason",
    "partial", "truncated", "recovered", "segment", "offset", "length"};

static json_t *
entry_blank(void)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < sizeof entry_keys / sizeof entry_keys[0]; i++)
		json_object_set_new(o, entry_keys[i], json_null());
	return o;
}

void
index_record_make(struct index_record *r, const struct flow *f, const char *iface, int nanosecond)
{
	const uint8_t *src, *dst;
	unsigned i;

	label_make(r->label, f, nanosecond);
	src = flow_src(f, &r->srcport);
	dst = flow_dst(f, &r->dstport);
	label_addr(r->src, sizeof r->src, f->key.af, src, 0);
	label_addr(r->dst, sizeof r->dst, f->key.af, dst, 0);
	r->nvlan = f->key.nvlan;
	for (i = 0; i < f->key.nvlan && i < DECODE_MAX_VLAN; i++)
		r->vlan[i] = f->key.vlan[i];
	r->iface = iface;
	r->first_ns = f->seg_first;
	r->last_ns = f->seg_last;
	r->packets = f->seg_packets;
	r->bytes = f->seg_bytes;
	r->ipbytes = f->seg_ipbytes;
	r->tcpflags = f->seg_tcpflags;
	r->reason = (uint8_t)f->reason;
	r->partial = !!(f->flags & FLOWF_PARTIAL);
	r->segment = f->seg_no;
	r->fpout[0] = '\0';
	r->written = f->seg_packets;
	r->truncated = 0;
	r->probe = 0;
	r->offset = r->length = 0;
}

json_t *
index_record_json(const struct index_record *r)
{
	json_t *o = entry_blank(), *vlan = json_array();
	unsigned i;

	for (i = 0; i < r->nvlan; i++)
		json_array_append_new(vlan, json_integer(r->vlan[i]));
	json_object_set_new(o, "label", json_string(r->label));
	if (r->fpout[0] != '\0')
		json_object_set_new(o, "fpout", json_string(r->fpout));
	json_object_set_new(o, "src", json_string(r->src));
	json_object_set_new(o, "srcport", json_integer(r->srcport));
	json_object_set_new(o, "dst", json_string(r->dst));
	json_object_set_new(o, "dstport", json_integer(r->dstport));
	json_object_set_new(o, "vlan", vlan);
	if (r->iface != NULL)
		json_object_set_new(o, "interface", json_string(r->iface));
	json_object_set_new(o, "first", time_json(r->first_ns));
	json_object_set_new(o, "last", time_json(r->last_ns));
	json_object_set_new(o, "first_ns", json_integer((json_int_t)r->first_ns));
	json_object_set_new(o, "last_ns", json_integer((json_int_t)r->last_ns));
	json_object_set_new(o, "packets", json_integer((json_int_t)r->packets));
	json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes));
	json_object_set_new(o, "written", json_integer((json_int_t)r->written));
	json_object_set_new(o, "reason", json_string(flow_reason_name(r->reason)));
	json_object_set_new(o, "partial", json_boolean(r->partial));
	json_object_set_new(o, "truncated", json_boolean(r->truncated));
	json_object_set_new(o, "recovered", json_false());
	json_object_set_new(o, "segment", json_integer(r->segment));
	if (r->probe) {
		json_object_set_new(o, "offset", json_integer((json_int_t)r->offset));
		json_object_set_new(o, "length", json_integer((json_int_t)r->length));
	}
	return o;
}

json_t *
index_entry(
    const struct flow *f, const char *fpout, const char *iface, int nanosecond, int with_frames)
{
	struct index_record r;
	struct flow_fn_iter it;
	json_t *o, *frames;
	uint64_t fr;

	index_record_make(&r, f, iface, nanosecond);
	if (fpout != NULL)
		snprintf(r.fpout, sizeof r.fpout, "%s", fpout);
	o = index_record_json(&r);
	if (with_frames) {
		frames = json_array();
		flow_fn_begin(f, &it);
		while (flow_fn_next(&it, &fr))
			json_array_append_new(frames, json_integer((json_int_t)fr));
		json_object_set_new(o, "index", frames);
	}
	return o;
}

/* --- the line by hand: what jansson would write, without a JSON object ------ */

/* A JSON string as jansson escapes it: ", \\ and control characters. */
static const char short_esc[] = {['"'] = '"',
    ['\\'] = '\\',
    ['\b'] = 'b',
    ['\f'] = 'f',
    ['\n'] = 'n',
    ['\r'] = 'r',
    ['\t'] = 't'};

void
text_str(struct text *t, const char *p)
{
	char esc[8];
	const char *run;

	text_add(t, "\"", 1);
	for (run = p; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		text_add(t, run, (size_t)(p - run));
		if (c < sizeof short_esc && short_esc[c] != '\0') {
			esc[0] = '\\';
			esc[1] = short_esc[c];
			text_add(t, esc, 2);
		} else {
			snprintf(esc, sizeof esc, "\\u%04X", c);
			text_add(t, esc, 6);
		}
		run = p + 1;
	}
	text_add(t, run, (size_t)(p - run));
	text_add(t, "\"", 1);
}

/* ,"key": (the first key of a line is written with its brace) */
void
text_key(struct text *t, const char *key)
{
	size_t n = strlen(key);

	text_reserve(t, n + 4);
	memcpy(t->s + t->len, ",\"", 2);
	memcpy(t->s + t->len + 2, key, n);
	memcpy(t->s + t->len + 2 + n, "\":", 2);
	t->len += n + 4;
}

void
text_u64(struct text *t, uint64_t v)
{
	char d[24];

	/* Not snprintf: it was a fifth of a listing's time. */
	text_add(t, d, (size_t)(label_u64(d, v, 1) - d));
}

/*
 * The digits %.17g gives v when 1 <= v < 2^53, computed exactly from the
 * double's bits (v = mant * 2^-shift): the integer part, then 17 - digits
 * of it fraction digits rounded half to even as printf rounds, trailing
 * zeros dropped. 0 when v is outside that range (printf does those).
 * printf's exact decimal expansion of a double (__printf_fp, multiple
 * precision) was a third of a listing's time, three times per flow.
 */
static size_t
g17_fixed(double v, char *out)
{
	uint64_t bits, mant, ip, frac, pow10 = 1, den, q;
	unsigned __int128 wide, rem, half;
	int shift, digits = 0, k, n;

	memcpy(&bits, &v, sizeof bits);
	shift = 1075 - (int)((bits >> 52) & 0x7ff);
	if (bits >> 63 || shift < 0 || shift > 52)
		return 0; /* negative, below 1 or at least 2^53 */
	mant = (bits & ((UINT64_C(1) << 52) - 1)) | (UINT64_C(1) << 52);
	ip = mant >> shift;
	frac = mant & ((UINT64_C(1) << shift) - 1);
	for (den = ip; den > 0; den /= 10)
		digits++;
	for (k = 0; k < 17 - digits; k++)
		pow10 *= 10;
	/* frac * 10^k needs 128 bits; the digits (below 10^k <= 10^16) fit in 64. */
	wide = (unsigned __int128)frac * pow10;
	rem = wide & (((unsigned __int128)1 << shift) - 1);
	q = (uint64_t)(wide >> shift);
	half = shift > 0 ? (unsigned __int128)1 << (shift - 1) : 1;
	if (shift > 0 && (rem > half || (rem == half && (q & 1))))
		q++;
	if (q == pow10) { /* 9.99.. rounded up: the fraction is gone (and %g drops it) */
		ip++;
		q = 0;
	}
	n = (int)(label_u64(out, ip, 1) - out);
	if (q == 0) {
		memcpy(out + n, ".0", 2); /* jansson's mark of a real */
		return (size_t)n + 2;
	}
	out[n] = '.';
	for (k = 17 - digits; k > 0; k--, q /= 10)
		out[n + k] = (char)('0' + (int)(q % 10));
	for (k = n + 17 - digits; out[k] == '0'; k--)
		;
	return (size_t)k + 1;
}

/*
 * The rest as jansson writes it: %.17g, an exponent without its "+" and
 * leading zeros ("1e-9", not printf's "1e-09"), and ".0" if it looks like
 * an integer.
 */
static size_t
g17_printf(double v, char *d, size_t len)
{
	char *e, *z;
	size_t n = (size_t)snprintf(d, len, "%.17g", v);

	if ((e = strchr(d, 'e')) != NULL) {
		e++;
		if (*e == '+')
			memmove(e, e + 1, (size_t)(d + n - e)), n--;
		else if (*e == '-')
			e++;
		for (z = e; *z == '0' && z[1] != '\0'; z++)
			;
		memmove(e, z, (size_t)(d + n + 1 - z));
		n -= (size_t)(z - e);
	} else if (strchr(d, '.') == NULL && n + 2 < len) {
		memcpy(d + n, ".0", 3);
		n += 2;
	}
	return n;
}

/* A real as jansson's dump writes it. */
void
text_time(struct text *t, uint64_t ns)
{
	char d[40];
	double v = (double)(ns / 1000000000u) + (double)(ns % 1000000000u) / 1e9;
	int n;

	if ((n = (int)g17_fixed(v, d)) == 0)
		n = (int)g17_printf(v, d, sizeof d);
	text_add(t, d, (size_t)n);
}

/* A string, or null for NULL. */
static void
text_str_or_null(struct text *t, const char *p)
{
	if (p != NULL)
		text_str(t, p);
	else
		text_add(t, "null", 4);
}

static void
text_bool(struct text *t, int v)
{
	text_add(t, v ? "true" : "false", v ? 4 : 5);
}

/*
 * The record's members from "label" to "segment", the brace opened, not
 * closed: the index line and the control channel's listing of active
 * flows add their own. With reason_null the reason is null (a flow still
 * open does not know it yet).
 */
void
index_record_text(struct text *t, const struct index_record *r, int reason_null)
{
	unsigned i;

	text_reserve(t, 512);
	text_add(t, "{\"label\":", 9);
	text_str(t, r->label);
	text_key(t, "fpout");
	text_str_or_null(t, r->fpout[0] != '\0' ? r->fpout : NULL);
	text_key(t, "src");
	text_str(t, r->src);
	text_key(t, "srcport");
	text_u64(t, r->srcport);
	text_key(t, "dst");
	text_str(t, r->dst);
	text_key(t, "dstport");
	text_u64(t, r->dstport);
	text_key(t, "vlan");
	text_add(t, "[", 1);
	for (i = 0; i < r->nvlan; i++) {
		if (i > 0)
			text_add(t, ",", 1);
		text_u64(t, r->vlan[i]);
	}
	text_add(t, "]", 1);
	text_key(t, "interface");
	text_str_or_null(t, r->iface);
	text_key(t, "first");
	text_time(t, r->first_ns);
	text_key(t, "last");
	text_time(t, r->last_ns);
	text_key(t, "first_ns");
	text_u64(t, r->first_ns);
	text_key(t, "last_ns");
	text_u64(t, r->last_ns);
	text_key(t, "packets");
	text_u64(t, r->packets);
	text_key(t, "bytes");
	text_u64(t, r->bytes);
	text_key(t, "written");
	text_u64(t, r->written);
	text_key(t, "reason");
	text_str_or_null(t, reason_null ? NULL : flow_reason_name(r->reason));
	text_key(t, "partial");
	text_bool(t, r->partial);
	text_key(t, "truncated");
	text_bool(t, r->truncated);
	text_key(t, "recovered");
	text_add(t, "false", 5);
	text_key(t, "segment");
	text_u64(t, r->segment);
	/* A probe's place in its shared capture; a file of its own: null. */
	text_key(t, "offset");
	if (r->probe)
		text_u64(t, r->offset);
	else
		text_add(t, "null", 4);
	text_key(t, "length");
	if (r->probe)
		text_u64(t, r->length);
	else
		text_add(t, "null", 4);
}

void
index_active_text(struct text *t, const struct index_record *r, const char *state, int reason_known,
    uint64_t age_ns, const char *file)
{
	index_record_text(t, r, !reason_known);
	text_key(t, "state");
	text_str(t, state);
	text_key(t, "age");
	text_time(t, age_ns);
	text_key(t, "file");
	text_str_or_null(t, file);
	text_add(t, "}", 1);
}

/* A label's address back as the index writes it (labels spell IPv6 colons as dots). */
static int
addr_unlabel(char *a)
{
	uint8_t bin[16];
	char *p;

	if (inet_pton(AF_INET, a, bin) == 1)
		return 1;
	for (p = a; *p != '\0'; p++)
		if (*p == '.')
			*p = ':';
	return inet_pton(AF_INET6, a, bin) == 1;
}

/* "10.0.0.1_1234-10.0.0.2_80-1700000000.123456[-N]": the label's addresses and ports. */
static void
label_parts(json_t *o, const char *label)
{
	const char *dash = strchr(label, '-'), *us, *dash2, *us2;
	char addr[64];

	if (dash == NULL || (dash2 = strchr(dash + 1, '-')) == NULL)
		return;
	for (us = dash; us > label && us[-1] != '_'; us--)
		;
	for (us2 = dash2; us2 > dash && us2[-1] != '_'; us2--)
		;
	if (us == label || us2 == dash + 1 || (size_t)(us - label) > sizeof addr ||
	    (size_t)(us2 - dash) > sizeof addr)
		return;
	snprintf(addr, sizeof addr, "%.*s", (int)(us - label - 1), label);
	if (addr_unlabel(addr))
		json_object_set_new(o, "src", json_string(addr));
	json_object_set_new(o, "srcport", json_integer(strtol(us, NULL, 10)));
	snprintf(addr, sizeof addr, "%.*s", (int)(us2 - dash - 2), dash + 1);
	if (addr_unlabel(addr))
		json_object_set_new(o, "dst", json_string(addr));
	json_object_set_new(o, "dstport", json_integer(strtol(us2, NULL, 10)));
}

json_t *
index_recovered_json(const struct index_recovered *r)
{
	json_t *o = entry_blank();

	json_object_set_new(o, "label", json_string(r->label));
	json_object_set_new(o, "fpout", json_string(r->fpout));
	label_parts(o, r->label);
	if (r->have_records) {
		json_object_set_new(o, "first", time_json(r->first_ns));
		json_object_set_new(o, "last", time_json(r->last_ns));
		json_object_set_new(o, "first_ns", json_integer((json_int_t)r->first_ns));
		json_object_set_new(o, "last_ns", json_integer((json_int_t)r->last_ns));
		/* What the file holds: what was still in memory died with the process. */
		json_object_set_new(o, "packets", json_integer((json_int_t)r->packets));
		json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes));
		json_object_set_new(o, "written", json_integer((json_int_t)r->packets));
	}
	json_object_set_new(o, "reason", json_string("recovered"));
	json_object_set_new(o, "recovered", json_true());
	/* The frame numbers died with the process. */
	json_object_set_new(o, "index", json_null());
	return o;
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
