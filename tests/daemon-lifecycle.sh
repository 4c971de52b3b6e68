#!/bin/bash
# daemon-lifecycle.sh: the daemon's life as a sysadmin sees it, in a
# network namespace with a veth pair: sd_notify messages on a socket we
# listen on, SIGHUP with a good and a bad config, SIGTERM flushing open
# flows, kill -9 and recovery, an interface deleted and re-created, per-file
# rotation of a long connection, retention, and the privilege drop.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd tcpreplay
need_cmd tcpdump
need_traceflowd
need_file "$GENCAP" gencap
netns_setup

# Traffic: 40 connections; "open" is the same cut before any FIN.
"$GENCAP" -c 40 -C 10 -p 30 -S 3 -o "$WORK/full.pcap" 2>/dev/null
tcpdump -r "$WORK/full.pcap" -c 150 -w "$WORK/open.pcap" 2>/dev/null

# index_count SPOOL EXPR: index lines matching a python expression over e.
index_count() {
	python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1] + "/index.jsonl") if (lambda e: eval(sys.argv[2]))(json.loads(l))))
' "$1" "$2"
}


# --- 1. sd_notify, SIGHUP good and bad, SIGTERM flush ----------------------
notify_listen "$WORK/notify.sock" "$WORK/notify.log" "STOPPING=1"

# nosuch0 is missing at start: logged, retried, the daemon captures on vb.
spool=$WORK/spool1
daemon_conf "$WORK/a.conf" "$spool" 'interfaces = ["vb", "nosuch0"]' 'linger = "1s"'
NOTIFY_SOCKET=$WORK/notify.sock WATCHDOG_USEC=400000 daemon_start d1 "$WORK/a.conf"
wait_for "$WORK/notify.log" "READY=1" 5 || check_fail "no READY=1 on NOTIFY_SOCKET"
grep -q "nosuch0: cannot capture: .*retrying every 5 s" "$DAEMON_LOG" ||
    check_fail "a missing interface was not reported: $(head -n 3 "$DAEMON_LOG")"
replay "$WORK/open.pcap"
wait_for "$WORK/notify.log" "STATUS=capturing on 1/2 interfaces" 8 ||
    check_fail "no STATUS= within 8 s: $(cat "$WORK/notify.log")"
[ "$(grep -c "WATCHDOG=1" "$WORK/notify.log")" -ge 5 ] ||
    check_fail "WATCHDOG=1 not sent every 200 ms: $(grep -c "WATCHDOG=1" "$WORK/notify.log") times"

# A good reload: an interface removed, the filter replaced, linger changed;
# the open flows stay open (none is finished by it).
daemon_conf "$WORK/a.conf" "$spool" 'interfaces = ["vb"]' 'linger = "3s"' 'filter = "not port 9"'
kill -HUP "$DAEMON_PID"
wait_for "$DAEMON_LOG" "reloaded .*interfaces, filter, linger" 5 ||
    check_fail "good reload not logged: $(tail -n 3 "$DAEMON_LOG")"
grep -q "nosuch0: no longer captured" "$DAEMON_LOG" || check_fail "reload did not drop nosuch0"
grep -q "vb: filter (not port 9) and" "$DAEMON_LOG" || check_fail "reload did not replace the filter"
[ ! -s "$spool/index.jsonl" ] || check_fail "the reload finished flows: $(wc -l <"$spool/index.jsonl")"
# A bad one: refused with file, line and setting; the old config stays.
printf 'interfaces = ["vb"];\nspool_dir = "%s";\nuser = "";\nlinger = "forever";\n' \
    "$spool" >"$WORK/a.conf"
kill -HUP "$DAEMON_PID"
wait_for "$DAEMON_LOG" "reload refused" 5 || check_fail "bad reload not refused"
grep -q "a.conf:4: setting linger" "$DAEMON_LOG" ||
    check_fail "bad reload: no file:line: setting in $(grep refused "$DAEMON_LOG")"
kill -0 "$DAEMON_PID" || fail "the daemon died on a bad reload"
[ "$(grep -c 'RELOADING=1' "$WORK/notify.log")" -eq 2 ] ||
    check_fail "RELOADING=1 not sent twice: $(cat "$WORK/notify.log")"
# Still capturing after both reloads; then connections left open at SIGTERM.
before=$(find "$spool" -name '*.pcap' | wc -l)
replay "$WORK/full.pcap"
replay "$WORK/open.pcap"
daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "SIGTERM: exit $DAEMON_RC"
wait "$listener" || true
grep -q "STOPPING=1" "$WORK/notify.log" || check_fail "no STOPPING=1"
# READY=1 at start and again after each reload, the refused one included.
if [ "$(grep -c 'READY=1' "$WORK/notify.log")" -eq 3 ]; then
	ok "READY (3 times), STATUS, RELOADING, STOPPING, WATCHDOG received"
else
	check_fail "READY=1 sent $(grep -c 'READY=1' "$WORK/notify.log") times, want 3 (start, 2 reloads)"
fi
after=$(find "$spool" -name '*.pcap' | wc -l)
[ "$after" -gt "$before" ] || check_fail "no new files after the reloads"
# SIGTERM finished every open flow: nothing active, reason shutdown.
if [ -n "$(ls -A "$spool/.active" 2>/dev/null)" ]; then
	check_fail "SIGTERM left files in .active"
else
	ok "SIGTERM: .active empty, $(index_count "$spool" 'e["reason"] == "shutdown"') flows finished as shutdown, $after files"
fi
[ "$(index_count "$spool" 'e["reason"] == "shutdown"')" -gt 0 ] ||
    check_fail "no flow ended with reason shutdown"

# --- 2. kill -9, then recovery --------------------------------------------
spool=$WORK/spool2
daemon_conf "$WORK/b.conf" "$spool" 'interfaces = ["vb"]' 'flush_interval = "100ms"'
daemon_start crash "$WORK/b.conf"
replay "$WORK/open.pcap"
sleep 1
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
nactive=$(find "$spool/.active" -type f | wc -l)
[ "$nactive" -gt 0 ] || fail "kill -9 left nothing in .active to recover"
# A torn last record, as a crash in the middle of a write would leave.
victim=$(find "$spool/.active" -type f | head -n 1)
good=$(stat -c %s "$victim")
printf '\x01\x02\x03\x04\x05\x06\x07\x08\x09' >>"$victim"
daemon_start recover "$WORK/b.conf"
daemon_stop
nrec=$(index_count "$spool" 'e["reason"] == "recovered"')
if [ "$nrec" -ne "$nactive" ]; then
	check_fail "recovered $nrec of $nactive files"
else
	bad=0
	while read -r f; do
		tcpdump -r "$spool/$f" >/dev/null 2>&1 || { bad=1; check_fail "recovered $f unreadable"; }
	done < <(python3 -c '
import json, sys
for l in open(sys.argv[1] + "/index.jsonl"):
    e = json.loads(l)
    if e["reason"] == "recovered": print(e["fpout"])' "$spool")
	torn=$(basename "$victim")
	# Recovered into the partition of its last record (or the top of a flat spool).
	torn=$(cd "$spool" && find . -name "$torn" ! -path './.active/*' | head -n 1)
	[ -n "$torn" ] && [ "$(stat -c %s "$spool/$torn")" -eq "$good" ] ||
	    check_fail "torn tail of $(basename "$victim") not cut (at '$torn')"
	[ "$bad" -eq 0 ] && ok "kill -9: $nrec files recovered into the spool, torn record cut, all readable"
fi

# --- 3. an interface deleted and re-created mid-capture ------------------
spool=$WORK/spool3
daemon_conf "$WORK/c.conf" "$spool" 'interfaces = ["vb"]'
daemon_start iface "$WORK/c.conf"
replay "$WORK/full.pcap"
sleep 0.5 # the last block reaches the daemon (CAPTURE_BLOCK_MS)
in_ns ip link del va
wait_for "$DAEMON_LOG" "vb: capture stopped" 5 || check_fail "deletion not noticed"
kill -0 "$DAEMON_PID" || fail "the daemon died when its interface went away"
in_ns ip link add va type veth peer name vb
in_ns ip link set va up
in_ns ip link set vb up
wait_for "$DAEMON_LOG" "vb: capturing" 12 2 || check_fail "vb not reopened: $(tail -n 3 "$DAEMON_LOG")"
"$GENCAP" -c 5 -p 4 -S 99 -t 1800000000 -o "$WORK/later.pcap" 2>/dev/null
sleep 0.3
replay "$WORK/later.pcap"
daemon_stop
n=$(index_count "$spool" 'e["first"] > 0 and e["srcport"] > 0 and e["interface"] == "vb"')
late=$(python3 -c '
import json, sys
print(max(json.loads(l)["index"][-1] for l in open(sys.argv[1] + "/index.jsonl")))' "$spool")
full=$(tcpdump -r "$WORK/full.pcap" 2>/dev/null | wc -l)
if [ "$late" -gt "$full" ] && [ "$(grep -c . "$spool/index.jsonl")" -ge 45 ]; then
	ok "interface deleted and re-created: capture resumed, frame numbers go on ($late > $full), $n flows"
else
	check_fail "after re-creation: last frame $late, full capture $full, $(grep -c . "$spool/index.jsonl") flows"
fi

# --- 4. per-file rotation of a long connection, retention ------------------
spool=$WORK/spool4
mkdir -p "$spool/2020/01/01"
# A file named as the writer names them: retention deletes nothing else.
old=10.9.9.9_1234-10.9.9.8_80-1577836800.000000.pcap
head -c 4096 /dev/zero >"$spool/2020/01/01/$old"
touch -d '2 hours ago' "$spool/2020/01/01/$old"
"$GENCAP" -c 1 -p 95 -s 1000 -S 4 -o "$WORK/long.pcap" 2>/dev/null
"$GENCAP" -c 600 -C 50 -p 20 -s 1000 -S 5 -t 1700100000 -o "$WORK/bulk.pcap" 2>/dev/null
daemon_conf "$WORK/d.conf" "$spool" 'interfaces = ["vb"]' 'segment_packets = 25' \
    'max_age = "1h"' 'max_spool_size = "4M"'
daemon_start rotate "$WORK/d.conf" -v # -v: a line per file retention deletes
replay "$WORK/long.pcap"
sleep 2.5
segs=$(index_count "$spool" 'e["srcport"] == 32768 and e["packets"] <= 25')
if [ "$segs" -ne 5 ] || [ "$(index_count "$spool" 'e["reason"] == "rotate"')" -ne 4 ]; then
	check_fail "rotation: $segs segments of <= 25 packets (want 5 for 101 packets)"
else
	if compgen -G "$spool/20*/*.seg4.pcap" >/dev/null; then # in its partition
		ok "rotation: 101 packets in 5 files of <= 25 packets, reasons rotate x4"
	else
		check_fail "rotation: no .seg4.pcap file"
	fi
fi
replay "$WORK/bulk.pcap"
# Deleted for its age, not because max_spool_size (set too) took it first.
wait_for "$DAEMON_LOG" "retention: deleted .*$old.*older than max_age" 15 ||
    check_fail "max_age did not delete $old: $(grep retention "$DAEMON_LOG" | head -n 3)"
wait_for "$DAEMON_LOG" "retention: deleted .*max_spool_size" 15 || check_fail "max_spool_size deleted nothing"
sleep 11
size=$(find "$spool" \( -path "$spool/.active" -o -path "$spool/.catalog" \) -prune -o -type f ! -name index.jsonl -printf '%s\n' |
    awk '{s += $1} END {print s + 0}')
if [ "$size" -le $((4 * 1024 * 1024)) ]; then
	ok "retention: spool at $size bytes <= 4M, old file gone"
else
	check_fail "retention: spool still $size bytes"
fi
daemon_stop

# --- 5. privilege drop --------------------------------------------------------
spool=$WORK/spool5
daemon_conf "$WORK/e.conf" "$spool" 'interfaces = ["vb"]'
sed -i 's/^user = "";/user = "nobody";\ngroup = "nogroup";/' "$WORK/e.conf"
daemon_start privs "$WORK/e.conf"
st=/proc/$DAEMON_PID/status
uid=$(awk '/^Uid:/ {print $2 $3 $4 $5}' "$st")
gid=$(awk '/^Gid:/ {print $2 $3 $4 $5}' "$st")
caps=$(awk '/^Cap(Inh|Prm|Eff|Bnd|Amb):/ {printf "%s%s ", $1, $2}' "$st")
nonzero=$(awk '/^Cap(Inh|Prm|Eff|Bnd|Amb):/ && $2 != "0000000000000000"' "$st" | wc -l)
groups=$(awk '/^Groups:/ {print $2}' "$st")
replay "$WORK/full.pcap"
daemon_stop
nu=$(id -u nobody)
ng=$(getent group nogroup | cut -d: -f3)
if [ "$uid" != "$nu$nu$nu$nu" ] || [ "$gid" != "$ng$ng$ng$ng" ] || [ -n "$groups" ] ||
    [ "$nonzero" -ne 0 ]; then
	check_fail "privileges: uid $uid gid $gid groups '$groups' $caps"
elif [ "$(grep -c . "$spool/index.jsonl")" -ne 40 ]; then
	check_fail "privileges: $(grep -c . "$spool/index.jsonl") flows captured as nobody, want 40"
else
	ok "privileges: uid/gid nobody/nogroup, no groups, $caps; 40 flows captured"
fi
# --- 6. a stop with many flows open: systemd hears it goes on -----------------
# 25,000 connections never closed: SIGTERM files them in slices of 10,000,
# each extending systemd's stop timeout (EXTEND_TIMEOUT_USEC) with a STATUS
# saying how far it got, so TimeoutStopSec does not kill a daemon that is
# still filing (a million open flows take longer than its 60 s).
"$GENCAP" -c 25000 -C 25000 -p 2 -O 100 -S 9 -o "$WORK/open25k.pcap" 2>/dev/null
notify_listen "$WORK/notify6.sock" "$WORK/notify6.log" "writing the rest"
spool=$WORK/spool6
daemon_conf "$WORK/f.conf" "$spool" 'interfaces = ["vb"]' 'idle_timeout = "1h"'
NOTIFY_SOCKET=$WORK/notify6.sock daemon_start stop6 "$WORK/f.conf"
replay "$WORK/open25k.pcap"
active=0
for _ in $(seq 100); do
	active=$("$top_builddir/traceflowctl" -s "$WORK/ctl.sock" -j stats |
	    python3 -c 'import json, sys; print(json.load(sys.stdin)["totals"]["flows_active"])')
	[ "$active" -eq 25000 ] && break
	sleep 0.1
done
[ "$active" -eq 25000 ] || check_fail "stop: $active flows active before SIGTERM, want 25000"
daemon_stop
wait "$listener" || true
ext=$(grep -c 'EXTEND_TIMEOUT_USEC=30000000' "$WORK/notify6.log" || true)
filed=$(grep -o 'STATUS=stopping: [0-9]* of 25000 flows filed' "$WORK/notify6.log" |
    sed 's/STATUS=stopping: \([0-9]*\).*/\1/' | tr '\n' ' ')
lines=$(index_count "$spool" 'e["reason"] == "shutdown"')
if [ "$DAEMON_RC" -ne 0 ]; then
	check_fail "stop with 25000 flows: exit $DAEMON_RC"
elif [ "$ext" -ne 3 ] || [ "$filed" != "0 10000 20000 " ]; then
	check_fail "stop with 25000 flows: $ext EXTEND_TIMEOUT_USEC (want 3), filed '$filed' (want '0 10000 20000 '): $(grep -v WATCHDOG "$WORK/notify6.log" | tail -n 5)"
elif [ "$lines" -ne 25000 ] || [ -n "$(ls -A "$spool/.active")" ]; then
	check_fail "stop with 25000 flows: $lines shutdown lines, .active: $(ls "$spool/.active" | wc -l) files"
else
	ok "stop with 25000 flows: 3 stop timeout extensions, progress 0/10000/20000, 25000 files indexed as shutdown"
fi
finish
