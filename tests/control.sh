#!/bin/bash
#
# control.sh: the control channel end to end, on a live traceflowd
# capturing loopback: list (--host by either end, AGE from the first
# packet), show, submit (files into the spool, the
# connections going on in the next segment of the same label; submit LABEL
# that flow alone), stats, reload, config, the refusal of a second
# daemon on a live socket, permissions for a non-root user, and a storm of
# garbage, truncated, oversized and wrong-version requests plus 300
# concurrent clients, after which the daemon still answers and captures
# without a new kernel drop.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd python3
need_cmd setpriv
need_traceflowd
TRACEFLOWCTL=${TRACEFLOWCTL:-$top_builddir/traceflowctl}
need_file "$TRACEFLOWCTL" traceflowctl
getent group nogroup >/dev/null || skip "no group nogroup"

sock=$WORK/ctl.sock
spool=$WORK/spool
conf=$WORK/traceflow.conf
# Distinctive ports, so that other tests on lo do not count here.
port=$((40000 + $$ % 20000))
port2=$((port + 1))

write_conf() {
	cat >"$conf" <<EOF
interfaces = ["lo"];
spool_dir = "$spool";
user = "";
control_socket = "$sock";
control_mode = 0660;
control_group = "nogroup";
admin_group = "";
idle_timeout = $1;
EOF
}

ctl() {
	"$TRACEFLOWCTL" -s "$sock" "$@"
}

# ctl_json FILE ARGS...: the JSON reply in FILE; the exit status in CTL_RC.
ctl_json() {
	local out=$1

	shift
	CTL_RC=0
	"$TRACEFLOWCTL" -s "$sock" --json "$@" >"$out" 2>"$out.err" || CTL_RC=$?
}

# py FILE EXPR...: evaluate a Python expression with J bound to FILE's JSON.
py() {
	local file=$1

	shift
	python3 -c "import json,sys; J=json.load(open(sys.argv[1])); print($*)" "$file"
}

nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
}

# The traffic: N connections on $port, held open; each side sends a line
# per "tick" file it finds, so the test decides when packets flow.
cat >"$WORK/traffic.py" <<'EOF'
import os, socket, sys, time
port, n, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(n)
pairs = []
for i in range(n):
    c = socket.create_connection(("127.0.0.1", port))
    s, _ = srv.accept()
    pairs.append((c, s))
def exchange():
    for c, s in pairs:
        c.sendall(b"x" * 100)
        s.recv(100)
        s.sendall(b"y" * 50)
        c.recv(50)
exchange()
open(os.path.join(work, "traffic.ready"), "w").close()
tick = os.path.join(work, "traffic.tick")
close = os.path.join(work, "traffic.close")
while not os.path.exists(os.path.join(work, "traffic.stop")):
    if os.path.exists(tick):
        os.unlink(tick)
        exchange()
        open(os.path.join(work, "traffic.ticked"), "w").close()
    if os.path.exists(close) and pairs:
        # An orderly close, FIN both ways: the connections end.
        for c, s in pairs:
            c.close()
            s.close()
        pairs = []
        open(os.path.join(work, "traffic.closed"), "w").close()
    time.sleep(0.05)
EOF

# Hostile and crowded clients, speaking proto.h by hand.
cat >"$WORK/storm.py" <<'EOF'
import json, socket, struct, sys, threading
path = sys.argv[1]
MAGIC, VERSION, REQUEST, DATA, EXIT = 0x74666374, 1, 1, 2, 3

def recv_all(s):
    buf = b""
    while True:
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            break
        if not d:
            break
        buf += d
    return buf

def parse(buf):
    doc, status = b"", None
    while len(buf) >= 16:
        magic, ver, typ, ln = struct.unpack("=IIII", buf[:16])
        body, buf = buf[16:16 + ln], buf[16 + ln:]
        if typ == DATA:
            doc += body
        elif typ == EXIT:
            status = struct.unpack("=I", body)[0]
    return status, json.loads(doc) if doc else None

def ask(raw, close_write=True):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(15)
    s.connect(path)
    s.sendall(raw)
    if close_write:
        s.shutdown(socket.SHUT_WR)
    r = parse(recv_all(s))
    s.close()
    return r

def request(*argv, version=VERSION, count=None, raw_tail=b""):
    body = struct.pack("=I", len(argv) if count is None else count)
    body += b"".join(a.encode() + b"\0" for a in argv) + raw_tail
    return struct.pack("=IIII", MAGIC, version, REQUEST, len(body)) + body

fails = []
def expect_error(name, raw, word=None):
    status, doc = ask(raw)
    err = (doc or {}).get("error", "")
    if status != 1 or not err or (word and word not in err):
        fails.append("%s: status %r, reply %r" % (name, status, doc))
    else:
        print("ok: %s refused: %s" % (name, err))

expect_error("garbage", b"GET / HTTP/1.0\r\n\r\n" + bytes(range(256)))
expect_error("wrong version", request("stats", version=99), "version")
expect_error("oversized length", struct.pack("=IIII", MAGIC, VERSION, REQUEST, 1 << 30))
expect_error("reply type as request", struct.pack("=IIII", MAGIC, VERSION, EXIT, 4) + b"\0" * 4)
expect_error("missing NUL", request(raw_tail=b"stats", count=1))
expect_error("count too high", request("stats", count=3))
expect_error("leftover bytes", request("stats", raw_tail=b"junk\0"))
expect_error("unknown command", request("format-disk"), "unknown")
expect_error("too many arguments", request("stats", "--prometheus", "extra"))
# Truncated: half a header, then half a payload; the daemon just drops them.
for raw in (request("stats")[:8], request("stats")[:20]):
    status, doc = ask(raw)
    if status is not None:
        fails.append("truncated request answered with status %r" % status)
print("ok: truncated requests dropped")

# A client that connects and says nothing must not hold up the others.
idle = socket.socket(socket.AF_UNIX)
idle.connect(path)

results = []
def worker():
    try:
        results.append(ask(request("stats"), close_write=False))
    except Exception as e:
        results.append((None, str(e)))
threads = [threading.Thread(target=worker) for _ in range(300)]
for t in threads:
    t.start()
for t in threads:
    t.join()
good = sum(1 for st, doc in results if st == 0 and doc and "totals" in doc)
print("ok: %d of %d concurrent stats answered" % (good, len(results)))
if good != len(results):
    fails.append("concurrent: %d of %d answered: %r" % (good, len(results),
                 [r for r in results if r[0] != 0][:3]))
idle.close()
for f in fails:
    print("FAIL:", f, file=sys.stderr)
sys.exit(1 if fails else 0)
EOF

write_conf 300
"$TRACEFLOWD" -f -c "$conf" >"$WORK/daemon.out" 2>"$WORK/daemon.err" &
daemon=$!
# shellcheck disable=SC2317 # called from the EXIT trap
stop_all() {
	local rc=$?

	touch "$WORK/traffic.stop" "$WORK/gap.close"
	kill -TERM "$daemon" 2>/dev/null || true
	[ -z "${adm:-}" ] || groupdel "$adm" 2>/dev/null || true
	# lib_exit reads $? for the verdict: a test that died halfway must not pass.
	(exit "$rc")
	lib_exit
}
trap stop_all EXIT

for _ in $(seq 50); do
	[ -S "$sock" ] && ctl version >/dev/null 2>&1 && break
	sleep 0.1
done
ctl version >/dev/null 2>&1 || fail "traceflowd did not answer: $(cat "$WORK/daemon.err")"
ok "daemon answers on $sock"

# 1. A second daemon on a live socket refuses to start, and leaves it alone.
# (A spool of its own: on the same spool its lock would refuse it first.)
sed "s|^spool_dir = .*|spool_dir = \"$spool-2\";|" "$conf" >"$WORK/second.conf"
if "$TRACEFLOWD" -f -c "$WORK/second.conf" >"$WORK/second.out" 2>"$WORK/second.err"; then
	check_fail "a second traceflowd started on a live socket"
elif ! grep -q "another traceflowd" "$WORK/second.err"; then
	check_fail "second daemon: unclear message: $(head -c 300 "$WORK/second.err")"
elif ! ctl version >/dev/null; then
	check_fail "the second daemon broke the first one's socket"
else
	ok "a second daemon on the live socket is refused"
fi
[ "$(stat -c %a "$sock")" = 660 ] || check_fail "socket mode $(stat -c %a "$sock"), not 660"

# 2. list shows the held connections with their counters; show their frames.
python3 "$WORK/traffic.py" "$port" 5 "$WORK" &
for _ in $(seq 50); do
	[ -e "$WORK/traffic.ready" ] && break
	sleep 0.1
done
[ -e "$WORK/traffic.ready" ] || fail "the traffic generator did not start"
sleep 0.5
ctl_json "$WORK/list.json" list --active --port "$port"
n=$(py "$WORK/list.json" "J['count']")
if [ "$CTL_RC" -ne 0 ] || [ "$n" -ne 5 ]; then
	check_fail "list --active --port $port: rc $CTL_RC, $n flows (5 expected)"
fi
bad=$(py "$WORK/list.json" "[f['label'] for f in J['flows'] if f['state'] != 'active' or \
	f['packets'] < 7 or f['bytes'] < 150 + 7 * 54 or not f['file'].startswith('.active/')]")
[ "$bad" = "[]" ] || check_fail "list: wrong counters or state for $bad"
ctl list --port "$port" >"$WORK/list.txt" || check_fail "human list failed"
head -n 1 "$WORK/list.txt" | grep -q "PACKETS" || check_fail "human list: no header"
ok "list: 5 active flows on port $port"

label=$(py "$WORK/list.json" "J['flows'][0]['label']")
packets=$(py "$WORK/list.json" "J['flows'][0]['packets']")
ctl_json "$WORK/show.json" show "$label"
frames=$(py "$WORK/show.json" "len(J['segments'][-1]['index'])")
sorted=$(py "$WORK/show.json" "J['segments'][-1]['index'] == sorted(set(J['segments'][-1]['index']))")
if [ "$CTL_RC" -ne 0 ] || [ "$frames" -ne "$packets" ] || [ "$sorted" != True ]; then
	check_fail "show $label: rc $CTL_RC, $frames frames for $packets packets (sorted: $sorted)"
else
	ok "show: $frames frame numbers"
fi
ctl_json "$WORK/show-none.json" show nosuch-label
[ "$CTL_RC" -eq 1 ] || check_fail "show of an unknown label: rc $CTL_RC (1 expected)"
# list --label keeps that flow alone.
ctl_json "$WORK/list-label.json" list --label "$label"
if [ "$CTL_RC" -ne 0 ] || [ "$(py "$WORK/list-label.json" "J['count']")" -ne 1 ] ||
    [ "$(py "$WORK/list-label.json" "J['flows'][0]['label']")" != "$label" ]; then
	check_fail "list --label $label: rc $CTL_RC: $(head -c 300 "$WORK/list-label.json")"
else
	ok "list --label: that flow alone"
fi
# submit of a label that is not active: an error, and nothing submitted.
ctl_json "$WORK/submit-none.json" submit "$label" nosuch-label
if [ "$CTL_RC" -ne 1 ] || ! grep -q "nosuch-label" "$WORK/submit-none.json"; then
	check_fail "submit of an unknown label: rc $CTL_RC: $(cat "$WORK/submit-none.json")"
fi
ctl_json "$WORK/list-after-none.json" list --active --port "$port"
[ "$(py "$WORK/list-after-none.json" "J['count']")" -eq 5 ] ||
    check_fail "submit of an unknown label ended flows: $(py "$WORK/list-after-none.json" "J['count']") left"

# 3. submit: every active flow into the spool and the index at once.
drops_before=$(ctl --json stats | python3 -c \
	'import json,sys; print(sum(i["kernel_drops"] for i in json.load(sys.stdin)["interfaces"]))')
ctl_json "$WORK/submit.json" submit
labels=$(py "$WORK/list.json" "' '.join(f['label'] for f in J['flows'])")
if [ "$CTL_RC" -ne 0 ]; then
	check_fail "submit: rc $CTL_RC: $(cat "$WORK/submit.json.err")"
else
	for l in $labels; do
		py "$WORK/submit.json" "[e for e in J['submitted'] if e['label'] == '$l' and \
			e['reason'] == 'submit' and e['segment'] == 0 and \
			len(e['index']) == e['packets']][0]['fpout']" \
			>"$WORK/fpout" 2>/dev/null || check_fail "submit: $l not in the reply"
		f=$(cat "$WORK/fpout")
		[ -s "$spool/$f" ] || check_fail "submit: $spool/$f missing"
		grep -q "\"label\":\"$l\".*\"reason\":\"submit\"" "$spool/index.jsonl" ||
		    check_fail "submit: $l not in index.jsonl"
	done
	# The file holds exactly what list counted (the connections were quiet).
	f0=$(py "$WORK/submit.json" "[e['fpout'] for e in J['submitted'] if e['label'] == '$label'][0]")
	recs=$(python3 - "$spool/$f0" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
off, n = 24, 0
while off + 16 <= len(d):
    incl = struct.unpack("<I", d[off + 8:off + 12])[0]
    off += 16 + incl
    n += 1
print(n)
EOF
	)
	[ "$recs" -eq "$packets" ] || check_fail "submit: $f0 holds $recs packets, list said $packets"
	ok "submit: $(py "$WORK/submit.json" "J['count']") flows filed, the listed ones among them"
	# show takes the file as ls shows it, path and extension included.
	ctl show "$spool/$f0" >"$WORK/show-file.txt" 2>&1 || check_fail "show $spool/$f0 failed"
	[ "$(head -n 1 "$WORK/show-file.txt")" = "$label" ] && grep -q "(finished, submit)" \
	    "$WORK/show-file.txt" || check_fail "show $spool/$f0: $(head -c 300 "$WORK/show-file.txt")"
	# The human list: finished flows in a table of their own, with their reason.
	ctl list --finished --port "$port" >"$WORK/list-fin.txt" ||
	    check_fail "list --finished failed"
	grep -qE '^STARTED +DURATION +REASON ' "$WORK/list-fin.txt" &&
	    grep -qE "^[0-9-]{10} [0-9:]{8} +[0-9.]+s +submit .*$label" "$WORK/list-fin.txt" ||
	    check_fail "list --finished: no REASON submit for $label: $(head -c 400 "$WORK/list-fin.txt")"
	ok "show by spool path; list --finished with DURATION and REASON"
fi
# Submit is a snapshot: the connections stay active under their labels ...
ctl_json "$WORK/after.json" list --active --port "$port"
[ "$(py "$WORK/after.json" "sorted(f['label'] for f in J['flows'])")" = \
    "$(py "$WORK/list.json" "sorted(f['label'] for f in J['flows'])")" ] ||
    check_fail "after submit: active $(py "$WORK/after.json" "[f['label'] for f in J['flows']]")"
# ... and a second submit with nothing new files nothing (no empty segments).
ctl_json "$WORK/submit-empty.json" submit
[ "$CTL_RC" -eq 0 ] && [ "$(py "$WORK/submit-empty.json" \
    "[e['label'] for e in J['submitted'] if e['label'] in '$labels'.split()]")" = "[]" ] ||
    check_fail "a second submit filed quiet flows again: $(head -c 400 "$WORK/submit-empty.json")"

# ... and traffic on those connections goes on in their next segment.
touch "$WORK/traffic.tick"
for _ in $(seq 50); do
	[ -e "$WORK/traffic.ticked" ] && break
	sleep 0.1
done
sleep 0.3
ctl_json "$WORK/again.json" list --active --port "$port"
again=$(py "$WORK/again.json" "sorted(f['label'] for f in J['flows'] if not f['partial'] and \
	f['label'] in '$labels'.split()) == sorted('$labels'.split()) and J['count'] == 5")
[ "$again" = True ] || check_fail "after submit: not the same 5 flows: $(head -c 600 "$WORK/again.json")"
ok "traffic after submit goes on in the same 5 flows"
fin=$(ctl --json list --finished --port "$port" --limit 3 | python3 -c \
	'import json,sys; J=json.load(sys.stdin); print(J["count"], {f["state"] for f in J["flows"]})')
[ "$fin" = "3 {'finished'}" ] || check_fail "list --finished --limit 3: $fin"

# 4. stats agree with interfaces (both pcap_stats) and count the traffic.
ctl_json "$WORK/stats.json" stats
ctl_json "$WORK/ifaces.json" interfaces
st=$(py "$WORK/stats.json" "J['interfaces'][0]['name'], J['interfaces'][0]['up'], \
	J['totals']['tcp'] >= 5 * 9, J['totals']['flows_active'] >= 5, J['totals']['rss'] > 0, \
	J['totals']['uptime'] > 0")
[ "$st" = "lo True True True True True" ] || check_fail "stats: $st"
cmp=$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["interfaces"][0]; \
	b=json.load(open(sys.argv[2]))["interfaces"][0]; \
	print(b["received"] >= a["received"] >= a["frames"] > 0, a["kernel_drops"] <= b["kernel_drops"])' \
	"$WORK/stats.json" "$WORK/ifaces.json")
[ "$cmp" = "True True" ] || check_fail "stats and interfaces disagree: $cmp"
ctl stats >"$WORK/stats.txt" || check_fail "human stats failed"
ok "stats: $(grep 'TCP packets' "$WORK/stats.txt")"

# 5. The held connections close (FIN): each one's pieces under one label.
touch "$WORK/traffic.close"
wait_for "$spool/index.jsonl" "-127.0.0.1_$port-.*\"reason\":\"fin\"" 20 5 ||
    check_fail "no 5 fin lines in the index after the close: $(tail -c 600 "$spool/index.jsonl")"
pieces=$(python3 - "$spool/index.jsonl" "$port" $labels <<'EOF'
import json, os, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
port, labels = int(sys.argv[2]), sys.argv[3:]
bad = []
for l in labels:
    segs = sorted((e for e in lines if e["label"] == l), key=lambda e: e["segment"])
    got = [(e["segment"], e["reason"], os.path.basename(e["fpout"])) for e in segs]
    if got != [(0, "submit", l + ".pcap"), (1, "fin", l + ".seg1.pcap")]:
        bad.append("%s: %r" % (l, got))
    elif not min(segs[1]["index"]) > max(segs[0]["index"]):
        bad.append("%s: frames do not go on: %r then %r" % (l, segs[0]["index"], segs[1]["index"]))
other = {e["label"] for e in lines if port in (e["srcport"], e["dstport"])} - set(labels)
if other:
    bad.append("other labels for these connections: %r" % sorted(other))
print("; ".join(bad) or "ok")
EOF
)
[ "$pieces" = ok ] || check_fail "index after submit and FIN: $pieces"
ctl_json "$WORK/show-both.json" show "$label"
[ "$(py "$WORK/show-both.json" "[(s['segment'], s['reason']) for s in J['segments']]")" = \
    "[(0, 'submit'), (1, 'fin')]" ] ||
    check_fail "show $label after FIN: $(head -c 400 "$WORK/show-both.json")"
ok "submit, more traffic, FIN: label.pcap (submit) and label.seg1.pcap (fin), one label each"

# 5b. list --host names either end of a flow, active or finished; an active
# flow's AGE counts from its first packet, however quiet it was since. One
# connection from 127.0.0.3 to 127.0.0.2 (lo answers for all of 127/8): a
# first exchange, 3 s of quiet, a second one, held open until told to close.
port3=$((port + 2))
cat >"$WORK/gap.py" <<'EOF'
import os, socket, sys, time
port, work = int(sys.argv[1]), sys.argv[2]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.2", port))
srv.listen(1)
c = socket.socket()
c.bind(("127.0.0.3", 0))
c.connect(("127.0.0.2", port))
s, _ = srv.accept()
for i in range(2):
    if i:
        time.sleep(3)
    c.sendall(b"x" * 100)
    s.recv(100)
    s.sendall(b"y" * 50)
    c.recv(50)
open(os.path.join(work, "gap.ready"), "w").close()
for _ in range(300):
    if os.path.exists(os.path.join(work, "gap.close")):
        break
    time.sleep(0.1)
c.close()
s.close()
EOF
python3 "$WORK/gap.py" "$port3" "$WORK" &
for _ in $(seq 100); do
	[ -e "$WORK/gap.ready" ] && break
	sleep 0.1
done
[ -e "$WORK/gap.ready" ] || fail "the quiet connection did not start"
sleep 0.2 # the last ACK captured
# host_count FILE STATE: the flows of FILE's listing on $port3, from 127.0.0.3 to 127.0.0.2.
host_count() {
	py "$1" "sum(1 for f in J['flows'] if f['state'] == '$2' and f['src'] == '127.0.0.3' and \
		f['dst'] == '127.0.0.2' and $port3 in (f['srcport'], f['dstport']))"
}
ctl_json "$WORK/host-dst.json" list --active --port "$port3" --host 127.0.0.2
now=$(date +%s%N)
age=$(py "$WORK/host-dst.json" "[(round(f['age'], 2), round(($now - f['first_ns']) / 1e9, 2), \
	round(($now - f['last_ns']) / 1e9, 2)) for f in J['flows']]")
for h in 127.0.0.3 127.0.0.9; do
	ctl_json "$WORK/host-$h.json" list --active --port "$port3" --host "$h"
done
if [ "$(host_count "$WORK/host-dst.json" active)" -ne 1 ]; then
	check_fail "list --active --host 127.0.0.2 (the destination): $(head -c 400 "$WORK/host-dst.json")"
elif [ "$(host_count "$WORK/host-127.0.0.3.json" active)" -ne 1 ]; then
	check_fail "list --active --host 127.0.0.3 (the source): $(head -c 400 "$WORK/host-127.0.0.3.json")"
elif [ "$(py "$WORK/host-127.0.0.9.json" "J['count']")" -ne 0 ]; then
	check_fail "list --active --host 127.0.0.9 (neither end): $(head -c 400 "$WORK/host-127.0.0.9.json")"
else
	ok "list --active --host: the flow by its destination and by its source, not by another"
fi
# AGE: about now - first_ns (3 s and more), not now - last_ns (0.2 s).
if ! py "$WORK/host-dst.json" "J['flows'][0]" >/dev/null 2>&1 ||
    [ "$(py "$WORK/host-dst.json" "[f['age'] >= 3 and abs(f['age'] - ($now - f['first_ns']) / 1e9) < 1 \
	for f in J['flows']]")" != "[True]" ]; then
	check_fail "list: AGE of a flow quiet for 3 s since its first exchange (age, now - first," \
	    "now - last): $age"
else
	ok "list: AGE from the first packet (age, now - first, now - last: $age)"
fi
ctl list --port "$port3" --host 127.0.0.2 >"$WORK/host-dst.txt" ||
    check_fail "human list --host failed"
grep -qE '^active +[0-9-]{10} [0-9:]{8} +[3-9]\.[0-9]{2}s +127\.0\.0\.3:[0-9]+ +127\.0\.0\.2:' \
    "$WORK/host-dst.txt" || check_fail "human list: AGE column: $(cat "$WORK/host-dst.txt")"
touch "$WORK/gap.close"
wait_for "$spool/index.jsonl" "\"127.0.0.3\".*\"dstport\":$port3.*\"reason\":\"fin\"" 20 ||
    check_fail "the quiet connection's close was not filed: $(tail -c 600 "$spool/index.jsonl")"
for h in 127.0.0.2 127.0.0.3 127.0.0.9; do
	ctl_json "$WORK/fhost-$h.json" list --finished --port "$port3" --host "$h"
done
if [ "$(host_count "$WORK/fhost-127.0.0.2.json" finished)" -ne 1 ] ||
    [ "$(host_count "$WORK/fhost-127.0.0.3.json" finished)" -ne 1 ] ||
    [ "$(py "$WORK/fhost-127.0.0.9.json" "J['count']")" -ne 0 ]; then
	check_fail "list --finished --host: destination, source, neither:" \
	    "$(host_count "$WORK/fhost-127.0.0.2.json" finished)," \
	    "$(host_count "$WORK/fhost-127.0.0.3.json" finished)," \
	    "$(py "$WORK/fhost-127.0.0.9.json" "J['count']") flows (1, 1, 0 expected)"
else
	ok "list --finished --host: the flow by its destination and by its source, not by another"
fi

# 5c. submit LABEL files that flow alone: two quiet connections to
# 127.0.0.2, from 127.0.0.4 and from 127.0.0.5; the first one's label is
# submitted: the reply and the index name it alone, and both stay active.
port4=$((port + 3))
cat >"$WORK/pair.py" <<'EOF'
import os, socket, sys, time
port, work = int(sys.argv[1]), sys.argv[2]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.2", port))
srv.listen(2)
held = []
for src in ("127.0.0.4", "127.0.0.5"):
    c = socket.socket()
    c.bind((src, 0))
    c.connect(("127.0.0.2", port))
    s, _ = srv.accept()
    c.sendall(b"x" * 100)
    s.recv(100)
    held += [c, s]
open(os.path.join(work, "pair.ready"), "w").close()
for _ in range(300):
    if os.path.exists(os.path.join(work, "pair.close")):
        break
    time.sleep(0.1)
for x in held:
    x.close()
EOF
python3 "$WORK/pair.py" "$port4" "$WORK" &
for _ in $(seq 100); do
	[ -e "$WORK/pair.ready" ] && break
	sleep 0.1
done
[ -e "$WORK/pair.ready" ] || fail "the two quiet connections did not start"
sleep 0.2 # the last ACKs captured
ctl_json "$WORK/pair.json" list --active --port "$port4"
pair_labels() {
	py "$1" "' '.join(sorted(f['label'] for f in J['flows'] if f['dstport'] == $port4))"
}
la=$(py "$WORK/pair.json" "[f['label'] for f in J['flows'] if f['src'] == '127.0.0.4'][0]" 2>/dev/null || true)
lb=$(py "$WORK/pair.json" "[f['label'] for f in J['flows'] if f['src'] == '127.0.0.5'][0]" 2>/dev/null || true)
both=$(pair_labels "$WORK/pair.json")
[ "$(echo "$both" | wc -w)" -eq 2 ] && [ -n "$la" ] && [ -n "$lb" ] ||
    fail "list --active --port $port4: not one flow from 127.0.0.4 and one from 127.0.0.5: $both"
ctl_json "$WORK/submit-one.json" submit "$la"
submit_rc=$CTL_RC
got=$(py "$WORK/submit-one.json" "J['count'], [e['label'] for e in J['submitted']]" 2>/dev/null ||
    head -c 300 "$WORK/submit-one.json")
filed=$(python3 - "$spool/index.jsonl" "$port4" <<'EOF'
import json, sys
port = int(sys.argv[2])
print(sorted(e["label"] for e in map(json.loads, open(sys.argv[1]))
             if e["dstport"] == port and e["reason"] == "submit"))
EOF
)
ctl_json "$WORK/pair-after.json" list --active --port "$port4"
if [ "$submit_rc" -ne 0 ] || [ "$got" != "1 ['$la']" ]; then
	check_fail "submit $la: rc $submit_rc, count and labels $got; the other, $lb, not to be filed"
elif [ "$filed" != "['$la']" ]; then
	check_fail "submit $la: the index's submit lines on port $port4: $filed"
elif [ "$(pair_labels "$WORK/pair-after.json")" != "$both" ]; then
	check_fail "submit $la: active after it: $(pair_labels "$WORK/pair-after.json"), want $both"
else
	ok "submit LABEL: that flow filed alone, the other connection's untouched, both still active"
fi
touch "$WORK/pair.close"
wait_for "$spool/index.jsonl" "\"dstport\":$port4,.*\"reason\":\"fin\"" 20 2 ||
    check_fail "the two quiet connections' close was not filed: $(tail -c 600 "$spool/index.jsonl")"

# 6. reload: a reloadable change is taken, a change that needs a restart is refused.
write_conf 120
ctl_json "$WORK/reload.json" reload
[ "$CTL_RC" -eq 0 ] || check_fail "reload: rc $CTL_RC: $(cat "$WORK/reload.json")"
[ "$(ctl --json config | py /dev/stdin "J['idle_timeout']")" = 120 ] ||
    check_fail "config after reload does not show idle_timeout 120"
sed -i "s|^spool_dir = .*|spool_dir = \"$WORK/other\";|" "$conf"
ctl_json "$WORK/reload2.json" reload
[ "$CTL_RC" -eq 1 ] || check_fail "a reload changing spool_dir: rc $CTL_RC (1 expected)"
write_conf 120
ok "reload: taken, and refused for spool_dir"

# 7. Permissions: nobody (group nogroup) may read but not submit or reload.
nobody "$TRACEFLOWCTL" -s "$sock" stats >/dev/null 2>"$WORK/nobody.err" ||
    check_fail "nobody: stats refused: $(cat "$WORK/nobody.err")"
nobody "$TRACEFLOWCTL" -s "$sock" list --active >/dev/null 2>"$WORK/nobody.err" ||
    check_fail "nobody: list refused: $(cat "$WORK/nobody.err")"
for cmd in submit reload; do
	rc=0
	nobody "$TRACEFLOWCTL" -s "$sock" "$cmd" >/dev/null 2>"$WORK/nobody.err" || rc=$?
	if [ "$rc" -ne 1 ] || ! grep -q "permission denied" "$WORK/nobody.err"; then
		check_fail "nobody: $cmd: rc $rc: $(cat "$WORK/nobody.err")"
	fi
done
rc=0
setpriv --reuid=nobody --regid=daemon --clear-groups -- "$TRACEFLOWCTL" -s "$sock" stats \
    >/dev/null 2>"$WORK/outsider.err" || rc=$?
[ "$rc" -eq 69 ] || check_fail "a user outside the group: rc $rc (69 expected)"
# The daemon's own check, not only the socket's mode: opened to everyone,
# the socket still answers an outsider with permission denied.
chmod 0666 "$sock"
for cmd in stats "list --active"; do
	rc=0
	# shellcheck disable=SC2086
	setpriv --reuid=nobody --regid=daemon --clear-groups -- "$TRACEFLOWCTL" -s "$sock" $cmd \
	    >/dev/null 2>"$WORK/outsider.err" || rc=$?
	if [ "$rc" -ne 1 ] || ! grep -q "permission denied" "$WORK/outsider.err"; then
		check_fail "an outsider through a 0666 socket: $cmd: rc $rc: $(cat "$WORK/outsider.err")"
	fi
done
chmod 0660 "$sock"
ok "permissions: read-only for the group, submit and reload for root, outsiders refused by the daemon"

# 7b. admin_group is looked up at start and at reload, never per request (a
# slow NSS source would hold the event loop): a group made after the reload
# that named it counts from the next reload on.
adm=tfadm$$
sed -i "s/^admin_group = .*/admin_group = \"$adm\";/" "$conf"
ctl reload >/dev/null 2>&1 || check_fail "reload naming admin_group $adm failed"
groupadd "$adm" || fail "groupadd $adm"
adm_gid=$(getent group "$adm" | cut -d: -f3)
as_admin() { setpriv --reuid=nobody --regid=nogroup --groups="$adm_gid" -- "$@"; }
rc=0
as_admin "$TRACEFLOWCTL" -s "$sock" reload >/dev/null 2>"$WORK/adm.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "permission denied" "$WORK/adm.err" ||
    check_fail "admin_group made after the reload counted before the next one: rc $rc"
ctl reload >/dev/null 2>&1 || check_fail "reload failed"
rc=0
as_admin "$TRACEFLOWCTL" -s "$sock" reload >/dev/null 2>"$WORK/adm.err" || rc=$?
[ "$rc" -eq 0 ] || check_fail "admin_group member after a reload: reload: rc $rc: $(cat "$WORK/adm.err")"
groupdel "$adm" || true
sed -i 's/^admin_group = .*/admin_group = "";/' "$conf"
ctl reload >/dev/null 2>&1 || check_fail "reload failed"
[ "$failures" -eq 0 ] && ok "admin_group: resolved at reload, not per request"

# 8. Exit codes of the client itself; -c takes the socket from the config file.
TRACEFLOWD=$TRACEFLOWD "$TRACEFLOWCTL" -c "$conf" version >/dev/null 2>"$WORK/c.err" ||
    check_fail "traceflowctl -c $conf version: $(cat "$WORK/c.err")"
rc=0
ctl no-such-command 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || check_fail "unknown command: rc $rc (2 expected)"
rc=0
"$TRACEFLOWCTL" -s "$WORK/none.sock" stats 2>"$WORK/none.err" || rc=$?
if [ "$rc" -ne 69 ] || ! grep -q "none.sock" "$WORK/none.err"; then
	check_fail "missing socket: rc $rc: $(cat "$WORK/none.err")"
fi

# 9. Garbage and a crowd: the daemon keeps answering and capturing, no new drop.
python3 "$WORK/storm.py" "$sock" || check_fail "storm: some requests were mishandled"
python3 - "$port2" <<'EOF'
import socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(1)
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s, _ = srv.accept()
c.sendall(b"after the storm")
s.recv(100)
c.close()
s.close()
EOF
sleep 0.3
ctl_json "$WORK/fresh.json" list --port "$port2"
if [ "$CTL_RC" -ne 0 ] || [ "$(py "$WORK/fresh.json" "J['count']")" -lt 1 ]; then
	check_fail "a connection after the storm was not captured"
fi
drops_after=$(ctl --json stats | python3 -c \
	'import json,sys; print(sum(i["kernel_drops"] for i in json.load(sys.stdin)["interfaces"]))')
[ "$drops_after" -eq "$drops_before" ] ||
    check_fail "kernel drops grew from $drops_before to $drops_after"
ok "after the storm: answering, capturing, drops $drops_before -> $drops_after"

# 10. SIGTERM: a clean stop that removes the socket.
touch "$WORK/traffic.stop"
kill -TERM "$daemon"
rc=0
wait "$daemon" || rc=$?
[ "$rc" -eq 0 ] || check_fail "traceflowd exited $rc on SIGTERM"
[ ! -e "$sock" ] || check_fail "the socket is still there after the daemon stopped"
trap lib_exit EXIT
finish
