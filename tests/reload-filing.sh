#!/bin/bash
# reload-filing.sh: where finished files go after a reload.
#
# A reload (SIGHUP or traceflowctl reload) replaces the running
# configuration; the file writer's thread must not keep pointers into the
# old one. Here a live daemon in a network namespace files flows before and
# after reloads: with nothing changed, with limits changed, and with a dated
# layout. After each, every new index line must name, in "fpout", an
# existing file in its partition (the hour, UTC, of the flow's end), directly
# (or in the YYYY/MM/DD folder of the flow's start, in local time) named after the flow's label, holding the
# flow's packets; and the spool must hold no other folder and no file the
# index does not name. The daemon's log must show no sanitizer report.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd tcpreplay
need_cmd python3
need_traceflowd
need_file "$GENCAP" gencap
TRACEFLOWCTL=${TRACEFLOWCTL:-$top_builddir/traceflowctl}
need_file "$TRACEFLOWCTL" traceflowctl
netns_setup

# Small captures of 20 closed connections (10 frames each), each with a
# seed and start time of its own. (Live, a flow's start, in its label and
# for the layout, is when the daemon saw it, not the capture's time stamp.)
# gen NAME SEED START
gen() {
	"$GENCAP" -c 20 -C 5 -p 4 -S "$2" -t "$3" -o "$WORK/$1.pcap" 2>/dev/null ||
	    fail "gencap $1 failed"
}
gen a 11 1700000000
gen b 12 1700003600
gen c 13 1700007200
gen d1 21 1701000000
gen d2 22 1702000000
gen e 31 1703000000



# index_lines SPOOL: lines in SPOOL/index.jsonl (0 when there is none).
index_lines() {
	if [ -f "$1/index.jsonl" ]; then
		wc -l <"$1/index.jsonl"
	else
		echo 0
	fi
}

# wait_index SPOOL N SECONDS: until the index has at least N lines.
wait_index() {
	for _ in $(seq $(($3 * 10))); do
		[ "$(index_lines "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# replay_and_check WHAT SPOOL CAP LAYOUT: replay CAP (20 flows), wait for
# their index lines, and check where they were filed (check_filing).
# Failures are recorded, never returned: the next steps run regardless.
replay_and_check() {
	local what=$1 spool=$2 cap=$3 layout=$4 from

	from=$(index_lines "$spool")
	replay "$WORK/$cap.pcap"
	if ! wait_index "$spool" $((from + 20)) 10; then
		check_fail "$what: $(($(index_lines "$spool") - from)) of 20 index lines within 10 s"
		return 0
	fi
	check_filing "$what" "$spool" "$from" $((from + 20)) "$layout"
}

# check_filing WHAT SPOOL FROM TOTAL LAYOUT: the index has TOTAL lines, all
# JSON; those from line FROM on name their files well (see the top); the
# spool holds only the folders LAYOUT makes for the flows' start times,
# .active, index.jsonl and the files the index names.
check_filing() {
	local what=$1 spool=$2 from=$3 total=$4 layout=$5

	if python3 - "$spool" "$from" "$total" "$layout" >"$WORK/filing.out" 2>&1 <<'EOF'; then
import json, os, struct, sys, time
D, start, total, layout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
errs = []

def frames(path):
    d = open(path, "rb").read()
    if len(d) < 24:
        return -1
    end = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    off, n = 24, 0
    while off + 16 <= len(d):
        incl = struct.unpack(end + "I", d[off + 8:off + 12])[0]
        off += 16 + incl
        n += 1
    return n if off == len(d) else -1

lines = open(os.path.join(D, "index.jsonl"), "rb").read().split(b"\n")
if lines and lines[-1] == b"":
    lines.pop()
E = []
for i, l in enumerate(lines):
    try:
        E.append(json.loads(l))
    except ValueError as e:
        errs.append("line %d is not JSON (%s): %r" % (i + 1, e, l[:120]))
        E.append(None)
if len(E) != total:
    errs.append("%d index lines, %d expected" % (len(E), total))

named = set()
dirs = set()
for i, e in enumerate(E):
    if e is None:
        continue
    fp = e.get("fpout")
    if isinstance(fp, str):
        named.add(fp)
        d = os.path.dirname(fp)
        while d:
            dirs.add(d)
            d = os.path.dirname(d)
    if i < start:
        continue
    where = "line %d (%s)" % (i + 1, e.get("label"))
    if not isinstance(fp, str):
        errs.append("%s: fpout is %r" % (where, fp))
        continue
    want_dir = time.strftime(layout, time.localtime(e["first_ns"] / 1e9)) if layout else ""
    # The partition first: the hour (UTC) of the flow's end (names.h).
    part = time.strftime("%Y-%m-%dT%H", time.gmtime(e["last_ns"] // 10**9))
    seg = ".seg%d" % e["segment"] if e.get("segment") else ""
    want = os.path.join(part, want_dir, e["label"] + seg + ".pcap")
    if fp != want:
        errs.append("%s: fpout %r, %r expected" % (where, fp, want))
    path = os.path.join(D, fp)
    if not os.path.isfile(path):
        errs.append("%s: %s does not exist" % (where, fp))
        continue
    n = frames(path)
    if n != e["packets"]:
        errs.append("%s: %s holds %d frames for %d packets" % (where, fp, n, e["packets"]))

# The spool: .active, .catalog, .lock, index.jsonl, the layout's folders and the named files.
for root, subdirs, files in os.walk(D):
    rel = os.path.relpath(root, D)
    rel = "" if rel == "." else rel
    if rel in (".active", ".catalog"):
        subdirs[:] = []
        continue
    for s in list(subdirs):
        r = os.path.join(rel, s)
        if r not in (".active", ".catalog") and r not in dirs:
            errs.append("unexpected folder in the spool: %r" % r)
            subdirs.remove(s)
    for f in files:
        r = os.path.join(rel, f)
        if f != "index.jsonl" and r != ".lock" and r not in named:  # a log, the lock
            errs.append("file in the spool no index line names: %r" % r)

# The spool's problems first (a few say more than many lines alike).
errs = [m for m in errs if m.startswith(("unexpected", "file in"))] + \
    [m for m in errs if not m.startswith(("unexpected", "file in"))]
for m in errs[:8]:
    print(m, file=sys.stderr)
if len(errs) > 8:
    print("... %d problems in all" % len(errs), file=sys.stderr)
if errs:
    sys.exit(1)
print("%d new lines, files in place%s" % (total - start, " under " + layout if layout else ""))
EOF
		ok "$what: $(cat "$WORK/filing.out")"
	else
		check_fail "$what: $(head -n 9 "$WORK/filing.out")"
	fi
}

# sanitizer_check NAME: no AddressSanitizer/UBSan report in a daemon's log.
sanitizer_check() {
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$DAEMON_LOG"; then
		check_fail "$1: sanitizer report: $(grep -m 3 -E \
		    'AddressSanitizer|LeakSanitizer|runtime error' "$DAEMON_LOG")"
	fi
}

# stop_check NAME: SIGTERM; the daemon exits 0.
stop_check() {
	daemon_stop
	[ "$DAEMON_RC" -eq 0 ] || check_fail "$1: exit $DAEMON_RC on SIGTERM: $(tail -n 3 "$DAEMON_LOG")"
	sanitizer_check "$1"
}

# --- 1. a flat spool: before a reload, after one with nothing changed, -----
# and after one (through the control socket) that changes limits.
flat() {
	local spool=$WORK/flat conf=$WORK/flat.conf rc=0

	daemon_conf "$conf" "$spool" 'interfaces = ["vb"]' 'linger = "200ms"' \
	    'flush_interval = "100ms"'
	daemon_start flat "$conf"

	# Proves the check itself: before any reload, files are where they belong.
	replay_and_check "flat, before any reload" "$spool" a ""

	# (i) SIGHUP with the same file: the writer must still know its layout.
	kill -HUP "$DAEMON_PID"
	wait_for "$DAEMON_LOG" "reloaded .*nothing changed" 5 ||
	    check_fail "flat: SIGHUP reload not logged: $(tail -n 3 "$DAEMON_LOG")"
	replay_and_check "flat, after SIGHUP with nothing changed" "$spool" b ""

	# (ii) traceflowctl reload with new limits (the writer's setlimits path).
	daemon_conf "$conf" "$spool" 'interfaces = ["vb"]' 'linger = "200ms"' \
	    'flush_interval = "150ms"' 'max_open_files = 16' 'idle_timeout = "120s"'
	"$TRACEFLOWCTL" -s "$WORK/ctl.sock" reload >"$WORK/ctl-reload.out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || check_fail "flat: traceflowctl reload: rc $rc: $(cat "$WORK/ctl-reload.out")"
	wait_for "$DAEMON_LOG" "reloaded " 5 2 ||
	    check_fail "flat: traceflowctl reload not logged: $(tail -n 3 "$DAEMON_LOG")"
	grep -q "reloaded .*max_open_files" "$DAEMON_LOG" ||
	    check_fail "flat: the reload did not take max_open_files: $(grep reloaded "$DAEMON_LOG")"
	replay_and_check "flat, after traceflowctl reload with new limits" "$spool" c ""

	stop_check flat
	if [ -n "$(ls -A "$spool/.active" 2>/dev/null)" ]; then
		check_fail "flat: files left in .active after SIGTERM"
	fi
	check_filing "flat, after SIGTERM" "$spool" 60 60 ""
}

# --- 2. a dated layout, before and after a reload ---------------------------
# Every file goes under the YYYY/MM/DD of its flow's start, also after the
# reload: the writer must still have the layout it was given.
dated() {
	local spool=$WORK/dated conf=$WORK/dated.conf

	daemon_conf "$conf" "$spool" 'interfaces = ["vb"]' 'linger = "200ms"' \
	    'flush_interval = "100ms"' 'layout = "%Y/%m/%d"'
	daemon_start dated "$conf"
	replay_and_check "dated, before any reload" "$spool" d1 "%Y/%m/%d"
	kill -HUP "$DAEMON_PID"
	wait_for "$DAEMON_LOG" "reloaded .*nothing changed" 5 ||
	    check_fail "dated: SIGHUP reload not logged: $(tail -n 3 "$DAEMON_LOG")"
	replay_and_check "dated, after SIGHUP" "$spool" d2 "%Y/%m/%d"
	stop_check dated
}

# --- 3. a reload's timeouts take effect --------------------------------------
# Not only the config read back: after a reload from linger 200ms to 20s,
# 20 closed connections are still lingering 2 s later (no index line); a
# daemon that kept the old timeouts would have filed them after 200 ms.
timeouts() {
	local spool=$WORK/timeouts conf=$WORK/timeouts.conf

	daemon_conf "$conf" "$spool" 'interfaces = ["vb"]' 'linger = "200ms"' \
	    'flush_interval = "100ms"'
	daemon_start timeouts "$conf"
	daemon_conf "$conf" "$spool" 'interfaces = ["vb"]' 'linger = "20s"' \
	    'flush_interval = "100ms"'
	kill -HUP "$DAEMON_PID"
	wait_for "$DAEMON_LOG" "reloaded .*linger" 5 ||
	    check_fail "timeouts: reload not logged: $(tail -n 3 "$DAEMON_LOG")"
	replay "$WORK/e.pcap"
	# A bound on an absence: nothing may be filed within 2 s (10x the old linger).
	if wait_index "$spool" 1 2; then
		check_fail "timeouts: $(index_lines "$spool") flows filed within 2 s: the reload's linger = \"20s\" was not applied"
	else
		ok "timeouts: after a reload to linger 20s, the closed flows still linger 2 s later"
	fi
	stop_check timeouts
	[ "$(index_lines "$spool")" -eq 20 ] ||
	    check_fail "timeouts: $(index_lines "$spool") of 20 flows filed at SIGTERM"
}

flat
dated
timeouts
finish
