#!/bin/bash
# index-retention.sh: in a flat spool (partition_files = 0; partitioned
# spools, where each partition's index follows and index.jsonl is a log
# never rewritten: spool-catalog.sh), index.jsonl follows the spool. A live daemon whose
# max_spool_size keeps 10 of 30 equal files: once retention deleted the 20
# oldest, every index line names a file that exists and every file has its
# line, while `traceflowctl list --finished` still shows all 30. Then the
# index moved away and SIGHUP (logrotate's way): the next flows' lines go to
# a new index.jsonl and the moved file gains nothing. A symbolic link planted
# at index.jsonl before the reopen is not followed: logged, the lines wait
# (pending) and reach a new index once the link is gone. At restart, the
# lines of a file removed while the daemon was down go too.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck disable=SC2154 # failures: lib.sh's count of recorded failures

need_root
need_cmd tcpreplay
need_traceflowd
need_file "$GENCAP" gencap
TRACEFLOWCTL=$top_builddir/traceflowctl
need_file "$TRACEFLOWCTL" traceflowctl
netns_setup

# 30 connections of 80 packets of 1400 bytes: 30 files of the same size.
"$GENCAP" -c 30 -p 80 -s 1400 -S 31 -o "$WORK/first.pcap" 2>/dev/null || fail "gencap failed"
"$GENCAP" -c 5 -p 4 -S 32 -t 1800000000 -o "$WORK/second.pcap" 2>/dev/null
"$GENCAP" -c 3 -p 4 -S 33 -t 1800001000 -o "$WORK/third.pcap" 2>/dev/null
FILE_SIZE=118052 # what each of first.pcap's connections makes (pcap, nanosecond)

spool=$WORK/spool
ctl() { "$TRACEFLOWCTL" -s "$WORK/ctl.sock" "$@"; }
# nlines FILE: its lines, 0 when it does not exist.
nlines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# check_follows WHAT: every index line's file exists, every file has its line.
check_follows() {
	python3 - "$spool" "$1" <<'PY' || check_fail "$1: the index does not follow the spool"
import json, os, sys
spool, what = sys.argv[1], sys.argv[2]
lines = [json.loads(l) for l in open(os.path.join(spool, "index.jsonl"))]
named = {e["fpout"] for e in lines}
files = set()
for root, dirs, names in os.walk(spool):
    dirs[:] = [d for d in dirs if d != ".active"]
    for n in names:
        if n.endswith(".pcap"):
            files.add(os.path.relpath(os.path.join(root, n), spool))
dangling = sorted(f for f in named if not os.path.exists(os.path.join(spool, f)))
unindexed = sorted(files - named)
if dangling or unindexed or len(named) != len(lines):
    print(f"{what}: {len(lines)} lines, {len(files)} files; lines of deleted files "
          f"{dangling[:3]}, files without a line {unindexed[:3]}", file=sys.stderr)
    sys.exit(1)
print(f"ok: {what}: {len(lines)} lines, {len(files)} files, each with the other")
PY
}

# --- 1. retention deletes 20 of 30: their lines go -------------------------
daemon_conf "$WORK/d.conf" "$spool" 'interfaces = ["vb"]' 'linger = "1s"' 'partition_files = 0' \
    "max_spool_size = $((10 * FILE_SIZE))"
daemon_start d1 "$WORK/d.conf" -v # -v: a line per file retention deletes
replay "$WORK/first.pcap"
wait_for "$DAEMON_LOG" "retention: deleted" 40 20 ||
    fail "retention deleted $(grep -c 'retention: deleted' "$DAEMON_LOG") files, want 20"
# The prune follows the deletions on the file writer thread.
for _ in $(seq 50); do
	[ "$(nlines "$spool/index.jsonl")" -eq 10 ] && break
	sleep 0.1
done
files=$(find "$spool" -name '*.pcap' | wc -l)
lines=$(nlines "$spool/index.jsonl")
if [ "$files" -eq 10 ] && [ "$lines" -eq 10 ]; then
	ok "retention deleted 20 of 30 files: the index holds the 10 left"
else
	check_fail "after retention: $files files, $lines index lines (want 10 and 10)"
fi
check_follows "after retention"
grep -q "lines of files no longer in the spool dropped" "$DAEMON_LOG" ||
    check_fail "the prune was not logged"
[ ! -e "$spool/.index.jsonl.new" ] || check_fail "the rewrite left .index.jsonl.new behind"
# The control channel's history does not depend on the file.
if ctl list --finished | grep -q "30 finished"; then
	ok "list --finished still shows the 30 flows indexed since start"
else
	check_fail "list --finished: $(ctl list --finished | tail -n 1)"
fi

# --- 2. moved away, SIGHUP: a new index.jsonl, nothing into the moved one -----
mv "$spool/index.jsonl" "$WORK/index.moved"
cp "$WORK/index.moved" "$WORK/index.moved.before"
kill -HUP "$DAEMON_PID"
wait_for "$DAEMON_LOG" "index.jsonl: reopened by name, a new file" 5 ||
    check_fail "SIGHUP did not reopen the index: $(tail -n 3 "$DAEMON_LOG")"
replay "$WORK/second.pcap"
for _ in $(seq 100); do
	[ "$(nlines "$spool/index.jsonl")" -ge 5 ] && break
	sleep 0.1
done
if [ "$(nlines "$spool/index.jsonl")" -eq 5 ] &&
    cmp -s "$WORK/index.moved" "$WORK/index.moved.before"; then
	ok "after mv + SIGHUP: the 5 new lines are in a new index.jsonl, the moved file unchanged"
else
	check_fail "after mv + SIGHUP: $(nlines "$spool/index.jsonl") lines in the new" \
	    "index (want 5), moved file $(wc -l <"$WORK/index.moved") lines (was $(wc -l <"$WORK/index.moved.before"))"
fi
# traceflowctl reload reopens too (the unit's ExecReload, logrotate's postrotate).
mv "$spool/index.jsonl" "$WORK/index.moved2"
ctl reload >/dev/null || check_fail "traceflowctl reload failed"
wait_for "$DAEMON_LOG" "index.jsonl: reopened by name, a new file" 5 2 ||
    check_fail "traceflowctl reload did not reopen the index"
[ -f "$spool/index.jsonl" ] && [ ! -s "$spool/index.jsonl" ] ||
    check_fail "reload: no new empty index.jsonl"

# --- 3. a link planted at index.jsonl before the reopen: refused -----------
echo "canary" >"$WORK/canary"
cp "$WORK/canary" "$WORK/canary.before"
rm -f "$spool/index.jsonl"
ln -s "$WORK/canary" "$spool/index.jsonl"
kill -HUP "$DAEMON_PID"
wait_for "$DAEMON_LOG" "index.jsonl: is a symbolic link; never written through.*not reopened" 5 ||
    check_fail "the planted link was not refused in the log: $(tail -n 3 "$DAEMON_LOG")"
replay "$WORK/third.pcap"
pending=
for _ in $(seq 100); do
	pending=$(ctl -j stats | python3 -c \
	    'import json, sys; d = json.load(sys.stdin); print(d.get("totals", d)["index_lines_pending"])')
	[ "$pending" -ge 3 ] && break
	sleep 0.1
done
if [ "$pending" -eq 3 ] && cmp -s "$WORK/canary" "$WORK/canary.before" &&
    [ -L "$spool/index.jsonl" ] && cmp -s "$WORK/index.moved" "$WORK/index.moved.before"; then
	ok "planted link: not followed, 3 lines pending, canary and moved index unchanged"
else
	check_fail "planted link: $pending lines pending (want 3), canary $(cat "$WORK/canary")"
fi
kill -0 "$DAEMON_PID" || fail "the daemon died on a planted link"
# The link removed: the waiting lines reach a new index (tried every second).
rm "$spool/index.jsonl"
for _ in $(seq 50); do
	[ "$(nlines "$spool/index.jsonl")" -ge 3 ] && break
	sleep 0.1
done
if [ "$(nlines "$spool/index.jsonl")" -eq 3 ]; then
	ok "link removed: the 3 waiting lines in a new index.jsonl"
else
	check_fail "link removed: $(nlines "$spool/index.jsonl") lines (want 3)"
fi
daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "SIGTERM: exit $DAEMON_RC"

# --- 4. restart: lines of files deleted while the daemon was down go -------
gone=$(python3 -c 'import json, sys; print(json.loads(open(sys.argv[1]).readline())["fpout"])' \
    "$spool/index.jsonl")
rm "$spool/$gone"
daemon_conf "$WORK/d.conf" "$spool" 'interfaces = ["vb"]' 'partition_files = 0'
daemon_start d2 "$WORK/d.conf" -v
wait_for "$DAEMON_LOG" "1 lines of files no longer in the spool dropped" 5 ||
    check_fail "restart: the line of a removed file stayed: $(tail -n 3 "$DAEMON_LOG")"
daemon_stop
if [ "$(nlines "$spool/index.jsonl")" -eq 2 ] && ! grep -qF "\"$gone\"" "$spool/index.jsonl"; then
	ok "restart: the line of the file removed meanwhile dropped, the other 2 kept"
else
	check_fail "restart: $(nlines "$spool/index.jsonl") lines (want 2)"
fi

finish
