/*
 * catread.c: the catalog's reads for the query tool and the tests (a
 * select of flows, files and probes together, and its plan), on top of
 * catalog.c's connection: catalog.h declares them.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "catalog.h"
#include "xmalloc.h"

char *
catalog_explain(struct catalog *cat, const char *select_sql)
{
	sqlite3_stmt *st;
	char *sql, *plan;
	const char *detail;
	size_t len = 0, dlen;
	int rc;

	xasprintf(&sql, "EXPLAIN QUERY PLAN %s", select_sql);
	rc = sqlite3_prepare_v2(catalog_handle(cat), sql, -1, &st, NULL);
	free(sql);
	if (rc != SQLITE_OK) {
		catalog_fail(cat, "explain");
		return NULL;
	}
	plan = xstrdup("");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((detail = (const char *)sqlite3_column_text(st, 3)) == NULL)
			continue;
		dlen = strlen(detail);
		plan = xreallocarray(plan, len + dlen + 2, 1);
		if (len > 0)
			plan[len++] = '\n';
		memcpy(plan + len, detail, dlen + 1);
		len += dlen;
	}
	if (rc != SQLITE_DONE) {
		catalog_fail(cat, "explain");
		free(plan);
		plan = NULL;
	}
	sqlite3_finalize(st);
	return plan;
}

/* Run sql (freed here), a select of CATALOG_COLUMNS and maybe offset and length: fn per row. */
static int
select_sql(
    struct catalog *cat, char *sql, int (*fn)(const struct catalog_row *row, void *arg), void *arg)
{
	struct catalog_row row;
	sqlite3_stmt *st = NULL;
	int rc, n = 0;

	if (sqlite3_prepare_v2(catalog_handle(cat), sql, -1, &st, NULL) != SQLITE_OK) {
		catalog_fail(cat, "select");
		free(sql);
		return -1;
	}
	free(sql);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		catalog_read_row(st, &row);
		n++;
		if (fn(&row, arg) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		n = catalog_fail(cat, "select");
	sqlite3_finalize(st);
	return n;
}

int
catalog_select(struct catalog *cat, const char *where, const char *tail,
    int (*fn)(const struct catalog_row *row, void *arg), void *arg)
{
	char *sql;

	xasprintf(&sql, "SELECT " CATALOG_COLUMNS " FROM files WHERE %s %s", where, tail);
	return select_sql(cat, sql, fn, arg);
}

int
catalog_select_flows(struct catalog *cat, const char *where, const char *tail, uint64_t newest,
    int (*fn)(const struct catalog_row *row, void *arg), void *arg)
{
	char *sql, *both;
	int v;

	/* A version 2 catalog (a reader does not upgrade) has no probes. */
	if ((v = catalog_version(cat)) == -1)
		return -1;
	if (v < 3)
		xasprintf(
		    &both, "SELECT " CATALOG_COLUMNS ", NULL, NULL FROM files WHERE %s", where);
	else
		xasprintf(&both, CATALOG_SQL_FLOWS, where, where);
	if (newest == 0)
		xasprintf(&sql, "%s %s", both, tail);
	else
		xasprintf(&sql,
		    "SELECT * FROM (%s ORDER BY first_ns DESC, id DESC LIMIT %" PRIu64 ") %s", both,
		    newest, tail);
	free(both);
	return select_sql(cat, sql, fn, arg);
}
