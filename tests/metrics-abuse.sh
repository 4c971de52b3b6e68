#!/bin/bash
# metrics-abuse.sh: /metrics and the control socket against clients that
# abuse them, while the daemon captures.
#
# A live daemon in a network namespace serves /metrics with
# metrics_max_clients = 4 while a capture is replayed into it:
#  1. Twenty slow clients, each sending a header line a second and never
#     finishing: a scrape still succeeds at once (the oldest idle one makes
#     room), and none of the slow ones is held past the 5 s a whole request
#     may take.
#  2. Three clients pipelining requests for 6 s without reading the
#     replies: the daemon's memory grows by less than 64 MiB, and `stats`
#     answers within a second meanwhile.
#  3. Out of descriptors (its soft limit lowered to what it uses): twelve
#     connections to /metrics and to the control socket make accept fail
#     with EMFILE; the daemon says so in one line per listener (a minute at
#     most), uses almost
#     no CPU meanwhile (no busy loop), and serves again once descriptors are
#     free.
# Every connection of the replay is filed in the end.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

TRACEFLOWCTL=${TRACEFLOWCTL:-$top_builddir/traceflowctl}
need_root
need_cmd tcpreplay
need_cmd curl
need_cmd prlimit
need_traceflowd
need_file "$TRACEFLOWCTL" traceflowctl
need_file "$GENCAP" gencap
netns_setup

ctl() { "$TRACEFLOWCTL" -s "$WORK/ctl.sock" "$@"; }
PORT=9466
url=http://127.0.0.1:$PORT/metrics

"$GENCAP" -c 400 -C 20 -p 10 -S 21 -o "$WORK/cap.pcap" 2>/dev/null
tf_ok offline --read "$WORK/cap.pcap" --output "$WORK/off" || fail "offline run failed"
want=$(wc -l <"$WORK/off/index.jsonl")
daemon_conf "$WORK/d.conf" "$WORK/spool" "metrics_listen = \"127.0.0.1:$PORT\"" \
    'metrics_max_clients = 4' 'linger = "0"' 'idle_timeout = "1d"'
daemon_start d "$WORK/d.conf" -i vb
in_ns tcpreplay -q --pps 300 -i va "$WORK/cap.pcap" >"$WORK/replay.log" 2>&1 &
replayer=$!

rss_kb() { sed -n 's/^VmRSS: *\([0-9]*\) kB/\1/p' "/proc/$DAEMON_PID/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$DAEMON_PID/stat"; }

# stats_fast: `traceflowctl stats` answers within a second.
stats_fast() {
	local t0 t1
	t0=$(date +%s%N)
	ctl stats >/dev/null 2>&1 || return 1
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -lt 1000 ]
}

# 1. Slow clients.
in_ns python3 - "$PORT" >"$WORK/slow.out" 2>&1 <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
socks = []
for i in range(20):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/1.1\r\n")
    socks.append(s)
    time.sleep(0.05)
start = time.time()
while time.time() - start < 7:
    for s in socks:
        try:
            s.sendall(b"X-Slow: still coming\r\n")
        except OSError:
            pass
    time.sleep(1)
alive = 0
for s in socks:
    s.setblocking(False)
    try:
        alive += s.recv(1) != b""
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
print("alive", alive)
PY
slow=$!
sleep 2
code=$(in_ns curl -s -m 2 -o /dev/null -w '%{http_code}' "$url" || true)
[ "$code" = 200 ] && ok "a scrape among 20 slow clients (4 allowed): HTTP 200 at once" ||
    check_fail "a scrape among 20 slow clients: HTTP '$code'"
wait "$slow" || true
alive=$(sed -n 's/^alive //p' "$WORK/slow.out")
[ "${alive:-x}" = 0 ] && ok "no slow client held past the request deadline" ||
    check_fail "slow clients still held after 7 s: ${alive:-?} ($(tail -n 2 "$WORK/slow.out"))"

# 2. Pipelined requests, replies never read.
before=$(rss_kb)
in_ns python3 - "$PORT" >"$WORK/pipe.out" 2>&1 <<'PY' &
import socket, sys, threading, time
port = int(sys.argv[1])
req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 1000
def push():
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(0.5)
    end = time.time() + 6
    while time.time() < end:
        try:
            s.sendall(req)
        except OSError:
            time.sleep(0.1)
    s.close()
ts = [threading.Thread(target=push) for _ in range(3)]
for t in ts:
    t.start()
for t in ts:
    t.join()
PY
pipe=$!
slow_stats=0
for _ in 1 2 3 4 5; do
	sleep 1
	stats_fast || slow_stats=$((slow_stats + 1))
done
after=$(rss_kb)
wait "$pipe" || true
grown=$(((after - before) / 1024))
[ "$grown" -lt 64 ] && ok "3 clients pipelining requests for 6 s, replies unread: RSS grew ${grown} MiB" ||
    check_fail "3 clients pipelining: RSS grew ${grown} MiB (${before} kB to ${after} kB)"
[ "$slow_stats" -eq 0 ] && ok "stats answered within a second throughout" ||
    check_fail "stats slower than a second (or failing) $slow_stats times of 5"

# 3. Out of descriptors.
sleep 1
nfd=$(ls "/proc/$DAEMON_PID/fd" | wc -l)
hard=$(prlimit --pid "$DAEMON_PID" --nofile --output HARD --noheadings | tr -d ' ')
prlimit --pid "$DAEMON_PID" --nofile=$((nfd + 1)):"$hard"
lines_before=$(grep -c 'no new connection is taken' "$DAEMON_LOG" || true)
cpu0=$(cpu_ticks)
in_ns python3 - "$PORT" "$WORK/ctl.sock" >"$WORK/emfile.out" 2>&1 <<'PY' &
import socket, sys, time
port, path = int(sys.argv[1]), sys.argv[2]
held = []
for i in range(6):
    try:
        held.append(socket.create_connection(("127.0.0.1", port), timeout=2))
    except OSError as e:
        print("metrics", e)
    u = socket.socket(socket.AF_UNIX)
    try:
        u.connect(path)
        held.append(u)
    except OSError as e:
        print("control", e)
time.sleep(3)
PY
emfile=$!
wait "$emfile" || true
cpu1=$(cpu_ticks)
prlimit --pid "$DAEMON_PID" --nofile="$hard":"$hard"
lines=$(($(grep -c 'no new connection is taken' "$DAEMON_LOG" || true) - lines_before))
spent=$((cpu1 - cpu0))
if [ "$lines" -lt 1 ] || [ "$lines" -gt 2 ]; then
	check_fail "out of descriptors: $lines lines about it ($(grep -c 'accept' "$DAEMON_LOG") accept lines in all)"
elif [ "$spent" -gt 100 ]; then
	check_fail "out of descriptors: the daemon spent $spent ticks of CPU in 3 s (a busy loop?)"
else
	ok "out of descriptors: $lines log lines, $spent ticks of CPU in 3 s"
fi
sleep 1.5
code=$(in_ns curl -s -m 3 -o /dev/null -w '%{http_code}' "$url" || true)
[ "$code" = 200 ] && stats_fast && ok "descriptors free again: /metrics and stats answer" ||
    check_fail "descriptors free again: HTTP '$code', or stats did not answer"

wait "$replayer" || fail "tcpreplay failed: $(tail -n 3 "$WORK/replay.log")"
daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "traceflowd exited $DAEMON_RC: $(tail -n 5 "$DAEMON_LOG")"
got=$(wc -l <"$WORK/spool/index.jsonl")
[ "$got" -eq "$want" ] && ok "capture went on: $got of $want connections filed" ||
    check_fail "capture: $got index lines, $want offline"
finish
