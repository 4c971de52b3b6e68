#!/bin/bash
# drops-logged.sh: kernel drops are logged while the daemon runs, not only
# at shutdown, at most one line per interface per minute.
#
# The daemon captures with the smallest buffer (buffer_size = 1M) and is
# stopped (SIGSTOP) while a capture far larger than the buffer is replayed,
# so the kernel drops; after SIGCONT, within a few seconds and before any
# SIGTERM, it logs "vb: N dropped by the kernel and M by the interface since
# the last report", N > 0, with its fields appended as the log goes to
# stderr: [INTERFACE=vb DROPS=N+M]. A second episode of drops within the
# minute is held back (the debug line says so), not logged as a second line.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

TRACEFLOWCTL=${TRACEFLOWCTL:-$top_builddir/traceflowctl}
need_root
need_cmd tcpreplay
need_traceflowd
need_file "$TRACEFLOWCTL" traceflowctl
need_file "$GENCAP" gencap
netns_setup

# About 40 MB: forty times the kernel buffer.
"$GENCAP" -c 2000 -C 100 -p 20 -s 900 -S 5 -o "$WORK/big.pcap" 2>/dev/null
daemon_conf "$WORK/d.conf" "$WORK/spool" 'buffer_size = "1M"' 'format = "none"'
daemon_start d "$WORK/d.conf" -v -i vb
line='vb: [0-9]* dropped by the kernel and [0-9]* by the interface since the last report'

# drop_episode: the daemon stopped while the capture is replayed.
drop_episode() {
	kill -STOP "$DAEMON_PID"
	replay "$WORK/big.pcap"
	kill -CONT "$DAEMON_PID"
}

drop_episode
if ! wait_for "$DAEMON_LOG" "$line" 10; then
	fail "no drop line within 10 s of the drops: $(grep -i drop "$DAEMON_LOG" | tail -n 3)"
fi
kill -0 "$DAEMON_PID" || fail "the daemon is gone"
first=$(grep -- "$line" "$DAEMON_LOG" | head -n 1)
n=$(sed -n 's/.*vb: \([0-9]*\) dropped by the kernel and \([0-9]*\) by.*/\1 \2/p' <<<"$first")
read -r k i <<<"$n"
if [ "${k:-0}" -gt 0 ] && grep -qF "[INTERFACE=vb DROPS=$((k + i))]" <<<"$first"; then
	ok "logged while running: ${first#*traceflowd: }"
else
	check_fail "drop line: '$first'"
fi

# A second episode within the minute: held back, still one line.
before=$(grep -c 'drops held back' "$DAEMON_LOG" || true)
drop_episode
wait_for "$DAEMON_LOG" 'vb: drops held back' 10 $((before + 1)) ||
    check_fail "the second episode was not seen (no 'held back' debug line)"
total=$("$TRACEFLOWCTL" -s "$WORK/ctl.sock" -j stats |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["interfaces"][0]["kernel_drops"])')
lines=$(grep -c -- "$line" "$DAEMON_LOG" || true)
if [ "$lines" -eq 1 ] && [ "$total" -gt "$k" ]; then
	ok "a second episode ($((total - k)) more drops) within the minute: still one line"
else
	check_fail "$lines drop lines within a minute (kernel drops $total, first line $k)"
fi

daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "traceflowd exited $DAEMON_RC: $(tail -n 5 "$DAEMON_LOG")"
last=$(sed -n 's/.*vb: .* frames read, .* \([0-9]*\) dropped by the kernel, .*/\1/p' "$DAEMON_LOG")
[ "${last:-0}" -ge "$total" ] || check_fail "shutdown summary: '$last' kernel drops, want >= $total"
finish
