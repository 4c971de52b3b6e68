/*
 * qexpr.h: the expressions of `traceflowctl query`, words as on tcpdump's
 * command line, over the catalog's rows (catalog.h) rather than packets:
 *
 *   host ADDR | src host ADDR | dst host ADDR | net CIDR | src net CIDR |
 *   dst net CIDR | port N | src port N | dst port N | vlan N |
 *   interface NAME | label GLOB | reason NAME | partial |
 *   after TIME | before TIME
 *
 * joined by "and" (also "&&"), "or" ("||"), "not" ("!") and parentheses,
 * with tcpdump's precedence: not binds tightest, then and, then or. Two
 * primitives side by side without a word between them are an error (no
 * implicit "and"). "src" and "dst" are the connection's initiator and
 * responder as its label names them (the row's src and dst). TIME is RFC
 * 3339 (2026-12-06T10:00:00Z, 2026-12-06T10:00:00.5+01:00; without a zone
 * the local time, the process's TZ; a date alone is its local midnight;
 * the seconds may be left out), epoch seconds (1796551200, 1796551200.25),
 * or relative to now: "3m ago", "2h ago", "1d ago" (two words; units as
 * duration.h's), from 1970 to 2262 (the catalog's signed 64-bit ns). A
 * flow matches "after T" when it ends at or after T, "before T" when it
 * begins at or before T: a range [T1, T2] is "after T1 and before T2",
 * every flow that overlaps it (TIME: qtime.h).
 *
 * vlan N matches a flow any of whose tags is N (the row's vlan is the tags
 * outermost first, joined by ","). reason is one of flow_reason_name()'s
 * words (fin, rst, idle, submit, eof, evicted, shutdown, recovered, reuse,
 * rotate, unanswered, refused); label GLOB is SQLite's GLOB (*, ?, [...]); interface is exact.
 * ADDR is any form inet_pton reads; it is compared in inet_ntop's form, the
 * one the catalog stores, so that "host" and "port" use its indexes. CIDR
 * is ADDR/LEN, or ADDR for the address alone; bits set past LEN are an
 * error, as in tcpdump. N is decimal digits (no service names). A field
 * the row lacks (NULL) matches no primitive: "not interface eth0" matches
 * the rows without an interface too.
 *
 * Pure but for the SQLite function it registers and mktime's reading of
 * the local time zone: no other I/O, no globals.
 */
#ifndef TRACEFLOW_QEXPR_H
#define TRACEFLOW_QEXPR_H

#include <stddef.h>
#include <stdint.h>

struct catalog_row;
struct sqlite3;
struct qexpr;

/*
 * Parse argv[0..argc-1], read as tcpdump does: the words joined by blanks,
 * then split again at blanks and around "(", ")", "!", "&&" and "||", so
 * "host 10.0.0.1 and port 80" may come as one argument or as five, and
 * "(host" as one. now_ns is what relative times count back from. NULL on
 * error, with *cause (the word where it failed, quoted, and why: `at "foo"
 * (word 2): expected "host", "net" or "port" after "src"`; "at the end"
 * when words ran out) and *word the failing word's number counted from 1
 * (the number of words + 1 at the end). An empty expression (argc 0, or
 * blanks) matches every row.
 */
struct qexpr *qexpr_parse(int argc, char *const argv[], uint64_t now_ns, char **cause, int *word);

void qexpr_free(struct qexpr *q);

/*
 * A WHERE clause over the catalog's files table (without "WHERE"), its
 * values written in, strings quoted by SQLite's %Q; "1" for the empty
 * expression. malloc'd. It may call the functions qexpr_register adds.
 * Terms outside any "not" come out as plain comparisons (host as "src =
 * 'A' OR dst = 'A'", after and before on last_ns and first_ns, before also
 * on last_ns once qexpr_bound has run), so that SQLite can use the
 * catalog's indexes; "not x" is NOT coalesce(x, 0), so
 * that a NULL column answers as in qexpr_match.
 */
char *qexpr_sql(const struct qexpr *q);

/*
 * Bound each "before T" by the latest end of a flow that began by T, read
 * from the catalog db (its parts table): qexpr_sql then adds "last_ns <=
 * that" for the indexes. Call it in the read transaction of the select.
 * 0, or -1 (sqlite3_errmsg says why).
 */
int qexpr_bound(struct qexpr *q, struct sqlite3 *db);

/* Add the SQL function qexpr_sql's clauses call to db (tf_in_net, for net). 0 or -1. */
int qexpr_register(struct sqlite3 *db);

/* Does the row match? The same answer as the SQL clause gives (the unit tests compare them). */
int qexpr_match(const struct qexpr *q, const struct catalog_row *row);

/*
 * The time range every match overlaps, from the top-level conjunction:
 * [*after_ns, *before_ns] (0 and UINT64_MAX where the expression does not
 * bound it), for narrowing a walk by partitions.
 */
void qexpr_bounds(const struct qexpr *q, uint64_t *after_ns, uint64_t *before_ns);

#endif
