/*
 * ipfix.c: finished flows as IPFIX messages, through libfixbuf, into memory.
 *
 * libfixbuf does the IPFIX side: the information model, templates, the
 * transcoding of our record into a message, RFC 5610 descriptions of our
 * enterprise elements. Its own network exporter is passed over (see
 * export.c): libfixbuf writes each message into a buffer of ours, through a
 * stdio stream of our own (fopencookie), and the caller takes the bytes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fixbuf/public.h>

#include "flow.h"
#include "ipfix.h"
#include "log.h"
#include "reason.h"
#include "xmalloc.h"

#define TID_INT 0x9000 /* internal template (never on the wire) */

/* Spec flags: which template an element belongs to. */
#define SF_V4  0x1
#define SF_V6  0x2
#define SF_INT 0x4 /* internal only: padding */

/* Our enterprise elements (under cfg.pen). */
#define EIE_LABEL   1
#define EIE_FPOUT   2
#define EIE_PARTIAL 3
#define EIE_REASON  4

/*
 * The record as libfixbuf reads it: the members in the order of the
 * internal template, with no gap (so the sum of the element lengths is
 * each member's offset). With ipfix_pen = 0 it ends before label.
 */
struct wire_rec {
	uint64_t start_ms, end_ms; /* flowStart/EndMilliseconds: what most collectors keep */
	uint64_t start_ns, end_ns; /* flowStart/EndNanoseconds, NTP format */
	uint64_t packets, octets;  /* packetDeltaCount, octetDeltaCount (IP octets) */
	fbVarfield_t ifname;       /* interfaceName */
	uint8_t src6[16], dst6[16];
	uint32_t src4, dst4; /* host order: libfixbuf swaps integers into network order */
	uint32_t ingress;    /* ingressInterface: the ifindex */
	uint16_t sport, dport;
	uint16_t vlan, cvlan; /* dot1qVlanId, dot1qCustomerVlanId */
	uint16_t tcpflags;
	uint8_t proto, endreason;
	fbVarfield_t label, fpout, reason; /* enterprise */
	uint8_t partial;
	uint8_t pad[7];
};
_Static_assert(offsetof(struct wire_rec, ifname) == 48, "wire_rec layout");
_Static_assert(offsetof(struct wire_rec, src4) == 96, "wire_rec layout");
_Static_assert(offsetof(struct wire_rec, label) == 120, "wire_rec layout");
_Static_assert(sizeof(struct wire_rec) == 176, "wire_rec layout");

static fbInfoElementSpec_t spec_std[] = {
    {"flowStartMilliseconds", 8, 0},
    {"flowEndMilliseconds", 8, 0},
    {"flowStartNanoseconds", 8, 0},
    {"flowEndNanoseconds", 8, 0},
    {"packetDeltaCount", 8, 0},
    {"octetDeltaCount", 8, 0},
    {"interfaceName", FB_IE_VARLEN, 0},
    {"sourceIPv6Address", 16, SF_V6},
    {"destinationIPv6Address", 16, SF_V6},
    {"sourceIPv4Address", 4, SF_V4},
    {"destinationIPv4Address", 4, SF_V4},
    {"ingressInterface", 4, 0},
    {"sourceTransportPort", 2, 0},
    {"destinationTransportPort", 2, 0},
    {"dot1qVlanId", 2, 0},
    {"dot1qCustomerVlanId", 2, 0},
    {"tcpControlBits", 2, 0},
    {"protocolIdentifier", 1, 0},
    {"flowEndReason", 1, 0},
    FB_IESPEC_NULL,
};

static fbInfoElementSpec_t spec_ent[] = {
    {"traceflowLabel", FB_IE_VARLEN, 0},
    {"traceflowFpout", FB_IE_VARLEN, 0},
    {"traceflowReason", FB_IE_VARLEN, 0},
    {"traceflowPartial", 1, 0},
    {"paddingOctets", 7, SF_INT},
    FB_IESPEC_NULL,
};

struct ipfix {
	struct ipfix_config cfg;
	fbInfoModel_t *model;
	fBuf_t *fbuf;
	FILE *outfp;  /* libfixbuf writes messages here: out_write() */
	uint8_t *out; /* messages made, not yet taken */
	size_t out_len, out_cap;
	size_t msg_est; /* bytes in the message being made, at most */
	size_t rec_size;
	char ifcache[IF_NAMESIZE];
	uint32_t ifindex;
};

uint8_t
ipfix_end_reason(int reason)
{
	/* RFC 5102 flowEndReason: 1 idle, 2 active, 3 end detected, 4 forced, 5 lack of resources.
	 */
	switch (reason) {
	case FLOW_R_IDLE:
	case FLOW_R_UNANSWERED: /* an idle timeout, a shorter one */
		return 1;
	case FLOW_R_ROTATE:
		return 2; /* a full segment: the flow goes on, as after an active timeout */
	case FLOW_R_FIN:
	case FLOW_R_RST:
	case FLOW_R_REUSE: /* a new SYN on the tuple: the old connection's end, seen */
	case FLOW_R_REFUSED:
		return 3;
	case FLOW_R_EVICTED:
		return 5;
	default: /* submit, eof, shutdown, recovered */
		return 4;
	}
}

/* --- set-up --------------------------------------------------------------- */

static int
add_template(
    struct ipfix *p, fbSession_t *s, uint16_t tid, int internal, uint32_t flags, char **cause)
{
	fbTemplate_t *t = fbTemplateAlloc(p->model);
	GError *err = NULL;

	if (!fbTemplateAppendSpecArray(t, spec_std, flags, &err) ||
	    (p->cfg.pen != 0 && !fbTemplateAppendSpecArray(t, spec_ent, flags, &err)) ||
	    fbSessionAddTemplate(s, internal, tid, t, &err) == 0) {
		xasprintf(cause, "ipfix template: %s", err->message);
		g_clear_error(&err);
		fbTemplateFreeUnused(t);
		return -1;
	}
	return 0;
}

static void
add_enterprise_elements(struct ipfix *p)
{
	fbInfoElement_t ies[] = {
	    FB_IE_INIT_FULL("traceflowLabel", p->cfg.pen, EIE_LABEL, FB_IE_VARLEN, 0, 0, 0,
	        FB_STRING, "traceflow's label of the flow: its file name without extension"),
	    FB_IE_INIT_FULL("traceflowFpout", p->cfg.pen, EIE_FPOUT, FB_IE_VARLEN, 0, 0, 0,
	        FB_STRING, "the flow's file, relative to the sensor's spool; empty for none"),
	    FB_IE_INIT_FULL("traceflowPartial", p->cfg.pen, EIE_PARTIAL, 1, FB_IE_F_ENDIAN, 0, 1,
	        FB_UINT_8, "1 if the flow's first packet was not a SYN"),
	    FB_IE_INIT_FULL("traceflowReason", p->cfg.pen, EIE_REASON, FB_IE_VARLEN, 0, 0, 0,
	        FB_STRING, "why traceflow ended the flow or segment (fin, rst, idle, ...)"),
	    FB_IE_NULL,
	};

	fbInfoModelAddElementArray(p->model, ies);
}

/*
 * libfixbuf writes every message it emits (full, or at fBufEmit, or between
 * template and data sets) to a stdio stream; this one, unbuffered, appends
 * the bytes to p->out, whole messages, for the caller to take.
 */
static ssize_t
out_write(void *cookie, const char *buf, size_t len)
{
	struct ipfix *p = cookie;

	if (p->out_cap - p->out_len < len) {
		p->out_cap = p->out_len + len > 2 * p->out_cap ? p->out_len + len : 2 * p->out_cap;
		p->out = xreallocarray(p->out, p->out_cap, 1);
	}
	memcpy(p->out + p->out_len, buf, len);
	p->out_len += len;
	return (ssize_t)len;
}

static int
setup(struct ipfix *p, char **cause)
{
	cookie_io_functions_t io = {.write = out_write};
	fbSession_t *s;
	GError *err = NULL;

	p->model = fbInfoModelAlloc();
	if (p->cfg.pen != 0)
		add_enterprise_elements(p);
	s = fbSessionAlloc(p->model);
	fbSessionSetDomain(s, p->cfg.domain);
	/* Templates before the buffer: added to a session with one, they would be sent. */
	if (add_template(p, s, TID_INT, 1, SF_V4 | SF_V6 | SF_INT, cause) == -1 ||
	    add_template(p, s, IPFIX_TID_V4, 0, SF_V4, cause) == -1 ||
	    add_template(p, s, IPFIX_TID_V6, 0, SF_V6, cause) == -1) {
		fbSessionFree(s);
		return -1;
	}
	/* Collectors learn our elements' names and types (RFC 5610) with the templates. */
	if (p->cfg.pen != 0 &&
	    fbSessionSetMetadataExportElements(s, TRUE, FB_TID_AUTO, &err) == 0) {
		xasprintf(cause, "ipfix element descriptions: %s", err->message);
		g_clear_error(&err);
		fbSessionFree(s);
		return -1;
	}
	if ((p->outfp = fopencookie(p, "w", io)) == NULL) {
		xasprintf(cause, "fopencookie: %s", strerror(errno));
		fbSessionFree(s);
		return -1;
	}
	setvbuf(p->outfp, NULL, _IONBF, 0);
	p->fbuf = fBufAllocForExport(s, fbExporterAllocFP(p->outfp));
	if (!fBufSetInternalTemplate(p->fbuf, TID_INT, &err)) {
		xasprintf(cause, "ipfix internal template: %s", err->message);
		g_clear_error(&err);
		return -1;
	}
	p->rec_size = p->cfg.pen != 0 ? sizeof(struct wire_rec) : offsetof(struct wire_rec, label);
	return 0;
}

struct ipfix *
ipfix_new(const struct ipfix_config *cfg, char **cause)
{
	struct ipfix *p = xcalloc(1, sizeof *p);

	p->cfg = *cfg;
	if (setup(p, cause) == -1) {
		ipfix_free(p);
		return NULL;
	}
	return p;
}

void
ipfix_free(struct ipfix *p)
{
	if (p == NULL)
		return;
	if (p->fbuf != NULL)
		fBufFree(p->fbuf); /* the session and the exporter with it */
	if (p->outfp != NULL)
		fclose(p->outfp);
	if (p->model != NULL)
		fbInfoModelFree(p->model);
	free(p->out);
	free(p);
}

/* --- messages ------------------------------------------------------------- */

void
ipfix_emit(struct ipfix *p)
{
	GError *err = NULL;

	if (!fBufEmit(p->fbuf, &err)) {
		log_warnx("ipfix: %s", err->message);
		g_clear_error(&err);
	}
	p->msg_est = 0;
}

void
ipfix_templates(struct ipfix *p)
{
	GError *err = NULL;

	ipfix_emit(p);
	if (!fbSessionExportTemplates(fBufGetSession(p->fbuf), &err)) {
		log_warnx("ipfix templates: %s", err->message);
		g_clear_error(&err);
	}
	ipfix_emit(p);
}

const uint8_t *
ipfix_out(const struct ipfix *p, size_t *len)
{
	*len = p->out_len;
	return p->out;
}

void
ipfix_out_clear(struct ipfix *p)
{
	p->out_len = 0;
}

void
ipfix_abandon(struct ipfix *p)
{
	GError *err = NULL;

	if (fBufEmit(p->fbuf, &err) == FALSE)
		g_clear_error(&err);
	p->out_len = 0;
	p->msg_est = 0;
}

/* --- records -------------------------------------------------------------- */

/* NTP format (RFC 7011 dateTimeNanoseconds), the fraction rounded up so that it reads back. */
static uint64_t
ntp_time(uint64_t ns)
{
	uint64_t sec = ns / 1000000000ULL + 2208988800ULL, frac = ns % 1000000000ULL;

	frac = ((frac << 32) + 999999999ULL) / 1000000000ULL;
	return sec << 32 | (frac & 0xffffffffULL);
}

static uint32_t
ifindex_of(struct ipfix *p, const char *name)
{
	if (name[0] == '\0')
		return 0;
	if (strcmp(name, p->ifcache) != 0) {
		snprintf(p->ifcache, sizeof p->ifcache, "%s", name);
		p->ifindex = if_nametoindex(name);
	}
	return p->ifindex;
}

static void
fill_wire(struct ipfix *p, const struct ipfix_flow *f, struct wire_rec *w)
{
	const char *reason;

	memset(w, 0, sizeof *w);
	w->start_ms = f->first_ns / 1000000ULL;
	w->end_ms = f->last_ns / 1000000ULL;
	w->start_ns = ntp_time(f->first_ns);
	w->end_ns = ntp_time(f->last_ns);
	w->packets = f->packets;
	w->octets = f->ipbytes;
	w->ifname.buf = (uint8_t *)f->iface;
	w->ifname.len = f->iface_len;
	if (f->af == 6) {
		memcpy(w->src6, f->src, 16);
		memcpy(w->dst6, f->dst, 16);
	} else {
		memcpy(&w->src4, f->src, 4);
		memcpy(&w->dst4, f->dst, 4);
		w->src4 = ntohl(w->src4); /* libfixbuf swaps integers into network order */
		w->dst4 = ntohl(w->dst4);
	}
	w->ingress = ifindex_of(p, f->iface);
	w->sport = f->srcport;
	w->dport = f->dstport;
	w->vlan = f->vlan[0];
	w->cvlan = f->vlan[1];
	w->tcpflags = f->tcpflags;
	w->proto = IPPROTO_TCP;
	w->endreason = ipfix_end_reason(f->reason);
	reason = flow_reason_name(f->reason);
	w->label.buf = (uint8_t *)f->label;
	w->label.len = f->label_len;
	w->fpout.buf = (uint8_t *)f->fpout;
	w->fpout.len = f->fpout_len;
	w->reason.buf = (uint8_t *)reason;
	w->reason.len = strlen(reason);
	w->partial = f->partial;
}

static size_t
varlen(size_t n)
{
	return n < 255 ? 1 + n : 3 + n;
}

/* An upper bound of the record's bytes in a message, its set header included. */
static size_t
wire_size(const struct ipfix *p, const struct ipfix_flow *f)
{
	size_t n = 4 + 64 + varlen(f->iface_len) + (f->af == 6 ? 32 : 8);

	if (p->cfg.pen != 0)
		n += varlen(f->label_len) + varlen(f->fpout_len) + varlen(16) + 1;
	return n;
}

int
ipfix_append(struct ipfix *p, const struct ipfix_flow *f, char **cause)
{
	struct wire_rec w;
	GError *err = NULL;
	size_t size;

	fill_wire(p, f, &w);
	size = wire_size(p, f);
	/* A message must fit msg_max (UDP: a datagram; libfixbuf would fill 64 KiB). */
	if (p->cfg.msg_max != 0 && p->msg_est + size > p->cfg.msg_max)
		ipfix_emit(p);
	if (!fBufSetExportTemplate(p->fbuf, f->af == 6 ? IPFIX_TID_V6 : IPFIX_TID_V4, &err) ||
	    !fBufAppend(p->fbuf, (uint8_t *)&w, p->rec_size, &err)) {
		xasprintf(cause, "%s", err->message);
		g_clear_error(&err);
		return -1;
	}
	if (p->msg_est == 0)
		p->msg_est = 16;
	p->msg_est += size;
	return 0;
}
