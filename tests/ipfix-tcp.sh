#!/bin/bash
# ipfix-tcp.sh: IPFIX export over TCP, through a collector that goes away.
#
# In a network namespace, socat keeps the IPFIX stream it receives in a
# file. The daemon exports over TCP with ipfix_pen set while a capture is
# replayed; the listener is stopped in the middle of the replay and started
# again (into a second file). The daemon must go on capturing (every flow of
# the replay in index.jsonl), connect again, and account for every record:
# records sent + records lost = index lines, and each index line is in one
# of the two streams (read back with libfixbuf's ipfixDump) unless counted
# lost, with the same addresses, ports, packets, octets (IP bytes), TCP
# flags (their union), start and end, and the enterprise elements label,
# fpout, reason and partial.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd tcpreplay
need_cmd socat
need_cmd ipfixDump
need_traceflowd
need_file "$GENCAP" gencap
netns_setup

CMP=$top_srcdir/tests/ipfixcmp.py
TFCTL=$top_builddir/traceflowctl
PEN=32473
LISTENER=""
trap 'rc=$?; [ -z "$LISTENER" ] || kill "$LISTENER" 2>/dev/null || true; (exit $rc); lib_exit' EXIT

# 1500 connections at 1500 packets a second: the replay lasts about 10 s.
"$GENCAP" -m -c 1500 -C 40 -p 10 -6 30 -S 12 -o "$WORK/long.pcap" 2>/dev/null
# What the daemon must index whatever the collector does: the same flows as offline.
tf_ok offline --read "$WORK/long.pcap" --output "$WORK/off" --idle-timeout 86400 --linger 0 ||
    fail "offline run failed"

# listener_start N: socat keeps what port 4739 receives in $WORK/stream-N.ipfix.
listener_start() {
	ip netns exec "$NS" socat -u TCP-LISTEN:4739,reuseaddr \
	    "OPEN:$WORK/stream-$1.ipfix,creat,append" 2>>"$WORK/socat.log" &
	LISTENER=$!
	# Listening, or already past it: socat -u takes one connection and stops
	# listening, and a daemon that retries may connect before we look.
	for _ in $(seq 50); do
		in_ns ss -tan 2>/dev/null | grep -Eq '(LISTEN|ESTAB) +[0-9]+ +[0-9]+ +[^ ]*:4739 ' &&
		    return 0
		sleep 0.1
	done
	fail "socat did not listen"
}

# stat KEY: a counter of the daemon's IPFIX export (traceflowctl stats).
stat() {
	in_ns "$TFCTL" -s "$WORK/ctl.sock" --json stats |
	    python3 -c "import json,sys; print(json.load(sys.stdin)['totals']['ipfix']['$1'])"
}

# wait_stat KEY MIN SECONDS: until the counter reaches MIN.
wait_stat() {
	for _ in $(seq $(($3 * 10))); do
		[ "$(stat "$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

listener_start 1
daemon_conf "$WORK/tcp.conf" "$WORK/spool" 'idle_timeout = "1d"' 'linger = "0"' \
    'ipfix_collector = "127.0.0.1:4739"' 'ipfix_transport = "tcp"' "ipfix_pen = $PEN" \
    'observation_domain = 11'
daemon_start daemon "$WORK/tcp.conf" -i vb
in_ns tcpreplay -q --pps 1500 -i va "$WORK/long.pcap" >"$WORK/replay.log" 2>&1 &
replay_pid=$!

# Mid-replay: once records are flowing, the collector goes away...
wait_stat sent 50 20 || fail "no records sent: $(tail -n 3 "$DAEMON_LOG")"
kill "$LISTENER"
wait "$LISTENER" 2>/dev/null || true
LISTENER=""
wait_for "$DAEMON_LOG" 'ipfix: collector 127.0.0.1:4739: ' 10 ||
    check_fail "the daemon did not notice the collector left"
kill -0 "$replay_pid" 2>/dev/null || check_fail "the replay ended before the collector came back"
# ... records wait while it is away (the daemon keeps capturing) ...
queued=$(stat queued)
wait_stat queued $((queued + 20)) 10 || check_fail "no records queued while the collector is away"
# ... and it comes back.
listener_start 2
wait_for "$DAEMON_LOG" 'ipfix: collector 127.0.0.1:4739: connected again' 20 ||
    check_fail "the daemon did not connect again: $(tail -n 3 "$DAEMON_LOG")"
wait "$replay_pid" || fail "tcpreplay failed: $(tail -n 3 "$WORK/replay.log")"
daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "traceflowd exited $DAEMON_RC: $(tail -n 5 "$DAEMON_LOG")"
# socat ends with the connection; if not yet, now.
kill "$LISTENER" 2>/dev/null || true
wait "$LISTENER" 2>/dev/null || true
LISTENER=""

lines=$(wc -l <"$WORK/spool/index.jsonl")
want=$(wc -l <"$WORK/off/index.jsonl")
[ "$lines" -eq "$want" ] || check_fail "capture: $lines index lines live, $want offline"
read -r sent lost <<<"$(sed -n 's/.*ipfix: \([0-9]*\) records sent to .*, \([0-9]*\) lost.*/\1 \2/p' "$DAEMON_LOG")"
if [ -z "${sent:-}" ] || [ $((sent + lost)) -ne "$lines" ]; then
	check_fail "$lines index lines, but the exporter says ${sent:-?} sent + ${lost:-?} lost"
elif [ "$lost" -ne 0 ]; then
	# The queue had room: what the broken connection did not deliver was sent again.
	check_fail "$lost records lost, though the queue never filled"
else
	ok "$lines index lines: $sent records sent, $lost lost"
fi
# The streams as libfixbuf reads them (the first may end in a message cut short).
for n in 1 2; do
	ipfixDump --rfc5610 -d -i "$WORK/stream-$n.ipfix" >"$WORK/stream-$n.txt" 2>"$WORK/stream-$n.err" ||
	    true
	ok "stream $n: $(grep -c '^--- data record' "$WORK/stream-$n.txt") data records"
done
if python3 "$CMP" ipfixdump "$WORK/spool" "$WORK/stream-1.txt" "$WORK/stream-2.txt" \
    --pen "$PEN" --lost "${lost:-0}" >"$WORK/cmp.out" 2>&1; then
	ok "$(tail -n 1 "$WORK/cmp.out")"
else
	check_fail "$(head -n 6 "$WORK/cmp.out")"
fi

# No collector at all and a small queue: what does not fit is counted and logged.
"$GENCAP" -c 100 -C 10 -p 6 -S 13 -o "$WORK/small.pcap" 2>/dev/null
daemon_conf "$WORK/down.conf" "$WORK/spool-down" 'ipfix_collector = "127.0.0.1:4739"' \
    'ipfix_transport = "tcp"' 'ipfix_queue = 16' 'linger = "0"'
daemon_start down "$WORK/down.conf" -i vb
replay "$WORK/small.pcap"
daemon_stop
lines=$(wc -l <"$WORK/spool-down/index.jsonl")
read -r sent lost <<<"$(sed -n 's/.*ipfix: \([0-9]*\) records sent to .*, \([0-9]*\) lost.*/\1 \2/p' "$DAEMON_LOG")"
if [ "${sent:-}" != 0 ] || [ "${lost:-}" != "$lines" ] || [ "$lines" -lt 100 ]; then
	check_fail "collector down: $lines index lines, exporter says ${sent:-?} sent, ${lost:-?} lost"
elif ! grep -q 'the most ipfix_queue allows' "$DAEMON_LOG"; then
	check_fail "collector down: no line about lost records: $(grep ipfix "$DAEMON_LOG")"
else
	ok "collector down: $lines index lines, all $lost counted lost and logged"
fi

# A collector that stops reading but keeps its connection (a small receive
# window, soon shut), with a queue that fills behind it: the exporter gives
# the connection up after its send timeout and connects again; the second
# connection is read, and takes the records that waited.
in_ns python3 - "$WORK/stall-2.ipfix" >"$WORK/stall.log" 2>&1 <<'PY' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
s.bind(("127.0.0.1", 4739))
s.listen(4)
s.settimeout(60)
first, _ = s.accept()          # never read
second, _ = s.accept()
second.settimeout(20)
with open(sys.argv[1], "wb") as out:
    while True:
        try:
            b = second.recv(65536)
        except socket.timeout:
            break
        if not b:
            break
        out.write(b)
PY
LISTENER=$!
"$GENCAP" -c 600 -C 30 -p 6 -S 14 -o "$WORK/stall.pcap" 2>/dev/null
daemon_conf "$WORK/stall.conf" "$WORK/spool-stall" 'ipfix_collector = "127.0.0.1:4739"' \
    'ipfix_transport = "tcp"' 'ipfix_queue = 16' 'linger = "0"'
sleep 0.5
daemon_start stall "$WORK/stall.conf" -i vb
replay "$WORK/stall.pcap"
if ! wait_for "$DAEMON_LOG" 'stalled' 20; then
	check_fail "a stalled collector: never given up: $(grep ipfix "$DAEMON_LOG" | tail -n 3)"
elif ! wait_for "$DAEMON_LOG" 'connected again' 20; then
	check_fail "a stalled collector: no new connection: $(grep ipfix "$DAEMON_LOG" | tail -n 3)"
else
	connects=$(stat connects)
	daemon_stop
	kill "$LISTENER" 2>/dev/null || true
	wait "$LISTENER" 2>/dev/null || true
	LISTENER=""
	got=$(ipfixDump -d -i "$WORK/stall-2.ipfix" 2>/dev/null | grep -c '^--- data record' || true)
	if [ "$connects" -lt 2 ] || [ "$got" -lt 1 ]; then
		check_fail "a stalled collector: $connects connections, $got records on the second"
	else
		ok "a stalled collector: given up, connected again ($connects connections), $got records on the new one"
	fi
fi
finish
