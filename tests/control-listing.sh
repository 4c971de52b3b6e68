#!/bin/bash
#
# control-listing.sh: a member of control_group cannot make the daemon use
# memory by listing a big table (issue 23, part 3). With 100,000 active
# flows (a capture replayed into a veth pair), 15 `list` requests and one
# `show '*'` from nobody (a member of the group), each read slowly, raise
# the daemon's resident memory by less than 48 MiB (a listing that copied
# the table took 23 MB each, 370 MB for the 16), root's `stats` answers
# within a second meanwhile, and a listing read to its end holds every
# active flow once. show with a glob that matches nothing is an error
# (exit 1, its message); with one that matches, its segments.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd python3
need_cmd setpriv
need_cmd tcpreplay
need_traceflowd
TRACEFLOWCTL=${TRACEFLOWCTL:-$top_builddir/traceflowctl}
need_file "$TRACEFLOWCTL" traceflowctl
GENCAP=${GENCAP:-$top_builddir/tests/gencap}
need_file "$GENCAP" gencap
getent group nogroup >/dev/null || skip "no group nogroup"
syspython=/usr/bin/python3
[ -x "$syspython" ] || skip "no $syspython for a non-root user"

NFLOWS=100000
BOUND_KIB=$((48 * 1024))
sock=$WORK/ctl.sock
ctl() { "$TRACEFLOWCTL" -s "$sock" "$@"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status"; }

# Every connection stays open (no FIN): 100,000 active flows at the end
# (at least 90,000 of them once the kernel's drops of a slow build are counted out).
"$GENCAP" -c "$NFLOWS" -C "$NFLOWS" -p 1 -s 10 -O 100 -S 31 -o "$WORK/open.pcap" 2>/dev/null ||
	fail "gencap failed"
netns_setup
daemon_conf "$WORK/traceflow.conf" "$WORK/spool" 'interfaces = ["vb"]' 'control_mode = 0666' \
    'idle_timeout = "1h"' 'half_open_timeout = 0' 'format = "none"'
sed -i 's/^control_group = .*/control_group = "nogroup";/' "$WORK/traceflow.conf"
daemon_start daemon "$WORK/traceflow.conf"
replay "$WORK/open.pcap"
active() { ctl -j stats | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["totals"]["flows_active"])'; }
PY=$syspython
# Until the daemon has read what the kernel held: the count holds still.
n=0
for _ in $(seq 60); do
	prev=$n
	n=$(active)
	[ "$n" -ge $((NFLOWS * 90 / 100)) ] && [ "$n" -eq "$prev" ] && break
	sleep 0.5
done
[ "$n" -ge $((NFLOWS * 90 / 100)) ] || fail "only $n of $NFLOWS flows active after the replay"
ok "$n flows active"

# 1. One listing read to its end: every active flow, once.
# The whole listing within --timeout: 100,000 flows take over 10 s under ASan.
ctl --timeout 300s -j list --active >"$WORK/list.json" || fail "list --active failed"
# (half_open_timeout 0: flows whose answer the kernel dropped stay active too)
if "$PY" - "$WORK/list.json" "$n" >"$WORK/list.check" 2>&1 <<'PY'; then
import json, sys
doc = json.load(open(sys.argv[1]))
labels = [f["label"] for f in doc["flows"]]
want = int(sys.argv[2])
ok = len(labels) == want == doc["count"] and len(set(labels)) == want
print("%d flows, %d distinct, count %d, want %d" % (len(labels), len(set(labels)), doc["count"], want))
sys.exit(0 if ok else 1)
PY
	ok "list --active: $n flows, each once"
else
	check_fail "list --active: $(tail -n 3 "$WORK/list.check")"
fi

# 2. show: a glob matching nothing is an error; one matching some, their segments.
rc=0
ctl --timeout 300s show 'nomatch*' >"$WORK/show-none.out" 2>&1 || rc=$?
if [ "$rc" -eq 1 ] && grep -q "no flow labelled like nomatch\*" "$WORK/show-none.out"; then
	ok "show 'nomatch*': exit 1: $(cat "$WORK/show-none.out")"
else
	check_fail "show 'nomatch*': exit $rc: $(head -c 300 "$WORK/show-none.out")"
fi
ctl --timeout 300s -j show '10.1.0.1_*' >"$WORK/show-some.json" || check_fail "show '10.1.0.1_*' failed"
m=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["segments"]))' \
    "$WORK/show-some.json" 2>/dev/null || echo 0)
[ "$m" -ge 1 ] || check_fail "show '10.1.0.1_*' gave $m segments"

# 3. 16 slow readers as nobody: 15 list, one show '*'.
cat >"$WORK/slow.py" <<'PY'
import socket, struct, sys, time
path, ready, report = sys.argv[1], sys.argv[2], sys.argv[3]
def request(words):
    body = struct.pack("=I", len(words)) + b"".join(w.encode() + b"\0" for w in words)
    return struct.pack("=IIII", 0x74666374, 1, 1, len(body)) + body
conns = []
for i in range(16):
    s = socket.socket(socket.AF_UNIX)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(path)
    s.sendall(request(["show", "*"] if i == 0 else ["list"]))
    conns.append(s)
open(ready, "w").write("ready\n")
got = [0] * len(conns)
start = time.time()
while time.time() - start < 8:
    for i, s in enumerate(conns):
        try:
            got[i] += len(s.recv(1024))
        except OSError:
            pass
    time.sleep(0.05)
open(report, "w").write("%d %d\n" % (min(got), max(got)))
PY
mkdir -m 1777 "$WORK/slow"
rss0=$(rss_kib)
setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
    "$syspython" "$WORK/slow.py" "$sock" "$WORK/slow/ready" "$WORK/slow/report" &
slow=$!
for _ in $(seq 100); do [ -s "$WORK/slow/ready" ] && break; sleep 0.1; done
[ -s "$WORK/slow/ready" ] || fail "the slow readers did not connect"
peak=$rss0
for i in $(seq 30); do
	r=$(rss_kib)
	[ "$r" -gt "$peak" ] && peak=$r
	if [ $((i % 10)) -eq 0 ]; then
		t0=$(date +%s%N)
		ctl stats >"$WORK/stats.$i" 2>&1 || check_fail "stats failed meanwhile: $(cat "$WORK/stats.$i")"
		ms=$((($(date +%s%N) - t0) / 1000000))
		[ "$ms" -lt 1000 ] || check_fail "stats took $ms ms while 16 listings were read"
	fi
	sleep 0.2
done
wait "$slow" || fail "the slow readers failed"
read -r least most <"$WORK/slow/report"
[ "$least" -gt 0 ] || check_fail "a slow reader got nothing (most: $most bytes)"
grow=$((peak - rss0))
if [ "$grow" -lt "$BOUND_KIB" ]; then
	ok "16 slow listings of $n flows: RSS $((rss0 / 1024)) MiB, peak $((peak / 1024)) MiB (+$((grow / 1024)) MiB, bound $((BOUND_KIB / 1024)) MiB); each reader got $least-$most bytes"
else
	check_fail "16 slow listings of $n flows raised RSS from $((rss0 / 1024)) to $((peak / 1024)) MiB (bound: +$((BOUND_KIB / 1024)) MiB)"
fi

daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "traceflowd exited $DAEMON_RC: $(tail -n 3 "$DAEMON_LOG")"
finish
