#!/bin/bash
#
# scans.sh: connections nothing answers (issue 25: half_open_timeout,
# half_open_packets, half_open_share).
#  1. Offline, a capture of 10,000 connections of which about 3,000 are a
#     scanner's probes (gencap -P: a SYN nothing answers, every third one
#     refused by an RST), some 9 s long: every real connection's file is
#     byte for byte what it is without the rule (half_open_timeout 0), the
#     judges (pcapcmp, then tshark's view) agree with the whole output, no
#     real connection ends unanswered or evicted, the probes nothing
#     answered end unanswered once 5 s of the capture's time passed (the
#     last ones at the end of the input: eof), the refused ones refused, and the
#     summary counts what the index says. Probes get no file of their own
#     (unanswered = "shared"): their records are in one shared capture, at
#     the offset and length their index line and catalog row say (pcapcmp
#     reads them there, tsharkcmp through tshark), the capture holds nothing
#     else, the catalog has a probes row for each, query lists them and
#     query -w of the scanner writes every one of its packets (tshark
#     counts them in the input); --unanswered own-file gives a file each.
#  2. Live, a flood of 20,000 probes replayed with 200 real connections into
#     a daemon whose table holds 2,000 flows (1,000 for half-open ones): no
#     real connection is evicted or ends unanswered, half-open flows are
#     evicted and counted (stats, /metrics), the overload is logged once
#     when it starts and once when it ends; the spool holds a file per real
#     connection and fewer than one per 10,000 probes beside, every probe
#     is in the catalog, and query -w of the scanner gives all its packets.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_cmd python3
need_cmd tshark
need_cmd sqlite3
need_traceflowd
GENCAP=${GENCAP:-$top_builddir/tests/gencap}
need_file "$GENCAP" gencap
TRACEFLOWCTL=${TRACEFLOWCTL:-$top_builddir/traceflowctl}
SCANNER=10.9.0.1

# --- 1. offline ---------------------------------------------------------------
"$GENCAP" -c 10000 -C 100 -p 6 -s 100 -P 30 -S 41 -o "$WORK/scan.pcap" 2>"$WORK/gencap.err" ||
	fail "gencap failed: $(cat "$WORK/gencap.err")"
tf_ok rule --read "$WORK/scan.pcap" --output "$WORK/rule" --summary json ||
	fail "traceflowd --read failed"
tf_ok norule --read "$WORK/scan.pcap" --output "$WORK/norule" --half-open-timeout 0 ||
	fail "traceflowd --read --half-open-timeout 0 failed"
pcapcmp_ok "$WORK/scan.pcap" "$WORK/rule" && judge_ok "$WORK/scan.pcap" "$WORK/rule" &&
	ok "judges: $JUDGE_LINE"
# tshark reads each file: a smaller scan (10,000 files would take it minutes).
"$GENCAP" -c 300 -C 20 -p 6 -s 100 -P 50 -S 42 -o "$WORK/small.pcap" 2>/dev/null ||
	fail "gencap (small) failed"
tf_ok small --read "$WORK/small.pcap" --output "$WORK/small" || fail "traceflowd --read (small) failed"
tsharkcmp_ok "$WORK/small.pcap" "$WORK/small" &&
	ok "tsharkcmp: every probe's records where its line says ($(grep -c '"offset":[0-9]' "$WORK/small/index.jsonl") probes)"
# A folder without its catalog is queried through its index.jsonl: the probes too.
cp -r "$WORK/small" "$WORK/small-index" && rm -rf "$WORK/small-index/.catalog"
"$TRACEFLOWCTL" query -d "$WORK/small-index" -w "$WORK/small-index.pcap" -- src host "$SCANNER" \
	2>/dev/null || check_fail "query -w of a folder without a catalog failed"
want=$(tshark -n -r "$WORK/small.pcap" -Y "ip.addr == $SCANNER" 2>/dev/null | wc -l)
got=$(tshark -n -r "$WORK/small-index.pcap" 2>/dev/null | wc -l)
if [ "$want" -gt 0 ] && [ "$got" -eq "$want" ]; then
	ok "query -w through index.jsonl: the scanner's $got packets"
else
	check_fail "query -w through index.jsonl: $got packets of the scanner, the input has $want"
fi
tf_ok own --read "$WORK/scan.pcap" --output "$WORK/own" --unanswered own-file ||
	fail "traceflowd --read --unanswered own-file failed"
"$TRACEFLOWCTL" query -d "$WORK/rule" -j -- src host "$SCANNER" >"$WORK/rule.query" ||
	check_fail "query of the scanner failed"
"$TRACEFLOWCTL" query -d "$WORK/rule" -w "$WORK/rule.probes.pcap" -- src host "$SCANNER" \
	2>"$WORK/rule.w.err" || check_fail "query -w of the scanner failed: $(cat "$WORK/rule.w.err")"
tshark -n -r "$WORK/scan.pcap" -Y "ip.addr == $SCANNER" -T fields -e frame.time_epoch \
	>"$WORK/scan.scanner" 2>/dev/null || check_fail "tshark on the input failed"
tshark -n -r "$WORK/rule.probes.pcap" -T fields -e frame.time_epoch >"$WORK/rule.probes" \
	2>/dev/null || check_fail "tshark on query -w's output failed"
sqlite3 -readonly "$WORK/rule/.catalog/catalog.db" \
	"SELECT label, fpout, offset, length, reason FROM probes" >"$WORK/rule.probes.rows" ||
	check_fail "the catalog's probes cannot be read"

python3 - "$WORK" "$SCANNER" <<'PY' >"$WORK/offline.check" 2>&1 || check_fail "offline: $(tail -n 6 "$WORK/offline.check")"
import json, os, sys, collections
work, scanner = sys.argv[1], sys.argv[2]
def index(d):
    return [json.loads(l) for l in open(os.path.join(work, d, "index.jsonl"))]
rule, norule, own = index("rule"), index("norule"), index("own")
bad = []
probes = [r for r in rule if r["src"] == scanner]
real = [r for r in rule if r["src"] != scanner]
reasons = collections.Counter(r["reason"] for r in probes)
last_ns = max(r["last_ns"] for r in rule)
for r in real:
    if r["reason"] in ("unanswered", "evicted"):
        bad.append("real connection %s ended %s" % (r["label"], r["reason"]))
# The same files for the real connections, byte for byte, as without the rule.
old = {r["label"]: r for r in norule if r["src"] != scanner}
for r in real:
    o = old.get(r["label"])
    if o is None:
        bad.append("%s: not in the output without the rule" % r["label"])
        continue
    a = open(os.path.join(work, "rule", r["fpout"]), "rb").read()
    b = open(os.path.join(work, "norule", o["fpout"]), "rb").read()
    if a != b or r["index"] != o["index"]:
        bad.append("%s: its file or frames differ from the output without the rule" % r["label"])
if len(real) != len(old):
    bad.append("%d real connections with the rule, %d without" % (len(real), len(old)))
# Probes: one packet each (two when refused); unanswered once 5 s passed, else eof.
for r in probes:
    n = len(r["index"])
    if r["reason"] == "unanswered":
        if n != 1 or r["last_ns"] + 5 * 10**9 > last_ns:
            bad.append("%s: unanswered with %d packets, %.1f s before the end" %
                       (r["label"], n, (last_ns - r["last_ns"]) / 1e9))
    elif r["reason"] == "refused":
        if n not in (2, 4):  # refused, or retried with its ISN and refused again: one flow
            bad.append("%s: refused with %d packets" % (r["label"], n))
    elif r["reason"] == "eof":
        if r["last_ns"] + 5 * 10**9 <= last_ns:
            bad.append("%s: eof though 5 s passed (%.1f s)" % (r["label"], (last_ns - r["last_ns"]) / 1e9))
    else:
        bad.append("%s: reason %s" % (r["label"], r["reason"]))
if reasons["unanswered"] < 500 or reasons["refused"] < 500 or reasons["eof"] < 1:
    bad.append("probes ended %s: want unanswered, refused and eof" % dict(reasons))
# Where the probes went: a shared capture, named in their lines and rows; not a file each.
files = [os.path.relpath(os.path.join(d, f), os.path.join(work, "rule"))
         for d, _, fs in os.walk(os.path.join(work, "rule")) if ".catalog" not in d
         for f in fs if f != "index.jsonl"]
shared = set(f for f in files if os.path.basename(f).startswith("unanswered-"))
if len(files) != len(real) + len(shared) or not 1 <= len(shared) <= 2:
    bad.append("%d files for %d connections and %d shared captures" % (len(files), len(real), len(shared)))
for r in probes:
    if r["fpout"] not in shared or r["offset"] is None or r["length"] <= 0:
        bad.append("%s: fpout %s at %s" % (r["label"], r["fpout"], r["offset"]))
for r in real:
    if r["offset"] is not None:
        bad.append("%s: a real connection with an offset" % r["label"])
rows = {}
for l in open(os.path.join(work, "rule.probes.rows")):
    label, fpout, off, length, reason = l.rstrip("\n").split("|")
    rows[label] = (fpout, int(off), int(length), reason)
want = dict((r["label"], (r["fpout"], r["offset"], r["length"], r["reason"])) for r in probes)
if rows != want:
    bad.append("the catalog's probes (%d) are not the index's (%d)" % (len(rows), len(want)))
listed = [json.loads(l) for l in open(os.path.join(work, "rule.query"))]
if sorted(q["label"] for q in listed) != sorted(want) or any(q["offset"] != want[q["label"]][1] for q in listed):
    bad.append("query lists %d flows of the scanner, the index %d probes" % (len(listed), len(want)))
got = sorted(open(os.path.join(work, "rule.probes")).read().split())
exp = sorted(open(os.path.join(work, "scan.scanner")).read().split())
if got != exp:
    bad.append("query -w of the scanner: %d packets, the input has %d" % (len(got), len(exp)))
ownp = [r for r in own if r["src"] == scanner]
if len(ownp) != len(probes) or any(r["offset"] is not None or "unanswered-" in r["fpout"] for r in ownp):
    bad.append("--unanswered own-file: probes are not a file each")
summary = json.load(open(os.path.join(work, "rule.out")))
if summary["ended_unanswered"] != reasons["unanswered"]:
    bad.append("summary ended_unanswered %d, the index %d" % (summary["ended_unanswered"], reasons["unanswered"]))
print("%d real connections as without the rule; %d probes: %s, in %d shared capture(s), "
      "query -w of the scanner %d packets" % (len(real), len(probes), dict(reasons), len(shared), len(got)))
for b in bad[:10]:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
grep -q "^FAIL" "$WORK/offline.check" || ok "offline: $(tail -n 1 "$WORK/offline.check")"

# --- 2. live: a flood ----------------------------------------------------------
if [ "$(id -u)" -ne 0 ] || ! command -v tcpreplay >/dev/null; then
	skip "the live part needs root and tcpreplay"
fi
need_file "$TRACEFLOWCTL" traceflowctl
"$GENCAP" -c 20200 -C 200 -p 4 -s 50 -P 99 -S 43 -o "$WORK/flood.pcap" 2>"$WORK/flood.err" ||
	fail "gencap flood failed"
netns_setup
daemon_conf "$WORK/live.conf" "$WORK/spool" 'interfaces = ["vb"]' 'max_flows = 2000' \
    'half_open_timeout = "2s"'
daemon_start live "$WORK/live.conf"
replay "$WORK/flood.pcap"
ctl() { "$TRACEFLOWCTL" -s "$WORK/ctl.sock" "$@"; }
# The overload ends once the probes time out (0.4 s while overloaded, 2 s after).
for _ in $(seq 50); do
	grep -q "back under half their share" "$DAEMON_LOG" && break
	sleep 0.2
done
ctl -j stats >"$WORK/stats.json" || check_fail "stats failed"
"$TRACEFLOWCTL" -s "$WORK/ctl.sock" -j list --finished >"$WORK/list.json" ||
	check_fail "list --finished failed"
daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "traceflowd exited $DAEMON_RC: $(tail -n 3 "$DAEMON_LOG")"
"$TRACEFLOWCTL" query -d "$WORK/spool" -w "$WORK/live.probes.pcap" -- src host "$SCANNER" \
	2>"$WORK/live.w.err" || check_fail "live query -w failed: $(cat "$WORK/live.w.err")"
tshark -n -r "$WORK/live.probes.pcap" -T fields -e frame.time_epoch 2>/dev/null | wc -l \
	>"$WORK/live.probes.n"
sqlite3 -readonly "$WORK/spool/.catalog/catalog.db" "SELECT count(*) FROM probes" \
	>"$WORK/live.rows" || check_fail "the catalog's probes cannot be read"
python3 - "$WORK" "$SCANNER" <<'PY' >"$WORK/live.check" 2>&1 || check_fail "live: $(tail -n 6 "$WORK/live.check")"
import json, os, sys, collections
work, scanner = sys.argv[1], sys.argv[2]
t = json.load(open(os.path.join(work, "stats.json")))["totals"]
lines = [json.loads(l) for l in open(os.path.join(work, "spool", "index.jsonl"))]
real = [r for r in lines if r["src"] != scanner]
probes = [r for r in lines if r["src"] == scanner]
bad = []
rr = collections.Counter(r["reason"] for r in real)
pr = collections.Counter(r["reason"] for r in probes)
if set(rr) - {"fin", "rst", "shutdown"}:
    bad.append("real connections ended %s" % dict(rr))
if t["half_open_evicted"] < 1000 or pr["evicted"] != t["half_open_evicted"]:
    bad.append("half_open_evicted %d, probes evicted in the index %d" % (t["half_open_evicted"], pr["evicted"]))
if t["ended_by_reason"]["unanswered"] != pr["unanswered"] or pr["unanswered"] < 100:
    bad.append("ended unanswered: stats %s, index %d" % (t["ended_by_reason"]["unanswered"], pr["unanswered"]))
files = [f for d, _, fs in os.walk(os.path.join(work, "spool")) if ".catalog" not in d
         for f in fs if f != "index.jsonl" and not f.startswith(".")]  # .lock
shared = [f for f in files if f.startswith("unanswered-")]
if len(files) - len(shared) != len(real) or len(shared) > 1 + len(probes) // 10000:
    bad.append("%d files: %d shared captures for %d probes, %d connections" %
               (len(files), len(shared), len(probes), len(real)))
rows = int(open(os.path.join(work, "live.rows")).read())
if rows != len(probes):
    bad.append("%d probes in the catalog, %d in the index" % (rows, len(probes)))
wpk = int(open(os.path.join(work, "live.probes.n")).read())
if wpk != sum(r["packets"] for r in probes):
    bad.append("query -w of the scanner: %d packets, its probes %d" % (wpk, sum(r["packets"] for r in probes)))
print("%d real connections ended %s; %d probes ended %s in %d shared capture(s), query -w %d packets; "
      "stats half_open_evicted %d" % (len(real), dict(rr), len(probes), dict(pr), len(shared), wpk,
                                      t["half_open_evicted"]))
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
grep -q "^FAIL" "$WORK/live.check" || ok "live: $(tail -n 1 "$WORK/live.check")"
n=$(grep -c "filled their share of the flow table" "$DAEMON_LOG" || true)
m=$(grep -c "back under half their share" "$DAEMON_LOG" || true)
if [ "$n" -eq 1 ] && [ "$m" -eq 1 ]; then
	ok "the overload logged once as it began and once as it ended"
else
	check_fail "the overload logged $n times as it began, $m as it ended: $(grep -i share "$DAEMON_LOG" | head -n 4)"
fi
finish
