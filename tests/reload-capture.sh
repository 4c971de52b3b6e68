#!/bin/bash
# reload-capture.sh: a reload loses no packet.
#
# A live daemon in a network namespace captures a replay of 56,000 frames
# at 20,000 packets a second while it is reloaded every 50 ms: first with
# nothing changed (the kernel filter must be left alone), then with the
# filter changed at every reload between two expressions that both keep
# every frame of the replay (the filter must be swapped without a moment
# in which the kernel rejects everything). Afterwards the index must count
# every frame the replay sent, and the log must show no drop.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd tcpreplay
need_cmd capinfos
need_traceflowd
need_file "$GENCAP" gencap
netns_setup

"$GENCAP" -c 2000 -C 200 -p 22 -S 5 -o "$WORK/r.pcap" 2>/dev/null || fail "gencap failed"
want=$(capinfos -c -M "$WORK/r.pcap" | sed -n 's/^Number of packets: *//p')
[ "$want" -gt 50000 ] || fail "capinfos counted $want frames"

# run NAME FILTER_A FILTER_B: replay with a reload every 50 ms; the config
# alternates between the two filters (the same twice: nothing changes).
run() {
	local name=$1 a=$2 b=$3 spool=$WORK/$1.spool conf=$WORK/$1.conf i=0 packets reloads

	daemon_conf "$conf" "$spool" 'idle_timeout = "1d"' "filter = \"$a\""
	daemon_start "$name" "$conf" -i vb
	in_ns tcpreplay -q --pps 20000 -i va "$WORK/r.pcap" >"$WORK/$name.replay" 2>&1 &
	replayer=$!
	while kill -0 "$replayer" 2>/dev/null; do
		i=$((i + 1))
		if [ $((i % 2)) -eq 1 ]; then f=$b; else f=$a; fi
		daemon_conf "$conf.new" "$spool" 'idle_timeout = "1d"' "filter = \"$f\""
		mv "$conf.new" "$conf"
		kill -HUP "$DAEMON_PID"
		sleep 0.05
	done
	wait "$replayer" || fail "$name: tcpreplay failed: $(tail -n 3 "$WORK/$name.replay")"
	daemon_stop
	[ "$DAEMON_RC" -eq 0 ] || fail "$name: traceflowd exited $DAEMON_RC: $(tail -n 5 "$DAEMON_LOG")"
	reloads=$(grep -c 'reloaded ' "$DAEMON_LOG" || true)
	[ "$reloads" -ge 20 ] || check_fail "$name: only $reloads reloads logged (of $i sent)"
	packets=$(python3 -c 'import json,sys; print(sum(json.loads(l)["packets"] for l in open(sys.argv[1])))' \
	    "$spool/index.jsonl")
	drops=$(sed -n 's/.*vb: .* \([0-9]*\) dropped by the kernel, \([0-9]*\) by the interface/\1 \2/p' \
	    "$DAEMON_LOG")
	if [ "$packets" -ne "$want" ]; then
		check_fail "$name: $packets of $want frames in the index after $i reloads (drops: $drops)"
	elif [ "$drops" != "0 0" ]; then
		check_fail "$name: drops (kernel, interface): '$drops'"
	else
		ok "$name: $want of $want frames captured through $i reloads"
	fi
}

run same "tcp" "tcp"
grep -q 'swapped in place' "$DAEMON_LOG" && check_fail "same: a filter was set although none changed"
run changed "tcp" "ip or ip6"
grep -q 'swapped in place' "$DAEMON_LOG" || check_fail "changed: no filter was swapped in place"
finish
