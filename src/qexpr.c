/*
 * qexpr.c: the expressions of `traceflowctl query` (qexpr.h): words to a
 * tree, the tree to a WHERE clause, and the same tree evaluated on a row.
 *
 * The SQL and qexpr_match agree on every row, NULL columns included. In
 * SQL a primitive over a NULL column is NULL, as good as false in a WHERE
 * clause until a NOT turns it round: NOT NULL is NULL, so "not interface
 * eth0" would drop the rows without an interface. qexpr_match calls such a
 * primitive false, and the SQL writes "not" as NOT coalesce(x, 0): below a
 * NOT are and/or of primitives and of other NOTs (never NULL), so x is NULL
 * only where x, its NULLs read as false, is false. Primitives outside any
 * NOT stay plain comparisons, which SQLite serves from its indexes. And/or
 * lists come out as balanced parentheses, log n deep rather than n: SQLite
 * refuses expressions over 1000 levels.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "catalog.h"
#include "duration.h"
#include "qexpr.h"
#include "qtime.h"
#include "xmalloc.h"

#define MAX_DEPTH 64 /* "not"s and "("s inside each other */
#define NS        DURATION_NS_PER_SEC

/* host, net and port first: src and dst qualify them */
enum qtype {
	Q_HOST,
	Q_NET,
	Q_PORT,
	Q_VLAN,
	Q_IFACE,
	Q_LABEL,
	Q_REASON,
	Q_PARTIAL,
	Q_AFTER,
	Q_BEFORE,
	Q_AND,
	Q_OR,
	Q_NOT
};
enum qdir { QD_EITHER, QD_SRC, QD_DST };

struct qnet {
	int af;
	uint8_t addr[16];
	unsigned len; /* of the prefix */
};

struct qexpr {
	enum qtype type;
	enum qdir dir;   /* host, net, port */
	char *text;      /* host: inet_ntop's form; net: "addr/len"; interface, label, reason */
	uint64_t num;    /* port, vlan; after, before: ns */
	int64_t ends_by; /* before: the latest last_ns of a flow that began by num */
	int bounded;     /* before: ends_by is known (qexpr_bound) */
	struct qnet net; /* net */
	struct qexpr **kids;
	size_t nkids; /* and, or: two or more (and: none for the empty expression); not: one */
};

/* flow_reason_name()'s words, a copy (reason.c is not linked here); check_qexpr compares them. */
static const char *const reasons[] = {"fin", "rst", "idle", "submit", "eof", "evicted", "shutdown",
    "recovered", "reuse", "rotate", "unanswered", "refused"};
#define REASON_WORDS                                                                               \
	"fin, rst, idle, submit, eof, evicted, shutdown, recovered, reuse, rotate, unanswered or " \
	"refused"

struct parser {
	char **words;
	int nwords;
	int pos;   /* the next word */
	int depth; /* of "not" and "(" */
	uint64_t now_ns;
	char *cause; /* the first error, and its word's number */
	int word;
};

static struct qexpr *
node(enum qtype type, struct qexpr *kid)
{
	struct qexpr *q = xcalloc(1, sizeof *q);

	q->type = type;
	if (kid != NULL) {
		q->kids = xmalloc(sizeof *q->kids);
		q->kids[q->nkids++] = kid;
	}
	return q;
}

void
qexpr_free(struct qexpr *q)
{
	size_t i;

	if (q == NULL)
		return;
	for (i = 0; i < q->nkids; i++)
		qexpr_free(q->kids[i]);
	free(q->kids);
	free(q->text);
	free(q);
}

/* The address's family, or 0 if s is none. */
static int
addr_parse(const char *s, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1)
		return AF_INET;
	return inet_pton(AF_INET6, s, addr) == 1 ? AF_INET6 : 0;
}

/* Does a bit of a from from to to - 1 (from the top) differ from b's? */
static int
bits_differ(const uint8_t *a, const uint8_t *b, unsigned from, unsigned to)
{
	for (; from < to; from++)
		if (((a[from / 8] ^ b[from / 8]) >> (7 - from % 8)) & 1)
			return 1;
	return 0;
}

/*
 * "ADDR/LEN", or "ADDR" for LEN the address's length, into n; NULL, or
 * why not. Bits set past the prefix are an error, as in tcpdump:
 * "10.0.0.1/8" is more likely a slip than a way to write 10.0.0.0/8.
 */
static const char *
net_parse(const char *s, struct qnet *n)
{
	char buf[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/'), *p;
	size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	static const uint8_t zero[16];
	unsigned bits;

	if ((size_t)snprintf(buf, sizeof buf, "%.*s", (int)alen, s) >= sizeof buf ||
	    (n->af = addr_parse(buf, n->addr)) == 0)
		return "not a network (10.0.0.0/8, 2001:db8::/32 or an address)";
	n->len = bits = n->af == AF_INET ? 32 : 128;
	if (slash != NULL) {
		for (n->len = 0, p = slash + 1; isdigit((unsigned char)*p) && n->len <= bits; p++)
			n->len = n->len * 10 + (unsigned)(*p - '0');
		if (p == slash + 1 || *p != '\0' || n->len > bits)
			return "not a prefix length (0 to 32, or to 128 for IPv6) after \"/\"";
	}
	if (bits_differ(n->addr, zero, n->len, bits))
		return "non-network bits set in the address";
	return NULL;
}

/* Is the address in text (a column's value, maybe NULL) in n? */
static int
net_has(const struct qnet *n, const char *text)
{
	uint8_t addr[16];

	return text != NULL && addr_parse(text, addr) == n->af &&
	       !bits_differ(addr, n->addr, 0, n->len);
}

/* tf_in_net(addr, cidr): 1 if addr is in cidr; 0 if not, or if addr is NULL or no address. */
static void
sql_in_net(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct qnet n, *cached = sqlite3_get_auxdata(ctx, 1);
	const char *cidr = (const char *)sqlite3_value_text(argv[1]);

	if (cached == NULL) {
		/* The network is a constant: parsed once per statement, not per row. */
		if (cidr == NULL || net_parse(cidr, &n) != NULL) {
			sqlite3_result_error(
			    ctx, "tf_in_net: the second argument is no network", -1);
			return;
		}
		if ((cached = sqlite3_malloc(sizeof *cached)) != NULL) {
			*cached = n;
			sqlite3_set_auxdata(ctx, 1, cached, sqlite3_free);
		}
		cached = &n; /* set_auxdata may have freed its copy already */
	}
	sqlite3_result_int(ctx, net_has(cached, (const char *)sqlite3_value_text(argv[0])));
}

/*
 * A flow that began by T is in a partition that began by T, so it ended by
 * the latest end among those partitions (the parts table's first_ns and
 * last_ns): a bound on last_ns that is always true, there for the indexes.
 * Without it "after T1 and before T2" reads every row from T1 to the
 * spool's end. Written into the SQL as a number: SQLite leaves a term with
 * a subquery out of the plan of each side of an "or" (host is one).
 */
int
qexpr_bound(struct qexpr *q, struct sqlite3 *db)
{
	sqlite3_stmt *st;
	size_t i;
	int rc;

	for (i = 0; i < q->nkids; i++)
		if (qexpr_bound(q->kids[i], db) == -1)
			return -1;
	if (q->type != Q_BEFORE || q->num > INT64_MAX)
		return 0;
	if (sqlite3_prepare_v2(db, "SELECT max(last_ns) FROM parts WHERE first_ns <= ?1", -1, &st,
	        NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)q->num);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
		q->ends_by = sqlite3_column_int64(st, 0);
		q->bounded = 1;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
qexpr_register(struct sqlite3 *db)
{
	/* innocuous (no side effect): SQLite 3.31 on, as configure requires */
	int rc = sqlite3_create_function_v2(db, "tf_in_net", 2,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL, sql_in_net, NULL, NULL,
	    NULL);

	return rc == SQLITE_OK ? 0 : -1;
}

/* The length of a word that stands alone even when glued to others: ( ) ! && ||. */
static size_t
punct_len(const char *s)
{
	if (*s == '(' || *s == ')' || *s == '!')
		return 1;
	if ((s[0] == '&' && s[1] == '&') || (s[0] == '|' && s[1] == '|'))
		return 2;
	return 0;
}

/* argv joined by blanks, split again at blanks and around punct_len's words. */
static void
split_words(struct parser *p, int argc, char *const argv[])
{
	const char *s;
	size_t n;
	int i;

	for (i = 0; i < argc; i++) {
		for (s = argv[i]; *s != '\0'; s += n) {
			n = 1;
			if (isspace((unsigned char)*s))
				continue;
			if ((n = punct_len(s)) == 0) {
				while (s[n] != '\0' && !isspace((unsigned char)s[n]) &&
				       punct_len(s + n) == 0)
					n++;
			}
			p->words = xreallocarray(p->words, (size_t)p->nwords + 1, sizeof *p->words);
			p->words[p->nwords] = xmalloc(n + 1);
			memcpy(p->words[p->nwords], s, n);
			p->words[p->nwords++][n] = '\0';
		}
	}
}

/* Record the first error, at word index at (nwords: the end). NULL, to return. */
static __attribute__((format(printf, 3, 4))) struct qexpr *
fail(struct parser *p, int at, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	if (p->cause != NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (at >= p->nwords)
		xasprintf(&p->cause, "at the end (word %d): %s", at + 1, why);
	else
		xasprintf(&p->cause, "at \"%s\" (word %d): %s", p->words[at], at + 1, why);
	p->word = at + 1;
	return NULL;
}

static const char *
peek(const struct parser *p)
{
	return p->pos < p->nwords ? p->words[p->pos] : NULL;
}

static int
is(const char *w, const char *a, const char *b)
{
	return w != NULL && (strcmp(w, a) == 0 || (b != NULL && strcmp(w, b) == 0));
}

/* Decimal digits alone, up to max (no sign, no blank, no name from /etc/services). */
static int
number(const char *w, uint64_t max, uint64_t *v)
{
	const char *s = w;

	for (*v = 0; isdigit((unsigned char)*s) && *v <= max; s++)
		*v = *v * 10 + (uint64_t)(*s - '0');
	return s != w && *s == '\0' && *v <= max ? 0 : -1;
}

/*
 * The primitive's argument w, the word at p->pos, into q (a time of two
 * words moves p->pos onto the second): NULL, or why w is not one.
 */
static const char *
read_arg(struct parser *p, struct qexpr *q, const char *w)
{
	const char *why = NULL, *next = p->pos + 1 < p->nwords ? p->words[p->pos + 1] : NULL;
	char buf[INET6_ADDRSTRLEN];
	uint8_t addr[16];
	int af, used;
	size_t i;

	switch (q->type) {
	case Q_HOST:
		if ((af = addr_parse(w, addr)) == 0)
			return "not an IPv4 or IPv6 address";
		q->text = xstrdup(inet_ntop(af, addr, buf, sizeof buf));
		break;
	case Q_NET:
		if ((why = net_parse(w, &q->net)) == NULL)
			xasprintf(&q->text, "%s/%u",
			    inet_ntop(q->net.af, q->net.addr, buf, sizeof buf), q->net.len);
		break;
	case Q_PORT:
		return number(w, 65535, &q->num) == -1 ? "not a port number (0 to 65535)" : NULL;
	case Q_VLAN:
		return number(w, 4095, &q->num) == -1 ? "not a VLAN id (0 to 4095)" : NULL;
	case Q_REASON:
		for (i = 0; i < sizeof reasons / sizeof reasons[0] && strcmp(w, reasons[i]) != 0;
		     i++)
			;
		if (i == sizeof reasons / sizeof reasons[0])
			return "not a reason: one of " REASON_WORDS;
		q->text = xstrdup(w);
		break;
	case Q_IFACE:
	case Q_LABEL:
		q->text = xstrdup(w);
		break;
	default: /* after, before */
		if (qtime_read(w, next, p->now_ns, &q->num, &used, &why) == 0)
			p->pos += used - 1;
		break;
	}
	return why;
}

/* what: the argument, for "expected ... after" (NULL: none). */
static const struct prim {
	const char *name;
	enum qtype type;
	const char *what;
} prims[] = {
    {"host", Q_HOST, "an address"},
    {"net", Q_NET, "a network (10.0.0.0/8)"},
    {"port", Q_PORT, "a port number"},
    {"vlan", Q_VLAN, "a VLAN id"},
    {"interface", Q_IFACE, "an interface name"},
    {"label", Q_LABEL, "a label pattern"},
    {"reason", Q_REASON, "a reason (" REASON_WORDS ")"},
    {"partial", Q_PARTIAL, NULL},
    {"after", Q_AFTER, "a time"},
    {"before", Q_BEFORE, "a time"},
};
#define PRIM_WORDS \
	"host, net, port, src, dst, vlan, interface, label, reason, partial, after or before"

/* The primitive named w (after src or dst: host, net or port only), or NULL. */
static const struct prim *
prim_find(const char *w, int directed)
{
	size_t i;

	for (i = 0; w != NULL && i < sizeof prims / sizeof prims[0]; i++)
		if (strcmp(w, prims[i].name) == 0 && (!directed || prims[i].type <= Q_PORT))
			return &prims[i];
	return NULL;
}

static struct qexpr *
parse_primitive(struct parser *p)
{
	const char *w = p->words[p->pos], *arg, *why;
	const struct prim *pr;
	struct qexpr *q;

	if (is(w, "src", "dst")) {
		p->pos++;
		if ((pr = prim_find(peek(p), 1)) == NULL)
			return fail(
			    p, p->pos, "expected \"host\", \"net\" or \"port\" after \"%s\"", w);
	} else if ((pr = prim_find(w, 0)) == NULL)
		return fail(p, p->pos, "unknown primitive: expected " PRIM_WORDS);
	arg = ++p->pos < p->nwords ? p->words[p->pos] : NULL;
	if (pr->what != NULL && (arg == NULL || is(arg, "and", "&&") || is(arg, "or", "||") ||
	                            is(arg, "not", "!") || is(arg, "(", ")")))
		return fail(p, p->pos, "expected %s after \"%s\"", pr->what, pr->name);
	q = node(pr->type, NULL);
	q->dir = is(w, "src", NULL) ? QD_SRC : is(w, "dst", NULL) ? QD_DST : QD_EITHER;
	if (pr->what == NULL)
		return q;
	if ((why = read_arg(p, q, arg)) != NULL) {
		qexpr_free(q);
		return fail(p, p->pos, "%s", why);
	}
	p->pos++;
	return q;
}

/* What went wrong where an operand ended and no "and", "or", ")" or end came. */
static void
fail_trailing(struct parser *p, int open)
{
	const char *w = peek(p);

	if (w == NULL)
		fail(p, p->pos, "unbalanced parenthesis: the \"(\" of word %d is open", open + 1);
	else if (is(w, ")", NULL))
		fail(p, p->pos, "unbalanced parenthesis: \")\" without \"(\"");
	else if (prim_find(w, 0) != NULL || is(w, "src", "dst") || is(w, "not", "!") ||
	         is(w, "(", NULL))
		fail(p, p->pos, "expected \"and\" or \"or\" between two primitives");
	else
		fail(p, p->pos, "expected \"and\", \"or\" or %s", open >= 0 ? "\")\"" : "the end");
}

static struct qexpr *parse_list(struct parser *p, enum qtype type);

static struct qexpr *
parse_unary(struct parser *p)
{
	const char *w = peek(p);
	struct qexpr *q = NULL;
	int open = p->pos;

	if (w == NULL || is(w, ")", NULL) || is(w, "and", "&&") || is(w, "or", "||"))
		return fail(p, p->pos, "expected a primitive, \"not\" or \"(\"");
	if (!is(w, "not", "!") && !is(w, "(", NULL))
		return parse_primitive(p);
	if (p->depth == MAX_DEPTH)
		return fail(p, p->pos, "nested too deep (at most %d \"not\" and \"(\")", MAX_DEPTH);
	p->depth++;
	p->pos++;
	if (is(w, "(", NULL)) {
		if ((q = parse_list(p, Q_OR)) != NULL && !is(peek(p), ")", NULL)) {
			fail_trailing(p, open);
			qexpr_free(q);
			q = NULL;
		}
		p->pos++;
	} else if ((q = parse_unary(p)) != NULL)
		q = node(Q_NOT, q);
	p->depth--;
	return q;
}

/* Operands joined by "or" (type Q_OR: and-lists) or by "and" (type Q_AND: unary). */
static struct qexpr *
parse_list(struct parser *p, enum qtype type)
{
	struct qexpr *list = NULL, *e;
	int more;

	for (;;) {
		if ((e = type == Q_OR ? parse_list(p, Q_AND) : parse_unary(p)) == NULL) {
			qexpr_free(list);
			return NULL;
		}
		more = type == Q_OR ? is(peek(p), "or", "||") : is(peek(p), "and", "&&");
		if (list == NULL && !more)
			return e;
		if (list == NULL)
			list = node(type, NULL);
		list->kids = xreallocarray(list->kids, list->nkids + 1, sizeof *list->kids);
		list->kids[list->nkids++] = e;
		if (!more)
			return list;
		p->pos++;
	}
}

struct qexpr *
qexpr_parse(int argc, char *const argv[], uint64_t now_ns, char **cause, int *word)
{
	struct parser p = {.now_ns = now_ns};
	struct qexpr *q;
	int i;

	split_words(&p, argc, argv);
	if (p.nwords == 0)
		q = node(Q_AND, NULL); /* of nothing: true */
	else if ((q = parse_list(&p, Q_OR)) != NULL && p.pos < p.nwords) {
		fail_trailing(&p, -1);
		qexpr_free(q);
		q = NULL;
	}
	if (q == NULL) {
		*cause = p.cause;
		*word = p.word;
	}
	for (i = 0; i < p.nwords; i++)
		free(p.words[i]);
	free(p.words);
	return q;
}

/* pre, s as an SQL string literal by SQLite's %Q ('' for '), then post: malloc'd. */
static char *
sql_quote(const char *pre, const char *s, const char *post)
{
	size_t n = 2 * strlen(s) + 3; /* every ' doubled, the quotes and the NUL */
	char *lit = xmalloc(n), *out;

	sqlite3_snprintf((int)n, lit, "%Q", s);
	xasprintf(&out, "%s%s%s", pre, lit, post);
	free(lit);
	return out;
}

/* "(a op b)", a and b freed. */
static char *
sql_join(char *a, const char *op, char *b)
{
	char *s;

	xasprintf(&s, "(%s %s %s)", a, op, b);
	free(a);
	free(b);
	return s;
}

/* One side of host, net or port: side 0 the src columns, 1 the dst ones. */
static char *
sql_side(const struct qexpr *q, int side)
{
	char *s;

	if (q->type == Q_HOST)
		return sql_quote(side ? "dst = " : "src = ", q->text, "");
	if (q->type == Q_NET)
		return sql_quote(side ? "tf_in_net(dst, " : "tf_in_net(src, ", q->text, ")");
	xasprintf(&s, "%sport = %" PRIu64, side ? "dst" : "src", q->num);
	return s;
}

/* kids[0..n-1] joined by op, in halves: nested log n deep. */
static char *
sql_list(struct qexpr *const *kids, size_t n, const char *op)
{
	if (n == 1)
		return qexpr_sql(kids[0]);
	return sql_join(sql_list(kids, n / 2, op), op, sql_list(kids + n / 2, n - n / 2, op));
}

char *
qexpr_sql(const struct qexpr *q)
{
	char *s, *kid;

	switch (q->type) {
	case Q_HOST:
	case Q_NET:
	case Q_PORT:
		if (q->dir != QD_EITHER)
			return sql_side(q, q->dir == QD_DST);
		return sql_join(sql_side(q, 0), "OR", sql_side(q, 1));
	case Q_VLAN: /* a tag whole: ",100," is in ",100,200," but not in ",1000," */
		xasprintf(&s, "instr(',' || vlan || ',', ',%" PRIu64 ",') > 0", q->num);
		return s;
	case Q_IFACE:
		return sql_quote("iface = ", q->text, "");
	case Q_LABEL:
		return sql_quote("label GLOB ", q->text, "");
	case Q_REASON:
		return sql_quote("reason = ", q->text, "");
	case Q_PARTIAL:
		return xstrdup("partial != 0");
	case Q_AFTER:
		xasprintf(&s, "last_ns >= %" PRIu64, q->num);
		return s;
	case Q_BEFORE:
		if (!q->bounded)
			xasprintf(&s, "first_ns <= %" PRIu64, q->num);
		else
			xasprintf(&s, "(first_ns <= %" PRIu64 " AND last_ns <= %" PRId64 ")",
			    q->num, q->ends_by);
		return s;
	case Q_AND:
	case Q_OR:
		if (q->nkids == 0) /* the empty expression */
			break;
		return sql_list(q->kids, q->nkids, q->type == Q_AND ? "AND" : "OR");
	case Q_NOT:
		xasprintf(&s, "NOT coalesce(%s, 0)", kid = qexpr_sql(q->kids[0]));
		free(kid);
		return s;
	}
	return xstrdup("1");
}

static int
match_side(const struct qexpr *q, const struct catalog_row *r, int side)
{
	const char *addr = side ? r->dst : r->src;

	if (q->type == Q_HOST)
		return addr != NULL && strcmp(addr, q->text) == 0;
	if (q->type == Q_NET)
		return net_has(&q->net, addr);
	return (side ? r->dstport : r->srcport) == q->num;
}

/* Is one of the comma-separated tags n, as the SQL's instr() finds ",n," in ",tags,"? */
static int
match_vlan(const char *vlan, uint64_t n)
{
	char tag[24];
	const char *s;
	size_t len;

	if (vlan == NULL)
		return 0;
	len = (size_t)snprintf(tag, sizeof tag, "%" PRIu64, n);
	for (s = vlan;; s++) {
		if (strncmp(s, tag, len) == 0 && (s[len] == ',' || s[len] == '\0'))
			return 1;
		if ((s = strchr(s, ',')) == NULL)
			return 0;
	}
}

int
qexpr_match(const struct qexpr *q, const struct catalog_row *r)
{
	size_t i;

	switch (q->type) {
	case Q_HOST:
	case Q_NET:
	case Q_PORT:
		return (q->dir != QD_DST && match_side(q, r, 0)) ||
		       (q->dir != QD_SRC && match_side(q, r, 1));
	case Q_VLAN:
		return match_vlan(r->vlan, q->num);
	case Q_IFACE:
		return r->iface != NULL && strcmp(r->iface, q->text) == 0;
	case Q_LABEL:
		return r->label != NULL && sqlite3_strglob(q->text, r->label) == 0;
	case Q_REASON:
		return r->reason != NULL && strcmp(r->reason, q->text) == 0;
	case Q_PARTIAL:
		return r->partial != 0;
	case Q_AFTER:
		return r->last_ns >= q->num;
	case Q_BEFORE:
		return r->first_ns <= q->num;
	case Q_AND:
	case Q_OR:
		/* and: false at the first false; or: true at the first true */
		for (i = 0; i < q->nkids; i++)
			if (qexpr_match(q->kids[i], r) != (q->type == Q_AND))
				return q->type != Q_AND;
		return q->type == Q_AND;
	case Q_NOT:
		return !qexpr_match(q->kids[0], r);
	}
	return 0;
}

void
qexpr_bounds(const struct qexpr *q, uint64_t *after_ns, uint64_t *before_ns)
{
	uint64_t a, b;
	size_t i;

	*after_ns = q->type == Q_AFTER ? q->num : 0;
	*before_ns = q->type == Q_BEFORE ? q->num : UINT64_MAX;
	for (i = 0; q->type == Q_AND && i < q->nkids; i++) {
		qexpr_bounds(q->kids[i], &a, &b);
		*after_ns = a > *after_ns ? a : *after_ns;
		*before_ns = b < *before_ns ? b : *before_ns;
	}
}
