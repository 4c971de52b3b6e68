#!/bin/bash
# capture-settings.sh: the capture settings only the live daemon applies,
# each checked on what a user sees, in both of its states.
#
#  1. promisc: true (the default) puts the interface into promiscuous mode
#     while the daemon captures (ip -d link: promiscuity 1), false does not
#     (promiscuity 0); either way none is left after the daemon stops.
#  2. snaplen = 100: every record the files hold is cut to 100 bytes, their
#     headers say 100, and each keeps its frame's original length: the
#     index's bytes (wire bytes) are the sum of those, above what the files
#     hold.
#  3. nanosecond = true: nanosecond pcap files, labels with nine decimals,
#     and the kernel's nanoseconds in them (not microseconds times 1000);
#     false: microsecond files and labels with six.
#  4. log_level: "debug" logs debug lines (a control request), "warning"
#     not even the info lines of a start; a reload to "debug" takes effect
#     at once.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd tcpreplay
need_traceflowd
need_file "$GENCAP" gencap
TRACEFLOWCTL=${TRACEFLOWCTL:-$top_builddir/traceflowctl}
need_file "$TRACEFLOWCTL" traceflowctl
netns_setup

ctl() { "$TRACEFLOWCTL" -s "$WORK/ctl.sock" "$@"; }

# promiscuity: the interface's promiscuous-mode count (ip -d link).
promiscuity() {
	ip -n "$NS" -d link show vb | sed -n 's/.* promiscuity \([0-9]*\).*/\1/p' | head -n 1
}

# settled: every flow filed (10 s).
settled() {
	for _ in $(seq 100); do
		ctl -j stats 2>/dev/null | python3 -c '
import json, sys
t = json.load(sys.stdin)["totals"]
sys.exit(0 if t["flows_active"] == 0 and t["index_lines_pending"] == 0 else 1)' && return 0
		sleep 0.1
	done
	return 1
}

# pcap_py SPOOL: as JSON, for each file the index names: its label, the
# index's bytes and packets, the file's magic and snaplen, and for each
# record [captured length, original length, fraction of its second in the
# file's own unit].
pcap_py() {
	python3 - "$1" <<'PY'
import json, os, struct, sys
d = sys.argv[1]
E = [json.loads(l) for l in open(os.path.join(d, "index.jsonl"))]
out = []
for e in E:
    data = open(os.path.join(d, e["fpout"]), "rb").read()
    magic, = struct.unpack("<I", data[:4])
    snap, = struct.unpack("<I", data[16:20])
    recs, off = [], 24
    while off < len(data):
        sec, frac, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        recs.append((incl, orig, frac))
        off += 16 + incl
    out.append({"label": e["label"], "bytes": e["bytes"], "packets": e["packets"],
                "magic": "%08x" % magic, "snaplen": snap, "recs": recs})
json.dump(out, sys.stdout)
PY
}

"$GENCAP" -c 20 -C 5 -p 10 -s 1000 -S 21 -o "$WORK/big.pcap" 2>/dev/null

# --- 1. promisc ------------------------------------------------------------
for p in true false; do
	spool=$WORK/spool-promisc-$p
	daemon_conf "$WORK/p-$p.conf" "$spool" 'interfaces = ["vb"]' "promisc = $p"
	before=$(promiscuity)
	daemon_start "promisc-$p" "$WORK/p-$p.conf"
	wait_for "$DAEMON_LOG" "vb: capturing" 5 || check_fail "promisc = $p: vb not captured"
	during=$(promiscuity)
	daemon_stop
	after=$(promiscuity)
	want=0
	[ "$p" = true ] && want=1
	if [ "$before" != 0 ] || [ "$during" != "$want" ] || [ "$after" != 0 ]; then
		check_fail "promisc = $p: promiscuity $before before, $during while capturing (want $want), $after after"
	else
		ok "promisc = $p: promiscuity $during while capturing, 0 after"
	fi
done

# --- 2. snaplen ------------------------------------------------------------
spool=$WORK/spool-snaplen
daemon_conf "$WORK/s.conf" "$spool" 'interfaces = ["vb"]' 'snaplen = 100' 'linger = "0"'
daemon_start snaplen "$WORK/s.conf"
replay "$WORK/big.pcap"
settled || check_fail "snaplen: flows still active 10 s after the replay"
daemon_stop
pcap_py "$spool" >"$WORK/snaplen.json" || fail "snaplen: cannot read the files"
if python3 - "$WORK/snaplen.json" <<'PY' >"$WORK/snaplen.out" 2>&1; then
import json, sys
F = json.load(open(sys.argv[1]))
errs, cut = [], 0
if len(F) != 20:
    errs.append("%d files, want 20" % len(F))
for f in F:
    if f["snaplen"] != 100:
        errs.append("%s: header snaplen %d" % (f["label"], f["snaplen"]))
    if any(i > 100 or i > o for i, o, _ in f["recs"]):
        errs.append("%s: a record of %s bytes" % (f["label"], max(i for i, _, _ in f["recs"])))
    cut += sum(1 for i, o, _ in f["recs"] if i == 100 and o > 1000)
    held = sum(i for i, _, _ in f["recs"])
    wire = sum(o for _, o, _ in f["recs"])
    if f["bytes"] != wire or wire <= held:
        errs.append("%s: index bytes %d, original lengths %d, held %d"
                    % (f["label"], f["bytes"], wire, held))
if cut < 20 * 10:
    errs.append("only %d records cut from frames over 1000 bytes" % cut)
if errs:
    sys.exit("; ".join(errs[:4]))
print("%d records cut to 100 bytes" % cut, end="")
PY
	ok "snaplen = 100: $(cat "$WORK/snaplen.out"), original lengths kept, index bytes the wire's"
else
	check_fail "snaplen = 100: $(tail -n 3 "$WORK/snaplen.out")"
fi

# --- 3. nanosecond ---------------------------------------------------------
for nano in true false; do
	spool=$WORK/spool-nano-$nano
	daemon_conf "$WORK/n-$nano.conf" "$spool" 'interfaces = ["vb"]' "nanosecond = $nano" \
	    'linger = "0"'
	daemon_start "nano-$nano" "$WORK/n-$nano.conf"
	replay "$WORK/big.pcap"
	settled || check_fail "nanosecond = $nano: flows still active 10 s after the replay"
	daemon_stop
	pcap_py "$spool" >"$WORK/nano-$nano.json" || fail "nanosecond = $nano: cannot read the files"
	if python3 - "$WORK/nano-$nano.json" "$nano" <<'PY' >"$WORK/nano-$nano.out" 2>&1; then
import json, re, sys
F, nano = json.load(open(sys.argv[1])), sys.argv[2] == "true"
errs = []
magic, decimals = ("a1b23c4d", 9) if nano else ("a1b2c3d4", 6)
if len(F) != 20:
    errs.append("%d files, want 20" % len(F))
for f in F:
    if f["magic"] != magic:
        errs.append("%s: magic %s, want %s" % (f["label"], f["magic"], magic))
    if not re.search(r"-\d+\.\d{%d}$" % decimals, f["label"]):
        errs.append("%s: not %d decimals" % (f["label"], decimals))
fracs = [fr for f in F for _, _, fr in f["recs"]]
# The kernel stamps veth frames in nanoseconds: a microsecond pcap's
# times scaled up would all be multiples of 1000.
if nano and all(fr % 1000 == 0 for fr in fracs):
    errs.append("all %d timestamps are whole microseconds" % len(fracs))
if not nano and any(fr >= 1000000 for fr in fracs):
    errs.append("microsecond records with a fraction of 10^6 or more")
if errs:
    sys.exit("; ".join(errs[:4]))
PY
		ok "nanosecond = $nano: the files, labels and timestamps' resolution"
	else
		check_fail "nanosecond = $nano: $(tail -n 3 "$WORK/nano-$nano.out")"
	fi
done

# --- 4. log_level ----------------------------------------------------------
# debug: a control request is a debug line.
spool=$WORK/spool-log
daemon_conf "$WORK/l.conf" "$spool" 'interfaces = ["vb"]' 'log_level = "debug"'
daemon_start log-debug "$WORK/l.conf"
ctl version >/dev/null || check_fail "log_level = debug: traceflowctl version failed"
wait_for "$DAEMON_LOG" "control: version from uid 0" 5 ||
    check_fail "log_level = debug: no debug line for a request: $(tail -n 3 "$DAEMON_LOG")"
daemon_stop
[ "$failures" -eq 0 ] && ok "log_level = debug: debug lines logged"

# warning: not even "started:"; the daemon answers all the same. A reload to
# debug logs the next request's debug line.
daemon_conf "$WORK/l.conf" "$spool" 'interfaces = ["vb"]' 'log_level = "warning"'
DAEMON_LOG=$WORK/log-warning.log
ip netns exec "$NS" "$TRACEFLOWD" -f -c "$WORK/l.conf" >"$DAEMON_LOG" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 100); do
	ctl version >/dev/null 2>&1 && break
	sleep 0.1
done
ctl version >/dev/null 2>&1 || fail "log_level = warning: the daemon does not answer: $(tail -n 3 "$DAEMON_LOG")"
if grep -q 'started:\|capturing\|control: version' "$DAEMON_LOG"; then
	check_fail "log_level = warning: info or debug lines logged: $(head -n 3 "$DAEMON_LOG")"
else
	ok "log_level = warning: no info line"
fi
daemon_conf "$WORK/l.conf" "$spool" 'interfaces = ["vb"]' 'log_level = "debug"'
ctl reload >/dev/null || check_fail "log_level: reload to debug failed"
ctl stats >/dev/null || check_fail "log_level: stats after the reload failed"
if wait_for "$DAEMON_LOG" "control: stats from uid 0" 5; then
	ok "log_level: a reload to debug logs debug lines at once"
else
	check_fail "log_level: reloaded to debug, no debug line: $(tail -n 3 "$DAEMON_LOG")"
fi
daemon_stop
finish
