#!/bin/bash
# ipfix-udp.sh: IPFIX export over UDP into nfdump's collector.
#
# nfcapd listens on the loopback of a network namespace. The daemon exports
# every finished flow to it while tcpreplay sends a capture (v4, v6, VLAN,
# QinQ, PPPoE, MPLS) past it; traceflowd --read --ipfix does the same for the
# capture file. Afterwards nfdump must show every flow of each index.jsonl
# with the same addresses, ports, packets, start and end (to nfdump's
# millisecond), as octets the IP bytes of the flow's pcap file and as TCP
# flags the union of its packets' (...AP.SF, not the last ACK's ...A....);
# and the exporter's totals must say every record was sent, none lost.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd tcpreplay
need_cmd nfcapd
need_cmd nfdump
need_traceflowd
need_file "$GENCAP" gencap
netns_setup

CMP=$top_srcdir/tests/ipfixcmp.py
# No collector outlives the test (lib_exit then does the rest, with the test's status).
COLLECTORS=""
trap 'rc=$?; for p in $COLLECTORS; do kill "$p" 2>/dev/null || true; done; (exit $rc); lib_exit' EXIT
"$GENCAP" -m -c 200 -C 30 -p 8 -6 30 -S 11 -o "$WORK/mixed.pcap" 2>/dev/null

# collector_start NAME PORT: nfcapd in the namespace, files in $WORK/NAME.
collector_start() {
	mkdir -p "$WORK/$1"
	ip netns exec "$NS" nfcapd -b 127.0.0.1 -p "$2" -w "$WORK/$1" >"$WORK/$1.log" 2>&1 &
	NFCAPD_PID=$!
	COLLECTORS="$COLLECTORS $NFCAPD_PID"
	wait_for "$WORK/$1.log" 'Startup' 10 || fail "nfcapd did not start: $(tail -n 3 "$WORK/$1.log")"
}

# collector_check NAME SPOOL LOG: nfdump's view of NAME against SPOOL's index;
# LOG holds the exporter's totals.
collector_check() {
	local name=$1 spool=$2 log=$3 lines sent lost

	kill -TERM "$NFCAPD_PID"
	wait "$NFCAPD_PID" || true
	TZ=UTC nfdump -R "$WORK/$name" -q -o 'fmt:%ts|%te|%sa|%da|%sp|%dp|%pkt|%byt|%pr|%flg' \
	    >"$WORK/$name.txt" 2>"$WORK/$name.nfdump.err" || check_fail "$name: nfdump: $(cat "$WORK/$name.nfdump.err")"
	if python3 "$CMP" nfdump "$spool" "$WORK/$name.txt" >"$WORK/$name.cmp" 2>&1; then
		ok "$name: $(tail -n 1 "$WORK/$name.cmp")"
	else
		check_fail "$name: $(head -n 6 "$WORK/$name.cmp")"
	fi
	lines=$(wc -l <"$spool/index.jsonl")
	read -r sent lost <<<"$(sed -n 's/.*ipfix: \([0-9]*\) records sent to .*, \([0-9]*\) lost.*/\1 \2/p' "$log")"
	if [ "${sent:-}" != "$lines" ] || [ "${lost:-}" != 0 ]; then
		check_fail "$name: $lines index lines, exporter says ${sent:-?} sent, ${lost:-?} lost"
	else
		ok "$name: $lines index lines, $sent records sent, 0 lost"
	fi
}

# Offline: a capture file fed to a collector (in the namespace, where it listens).
collector_start offline 4740
if ! in_ns "$TRACEFLOWD" --read "$WORK/mixed.pcap" --output "$WORK/off" \
    --ipfix 127.0.0.1:4740 --observation-domain 3 >"$WORK/offline.out" 2>"$WORK/offline.err"; then
	fail "traceflowd --read --ipfix: $(tail -n 5 "$WORK/offline.err")"
fi
collector_check offline "$WORK/off" "$WORK/offline.err"

# Live: the daemon exports while the capture is replayed past it.
collector_start live 4739
daemon_conf "$WORK/live.conf" "$WORK/spool" 'idle_timeout = "1d"' \
    'ipfix_collector = "127.0.0.1:4739"' 'observation_domain = 7'
daemon_start daemon "$WORK/live.conf" -i vb
wait_for "$DAEMON_LOG" 'ipfix: exporting to 127.0.0.1:4739 over udp, observation domain 7' 10 ||
    check_fail "no line saying the daemon exports: $(tail -n 3 "$DAEMON_LOG")"
replay "$WORK/mixed.pcap"
daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "traceflowd exited $DAEMON_RC: $(tail -n 5 "$DAEMON_LOG")"
collector_check live "$WORK/spool" "$DAEMON_LOG"
finish
