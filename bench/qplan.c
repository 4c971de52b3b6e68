/*
 * qplan.c: bench/query's helper. The plan SQLite chooses for the statement
 * `traceflowctl query` runs, built by the tree's own code: the expression
 * through qexpr_parse and qexpr_sql (src/qexpr.c), the SELECT as
 * src/query.c's select_rows makes it without --limit, explained by
 * catalog_explain on the spool's catalog opened read-only, with
 * qexpr_register's functions, as query_run opens it:
 *
 *     qplan SPOOL EXPRESSION...
 *
 * Prints "where: ...", "sql: ..." and the EXPLAIN QUERY PLAN detail lines,
 * each after "plan: ". Exit 1 on a failure, 2 on a bad expression.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "qexpr.h"
#include "xmalloc.h"

int
main(int argc, char **argv)
{
	struct catalog *cat;
	struct qexpr *q;
	struct timespec now;
	char *cause = NULL, *where, *sql, *plan, *line, *save = NULL;
	int fd, word;

	if (argc < 2) {
		fprintf(stderr, "usage: qplan SPOOL EXPRESSION...\n");
		return 2;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	q = qexpr_parse(argc - 2, argv + 2,
	    (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec, &cause, &word);
	if (q == NULL) {
		fprintf(stderr, "qplan: %s\n", cause);
		return 2;
	}
	if ((fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		perror(argv[1]);
		return 1;
	}
	if ((cat = catalog_open(fd, argv[1], 1, &cause)) == NULL) {
		fprintf(stderr, "qplan: %s\n", cause);
		return 1;
	}
	if (qexpr_register(catalog_handle(cat)) == -1) {
		fprintf(stderr, "qplan: qexpr_register: %s\n", catalog_error(cat));
		return 1;
	}
	if (qexpr_bound(q, catalog_handle(cat)) == -1) {
		fprintf(stderr, "qplan: qexpr_bound: %s\n", sqlite3_errmsg(catalog_handle(cat)));
		return 1;
	}
	where = qexpr_sql(q);
	/* src/query.c, select_rows, without --limit. */
	xasprintf(
	    &sql, "SELECT " CATALOG_COLUMNS " FROM files WHERE %s ORDER BY first_ns, id", where);
	printf("where: %s\nsql: %s\n", where, sql);
	if ((plan = catalog_explain(cat, sql)) == NULL) {
		fprintf(stderr, "qplan: %s\n", catalog_error(cat));
		return 1;
	}
	for (line = strtok_r(plan, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		printf("plan: %s\n", line);
	free(plan);
	free(sql);
	free(where);
	qexpr_free(q);
	catalog_close(cat);
	close(fd);
	return 0;
}
