/*
 * writer.c: per-flow files, buffered, with a descriptor budget, written
 * under .active/ and renamed into place when complete.
 *
 * Two intrusive lists order the per-flow state: the dirty list (flows with
 * buffered bytes, oldest first: the order in which the budget and the flush
 * interval write them out) and the open list (descriptors, least recently
 * used first: the order in which the descriptor budget closes them).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "label.h"
#include "log.h"
#include "pcapfile.h"
#include "writer.h"
#include "xmalloc.h"

#define ACTIVE_DIR ".active"
#define WBUF_MIN   256 /* small: a million idle flows must fit the budget */
#define MAX_SUFFIX 10000
#define PATH_LEN   (PATH_MAX)

struct wfile {
	struct flow *flow;
	struct wfile *dprev, *dnext; /* dirty list */
	struct wfile *oprev, *onext; /* open-descriptor LRU */
	uint8_t *buf;
	size_t len;
	size_t cap;
	uint64_t dirty_since;
	uint32_t linktype;
	uint32_t snaplen;
	int fd;
	uint64_t size;   /* bytes on disk: the header and whole records */
	uint8_t created; /* the file exists under .active/ */
	uint8_t hdr;     /* its file header is on disk */
	uint8_t dirty;   /* on the dirty list */
	uint8_t failed;  /* creating it failed: its data is counted as lost */
};

struct wlist {
	struct wfile *head;
	struct wfile *tail;
};

struct writer {
	struct writer_config cfg;
	int outfd;
	int activefd;
	struct wlist dirty;
	struct wlist open;
	struct writer_stats st;
	char lastdir[PATH_LEN]; /* the dated folder made last, to skip mkdir */
	char fpout[PATH_LEN];
	uint64_t errors_logged;
};

static const char *format_names[FMT_COUNT] = {"pcap", "json", "plist", "tree", "none"};
static const char *format_ext[FMT_COUNT] = {".pcap", ".json", ".plist", ".txt", ""};

static const struct {
	const char *alias;
	int format;
} format_aliases[] = {
    {"cap", FMT_PCAP},
    {"xml", FMT_PLIST},
    {"txt", FMT_TREE},
    {"text", FMT_TREE},
};

static const char plist_head[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                 "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
                                 "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
                                 "<plist version=\"1.0\">\n<array>\n";
static const char plist_tail[] = "</array>\n</plist>\n";

int
writer_format_parse(const char *name)
{
	size_t i;

	for (i = 0; i < FMT_COUNT; i++)
		if (strcmp(name, format_names[i]) == 0)
			return (int)i;
	for (i = 0; i < sizeof format_aliases / sizeof format_aliases[0]; i++)
		if (strcmp(name, format_aliases[i].alias) == 0)
			return format_aliases[i].format;
	return -1;
}

const char *
writer_format_name(int format)
{
	if (format < 0 || format >= FMT_COUNT)
		return "?";
	return format_names[format];
}

const char *
writer_format_list(void)
{
	return "pcap, json, plist, tree, none";
}

/* --- lists ------------------------------------------------------------- */

#define WLIST_FNS(name, prev, next)                                  \
	static void name##_append(struct wlist *l, struct wfile *wf) \
	{                                                            \
		wf->next = NULL;                                     \
		wf->prev = l->tail;                                  \
		if (l->tail != NULL)                                 \
			l->tail->next = wf;                          \
		else                                                 \
			l->head = wf;                                \
		l->tail = wf;                                        \
	}                                                            \
	static void name##_remove(struct wlist *l, struct wfile *wf) \
	{                                                            \
		if (wf->prev != NULL)                                \
			wf->prev->next = wf->next;                   \
		else                                                 \
			l->head = wf->next;                          \
		if (wf->next != NULL)                                \
			wf->next->prev = wf->prev;                   \
		else                                                 \
			l->tail = wf->prev;                          \
		wf->prev = wf->next = NULL;                          \
	}
WLIST_FNS(dlist, dprev, dnext)
WLIST_FNS(olist, oprev, onext)

/* --- set-up ------------------------------------------------------------ */

struct writer *
writer_new(const char *outdir, const struct writer_config *cfg, char **cause)
{
	struct writer *w;

	w = xcalloc(1, sizeof *w);
	w->cfg = *cfg;
	if (w->cfg.max_open_files < 1)
		w->cfg.max_open_files = 1;
	w->outfd = w->activefd = -1;
	if (cfg->format == FMT_NONE)
		return w;
	if ((w->outfd = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: %s", outdir, strerror(errno));
		goto fail;
	}
	if (mkdirat(w->outfd, ACTIVE_DIR, 0755) == -1 && errno != EEXIST) {
		xasprintf(cause, "%s/%s: %s", outdir, ACTIVE_DIR, strerror(errno));
		goto fail;
	}
	w->activefd = openat(w->outfd, ACTIVE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->activefd == -1) {
		xasprintf(cause, "%s/%s: %s", outdir, ACTIVE_DIR, strerror(errno));
		goto fail;
	}
	return w;
fail:
	writer_free(w);
	return NULL;
}

void
writer_free(struct writer *w)
{
	if (w == NULL)
		return;
	while (w->open.head != NULL) {
		close(w->open.head->fd);
		w->open.head->fd = -1;
		olist_remove(&w->open, w->open.head);
	}
	if (w->activefd != -1)
		close(w->activefd);
	if (w->outfd != -1)
		close(w->outfd);
	free(w);
}

const struct writer_stats *
writer_stats(const struct writer *w)
{
	return &w->st;
}

/* --- file names and descriptors ---------------------------------------- */

void
writer_file_name(int format, int nanosecond, const struct flow *f, char *buf, size_t len)
{
	char label[LABEL_MAX];

	label_make(label, f, nanosecond);
	if (format < 0 || format >= FMT_COUNT)
		format = FMT_NONE;
	if (f->seg_no == 0)
		snprintf(buf, len, "%s%s", label, format_ext[format]);
	else
		snprintf(buf, len, "%s.seg%u%s", label, f->seg_no, format_ext[format]);
}

static void
file_name(const struct writer *w, const struct flow *f, char *buf, size_t len)
{
	writer_file_name(w->cfg.format, w->cfg.nanosecond, f, buf, len);
}

static void
log_write_error(struct writer *w, const char *what, const char *name)
{
	/* A full disk fails every write: say so, but not a million times. */
	w->st.write_errors++;
	if (w->errors_logged++ < 10 || w->st.write_errors % 10000 == 0)
		log_warn("%s %s/%s (%llu write errors so far)", what, ACTIVE_DIR, name,
		    (unsigned long long)w->st.write_errors);
}

static void
fd_close(struct writer *w, struct wfile *wf)
{
	if (wf->fd == -1)
		return;
	close(wf->fd);
	wf->fd = -1;
	olist_remove(&w->open, wf);
	w->st.open_files--;
}

/* Create the file (new name if taken) or reopen it for appending. */
static int
fd_open(struct writer *w, struct wfile *wf)
{
	char name[PATH_LEN];
	unsigned tries;

	if (wf->fd != -1) {
		olist_remove(&w->open, wf);
		olist_append(&w->open, wf);
		return 0;
	}
	if (w->st.open_files >= w->cfg.max_open_files && w->open.head != NULL)
		fd_close(w, w->open.head);
	for (tries = 0; tries < MAX_SUFFIX; tries++) {
		file_name(w, wf->flow, name, sizeof name);
		w->st.opens++;
		if (wf->created)
			wf->fd = openat(w->activefd, name, O_WRONLY | O_APPEND | O_CLOEXEC);
		else
			wf->fd = openat(w->activefd, name,
			    O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (wf->fd != -1 || wf->created || errno != EEXIST)
			break;
		wf->flow->suffix++; /* never truncate a file that is there */
	}
	if (wf->fd == -1) {
		log_write_error(w, wf->created ? "reopen" : "create", name);
		return -1;
	}
	olist_append(&w->open, wf);
	w->st.open_files++;
	return 0;
}

/* --- buffers ------------------------------------------------------------ */

static void
buf_reserve(struct wfile *wf, size_t n)
{
	size_t cap;

	if (wf->cap - wf->len >= n)
		return;
	cap = wf->cap ? wf->cap : WBUF_MIN;
	while (cap - wf->len < n)
		cap *= 2;
	wf->buf = xreallocarray(wf->buf, cap, 1);
	wf->cap = cap;
}

static void
buf_add(struct wfile *wf, const void *p, size_t n)
{
	buf_reserve(wf, n);
	memcpy(wf->buf + wf->len, p, n);
	wf->len += n;
}

static size_t
file_header(const struct writer *w, const struct wfile *wf, uint8_t *out, const void **ptr)
{
	switch (w->cfg.format) {
	case FMT_PCAP:
		pcapfile_header(out, wf->linktype, wf->snaplen, w->cfg.big, w->cfg.nanosecond);
		*ptr = out;
		return PCAP_FILEHDR_LEN;
	case FMT_PLIST:
		*ptr = plist_head;
		return sizeof plist_head - 1;
	default:
		*ptr = NULL;
		return 0;
	}
}

static int
write_all(int fd, struct iovec *iov, int iovcnt, struct writer *w, uint64_t *done)
{
	ssize_t n;

	*done = 0;
	while (iovcnt > 0) {
		n = writev(fd, iov, iovcnt);
		w->st.writes++;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		w->st.bytes += (uint64_t)n;
		*done += (uint64_t)n;
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static void
buf_drop(struct writer *w, struct wfile *wf)
{
	w->st.buffered -= wf->cap;
	free(wf->buf);
	wf->buf = NULL;
	wf->len = wf->cap = 0;
	if (wf->dirty) {
		dlist_remove(&w->dirty, wf);
		wf->dirty = 0;
	}
}

/*
 * Write the buffer out (with the file header if the file is new) and free
 * it: an idle flow holds no buffer memory. Data that cannot be written is
 * counted and logged, never silently dropped.
 */
static void
wfile_flush(struct writer *w, struct wfile *wf)
{
	uint8_t hdr[PCAP_FILEHDR_LEN];
	struct iovec iov[2];
	char name[PATH_LEN];
	int n = 0, isnew;
	uint64_t done, total;

	if (wf->len == 0 && wf->hdr) {
		buf_drop(w, wf);
		return;
	}
	if (wf->failed || fd_open(w, wf) == -1) {
		/* A file that could not be created stays lost; a failed reopen loses this buffer.
		 */
		if (!wf->created)
			wf->failed = 1;
		w->st.bytes_lost += wf->len;
		buf_drop(w, wf);
		return;
	}
	wf->created = 1;
	isnew = !wf->hdr;
	if (isnew) {
		iov[n].iov_len = file_header(w, wf, hdr, (const void **)&iov[n].iov_base);
		if (iov[n].iov_len > 0)
			n++;
	}
	iov[n].iov_base = wf->buf;
	iov[n].iov_len = wf->len;
	n++;
	total = (isnew && n == 2 ? iov[0].iov_len : 0) + wf->len;
	if (write_all(wf->fd, iov, n, w, &done) == -1) {
		file_name(w, wf->flow, name, sizeof name);
		log_write_error(w, "write", name);
		w->st.bytes_lost += wf->len;
		/* No half record (or half header) stays behind: cut back to the last whole one. */
		if (done > 0 && ftruncate(wf->fd, (off_t)wf->size) == 0)
			w->st.bytes -= done;
	} else {
		wf->size += total;
		wf->hdr = 1;
	}
	buf_drop(w, wf);
}

static void
budget_enforce(struct writer *w)
{
	while (w->st.buffered > w->cfg.buffer_total && w->dirty.head != NULL)
		wfile_flush(w, w->dirty.head);
}

/* --- records ------------------------------------------------------------ */

/* A packet record as pcapkit's dumpers see it, shared by json, plist and tree. */
struct rec_field {
	const char *name;
	enum { RF_UINT, RF_BOOL, RF_STR, RF_TIME, RF_VLAN } type;
	uint64_t u;
	const char *s;
};

static size_t
rec_fields(const struct packet *p, const struct flow *f, struct rec_field *r, char *src, char *dst,
    int nano)
{
	size_t n = 0;

	label_addr(src, 64, p->af, p->src, 0);
	label_addr(dst, 64, p->af, p->dst, 0);
#define RF(nm, t, uv, sv) r[n++] = (struct rec_field){nm, t, uv, sv}
	RF("frame", RF_UINT, p->frame, NULL);
	RF("timestamp", RF_TIME, p->ts, NULL);
	RF("src", RF_STR, 0, src);
	RF("srcport", RF_UINT, p->srcport, NULL);
	RF("dst", RF_STR, 0, dst);
	RF("dstport", RF_UINT, p->dstport, NULL);
	RF("syn", RF_BOOL, !!(p->flags & TCPF_SYN), NULL);
	RF("fin", RF_BOOL, !!(p->flags & TCPF_FIN), NULL);
	RF("rst", RF_BOOL, !!(p->flags & TCPF_RST), NULL);
	RF("ack", RF_BOOL, !!(p->flags & TCPF_ACK), NULL);
	RF("seq", RF_UINT, p->seq, NULL);
	RF("ack_seq", RF_UINT, p->ack, NULL);
	RF("payload_len", RF_UINT, p->payload_len, NULL);
	RF("caplen", RF_UINT, p->caplen, NULL);
	RF("wirelen", RF_UINT, p->wirelen, NULL);
	RF("fragment", RF_BOOL, p->frag != FRAG_NONE, NULL);
	RF("vlan", RF_VLAN, 0, NULL);
#undef RF
	(void)f;
	(void)nano;
	return n;
}

static void
rec_json(struct wfile *wf, const struct packet *p, const struct rec_field *r, size_t n, int nano)
{
	json_t *o = json_object(), *v;
	char ts[32], *s;
	size_t i, j;

	for (i = 0; i < n; i++) {
		switch (r[i].type) {
		case RF_UINT:
			v = json_integer((json_int_t)r[i].u);
			break;
		case RF_BOOL:
			v = json_boolean(r[i].u);
			break;
		case RF_STR:
			v = json_string(r[i].s);
			break;
		case RF_TIME:
			/* A number of epoch seconds: a double keeps microseconds exactly. */
			label_time(ts, sizeof ts, r[i].u, nano);
			v = json_real(strtod(ts, NULL));
			break;
		default:
			v = json_array();
			for (j = 0; j < p->nvlan; j++)
				json_array_append_new(v, json_integer(p->vlan[j]));
			break;
		}
		json_object_set_new(o, r[i].name, v);
	}
	if ((s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		fatalx("json_dumps: out of memory");
	buf_add(wf, s, strlen(s));
	buf_add(wf, "\n", 1);
	free(s);
	json_decref(o);
}

static void
rec_text(struct wfile *wf, const struct packet *p, const struct rec_field *r, size_t n, int nano,
    int plist)
{
	char line[256], val[128], ts[32];
	size_t i, j, k;
	int len;

	if (plist)
		buf_add(wf, "\t<dict>\n", 8);
	else {
		len = snprintf(line, sizeof line, "Frame %llu\n", (unsigned long long)p->frame);
		buf_add(wf, line, (size_t)len);
	}
	for (i = 0; i < n; i++) {
		const char *tag = "integer";

		switch (r[i].type) {
		case RF_UINT:
			snprintf(val, sizeof val, "%llu", (unsigned long long)r[i].u);
			break;
		case RF_BOOL:
			snprintf(val, sizeof val, "%s", r[i].u ? "true" : "false");
			tag = r[i].u ? "true" : "false";
			break;
		case RF_STR:
			snprintf(val, sizeof val, "%s", r[i].s);
			tag = "string";
			break;
		case RF_TIME:
			label_time(ts, sizeof ts, r[i].u, nano);
			snprintf(val, sizeof val, "%s", ts);
			tag = "real";
			break;
		default:
			for (j = 0, k = 0; j < p->nvlan && k < sizeof val - 8; j++)
				k += (size_t)snprintf(
				    val + k, sizeof val - k, "%s%u", j ? "," : "", p->vlan[j]);
			val[k] = '\0';
			tag = "string";
			break;
		}
		if (!plist)
			len = snprintf(line, sizeof line, " |-- %s: %s\n", r[i].name, val);
		else if (r[i].type == RF_BOOL)
			len =
			    snprintf(line, sizeof line, "\t\t<key>%s</key><%s/>\n", r[i].name, tag);
		else
			len = snprintf(line, sizeof line, "\t\t<key>%s</key><%s>%s</%s>\n",
			    r[i].name, tag, val, tag);
		buf_add(wf, line, (size_t)len);
	}
	buf_add(wf, plist ? "\t</dict>\n" : "\n", plist ? 9 : 1);
}

static void
rec_pcap(const struct writer *w, struct wfile *wf, const struct packet *p, const uint8_t *data)
{
	buf_reserve(wf, PCAP_RECHDR_LEN + p->caplen);
	pcapfile_record(
	    wf->buf + wf->len, p->ts, p->caplen, p->wirelen, w->cfg.big, w->cfg.nanosecond);
	memcpy(wf->buf + wf->len + PCAP_RECHDR_LEN, data, p->caplen);
	wf->len += PCAP_RECHDR_LEN + p->caplen;
}

static struct wfile *
wfile_get(struct flow *f, uint32_t linktype, uint32_t snaplen)
{
	struct wfile *wf = f->wstate;

	if (wf != NULL)
		return wf;
	wf = xcalloc(1, sizeof *wf);
	wf->flow = f;
	wf->fd = -1;
	wf->linktype = linktype;
	wf->snaplen = snaplen;
	f->wstate = wf;
	return wf;
}

void
writer_packet(struct writer *w, struct flow *f, const struct packet *p, const uint8_t *data,
    uint32_t linktype, uint32_t snaplen, uint64_t now)
{
	struct rec_field r[24];
	char src[64], dst[64];
	struct wfile *wf;
	size_t before, n;

	if (w->cfg.format == FMT_NONE)
		return;
	wf = wfile_get(f, linktype, snaplen);
	before = wf->cap;
	if (w->cfg.format == FMT_PCAP)
		rec_pcap(w, wf, p, data);
	else {
		n = rec_fields(p, f, r, src, dst, w->cfg.nanosecond);
		if (w->cfg.format == FMT_JSON)
			rec_json(wf, p, r, n, w->cfg.nanosecond);
		else
			rec_text(wf, p, r, n, w->cfg.nanosecond, w->cfg.format == FMT_PLIST);
	}
	/* The budget counts what buffers hold in memory, not just what they hold. */
	w->st.buffered += wf->cap - before;
	if (!wf->dirty) {
		wf->dirty = 1;
		wf->dirty_since = now;
		dlist_append(&w->dirty, wf);
	}
	if (wf->len >= w->cfg.flow_buffer)
		wfile_flush(w, wf);
	budget_enforce(w);
}

void
writer_setlimits(struct writer *w, const struct writer_config *cfg)
{
	w->cfg.max_open_files = cfg->max_open_files < 1 ? 1 : cfg->max_open_files;
	w->cfg.flow_buffer = cfg->flow_buffer;
	w->cfg.buffer_total = cfg->buffer_total;
	w->cfg.flush_ns = cfg->flush_ns;
	while (w->st.open_files > w->cfg.max_open_files && w->open.head != NULL)
		fd_close(w, w->open.head);
	budget_enforce(w);
}

void
writer_tick(struct writer *w, uint64_t now)
{
	struct wfile *wf;

	if (w->cfg.flush_ns == 0)
		return;
	while ((wf = w->dirty.head) != NULL && wf->dirty_since + w->cfg.flush_ns <= now)
		wfile_flush(w, wf);
}

void
writer_flush_all(struct writer *w)
{
	while (w->dirty.head != NULL)
		wfile_flush(w, w->dirty.head);
}

/* --- completion ---------------------------------------------------------- */

/* mkdir -p for the dated folder, relative to the output folder. */
static int
make_dirs(struct writer *w, const char *dir)
{
	char path[PATH_LEN], *p;

	if (strcmp(dir, w->lastdir) == 0)
		return 0;
	snprintf(path, sizeof path, "%s", dir);
	for (p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdirat(w->outfd, path, 0755) == -1 && errno != EEXIST) {
			log_warn("mkdir %s", path);
			return -1;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	snprintf(w->lastdir, sizeof w->lastdir, "%s", dir);
	return 0;
}

static void
dated_dir(const struct writer *w, const struct flow *f, char *buf, size_t len)
{
	time_t t = (time_t)(f->first / 1000000000u);
	struct tm tm;

	buf[0] = '\0';
	if (w->cfg.layout == NULL || w->cfg.layout[0] == '\0')
		return;
	localtime_r(&t, &tm);
	if (strftime(buf, len, w->cfg.layout, &tm) == 0)
		buf[0] = '\0';
	/* No way out of the output folder, whatever the pattern says. */
	if (strstr(buf, "..") != NULL || buf[0] == '/')
		buf[0] = '\0';
}

/* Rename .active/src into place; on a name already taken, take the next suffix. */
static const char *
move_into_place(struct writer *w, struct wfile *wf, const char *src)
{
	char dir[256], name[PATH_LEN - 512];
	struct flow *f = wf->flow;
	unsigned tries;

	dated_dir(w, f, dir, sizeof dir);
	if (dir[0] != '\0' && make_dirs(w, dir) == -1)
		dir[0] = '\0';
	for (tries = 0; tries < MAX_SUFFIX; tries++) {
		file_name(w, f, name, sizeof name);
		snprintf(w->fpout, sizeof w->fpout, "%s%s%s", dir, dir[0] ? "/" : "", name);
		if (renameat2(w->activefd, src, w->outfd, w->fpout, RENAME_NOREPLACE) == 0) {
			w->st.files++;
			return w->fpout;
		}
		if (errno != EEXIST)
			break;
		f->suffix++;
	}
	log_warn("rename %s/%s to %s", ACTIVE_DIR, src, w->fpout);
	w->st.write_errors++;
	return NULL;
}

const char *
writer_finish(struct writer *w, struct flow *f)
{
	struct wfile *wf = f->wstate;
	char name[PATH_LEN];
	const char *fpout = NULL;

	if (wf == NULL)
		return NULL;
	if (w->cfg.format == FMT_PLIST) {
		size_t before = wf->cap;

		buf_add(wf, plist_tail, sizeof plist_tail - 1);
		w->st.buffered += wf->cap - before;
	}
	wfile_flush(w, wf);
	fd_close(w, wf);
	if (wf->created && !wf->failed) {
		file_name(w, f, name, sizeof name);
		fpout = move_into_place(w, wf, name);
	}
	free(wf);
	f->wstate = NULL;
	return fpout;
}
