#!/bin/bash
# live-replay.sh: the live daemon against offline mode on the same traffic.
#
# In a network namespace with a veth pair, tcpreplay sends captures (made by
# gencap, and the Ethernet captures of ../shared/pcaps) into one end while
# traceflowd captures on the other. Its spool must hold the same flows as
# traceflowd --read on the same capture, every TCP frame exactly once, the same
# index lines but for times (tests/livecmp.py says what is compared), with
# no kernel drop at the replay rate used. A fifth of the mixed capture's
# connections never close (gencap -O): live, SIGTERM ends them with reason
# shutdown, offline the end of the file with eof, so the reasons compared
# include these ends even without ../shared/pcaps (SHARED_PCAPS=none).

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd tcpreplay
need_traceflowd
need_file "$GENCAP" gencap
netns_setup

caps=()
"$GENCAP" -m -c 300 -C 30 -p 8 -6 30 -O 20 -S 7 -o "$WORK/mixed.pcap" 2>"$WORK/mixed.gencap"
# left_open[CAPTURE]: its connections still open at the end (gencap's count).
declare -A left_open
left_open[$WORK/mixed.pcap]=$(sed -n 's/.*, \([0-9]*\) left open$/\1/p' "$WORK/mixed.gencap")
[ "${left_open[$WORK/mixed.pcap]:-0}" -gt 0 ] ||
    fail "gencap -O 20 left no connection open: $(cat "$WORK/mixed.gencap")"
"$GENCAP" -c 2000 -C 200 -p 20 -s 300 -S 8 -o "$WORK/bulk.pcap" 2>/dev/null
caps+=("$WORK/mixed.pcap" "$WORK/bulk.pcap")
if [ -n "$SHARED_PCAPS" ]; then
	# Ethernet captures whose frames fit the veth's MTU.
	for f in zeek/methods.pcap zeek/bruteforce.pcap zeek/ipv6.pcap zeek/ssh-dups.pcap \
	    tcpreplay/test.pcap tcpdump/pptp.pcap; do
		[ -f "$SHARED_PCAPS/$f" ] && caps+=("$SHARED_PCAPS/$f")
	done
fi

n=0
for cap in "${caps[@]}"; do
	n=$((n + 1))
	name=$(basename "$cap" .pcap)
	off=$WORK/$n-$name.offline
	live=$WORK/$n-$name.live
	# Offline, the idle timeout runs on capture time; live, on replay time.
	# A long one keeps both from splitting a connection the other keeps whole.
	tf_ok "$n-offline" --read "$cap" --output "$off" --idle-timeout 86400 || continue
	if [ -n "${left_open[$cap]:-}" ]; then
		# The premise of comparing their ends: offline ends each one at eof.
		eof=$(grep -c '"reason":"eof"' "$off/index.jsonl" || true)
		[ "$eof" -eq "${left_open[$cap]}" ] ||
		    check_fail "$name: offline ends $eof flows at eof, gencap left ${left_open[$cap]} open"
	fi
	daemon_conf "$WORK/$n.conf" "$live" 'idle_timeout = "1d"'
	daemon_start "$n-daemon" "$WORK/$n.conf" -i vb
	if ! in_ns tcpreplay -q --topspeed -i va "$cap" >"$WORK/$n.replay" 2>&1; then
		check_fail "$name: tcpreplay failed: $(tail -n 3 "$WORK/$n.replay")"
	fi
	# SIGTERM at once: what the kernel still holds must be read by the daemon
	# itself (traceflowd(8), SIGTERM), not handed over by a pause here.
	daemon_stop
	if [ "$DAEMON_RC" -ne 0 ]; then
		check_fail "$name: traceflowd exited $DAEMON_RC: $(tail -n 5 "$DAEMON_LOG")"
		continue
	fi
	drops=$(sed -n 's/.*vb: .* \([0-9]*\) dropped by the kernel, \([0-9]*\) by the interface/\1 \2/p' \
	    "$DAEMON_LOG")
	sent=$(sed -n 's/.*Successful packets: *\([0-9]*\).*/\1/p' "$WORK/$n.replay" | head -n 1)
	if [ "$drops" != "0 0" ]; then
		check_fail "$name: drops (kernel, interface): '$drops'"
	elif [ -d "$live/.active" ] && [ -n "$(ls -A "$live/.active")" ]; then
		check_fail "$name: files left in .active after SIGTERM"
	elif python3 "$top_srcdir/tests/livecmp.py" "$off" "$live" >"$WORK/$n.cmp" 2>&1; then
		ok "$name: ${sent:-?} packets replayed, 0 drops; $(tail -n 1 "$WORK/$n.cmp")"
	else
		check_fail "$name: $(head -n 8 "$WORK/$n.cmp")"
	fi
done
finish
