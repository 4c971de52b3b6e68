#!/bin/bash
#
# ctl-cli.sh: traceflowctl as a user types it, against a fake daemon (a
# Python server speaking proto.h that records each request and answers
# with a canned document), so no root is needed: what it links (readelf), usage
# errors exiting 2, --timeout and its message and exit code 75 for a daemon
# that accepts and never answers, one that never accepts and one that
# trickles, options before or after the command, local wall-clock times
# (TZ), AGE / DURATION / REASON columns, durations past an hour (2h05m,
# 3d04h, uptime included), show by file name, and -c FILE
# read through traceflowd --print-config json. Then durations with units
# on traceflowd's command line, with their effect on a capture.

# shellcheck disable=SC2015 # "A && B || check_fail": a failure of either is reported
set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_cmd python3
need_cmd readelf
TRACEFLOWCTL=${TRACEFLOWCTL:-$top_builddir/traceflowctl}
need_file "$TRACEFLOWCTL" traceflowctl
need_file "$TRACEFLOWD" traceflowd
export TRACEFLOWD

# section: start counting failures for ok_clean.
section() { section_failures=$failures; }
# ok_clean MSG: ok MSG, unless a check of the section failed.
ok_clean() {
	[ "$failures" -ne "$section_failures" ] || ok "$@"
}

# 1. The client links no engine: no libconfig, libsystemd or libevent (query
# reads captures and the catalog: libpcap and libsqlite3 are its own). What
# it links itself (NEEDED), not what those pull in: Debian's libpcap brings
# libsystemd through libdbus for its D-Bus capture, which the client never
# opens.
section
libs=$(readelf -d "$TRACEFLOWCTL" | grep NEEDED)
for lib in libconfig libsystemd libevent; do
	! grep -q "$lib" <<<"$libs" || check_fail "traceflowctl links $lib: $(grep "$lib" <<<"$libs")"
done
grep -q libjansson <<<"$libs" || check_fail "traceflowctl does not link libjansson?"
ok_clean "traceflowctl links no libconfig, libsystemd, libevent"

# The fake daemon: fake.py SOCK MODE DIR. Modes: reply (answer each request
# with DIR/CMD.json, or an error; requests appended to DIR/requests), silent
# (accept, read, never answer), backlog (never accept; its one-slot backlog
# filled by itself), trickle (one byte of a valid reply every 0.3 s).
cat >"$WORK/fake.py" <<'EOF'
import json, os, socket, struct, sys, time
path, mode, d = sys.argv[1:4]
MAGIC, DATA, EXIT = 0x74666374, 2, 3
def msg(t, body):
    return struct.pack("=IIII", MAGIC, 1, t, len(body)) + body
def read_request(c):
    buf = b""
    while len(buf) < 16 or len(buf) < 16 + struct.unpack("=IIII", buf[:16])[3]:
        chunk = c.recv(65536)
        if not chunk:
            return None
        buf += chunk
    body = buf[20:16 + struct.unpack("=IIII", buf[:16])[3]]
    return [a.decode() for a in body.split(b"\0")[:-1]]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(0 if mode == "backlog" else 16)
held = []
if mode == "backlog":
    for _ in range(2):
        f = socket.socket(socket.AF_UNIX)
        f.setblocking(False)
        try:
            f.connect(path)
        except BlockingIOError:
            pass
        held.append(f)
open(os.path.join(d, mode + ".ready"), "w").close()
while True:
    if mode == "backlog":
        time.sleep(1)
        continue
    c, _ = s.accept()
    argv = read_request(c)
    if mode == "silent":
        held.append(c)
        continue
    name = os.path.join(d, (argv or ["none"])[0] + ".json")
    if os.path.exists(name):
        reply = msg(DATA, open(name, "rb").read()) + msg(EXIT, struct.pack("=I", 0))
    else:
        reply = msg(DATA, b'{"error": "no such thing"}') + msg(EXIT, struct.pack("=I", 1))
    with open(os.path.join(d, "requests"), "a") as f:
        f.write(json.dumps(argv) + "\n")
    if mode == "trickle":
        for i in range(len(reply)):
            c.sendall(reply[i:i + 1])
            time.sleep(0.3)
    else:
        c.sendall(reply)
    c.close()
EOF

fakes=()
# shellcheck disable=SC2317 # called from the EXIT trap
stop_fakes() {
	local rc=$? p

	for p in "${fakes[@]}"; do kill "$p" 2>/dev/null || true; done
	(exit "$rc")
	lib_exit
}
trap stop_fakes EXIT

# fake MODE: a fake daemon on $WORK/MODE.sock, ready when this returns.
fake() {
	python3 "$WORK/fake.py" "$WORK/$1.sock" "$1" "$WORK" 2>"$WORK/$1.err" &
	fakes+=($!)
	for _ in $(seq 100); do
		[ -e "$WORK/$1.ready" ] && return 0
		sleep 0.1
	done
	fail "the fake daemon ($1) did not start: $(cat "$WORK/$1.err")"
}

# ctl NAME ARGS...: traceflowctl ARGS, output in $WORK/NAME.out/.err, status in RC.
ctl() {
	local name=$1

	shift
	RC=0
	OUT=$WORK/$name.out
	ERR=$WORK/$name.err
	"$TRACEFLOWCTL" "$@" >"$OUT" 2>"$ERR" </dev/null || RC=$?
}

# last_request: what the fake daemon received last, as JSON.
last_request() {
	tail -n 1 "$WORK/requests"
}

# 2. Usage errors exit 2 and say what is wrong, without asking any daemon.
section
usage_case() {
	local want=$1

	shift
	ctl usage "$@"
	if [ "$RC" -ne 2 ] || ! grep -q -- "$want" "$ERR"; then
		check_fail "traceflowctl $*: rc $RC (2 expected), stderr: $(cat "$ERR")"
	fi
}
usage_case 'unknown command "nosuch"' -s "$WORK/none.sock" nosuch
usage_case 'unknown option -x' -x list
usage_case 'unknown option --bogus' list --bogus
usage_case 'list: --label needs a value' list --label
usage_case 'option --socket needs a value' list --socket
usage_case '--timeout: "ten" is not a duration' --timeout ten stats
usage_case '--timeout: "0" is not a duration' stats --timeout 0
usage_case 'wrong number of arguments' show
usage_case 'wrong number of arguments' stats --prometheus extra
ctl help help
[ "$RC" -eq 0 ] && grep -q -- '--timeout' "$OUT" || check_fail "help: rc $RC: $(cat "$OUT" "$ERR")"
ctl listhelp list --help
[ "$RC" -eq 0 ] && grep -q -- '--finished' "$OUT" || check_fail "list --help: rc $RC: $(cat "$ERR")"
ok_clean "usage errors exit 2 with the reason; help and list --help exit 0"

# 3. --timeout: connect and the whole reply, one deadline, exit 75.
fake silent
fake backlog
fake trickle
# timed NAME SECONDS-MIN SECONDS-MAX MESSAGE ARGS...: exit 75, the message, the time taken.
timed() {
	local name=$1 lo=$2 hi=$3 msg=$4 t0 t1 took

	shift 4
	t0=$(date +%s.%N)
	ctl "$name" "$@"
	t1=$(date +%s.%N)
	took=$(python3 -c "print(round($t1 - $t0, 2))")
	if [ "$RC" -ne 75 ] || ! grep -qF "$msg" "$ERR"; then
		check_fail "$name: traceflowctl $*: rc $RC (75 expected): $(cat "$ERR")"
	elif ! python3 -c "import sys; sys.exit(not ($lo <= $took <= $hi))"; then
		check_fail "$name: gave up after $took s, not within $lo..$hi s"
	else
		ok "$name: exit 75 after $took s: $(cat "$ERR")"
	fi
}
timed silent-1.5s 1.4 4 "traceflowctl: no reply from $WORK/silent.sock within 1.5 s" \
    -s "$WORK/silent.sock" --timeout 1.5s stats
timed silent-default 9.9 13 "traceflowctl: no reply from $WORK/silent.sock within 10 s" \
    stats -s "$WORK/silent.sock"
timed backlog-1 0.9 4 "no reply from $WORK/backlog.sock within 1 s" \
    -s "$WORK/backlog.sock" version --timeout 1
# Every byte arrives 0.3 s after the last: a per-read timeout would wait forever.
timed trickle-2s 1.9 5 "no reply from $WORK/trickle.sock within 2 s" \
    -s "$WORK/trickle.sock" --timeout=2s version

# 4. Options before or after the command; the command's own go to the daemon.
section
fake reply
cat >"$WORK/version.json" <<'EOF'
{"version": "9.9", "protocol": 1}
EOF
cat >"$WORK/list.json" <<'EOF'
{"flows": [
 {"state": "active", "label": "10.0.0.1_80-10.0.0.2_5000-1300475168.855330", "src": "10.0.0.1",
  "srcport": 80, "dst": "10.0.0.2", "dstport": 5000, "packets": 7, "bytes": 4200,
  "first_ns": 1300475168855330000, "last_ns": 1300475170000000000, "age": 192.4,
  "reason": null, "file": ".active/10.0.0.1_80-10.0.0.2_5000-1300475168.855330.pcap"},
 {"state": "finished", "label": "10.0.0.3_443-10.0.0.4_6000-1300475360.000000", "src": "10.0.0.3",
  "srcport": 443, "dst": "10.0.0.4", "dstport": 6000, "packets": 3, "bytes": 180,
  "first_ns": 1300475360000000000, "last_ns": 1300475361250000000, "reason": "rotate",
  "fpout": "10.0.0.3_443-10.0.0.4_6000-1300475360.000000.pcap"}
], "count": 2}
EOF
sock=$WORK/reply.sock
for args in "list --json -s $sock" "-j list -s $sock" "-s $sock list -j" "list -s $sock --json" \
    "--socket=$sock -- list --json"; do
	# shellcheck disable=SC2086
	ctl anywhere $args
	if [ "$args" = "--socket=$sock -- list --json" ]; then
		want='["list", "--json"]' # after --, every word is the command's
	else
		want='["list"]'
	fi
	if [ "$(last_request)" != "$want" ]; then
		check_fail "traceflowctl $args: the daemon got $(last_request), not $want"
	elif [ "$want" = '["list"]' ] && { [ "$RC" -ne 0 ] ||
	    ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))["flows"][1]' "$OUT"; }; then
		check_fail "traceflowctl $args: rc $RC, not the JSON document: $(head -c 200 "$OUT")"
	fi
done
ctl cmdopts -s "$sock" list --active -j --limit 5 --label -j
[ "$(last_request)" = '["list", "--active", "--limit", "5", "--label", "-j"]' ] ||
    check_fail "list --active -j --limit 5 --label -j: the daemon got $(last_request)"
ok_clean "options before or after the command; the command's own options and their values sent"

# 5. The human table: local wall-clock times, AGE apart from DURATION, a REASON.
section
TZ=UTC0 ctl list-utc -s "$sock" list
TZ=JST-9 ctl list-jst -s "$sock" list
row() { grep -F -- "$2" "$1" | head -n 1; }
a_utc=$(row "$WORK/list-utc.out" 10.0.0.1_80)
f_utc=$(row "$WORK/list-utc.out" 10.0.0.3_443)
f_jst=$(row "$WORK/list-jst.out" 10.0.0.3_443)
grep -qE '^STATE +STARTED +AGE ' "$WORK/list-utc.out" ||
    check_fail "list: no STATE STARTED AGE header: $(cat "$WORK/list-utc.out")"
grep -qE '^STARTED +DURATION +REASON ' "$WORK/list-utc.out" ||
    check_fail "list: no STARTED DURATION REASON header for finished flows: $(cat "$WORK/list-utc.out")"
grep -qE '^active +2011-03-18 19:06:08 +3m12s +10\.0\.0\.1:80 +10\.0\.0\.2:5000 +7 +4\.1 KiB' <<<"$a_utc" ||
    check_fail "list (TZ=UTC0): active row: $a_utc"
grep -qE '^2011-03-18 19:09:20 +1\.25s +rotate +10\.0\.0\.3:443' <<<"$f_utc" ||
    check_fail "list (TZ=UTC0): finished row: $f_utc"
grep -qE '^2011-03-19 04:09:20 +1\.25s +rotate ' <<<"$f_jst" ||
    check_fail "list (TZ=JST-9): finished row: $f_jst"
grep -q '^2 flows: 1 active, 1 finished$' "$WORK/list-utc.out" ||
    check_fail "list: summary line: $(tail -n 1 "$WORK/list-utc.out")"
ok_clean "list: local times (UTC0 and JST-9), AGE 3m12s, DURATION 1.25s, REASON rotate"

# 5b. Durations of an hour or more: hours and minutes, then days and hours
# (7,512 s is 2h05m, 273,900 s is 3d04h), for AGE, DURATION and uptime.
section
cat >"$WORK/list.json" <<'EOF'
{"flows": [
 {"state": "active", "label": "10.0.0.5_80-10.0.0.6_5000-1300475168.000000", "src": "10.0.0.5",
  "srcport": 80, "dst": "10.0.0.6", "dstport": 5000, "packets": 7, "bytes": 4200,
  "first_ns": 1300475168000000000, "last_ns": 1300475170000000000, "age": 7512.6,
  "reason": null, "file": ".active/10.0.0.5_80-10.0.0.6_5000-1300475168.000000.pcap"},
 {"state": "active", "label": "10.0.0.7_80-10.0.0.8_5000-1300475168.000000", "src": "10.0.0.7",
  "srcport": 80, "dst": "10.0.0.8", "dstport": 5000, "packets": 7, "bytes": 4200,
  "first_ns": 1300475168000000000, "last_ns": 1300475170000000000, "age": 273900.5,
  "reason": null, "file": ".active/10.0.0.7_80-10.0.0.8_5000-1300475168.000000.pcap"},
 {"state": "finished", "label": "10.0.0.9_443-10.0.0.10_6000-1300475360.000000", "src": "10.0.0.9",
  "srcport": 443, "dst": "10.0.0.10", "dstport": 6000, "packets": 3, "bytes": 180,
  "first_ns": 1300475360000000000, "last_ns": 1300482872000000000, "reason": "fin",
  "fpout": "10.0.0.9_443-10.0.0.10_6000-1300475360.000000.pcap"},
 {"state": "finished", "label": "10.0.0.11_443-10.0.0.12_6000-1300475360.000000", "src": "10.0.0.11",
  "srcport": 443, "dst": "10.0.0.12", "dstport": 6000, "packets": 3, "bytes": 180,
  "first_ns": 1300475360000000000, "last_ns": 1300749260000000000, "reason": "idle",
  "fpout": "10.0.0.11_443-10.0.0.12_6000-1300475360.000000.pcap"}
], "count": 4}
EOF
echo '{"interfaces": [], "totals": {"uptime": 7512.6}}' >"$WORK/stats.json"
TZ=UTC0 ctl list-long -s "$sock" list
for want in '^active +2011-03-18 19:06:08 +2h05m +10\.0\.0\.5:80 ' \
    '^active +2011-03-18 19:06:08 +3d04h +10\.0\.0\.7:80 ' \
    '^2011-03-18 19:09:20 +2h05m +fin +10\.0\.0\.9:443 ' \
    '^2011-03-18 19:09:20 +3d04h +idle +10\.0\.0\.11:443 '; do
	grep -qE -- "$want" "$WORK/list-long.out" ||
	    check_fail "list: no row /$want/: $(cat "$WORK/list-long.out" "$WORK/list-long.err")"
done
ctl stats-long -s "$sock" stats
grep -qE '^uptime +2h05m$' "$WORK/stats-long.out" ||
    check_fail "stats: uptime 7512.6 s: $(grep uptime "$WORK/stats-long.out") $(cat "$WORK/stats-long.err")"
ok_clean "durations past an hour: 2h05m and 3d04h (AGE, DURATION), uptime 2h05m"

# 6. show by label, file name, path with a segment, glob.
section
lbl=10.0.0.3_443-10.0.0.4_6000-1300475360.000000
cat >"$WORK/show.json" <<EOF
{"label": "$lbl", "segments": [
 {"state": "finished", "label": "$lbl", "segment": 0, "src": "10.0.0.3", "srcport": 443,
  "dst": "10.0.0.4", "dstport": 6000, "packets": 2, "bytes": 120, "reason": "rotate",
  "first_ns": 1300475360000000000, "last_ns": 1300475361000000000,
  "fpout": "$lbl.pcap", "index": [1, 2]},
 {"state": "finished", "label": "$lbl", "segment": 1, "src": "10.0.0.3", "srcport": 443,
  "dst": "10.0.0.4", "dstport": 6000, "packets": 1, "bytes": 60, "reason": "fin",
  "first_ns": 1300475361250000000, "last_ns": 1300475361250000000,
  "fpout": "$lbl.seg1.pcap", "index": [3]}]}
EOF
for arg in "$lbl" "$lbl.pcap" "/var/spool/traceflow/2011/03/18/$lbl.seg1.pcap" \
    "$WORK/spool/.active/$lbl.json" "10.0.0.3_443-*" "$lbl.seg1"; do
	case $arg in
	10.0.0.3_443-\*) want='["show", "10.0.0.3_443-*"]' ;;
	*) want="[\"show\", \"$lbl\"]" ;;
	esac
	TZ=UTC0 ctl show -s "$sock" show "$arg"
	if [ "$RC" -ne 0 ] || [ "$(last_request)" != "$want" ]; then
		check_fail "show $arg: rc $RC, the daemon got $(last_request), not $want: $(cat "$ERR")"
		continue
	fi
	case $arg in
	*.seg1*)
		if grep -q '^segment 0' "$OUT" || ! grep -q '^segment 1 (finished, fin)' "$OUT"; then
			check_fail "show $arg: not segment 1 alone: $(cat "$OUT")"
		fi
		;;
	*)
		[ "$(grep -c '^segment' "$OUT")" -eq 2 ] || check_fail "show $arg: $(cat "$OUT")"
		grep -q 'time        2011-03-18 19:09:20 to 2011-03-18 19:09:21 (duration 1.00s)' "$OUT" ||
		    check_fail "show $arg: no local times and duration: $(cat "$OUT")"
		;;
	esac
done
ctl showjson -s "$sock" --json show "$lbl.seg1.pcap"
[ "$(python3 -c 'import json,sys; print([s["segment"] for s in json.load(open(sys.argv[1]))["segments"]])' "$OUT")" = "[1]" ] ||
    check_fail "show --json LABEL.seg1.pcap: not segment 1 alone: $(cat "$OUT")"
ctl showseg9 -s "$sock" show "$lbl.seg9.pcap"
[ "$RC" -eq 1 ] && grep -q "no segment 9" "$ERR" || check_fail "show .seg9: rc $RC: $(cat "$ERR")"
ok_clean "show: by label, file name, spool path (.seg1 alone), glob as given"

# 7. -c FILE: the socket from the file, read by traceflowd; a bad file named.
section
printf 'control_socket = "%s";\nlinger = "0.5s";\n' "$sock" >"$WORK/ok.conf"
ctl conf -c "$WORK/ok.conf" version
[ "$RC" -eq 0 ] && grep -q '^traceflowd 9.9' "$OUT" ||
    check_fail "-c ok.conf: rc $RC: $(cat "$OUT" "$ERR")"
ctl confafter version --config "$WORK/ok.conf"
[ "$RC" -eq 0 ] || check_fail "version --config ok.conf: rc $RC: $(cat "$ERR")"
printf 'control_socket = "%s";\n\nidle_timeout = "5 minutes";\n' "$sock" >"$WORK/bad.conf"
ctl badconf -c "$WORK/bad.conf" version
[ "$RC" -eq 2 ] && grep -q "bad.conf:3: setting idle_timeout" "$ERR" ||
    check_fail "-c bad.conf: rc $RC (2 expected): $(cat "$ERR")"
TRACEFLOWD=$WORK/nosuch-traceflowd ctl notfd -c "$WORK/ok.conf" version
[ "$RC" -eq 69 ] && grep -q "cannot run $WORK/nosuch-traceflowd" "$ERR" ||
    check_fail "-c without traceflowd: rc $RC (69 expected): $(cat "$ERR")"
ok_clean "-c: the socket read through traceflowd; a bad file exits 2 naming file:line:setting"

# 8. traceflowd's durations: --print-config json, and offline options with units.
section
printf 'idle_timeout = "1h30m";\nlinger = "0.5s";\nflush_interval = 0.25;\n' >"$WORK/dur.conf"
tf printconf --print-config json -c "$WORK/dur.conf"
got=$(python3 -c 'import json,sys; J=json.load(open(sys.argv[1])); print(J["idle_timeout"], J["linger"], J["flush_interval"])' "$TF_OUT" 2>&1 || true)
[ "$TF_RC" -eq 0 ] && [ "$got" = "5400 0.5 0.25" ] ||
    check_fail "--print-config json: rc $TF_RC, idle_timeout linger flush_interval = $got"
# One connection, quiet for 3 s in the middle: --idle-timeout 2.5s cuts it in two.
python3 - "$WORK/gap.pcap" <<'EOF'
import struct, sys
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
def frame(t, src, dst, sp, dp, flags, seq, ack, data=b""):
    tcp = struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0) + data
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0,
                     bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    p = eth + ip + tcp
    return struct.pack("<IIII", int(t), int(t * 1e6) % 1000000, len(p), len(p)) + p
c, s = [10, 0, 0, 1], [10, 0, 0, 2]
t0 = 1300475168.0
pk = [frame(t0, c, s, 5000, 80, 0x02, 100, 0),
      frame(t0 + 0.1, s, c, 80, 5000, 0x12, 900, 101),
      frame(t0 + 0.2, c, s, 5000, 80, 0x10, 101, 901),
      frame(t0 + 0.3, c, s, 5000, 80, 0x18, 101, 901, b"x" * 10),
      frame(t0 + 3.4, c, s, 5000, 80, 0x18, 111, 901, b"y" * 10),
      frame(t0 + 3.5, s, c, 80, 5000, 0x10, 901, 121)]
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1) + b"".join(pk))
EOF
flows() { wc -l <"$1/index.jsonl"; }
tf idle-short --read "$WORK/gap.pcap" --output "$WORK/idle-short" --idle-timeout 2.5s --linger 0.5s
tf idle-long --read "$WORK/gap.pcap" --output "$WORK/idle-long" --idle-timeout 1h30m
if [ "$TF_RC" -ne 0 ] || [ "$(flows "$WORK/idle-short")" -ne 2 ] ||
    [ "$(flows "$WORK/idle-long")" -ne 1 ] ||
    ! grep -q '"reason":"idle"' "$WORK/idle-short/index.jsonl"; then
	check_fail "--idle-timeout 2.5s / 1h30m: $(cat "$WORK"/idle-*.err) flows:" \
	    "$(flows "$WORK/idle-short" 2>&1) and $(flows "$WORK/idle-long" 2>&1)"
else
	ok "--idle-timeout 2.5s splits the quiet connection (idle), 1h30m keeps it whole"
fi
# The config table reads them, with its own words: a bad form, or out of its range.
for bad in "--idle-timeout 5x:is not a duration" "--linger -1s:is not a duration" \
    "--idle-timeout 0.5s:0.5s is out of range 1s..365d" "--linger 2h:2h is out of range 0..1h"; do
	want=${bad#*:}
	bad=${bad%%:*}
	# shellcheck disable=SC2086
	tf bad-dur --read "$WORK/gap.pcap" --output "$WORK/bad-dur" $bad
	[ "$TF_RC" -eq 2 ] && grep -q -- "${bad%% *}: .*$want" "$TF_ERR" ||
	    check_fail "traceflowd $bad: rc $TF_RC (2 expected, \"$want\"): $(cat "$TF_ERR")"
done
ok_clean "traceflowd: bad or out-of-range durations exit 2 naming the option"


# 9. Who answers: a server on the socket that runs as neither root, the
# daemon's user nor ourselves is said (whoever could replace the socket
# could answer root's reload with success); one run as root is not.
# (The system's python3: another user may not reach one under root's home.)
if [ "$(id -u)" -eq 0 ] && getent passwd nobody >/dev/null && [ -x /usr/bin/python3 ]; then
	section
	mkdir -p "$WORK/nb"
	chmod 0777 "$WORK/nb"
	chmod o+x "$WORK"
	echo '{"version": "9.9", "protocol": 1}' >"$WORK/nb/version.json"
	setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
	    /usr/bin/python3 "$WORK/fake.py" "$WORK/nb/nb.sock" reply "$WORK/nb" 2>"$WORK/nb.err" &
	fakes+=($!)
	for _ in $(seq 100); do [ -e "$WORK/nb/reply.ready" ] && break; sleep 0.1; done
	ctl nobody-server -s "$WORK/nb/nb.sock" version
	grep -q "warning: the server at $WORK/nb/nb.sock runs as nobody" "$ERR" ||
	    check_fail "a server run as nobody: no warning: $(cat "$ERR")"
	ctl root-server -s "$WORK/reply.sock" version
	! grep -q "warning" "$ERR" || check_fail "a server run as root: warned: $(cat "$ERR")"
	ok_clean "a server that runs as another user is warned about; root's is not"
fi
finish
