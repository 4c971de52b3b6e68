#!/bin/bash
# query-fleet.sh: from a collector's record to the packets (a fleet of two).
#
# Three network namespaces: a collector running nfdump's nfcapd, and two
# sensors, each with its own veth pair for tcpreplay, its own link to the
# collector, and its own traceflowd (config, spool, control socket,
# observation_domain 1 and 2, ipfix_pen set) exporting over UDP. Each
# sensor is sent a different generated capture; the tuples of the first
# also occur in the second, so only part of sensor 2's connections are its
# own. One of these is looked up as a sysadmin would: nfdump, over
# everything the collector kept, finds it by 'host A and port P' and names
# its exporter (SysID, and nfdump -E maps the SysID to the observation
# domain: nfdump does not keep the record's enterprise elements, so not
# its file). Then traceflowctl query, on that sensor's spool, with host A,
# port P and a time range taken from nfdump's times widened by a second:
# the table and --json must name the one file the sensor wrote for it;
# -w OUT.pcap, and -w - with the spool taken from the sensor's config,
# must hold exactly that file's frames, as tshark reads them; the same
# query on the other sensor, or a minute before or after, finds nothing.
# The times are typed as nfdump prints them, in local time (TZ is set to a
# zone away from UTC for both programs).

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip
need_cmd tcpreplay
need_cmd nfcapd
need_cmd nfdump
need_cmd tshark
need_traceflowd
need_file "$GENCAP" gencap
TFCTL=${TFCTL:-$top_builddir/traceflowctl}
need_file "$TFCTL" traceflowctl

# nfdump and traceflowctl read and write local times: make them not UTC.
export TZ=Europe/Paris
PORT=4739
PEN=32473
COL="" S1="" S2="" NFCAPD_PID="" PID1="" PID2=""
cleanup() {
	local p
	for p in $PID1 $PID2 $NFCAPD_PID; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for p in $S1 $S2 $COL; do ip netns del "$p" 2>/dev/null || true; done
}
trap 'rc=$?; cleanup; (exit $rc); lib_exit' EXIT

# The collector's namespace; sensor N reaches it at 10.250.N.1 and exports
# from 10.250.N.2.
COL=tfc-$$-$RANDOM
ip netns add "$COL" || skip "cannot create a network namespace"
ip -n "$COL" link set lo up
# sensor_ns N: the namespace of sensor N (name in SN), its veth pair va/vb
# for the replay, and its link to the collector.
sensor_ns() {
	local ns=tfs$1-$$-$RANDOM

	ip netns add "$ns"
	eval "S$1=$ns"
	ip -n "$ns" link set lo up
	ip -n "$ns" link add va type veth peer name vb
	ip -n "$ns" link add ex type veth peer name s"$1" netns "$COL"
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || true
	ip -n "$ns" addr add 10.250."$1".2/24 dev ex
	ip -n "$COL" addr add 10.250."$1".1/24 dev s"$1"
	for l in va vb ex; do ip -n "$ns" link set "$l" up; done
	ip -n "$COL" link set s"$1" up
}
sensor_ns 1
sensor_ns 2

# Two different captures: sensor 1 the mixed one (encapsulations, edge
# cases, IPv6), sensor 2 plain IPv4 with more connections, whose first 60
# have the same tuples as sensor 1's.
"$GENCAP" -m -c 60 -C 10 -p 6 -6 20 -S 31 -o "$WORK/s1.pcap" 2>/dev/null
"$GENCAP" -c 120 -C 10 -p 8 -S 32 -o "$WORK/s2.pcap" 2>/dev/null

# The target: a connection of sensor 2 whose client address and port sensor
# 1 never saw (chosen by tshark from the captures, not from the daemon).
syns() {
	tshark -r "$1" -n -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' \
	    -T fields -e ip.src -e ipv6.src -e tcp.srcport 2>/dev/null | awk '{print $1, $2}' | sort -u
}
syns "$WORK/s1.pcap" >"$WORK/s1.syns"
syns "$WORK/s2.pcap" >"$WORK/s2.syns"
comm -13 "$WORK/s1.syns" "$WORK/s2.syns" | grep -E '^[0-9.]+ [0-9]+$' >"$WORK/own.syns" || true
[ -s "$WORK/own.syns" ] || fail "no connection of sensor 2's capture is its own"
read -r A P <<<"$(sed -n "$((($(wc -l <"$WORK/own.syns") + 1) / 2))p" "$WORK/own.syns")"
ok "target: host $A port $P (sensor 2's capture only)"

# What each spool must hold: the same flows as offline on the same capture.
for n in 1 2; do
	tf_ok off$n --read "$WORK/s$n.pcap" --output "$WORK/off$n" --idle-timeout 86400 --linger 0 ||
	    fail "offline run on s$n.pcap failed"
done

# The collector, for both sensors.
mkdir -p "$WORK/nfcapd"
ip netns exec "$COL" nfcapd -p "$PORT" -w "$WORK/nfcapd" >"$WORK/nfcapd.log" 2>&1 &
NFCAPD_PID=$!
wait_for "$WORK/nfcapd.log" 'Startup' 10 || fail "nfcapd did not start: $(tail -n 3 "$WORK/nfcapd.log")"

# The sensors: /etc/traceflow.conf of each, as the README's Fleets shows.
for n in 1 2; do
	mkdir -p "$WORK/sensor$n"
	cat >"$WORK/sensor$n/traceflow.conf" <<EOF
interfaces = [ "vb" ];
spool_dir = "$WORK/sensor$n/spool";
control_socket = "$WORK/sensor$n/ctl.sock";
control_group = "root";
user = "";
idle_timeout = "1d";
linger = "0";
ipfix_collector = "10.250.$n.1:$PORT";
observation_domain = $n;
ipfix_pen = $PEN;
EOF
	eval "NS=\$S$n"
	# shellcheck disable=SC2034 # NS: daemon_start's namespace
	daemon_start sensor$n "$WORK/sensor$n/traceflow.conf"
	eval "PID$n=$DAEMON_PID"
	DAEMON_PID="" NS=""
	wait_for "$WORK/sensor$n.log" "ipfix: exporting to 10.250.$n.1:$PORT over udp, observation domain $n" 10 ||
	    fail "sensor $n: no line saying it exports: $(tail -n 3 "$WORK/sensor$n.log")"
done

# Both replays at once.
ip netns exec "$S1" tcpreplay -q --topspeed -i va "$WORK/s1.pcap" >"$WORK/replay1.log" 2>&1 &
r1=$!
ip netns exec "$S2" tcpreplay -q --topspeed -i va "$WORK/s2.pcap" >"$WORK/replay2.log" 2>&1 &
r2=$!
wait "$r1" || fail "tcpreplay s1.pcap: $(tail -n 2 "$WORK/replay1.log")"
wait "$r2" || fail "tcpreplay s2.pcap: $(tail -n 2 "$WORK/replay2.log")"

# ipfix_sent N: records sensor N's exporter has sent so far.
ipfix_sent() {
	eval "ip netns exec \$S$1" "$TFCTL" -s "$WORK/sensor$1/ctl.sock" --json stats 2>/dev/null |
	    python3 -c "import json,sys; print(json.load(sys.stdin)['totals']['ipfix']['sent'])" 2>/dev/null ||
	    echo 0
}
# Every flow filed (linger 0: at its FIN) and its record sent.
for n in 1 2; do
	want=$(wc -l <"$WORK/off$n/index.jsonl")
	for _ in $(seq 150); do
		lines=$(wc -l <"$WORK/sensor$n/spool/index.jsonl" 2>/dev/null || echo 0)
		[ "$lines" -ge "$want" ] && [ "$(ipfix_sent $n)" -ge "$want" ] && break
		sleep 0.1
	done
	[ "$lines" -eq "$want" ] || fail "sensor $n: $lines index lines, $want offline"
	sent=$(ipfix_sent $n)
	[ "$sent" -eq "$want" ] || fail "sensor $n: $want flows filed, $sent records sent"
	ok "sensor $n: $lines flows filed, $sent records sent to the collector"
done

# The collector writes its file when it stops (or at its next rotation).
sleep 0.5
kill -TERM "$NFCAPD_PID"
wait "$NFCAPD_PID" || true
NFCAPD_PID=""

# --- the sysadmin's side: nfdump ------------------------------------------

# Which exporters the collector knows: nfdump -E per file, "SysID: 1, IP:
# 10.250.1.2, version: 10, ID: 1, ..." (ID: the observation domain).
for f in "$WORK"/nfcapd/nfcapd.*; do nfdump -E "$f"; done >"$WORK/exporters.txt" 2>&1 ||
    fail "nfdump -E: $(tail -n 3 "$WORK/exporters.txt")"
sed -n 's/.*SysID: *\([0-9]*\), *IP: *\([^,]*\), *version: *10, *ID: *\([0-9]*\),.*/\1 \2 \3/p' \
    "$WORK/exporters.txt" | sort -u >"$WORK/sysids"
[ "$(cut -d' ' -f3 "$WORK/sysids" | sort -u | tr '\n' ' ')" = "1 2 " ] ||
    fail "nfdump -E does not show observation domains 1 and 2: $(cat "$WORK/exporters.txt")"
ok "nfdump -E: $(tr '\n' ';' <"$WORK/sysids")"

FMT='fmt:%ts|%te|%sa|%sp|%da|%dp|%pkt|%exp|%ra|%odid'
nfdump -R "$WORK/nfcapd" -q -N -o "$FMT" "host $A and port $P" >"$WORK/found.txt" 2>"$WORK/found.err" ||
    fail "nfdump: $(cat "$WORK/found.err")"
sed 's/^/  nfdump: /' "$WORK/found.txt"
[ "$(grep -c . "$WORK/found.txt")" -eq 1 ] ||
    fail "nfdump finds $(grep -c . "$WORK/found.txt") records for host $A and port $P, not 1"
IFS='|' read -r ts te sa sp da dp pkt sysid ra odid <<<"$(awk -F'|' -v OFS='|' \
    '{ for (i = 1; i <= NF; i++) gsub(/^ +| +$/, "", $i); print }' "$WORK/found.txt")"
read -r _ exp_ip domain <<<"$(awk -v s="$sysid" '$1 == s' "$WORK/sysids")"
[ "${domain:-}" = 2 ] || fail "nfdump's record has SysID $sysid, observation domain ${domain:-?}, not 2"
[ "$ra" = 10.250.2.2 ] || check_fail "nfdump's record comes from $ra, not sensor 2 (10.250.2.2)"
ok "nfdump: $sa:$sp -> $da:$dp, $pkt packets, $ts .. $te: SysID $sysid = observation domain $domain (from $exp_ip); %odid shows ${odid:-?} (the record has no observationDomainId element)"

# A tuple both sensors saw: a record from each, told apart by the domain alone.
read -r A0 P0 <<<"$(comm -12 "$WORK/s1.syns" "$WORK/s2.syns" | grep -E '^[0-9.]+ [0-9]+$' | head -n 1)"
doms=$(nfdump -R "$WORK/nfcapd" -q -N -o 'fmt:%exp' "host $A0 and port $P0" 2>&1 | tr -d ' ' |
    while read -r s; do awk -v s="$s" '$1 == s { print $3 }' "$WORK/sysids"; done | sort -u | tr '\n' ' ')
if [ "$doms" = "1 2 " ]; then
	ok "nfdump: host $A0 and port $P0 (in both captures): records of observation domains 1 and 2"
else
	check_fail "nfdump: host $A0 and port $P0 (in both captures): observation domains [$doms], not [1 2 ]"
fi

# The file sensor 2 wrote for it (its index line), and its frames.
read -r FPOUT NPKT <<<"$(python3 - "$WORK/sensor2/spool/index.jsonl" "$A" "$P" <<'PY'
import json, sys
m = [e for e in map(json.loads, open(sys.argv[1]))
     if e["src"] == sys.argv[2] and e["srcport"] == int(sys.argv[3])]
if len(m) == 1:
    print(m[0]["fpout"], m[0]["packets"])
PY
)"
[ -n "${FPOUT:-}" ] || fail "sensor 2's index has no single line for $A:$P"
[ "$NPKT" = "$pkt" ] || check_fail "nfdump says $pkt packets, sensor 2's index $NPKT"

# frames FILE: one line per frame, as tshark reads it.
frames() {
	tshark -r "$1" -n -o ip.defragment:FALSE -T fields -e frame.time_epoch -e frame.len \
	    -e eth.src -e eth.dst -e ip.src -e ip.dst -e tcp.srcport -e tcp.dstport -e tcp.seq_raw \
	    -e tcp.ack_raw -e tcp.flags -e tcp.len -e tcp.payload 2>"$1.tshark.err"
}
frames "$WORK/sensor2/spool/$FPOUT" >"$WORK/want.frames" ||
    fail "tshark $FPOUT: $(head -n 3 "$WORK/sensor2/spool/$FPOUT.tshark.err")"
[ "$(wc -l <"$WORK/want.frames")" -eq "$NPKT" ] ||
    fail "tshark reads $(wc -l <"$WORK/want.frames") frames in $FPOUT, the index says $NPKT"

# --- the sensor's side: traceflowctl query ---------------------------------

# nfdump's times (local, to the millisecond) widened to whole seconds and
# one more each way, typed as RFC 3339 without a zone (local time).
t0=$(date -d "$ts" +%s)
t1=$(date -d "$te" +%s)
T1=$(date -d "@$((t0 - 1))" +%Y-%m-%dT%H:%M:%S)
T2=$(date -d "@$((t1 + 1))" +%Y-%m-%dT%H:%M:%S)
EXPR=(host "$A" and port "$P" and after "$T1" and before "$T2")
ok "query: ${EXPR[*]}"

# query NAME ARGS...: traceflowctl query ARGS, stdout in $WORK/NAME.out,
# stderr in $WORK/NAME.err, exit status in Q_RC.
query() {
	local name=$1

	shift
	Q_RC=0
	"$TFCTL" query "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || Q_RC=$?
}

if ! "$TFCTL" help query >"$WORK/help-query.txt" 2>&1; then
	fail "traceflowctl has no query command: $(head -n 2 "$WORK/help-query.txt")"
fi

# The flow, for people's eyes and as JSON: sensor 2's one file.
query list -d "$WORK/sensor2/spool" "${EXPR[@]}"
sed 's/^/  /' "$WORK/list.out"
if [ "$Q_RC" -ne 0 ]; then
	check_fail "query (table): exit $Q_RC: $(head -n 3 "$WORK/list.err")"
elif [ "$(grep -c . "$WORK/list.out")" -ne 2 ]; then
	check_fail "query (table): $(grep -c . "$WORK/list.out") lines, not a header and one flow"
elif ! sed -n 2p "$WORK/list.out" | grep -qF "$(basename "$FPOUT" .pcap)"; then
	check_fail "query (table): its flow line does not name $(basename "$FPOUT" .pcap)"
fi
query json -d "$WORK/sensor2/spool" --json "${EXPR[@]}"
if [ "$Q_RC" -ne 0 ]; then
	check_fail "query --json: exit $Q_RC: $(head -n 3 "$WORK/json.err")"
else
	got=$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["fpout"] for l in sys.stdin if l.strip()))' \
	    <"$WORK/json.out" 2>&1) || got="unreadable: $got"
	if [ "$got" = "$FPOUT" ]; then
		ok "query --json: $FPOUT"
	else
		check_fail "query --json names [$got], not [$FPOUT]"
	fi
fi

# Its packets: exactly the frames of that file.
query pcap -d "$WORK/sensor2/spool" -w "$WORK/out.pcap" "${EXPR[@]}"
if [ "$Q_RC" -ne 0 ]; then
	check_fail "query -w: exit $Q_RC: $(head -n 3 "$WORK/pcap.err")"
elif [ ! -s "$WORK/out.pcap" ]; then
	check_fail "query -w: no $WORK/out.pcap"
else
	ok "query -w: $(cat "$WORK/pcap.err")"
	grep -Eq "query: 1 flows?, $NPKT packets?, " "$WORK/pcap.err" ||
	    check_fail "query -w's summary does not say 1 flow, $NPKT packets: $(cat "$WORK/pcap.err")"
	frames "$WORK/out.pcap" >"$WORK/got.frames" ||
	    check_fail "tshark out.pcap: $(head -n 3 "$WORK/out.pcap.tshark.err")"
	if cmp -s "$WORK/want.frames" "$WORK/got.frames"; then
		ok "out.pcap: the $NPKT frames of $FPOUT, as tshark reads them"
	else
		check_fail "out.pcap ($(wc -l <"$WORK/got.frames") frames) is not $FPOUT ($NPKT): $(diff "$WORK/want.frames" "$WORK/got.frames" | head -n 6)"
	fi
fi
# As the README types it on the sensor: the spool from the sensor's config
# (traceflowctl asks traceflowd to read it), -w - after the expression;
# the same bytes on stdout (what goes to wireshark -k -i -).
TRACEFLOWD=$TRACEFLOWD query stdout -c "$WORK/sensor2/traceflow.conf" "${EXPR[@]}" -w -
if [ "$Q_RC" -ne 0 ]; then
	check_fail "query -c CONF ... -w -: exit $Q_RC: $(head -n 3 "$WORK/stdout.err")"
elif ! cmp -s "$WORK/out.pcap" "$WORK/stdout.out"; then
	check_fail "query -c CONF ... -w - writes other bytes than -d SPOOL -w FILE"
else
	ok "query -c CONF ... -w -: the same $(wc -c <"$WORK/stdout.out") bytes on stdout"
fi

# The other sensor never saw it; nor was it there a minute before or after.
query other -d "$WORK/sensor1/spool" --json "${EXPR[@]}"
[ "$Q_RC" -eq 0 ] && [ ! -s "$WORK/other.out" ] ||
    check_fail "query on sensor 1: exit $Q_RC, $(grep -c . "$WORK/other.out") flows: $(head -n 2 "$WORK/other.err")"
early=$(date -d "@$((t0 - 60))" +%Y-%m-%dT%H:%M:%S)
query early -d "$WORK/sensor2/spool" --json host "$A" and port "$P" and before "$early"
[ "$Q_RC" -eq 0 ] && [ ! -s "$WORK/early.out" ] ||
    check_fail "query before $early: exit $Q_RC, $(grep -c . "$WORK/early.out") flows: $(head -n 2 "$WORK/early.err")"
late=$(date -d "@$((t1 + 60))" +%Y-%m-%dT%H:%M:%S)
query late -d "$WORK/sensor2/spool" --json host "$A" and port "$P" and after "$late"
[ "$Q_RC" -eq 0 ] && [ ! -s "$WORK/late.out" ] ||
    check_fail "query after $late: exit $Q_RC, $(grep -c . "$WORK/late.out") flows: $(head -n 2 "$WORK/late.err")"
[ "$failures" -ne 0 ] || ok "sensor 1, before $early, after $late: no flow"

for n in 1 2; do
	eval "p=\$PID$n"
	kill -TERM "$p"
	rc=0
	wait "$p" || rc=$?
	eval "PID$n="
	[ "$rc" -eq 0 ] || check_fail "sensor $n: traceflowd exited $rc: $(tail -n 3 "$WORK/sensor$n.log")"
done
finish
