# shellcheck shell=bash
#
# lib.sh: helpers shared by the integration tests (offline-*.sh). Sourced,
# never run. Automake's harness exports top_builddir and top_srcdir; run by
# hand, both default to the repository root.
#
# Exit codes follow automake: 0 pass, 1 fail, 77 skip. A test's work dir,
# tests/work/<name>, is wiped when the test starts and removed when it
# passes, kept for inspection when it fails (or always with KEEP_WORK=1).

set -eu

tests_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=${top_srcdir:-$(dirname "$tests_dir")}
top_builddir=${top_builddir:-$top_srcdir}
export top_srcdir top_builddir

TRACEFLOWD=${TRACEFLOWD:-$top_builddir/traceflowd}
PCAPCMP=${PCAPCMP:-$top_builddir/tests/pcapcmp}
GENCAP=${GENCAP:-$top_builddir/tests/gencap}
JUDGE=$top_srcdir/tests/judge.py
TSHARKCMP=$top_srcdir/tests/tsharkcmp.py

# The shared corpus of real-world captures, when this checkout has one.
# SHARED_PCAPS=none runs a test as a checkout without it would (what the
# generated captures alone prove).
if [ "${SHARED_PCAPS:-}" = none ]; then
	SHARED_PCAPS=
elif [ -z "${SHARED_PCAPS:-}" ] && [ -d "$top_srcdir/../shared/pcaps" ]; then
	SHARED_PCAPS=$(cd "$top_srcdir/../shared/pcaps" && pwd)
fi
SHARED_PCAPS=${SHARED_PCAPS:-}

test_name=$(basename "$0" .sh)
WORK=$top_builddir/tests/work/$test_name
# The daemon refuses a spool under a folder another user owns or may write
# to (spool.h); a checkout in such a place keeps its work under /tmp.
safe_parents() {
	local d u a m

	d=$(cd "$1" && pwd -P)
	while :; do
		read -r u a <<<"$(stat -c '%u %a' "$d")"
		m=$((8#$a))
		[ "$u" -eq 0 ] && { [ $((m & 8#1000)) -ne 0 ] || [ $((m & 8#022)) -eq 0 ]; } ||
		    return 1
		[ "$d" = / ] && return 0
		d=$(dirname "$d")
	done
}
if ! safe_parents "$top_builddir"; then
	WORK=/tmp/traceflow-tests/$test_name
	mkdir -p /tmp/traceflow-tests && chmod 755 /tmp/traceflow-tests
fi
rm -rf "$WORK"
mkdir -p "$WORK"

failures=0

# On exit: drop the work dir of a passing test, point at it otherwise.
lib_exit() {
	local rc=$?

	# No daemon or namespace outlives its test.
	daemon_kill
	if [ -n "${NS:-}" ]; then
		ip netns del "$NS" 2>/dev/null || true
	fi
	if [ "$rc" -eq 0 ] && [ -z "${KEEP_WORK:-}" ]; then
		rm -rf "$WORK"
	elif [ "$rc" -ne 77 ]; then
		echo "$test_name: work files kept in $WORK" >&2
	fi
	exit "$rc"
}
trap lib_exit EXIT

# skip REASON: the test cannot run here.
skip() {
	echo "SKIP: $test_name: $*"
	exit 77
}

# fail MSG: stop now, the test failed.
fail() {
	echo "FAIL: $test_name: $*" >&2
	exit 1
}

# check_fail MSG: record a failure and go on checking; finish reports it.
check_fail() {
	failures=$((failures + 1))
	echo "FAIL: $*" >&2
}

# ok MSG: progress line on stdout (kept in the .log by the harness).
ok() {
	echo "ok: $*"
}

# finish: the test's verdict from the failures recorded so far.
finish() {
	if [ "$failures" -ne 0 ]; then
		fail "$failures check(s) failed"
	fi
	echo "PASS: $test_name"
	exit 0
}

need_cmd() {
	command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"
}

need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

# need_file PATH WHAT: a built program the test cannot do without.
need_file() {
	[ -x "$1" ] || fail "$2 not found at $1 (run make, or make check)"
}

need_traceflowd() {
	need_file "$TRACEFLOWD" traceflowd
	need_file "$PCAPCMP" pcapcmp
	need_cmd python3
}

# tf NAME ARGS...: run traceflowd ARGS with stdout and stderr in
# $WORK/NAME.out and $WORK/NAME.err; its exit status lands in TF_RC.
tf() {
	local name=$1

	shift
	TF_OUT=$WORK/$name.out
	TF_ERR=$WORK/$name.err
	TF_RC=0
	"$TRACEFLOWD" "$@" >"$TF_OUT" 2>"$TF_ERR" </dev/null || TF_RC=$?
}

# tf_ok NAME ARGS...: as tf, and record a failure unless it exits 0.
# Returns non-zero when it did not, so callers can skip what follows.
tf_ok() {
	tf "$@"
	if [ "$TF_RC" -ne 0 ]; then
		check_fail "$1: traceflowd exited $TF_RC: $(head -c 600 "$TF_ERR")"
		return 1
	fi
}

# pcapcmp_ok INPUT OUTDIR [PCAPCMP OPTIONS...]: the byte-level judge; its
# frame list goes to OUTDIR.cmp. Records a failure and returns 1 on mismatch.
pcapcmp_ok() {
	local in=$1 out=$2

	shift 2
	if ! "$PCAPCMP" "$@" "$in" "$out" >"$out.cmp" 2>"$out.cmp.err"; then
		check_fail "pcapcmp $in $out: $(head -n 12 "$out.cmp.err")"
		return 1
	fi
	if [ -s "$out.cmp.err" ]; then
		sed 's/^/  /' "$out.cmp.err"
	fi
}

# tsharkcmp_ok INPUT OUTDIR [--truncated]: pcapcmp's check through tshark,
# for inputs libpcap cannot read (pcapng with interfaces of several link
# types); its frame list goes to OUTDIR.cmp as pcapcmp's does.
tsharkcmp_ok() {
	if ! python3 "$TSHARKCMP" ${3:+"$3"} "$1" "$2" >"$2.cmp" 2>"$2.cmp.err"; then
		check_fail "tsharkcmp $1 $2: $(head -n 12 "$2.cmp.err")"
		return 1
	fi
}

# judge_ok INPUT OUTDIR [JUDGE OPTIONS...]: the flow-level judge over
# OUTDIR.cmp. Sets JUDGE_LINE to its summary line. Records a failure and
# returns 1 when the partitions differ.
judge_ok() {
	local in=$1 out=$2 rc=0

	shift 2
	python3 "$JUDGE" "$@" "$in" "$out" "$out.cmp" >"$out.judge" 2>&1 || rc=$?
	JUDGE_LINE=$(grep '^judge:' "$out.judge" | tail -n 1 || true)
	if [ "$rc" -ne 0 ]; then
		check_fail "judge $in $out: $(grep -v '^NOTE' "$out.judge" | head -n 12)"
		return 1
	fi
	grep '^NOTE' "$out.judge" | head -n 5 | sed 's/^/  /' || true
}

# judge_field KEY: a KEY=N value of the last judge summary line.
judge_field() {
	printf '%s\n' "$JUDGE_LINE" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# summary_tcp FILE: the TCP frame count of a traceflowd summary: the first
# number on the first line that speaks of TCP frames or packets.
summary_tcp() {
	grep -iE 'tcp[ _-]*(frames|packets)' "$1" | head -n 1 | grep -oE '[0-9]+' | head -n 1 ||
	    true
}

# tshark_tcp INPUT: the frame numbers tshark calls TCP (the judge's filter).
tshark_tcp() {
	tshark -r "$1" -n -o ip.defragment:FALSE -Y 'tcp && !icmp && !icmpv6' \
	    -T fields -e frame.number 2>/dev/null || true
}

# pcap_precision FILE: "ns" or "us" for a pcap file, "" for anything else.
pcap_precision() {
	case $(od -An -tx1 -N4 "$1" | tr -d ' \n') in
	a1b23c4d | 4d3cb2a1) echo ns ;;
	a1b2c3d4 | d4c3b2a1 | a1b2cd34 | 34cdb2a1) echo us ;;
	*) echo "" ;;
	esac
}

# index_py OUTDIR PYTHON: run PYTHON with E bound to the index entries (a
# list of dicts) and D to OUTDIR; a non-zero exit (or an exception) records
# a failure whose message is the script's stderr.
index_py() {
	local out=$1 script=$2

	if ! python3 - "$out" >"$out.py.out" 2>&1 <<EOF; then
import json, os, re, sys
D = sys.argv[1]
E = [json.loads(l) for l in open(os.path.join(D, 'index.jsonl'))]
$script
EOF
		check_fail "$out: $(tail -n 5 "$out.py.out")"
		return 1
	fi
	cat "$out.py.out"
}

# --- the live daemon -------------------------------------------------------

# netns_setup: a network namespace $NS with a veth pair, va (the sender's
# end) and vb (the capturing end), both up; removed when the test exits.
netns_setup() {
	need_root
	need_cmd ip
	NS=tf-$$-$RANDOM
	ip netns add "$NS" || skip "cannot create a network namespace"
	ip -n "$NS" link add va type veth peer name vb
	ip -n "$NS" link set va up
	ip -n "$NS" link set vb up
	ip -n "$NS" link set lo up
	# No IPv6 router solicitations or DAD chatter on the pair.
	ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || true
}

# in_ns CMD...: run CMD inside the test's namespace.
in_ns() {
	ip netns exec "$NS" "$@"
}

# replay CAPTURE: tcpreplay it at top speed into va (the test stops if it fails).
replay() {
	in_ns tcpreplay -q --topspeed -i va "$1" >>"$WORK/replay.log" 2>&1 ||
	    fail "tcpreplay $1: $(tail -n 2 "$WORK/replay.log")"
}

# wait_for FILE PATTERN SECONDS [COUNT]: until COUNT lines (1) match.
wait_for() {
	for _ in $(seq $(($3 * 10))); do
		[ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "${4:-1}" ] && return 0
		sleep 0.1
	done
	return 1
}

# notify_listen SOCK LOG LAST: play systemd's end of NOTIFY_SOCKET in the
# background (listener is its pid): each datagram a line of LOG, until one
# holds LAST (or a minute passes).
notify_listen() {
	rm -f "$1"
	python3 - "$1" "$2" "$3" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        msg = s.recv(4096).decode()
        log.write(msg.replace("\n", " ") + "\n")
        if sys.argv[3] in msg:
            break
PY
	listener=$!
	for _ in $(seq 50); do [ -S "$1" ] && break; sleep 0.1; done
}

# daemon_start NAME CONF [ARGS...]: traceflowd -f -c CONF in the background
# (inside $NS when set), its log in $WORK/NAME.log; waits until it says it
# started. DAEMON_PID is its pid.
daemon_start() {
	local name=$1 conf=$2 i

	shift 2
	DAEMON_LOG=$WORK/$name.log
	if [ -n "${NS:-}" ]; then
		ip netns exec "$NS" "$TRACEFLOWD" -f -c "$conf" "$@" >"$DAEMON_LOG" 2>&1 &
	else
		"$TRACEFLOWD" -f -c "$conf" "$@" >"$DAEMON_LOG" 2>&1 &
	fi
	DAEMON_PID=$!
	for i in $(seq 100); do
		grep -qs 'started:' "$DAEMON_LOG" && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "$name: traceflowd did not start: $(tail -n 5 "$DAEMON_LOG")"
}

# daemon_stop: SIGTERM and wait; DAEMON_RC is its exit status.
daemon_stop() {
	DAEMON_RC=0
	[ -n "${DAEMON_PID:-}" ] || return 0
	kill -TERM "$DAEMON_PID" 2>/dev/null || true
	wait "$DAEMON_PID" || DAEMON_RC=$?
	DAEMON_PID=
}

# daemon_try_start NAME CONF: the daemon in the foreground, not under systemd: 0
# when it said "started:" (DAEMON_PID set), 1 when it exited first
# (DAEMON_RC its status, DAEMON_LOG its log), 2 when it did neither within
# 10 s (recorded as a failure, the daemon killed).
daemon_try_start() {
	DAEMON_LOG=$WORK/$1.log
	DAEMON_RC=
	env -u NOTIFY_SOCKET "$TRACEFLOWD" -f -c "$2" >"$DAEMON_LOG" 2>&1 </dev/null &
	DAEMON_PID=$!
	for _ in $(seq 100); do
		grep -qs 'started:' "$DAEMON_LOG" && return 0
		if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			DAEMON_RC=0
			wait "$DAEMON_PID" || DAEMON_RC=$?
			DAEMON_PID=
			return 1
		fi
		sleep 0.1
	done
	check_fail "$1: traceflowd neither started nor exited in 10 s: $(tail -n 3 "$DAEMON_LOG")"
	daemon_kill
	DAEMON_PID=
	return 2
}

# daemon_stop_within: SIGTERM, wait at most 10 s (then SIGKILL, a failure); DAEMON_RC is its exit status.
daemon_stop_within() {
	DAEMON_RC=0
	[ -n "${DAEMON_PID:-}" ] || return 0
	kill -TERM "$DAEMON_PID" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$DAEMON_PID" 2>/dev/null; then
		check_fail "traceflowd did not stop within 10 s of SIGTERM: $(tail -n 3 "$DAEMON_LOG")"
		daemon_kill
	fi
	wait "$DAEMON_PID" 2>/dev/null || DAEMON_RC=$?
	DAEMON_PID=
}

# daemon_kill: for the exit trap.
daemon_kill() {
	if [ -n "${DAEMON_PID:-}" ]; then
		kill -KILL "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
	fi
}

# daemon_conf FILE SPOOL [SETTINGS...]: a config for tests: the spool, no
# change of user, a socket in the work dir, plus one setting per argument.
daemon_conf() {
	local file=$1 spool=$2 s

	shift 2
	{
		echo "spool_dir = \"$spool\";"
		echo "user = \"\";"
		echo "control_socket = \"$WORK/ctl.sock\";"
		echo "control_group = \"root\";"
		for s in "$@"; do echo "$s;"; done
	} >"$file"
}
