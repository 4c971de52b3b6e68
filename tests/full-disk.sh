#!/bin/bash
# full-disk.sh: a spool that runs out of space, offline and live.
#
# The spool is a 2 MiB tmpfs; the capture, 2,000 connections of 26 frames
# (52,000 frames, about 11 MB), cannot fit. What cannot be written must be
# lost cleanly and counted, never left as a broken file or a broken index:
#   - every pcap file in the spool is whole: more than its header, read by
#     tcpdump without complaint (no 0-byte or header-only files, no
#     "truncated dump file");
#   - every line of index.jsonl is JSON (no line cut short, no fragment
#     glued to the next entry once space returns);
#   - every frame is either in a file or counted in frames_lost, and an
#     index line says how much of its flow's file was written ("written",
#     "truncated").
# Live, the daemon logs the lack of space, counts the loss in its stats
# (its metrics, stats --prometheus, saying the same: write errors, frames
# and bytes lost), and once space returns files and indexes new flows as usual.

set -eu
# A mount left behind by a killed run would keep lib.sh from wiping the work dir.
for m in "${top_builddir:-$(dirname "$0")/..}"/tests/work/full-disk/tiny?; do
	mountpoint -q "$m" 2>/dev/null && { umount "$m" || umount -l "$m"; } 2>/dev/null
done
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd tcpdump
need_cmd tcpreplay
need_cmd python3
need_cmd mount
need_cmd umount
need_traceflowd
need_file "$GENCAP" gencap
TRACEFLOWCTL=${TRACEFLOWCTL:-$top_builddir/traceflowctl}
need_file "$TRACEFLOWCTL" traceflowctl

# --- tiny file systems, unmounted whatever happens ---------------------------
MOUNTS=()

# mount_tiny DIR: a fresh 2 MiB tmpfs on DIR; skips the test if refused.
mount_tiny() {
	mkdir -p "$1"
	if ! mount -t tmpfs -o size=2m,mode=0755 tmpfs "$1" 2>"$WORK/mount.err"; then
		skip "cannot mount a 2 MiB tmpfs: $(cat "$WORK/mount.err")"
	fi
	MOUNTS+=("$1")
}

# umount_tiny DIR: unmount it (lazily if something still holds it).
umount_tiny() {
	local i

	umount "$1" 2>/dev/null || umount -l "$1" 2>/dev/null || true
	for i in "${!MOUNTS[@]}"; do
		[ "${MOUNTS[$i]}" = "$1" ] && unset "MOUNTS[$i]"
	done
	return 0
}

# shellcheck disable=SC2317 # called from the EXIT trap
full_disk_exit() {
	local rc=$? m

	set +e
	# The daemon first: it holds files on the mount.
	daemon_kill
	DAEMON_PID=
	for m in "${MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	# lib_exit reads $? for the verdict.
	(exit "$rc")
	lib_exit
}
trap full_disk_exit EXIT

# --- the traffic --------------------------------------------------------------
# 2,000 connections, each 3 handshake + 20 data + 3 closing frames, 20 at a
# time; then 20 other connections (another seed) for when space is back.
"$GENCAP" -c 2000 -C 20 -p 20 -S 5 -o "$WORK/big.pcap" 2>"$WORK/gencap.err" ||
    fail "gencap: $(cat "$WORK/gencap.err")"
"$GENCAP" -c 20 -C 5 -p 4 -S 77 -t 1800000000 -o "$WORK/small.pcap" 2>/dev/null ||
    fail "gencap small failed"
BIG_FRAMES=52000
grep -q "gencap: $BIG_FRAMES packets, $BIG_FRAMES tcp packets, 2000 connections" \
    "$WORK/gencap.err" || fail "unexpected capture: $(cat "$WORK/gencap.err")"

# The judge of a spool on a full disk. Prints "ok MSG", "fail MSG" and
# "written N" lines (N: frames in all the pcap files, counted by tcpdump).
#   spool.py all DIR [LOST]    every pcap file under DIR (not .active) whole,
#                              every index line JSON, its written/truncated
#                              agreeing with its file, no file unindexed but
#                              for at most LOST lines the summary says were lost
#   spool.py parse DIR         every index line JSON
#   spool.py new DIR T0 COUNT  COUNT lines of flows that started at or after
#                              T0 (ns), filed whole and complete
cat >"$WORK/spool.py" <<'EOF'
import json, os, subprocess, sys

mode, D = sys.argv[1], sys.argv[2]
fails = []

def fail(msg):
    fails.append(msg)

def tcpdump(path):
    """(frames, complaints) as tcpdump reads the file."""
    p = subprocess.run(["tcpdump", "-n", "-r", path], capture_output=True, text=True,
                       errors="replace")
    err = [l for l in p.stderr.splitlines() if not l.startswith("reading from file")]
    if p.returncode != 0 and not err:
        err = ["exit status %d" % p.returncode]
    return len(p.stdout.splitlines()), err

def pcaps():
    for root, dirs, files in os.walk(D):
        if os.path.relpath(root, D) == ".":
            dirs[:] = [d for d in dirs if d != ".active"]
        for f in files:
            if f.endswith(".pcap"):
                yield os.path.relpath(os.path.join(root, f), D)

def index_lines(quiet=False):
    """Parsed lines (None for a bad one); bad lines are failures."""
    path = os.path.join(D, "index.jsonl")
    if not os.path.exists(path):
        return []
    data = open(path, "rb").read()
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    else:
        fail("index.jsonl does not end in a newline: last line cut: %r" % lines[-1][-80:])
    E, bad = [], []
    for i, l in enumerate(lines):
        try:
            e = json.loads(l)
            if not isinstance(e, dict):
                raise ValueError("not an object")
            E.append(e)
        except ValueError as x:
            bad.append(i + 1)
            E.append(None)
            if len(bad) <= 3:
                fail("index line %d of %d is not JSON (%s): %r ... %r" %
                     (i + 1, len(lines), x, l[:60], l[-60:]))
    if len(bad) > 3:
        fail("%d index lines in all are not JSON" % len(bad))
    if not bad and not quiet:
        print("ok all %d index lines are JSON" % len(lines))
    return E

def check_files():
    total, n, bad = 0, 0, 0
    counts = {}
    for rel in pcaps():
        n += 1
        size = os.path.getsize(os.path.join(D, rel))
        frames, err = tcpdump(os.path.join(D, rel))
        counts[rel] = frames
        total += frames
        if size <= 24 or err:
            bad += 1
            if bad <= 5:
                fail("%s: %d bytes, %d frames%s" % (rel, size, frames,
                     ": tcpdump: " + "; ".join(err[:2]) if err else
                     (" (empty)" if size == 0 else " (header only)")))
    if bad > 5:
        fail("%d of %d pcap files in all are empty, header-only or unreadable" % (bad, n))
    if n and not bad:
        print("ok %d pcap files, all whole (> 24 bytes, tcpdump reads them cleanly)" % n)
    if n == 0:
        fail("no pcap file at all in %s" % D)
    print("written %d" % total)
    return counts

def check_index(counts):
    E = index_lines()
    bad = 0
    named = set()
    def wrong(msg):
        nonlocal bad
        bad += 1
        if bad <= 6:
            fail(msg)
    for i, e in enumerate(E):
        if e is None:
            continue
        where = "index line %d (%s)" % (i + 1, e.get("label"))
        fp, tr, wr, pk = e.get("fpout"), e.get("truncated"), e.get("written"), e.get("packets")
        if not isinstance(tr, bool) or not isinstance(wr, int) or isinstance(wr, bool):
            wrong("%s: \"truncated\" %r, \"written\" %r: a boolean and a count expected" %
                  (where, tr, wr))
            continue
        if fp is not None:
            if not isinstance(fp, str) or fp not in counts:
                wrong("%s: fpout %r: no such pcap file" % (where, fp))
                continue
            named.add(fp)
            if counts[fp] != wr:
                wrong("%s: %s holds %d frames, \"written\" says %d" % (where, fp, counts[fp], wr))
        elif wr != 0:
            wrong("%s: no file, yet \"written\" is %d" % (where, wr))
        if tr and not wr < pk:
            wrong("%s: truncated, yet written %d of %d packets" % (where, wr, pk))
        if not tr and (wr != pk or fp is None):
            wrong("%s: not truncated, yet written %d of %d packets, fpout %r" %
                  (where, wr, pk, fp))
    orphans = sorted(set(counts) - named)
    if len(orphans) > lines_lost:
        # A file no line names is only allowed for a line the summary says was lost.
        wrong("%d pcap files that no index line names, %d index lines lost, e.g. %s" %
              (len(orphans), lines_lost, orphans[0]))
    elif orphans:
        print("note %d files whose index lines were lost (%d lines lost in all)" %
              (len(orphans), lines_lost))
    if bad > 6:
        fail("%d index problems in all" % bad)
    n = sum(1 for e in E if e is not None)
    t = sum(1 for e in E if e is not None and e.get("truncated") is True)
    if E and not bad:
        print("ok %d index lines (%d truncated) agree with the files" % (n, t))

def check_new(t0, count):
    E = [e for e in index_lines(True) if e is not None and e.get("first_ns", 0) >= t0]
    if len(E) != count:
        fail("%d index lines for the flows after space returned, %d expected" % (len(E), count))
    bad = 0
    def wrong(msg):
        nonlocal bad
        bad += 1
        if bad <= 5:
            fail(msg)
    for e in E:
        where = e.get("label")
        fp = e.get("fpout")
        path = os.path.join(D, fp) if isinstance(fp, str) else None
        if path is None or not os.path.isfile(path):
            wrong("%s: fpout %r: no such file" % (where, fp))
            continue
        frames, err = tcpdump(path)
        if err or frames != e.get("packets") or e.get("reason") != "fin":
            wrong("%s: %s: %d frames for %r packets, reason %r%s" % (where, fp, frames,
                  e.get("packets"), e.get("reason"), ": tcpdump: " + "; ".join(err[:2]) if err else ""))
        elif e.get("truncated") is not False or e.get("written") != e.get("packets"):
            wrong("%s: truncated %r, written %r of %r packets" % (where, e.get("truncated"),
                  e.get("written"), e.get("packets")))
    if bad > 5:
        fail("%d of the %d new flows in all are wrong" % (bad, len(E)))
    if E and not bad:
        print("ok %d new flows filed whole, read by tcpdump, indexed" % len(E))

lines_lost = int(sys.argv[3]) if mode == "all" and len(sys.argv) > 3 else 0
if mode == "all":
    check_index(check_files())
elif mode == "parse":
    index_lines()
elif mode == "new":
    check_new(int(sys.argv[3]), int(sys.argv[4]))
for m in fails:
    print("fail " + m.replace("\n", " "))
EOF

# judge WHAT ARGS...: run spool.py ARGS; its fail lines are recorded, its ok
# lines reported; WRITTEN is its frame count, if it gave one.
judge() {
	local what=$1 kind msg

	shift
	WRITTEN=
	python3 "$WORK/spool.py" "$@" >"$WORK/judge.out" 2>&1 ||
	    check_fail "$what: spool.py $1 crashed: $(tail -n 3 "$WORK/judge.out")"
	while read -r kind msg; do
		case $kind in
		ok) ok "$what: $msg" ;;
		fail) check_fail "$what: $msg" ;;
		written) WRITTEN=$msg ;;
		note) echo "  note: $msg" ;;
		*) check_fail "$what: spool.py: $kind $msg" ;;
		esac
	done <"$WORK/judge.out"
}

# summary_value FILE KEY: the number of a "KEY: N" line of the summary.
summary_value() {
	sed -n "s/^$2: \([0-9][0-9]*\)\$/\1/p" "$1" | head -n 1
}

# --- A. offline: traceflowd --read into a spool that fills up ------------------
# Proves: files and index stay valid when the disk is full, every frame is
# filed or counted (tcp_frames == frames in files + frames_lost), and the
# exit status says frames were lost.
offline() {
	local tiny=$WORK/tinyA out n lost

	mount_tiny "$tiny"
	out=$tiny/out
	tf offline --read "$WORK/big.pcap" --output "$out"
	[ "$TF_RC" -eq 1 ] ||
	    check_fail "offline: exit status $TF_RC, 1 expected (frames were lost): $(tail -n 2 "$TF_ERR")"
	grep -qi 'no space' "$TF_ERR" ||
	    check_fail "offline: no 'No space left' in the log: $(head -n 2 "$TF_ERR")"

	# The lines the summary admits were not written: their files may be unnamed.
	judge offline all "$out" "$(summary_value "$TF_OUT" index_lines_lost)"
	n=$(summary_value "$TF_OUT" tcp_frames)
	lost=$(summary_value "$TF_OUT" frames_lost)
	if [ -z "$n" ] || [ -z "$lost" ]; then
		check_fail "offline: the summary lacks tcp_frames or frames_lost: $(tr '\n' ' ' <"$TF_OUT")"
	elif [ -z "$WRITTEN" ]; then
		check_fail "offline: no frame count from the files"
	elif [ "$n" -ne $((WRITTEN + lost)) ]; then
		check_fail "offline: tcp_frames $n != $WRITTEN frames in files + $lost frames_lost" \
		    "(off by $((n - WRITTEN - lost)))"
	elif [ "$lost" -le 0 ]; then
		check_fail "offline: frames_lost is 0, yet the disk was full ($WRITTEN of $n frames in files)"
	else
		ok "offline: tcp_frames $n = $WRITTEN in files + $lost lost"
	fi
	[ "${n:-0}" -eq "$BIG_FRAMES" ] || check_fail "offline: tcp_frames ${n:-none}, $BIG_FRAMES expected"
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$TF_ERR"; then
		check_fail "offline: sanitizer report: $(grep -m 3 -E \
		    'AddressSanitizer|LeakSanitizer|runtime error' "$TF_ERR")"
	fi
	if [ -n "$(ls -A "$out/.active" 2>/dev/null)" ]; then
		ok "note: offline: $(find "$out/.active" -type f | wc -l) files left in .active"
	fi
	umount_tiny "$tiny"
}

# --- B. live: the daemon's spool fills up, then space returns ------------------
# ctl_stats EXPR: evaluate a Python expression over the stats' "totals" (T);
# prints its value, or nothing when the daemon does not answer.
ctl_stats() {
	"$TRACEFLOWCTL" -s "$WORK/ctl.sock" --json stats 2>/dev/null |
	    python3 -c 'import json, sys; T = json.load(sys.stdin)["totals"]; print(eval(sys.argv[1]))' \
	    "$1" 2>/dev/null || true
}

# wait_stats EXPR SECONDS: until EXPR over the totals is True.
wait_stats() {
	for _ in $(seq $(($2 * 5))); do
		[ "$(ctl_stats "$1")" = True ] && return 0
		sleep 0.2
	done
	return 1
}

# wait_log PATTERN SECONDS: until the daemon's log has a line matching
# PATTERN (extended, any case).
wait_log() {
	for _ in $(seq $(($2 * 10))); do
		grep -qiE -- "$1" "$DAEMON_LOG" && return 0
		sleep 0.1
	done
	return 1
}

# new_lines SPOOL T0: index lines (parseable ones) of flows started at T0 or later.
new_lines() {
	python3 - "$1" "$2" <<'EOF' 2>/dev/null || echo 0
import json, sys
n = 0
for l in open(sys.argv[1] + "/index.jsonl", "rb"):
    try:
        n += json.loads(l).get("first_ns", 0) >= int(sys.argv[2])
    except ValueError:
        pass
print(n)
EOF
}

RESUMED='resum|writing works again|written again'

# metrics_agree: on the full disk, the metrics of the output (stats
# --prometheus, the daemon's /metrics text) are what stats says, the failed
# writes (> 0) above all; read between two stats that agree, so that no
# retry in between moves a counter.
metrics_agree() {
	local i rc=3

	for i in $(seq 25); do
		[ "$i" -eq 1 ] || sleep 0.2
		if ! { "$TRACEFLOWCTL" -s "$WORK/ctl.sock" --json stats >"$WORK/st1.json" &&
			"$TRACEFLOWCTL" -s "$WORK/ctl.sock" stats --prometheus >"$WORK/st.prom" &&
			"$TRACEFLOWCTL" -s "$WORK/ctl.sock" --json stats >"$WORK/st2.json"; } 2>/dev/null; then
			continue
		fi
		rc=0
		python3 - "$WORK/st1.json" "$WORK/st.prom" "$WORK/st2.json" >"$WORK/metrics.cmp" 2>&1 \
		    <<'EOF' || rc=$?
import json, sys
pairs = {"write_errors": "traceflow_write_errors_total",
         "frames_lost": "traceflow_lost_frames_total",
         "bytes_lost": "traceflow_lost_bytes_total",
         "index_lines_lost": "traceflow_index_lines_lost_total",
         "index_lines_pending": "traceflow_index_lines_pending",
         "files_written": "traceflow_files_written_total",
         "bytes_written": "traceflow_written_bytes_total"}
T1, T2 = (json.load(open(f))["totals"] for f in (sys.argv[1], sys.argv[3]))
if any(T1[k] != T2[k] for k in pairs):
    sys.exit(3)  # a counter moved: ask again
M = {}
for line in open(sys.argv[2]):
    if not line.startswith("#") and line.strip():
        name, value = line.rsplit(" ", 1)
        M[name] = int(value)
bad = ["%s %r, stats' %s %d" % (m, M.get(m), k, T1[k]) for k, m in pairs.items() if M.get(m) != T1[k]]
if T1["write_errors"] <= 0:
    bad.append("stats' write_errors is %d on a full disk" % T1["write_errors"])
if bad:
    sys.exit("; ".join(bad))
print("%s %d = stats' write_errors" % (pairs["write_errors"], T1["write_errors"]))
EOF
		[ "$rc" -eq 3 ] || break
	done
	case $rc in
	0) ok "live: stats --prometheus: $(cat "$WORK/metrics.cmp")" ;;
	3) check_fail "live: stats kept moving or did not answer: no two alike in 25 tries" ;;
	*) check_fail "live: stats --prometheus against stats: $(tail -n 1 "$WORK/metrics.cmp")" ;;
	esac
}


# Proves: the daemon survives a full spool, says so, counts the lost frames
# (stats totals.frames_lost), keeps its index valid (pending lines included),
# and goes back to filing once space is freed.
live() {
	local tiny=$WORK/tinyB spool t0 indexed=0

	netns_setup
	mount_tiny "$tiny"
	spool=$tiny/spool
	daemon_conf "$WORK/live.conf" "$spool" 'interfaces = ["vb"]' 'linger = "200ms"' \
	    'flush_interval = "100ms"' 'idle_timeout = "5s"'
	daemon_start live "$WORK/live.conf"

	replay "$WORK/big.pcap"
	if wait_stats 'T["flows_started"] >= 2000 and T["flows_active"] == 0' 30; then
		ok "live: $(ctl_stats 'T["flows_finished"]') flows finished, $(ctl_stats 'T["tcp"]') TCP frames"
	else
		check_fail "live: flows not finished within 30 s:" \
		    "$(ctl_stats '{k: T.get(k) for k in ("tcp", "flows_started", "flows_active")}')"
	fi
	if wait_stats 'T.get("frames_lost", 0) > 0' 10; then
		ok "live: stats count $(ctl_stats 'T["frames_lost"]') frames lost," \
		    "$(ctl_stats 'T["write_errors"]') write errors"
	else
		check_fail "live: stats totals.frames_lost is $(ctl_stats 'T.get("frames_lost")')," \
		    "> 0 expected (write_errors $(ctl_stats 'T.get("write_errors")'))"
	fi
	metrics_agree
	if grep -qi 'no space' "$DAEMON_LOG"; then
		ok "live: the log says: $(grep -i -m 1 'no space' "$DAEMON_LOG")"
	else
		check_fail "live: no 'no space' in the log: $(tail -n 3 "$DAEMON_LOG")"
	fi
	kill -0 "$DAEMON_PID" 2>/dev/null || fail "live: the daemon died: $(tail -n 5 "$DAEMON_LOG")"

	# Space returns: the pcap files go (index.jsonl and .active stay).
	find "$spool" -path "$spool/.active" -prune -o -type f -name '*.pcap' -print0 |
	    xargs -0 -r rm -f
	ok "live: freed the spool to $(df -k --output=used "$tiny" | tail -n 1 | tr -d ' ') KiB used"
	t0=$(date +%s%N)
	replay "$WORK/small.pcap"
	for _ in $(seq 150); do
		[ "$(new_lines "$spool" "$t0")" -ge 20 ] && indexed=1 && break
		sleep 0.1
	done
	[ "$indexed" -eq 1 ] || check_fail "live: $(new_lines "$spool" "$t0") of 20 new flows indexed within 15 s"
	judge "live, space back" new "$spool" "$t0" 20
	# The lines held back while the disk was full are whole too, not cut
	# short or glued to the ones written since.
	judge "live, space back" parse "$spool"
	ok "note: live: $(($(grep -c . "$spool/index.jsonl") - $(new_lines "$spool" "$t0")))" \
	    "index lines of the 2,000 earlier flows are in the index"
	# Any wording: "writing resumed", "writing works again", ...
	if wait_log "$RESUMED" 5; then
		ok "live: the log says: $(grep -iE -m 1 "$RESUMED" "$DAEMON_LOG")"
	else
		check_fail "live: no log line says writing resumed: $(tail -n 3 "$DAEMON_LOG")"
	fi

	daemon_stop
	[ "$DAEMON_RC" -eq 0 ] || check_fail "live: exit $DAEMON_RC on SIGTERM: $(tail -n 3 "$DAEMON_LOG")"
	ok "note: live: $(grep -m 1 -o 'vb: .*dropped by the kernel.*' "$DAEMON_LOG" || echo 'no capture counters logged')"
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$DAEMON_LOG"; then
		check_fail "live: sanitizer report: $(grep -m 3 -E \
		    'AddressSanitizer|LeakSanitizer|runtime error' "$DAEMON_LOG")"
	fi
	umount_tiny "$tiny"
}

offline
live
finish
