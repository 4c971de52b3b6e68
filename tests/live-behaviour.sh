#!/bin/bash
# live-behaviour.sh: documented live behaviours, checked on what a user sees.
#
# Two network namespaces: $NS holds the capturing ends (vb, and later vc
# and ve), $NS2 the sending ends (va, vd, vg), so that every frame crosses
# one veth into $NS and "any" sees it once. tcpreplay sends gencap
# captures; gencap's connection i has server port 80, 443, 8080, 5432 for
# i mod 4, so a filter on one port picks one connection of four.
#
#  1. admin_group: a member may submit and reload; a control_group member
#     who is not is refused (exit 1, "permission denied") and nothing is
#     submitted.
#  2. A filter reloaded takes effect; an interface missing at start is
#     captured once it appears; an interface added by a reload captures;
#     several interfaces at once, the index's "interface" telling which.
#  3. interfaces shows an interface that went down, with its error, and up
#     again once it is back.
#  4. interfaces = ["any"] files the flows of every interface.
#  5. idle_timeout = "2s" ends a quiet connection with reason idle within
#     the timeout and a tick, the daemon running on.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd tcpreplay
need_cmd editcap
need_cmd setpriv
need_cmd groupadd
need_traceflowd
need_file "$GENCAP" gencap
TRACEFLOWCTL=${TRACEFLOWCTL:-$top_builddir/traceflowctl}
need_file "$TRACEFLOWCTL" traceflowctl
getent group nogroup >/dev/null || skip "no group nogroup"
netns_setup

NS2=tf2-$$-$RANDOM
ip netns add "$NS2" || skip "cannot create a second network namespace"
grp_ctl=tfc$$
grp_adm=tfa$$
# with_rc RC: return RC, so that lib_exit reads the test's status in $?.
with_rc() {
	return "$1"
}
cleanup() {
	local rc=$?

	ip netns del "$NS2" 2>/dev/null || true
	groupdel "$grp_ctl" 2>/dev/null || true
	groupdel "$grp_adm" 2>/dev/null || true
	if [ "$rc" -eq 0 ]; then lib_exit; else with_rc "$rc" || lib_exit; fi
}
trap cleanup EXIT
ip -n "$NS" link set va netns "$NS2"
ip -n "$NS2" link set va up
ip -n "$NS2" link set lo up
ip netns exec "$NS2" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || true
groupadd "$grp_ctl" && groupadd "$grp_adm" || skip "cannot create groups"
gid_ctl=$(getent group "$grp_ctl" | cut -d: -f3)
gid_adm=$(getent group "$grp_adm" | cut -d: -f3)

# pair CAP SEND: a veth pair, CAP in $NS, SEND in $NS2, both up.
pair() {
	ip -n "$NS" link add "$1" type veth peer name "$2" netns "$NS2"
	ip -n "$NS" link set "$1" up
	ip -n "$NS2" link set "$2" up
}

# send IF CAP: replay CAP at top speed out of IF in $NS2.
send() {
	ip netns exec "$NS2" tcpreplay -q --topspeed -i "$1" "$2" >>"$WORK/replay.log" 2>&1 ||
	    fail "tcpreplay $2 on $1: $(tail -n 2 "$WORK/replay.log")"
}

# Closed connections (4, one per server port) and one left open (the
# handshake and 4 data packets of a 10-frame connection, no close).
gen() {
	"$GENCAP" -c 4 -C 1 -p 4 -S "$2" -t "$3" -o "$WORK/$1.pcap" 2>/dev/null ||
	    fail "gencap $1"
}
gen a 41 1700000000
gen b 42 1700100000
gen c 43 1700200000
gen d 44 1700300000
gen e 45 1700400000
gen f 46 1700500000
"$GENCAP" -c 1 -p 4 -S 47 -o "$WORK/open-full.pcap" 2>/dev/null
editcap -r "$WORK/open-full.pcap" "$WORK/open.pcap" 1-7 >/dev/null 2>&1 || fail "editcap"
"$GENCAP" -c 1 -p 4 -S 48 -t 1700600000 -o "$WORK/open2-full.pcap" 2>/dev/null
editcap -r "$WORK/open2-full.pcap" "$WORK/open2.pcap" 1-7 >/dev/null 2>&1 || fail "editcap"

sock=$WORK/ctl.sock
ctl() {
	"$TRACEFLOWCTL" -s "$sock" "$@"
}
# as_ctl / as_adm CMD...: run CMD as nobody, in the control group only, or
# in both the control group (to reach the 0660 socket) and admin_group.
as_ctl() {
	setpriv --reuid=nobody --regid=nogroup --groups="$gid_ctl" -- "$@"
}
as_adm() {
	setpriv --reuid=nobody --regid=nogroup --groups="$gid_ctl,$gid_adm" -- "$@"
}

# count SPOOL PYEXPR: index lines for which PYEXPR (over e) is true.
count() {
	python3 - "$1/index.jsonl" "$2" <<'EOF'
import json, sys
n = 0
try:
    for l in open(sys.argv[1]):
        e = json.loads(l)
        n += bool(eval(sys.argv[2], {}, {"e": e}))
except FileNotFoundError:
    pass
print(n)
EOF
}

# wait_count SPOOL PYEXPR N SECONDS: until count reaches N.
wait_count() {
	for _ in $(seq $(($4 * 10))); do
		[ "$(count "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

# iface_field IF KEY: KEY of interface IF in traceflowctl interfaces.
iface_field() {
	ctl --json interfaces 2>/dev/null | python3 -c '
import json, sys
for i in json.load(sys.stdin)["interfaces"]:
    if i["name"] == sys.argv[1]:
        print(i[sys.argv[2]])' "$1" "$2" || true
}

# wait_iface IF KEY VALUE SECONDS
wait_iface() {
	for _ in $(seq $(($4 * 10))); do
		[ "$(iface_field "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

# Flows by server port and interface (gencap's server is the port < 32768).
port_is() { echo "min(int(e['label'].split('-')[0].rsplit('_',1)[1]), int(e['label'].split('-')[1].rsplit('_',1)[1])) == $1"; }
on() { echo "e['interface'] == '$1' and $(port_is "$2")"; }

# --- daemon 1: permissions, filter, interfaces -----------------------------
spool=$WORK/spool
conf=$WORK/one.conf
write_one() {
	# daemon_conf's control_group = "root", replaced by the test's own group.
	daemon_conf "$conf" "$spool" 'idle_timeout = "1d"' "control_mode = 0660" \
	    "admin_group = \"$grp_adm\"" "filter = \"tcp port $1\"" "interfaces = [$2]"
	sed -i "s/^control_group = .*/control_group = \"$grp_ctl\";/" "$conf"
}
write_one 80 '"vb", "vc"'
daemon_start one "$conf"

# 1. admin_group.
send va "$WORK/open.pcap"
for _ in $(seq 50); do
	[ "$(ctl --json list --active 2>/dev/null | grep -c '"label"')" -ge 1 ] && break
	sleep 0.1
done
rc=0
as_ctl "$TRACEFLOWCTL" -s "$sock" list --active >/dev/null 2>"$WORK/ctl.err" ||
    check_fail "control_group member: list refused: $(cat "$WORK/ctl.err")"
for cmd in submit reload; do
	rc=0
	as_ctl "$TRACEFLOWCTL" -s "$sock" "$cmd" >/dev/null 2>"$WORK/ctl.err" || rc=$?
	if [ "$rc" -ne 1 ] || ! grep -q "permission denied" "$WORK/ctl.err"; then
		check_fail "control_group member, not admin: $cmd: rc $rc: $(cat "$WORK/ctl.err")"
	fi
done
[ "$(count "$spool" "e['reason'] == 'submit'")" -eq 0 ] ||
    check_fail "a refused submit filed a flow"
[ "$(grep -c 'reloaded' "$DAEMON_LOG")" -eq 0 ] || check_fail "a refused reload reloaded"
rc=0
as_adm "$TRACEFLOWCTL" -s "$sock" submit >"$WORK/adm.out" 2>"$WORK/adm.err" || rc=$?
[ "$rc" -eq 0 ] || check_fail "admin_group member: submit: rc $rc: $(cat "$WORK/adm.err")"
wait_count "$spool" "e['reason'] == 'submit'" 1 5 ||
    check_fail "admin_group member's submit filed no flow"
rc=0
as_adm "$TRACEFLOWCTL" -s "$sock" reload >/dev/null 2>"$WORK/adm.err" || rc=$?
[ "$rc" -eq 0 ] || check_fail "admin_group member: reload: rc $rc: $(cat "$WORK/adm.err")"
wait_for "$DAEMON_LOG" 'reloaded' 5 || check_fail "admin_group member's reload not logged"
ok "admin_group: submit and reload for its members only"

# 2a. The filter: only port 80 is filed (b's port 80 flow is the barrier
# after which a's other flows would have been filed, too).
send va "$WORK/a.pcap"
send va "$WORK/b.pcap"
wait_count "$spool" "$(on vb 80)" 2 10 || check_fail "port 80 flows on vb not filed"
n=$(count "$spool" "e['reason'] != 'submit' and not ($(port_is 80))")
[ "$n" -eq 0 ] || check_fail "filter tcp port 80: $n flows of other ports filed"

# 2b. vc was missing at start; it is captured once it appears.
[ "$(iface_field vc up)" = False ] || check_fail "vc missing: interfaces says up=$(iface_field vc up)"
[ -n "$(iface_field vc error)" ] && [ "$(iface_field vc error)" != None ] ||
    check_fail "vc missing: interfaces shows no error"
pair vc vd
wait_iface vc up True 15 || check_fail "vc appeared: not captured within 15 s"
send vd "$WORK/c.pcap"
wait_count "$spool" "$(on vc 80)" 1 10 || check_fail "vc appeared later: its flow not filed"
ok "a missing interface that appears is captured"

# 2c. A reload to port 443 on vb, vc and a new ve.
pair ve vg
before=$(count "$spool" 'True')
write_one 443 '"vb", "vc", "ve"'
kill -HUP "$DAEMON_PID"
wait_for "$DAEMON_LOG" 'reloaded' 5 2 || check_fail "SIGHUP: no reload logged"
wait_iface ve up True 10 || check_fail "ve added by reload: not captured"
send va "$WORK/d.pcap"
send vd "$WORK/e.pcap"
send vg "$WORK/f.pcap"
wait_count "$spool" "$(on vb 443)" 1 10 || check_fail "after reload: vb port 443 not filed"
wait_count "$spool" "$(on vc 443)" 1 10 || check_fail "after reload: vc port 443 not filed"
wait_count "$spool" "$(on ve 443)" 1 10 || check_fail "ve added by reload: its flow not filed"
after=$(count "$spool" 'True')
[ $((after - before)) -eq 3 ] ||
    check_fail "after reload to tcp port 443: $((after - before)) flows filed (3 expected)"
[ "$(count "$spool" "e['reason'] != 'submit' and $(port_is 80)")" -eq 3 ] ||
    check_fail "port 80 flows filed after the filter moved to 443"
ok "reload: filter and a new interface take effect; flows from vb, vc, ve told apart"

# 3. An interface goes away and comes back. (A link merely set down keeps
# its packet socket open and working: no error to show.)
ip -n "$NS" link del vb
wait_iface vb up False 10 || check_fail "vb deleted: interfaces still says up"
err=$(iface_field vb error)
[ -n "$err" ] && [ "$err" != None ] || check_fail "vb deleted: no error shown"
pair vb va
wait_iface vb up True 15 || check_fail "vb back: interfaces still says down"
ok "interfaces: vb gone ($err), then back"
daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "daemon one exited $DAEMON_RC"

# --- daemon 2: "any", idle_timeout -----------------------------------------
spool2=$WORK/spool2
daemon_conf "$WORK/two.conf" "$spool2" 'idle_timeout = "2s"' 'interfaces = ["any"]'
daemon_start two "$WORK/two.conf"
wait_iface any up True 5 || check_fail "any: not captured"
send va "$WORK/a.pcap"
send vd "$WORK/b.pcap"
wait_count "$spool2" "e['reason'] == 'fin'" 8 10 ||
    check_fail "any: $(count "$spool2" "e['reason'] == 'fin'") of 8 flows filed"
ok "any: flows of va/vb and vd/vc filed"

# 5. Idle: the open connection's last frame, then idle_timeout + a tick.
t0=$(date +%s%N)
send va "$WORK/open2.pcap"
wait_count "$spool2" "e['reason'] == 'idle'" 1 10 || check_fail "no flow ended idle in 10 s"
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$ms" -lt 1800 ] || [ "$ms" -gt 3500 ]; then
	check_fail "idle flow filed after $ms ms (idle_timeout 2 s)"
fi
kill -0 "$DAEMON_PID" || check_fail "the daemon stopped"
ok "idle: filed $ms ms after its last packet"
daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "daemon two exited $DAEMON_RC"
finish
