/*
 * catfill.c: bench/query's helper. Makes the catalog of a spool of N
 * finished flows without their files (issue 22: traceflowctl query on 10 M
 * flows), and the index.jsonl lines the daemon would have written for the
 * same flows, so that the same question can be put to both:
 *
 *     catfill catalog SPOOL N SEED   add the N flows to SPOOL/.catalog (made if missing)
 *     catfill index FILE N SEED      write their index.jsonl lines to FILE ("-": stdout)
 *     catfill parts SPOOL N SEED PREFIX[,PREFIX...]
 *                                    write SPOOL/PART/index.jsonl, the partition's own
 *                                    index, for each partition whose name begins with a PREFIX
 *     catfill add SPOOL              add the rows read from stdin, one a line, tab-separated
 *                                    in CATALOG_COLUMNS' order without id, \N for NULL
 *                                    (bench/query catalogues real files with it)
 *
 * Built with the tree's src/catalog.c (catalog_open, catalog_add in batches
 * of 50,000 rows as the filer's batches, only bigger), src/names.c
 * (names_partition) and src/label.c (label_addr): the rows are those the
 * daemon would have filed. The same SEED and N give the same flows in
 * every mode, in the order the daemon files them (by their end).
 *
 * The flows: 7 days from 2026-11-29T00:00:00Z (a Sunday), an hourly rate
 * that follows the day (a cosine peaking at 14:00 UTC, 1.75 times the mean
 * of a weekday at the peak, weekends at 0.6 of it), so that the busy hours
 * hold over partition_files (100,000) flows and split as the daemon splits
 * them (".0001"). 4,000 clients (10.20.0.0/16; one in ten IPv6,
 * fd00:20::/64), their activity Zipf-distributed (s = 0.6); 300 servers
 * (10.10.0.0/16; one in ten IPv6, fd00:10::/64), their popularity Zipf
 * (s = 1.0: the busiest takes some 16 % of the flows), each with a service
 * port (443 for 45 % of them, 80, 53, 22, 25, 5432, 3306, 8080, 6379, 9092,
 * 389, 993, 8443) and for 30 % a second one; 8 % of the flows are from a
 * server to a server. Ephemeral client ports 32768-60999. Durations: 70 %
 * log-normal around 0.3 s, 25 % around 20 s, 5 % around 10 min (at most
 * 6 h). Packets 2 and log-normal around 6 (mean 11); reasons fin 78 %, rst 12 %, idle 8 %,
 * evicted, shutdown; a VLAN tag on 25 %, two on 5 %; interface "eth1".
 *
 * Filling: journal off and synchronous off while rows go in (the file is
 * the same, only faster to make), a 2 GiB page cache; WAL again at the end,
 * as the daemon leaves its catalog. No ANALYZE: the daemon never runs it,
 * so the planner sees what it sees on a real spool.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "catalog.h"
#include "label.h"
#include "names.h"

#define DAYS       7
#define START      UINT64_C(1795910400) /* 2026-11-29T00:00:00Z */
#define NCLIENTS   4000
#define NSERVERS   300
#define PART_FILES 100000 /* the daemon's partition_files default */
#define BATCH      50000
#define NS         UINT64_C(1000000000)
#define HOUR_NS    (3600 * NS)

/*
 * label.c's label_make, which this does not use, calls these (flow.c, which
 * would bring the rest of the daemon): never called here.
 */
const uint8_t *
flow_src(const struct flow *f, uint16_t *port)
{
	(void)f;
	(void)port;
	abort();
}

const uint8_t *
flow_dst(const struct flow *f, uint16_t *port)
{
	(void)f;
	(void)port;
	abort();
}

/* --- a reproducible random stream ----------------------------------------------- */

static uint64_t rng_state;

static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t
rnd(void)
{
	return mix64(rng_state += 0x9e3779b97f4a7c15ull);
}

static double
unif(void) /* [0, 1) */
{
	return (double)(rnd() >> 11) * (1.0 / 9007199254740992.0);
}

static double
gauss(void)
{
	double u = unif(), v = unif();

	return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}

static double
lognormal(double median, double sigma)
{
	return median * exp(sigma * gauss());
}

/* --- the population ---------------------------------------------------------------- */

struct host {
	int af;
	uint8_t addr[16];
	char text[48];  /* inet_ntop's: the catalog's src/dst */
	char label[48]; /* label_addr's with dots: the file name's */
	uint16_t port[2];
	int nports;
};

static struct host clients[NCLIENTS], servers[NSERVERS];
static double ccum[NCLIENTS], scum[NSERVERS]; /* cumulative Zipf weights, by rank */
static int crank[NCLIENTS], srank[NSERVERS];  /* rank -> host */

static void
host_make(struct host *h, int v6, uint8_t net, unsigned i)
{
	memset(h, 0, sizeof *h);
	if (v6) {
		h->af = 6;
		h->addr[0] = 0xfd;
		h->addr[3] = (uint8_t)(net / 10 * 16); /* fd00:NN::/64: 10 -> fd00:10:: */
		h->addr[14] = (uint8_t)(i >> 8);
		h->addr[15] = (uint8_t)(i & 255);
		inet_ntop(AF_INET6, h->addr, h->text, sizeof h->text);
	} else {
		h->af = 4;
		h->addr[0] = 10;
		h->addr[1] = net;
		h->addr[2] = (uint8_t)(i / 250);
		h->addr[3] = (uint8_t)(i % 250 + 1);
		inet_ntop(AF_INET, h->addr, h->text, sizeof h->text);
	}
	label_addr(h->label, sizeof h->label, (uint8_t)h->af, h->addr, 1);
}

static void
shuffle(int *a, int n)
{
	int i, j, t;

	for (i = 0; i < n; i++)
		a[i] = i;
	for (i = n - 1; i > 0; i--) {
		j = (int)(rnd() % (uint64_t)(i + 1));
		t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

static void
zipf(double *cum, int n, double s)
{
	double sum = 0;
	int i;

	for (i = 0; i < n; i++)
		cum[i] = sum += pow(i + 1, -s);
	for (i = 0; i < n; i++)
		cum[i] /= sum;
}

static int
pick(const double *cum, int n)
{
	double u = unif();
	int lo = 0, hi = n - 1, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (cum[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
population(void)
{
	static const uint16_t ports[] = {
	    443, 80, 53, 22, 25, 5432, 3306, 8080, 6379, 9092, 389, 993, 8443};
	static const int pct[] = {45, 60, 68, 73, 77, 82, 86, 90, 93, 95, 97, 99, 100};
	unsigned i, k;
	uint64_t u;

	for (i = 0; i < NCLIENTS; i++)
		host_make(&clients[i], i % 10 == 9, 20, i);
	for (i = 0; i < NSERVERS; i++) {
		host_make(&servers[i], i % 10 == 9, 10, i);
		u = rnd() % 100;
		for (k = 0; (uint64_t)pct[k] <= u; k++)
			;
		servers[i].port[0] = ports[k];
		servers[i].nports = 1;
		if (rnd() % 100 < 30) {
			servers[i].port[1] = ports[k] == 443 ? 80 : 443;
			servers[i].nports = 2;
		}
	}
	shuffle(crank, NCLIENTS);
	shuffle(srank, NSERVERS);
	zipf(ccum, NCLIENTS, 0.6);
	zipf(scum, NSERVERS, 1.0);
}

/* A server of this family, by popularity. */
static const struct host *
server_of(int af)
{
	const struct host *h;

	do
		h = &servers[srank[pick(scum, NSERVERS)]];
	while (h->af != af);
	return h;
}

/* --- the flows, in the order they end ---------------------------------------------------- */

struct fl {
	uint64_t n; /* its number, from 0 */
	const struct host *src, *dst;
	uint16_t sport, dport;
	uint64_t first_ns, last_ns, packets, bytes, size;
	const char *reason, *vlan;
	int partial;
	char part[NAMES_PARTITION_MAX], label[160], fpout[200];
};

struct gen {
	uint64_t n, done;
	uint64_t hour;      /* 0 .. DAYS*24-1 */
	uint64_t *ends;     /* this hour's end times, sorted */
	uint64_t nends, at; /* how many, the next */
	uint64_t *counts;   /* flows per hour */
	unsigned split;     /* partitions, as spoolcat_partition() */
	uint64_t part_hour, part_count;
};

static double
hour_weight(unsigned h)
{
	unsigned dow = (h / 24) % 7; /* 0: Sunday 2026-11-29 */
	double w = 1.0 + 0.75 * cos(2.0 * M_PI * ((double)(h % 24) - 14.0) / 24.0);

	return dow == 0 || dow == 6 ? 0.6 * w : w;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
gen_init(struct gen *g, uint64_t n, uint64_t seed)
{
	unsigned h, hours = DAYS * 24;
	double total = 0, w;
	uint64_t given = 0;

	memset(g, 0, sizeof *g);
	rng_state = seed;
	population();
	g->n = n;
	g->counts = calloc(hours, sizeof *g->counts);
	for (h = 0; h < hours; h++)
		total += hour_weight(h);
	for (h = 0; h < hours; h++) {
		w = hour_weight(h);
		g->counts[h] = h + 1 == hours ? n - given : (uint64_t)((double)n * w / total + 0.5);
		given += g->counts[h];
	}
	g->hour = (uint64_t)-1;
}

/* The next hour's end times, sorted (their own draws: a mode that skips them stays in step). */
static void
gen_hour(struct gen *g)
{
	uint64_t i, base;

	g->hour++;
	g->nends = g->counts[g->hour];
	g->at = 0;
	free(g->ends);
	g->ends = malloc((g->nends ? g->nends : 1) * sizeof *g->ends);
	base = START * NS + g->hour * HOUR_NS;
	for (i = 0; i < g->nends; i++)
		g->ends[i] =
		    base + rnd() % HOUR_NS / 1000 * 1000; /* microseconds, as a pcap file */
	qsort(g->ends, g->nends, sizeof *g->ends, cmp_u64);
}

static int
gen_next(struct gen *g, struct fl *f)
{
	const struct host *c;
	uint64_t dur, u, per;
	double d;

	if (g->done == g->n)
		return 0;
	while (g->at == g->nends)
		gen_hour(g);
	memset(f, 0, sizeof *f);
	f->n = g->done++;
	f->last_ns = g->ends[g->at++];

	/* Who. */
	u = rnd() % 100;
	if (u < 8) { /* server to server */
		f->src = server_of(4);
		do
			f->dst = server_of(4);
		while (f->dst == f->src);
	} else {
		c = &clients[crank[pick(ccum, NCLIENTS)]];
		f->src = c;
		f->dst = server_of(c->af);
	}
	f->sport = (uint16_t)(32768 + rnd() % 28232);
	f->dport = f->dst->port[f->dst->nports == 2 && rnd() % 4 == 0];

	/* How long, how much. */
	u = rnd() % 100;
	d = u < 70 ? lognormal(0.3, 1.2) : u < 95 ? lognormal(20, 1.0) : lognormal(600, 1.0);
	if (d > 6 * 3600)
		d = 6 * 3600;
	dur = (uint64_t)(d * 1e9) / 1000 * 1000;
	f->first_ns = f->last_ns - dur;
	f->packets = 2 + (uint64_t)lognormal(6, 0.9);
	per = 54 + rnd() % 1000;
	f->bytes = f->packets * per;
	f->size = 24 + 16 * f->packets + f->bytes;
	u = rnd() % 100;
	f->reason = u < 78   ? "fin"
	            : u < 90 ? "rst"
	            : u < 98 ? "idle"
	            : u < 99 ? "evicted"
	                     : "shutdown";
	f->partial = (u >= 90 && rnd() % 3 == 0) || rnd() % 100 == 0;
	u = rnd() % 100;
	f->vlan = u < 25 ? "100" : u < 30 ? "100,200" : NULL;

	/* Where the daemon files it: the hour of its end, split past PART_FILES. */
	u = f->last_ns / HOUR_NS;
	if (u != g->part_hour || g->part_count >= PART_FILES) {
		g->split = u == g->part_hour ? g->split + 1 : 0;
		g->part_hour = u;
		g->part_count = 0;
	}
	g->part_count++;
	names_partition(f->last_ns, g->split, f->part, sizeof f->part);
	snprintf(f->label, sizeof f->label, "%s_%u-%s_%u-%" PRIu64 ".%06" PRIu64, f->src->label,
	    f->sport, f->dst->label, f->dport, f->first_ns / NS, f->first_ns % NS / 1000);
	snprintf(f->fpout, sizeof f->fpout, "%s/%s.pcap", f->part, f->label);
	return 1;
}

/* --- catalog mode ------------------------------------------------------------------------ */

static void
row_of(const struct fl *f, struct catalog_row *r)
{
	memset(r, 0, sizeof *r);
	r->fpout = f->fpout;
	r->part = f->part;
	r->label = f->label;
	r->src = f->src->text;
	r->dst = f->dst->text;
	r->iface = "eth1";
	r->vlan = f->vlan;
	r->srcport = f->sport;
	r->dstport = f->dport;
	r->first_ns = f->first_ns;
	r->last_ns = f->last_ns;
	r->packets = f->packets;
	r->bytes = f->bytes;
	r->written = f->packets;
	r->size = f->size;
	r->reason = f->reason;
	r->partial = (uint8_t)f->partial;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
exec_or_die(struct catalog *cat, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(catalog_handle(cat), sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "catfill: %s: %s\n", sql, err ? err : "?");
		exit(1);
	}
	return 0;
}

static struct catalog *
open_cat(const char *spool, int *fd)
{
	struct catalog *cat;
	char *cause = NULL;

	if ((*fd = open(spool, O_RDONLY | O_DIRECTORY)) == -1) {
		perror(spool);
		exit(1);
	}
	if ((cat = catalog_open(*fd, spool, 0, &cause)) == NULL) {
		fprintf(stderr, "catfill: %s\n", cause);
		exit(1);
	}
	/* CATFILL_PLAIN: the daemon's settings, for comparison ("tempmem": and temp_store = MEMORY)
	 */
	if (getenv("CATFILL_PLAIN") != NULL) {
		if (strcmp(getenv("CATFILL_PLAIN"), "tempmem") == 0)
			exec_or_die(cat, "PRAGMA temp_store = MEMORY");
		return cat;
	}
	exec_or_die(cat, "PRAGMA cache_size = -2097152");
	exec_or_die(cat, "PRAGMA journal_mode = OFF");
	exec_or_die(cat, "PRAGMA synchronous = OFF");
	exec_or_die(cat, "PRAGMA temp_store = MEMORY");
	return cat;
}

static void
close_cat(struct catalog *cat, int fd)
{
	exec_or_die(cat, "PRAGMA journal_mode = WAL");
	exec_or_die(cat, "PRAGMA wal_checkpoint(TRUNCATE)");
	catalog_close(cat);
	close(fd);
}

static void
add_or_die(struct catalog *cat, const struct catalog_row *r)
{
	if (catalog_add(cat, r) == -1) {
		fprintf(stderr, "catfill: add %s: %s\n", r->fpout, catalog_error(cat));
		exit(1);
	}
}

static int
mode_catalog(const char *spool, uint64_t n, uint64_t seed)
{
	struct catalog_row r;
	struct fl f;
	struct gen g;
	struct catalog *cat;
	double t0 = now_s();
	int fd;

	cat = open_cat(spool, &fd);
	gen_init(&g, n, seed);
	while (gen_next(&g, &f)) {
		if (f.n % BATCH == 0 && catalog_begin(cat) == -1) {
			fprintf(stderr, "catfill: begin: %s\n", catalog_error(cat));
			return 1;
		}
		row_of(&f, &r);
		add_or_die(cat, &r);
		if ((f.n + 1) % BATCH == 0 || f.n + 1 == n) {
			if (catalog_commit(cat) == -1) {
				fprintf(stderr, "catfill: commit: %s\n", catalog_error(cat));
				return 1;
			}
			if ((f.n + 1) % 1000000 == 0 || f.n + 1 == n)
				fprintf(stderr, "catfill: %" PRIu64 " rows, %.0f s\n", f.n + 1,
				    now_s() - t0);
		}
	}
	close_cat(cat, fd);
	return 0;
}

/* --- index mode ------------------------------------------------------------------------ */

/* A real as jansson writes it ("%.17g", and ".0" if it looks like an integer). */
static void
put_real(FILE *o, uint64_t ns)
{
	char buf[64];
	double v = (double)(ns / NS) + (double)(ns % NS) / 1e9;

	snprintf(buf, sizeof buf, "%.17g", v);
	if (strpbrk(buf, ".eE") == NULL)
		strcat(buf, ".0");
	fputs(buf, o);
}

/* One line as the filer writes it (record.c's keys, in its order; then the frame numbers). */
static void
put_line(FILE *o, const struct fl *f)
{
	uint64_t k, fr = f->n * 12 + mix64(f->n) % 5000;

	fprintf(o,
	    "{\"label\":\"%s\",\"fpout\":\"%s\",\"src\":\"%s\",\"srcport\":%u,\"dst\":\"%s\","
	    "\"dstport\":%u,\"vlan\":[%s],\"interface\":\"eth1\",\"first\":",
	    f->label, f->fpout, f->src->text, f->sport, f->dst->text, f->dport,
	    f->vlan ? f->vlan : "");
	put_real(o, f->first_ns);
	fputs(",\"last\":", o);
	put_real(o, f->last_ns);
	fprintf(o,
	    ",\"first_ns\":%" PRIu64 ",\"last_ns\":%" PRIu64 ",\"packets\":%" PRIu64
	    ",\"bytes\":%" PRIu64 ",\"written\":%" PRIu64 ",\"reason\":\"%s\",\"partial\":%s,"
	    "\"truncated\":false,\"recovered\":false,\"segment\":0,\"index\":[",
	    f->first_ns, f->last_ns, f->packets, f->bytes, f->packets, f->reason,
	    f->partial ? "true" : "false");
	for (k = 0; k < f->packets; k++) {
		fprintf(o, k ? ",%" PRIu64 : "%" PRIu64, fr);
		fr += 1 + mix64(f->n ^ (k << 40)) % 40;
	}
	fputs("]}\n", o);
}

static int
mode_index(const char *file, uint64_t n, uint64_t seed)
{
	FILE *o = strcmp(file, "-") == 0 ? stdout : fopen(file, "w");
	struct fl f;
	struct gen g;

	if (o == NULL) {
		perror(file);
		return 1;
	}
	gen_init(&g, n, seed);
	while (gen_next(&g, &f))
		put_line(o, &f);
	if (fflush(o) == EOF || (o != stdout && fclose(o) == EOF)) {
		perror(file);
		return 1;
	}
	return 0;
}

/* Does name begin with one of the comma-separated prefixes? */
static int
prefixed(const char *name, const char *prefixes)
{
	const char *p = prefixes, *end;
	size_t len;

	for (;;) {
		end = strchr(p, ',');
		len = end ? (size_t)(end - p) : strlen(p);
		if (len > 0 && strncmp(name, p, len) == 0)
			return 1;
		if (end == NULL)
			return 0;
		p = end + 1;
	}
}

static int
mode_parts(const char *spool, uint64_t n, uint64_t seed, const char *prefix)
{
	char cur[NAMES_PARTITION_MAX] = "", path[4096];
	FILE *o = NULL;
	struct fl f;
	struct gen g;

	gen_init(&g, n, seed);
	while (gen_next(&g, &f)) {
		if (!prefixed(f.part, prefix))
			continue;
		if (strcmp(f.part, cur) != 0) {
			if (o != NULL && fclose(o) == EOF)
				return perror(path), 1;
			snprintf(cur, sizeof cur, "%s", f.part);
			snprintf(path, sizeof path, "%s/%s", spool, cur);
			if (mkdir(path, 0750) == -1 && errno != EEXIST)
				return perror(path), 1;
			snprintf(path, sizeof path, "%s/%s/%s", spool, cur, NAMES_INDEX);
			if ((o = fopen(path, "w")) == NULL)
				return perror(path), 1;
		}
		put_line(o, &f);
	}
	if (o != NULL && fclose(o) == EOF)
		return perror(path), 1;
	return 0;
}

/* --- add mode: rows from stdin -------------------------------------------------------------- */

static const char *
field(char **p)
{
	char *s = *p, *t;

	if (s == NULL)
		return NULL;
	if ((t = strchr(s, '\t')) != NULL) {
		*t = '\0';
		*p = t + 1;
	} else {
		s[strcspn(s, "\n")] = '\0';
		*p = NULL;
	}
	return strcmp(s, "\\N") == 0 ? NULL : s;
}

static uint64_t
num(char **p)
{
	const char *s = field(p);

	return s ? strtoull(s, NULL, 10) : 0;
}

static int
mode_add(const char *spool)
{
	struct catalog_row r;
	struct catalog *cat;
	char *line = NULL, *p;
	size_t cap = 0;
	uint64_t n = 0;
	int fd;

	cat = open_cat(spool, &fd);
	if (catalog_begin(cat) == -1)
		return fprintf(stderr, "catfill: begin: %s\n", catalog_error(cat)), 1;
	while (getline(&line, &cap, stdin) != -1) {
		memset(&r, 0, sizeof r);
		p = line;
		r.fpout = field(&p);
		r.part = field(&p);
		r.label = field(&p);
		r.src = field(&p);
		r.dst = field(&p);
		r.iface = field(&p);
		r.vlan = field(&p);
		r.srcport = (uint16_t)num(&p);
		r.dstport = (uint16_t)num(&p);
		r.first_ns = num(&p);
		r.last_ns = num(&p);
		r.packets = num(&p);
		r.bytes = num(&p);
		r.written = num(&p);
		r.size = num(&p);
		r.reason = field(&p);
		r.partial = (uint8_t)num(&p);
		r.truncated = (uint8_t)num(&p);
		r.recovered = (uint8_t)num(&p);
		r.segment = (uint32_t)num(&p);
		add_or_die(cat, &r);
		n++;
	}
	if (catalog_commit(cat) == -1)
		return fprintf(stderr, "catfill: commit: %s\n", catalog_error(cat)), 1;
	close_cat(cat, fd);
	free(line);
	fprintf(stderr, "catfill: %" PRIu64 " rows added\n", n);
	return 0;
}

int
main(int argc, char **argv)
{
	uint64_t n = argc > 3 ? strtoull(argv[3], NULL, 10) : 0;
	uint64_t seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 0;

	if (argc == 5 && strcmp(argv[1], "catalog") == 0 && n > 0)
		return mode_catalog(argv[2], n, seed);
	if (argc == 5 && strcmp(argv[1], "index") == 0 && n > 0)
		return mode_index(argv[2], n, seed);
	if (argc == 6 && strcmp(argv[1], "parts") == 0 && n > 0)
		return mode_parts(argv[2], n, seed, argv[5]);
	if (argc == 3 && strcmp(argv[1], "add") == 0)
		return mode_add(argv[2]);
	fprintf(stderr, "usage: catfill catalog SPOOL N SEED | index FILE N SEED |"
	                " parts SPOOL N SEED PREFIX[,...] | add SPOOL < ROWS\n");
	return 2;
}
