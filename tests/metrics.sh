#!/bin/bash
# metrics.sh: metrics_listen and stats --prometheus, as Prometheus reads them.
#
# A live daemon in a network namespace serves /metrics on 127.0.0.1 there,
# with a spool limit small enough that retention deletes files. After a
# replay of 200 connections, a scrape with curl:
#  - passes `promtool check metrics` (format and naming lints);
#  - says what `traceflowctl --json stats` says (frames, TCP frames, flows
#    started and finished, files and bytes written, per-interface counters)
#    and what the spool holds (files and bytes on disk), and counts the
#    retention deletions the log reports;
#  - is served as text/plain version 0.0.4; another path is a 404.
# `traceflowctl stats --prometheus` prints the same families and passes
# promtool too; with -j it is the daemon's JSON reply. 127.0.0.1 is served
# on a host whose only other address is IPv6, and "[::1]:PORT" on ::1.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

TRACEFLOWCTL=${TRACEFLOWCTL:-$top_builddir/traceflowctl}
need_root
need_cmd tcpreplay
need_cmd curl
need_cmd promtool
need_traceflowd
need_file "$TRACEFLOWCTL" traceflowctl
need_file "$GENCAP" gencap
netns_setup

ctl() { "$TRACEFLOWCTL" -s "$WORK/ctl.sock" "$@"; }
url=http://127.0.0.1:9464

"$GENCAP" -c 200 -C 20 -p 20 -s 300 -S 11 -o "$WORK/cap.pcap" 2>/dev/null
spool=$WORK/spool
daemon_conf "$WORK/d.conf" "$spool" 'metrics_listen = "127.0.0.1:9464"' 'linger = "0"' \
    'idle_timeout = "1d"' 'max_spool_size = "1M"'
daemon_start d "$WORK/d.conf" -i vb -v # -v: a line per file retention deletes
grep -q "metrics on $url/metrics" "$DAEMON_LOG" || check_fail "no 'metrics on' line in the log"
replay "$WORK/cap.pcap"

# Every connection finished and filed, and a retention pass over the spool
# since (it runs every 10 s): the gauges agree with the disk.
settled() {
	ctl -j stats >"$WORK/stats.json" 2>/dev/null || return 1
	python3 - "$WORK/stats.json" "$spool" <<'EOF'
import json, os, sys
t = json.load(open(sys.argv[1]))["totals"]
files = [f for r, d, n in os.walk(sys.argv[2]) if "/." not in r[len(sys.argv[2]):]
         for f in n if f.endswith(".pcap")]
ok = (t["flows_finished"] == 200 and t["flows_active"] == 0 and t["files_written"] == 200
      and t["spool_files"] == len(files) and t["spool_files"] > 0)
sys.exit(0 if ok else 1)
EOF
}
# (The usage is the catalog's running sum, right at once: wait for the pass first.)
wait_for "$DAEMON_LOG" 'retention: deleted' 25 || fail "retention deleted nothing (the test's premise)"
for _ in $(seq 300); do
	settled && break
	sleep 0.1
done
settled || fail "not settled in 30 s: $(head -c 600 "$WORK/stats.json")"

in_ns curl -sS -D "$WORK/headers" -o "$WORK/metrics.txt" "$url/metrics" ||
    fail "curl $url/metrics failed"
ctl -j stats >"$WORK/stats.json"
if promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1; then
	ok "promtool check metrics: the scrape passes"
else
	check_fail "promtool check metrics: $(head -n 10 "$WORK/promtool.out")"
fi
grep -qi '^content-type: text/plain; version=0.0.4' "$WORK/headers" ||
    check_fail "content type: $(grep -i content-type "$WORK/headers")"

# The scrape against the JSON stats and the spool on disk.
deleted=$(grep -c 'retention: deleted' "$DAEMON_LOG")
if python3 - "$WORK/metrics.txt" "$WORK/stats.json" "$spool" "$deleted" \
    >"$WORK/compare.out" 2>&1 <<'EOF'; then
import json, os, re, sys
M = {}
for line in open(sys.argv[1]):
    if line.startswith("#") or not line.strip():
        continue
    name, value = line.rsplit(" ", 1)
    M[name] = int(value)
S = json.load(open(sys.argv[2]))
T = S["totals"]
spool = sys.argv[3]
# The flow files, in their partitions (not .active/: still being written).
files = [os.path.join(r, f) for r, d, n in os.walk(spool) if "/." not in r[len(spool):]
         for f in n if f.endswith(".pcap")]
size = sum(os.lstat(f).st_size for f in files)
bad = []
def eq(what, got, want):
    if got != want:
        bad.append("%s: /metrics %r, want %r" % (what, got, want))
def total(prefix):
    return sum(v for k, v in M.items() if k == prefix or k.startswith(prefix + "{"))
eq("frames", M.get("traceflow_frames_total"), T["frames"])
eq("tcp frames", M.get("traceflow_tcp_frames_total"), T["tcp"])
eq("flows started", M.get("traceflow_flows_started_total"), T["flows_started"])
eq("flows finished (sum over reasons)", total("traceflow_flows_finished_total"), T["flows_finished"])
eq("flows finished by fin", M.get('traceflow_flows_finished_total{reason="fin"}'),
   T["ended_by_reason"]["fin"])
eq("flows active", M.get("traceflow_flows_active"), 0)
eq("files written", M.get("traceflow_files_written_total"), T["files_written"])
eq("files written (200 flows)", M.get("traceflow_files_written_total"), 200)
eq("bytes written", M.get("traceflow_written_bytes_total"), T["bytes_written"])
eq("malformed", total("traceflow_malformed_frames_total"), T["malformed"])
eq("spool files (on disk)", M.get("traceflow_spool_files"), len(files))
eq("spool bytes (on disk)", M.get("traceflow_spool_bytes"), size)
eq("retention deletions (log lines)", M.get("traceflow_retention_deleted_files_total"),
   int(sys.argv[4]))
eq("written = kept + deleted", M.get("traceflow_files_written_total"),
   len(files) + M.get("traceflow_retention_deleted_files_total", -1))
for i in S["interfaces"]:
    for m, k in (("received_packets", "received"), ("kernel_dropped_packets", "kernel_drops"),
                 ("interface_dropped_packets", "if_drops"), ("read_frames", "frames")):
        eq("%s %s" % (i["name"], m), M.get('traceflow_%s_total{interface="%s"}' % (m, i["name"])),
           i[k])
if M.get("traceflow_resident_memory_bytes", 0) <= 0:
    bad.append("resident memory: %r" % M.get("traceflow_resident_memory_bytes"))
if not any(k.startswith("traceflow_build_info{version=") and v == 1 for k, v in M.items()):
    bad.append("no traceflow_build_info{version=...} 1")
if "traceflow_ipfix_sent_records_total" in M:
    bad.append("IPFIX metrics while export is off")
if bad:
    sys.exit("\n".join(bad))
print("%d frames, %d flows finished, %d files written, %d kept (%d bytes), %d deleted" % (
    T["frames"], T["flows_finished"], T["files_written"], len(files), size,
    M["traceflow_retention_deleted_files_total"]))
EOF
	ok "/metrics equals stats and the spool: $(cat "$WORK/compare.out")"
else
	check_fail "/metrics against stats: $(head -n 12 "$WORK/compare.out")"
fi

code=$(in_ns curl -s -o /dev/null -w '%{http_code}' "$url/")
[ "$code" = 404 ] || check_fail "GET /: HTTP $code, want 404"
code=$(in_ns curl -s -o /dev/null -w '%{http_code}' "$url/metrics/x")
[ "$code" = 404 ] && ok "other paths: 404" || check_fail "GET /metrics/x: HTTP $code, want 404"

# The textfile collector's form: the daemon's renderer, printed as it is.
if ctl stats --prometheus >"$WORK/ctl.prom" 2>"$WORK/ctl.err" &&
    promtool check metrics <"$WORK/ctl.prom" >"$WORK/promtool2.out" 2>&1; then
	ok "traceflowctl stats --prometheus passes promtool"
else
	check_fail "stats --prometheus: $(head -n 5 "$WORK/ctl.err" "$WORK/promtool2.out")"
fi
families() { sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' "$1"; }
[ "$(families "$WORK/ctl.prom")" = "$(families "$WORK/metrics.txt")" ] ||
    check_fail "stats --prometheus and /metrics differ in families"
grep -qx 'traceflow_files_written_total 200' "$WORK/ctl.prom" ||
    check_fail "stats --prometheus: $(grep files_written "$WORK/ctl.prom")"
ctl -j stats --prometheus | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert list(d) == ["prometheus"] and "traceflow_frames_total" in d["prometheus"], d
' 2>"$WORK/j.err" || check_fail "-j stats --prometheus: $(tail -n 2 "$WORK/j.err")"
ctl stats --nosuch >/dev/null 2>"$WORK/nosuch.err" &&
    check_fail "stats --nosuch accepted"

daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "traceflowd exited $DAEMON_RC: $(tail -n 5 "$DAEMON_LOG")"

# A host whose only non-loopback address is IPv6: "127.0.0.1:PORT" is a
# literal and listens all the same (getaddrinfo's AI_ADDRCONFIG found no
# IPv4 there and the daemon did not start, saying "No such file or
# directory"). A port already taken: the real error.
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.vb.disable_ipv6=0
in_ns ip -6 addr add 2001:db8::5/64 dev vb nodad
daemon_conf "$WORK/v6.conf" "$WORK/spool6" 'metrics_listen = "127.0.0.1:9465"' 'interfaces = ["vb"]'
daemon_start v6 "$WORK/v6.conf"
code=$(in_ns curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9465/metrics || true)
[ "$code" = 200 ] && ok "metrics_listen 127.0.0.1 on an IPv6-only host: HTTP 200" ||
    check_fail "metrics_listen 127.0.0.1 on an IPv6-only host: HTTP '$code': $(tail -n 2 "$DAEMON_LOG")"
daemon_conf "$WORK/taken.conf" "$WORK/spool7" 'metrics_listen = "127.0.0.1:9465"' \
    'interfaces = ["vb"]'
sed -i "s|ctl.sock|ctl7.sock|" "$WORK/taken.conf" # a socket of its own: the port alone is taken
if in_ns "$TRACEFLOWD" -f -c "$WORK/taken.conf" >"$WORK/taken.log" 2>&1; then
	check_fail "a second daemon started on a taken metrics port"
else
	grep -q "metrics_listen 127.0.0.1:9465: cannot listen there: Address already in use" \
	    "$WORK/taken.log" && ok "a taken metrics port: the real error" ||
	    check_fail "a taken metrics port: $(tail -n 2 "$WORK/taken.log")"
fi
daemon_stop

# An IPv6 address, in brackets as traceflow.conf(5) writes it: [::1]:PORT
# listens on ::1 (and not on 127.0.0.1).
in_ns sysctl -qw net.ipv6.conf.lo.disable_ipv6=0
daemon_conf "$WORK/v6lo.conf" "$WORK/spool8" 'metrics_listen = "[::1]:9466"' 'interfaces = ["vb"]'
daemon_start v6lo "$WORK/v6lo.conf"
code=$(in_ns curl -s -o /dev/null -w '%{http_code}' 'http://[::1]:9466/metrics' || true)
code4=$(in_ns curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9466/metrics || true)
if [ "$code" = 200 ] && [ "$code4" = 000 ]; then
	ok "metrics_listen [::1]:9466: HTTP 200 on ::1, nothing on 127.0.0.1"
else
	check_fail "metrics_listen [::1]:9466: HTTP '$code' on ::1, '$code4' on 127.0.0.1: $(tail -n 2 "$DAEMON_LOG")"
fi
daemon_stop
finish
