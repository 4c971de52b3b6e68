#!/bin/bash
#
# control-slow.sh: a user who holds the control channel with 500 idle
# connections and 64 clients that dribble a request a byte at a time
# cannot keep another user from an answer: traceflowctl stats from root
# answers in under a second meanwhile. The hog is told its connections
# beyond the per-uid cap are refused, and a dribbling client is closed at
# the request's deadline (5 s), not kept alive by each byte. The socket
# has control_mode and control_group's mode and group.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd python3
need_cmd setpriv
need_traceflowd
TRACEFLOWCTL=${TRACEFLOWCTL:-$top_builddir/traceflowctl}
need_file "$TRACEFLOWCTL" traceflowctl
getent group nogroup >/dev/null || skip "no group nogroup"
# The hog runs as nobody, who may not reach root's own python (pyenv).
syspython=/usr/bin/python3
[ -x "$syspython" ] || skip "no $syspython for a non-root user"

sock=$WORK/ctl.sock
daemon_conf "$WORK/traceflow.conf" "$WORK/spool" 'interfaces = ["lo"]' 'control_mode = 0666'
sed -i 's/^control_group = .*/control_group = "nogroup";/' "$WORK/traceflow.conf"
daemon_start daemon "$WORK/traceflow.conf"
# The socket has the mode and group the settings give (the default is 0660).
[ "$(stat -c '%a %G' "$sock")" = "666 nogroup" ] ||
    check_fail "control_mode = 0666, control_group = nogroup: the socket is $(stat -c '%a %G' "$sock")"

# The hog, as nobody: 64 dribbling clients, then 500 idle connections,
# each sending the first bytes of a request one every 0.5 s. It reports
# how many connections were refused with the daemon's message, and when
# the daemon closed each dribbling one.
cat >"$WORK/hog.py" <<'PY'
import socket, struct, sys, time
path, ready, report = sys.argv[1], sys.argv[2], sys.argv[3]
idle, slow = [], []
for i in range(64):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    slow.append(s)
for i in range(500):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    idle.append(s)
# a request header, byte by byte: magic, version, type, length
req = struct.pack("=IIII", 0x74666374, 1, 1, 200)
open(ready, "w").write("ready\n")
start = time.time()
closed_at = {}
refused = 0
seen = set()
for step in range(len(req) * 3):
    for i, s in enumerate(slow):
        if i in closed_at:
            continue
        try:
            s.send(req[step % len(req):step % len(req) + 1])
        except OSError:
            closed_at[i] = time.time() - start
    time.sleep(0.5)
    if time.time() - start > 9:
        break
for s in idle + slow:
    s.setblocking(False)
    try:
        data = s.recv(4096)
        if b"connections open already" in data:
            refused += 1
    except OSError:
        pass
alive = 64 - len(closed_at)
late = [t for t in closed_at.values() if t > 7]
open(report, "w").write("refused %d alive %d late %d\n" % (refused, alive, len(late)))
PY

mkdir -m 1777 "$WORK/hog"
setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
    "$syspython" "$WORK/hog.py" "$sock" "$WORK/hog/ready" "$WORK/hog/report" &
hog=$!
for _ in $(seq 100); do [ -s "$WORK/hog/ready" ] && break; sleep 0.1; done
[ -s "$WORK/hog/ready" ] || fail "the hog did not connect"

# 1. Root's stats answers at once, several times while the hog goes on.
for i in 1 2 3; do
	t0=$(date +%s%N)
	"$TRACEFLOWCTL" -s "$sock" stats >"$WORK/stats.$i" 2>&1 || check_fail "stats $i failed: $(cat "$WORK/stats.$i")"
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$ms" -lt 1000 ] || check_fail "stats $i took $ms ms with the channel hogged"
	sleep 1
done
grep -q "frames" "$WORK/stats.1" || check_fail "stats printed no counters"

wait "$hog" || fail "the hog failed"
read -r _ refused _ alive _ late <"$WORK/hog/report"
# 2. Beyond its cap (16) every connection of the hog was refused, with the reason.
[ "$refused" -ge $((564 - 16)) ] || check_fail "only $refused of the hog's 564 connections were refused"
# 3. No dribbling client outlived the request deadline.
[ "$alive" -eq 0 ] || check_fail "$alive dribbling clients were still connected after 9 s"
[ "$late" -eq 0 ] || check_fail "$late dribbling clients were closed only after 7 s"

# 4. Once the hog is gone, nobody is served again.
setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
    "$TRACEFLOWCTL" -s "$sock" version >"$WORK/version" 2>&1 ||
    check_fail "nobody is not served after the hog left: $(cat "$WORK/version")"
daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "traceflowd exited $DAEMON_RC"
finish
