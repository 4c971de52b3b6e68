/*
 * check_catalog.c: unit tests for the spool's catalog (src/catalog.c): rows
 * committed survive a reopen, a batch never committed (the process dies)
 * leaves nothing, the running sums equal a recount and a model kept here
 * through a few thousand random adds, replacing adds, deletes and
 * rollbacks, retention's order (last_ns, then the order rows came in),
 * the partitions' figures, the query plans use indexes, the catalog is
 * refused when its folder or files could be someone else's doing, a full
 * disk rolls the batch back, and read-only opens read but never make.
 *
 * Every test works in a fresh temporary spool folder.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "catalog.h"
#include "log.h"

#define SEC 1000000000ull

struct spool {
	char dir[4096];  /* the temporary folder */
	char path[4200]; /* the spool in it */
	char cat[4300];  /* its .catalog */
	char db[4400];   /* .catalog/catalog.db */
	int fd;
};

static void
spool_make(struct spool *s)
{
	snprintf(s->dir, sizeof s->dir, "%s/check_catalog.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(s->dir));
	snprintf(s->path, sizeof s->path, "%s/spool", s->dir);
	snprintf(s->cat, sizeof s->cat, "%s/%s", s->path, CATALOG_DIR);
	snprintf(s->db, sizeof s->db, "%s/%s", s->cat, CATALOG_DB);
	ck_assert_int_eq(mkdir(s->path, 0750), 0);
	s->fd = open(s->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ne(s->fd, -1);
}

static void
spool_remove(struct spool *s)
{
	char cmd[4200];

	close(s->fd);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct catalog *
open_ok(struct spool *s, int readonly)
{
	char *cause = NULL;
	struct catalog *cat = catalog_open(s->fd, s->path, readonly, &cause);

	ck_assert_msg(cat != NULL, "catalog_open: %s", cause ? cause : "?");
	return cat;
}

/* catalog_open refused: the cause, which names want and says why. */
static void
refused(struct spool *s, int readonly, const char *want, const char *why)
{
	char *cause = NULL;

	ck_assert_ptr_null(catalog_open(s->fd, s->path, readonly, &cause));
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, want) != NULL, "cause does not name %s: %s", want, cause);
	ck_assert_msg(strstr(cause, why) != NULL, "cause does not say %s: %s", why, cause);
	free(cause);
}

/* A row told apart by n; its strings in buf (which must outlive the add). */
static void
row_make(struct catalog_row *r, char *buf, size_t len, int n, const char *part, uint64_t first_ns,
    uint64_t last_ns, uint64_t size)
{
	memset(r, 0, sizeof *r);
	snprintf(buf, len, "%s/f%05d.pcap", part, n);
	r->fpout = buf;
	r->part = part;
	r->first_ns = first_ns;
	r->last_ns = last_ns;
	r->size = size;
}

static void
add_one(struct catalog *cat, int n, const char *part, uint64_t first, uint64_t last, uint64_t size)
{
	struct catalog_row r;
	char buf[128];

	row_make(&r, buf, sizeof buf, n, part, first, last, size);
	ck_assert_msg(catalog_add(cat, &r) == 0, "add: %s", catalog_error(cat));
}

static void
check_usage_eq(const struct catalog_usage *a, const struct catalog_usage *b, const char *what)
{
	ck_assert_msg(a->files == b->files && a->bytes == b->bytes &&
	                  a->oldest_last_ns == b->oldest_last_ns &&
	                  a->newest_last_ns == b->newest_last_ns &&
	                  a->oldest_first_ns == b->oldest_first_ns,
	    "%s: files %llu/%llu bytes %llu/%llu oldest_last %llu/%llu newest_last %llu/%llu "
	    "oldest_first %llu/%llu",
	    what, (unsigned long long)a->files, (unsigned long long)b->files,
	    (unsigned long long)a->bytes, (unsigned long long)b->bytes,
	    (unsigned long long)a->oldest_last_ns, (unsigned long long)b->oldest_last_ns,
	    (unsigned long long)a->newest_last_ns, (unsigned long long)b->newest_last_ns,
	    (unsigned long long)a->oldest_first_ns, (unsigned long long)b->oldest_first_ns);
}

/* Usage from the sums equals a recount. */
static void
check_sums(struct catalog *cat)
{
	struct catalog_usage u, r;

	ck_assert_int_eq(catalog_usage(cat, &u), 0);
	ck_assert_int_eq(catalog_recount(cat, &r), 0);
	check_usage_eq(&u, &r, "usage against a recount");
}

/* --- walks ---------------------------------------------------------------- */

#define MAXWALK 64

struct walk {
	char fpout[MAXWALK][64];
	int n;
	int stop_at;            /* stop after this many (0: never) */
	struct catalog *delete; /* delete each row visited */
};

static int
walk_fn(const struct catalog_row *r, void *arg)
{
	struct walk *w = arg;

	ck_assert_int_lt(w->n, MAXWALK);
	/* Deleted first: the row's strings stay valid through the call all the same. */
	if (w->delete != NULL)
		ck_assert_int_eq(catalog_delete(w->delete, r->id), 1);
	snprintf(w->fpout[w->n], sizeof w->fpout[0], "%s", r->fpout);
	w->n++;
	return w->stop_at != 0 && w->n == w->stop_at;
}

/* The walk's fpouts as "a b c" (their numbers). */
static void
walk_text(const struct walk *w, char *buf, size_t len)
{
	const char *f;
	int i;

	buf[0] = '\0';
	for (i = 0; i < w->n; i++) {
		f = strrchr(w->fpout[i], 'f');
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%d", i ? " " : "", atoi(f + 1));
	}
}

struct partfig {
	char name[32];
	uint64_t files, bytes, first, last;
};

struct parts {
	struct partfig p[16];
	int n;
};

static int
parts_fn(const char *name, uint64_t files, uint64_t bytes, uint64_t first, uint64_t last, void *arg)
{
	struct parts *ps = arg;

	ck_assert_int_lt(ps->n, 16);
	snprintf(ps->p[ps->n].name, sizeof ps->p[0].name, "%s", name);
	ps->p[ps->n].files = files;
	ps->p[ps->n].bytes = bytes;
	ps->p[ps->n].first = first;
	ps->p[ps->n].last = last;
	ps->n++;
	return 0;
}

static void
get_parts(struct catalog *cat, struct parts *ps)
{
	ps->n = 0;
	ck_assert_int_eq(catalog_parts(cat, parts_fn, ps), ps->n);
}

/* --- committed rows ------------------------------------------------------- */

#define NROWS 100

static const char *const days[] = {"2024/05/00", "2024/05/01", "2024/05/02", "2024/05/03",
    "2024/05/04", "2024/05/05", "2024/05/06"};

struct rows {
	struct catalog_row r[NROWS];
	char fpout[NROWS][64], label[NROWS][64], src[NROWS][32], vlan[NROWS][16];
	int seen[NROWS];
};

static void
rows_make(struct rows *rs)
{
	static const char *const reasons[] = {"fin", "rst", "idle"};
	struct catalog_row *r;
	int i;

	memset(rs, 0, sizeof *rs);
	for (i = 0; i < NROWS; i++) {
		r = &rs->r[i];
		snprintf(rs->fpout[i], sizeof rs->fpout[i], "%s/flow%03d.pcap", days[i % 7], i);
		snprintf(rs->label[i], sizeof rs->label[i],
		    "10.0.0.%d_%d-192.0.2.1_443-17000%05d.5", i, 40000 + i, i);
		snprintf(rs->src[i], sizeof rs->src[i], "10.0.0.%d", i);
		snprintf(rs->vlan[i], sizeof rs->vlan[i], "10,%d", i);
		r->fpout = rs->fpout[i];
		r->part = days[i % 7];
		r->label = rs->label[i];
		r->src = rs->src[i];
		r->dst = "2001:db8::1";
		r->iface = i % 2 ? "eth0" : NULL;
		r->vlan = i % 3 ? rs->vlan[i] : NULL;
		r->srcport = (uint16_t)(40000 + i);
		r->dstport = 443;
		r->first_ns = 1700000000 * SEC + (uint64_t)i * SEC;
		r->last_ns = r->first_ns + (uint64_t)(i % 5) * SEC + 17;
		r->packets = 10 + (uint64_t)i;
		r->bytes = 1000 * (uint64_t)i + 1;
		r->written = 1000 * (uint64_t)i;
		r->size = 2000 + (uint64_t)i;
		r->reason = reasons[i % 3];
		r->partial = i % 2;
		r->truncated = i % 3 == 0;
		r->recovered = i % 5 == 0;
		r->segment = (uint32_t)(i % 4);
	}
}

static void
opt_str_eq(const char *got, const char *want)
{
	if (want == NULL)
		ck_assert_ptr_null(got);
	else
		ck_assert_str_eq(got, want);
}

/* The walk's row, field by field, against the one added (by the number in its fpout). */
static int
compare_fn(const struct catalog_row *got, void *arg)
{
	struct rows *rs = arg;
	const struct catalog_row *want;
	const char *f = strstr(got->fpout, "flow");
	int i;

	ck_assert_ptr_nonnull(f);
	i = atoi(f + 4);
	ck_assert(i >= 0 && i < NROWS && !rs->seen[i]);
	rs->seen[i] = 1;
	want = &rs->r[i];
	ck_assert_str_eq(got->fpout, want->fpout);
	ck_assert_str_eq(got->part, want->part);
	ck_assert_str_eq(got->label, want->label);
	ck_assert_str_eq(got->src, want->src);
	ck_assert_str_eq(got->dst, want->dst);
	opt_str_eq(got->iface, want->iface);
	opt_str_eq(got->vlan, want->vlan);
	ck_assert_uint_eq(got->srcport, want->srcport);
	ck_assert_uint_eq(got->dstport, want->dstport);
	ck_assert_uint_eq(got->first_ns, want->first_ns);
	ck_assert_uint_eq(got->last_ns, want->last_ns);
	ck_assert_uint_eq(got->packets, want->packets);
	ck_assert_uint_eq(got->bytes, want->bytes);
	ck_assert_uint_eq(got->written, want->written);
	ck_assert_uint_eq(got->size, want->size);
	ck_assert_str_eq(got->reason, want->reason);
	ck_assert_uint_eq(got->partial, want->partial);
	ck_assert_uint_eq(got->truncated, want->truncated);
	ck_assert_uint_eq(got->recovered, want->recovered);
	ck_assert_uint_eq(got->segment, want->segment);
	ck_assert_int_gt(got->id, 0);
	return 0;
}

/* Every field of a committed batch comes back after close and reopen; modes 0700 and 0600. */
START_TEST(test_commit_reopen)
{
	struct catalog_usage u;
	struct catalog *cat;
	struct spool s;
	struct stat sb;
	struct rows *rs = malloc(sizeof *rs);
	uint64_t bytes = 0;
	int i;

	rows_make(rs);
	spool_make(&s);
	cat = open_ok(&s, 0);
	ck_assert_int_eq(catalog_begin(cat), 0);
	for (i = 0; i < NROWS; i++) {
		bytes += rs->r[i].size;
		ck_assert_msg(catalog_add(cat, &rs->r[i]) == 0, "add: %s", catalog_error(cat));
	}
	ck_assert_int_eq(catalog_commit(cat), 0);
	catalog_close(cat);

	ck_assert_int_eq(stat(s.cat, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0750); /* the spool's group reads it */
	ck_assert_int_eq(stat(s.db, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0640);

	cat = open_ok(&s, 0);
	ck_assert_int_eq(catalog_oldest(cat, 1000, compare_fn, rs), NROWS);
	for (i = 0; i < NROWS; i++)
		ck_assert_msg(rs->seen[i], "row %d missing", i);
	ck_assert_int_eq(catalog_usage(cat, &u), 0);
	ck_assert_uint_eq(u.files, NROWS);
	ck_assert_uint_eq(u.bytes, bytes);
	ck_assert_uint_eq(u.oldest_first_ns, rs->r[0].first_ns);
	ck_assert_uint_eq(u.oldest_last_ns, rs->r[0].last_ns);
	ck_assert_uint_eq(u.newest_last_ns, rs->r[NROWS - 1].last_ns);
	check_sums(cat);
	ck_assert_int_eq(catalog_has(cat, rs->fpout[42]), 1);
	ck_assert_int_eq(catalog_has(cat, "2024/05/00/nothing.pcap"), 0);
	catalog_close(cat);
	free(rs);
	spool_remove(&s);
}
END_TEST

/* --- the sums against a model --------------------------------------------- */

#define NFILES 300
#define NPARTS 5

struct mfile {
	int present, part;
	uint64_t first, last, size, seq; /* seq: the order rows came in, as id */
};

struct model {
	struct mfile f[NFILES];
	uint64_t seq;
};

static void
model_usage(const struct model *m, struct catalog_usage *u)
{
	int i;

	memset(u, 0, sizeof *u);
	for (i = 0; i < NFILES; i++) {
		if (!m->f[i].present)
			continue;
		if (u->files == 0 || m->f[i].last < u->oldest_last_ns)
			u->oldest_last_ns = m->f[i].last;
		if (u->files == 0 || m->f[i].last > u->newest_last_ns)
			u->newest_last_ns = m->f[i].last;
		if (u->files == 0 || m->f[i].first < u->oldest_first_ns)
			u->oldest_first_ns = m->f[i].first;
		u->files++;
		u->bytes += m->f[i].size;
	}
}

/* catalog_parts against the model: the same figures, oldest last_ns first (ties by name). */
static void
model_parts_check(const struct model *m, struct catalog *cat)
{
	struct partfig want[NPARTS];
	struct parts got;
	const struct partfig *w;
	int i, j, k, nwant = 0;

	memset(want, 0, sizeof want);
	for (i = 0; i < NFILES; i++) {
		if (!m->f[i].present)
			continue;
		w = &want[m->f[i].part];
		if (w->files == 0 || m->f[i].first < w->first)
			want[m->f[i].part].first = m->f[i].first;
		if (w->files == 0 || m->f[i].last > w->last)
			want[m->f[i].part].last = m->f[i].last;
		want[m->f[i].part].files++;
		want[m->f[i].part].bytes += m->f[i].size;
	}
	for (j = 0; j < NPARTS; j++)
		nwant += want[j].files > 0;
	get_parts(cat, &got);
	ck_assert_int_eq(got.n, nwant);
	for (i = 0; i < got.n; i++) {
		ck_assert_msg(sscanf(got.p[i].name, "p%d", &k) == 1 && k >= 0 && k < NPARTS, "%s",
		    got.p[i].name);
		w = &want[k];
		ck_assert_msg(got.p[i].files == w->files && got.p[i].bytes == w->bytes &&
		                  got.p[i].first == w->first && got.p[i].last == w->last,
		    "part %s: files %llu/%llu bytes %llu/%llu first %llu/%llu last %llu/%llu",
		    got.p[i].name, (unsigned long long)got.p[i].files, (unsigned long long)w->files,
		    (unsigned long long)got.p[i].bytes, (unsigned long long)w->bytes,
		    (unsigned long long)got.p[i].first, (unsigned long long)w->first,
		    (unsigned long long)got.p[i].last, (unsigned long long)w->last);
		if (i > 0)
			ck_assert(got.p[i - 1].last < got.p[i].last ||
			          (got.p[i - 1].last == got.p[i].last &&
			              strcmp(got.p[i - 1].name, got.p[i].name) < 0));
	}
}

static void
model_check(const struct model *m, struct catalog *cat)
{
	struct catalog_usage want, got;

	model_usage(m, &want);
	ck_assert_int_eq(catalog_usage(cat, &got), 0);
	check_usage_eq(&got, &want, "usage against the model");
	check_sums(cat);
}

/* The k oldest files of the model, by (last, seq): their numbers in out. */
static int
model_oldest(const struct model *m, int k, int *out)
{
	int i, j, n = 0, best;

	for (j = 0; j < k; j++) {
		best = -1;
		for (i = 0; i < NFILES; i++) {
			if (!m->f[i].present)
				continue;
			for (n = 0; n < j && out[n] != i; n++)
				;
			if (n < j)
				continue; /* taken */
			if (best == -1 || m->f[i].last < m->f[best].last ||
			    (m->f[i].last == m->f[best].last && m->f[i].seq < m->f[best].seq))
				best = i;
		}
		if (best == -1)
			return j;
		out[j] = best;
	}
	return k;
}

static void
fpout_of(int i, char *buf, size_t len)
{
	snprintf(buf, len, "f%05d.pcap", i);
}

/*
 * A few thousand random operations in batches, some rolled back: after
 * each batch the sums equal a recount and the model, every few batches
 * the partitions too, and again after a reopen.
 */
START_TEST(test_random_mix)
{
	struct model m, saved;
	struct catalog_row r;
	struct catalog *cat;
	struct spool s;
	struct walk w;
	char buf[64], part[16];
	int op, ops = 0, batch, i, k, want[8], rc, batches = 0;

	memset(&m, 0, sizeof m);
	spool_make(&s);
	cat = open_ok(&s, 0);
	srand(20240501);
	while (ops < 4000) {
		saved = m;
		ck_assert_int_eq(catalog_begin(cat), 0);
		for (batch = 1 + rand() % 60; batch > 0; batch--, ops++) {
			op = rand() % 10;
			i = rand() % NFILES;
			fpout_of(i, buf, sizeof buf);
			if (op < 5) { /* add, replacing when present; maybe in another part */
				struct mfile *f = &m.f[i];

				f->present = 1;
				f->part = rand() % NPARTS;
				f->last = 1000 * SEC + (uint64_t)(rand() % 200) * SEC;
				f->first = f->last - (uint64_t)(rand() % 30) * SEC;
				f->size = 24 + (uint64_t)(rand() % 100000);
				f->seq = ++m.seq;
				snprintf(part, sizeof part, "p%d", f->part);
				memset(&r, 0, sizeof r);
				r.fpout = buf;
				r.part = part;
				r.first_ns = f->first;
				r.last_ns = f->last;
				r.size = f->size;
				ck_assert_msg(catalog_add(cat, &r) == 0, "%s", catalog_error(cat));
			} else if (op < 7) {
				rc = catalog_delete_fpout(cat, buf);
				ck_assert_int_eq(rc, m.f[i].present);
				m.f[i].present = 0;
			} else if (op < 8) { /* retention: the k oldest, deleted as they come */
				k = 1 + rand() % 8;
				k = model_oldest(&m, k, want);
				memset(&w, 0, sizeof w);
				w.delete = cat;
				ck_assert_int_eq(catalog_oldest(cat, (size_t)k, walk_fn, &w), k);
				for (i = 0; i < k; i++) {
					fpout_of(want[i], buf, sizeof buf);
					ck_assert_str_eq(w.fpout[i], buf);
					m.f[want[i]].present = 0;
				}
			} else if (op < 9)
				ck_assert_int_eq(catalog_has(cat, buf), m.f[i].present);
		}
		if (rand() % 8 == 0) {
			catalog_rollback(cat);
			m = saved;
		} else
			ck_assert_msg(catalog_commit(cat) == 0, "%s", catalog_error(cat));
		model_check(&m, cat);
		if (++batches % 10 == 0)
			model_parts_check(&m, cat);
	}
	model_parts_check(&m, cat);
	catalog_close(cat);
	cat = open_ok(&s, 0);
	model_check(&m, cat);
	model_parts_check(&m, cat);
	catalog_close(cat);
	spool_remove(&s);
}
END_TEST

/* --- crash ------------------------------------------------------------------ */

/*
 * A batch never committed: a child adds thousands of rows (more than
 * SQLite's page cache holds, so some reach the WAL) and dies without a
 * commit. Nothing of it is there; the catalog opens and takes rows.
 */
START_TEST(test_crash_uncommitted)
{
	struct catalog_usage u;
	struct catalog *cat;
	struct spool s;
	char label[600];
	pid_t pid;
	int i, status;

	spool_make(&s);
	cat = open_ok(&s, 0);
	ck_assert_int_eq(catalog_begin(cat), 0);
	for (i = 0; i < 5; i++)
		add_one(cat, i, "p0", (uint64_t)i * SEC, (uint64_t)i * SEC + 1, 100);
	ck_assert_int_eq(catalog_commit(cat), 0);
	catalog_close(cat);

	memset(label, 'x', sizeof label - 1);
	label[sizeof label - 1] = '\0';
	if ((pid = fork()) == 0) {
		struct catalog_row r;
		char buf[64];

		if ((cat = catalog_open(s.fd, s.path, 0, NULL)) == NULL || catalog_begin(cat) != 0)
			_exit(2);
		for (i = 100; i < 6100; i++) {
			row_make(
			    &r, buf, sizeof buf, i, "p1", (uint64_t)i * SEC, (uint64_t)i * SEC, 7);
			r.label = label;
			if (catalog_add(cat, &r) != 0)
				_exit(3);
		}
		_exit(0); /* no commit, no close */
	}
	ck_assert_int_ne(pid, -1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: status %d", status);

	cat = open_ok(&s, 0);
	ck_assert_int_eq(catalog_usage(cat, &u), 0);
	ck_assert_uint_eq(u.files, 5);
	ck_assert_uint_eq(u.bytes, 500);
	check_sums(cat);
	ck_assert_int_eq(catalog_has(cat, "p1/f00100.pcap"), 0);
	ck_assert_int_eq(catalog_has(cat, "p0/f00004.pcap"), 1);
	ck_assert_int_eq(catalog_begin(cat), 0);
	add_one(cat, 100, "p1", 100 * SEC, 100 * SEC, 7);
	ck_assert_int_eq(catalog_commit(cat), 0);
	ck_assert_int_eq(catalog_usage(cat, &u), 0);
	ck_assert_uint_eq(u.files, 6);
	check_sums(cat);
	catalog_close(cat);
	spool_remove(&s);
}
END_TEST

/* --- retention's order ------------------------------------------------------ */

static void
oldest_text(struct catalog *cat, size_t n, int stop_at, int expect, char *buf, size_t len)
{
	struct walk w;

	memset(&w, 0, sizeof w);
	w.stop_at = stop_at;
	ck_assert_int_eq(catalog_oldest(cat, n, walk_fn, &w), expect);
	walk_text(&w, buf, len);
}

/* By last_ns, ties in the order rows came in; n bounds the walk, fn may stop it. */
START_TEST(test_oldest_order)
{
	/* rows 1..6 come in this order, with these ends */
	static const uint64_t last[] = {0, 5, 3, 5, 1, 3, 5};
	struct catalog_row r;
	struct catalog *cat;
	struct spool s;
	struct walk w;
	char text[256], buf[64];
	int i;

	spool_make(&s);
	cat = open_ok(&s, 0);
	ck_assert_int_eq(catalog_begin(cat), 0);
	for (i = 1; i <= 6; i++)
		add_one(cat, i, "p", 0, last[i] * SEC, 10);
	ck_assert_int_eq(catalog_commit(cat), 0);

	oldest_text(cat, 100, 0, 6, text, sizeof text);
	ck_assert_str_eq(text, "4 2 5 1 3 6");
	oldest_text(cat, 4, 0, 4, text, sizeof text);
	ck_assert_str_eq(text, "4 2 5 1");
	oldest_text(cat, 100, 2, 2, text, sizeof text);
	ck_assert_str_eq(text, "4 2");
	oldest_text(cat, 0, 0, 0, text, sizeof text);
	ck_assert_str_eq(text, "");

	/* Added again (recovery): a new id, so last among its equals; the fields are new. */
	ck_assert_int_eq(catalog_begin(cat), 0);
	row_make(&r, buf, sizeof buf, 2, "p", 0, 3 * SEC, 99);
	ck_assert_int_eq(catalog_add(cat, &r), 0);
	ck_assert_int_eq(catalog_commit(cat), 0);
	oldest_text(cat, 100, 0, 6, text, sizeof text);
	ck_assert_str_eq(text, "4 5 2 1 3 6");
	check_sums(cat);

	/* Retention's loop: the 3 oldest deleted as the walk meets them, in one batch. */
	ck_assert_int_eq(catalog_begin(cat), 0);
	memset(&w, 0, sizeof w);
	w.delete = cat;
	ck_assert_int_eq(catalog_oldest(cat, 3, walk_fn, &w), 3);
	ck_assert_int_eq(catalog_commit(cat), 0);
	walk_text(&w, text, sizeof text);
	ck_assert_str_eq(text, "4 5 2");
	oldest_text(cat, 100, 0, 3, text, sizeof text);
	ck_assert_str_eq(text, "1 3 6");
	ck_assert_int_eq(catalog_has(cat, "p/f00002.pcap"), 0);
	check_sums(cat);
	catalog_close(cat);
	spool_remove(&s);
}
END_TEST

/* --- partitions ----------------------------------------------------------- */

static void
part_eq(const struct partfig *p, const char *name, uint64_t files, uint64_t bytes, uint64_t first,
    uint64_t last)
{
	ck_assert_str_eq(p->name, name);
	ck_assert_msg(
	    p->files == files && p->bytes == bytes && p->first == first && p->last == last,
	    "%s: files %llu bytes %llu first %llu last %llu", p->name, (unsigned long long)p->files,
	    (unsigned long long)p->bytes, (unsigned long long)p->first,
	    (unsigned long long)p->last);
}

/*
 * Figures per partition after adds and deletes: the first and last are
 * found again when the row that held them goes; a partition with no file
 * left is gone (catalog_part_files: 0); a file added again in another
 * partition moves.
 */
START_TEST(test_parts)
{
	struct catalog *cat;
	struct parts ps;
	struct spool s;
	struct catalog_usage u;
	uint64_t files;

	spool_make(&s);
	cat = open_ok(&s, 0);
	ck_assert_int_eq(catalog_begin(cat), 0);
	add_one(cat, 1, "a", 10, 50, 100);
	add_one(cat, 2, "a", 5, 20, 200);  /* a's first */
	add_one(cat, 3, "a", 30, 90, 300); /* a's last */
	add_one(cat, 4, "b", 40, 60, 1000);
	add_one(cat, 5, "b", 45, 70, 2000);
	add_one(cat, 6, "c", 1, 30, 5);
	ck_assert_int_eq(catalog_commit(cat), 0);
	get_parts(cat, &ps);
	ck_assert_int_eq(ps.n, 3);
	part_eq(&ps.p[0], "c", 1, 5, 1, 30);
	part_eq(&ps.p[1], "b", 2, 3000, 40, 70);
	part_eq(&ps.p[2], "a", 3, 600, 5, 90);
	ck_assert_int_eq(catalog_part_files(cat, "a", &files), 0);
	ck_assert_uint_eq(files, 3);

	/* a's first and last go: found again among what is left. */
	ck_assert_int_eq(catalog_begin(cat), 0);
	ck_assert_int_eq(catalog_delete_fpout(cat, "a/f00002.pcap"), 1);
	ck_assert_int_eq(catalog_delete_fpout(cat, "a/f00003.pcap"), 1);
	ck_assert_int_eq(catalog_delete_fpout(cat, "a/f00003.pcap"), 0);
	ck_assert_int_eq(catalog_commit(cat), 0);
	get_parts(cat, &ps);
	ck_assert_int_eq(ps.n, 3);
	part_eq(&ps.p[0], "c", 1, 5, 1, 30);
	part_eq(&ps.p[1], "a", 1, 100, 10, 50);
	part_eq(&ps.p[2], "b", 2, 3000, 40, 70);

	/* c's only file goes: c is gone, and usage's oldest first with it. */
	ck_assert_int_eq(catalog_begin(cat), 0);
	ck_assert_int_eq(catalog_delete_fpout(cat, "c/f00006.pcap"), 1);
	ck_assert_int_eq(catalog_commit(cat), 0);
	get_parts(cat, &ps);
	ck_assert_int_eq(ps.n, 2);
	part_eq(&ps.p[0], "a", 1, 100, 10, 50);
	part_eq(&ps.p[1], "b", 2, 3000, 40, 70);
	files = 99;
	ck_assert_int_eq(catalog_part_files(cat, "c", &files), 0);
	ck_assert_uint_eq(files, 0);
	ck_assert_int_eq(catalog_usage(cat, &u), 0);
	ck_assert_uint_eq(u.oldest_first_ns, 10);
	ck_assert_uint_eq(u.files, 3);
	ck_assert_uint_eq(u.bytes, 3100);

	/* b's file 4 added again under a (its fpout kept): b shrinks, a grows. */
	ck_assert_int_eq(catalog_begin(cat), 0);
	{
		struct catalog_row r;
		char buf[64];

		row_make(&r, buf, sizeof buf, 4, "b", 2, 80, 7);
		r.part = "a";
		ck_assert_int_eq(catalog_add(cat, &r), 0);
	}
	ck_assert_int_eq(catalog_commit(cat), 0);
	get_parts(cat, &ps);
	ck_assert_int_eq(ps.n, 2);
	part_eq(&ps.p[0], "b", 1, 2000, 45, 70);
	part_eq(&ps.p[1], "a", 2, 107, 2, 80);
	check_sums(cat);

	/* Everything goes: no partition, usage all zeros. */
	ck_assert_int_eq(catalog_begin(cat), 0);
	ck_assert_int_eq(catalog_delete_fpout(cat, "a/f00001.pcap"), 1);
	ck_assert_int_eq(catalog_delete_fpout(cat, "b/f00004.pcap"), 1);
	ck_assert_int_eq(catalog_delete_fpout(cat, "b/f00005.pcap"), 1);
	ck_assert_int_eq(catalog_commit(cat), 0);
	get_parts(cat, &ps);
	ck_assert_int_eq(ps.n, 0);
	ck_assert_int_eq(catalog_usage(cat, &u), 0);
	ck_assert_uint_eq(u.files + u.bytes + u.oldest_first_ns + u.oldest_last_ns, 0);
	check_sums(cat);
	catalog_close(cat);
	spool_remove(&s);
}
END_TEST

/* Rows deleted by hand with SQL keep the sums right (the triggers); an update is refused. */
START_TEST(test_sums_by_hand)
{
	struct catalog *cat;
	struct catalog_usage u;
	struct parts ps;
	struct spool s;
	sqlite3 *db;
	int i;

	spool_make(&s);
	cat = open_ok(&s, 0);
	ck_assert_int_eq(catalog_begin(cat), 0);
	for (i = 0; i < 10; i++)
		add_one(cat, i, i % 2 ? "odd" : "even", 100 + i, 200 + i, 10 + i);
	ck_assert_int_eq(catalog_commit(cat), 0);
	catalog_close(cat);

	ck_assert_int_eq(sqlite3_open(s.db, &db), SQLITE_OK);
	ck_assert_int_eq(
	    sqlite3_exec(db, "DELETE FROM files WHERE part = 'odd'", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_ne(
	    sqlite3_exec(db, "UPDATE files SET size = 1", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);

	cat = open_ok(&s, 0);
	ck_assert_int_eq(catalog_usage(cat, &u), 0);
	ck_assert_uint_eq(u.files, 5);
	ck_assert_uint_eq(u.bytes, 10 + 12 + 14 + 16 + 18);
	check_sums(cat);
	get_parts(cat, &ps);
	ck_assert_int_eq(ps.n, 1);
	part_eq(&ps.p[0], "even", 5, 70, 100, 208);
	catalog_close(cat);
	spool_remove(&s);
}
END_TEST

/* --- query plans ------------------------------------------------------------ */

/*
 * Does every step of the plan that reads files go through an index (a
 * SEARCH or SCAN "USING [COVERING] INDEX" or the rowid), index (if not
 * NULL) among them, with no sort of its own when nosort? If not, and
 * show, the plan goes to stderr.
 */
static int
plan_indexed(struct catalog *cat, const char *sql, const char *index, int nosort, int show)
{
	char *plan = catalog_explain(cat, sql), *line, *save = NULL;
	int ok = 1;

	ck_assert_msg(plan != NULL, "%s: %s", sql, catalog_error(cat));
	if (index != NULL && strstr(plan, index) == NULL)
		ok = 0;
	if (nosort && strstr(plan, "TEMP B-TREE") != NULL)
		ok = 0;
	for (line = strtok_r(plan, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, " files") == NULL)
			continue;
		if (strstr(line, "USING INDEX") == NULL &&
		    strstr(line, "USING COVERING INDEX") == NULL &&
		    strstr(line, "USING INTEGER PRIMARY KEY") == NULL)
			ok = 0;
	}
	if (!ok && show) {
		free(plan);
		plan = catalog_explain(cat, sql);
		fprintf(stderr, "plan of %s:\n%s\n", sql, plan);
	}
	free(plan);
	return ok;
}

START_TEST(test_explain)
{
	static const struct {
		const char *sql, *index;
		int nosort;
	} q[] = {
	    {CATALOG_SQL_OLDEST, "files_last", 1},
	    {"SELECT id, fpout FROM files WHERE first_ns <= ?1 AND last_ns >= ?2", "files_", 0},
	    {"SELECT id, fpout FROM files WHERE src = ?1", "files_src", 0},
	    {"SELECT id, fpout FROM files WHERE src = ?1 AND srcport = ?2", "files_src", 0},
	    {"SELECT id, fpout FROM files WHERE dst = ?1", "files_dst", 0},
	    {"SELECT id, fpout FROM files WHERE dst = ?1 AND dstport = ?2", "files_dst", 0},
	    {"SELECT id, fpout FROM files WHERE dstport = ?1", "files_dstport", 0},
	    /* a host over a time: the host's rows from T1 on, not the port's (version 2) */
	    {"SELECT id FROM files WHERE src = ?1 AND last_ns >= ?2 AND first_ns <= ?3",
	        "files_src (src=? AND last_ns>?)", 0},
	    {"SELECT id FROM files WHERE src = ?1 AND dstport = ?2 AND last_ns >= ?3"
	     " AND first_ns <= ?4",
	        "files_src (src=? AND last_ns>?)", 0},
	    {"SELECT id FROM files WHERE (src = ?1 OR dst = ?1) AND (srcport = ?2 OR dstport = ?2)"
	     " AND last_ns >= ?3 AND first_ns <= ?4",
	        "files_dst (dst=? AND last_ns>?)", 0},
	    {"SELECT id, fpout FROM files WHERE srcport = ?1", "files_srcport", 0},
	    {"SELECT id FROM files WHERE fpout = ?1", NULL, 0},
	    {CATALOG_SQL_USAGE, "files_last", 0},
	    {"SELECT min(first_ns) FROM files WHERE part = ?1", "files_part_first", 0},
	    {"SELECT max(last_ns) FROM files WHERE part = ?1", "files_part_last", 0},
	};
	struct catalog *cat;
	struct spool s;
	char *plan;
	size_t i;

	spool_make(&s);
	cat = open_ok(&s, 0);
	for (i = 0; i < sizeof q / sizeof q[0]; i++)
		ck_assert_msg(plan_indexed(cat, q[i].sql, q[i].index, q[i].nosort, 1),
		    "%s: no index", q[i].sql);
	/* The check can fail: a query on a column without an index scans the table. */
	ck_assert(!plan_indexed(cat, "SELECT id FROM files WHERE label = ?1", NULL, 0, 0));
	ck_assert(!plan_indexed(cat, "SELECT id FROM files ORDER BY size LIMIT 3", NULL, 1, 0));
	/* usage reads no table whole, parts included */
	plan = catalog_explain(cat, CATALOG_SQL_USAGE);
	ck_assert_ptr_nonnull(plan);
	ck_assert_msg(strstr(plan, "SCAN parts\n") == NULL && strstr(plan, "parts_first") != NULL,
	    "%s", plan);
	free(plan);
	ck_assert_ptr_null(catalog_explain(cat, "SELECT x FROM nowhere"));
	ck_assert_msg(strstr(catalog_error(cat), "nowhere") != NULL, "%s", catalog_error(cat));
	catalog_close(cat);
	spool_remove(&s);
}
END_TEST

/* --- refused ----------------------------------------------------------------- */

static void
make_catalog(struct spool *s)
{
	struct catalog *cat = open_ok(s, 0);

	ck_assert_int_eq(catalog_begin(cat), 0);
	add_one(cat, 1, "p", 1, 2, 3);
	ck_assert_int_eq(catalog_commit(cat), 0);
	catalog_close(cat);
}

static void
put(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	fputs(text, fp);
	fclose(fp);
}

static void
check_canary(const char *path, const char *text)
{
	char buf[256] = "";
	FILE *fp = fopen(path, "r");

	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	ck_assert_ptr_nonnull(fgets(buf, sizeof buf, fp));
	fclose(fp);
	ck_assert_str_eq(buf, text);
}

/* .catalog a link to a folder that would pass every check: refused, nothing made there. */
START_TEST(test_refuse_dir_link)
{
	struct spool s;
	char elsewhere[4300], db[4400];

	spool_make(&s);
	snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", s.dir);
	snprintf(db, sizeof db, "%s/%s", elsewhere, CATALOG_DB);
	ck_assert_int_eq(mkdir(elsewhere, 0700), 0);
	ck_assert_int_eq(symlink(elsewhere, s.cat), 0);
	refused(&s, 0, s.cat, "symbolic link");
	refused(&s, 1, s.cat, "symbolic link");
	ck_assert_msg(access(db, F_OK) == -1, "a database was made through the link");
	/* A file where the folder should be. */
	ck_assert_int_eq(unlink(s.cat), 0);
	put(s.cat, "not a folder\n");
	refused(&s, 0, s.cat, "not a directory");
	spool_remove(&s);
}
END_TEST

/*
 * Links planted in .catalog/ where SQLite will open -wal, -shm or the
 * database: refused before SQLite is called, the canary they name intact.
 * A database with a second name (a hard link) too.
 */
START_TEST(test_refuse_planted_files)
{
	static const char *const names[] = {
	    CATALOG_DB "-wal", CATALOG_DB "-shm", CATALOG_DB "-journal", CATALOG_DB};
	struct spool s;
	char canary[4300], lpath[4500], other[4500];
	size_t i;
	int kept;

	spool_make(&s);
	snprintf(canary, sizeof canary, "%s/canary", s.dir);
	put(canary, "canary\n");
	make_catalog(&s);
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(lpath, sizeof lpath, "%s/%s", s.cat, names[i]);
		snprintf(other, sizeof other, "%s/kept", s.cat);
		/* The file there (the database, the -wal and -shm kept at close) aside meanwhile.
		 */
		kept = access(lpath, F_OK) == 0;
		if (kept)
			ck_assert_int_eq(rename(lpath, other), 0);
		ck_assert_int_eq(symlink(canary, lpath), 0);
		refused(&s, 0, names[i], "symbolic link");
		refused(&s, 1, names[i], "symbolic link");
		check_canary(canary, "canary\n");
		ck_assert_int_eq(unlink(lpath), 0);
		if (kept)
			ck_assert_int_eq(rename(other, lpath), 0);
	}
	/* A planted WAL that does not point anywhere yet: refused all the same. */
	snprintf(lpath, sizeof lpath, "%s/%s-wal", s.cat, CATALOG_DB);
	snprintf(other, sizeof other, "%s/made-through-lpath", s.dir);
	ck_assert_int_eq(unlink(lpath), 0); /* the -wal kept at the last close */
	ck_assert_int_eq(symlink(other, lpath), 0);
	refused(&s, 0, CATALOG_DB "-wal", "symbolic link");
	ck_assert_msg(access(other, F_OK) == -1, "a file was made through the lpath");
	ck_assert_int_eq(unlink(lpath), 0);
	/* The database with another name. */
	snprintf(lpath, sizeof lpath, "%s/%s", s.cat, CATALOG_DB);
	snprintf(other, sizeof other, "%s/second-name", s.dir);
	ck_assert_int_eq(link(lpath, other), 0);
	refused(&s, 0, CATALOG_DB, "hard links");
	ck_assert_int_eq(unlink(other), 0);
	/* A directory where -shm goes. */
	snprintf(lpath, sizeof lpath, "%s/%s-shm", s.cat, CATALOG_DB);
	ck_assert_int_eq(unlink(lpath), 0); /* the -shm kept at the last close */
	ck_assert_int_eq(mkdir(lpath, 0700), 0);
	refused(&s, 0, CATALOG_DB "-shm", "not a regular file");
	ck_assert_int_eq(rmdir(lpath), 0);
	/* All gone: it opens again, the row still there. */
	{
		struct catalog *cat = open_ok(&s, 0);

		ck_assert_int_eq(catalog_has(cat, "p/f00001.pcap"), 1);
		catalog_close(cat);
	}
	spool_remove(&s);
}
END_TEST

/* .catalog writable by others, or by its group: refused (and as root: owned by another). */
START_TEST(test_refuse_open_dir)
{
	struct spool s;
	char db[4400];

	spool_make(&s);
	make_catalog(&s);
	ck_assert_int_eq(chmod(s.cat, 0707), 0);
	refused(&s, 0, s.cat, "every user");
	refused(&s, 1, s.cat, "every user");
	ck_assert_int_eq(chmod(s.cat, 0770), 0);
	refused(&s, 0, s.cat, "its group");
	ck_assert_int_eq(chmod(s.cat, 0750), 0); /* readable by the group: fine */
	catalog_close(open_ok(&s, 0));
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(s.cat, 12345, 12345), 0);
		refused(&s, 0, s.cat, "uid 12345");
		refused(&s, 1, s.cat, "uid 12345");
		ck_assert_int_eq(chown(s.cat, 0, 0), 0);
		snprintf(db, sizeof db, "%s/%s-shm", s.cat, CATALOG_DB);
		put(db, "");
		ck_assert_int_eq(chown(db, 12345, 12345), 0);
		refused(&s, 0, CATALOG_DB "-shm", "uid 12345");
	}
	spool_remove(&s);
}
END_TEST

/* A catalog of a newer version is refused and left as it is; a file not SQLite is refused. */
START_TEST(test_refuse_newer)
{
	struct spool s;
	sqlite3 *db;
	sqlite3_stmt *st;

	spool_make(&s);
	make_catalog(&s);
	ck_assert_int_eq(sqlite3_open(s.db, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
	refused(&s, 0, CATALOG_DB, "newer");
	refused(&s, 1, CATALOG_DB, "version 99");
	ck_assert_int_eq(sqlite3_open(s.db, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 99);
	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);

	ck_assert_int_eq(unlink(s.db), 0);
	put(s.db, "this is no database, but it is long enough to have a header of a hundred bytes, "
	          "which SQLite reads first to know what it is looking at.\n");
	refused(&s, 0, CATALOG_DB, "not a database");
	spool_remove(&s);
}
END_TEST

/* The columns of index name, comma-separated, in buf. */
static const char *
index_columns(sqlite3 *db, const char *name, char *buf, size_t len)
{
	sqlite3_stmt *st;
	size_t n = 0;

	buf[0] = '\0';
	ck_assert_int_eq(
	    sqlite3_prepare_v2(
	        db, "SELECT name FROM pragma_index_info(?1) ORDER BY seqno", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		n += snprintf(buf + n, len - n, "%s%s", n ? "," : "", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

static int
user_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int v;

	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static uint64_t told_files;

static void
told(const char *path, uint64_t files)
{
	ck_assert_ptr_nonnull(strstr(path, CATALOG_DB));
	told_files = files;
}

/*
 * A version 1 catalog (host indexes by port): read as it is, upgraded by
 * its writer (catalog_upgrade, as the daemon's spoolcat_open calls it) to
 * the host indexes by time, rows and sums kept.
 */
START_TEST(test_upgrade_v1)
{
	struct catalog *cat;
	struct catalog_usage u;
	struct spool s;
	char buf[128];
	sqlite3 *db;
	int i;

	spool_make(&s);
	cat = open_ok(&s, 0);
	ck_assert_int_eq(catalog_begin(cat), 0);
	for (i = 0; i < 20; i++)
		add_one(cat, i, i % 2 ? "odd" : "even", 100 + i, 200 + i, 10);
	ck_assert_int_eq(catalog_commit(cat), 0);
	catalog_close(cat);
	ck_assert_int_eq(sqlite3_open(s.db, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db,
	                     "DROP TABLE probes; DROP TRIGGER files_delete;" CATALOG_FILES_DELETE_2
	                     "DROP INDEX files_src; DROP INDEX files_dst;"
	                     "CREATE INDEX files_src ON files (src, srcport);"
	                     "CREATE INDEX files_dst ON files (dst, dstport);"
	                     "PRAGMA user_version = 1;",
	                     NULL, NULL, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);

	cat = open_ok(&s, 1); /* a reader reads it as it is */
	ck_assert_int_eq(catalog_usage(cat, &u), 0);
	ck_assert_uint_eq(u.files, 20);
	catalog_close(cat);
	ck_assert_int_eq(sqlite3_open(s.db, &db), SQLITE_OK);
	ck_assert_int_eq(user_version(db), 1);
	ck_assert_str_eq(index_columns(db, "files_src", buf, sizeof buf), "src,srcport");
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);

	cat = open_ok(&s, 1);
	ck_assert_int_eq(catalog_upgrade(cat, told), -1); /* a reader does not */
	ck_assert_uint_eq(told_files, 0);
	catalog_close(cat);
	cat = open_ok(&s, 0); /* its writer does, and says so first */
	ck_assert_int_eq(catalog_upgrade(cat, told), 1);
	ck_assert_uint_eq(told_files, 20);
	ck_assert_int_eq(catalog_upgrade(cat, told), 0);
	ck_assert_int_eq(catalog_usage(cat, &u), 0);
	ck_assert_uint_eq(u.files, 20);
	ck_assert_uint_eq(u.bytes, 200);
	check_sums(cat);
	catalog_close(cat);
	ck_assert_int_eq(sqlite3_open(s.db, &db), SQLITE_OK);
	ck_assert_int_eq(user_version(db), CATALOG_VERSION);
	ck_assert_str_eq(index_columns(db, "files_src", buf, sizeof buf), "src,last_ns");
	ck_assert_str_eq(index_columns(db, "files_dst", buf, sizeof buf), "dst,last_ns");
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
	spool_remove(&s);
}
END_TEST

/* --- probes (issue 25) --------------------------------------------------------- */

struct seen {
	int n, probes, shared;
	int64_t ids[16];
	uint64_t offsets[16];
};

static int
seen_fn(const struct catalog_row *r, void *arg)
{
	struct seen *s = arg;

	if (s->n < 16) {
		s->ids[s->n] = r->id;
		s->offsets[s->n] = r->probe ? r->offset : UINT64_MAX;
	}
	s->n++;
	s->probes += r->probe;
	s->shared += r->reason != NULL && strcmp(r->reason, CATALOG_SHARED) == 0;
	return 0;
}

static void
add_probe(struct catalog *cat, const char *fpout, const char *part, const char *src, uint64_t first,
    uint64_t off)
{
	struct catalog_row r;

	memset(&r, 0, sizeof r);
	r.fpout = fpout;
	r.part = part;
	r.src = src;
	r.dst = "10.0.0.2";
	r.reason = "unanswered";
	r.first_ns = r.last_ns = first;
	r.packets = r.written = 1;
	r.offset = off;
	r.length = 74;
	ck_assert_msg(catalog_add_probe(cat, &r) == 0, "%s", catalog_error(cat));
}

/*
 * A shared capture's probes: selected with the flows in time order, with
 * their offsets, the capture's own row passed over; deleting the capture
 * deletes its probes (and nothing else), a partition that goes takes its
 * counted probes (fpout NULL); no file's sums count a probe.
 */
START_TEST(test_probes)
{
	const char *cap = "p1/unanswered-1.000000000.pcap";
	struct catalog_row r;
	struct catalog_usage u;
	struct seen s;
	struct catalog *cat;
	struct spool sp;
	char buf[128];

	spool_make(&sp);
	cat = open_ok(&sp, 0);
	ck_assert_int_eq(catalog_begin(cat), 0);
	add_one(cat, 1, "p1", 20, 30, 100);
	add_probe(cat, cap, "p1", "10.9.0.1", 10, 24);
	add_probe(cat, cap, "p1", "10.9.0.1", 40, 98);
	add_probe(cat, NULL, "p2", "10.9.0.1", 50, 0);
	row_make(&r, buf, sizeof buf, 2, "p2", 50, 50, 10);
	ck_assert_int_eq(catalog_add(cat, &r), 0); /* p2 holds a file */
	row_make(&r, buf, sizeof buf, 0, "p1", 10, 40, 172);
	r.fpout = cap;
	r.reason = CATALOG_SHARED;
	ck_assert_int_eq(catalog_add(cat, &r), 0);
	ck_assert_int_eq(catalog_commit(cat), 0);

	memset(&s, 0, sizeof s);
	ck_assert_int_eq(
	    catalog_select_flows(cat, "1", "ORDER BY first_ns, id", 0, seen_fn, &s), 5);
	ck_assert_int_eq(s.probes, 3);
	ck_assert_int_eq(s.shared, 0);
	ck_assert_uint_eq(s.offsets[0], 24);         /* first_ns 10 */
	ck_assert_uint_eq(s.offsets[1], UINT64_MAX); /* the file, 20 */
	ck_assert_uint_eq(s.offsets[2], 98);
	ck_assert_int_lt(s.ids[0], 0); /* a probe's id: negative, never a file's */
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(
	    catalog_select_flows(cat, "src = '10.9.0.1'", "ORDER BY first_ns, id", 2, seen_fn, &s),
	    2);
	ck_assert_uint_eq(s.offsets[0], 98); /* the newest two, in time order */
	ck_assert_int_eq(catalog_usage(cat, &u), 0);
	ck_assert_uint_eq(u.files, 3);
	ck_assert_uint_eq(u.bytes, 282);

	ck_assert_int_eq(catalog_begin(cat), 0);
	ck_assert_int_eq(catalog_delete_fpout(cat, cap), 1);
	ck_assert_int_eq(catalog_commit(cat), 0);
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(catalog_select_flows(cat, "1", "", 0, seen_fn, &s), 3);
	ck_assert_int_eq(s.probes, 1); /* the counted one of p2 */
	ck_assert_int_eq(catalog_begin(cat), 0);
	ck_assert_int_eq(catalog_delete_fpout(cat, "p2/f00002.pcap"), 1);
	ck_assert_int_eq(catalog_commit(cat), 0);
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(catalog_select_flows(cat, "1", "", 0, seen_fn, &s), 1);
	ck_assert_int_eq(s.probes, 0); /* p2 is gone, its counted probe with it */
	check_sums(cat);
	catalog_close(cat);
	spool_remove(&sp);
}
END_TEST

/* A version 2 catalog (no probes) is read as it is and given its probes by its writer. */
START_TEST(test_upgrade_v2)
{
	struct catalog *cat;
	struct spool s;
	struct seen seen;
	sqlite3 *db;
	int i;

	spool_make(&s);
	cat = open_ok(&s, 0);
	ck_assert_int_eq(catalog_begin(cat), 0);
	for (i = 0; i < 5; i++)
		add_one(cat, i, "p", 100 + i, 200 + i, 10);
	ck_assert_int_eq(catalog_commit(cat), 0);
	catalog_close(cat);
	ck_assert_int_eq(sqlite3_open(s.db, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db,
	                     "DROP TABLE probes; DROP TRIGGER files_delete;" CATALOG_FILES_DELETE_2
	                     "PRAGMA user_version = 2;",
	                     NULL, NULL, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
	cat = open_ok(&s, 1);
	memset(&seen, 0, sizeof seen);
	ck_assert_int_eq(catalog_select_flows(cat, "1", "", 0, seen_fn, &seen), 5);
	catalog_close(cat);
	cat = open_ok(&s, 0);
	ck_assert_int_eq(catalog_upgrade(cat, told), 1);
	ck_assert_int_eq(catalog_version(cat), CATALOG_VERSION);
	ck_assert_int_eq(catalog_begin(cat), 0);
	add_probe(cat, "p/unanswered-1.000000000.pcap", "p", "10.9.0.1", 150, 24);
	ck_assert_int_eq(catalog_commit(cat), 0);
	memset(&seen, 0, sizeof seen);
	ck_assert_int_eq(catalog_select_flows(cat, "1", "", 0, seen_fn, &seen), 6);
	check_sums(cat);
	catalog_close(cat);
	spool_remove(&s);
}
END_TEST

/* --- a full disk ------------------------------------------------------------- */

/* In the child of test_full_disk: add rows n0 .. n1-1 in one batch, then commit. */
static int
full_batch(struct catalog *cat, int n0, int n1, const char *part, const char *label, int *where)
{
	struct catalog_row r;
	char buf[64];
	int i;

	if (catalog_begin(cat) != 0)
		return -1;
	for (i = n0; i < n1; i++) {
		row_make(&r, buf, sizeof buf, i, part, (uint64_t)i, (uint64_t)i, 1);
		r.label = label;
		if (catalog_add(cat, &r) != 0) {
			*where = 'a';
			return -1;
		}
	}
	*where = 'c';
	return catalog_commit(cat);
}

/*
 * Writes fail past a file size limit (as on a full disk), in a child: a
 * batch that fits in SQLite's cache fails in catalog_commit, one too big
 * for it fails in catalog_add (its pages spill); each is rolled back
 * whole: no batch left open, none of its rows there. With room again, a
 * batch commits and the sums are right.
 */
START_TEST(test_full_disk)
{
	struct catalog_usage u;
	struct catalog *cat;
	struct spool s;
	pid_t pid;
	int status;

	spool_make(&s);
	make_catalog(&s);
	if ((pid = fork()) == 0) {
		struct catalog_usage cu, cr;
		struct rlimit rl;
		char label[2000];
		int where = 0;

		signal(SIGXFSZ, SIG_IGN);
		memset(label, 'x', sizeof label - 1);
		label[sizeof label - 1] = '\0';
		if ((cat = catalog_open(s.fd, s.path, 0, NULL)) == NULL)
			_exit(2);
		if (getrlimit(RLIMIT_FSIZE, &rl) == -1)
			_exit(3);
		rl.rlim_cur = 64 * 1024;
		if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
			_exit(3);
		/* 60 rows of 2 KB: in the cache, out at the commit */
		if (full_batch(cat, 100, 160, "big", label, &where) != -1 || where != 'c')
			_exit(4);
		if (catalog_commit(cat) != -1 || catalog_has(cat, "big/f00100.pcap") != 0)
			_exit(5);
		/*
		 * 40 MB of rows, more than the writer's 32 MiB cache: spilled
		 * while they are added (statement journals are in memory)
		 */
		if (full_batch(cat, 1000, 21000, "huge", label, &where) != -1 || where != 'a')
			_exit(6);
		if (catalog_commit(cat) != -1 || catalog_has(cat, "huge/f01000.pcap") != 0)
			_exit(7);
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
			_exit(3);
		if (full_batch(cat, 10, 13, "small", NULL, &where) != 0)
			_exit(8);
		if (catalog_usage(cat, &cu) != 0 || catalog_recount(cat, &cr) != 0 ||
		    cu.files != 4 || cr.files != 4 || cu.bytes != cr.bytes)
			_exit(9);
		catalog_close(cat);
		_exit(0);
	}
	ck_assert_int_ne(pid, -1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: status %d", status);
	cat = open_ok(&s, 0);
	ck_assert_int_eq(catalog_usage(cat, &u), 0);
	ck_assert_uint_eq(u.files, 4);
	ck_assert_uint_eq(u.bytes, 3 + 3);
	ck_assert_int_eq(catalog_has(cat, "big/f00100.pcap"), 0);
	ck_assert_int_eq(catalog_has(cat, "small/f00012.pcap"), 1);
	check_sums(cat);
	catalog_close(cat);
	spool_remove(&s);
}
END_TEST

/* --- read-only, batches, the path ------------------------------------------------ */

/*
 * Read-only: a missing catalog is an error and nothing is made; an
 * existing one is read, beside a writer and after it closed; it takes no
 * batch.
 */
START_TEST(test_readonly)
{
	struct catalog *w, *r;
	struct catalog_usage u;
	struct spool s;
	char text[256];

	spool_make(&s);
	refused(&s, 1, s.cat, "no catalog");
	ck_assert_msg(access(s.cat, F_OK) == -1, "a read-only open made the folder");
	ck_assert_int_eq(mkdir(s.cat, 0700), 0);
	refused(&s, 1, CATALOG_DB, "no catalog");
	ck_assert_msg(access(s.db, F_OK) == -1, "a read-only open made the database");
	put(s.db, ""); /* made, never given its tables */
	refused(&s, 1, CATALOG_DB, "no tables");

	w = open_ok(&s, 0);
	ck_assert_int_eq(catalog_begin(w), 0);
	add_one(w, 1, "p", 0, 30, 10);
	add_one(w, 2, "p", 0, 10, 20);
	add_one(w, 3, "p", 0, 20, 30);
	ck_assert_int_eq(catalog_commit(w), 0);
	r = open_ok(&s, 1);
	oldest_text(r, 10, 0, 3, text, sizeof text);
	ck_assert_str_eq(text, "2 3 1");
	ck_assert_int_eq(catalog_begin(w), 0);
	add_one(w, 4, "q", 0, 5, 40);
	ck_assert_int_eq(catalog_commit(w), 0);
	ck_assert_int_eq(catalog_usage(r, &u), 0);
	ck_assert_uint_eq(u.files, 4);
	ck_assert_uint_eq(u.bytes, 100);
	ck_assert_int_eq(catalog_begin(r), -1);
	ck_assert_msg(strstr(catalog_error(r), "read-only") != NULL, "%s", catalog_error(r));
	catalog_close(r);
	catalog_close(w);

	r = open_ok(&s, 1);
	oldest_text(r, 10, 0, 4, text, sizeof text);
	ck_assert_str_eq(text, "4 2 3 1");
	check_sums(r);
	catalog_close(r);
	spool_remove(&s);
}
END_TEST

/* add and delete outside a batch, a second begin, a commit of nothing: refused, said why. */
START_TEST(test_batch_rules)
{
	struct catalog_row r;
	struct catalog_usage u;
	struct catalog *cat;
	struct spool s;
	char buf[64];

	spool_make(&s);
	cat = open_ok(&s, 0);
	row_make(&r, buf, sizeof buf, 1, "p", 1, 2, 3);
	ck_assert_int_eq(catalog_add(cat, &r), -1);
	ck_assert_msg(
	    strstr(catalog_error(cat), "outside a batch") != NULL, "%s", catalog_error(cat));
	ck_assert_int_eq(catalog_delete(cat, 1), -1);
	ck_assert_int_eq(catalog_delete_fpout(cat, buf), -1);
	ck_assert_int_eq(catalog_commit(cat), -1);
	ck_assert_int_eq(catalog_begin(cat), 0);
	ck_assert_int_eq(catalog_begin(cat), -1);
	/* A row without part is refused, the batch kept. */
	r.part = NULL;
	ck_assert_int_eq(catalog_add(cat, &r), -1);
	r.part = "p";
	ck_assert_int_eq(catalog_add(cat, &r), 0);
	ck_assert_int_eq(catalog_has(cat, buf), 1); /* the batch's own view */
	ck_assert_int_eq(catalog_commit(cat), 0);
	/* Rolled back: gone, the sums with it. */
	ck_assert_int_eq(catalog_begin(cat), 0);
	ck_assert_int_eq(catalog_delete_fpout(cat, buf), 1);
	add_one(cat, 2, "p", 1, 2, 1000);
	catalog_rollback(cat);
	catalog_rollback(cat); /* none open: nothing */
	ck_assert_int_eq(catalog_has(cat, buf), 1);
	ck_assert_int_eq(catalog_has(cat, "p/f00002.pcap"), 0);
	ck_assert_int_eq(catalog_usage(cat, &u), 0);
	ck_assert_uint_eq(u.files, 1);
	ck_assert_uint_eq(u.bytes, 3);
	/* A batch left open at close is rolled back. */
	ck_assert_int_eq(catalog_begin(cat), 0);
	add_one(cat, 3, "p", 1, 2, 1000);
	catalog_close(cat);
	cat = open_ok(&s, 0);
	ck_assert_int_eq(catalog_has(cat, "p/f00003.pcap"), 0);
	check_sums(cat);
	catalog_close(cat);
	spool_remove(&s);
}
END_TEST

/*
 * A spool named through a link above it (/var/run -> /run), as spool_open
 * accepts: the catalog opens (SQLite gets the folder's real path, so
 * SQLITE_OPEN_NOFOLLOW holds) and lives in the real spool.
 */
START_TEST(test_spool_through_link)
{
	struct spool s;
	struct catalog *cat;
	char via[4150], real[4400];

	spool_make(&s);
	snprintf(via, sizeof via, "%s/run", s.dir);
	ck_assert_int_eq(symlink(s.dir, via), 0);
	snprintf(s.path, sizeof s.path, "%s/spool", via); /* fd: the same spool */
	cat = open_ok(&s, 0);
	ck_assert_int_eq(catalog_begin(cat), 0);
	add_one(cat, 1, "p", 1, 2, 3);
	ck_assert_int_eq(catalog_commit(cat), 0);
	catalog_close(cat);
	snprintf(real, sizeof real, "%s/spool/%s/%s", s.dir, CATALOG_DIR, CATALOG_DB);
	ck_assert_int_eq(access(real, F_OK), 0);
	spool_remove(&s);
}
END_TEST

static Suite *
catalog_suite(void)
{
	Suite *s = suite_create("catalog");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_commit_reopen);
	tcase_add_test(tc, test_oldest_order);
	tcase_add_test(tc, test_parts);
	tcase_add_test(tc, test_sums_by_hand);
	tcase_add_test(tc, test_explain);
	tcase_add_test(tc, test_refuse_dir_link);
	tcase_add_test(tc, test_refuse_planted_files);
	tcase_add_test(tc, test_refuse_open_dir);
	tcase_add_test(tc, test_refuse_newer);
	tcase_add_test(tc, test_upgrade_v1);
	tcase_add_test(tc, test_upgrade_v2);
	tcase_add_test(tc, test_probes);
	tcase_add_test(tc, test_readonly);
	tcase_add_test(tc, test_batch_rules);
	tcase_add_test(tc, test_spool_through_link);
	suite_add_tcase(s, tc);
	/* thousands of rows: seconds under the sanitizers, not check's default 4 */
	tc = tcase_create("bulk");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_random_mix);
	tcase_add_test(tc, test_crash_uncommitted);
	tcase_add_test(tc, test_full_disk);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(catalog_suite());
	int failed;

	log_init("check_catalog", LOG_LVL_WARN, LOG_TO_STDERR);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
