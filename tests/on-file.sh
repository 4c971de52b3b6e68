#!/bin/bash
#
# on-file.sh: on_file, the command run on every finished file, on a live
# daemon in a network namespace (tcpreplay of generated connections).
#
#  1. as the daemon's user (user = "nobody"): one run per index line that
#     names a file, segments included, its one argument the file's absolute
#     path, TRACEFLOW_* equal to the line's members, uid nobody, no
#     capability, no descriptor but 0-2; stats count them as succeeded.
#  2. started as systemd starts it (as nobody with CAP_NET_RAW and
#     CAP_NET_ADMIN ambient, setpriv): the command holds no capability
#     and does not see NOTIFY_SOCKET.
#  3. on_file_jobs = 2 and a command that sleeps: never more than 2 at once
#     (and 2 at some point), all run in the end.
#  4. on_file_timeout = 1s and a command that sleeps forever (and a child
#     of its own): killed, with its child, logged with the label and the
#     signal, counted as timed out, while new flows are filed meanwhile; at
#     SIGTERM what is still queued is logged as not run.
#  5. a command that exits 3: logged with its label and "exit status 3",
#     counted as failed.
#  6. the command of issue 24, ( trap '' TERM; exec sleep 300 ) & sleep 300
#     (each sleep marked by its argument): at on_file_timeout = 1s the
#     command dies of SIGTERM, the child ignoring it dies of the SIGKILL
#     to its process group 2 s later; then, a daemon stopped (SIGTERM)
#     while such commands run leaves none of their processes behind.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd tcpreplay
need_cmd python3
need_cmd setpriv
need_traceflowd
need_file "$GENCAP" gencap
TRACEFLOWCTL=${TRACEFLOWCTL:-$top_builddir/traceflowctl}
need_file "$TRACEFLOWCTL" traceflowctl
getent passwd nobody >/dev/null || skip "no user nobody"
getent group nogroup >/dev/null || skip "no group nogroup"
netns_setup

# gen NAME SEED CONNS: closed connections of 10 frames each.
gen() {
	"$GENCAP" -c "$3" -C 5 -p 4 -S "$2" -t 1700000000 -o "$WORK/$1.pcap" 2>/dev/null ||
	    fail "gencap $1 failed"
}
gen a 41 12
gen b 42 8
gen c 43 20
gen d 44 6

# The command: records its argument, uid, capabilities, open descriptors
# and TRACEFLOW_* in $REC/PID.json when it starts and again when it ends,
# doing meanwhile what $HOOKDIR/mode says: ok, sleep SECONDS, forever (with
# a child of its own), fail (exit 3).
hookdir=$WORK/hook
mkdir -p "$hookdir"
cat >"$hookdir/on-file" <<'EOF'
#!/usr/bin/python3
import json, os, subprocess, sys, time
here = os.path.dirname(os.path.abspath(sys.argv[0]))
rec = open(os.path.join(here, "recdir")).read().strip()
mode = open(os.path.join(here, "mode")).read().split()
if mode[0] == "group":
    # A child that ignores SIGTERM, in the command's process group.
    os.execv("/bin/sh", ["sh", "-c", "( trap '' TERM; exec sleep %s ) & sleep %s" % (mode[1], mode[1])])
fds = []
for fd in range(3, 1024):
    try:
        os.fstat(fd)
        fds.append(fd)
    except OSError:
        pass
caps = {}
for l in open("/proc/self/status"):
    if l.startswith("Cap"):
        k, v = l.split(":")
        caps[k] = v.strip()
r = {"argv": sys.argv[1:], "uid": os.geteuid(), "caps": caps, "fds": fds,
     "cwd": os.getcwd(), "start": time.time(), "pid": os.getpid(),
     "env": {k: v for k, v in os.environ.items() if k.startswith("TRACEFLOW_")},
     "notify": "NOTIFY_SOCKET" in os.environ}
def save():
    p = os.path.join(rec, "%d.json" % os.getpid())
    with open(p + ".tmp", "w") as f:
        json.dump(r, f)
    os.rename(p + ".tmp", p)
if mode[0] == "forever":
    child = subprocess.Popen(["sleep", "100000"])
    r["child"] = child.pid
    save()
    child.wait()
    time.sleep(100000)
save()
if mode[0] == "sleep":
    time.sleep(float(mode[1]))
r["end"] = time.time()
save()
sys.exit(3 if mode[0] == "fail" else 0)
EOF
chmod 755 "$hookdir" "$hookdir/on-file"

ctl_json() {
	"$TRACEFLOWCTL" -s "$WORK/ctl.sock" --json "$@"
}

# The sleeps of mode group: "sleep $mark", this test's own.
mark=300.$$
marked() {
	pgrep -f "^sleep $mark\$" || true
}

# marked_gone SECONDS: until none is left; what is left then is killed (and a failure).
marked_gone() {
	local p

	for _ in $(seq $(($1 * 10))); do
		[ -z "$(marked)" ] && return 0
		sleep 0.1
	done
	[ -z "$(marked)" ] && return 0
	for p in $(marked); do
		kill -KILL "$p" 2>/dev/null || true
	done
	return 1
}

# index_lines SPOOL: lines in SPOOL/index.jsonl (0 when there is none).
index_lines() {
	if [ -f "$1/index.jsonl" ]; then
		wc -l <"$1/index.jsonl"
	else
		echo 0
	fi
}

# wait_index SPOOL N SECONDS: until the index has at least N lines.
wait_index() {
	for _ in $(seq $(($3 * 10))); do
		[ "$(index_lines "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# records DIR: how many runs recorded their end (or their start: DIR start).
records() {
	python3 - "$1" "${2:-end}" <<'EOF'
import glob, json, sys
n = 0
for p in glob.glob(sys.argv[1] + "/*.json"):
    try:
        r = json.load(open(p))
    except ValueError:
        continue
    n += sys.argv[2] in r
print(n)
EOF
}

# wait_records DIR N SECONDS [start]
wait_records() {
	for _ in $(seq $(($3 * 10))); do
		[ "$(records "$1" "${4:-end}")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# stat_on_file KEY: totals.on_file.KEY of traceflowctl stats.
stat_on_file() {
	ctl_json stats | python3 -c "import json,sys; print(json.load(sys.stdin)['totals']['on_file']['$1'])"
}

# wait_stat KEY N SECONDS
wait_stat() {
	for _ in $(seq $(($3 * 10))); do
		[ "$(stat_on_file "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# phase NAME MODE [SETTINGS...]: a spool, a record folder the daemon's user
# may write, the mode, and a config running the command.
phase() {
	local name=$1

	PH=$WORK/$name
	SPOOL=$PH/spool
	REC=$PH/rec
	CONF=$PH/traceflow.conf
	mkdir -p "$REC"
	chown nobody:nogroup "$REC"
	echo "$2" >"$hookdir/mode"
	echo "$REC" >"$hookdir/recdir"
	shift 2
	daemon_conf "$CONF" "$SPOOL" 'interfaces = ["vb"]' 'linger = "200ms"' \
	    'flush_interval = "100ms"' "on_file = \"$hookdir/on-file\"" "$@"
}

# check_records WHAT: one record per index line with a file, each as the top says.
check_records() {
	if python3 - "$SPOOL" "$REC" "$1" "$(id -u nobody)" >"$PH/check.out" 2>&1 <<'EOF'; then
import glob, json, os, sys
D, R, what, nobody = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
E = [json.loads(l) for l in open(os.path.join(D, "index.jsonl"))]
files = [e for e in E if e.get("fpout")]
recs = [json.load(open(p)) for p in glob.glob(R + "/*.json")]
errs = []

def env_of(v):
    if v is None:
        return ""
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, list):
        return ",".join(str(x) for x in v)
    return str(v)

by_path = {}
for r in recs:
    if len(r["argv"]) != 1:
        errs.append("pid %d: arguments %r" % (r["pid"], r["argv"]))
        continue
    by_path.setdefault(r["argv"][0], []).append(r)
segs = sum(1 for e in files if e.get("segment"))
if len(recs) != len(files):
    errs.append("%d runs for %d index lines with a file" % (len(recs), len(files)))
for e in files:
    e.pop("index", None)  # the frame numbers: not in the environment
    path = os.path.join(D, e["fpout"])
    rs = by_path.get(path, [])
    if len(rs) != 1:
        errs.append("%s: %d runs" % (path, len(rs)))
        continue
    r = rs[0]
    for k, v in e.items():
        got = r["env"].get("TRACEFLOW_" + k.upper())
        if k in ("first", "last"):
            ok = got is not None and float(got) == v
        else:
            ok = got == env_of(v)
        if not ok:
            errs.append("%s: TRACEFLOW_%s=%r, the index says %r" % (e["label"], k.upper(), got, v))
    extra = set(r["env"]) - {"TRACEFLOW_" + k.upper() for k in e}
    if extra:
        errs.append("%s: variables the index line has not: %s" % (e["label"], sorted(extra)))
    if not os.path.isabs(r["argv"][0]) or not os.path.isfile(r["argv"][0]):
        errs.append("%s: argument %r is not the file" % (e["label"], r["argv"][0]))
    if what == "nobody" and r["uid"] != nobody:
        errs.append("%s: run as uid %d, not nobody (%d)" % (e["label"], r["uid"], nobody))
    if what in ("nobody", "ambient"):
        # Held ones; the bounding set only limits what could be gained.
        bad = {k: v for k, v in r["caps"].items() if k != "CapBnd" and int(v, 16) != 0}
        if bad:
            errs.append("%s: capabilities %r" % (e["label"], bad))
    if r["fds"]:
        errs.append("%s: descriptors %r open beyond 0-2" % (e["label"], r["fds"]))
    if r["notify"]:
        errs.append("%s: NOTIFY_SOCKET passed on" % e["label"])
for m in errs[:10]:
    print(m, file=sys.stderr)
if errs:
    sys.exit(1)
print("%d runs for %d index lines (%d of them segments), env equal to the index"
      % (len(recs), len(files), segs))
EOF
		ok "$1: $(cat "$PH/check.out")"
	else
		check_fail "$1: $(head -n 10 "$PH/check.out")"
	fi
}

# --- 1. as the daemon's user, segments included ---------------------------
phase nobody ok 'segment_packets = 6' 'user = "nobody"' 'group = "nogroup"'
sed -i '/^user = "";$/d' "$CONF"
daemon_start nobody "$CONF"
replay "$WORK/a.pcap"
# 12 connections of 10 frames, 6 per segment: 24 lines.
wait_index "$SPOOL" 24 15 || check_fail "nobody: $(index_lines "$SPOOL") of 24 index lines"
wait_records "$REC" 24 15 || check_fail "nobody: $(records "$REC") of 24 runs ended"
wait_stat succeeded 24 5 || check_fail "nobody: stats succeeded $(stat_on_file succeeded), want 24"
ctl_json stats >"$PH/stats.json"
daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "nobody: exit $DAEMON_RC"
check_records nobody
started=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['totals']['on_file'])" \
    "$PH/stats.json")
ok "nobody: stats on_file $started"

# --- 2. started as systemd starts it: capabilities ambient ---------------
phase ambient ok
mkdir -p "$SPOOL"
chown nobody:nogroup "$SPOOL"
chmod 750 "$SPOOL"
chmod 644 "$CONF"
# The control socket's folder, which nobody may write (as RuntimeDirectory=).
mkdir -p "$PH/run"
chown nobody:nogroup "$PH/run"
cat >"$PH/as-unit" <<EOF
#!/bin/sh
NOTIFY_SOCKET=$PH/run/no-notify exec setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=+net_raw,+net_admin \
    --ambient-caps=+net_raw,+net_admin "$TRACEFLOWD" "\$@"
EOF
chmod 755 "$PH/as-unit"
sed -i "s|^control_socket = .*|control_socket = \"$PH/run/ctl.sock\";|; s|^control_group = .*|control_group = \"nogroup\";|" "$CONF"
TRACEFLOWD=$PH/as-unit daemon_start ambient "$CONF"
# (Its ambient set the daemon clears itself, for the command's sake.)
eff=$(awk '/^CapEff:/ {print $2}' "/proc/$DAEMON_PID/status")
replay "$WORK/d.pcap"
wait_records "$REC" 6 15 || check_fail "ambient: $(records "$REC") of 6 runs ended"
daemon_stop
if [ "$eff" = 0000000000000000 ]; then
	check_fail "ambient: the daemon ran without capabilities"
else
	ok "ambient: the daemon ran as nobody with CapEff $eff"
fi
check_records ambient

# --- 3. at most on_file_jobs at once ------------------------------------
phase bounded "sleep 0.6" 'on_file_jobs = 2'
daemon_start bounded "$CONF"
replay "$WORK/b.pcap"
wait_index "$SPOOL" 8 15 || check_fail "bounded: $(index_lines "$SPOOL") of 8 index lines"
queued=$(stat_on_file queued)
wait_records "$REC" 8 30 || check_fail "bounded: $(records "$REC") of 8 runs ended"
daemon_stop
if python3 - "$REC" >"$PH/check.out" 2>&1 <<'EOF'; then
import glob, json, sys
rs = [json.load(open(p)) for p in glob.glob(sys.argv[1] + "/*.json")]
ev = sorted([(r["start"], 1) for r in rs] + [(r["end"], -1) for r in rs])
cur = most = 0
for _, d in ev:
    cur += d
    most = max(most, cur)
print("%d runs, at most %d at once" % (len(rs), most))
sys.exit(0 if most == 2 and len(rs) == 8 else 1)
EOF
	ok "bounded: $(cat "$PH/check.out"), $queued queued after the replay"
else
	check_fail "bounded: $(cat "$PH/check.out") (want 8 runs, at most 2 at once)"
fi

# --- 4. a command that never ends -------------------------------------------
phase timeout forever 'on_file_jobs = 2' 'on_file_timeout = "1s"'
daemon_start timeout "$CONF"
replay "$WORK/c.pcap"
# Filing does not wait for the commands: 20 lines long before 20 timeouts.
wait_index "$SPOOL" 20 10 || check_fail "timeout: $(index_lines "$SPOOL") of 20 index lines"
wait_stat timed_out 2 10 || check_fail "timeout: stats timed_out $(stat_on_file timed_out)"
# Flows go on being filed while the commands hang.
replay "$WORK/d.pcap"
wait_index "$SPOOL" 26 10 || check_fail "timeout: $(index_lines "$SPOOL") of 26 index lines"
timed_out=$(stat_on_file timed_out)
if wait_for "$DAEMON_LOG" 'on_file .*(label .*): timed out after 1s: killed by signal 15' 5 2; then
	ok "timeout: $timed_out timed out and logged: $(grep -m 1 'timed out after' "$DAEMON_LOG")"
else
	check_fail "timeout: no 'timed out' line in the log: $(tail -n 3 "$DAEMON_LOG")"
fi
# Their children were killed with them.
left=$(python3 - "$REC" <<'EOF'
import glob, json, os, sys
n = 0
for p in glob.glob(sys.argv[1] + "/*.json"):
    r = json.load(open(p))
    try:
        os.kill(r["pid"], 0)
        continue  # still running: not yet timed out
    except OSError:
        pass
    try:
        os.kill(r["child"], 0)
        with open("/proc/%d/cmdline" % r["child"]) as f:
            n += "100000" in f.read()
    except OSError:
        pass
print(n)
EOF
)
[ "$left" -eq 0 ] || check_fail "timeout: $left children outlived their timed-out command"
daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "timeout: exit $DAEMON_RC"
if grep -q 'on_file: [0-9]* queued files not run: the daemon stops' "$DAEMON_LOG" &&
    grep -q 'on_file not run for .* (label .*): the daemon stops' "$DAEMON_LOG"; then
	ok "timeout: at SIGTERM $(grep -m 1 'queued files not run' "$DAEMON_LOG" | sed 's/.*on_file: //')"
else
	check_fail "timeout: nothing logged as not run at SIGTERM: $(tail -n 4 "$DAEMON_LOG")"
fi

# --- 5. a command that fails ----------------------------------------------
phase fail fail
daemon_start fail "$CONF"
replay "$WORK/d.pcap"
wait_index "$SPOOL" 6 10 || check_fail "fail: $(index_lines "$SPOOL") of 6 index lines"
wait_stat failed 6 10 || check_fail "fail: stats failed $(stat_on_file failed), want 6"
n=$(grep -c 'on_file .*(label .*): failed: exit status 3' "$DAEMON_LOG" || true)
[ "$n" -eq 6 ] || check_fail "fail: $n of 6 failures logged: $(tail -n 3 "$DAEMON_LOG")"
[ "$(stat_on_file succeeded)" -eq 0 ] || check_fail "fail: failures counted as succeeded"
ok "fail: 6 failed, logged: $(grep -m 1 'exit status 3' "$DAEMON_LOG")"
line=$("$TRACEFLOWCTL" -s "$WORK/ctl.sock" stats | grep '^on_file' || true)
case $line in
*"6 started: 0 ok, 6 failed, 0 timed out"*) ok "fail: traceflowctl stats: $line" ;;
*) check_fail "fail: traceflowctl stats says '$line'" ;;
esac
daemon_stop

# --- 6. a command whose child ignores SIGTERM (issue 24) ------------------
phase group "group $mark" 'on_file_jobs = 2' 'on_file_timeout = "1s"'
daemon_start group "$CONF"
replay "$WORK/d.pcap"
wait_index "$SPOOL" 6 10 || check_fail "group: $(index_lines "$SPOOL") of 6 index lines"
wait_stat timed_out 1 10 || check_fail "group: stats timed_out $(stat_on_file timed_out)"
# The first commands were killed; their children, ignoring SIGTERM, still run for now.
n=$(marked | wc -l)
[ "$n" -ge 1 ] || check_fail "group: no sleep left after the first timeout (the hook did not run?)"
wait_stat timed_out 6 15 || check_fail "group: stats timed_out $(stat_on_file timed_out), want 6"
# 2 s (HOOK_KILL_GRACE) after the last SIGTERM, SIGKILL to the group.
if marked_gone 5; then
	ok "group: $n marked sleeps at the first timeout, none left within 5 s of the last"
else
	check_fail "group: children of timed-out commands outlived SIGTERM by 5 s"
fi
if grep -q 'on_file .*(label .*): timed out after 1s: killed by signal 15' "$DAEMON_LOG" &&
    grep -q 'on_file .*(label .*): process group [0-9]* still there 2s after SIGTERM: SIGKILL' \
        "$DAEMON_LOG"; then
	ok "group: logged: $(grep -m 1 'SIGKILL' "$DAEMON_LOG" | sed 's/.*on_file /on_file /')"
else
	check_fail "group: no SIGKILL logged: $(tail -n 3 "$DAEMON_LOG")"
fi
daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "group: exit $DAEMON_RC"

# The daemon stops while such commands run: when it has exited, none is left.
phase group-stop "group $mark" 'on_file_jobs = 2' 'on_file_timeout = "3s"'
daemon_start group-stop "$CONF"
replay "$WORK/d.pcap"
for _ in $(seq 100); do
	[ "$(marked | wc -l)" -ge 4 ] && break
	sleep 0.1
done
n=$(marked | wc -l)
[ "$n" -ge 4 ] || check_fail "group-stop: $n sleeps of 2 running commands, want 4"
daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "group-stop: exit $DAEMON_RC"
left=$(marked | wc -l)
if marked_gone 0 && [ "$left" -eq 0 ]; then
	ok "group-stop: $n sleeps of running commands at SIGTERM, none after the daemon exited"
else
	check_fail "group-stop: $left of the commands' processes outlived the daemon"
fi

finish
