#!/bin/bash
# live-workers.sh: capture workers (capture_threads) on a veth, fed by
# tcpreplay in a network namespace.
#
# 1. With 2 and 3 workers the spool holds what one worker's holds on the
#    same capture (tests/livecmp.py --workers: endpoints, reasons, counts,
#    every packet once in its flow's order), and what traceflowd --read
#    makes of it: gencap -m's connections include IP fragments (first and
#    later fragments must reach the worker of their connection) and VLAN,
#    QinQ, PPPoE and MPLS encapsulations. Every worker got a share of the
#    frames (else the comparison would prove nothing), none was dropped.
# 2. With 2 workers, the control channel sees every worker's flows: list
#    counts the connections left open, show finds one, submit files flows
#    of both workers, stats has each worker's figures; SIGHUP reloads and
#    capture goes on, every packet still filed once.
# 3. The kernel refuses PACKET_FANOUT (an LD_PRELOAD shim, tests/nofanout.c):
#    a log line says so, the first worker captures the interface alone and
#    the spool is still whole.
# 4. A reload drops an interface while its workers read traffic from it: the
#    reload is done within seconds and SIGTERM stops the daemon (libevent's
#    event_del waited for a worker's callback that waited for the lock the
#    reload held: the daemon hung).

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd tcpreplay
need_cmd cc
need_cmd tshark
need_traceflowd
TRACEFLOWCTL=${TRACEFLOWCTL:-$top_builddir/traceflowctl}
need_file "$TRACEFLOWCTL" traceflowctl
need_file "$GENCAP" gencap
netns_setup

ctl() {
	in_ns "$TRACEFLOWCTL" -s "$WORK/ctl.sock" "$@"
}

# py FILE EXPR: EXPR over the JSON document J of FILE.
py() {
	python3 -c 'import json,sys; J=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

"$GENCAP" -m -c 300 -C 30 -p 8 -6 30 -O 20 -S 7 -o "$WORK/mixed.pcap" 2>"$WORK/mixed.gencap"
left_open=$(sed -n 's/.*, \([0-9]*\) left open$/\1/p' "$WORK/mixed.gencap")
"$GENCAP" -c 2000 -C 200 -p 20 -s 300 -S 8 -o "$WORK/bulk.pcap" 2>/dev/null
frags=$(tshark -r "$WORK/mixed.pcap" -Y 'ip.flags.mf == 1 or ip.frag_offset > 0 or ipv6.fragment' \
    2>/dev/null | wc -l || echo 0)
vlans=$(tshark -r "$WORK/mixed.pcap" -Y 'vlan' 2>/dev/null | wc -l || echo 0)

# live NAME CAPTURE WORKERS [SETTINGS...]: a daemon with WORKERS workers
# captures CAPTURE's replay; its stats in $WORK/NAME.stats, spool $WORK/NAME.
live() {
	local name=$1 cap=$2 n=$3

	shift 3
	daemon_conf "$WORK/$name.conf" "$WORK/$name" 'idle_timeout = "1d"' \
	    "capture_threads = $n" "$@"
	daemon_start "$name" "$WORK/$name.conf" -i vb
	in_ns tcpreplay -q --topspeed -i va "$cap" >"$WORK/$name.replay" 2>&1 ||
	    check_fail "$name: tcpreplay failed: $(tail -n 3 "$WORK/$name.replay")"
	sleep 0.3
	ctl --json stats >"$WORK/$name.stats" || check_fail "$name: stats failed"
	daemon_stop
	[ "$DAEMON_RC" -eq 0 ] || check_fail "$name: traceflowd exited $DAEMON_RC: $(tail -n 5 "$DAEMON_LOG")"
}

# shares NAME N: every one of N workers read frames, none dropped; "ok" or what is wrong.
shares() {
	py "$WORK/$1.stats" "(lambda i: 'ok' if len(i.get('workers', [])) == $2 and \
	    all(w['frames'] > 0 and w['kernel_drops'] == 0 for w in i['workers']) and \
	    sum(w['frames'] for w in i['workers']) == i['frames'] and i['kernel_drops'] == 0 \
	    else repr(i))(J['interfaces'][0])"
}

# 1. One worker, two, three: the same spool.
for cap in mixed bulk; do
	tf_ok "$cap-offline" --read "$WORK/$cap.pcap" --output "$WORK/$cap-off" --idle-timeout 86400 ||
	    continue
	live "$cap-1" "$WORK/$cap.pcap" 1
	python3 "$top_srcdir/tests/livecmp.py" "$WORK/$cap-off" "$WORK/$cap-1" >"$WORK/$cap-1.cmp" 2>&1 ||
	    check_fail "$cap, one worker against offline: $(head -n 6 "$WORK/$cap-1.cmp")"
	for n in 2 3; do
		live "$cap-$n" "$WORK/$cap.pcap" "$n"
		s=$(shares "$cap-$n" "$n")
		[ "$s" = ok ] || check_fail "$cap, $n workers: not every worker had frames, or drops: $s"
		if ! python3 "$top_srcdir/tests/livecmp.py" --workers "$WORK/$cap-1" "$WORK/$cap-$n" \
		    >"$WORK/$cap-$n.cmp" 2>&1; then
			check_fail "$cap, $n workers against one: $(head -n 6 "$WORK/$cap-$n.cmp")"
		elif ! python3 "$top_srcdir/tests/livecmp.py" --workers "$WORK/$cap-off" \
		    "$WORK/$cap-$n" >"$WORK/$cap-$n.off.cmp" 2>&1; then
			check_fail "$cap, $n workers against offline: $(head -n 6 "$WORK/$cap-$n.off.cmp")"
		else
			ok "$cap: $n workers ($(py "$WORK/$cap-$n.stats" \
			    "[w['frames'] for w in J['interfaces'][0]['workers']]") frames) file what one does: $(tail -n 1 "$WORK/$cap-$n.cmp")"
		fi
	done
done
[ "$frags" -gt 0 ] && [ "$vlans" -gt 0 ] ||
    check_fail "the mixed capture has $frags fragments and $vlans VLAN frames: it tests neither"

# 2. The control channel and SIGHUP with two workers.
daemon_conf "$WORK/ctl.conf" "$WORK/ctl" 'idle_timeout = "1d"' "capture_threads = 2"
daemon_start ctl "$WORK/ctl.conf" -i vb
in_ns tcpreplay -q --topspeed -i va "$WORK/mixed.pcap" >"$WORK/ctl.replay" 2>&1 ||
    check_fail "tcpreplay failed: $(tail -n 3 "$WORK/ctl.replay")"
sleep 0.5
ctl --json list --active >"$WORK/list.json" || check_fail "list failed"
# Closed connections linger a while ("closing"); the ones left open are "active".
n_open=$(py "$WORK/list.json" "len([f for f in J['flows'] if f['state'] == 'active'])")
[ "$n_open" -eq "$left_open" ] ||
    check_fail "list --active: $n_open flows, gencap left $left_open connections open"
label=$(py "$WORK/list.json" "[f for f in J['flows'] if f['state'] == 'active'][-1]['label']")
ctl --json show "$label" >"$WORK/show.json" || check_fail "show $label failed"
[ "$(py "$WORK/show.json" "J['label']")" = "$label" ] ||
    check_fail "show $label: $(head -c 300 "$WORK/show.json")"
ctl --json stats >"$WORK/ctl.stats"
s=$(shares ctl 2)
[ "$s" = ok ] || check_fail "stats with 2 workers: $s"
# Each worker's open flows: the frames of the flows listed, by worker, are
# not known outside; submitting them all files flows of both.
mapfile -t labels < <(py "$WORK/list.json" \
    "'\n'.join(f['label'] for f in J['flows'] if f['state'] == 'active')")
n_sub=0
for ((i = 0; i < ${#labels[@]}; i += 30)); do # a request takes so many arguments
	ctl --json submit "${labels[@]:i:30}" >"$WORK/submit.json" || check_fail "submit failed"
	n_sub=$((n_sub + $(py "$WORK/submit.json" "J['count']")))
done
[ "$n_sub" -eq "$left_open" ] || check_fail "submit of $left_open flows filed $n_sub"
n_idx=$(grep -c '"reason":"submit"' "$WORK/ctl/index.jsonl" || true)
[ "$n_idx" -eq "$left_open" ] ||
    check_fail "after submit: $n_idx index lines with reason submit, $left_open wanted"
kill -HUP "$DAEMON_PID"
wait_for "$DAEMON_LOG" 'reloaded' 10 || check_fail "no reload after SIGHUP: $(tail -n 3 "$DAEMON_LOG")"
in_ns tcpreplay -q --topspeed -i va "$WORK/bulk.pcap" >>"$WORK/ctl.replay" 2>&1 ||
    check_fail "tcpreplay after SIGHUP failed"
sleep 0.3
ctl --json stats >"$WORK/ctl2.stats"
daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "traceflowd exited $DAEMON_RC: $(tail -n 5 "$DAEMON_LOG")"
# Every frame read is in one flow's line, and no number is in two.
whole=$(python3 - "$WORK/ctl/index.jsonl" "$WORK/ctl2.stats" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
st = json.load(open(sys.argv[2]))["interfaces"][0]
frames = [n for e in lines for n in (e["index"] or [])]
bad = []
if len(frames) != len(set(frames)):
    bad.append("%d frame numbers in two lines" % (len(frames) - len(set(frames))))
if sum(e["packets"] for e in lines) != st["frames"]:
    bad.append("index packets %d, frames read %d" % (sum(e["packets"] for e in lines), st["frames"]))
if min(w["frames"] for w in st["workers"]) == 0:
    bad.append("a worker read nothing: %r" % st["workers"])
print("; ".join(bad) or "ok %d" % st["frames"])
EOF
)
case $whole in
ok*) ok "2 workers: list ($n_open open), show, submit ($n_sub filed), stats, SIGHUP; ${whole#ok } frames each filed once" ;;
*) check_fail "2 workers, after submit and SIGHUP: $whole" ;;
esac

# 3. PACKET_FANOUT refused: the first worker alone, and said.
cc -shared -fPIC -o "$WORK/nofanout.so" "$top_srcdir/tests/nofanout.c" -ldl ||
    fail "cannot build the shim tests/nofanout.c"
preload=$WORK/nofanout.so
asan=$(ldd "$TRACEFLOWD" | awk '$1 ~ /^libasan\.so/ {print $3}')
[ -z "$asan" ] || preload=$asan:$preload
daemon_conf "$WORK/refused.conf" "$WORK/refused" 'idle_timeout = "1d"' "capture_threads = 2"
LD_PRELOAD=$preload daemon_start refused "$WORK/refused.conf" -i vb
in_ns tcpreplay -q --topspeed -i va "$WORK/mixed.pcap" >"$WORK/refused.replay" 2>&1 ||
    check_fail "tcpreplay failed: $(tail -n 3 "$WORK/refused.replay")"
sleep 0.3
ctl --json stats >"$WORK/refused.stats"
daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "refused: traceflowd exited $DAEMON_RC: $(tail -n 5 "$DAEMON_LOG")"
if ! grep -q 'vb: PACKET_FANOUT refused (Operation not supported): one worker captures' "$DAEMON_LOG"; then
	check_fail "no log line for the refused fanout: $(grep -i fanout "$DAEMON_LOG" | head -n 3)"
elif [ "$(py "$WORK/refused.stats" "(lambda i: (i['error'] or '').startswith('PACKET_FANOUT refused') \
    and [w['frames'] > 0 for w in i['workers']] == [True, False])(J['interfaces'][0])")" != True ]; then
	check_fail "refused: stats do not say it, or the second worker read: $(head -c 600 "$WORK/refused.stats")"
elif ! python3 "$top_srcdir/tests/livecmp.py" --workers "$WORK/mixed-off" "$WORK/refused" \
    >"$WORK/refused.cmp" 2>&1; then
	check_fail "refused: the spool differs from offline: $(head -n 6 "$WORK/refused.cmp")"
else
	ok "PACKET_FANOUT refused: logged, in stats, the first worker filed everything: $(tail -n 1 "$WORK/refused.cmp")"
fi

# 4. A reload drops an interface that carries traffic, four times over
# (adding it back in between): a worker's callback must be in flight as
# the reload frees the handle, which a single try hits about half the time.
# Few connections, many packets: traffic for the reloads, few flows to file at
# the stop (under ASan with fast_unwind_on_malloc=0, filing 14,000 flows at
# SIGTERM took 18 s, against 0.9 s with the default unwinder).
"$GENCAP" -c 40 -C 40 -p 1100 -S 5 -o "$WORK/loop.pcap" 2>/dev/null
with_vb=('idle_timeout = "1d"' 'interfaces = ["vb", "lo"]' "capture_threads = 2")
without_vb=('idle_timeout = "1d"' 'interfaces = ["lo"]' "capture_threads = 2")
daemon_conf "$WORK/drop.conf" "$WORK/drop" "${with_vb[@]}"
daemon_start drop "$WORK/drop.conf"
in_ns tcpreplay -q --pps=100000 --loop=12 -i va "$WORK/loop.pcap" >"$WORK/drop.replay" 2>&1 &
replayer=$!
hung=
for k in 1 2 3 4; do
	sleep 0.5
	daemon_conf "$WORK/drop.conf" "$WORK/drop" "${without_vb[@]}"
	kill -HUP "$DAEMON_PID"
	wait_for "$DAEMON_LOG" 'reloaded' 10 $((2 * k - 1)) || { hung="dropping vb ($k)"; break; }
	sleep 0.5
	daemon_conf "$WORK/drop.conf" "$WORK/drop" "${with_vb[@]}"
	kill -HUP "$DAEMON_PID"
	wait_for "$DAEMON_LOG" 'reloaded' 10 $((2 * k)) || { hung="adding vb back ($k)"; break; }
done
kill "$replayer" 2>/dev/null || true
wait "$replayer" 2>/dev/null || true
# Let a loaded daemon (the ASan tree, both suites at once) read what the
# ring holds before SIGTERM: the stop below is timed, the backlog is not
# what it tests.
last=-1
for _ in $(seq 40); do
	[ -n "$hung" ] && break
	now=$(ctl --json stats 2>/dev/null | python3 -c \
	    'import json,sys; print(json.load(sys.stdin)["totals"]["frames"])' 2>/dev/null || echo -2)
	[ "$now" = "$last" ] && break
	last=$now
	sleep 0.5
done
if [ -n "$hung" ]; then
	check_fail "a reload $hung under traffic did not finish in 10 s (hung?)"
	daemon_kill
	DAEMON_PID=
else
	daemon_stop_within
	drops=$(grep -c 'vb: no longer captured' "$DAEMON_LOG" || true)
	if [ "$DAEMON_RC" -ne 0 ]; then
		check_fail "drop under traffic: traceflowd exited $DAEMON_RC: $(tail -n 3 "$DAEMON_LOG")"
	elif [ "$drops" -ne 4 ]; then
		check_fail "drop under traffic: vb dropped $drops times, 4 asked"
	else
		ok "4 reloads drop an interface under traffic with 2 workers (and add it back): done, stopped"
	fi
fi
finish
