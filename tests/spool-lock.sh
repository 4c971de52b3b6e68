#!/bin/bash
# spool-lock.sh: one writer per spool (issue 24, part 2). The spool, and an
# offline --output folder, is locked by the process that writes it; a
# second writer is refused at start, before any recovery or file work,
# with a message naming the holder's pid, and the holder is left alone.
#
# Cases: (1) a second daemon on a live daemon's spool (its own control
# socket) is refused naming the first's pid; the first's growing file in
# .active is untouched and its connection filed normally, once, not as
# recovered; (2) two offline --force runs into one --output at once: the
# second exits 1 at once naming the first's pid, and the output is what a
# lone run writes; (3) after kill -9 of the holder a new daemon starts (the
# kernel dropped the lock; the stale pid left in .lock does not block, nor
# does a live pid, 1, that holds no lock); (4) a detached daemon keeps the
# lock it took before detaching: a second one, detached or not, exits 1 on
# its own terminal naming the detached child's pid; (5) a symbolic link
# planted at .lock is refused, its target untouched, by the daemon (as
# root) and by an offline run.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck disable=SC2154 # failures: lib.sh's count of recorded failures

need_root
need_cmd tcpdump
need_cmd setpriv
need_cmd timeout
need_traceflowd
need_file "$GENCAP" gencap
getent passwd nobody >/dev/null || skip "no user nobody"
getent group nogroup >/dev/null || skip "no group nogroup"
NOBODY_UID=$(id -u nobody)
NOGROUP_GID=$(getent group nogroup | cut -d: -f3)

umask 022
chmod 0755 "$WORK"
setpriv --reuid="$NOBODY_UID" --regid="$NOGROUP_GID" --clear-groups test -x "$WORK" ||
    skip "user nobody cannot reach $WORK (a parent folder is not searchable)"

PORT=$((20000 + RANDOM % 9000))

# --- helpers ------------------------------------------------------------------

# mkconf NAME SPOOL PORT [SETTINGS...]: $WORK/NAME.conf, a daemon on lo that
# drops to nobody:nogroup and keeps only TCP port PORT, its control socket
# its own.
mkconf() {
	local name=$1 spool=$2 port=$3

	shift 3
	CONF=$WORK/$name.conf
	daemon_conf "$CONF" "$spool" 'interfaces = ["lo"]' "filter = \"tcp port $port\"" \
	    'linger = "0.5s"' "$@"
	sed -i 's/^user = "";/user = "nobody";\ngroup = "nogroup";/' "$CONF"
	sed -i "s|^control_socket = .*|control_socket = \"$WORK/$name.sock\";|" "$CONF"
}


# held PORT GO: in the background (HELD_PID), a TCP connection on
# 127.0.0.1:PORT that sends a request and its answer, then stays open
# until the file GO exists, then ends with FIN both ways.
held() {
	timeout 60 python3 - "$1" "$2" <<'PY' &
import os, socket, sys, time
port, go = int(sys.argv[1]), sys.argv[2]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(1)
cli = socket.create_connection(("127.0.0.1", port), timeout=5)
conn, _ = srv.accept()
cli.sendall(b"GET / HTTP/1.0\r\n\r\n")
got = b""
while not got.endswith(b"\r\n\r\n"):
    got += conn.recv(100)
conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 3000)
while not os.path.exists(go):
    time.sleep(0.05)
conn.sendall(b"bye\n")
conn.shutdown(socket.SHUT_WR)
while cli.recv(1000):
    pass
cli.close()
conn.close()
srv.close()
PY
	HELD_PID=$!
}

# active_file SPOOL: the one file growing in SPOOL/.active (10 s at most), or "".
active_file() {
	local f

	for _ in $(seq 100); do
		f=$(find "$1/.active" -maxdepth 1 -type f -name '*.pcap' 2>/dev/null | head -n 1)
		[ -n "$f" ] && {
			echo "$f"
			return 0
		}
		sleep 0.1
	done
	echo ""
}

# names_pid FILE PID: a line of FILE names PID (as a word) and says the
# folder is locked or in use.
names_pid() {
	grep -E "(^|[^0-9])$2([^0-9]|$)" "$1" | grep -qiE 'lock|in use'
}

# tree DIR: every file under DIR but the catalog's (a SQLite database, its
# own each run), with a checksum; index files with their lines sorted.
tree() {
	(
		cd "$1" || exit 1
		find . -path ./.catalog -prune -o -type f ! -name index.jsonl -print0 |
		    LC_ALL=C sort -z | xargs -0 -r sha256sum
		find . -path ./.catalog -prune -o -type f -name index.jsonl -print | LC_ALL=C sort |
		    while IFS= read -r f; do echo "$(LC_ALL=C sort "$f" | sha256sum) $f"; done
	)
}

# --- 1. a second daemon on a live daemon's spool --------------------------------

# Proves that a second daemon is refused before its recovery could touch the
# first's growing file, and that the first files its connection as usual.
case_1() {
	local spool=$WORK/s1/spool port=$((PORT + 1)) go=$WORK/go1 f before after a_pid rc=0

	mkdir -p "$WORK/s1"
	mkconf a1 "$spool" "$port"
	daemon_try_start a1 "$CONF" || {
		check_fail "(1): the first daemon did not start (exit ${DAEMON_RC:-?}): $(tail -n 3 "$DAEMON_LOG")"
		return 0
	}
	a_pid=$DAEMON_PID
	local a_log=$DAEMON_LOG
	held "$port" "$go"
	f=$(active_file "$spool")
	if [ -z "$f" ]; then
		check_fail "(1): no file grows in $spool/.active for the held connection"
		touch "$go"
		daemon_stop_within
		return 0
	fi
	before=$(stat -c '%i %s' "$f")
	# The second: the same spool, a socket and a port of its own.
	mkconf b1 "$spool" $((port + 100))
	daemon_try_start b1 "$CONF" || rc=$?
	if [ "$rc" -eq 0 ]; then
		check_fail "(1): a second daemon started on $spool while traceflowd $a_pid runs on it"
		daemon_stop_within
	elif [ "$rc" -eq 1 ]; then
		if [ "$DAEMON_RC" -eq 0 ] || ! names_pid "$DAEMON_LOG" "$a_pid"; then
			check_fail "(1): second daemon exit $DAEMON_RC, want non-zero and a message naming pid $a_pid: $(tail -n 3 "$DAEMON_LOG")"
		else
			ok "(1) second daemon refused (exit $DAEMON_RC): $(grep -E "$a_pid" "$DAEMON_LOG" | head -n 1)"
		fi
		grep -q 'recover' "$DAEMON_LOG" &&
		    check_fail "(1): the refused daemon recovered: $(grep recover "$DAEMON_LOG" | head -n 2)"
	fi
	DAEMON_PID=$a_pid
	DAEMON_LOG=$a_log
	after=$(stat -c '%i %s' "$f" 2>&1 || true)
	if [ "${after%% *}" != "${before%% *}" ] || [ "${after##* }" -lt "${before##* }" ]; then
		check_fail "(1): the first daemon's growing file $f changed: '$before' -> '$after'"
	fi
	[ ! -e "$spool/index.jsonl" ] || [ ! -s "$spool/index.jsonl" ] ||
	    check_fail "(1): index lines appeared while only a held connection ran: $(head -n 2 "$spool/index.jsonl")"
	# The connection ends; the first daemon files it as any other.
	touch "$go"
	wait "$HELD_PID" || check_fail "(1): the held connection failed"
	wait_for "$spool/index.jsonl" "\"dstport\":$port" 10 ||
	    check_fail "(1): the first daemon did not file the connection: $(tail -n 3 "$DAEMON_LOG")"
	kill -0 "$a_pid" 2>/dev/null || check_fail "(1): the first daemon died"
	daemon_stop_within
	[ "$DAEMON_RC" -eq 0 ] || check_fail "(1): the first daemon exited $DAEMON_RC"
	grep -qiE 'no such file|rename' "$a_log" &&
	    check_fail "(1): the first daemon logged: $(grep -iE 'no such file|rename' "$a_log" | head -n 2)"
	index_py "$spool" "
lines = [e for e in E if e.get('dstport') == $port]
if len(E) != 1 or len(lines) != 1:
    sys.exit('want one index line, for port $port; got %d: %s' % (len(E), E))
e = lines[0]
if e.get('recovered') is not False or e.get('reason') == 'recovered' or not e.get('fpout'):
    sys.exit('the connection was not filed normally: %s' % json.dumps(e))
if not os.path.isfile(os.path.join(D, e['fpout'])):
    sys.exit('its file %s is missing' % e['fpout'])
print(e['fpout'], e['packets'])
" >/dev/null || return 0
	local fpout packets n
	read -r fpout packets <"$spool.py.out"
	n=$(tcpdump -r "$spool/$fpout" 2>/dev/null | wc -l)
	if [ "$n" -ne "$packets" ]; then
		check_fail "(1): $fpout holds $n packets, its index line says $packets"
	else
		ok "(1) the first daemon's file untouched while held, then filed once: $fpout, $packets packets"
	fi
	return 0
}

# --- 2. two offline runs into one folder ------------------------------------------

# Proves that a second offline run into a folder another run is writing
# exits at once (1, naming the first's pid) and that the folder then holds
# what a lone run writes: nothing lost, nothing added.
case_2() {
	local out=$WORK/o2/out lone=$WORK/o2/lone go=$WORK/go2 a_pid a_rc=0 half

	mkdir -p "$WORK/o2"
	"$GENCAP" -c 2000 -S 11 -o "$WORK/o2/cap.pcap" 2>/dev/null || fail "gencap -c 2000 failed"
	tf lone --read "$WORK/o2/cap.pcap" --output "$lone" --quiet
	[ "$TF_RC" -eq 0 ] || fail "(2) the lone run exited $TF_RC: $(head -c 400 "$TF_ERR")"
	# The first run reads a pipe that pauses halfway (2 MB in: past the
	# megabyte capfile.c reads a pipe by) until go exists: it holds the
	# folder for as long as the second needs.
	half=$(($(stat -c %s "$WORK/o2/cap.pcap") / 2))
	{
		head -c "$half" "$WORK/o2/cap.pcap"
		for _ in $(seq 600); do
			[ -e "$go" ] && break
			sleep 0.05
		done
		tail -c +$((half + 1)) "$WORK/o2/cap.pcap"
	} | "$TRACEFLOWD" --read - --output "$out" --force --quiet \
	    >"$WORK/o2/a.out" 2>"$WORK/o2/a.err" &
	a_pid=$!
	for _ in $(seq 100); do
		[ -d "$out/.active" ] && break
		sleep 0.1
	done
	[ -d "$out/.active" ] || check_fail "(2) the first run made no $out/.active in 10 s"
	# The second: at once (the first holds the folder for 30 s), and refused.
	TF_OUT=$WORK/b.out TF_ERR=$WORK/b.err TF_RC=0
	timeout 10 "$TRACEFLOWD" --read "$WORK/o2/cap.pcap" --output "$out" --force --quiet \
	    >"$TF_OUT" 2>"$TF_ERR" </dev/null || TF_RC=$?
	if [ "$TF_RC" -eq 0 ]; then
		check_fail "(2) a second run into $out exited 0 while traceflowd $a_pid writes it"
	elif [ "$TF_RC" -eq 124 ]; then
		check_fail "(2) the second run did not exit at once"
	elif ! names_pid "$TF_ERR" "$a_pid"; then
		check_fail "(2) the second run exited $TF_RC without naming pid $a_pid: $(head -c 400 "$TF_ERR")"
	elif [ -s "$TF_OUT" ]; then
		check_fail "(2) the refused run printed a summary: $(head -n 3 "$TF_OUT")"
	else
		ok "(2) second offline run refused (exit $TF_RC): $(head -n 1 "$TF_ERR")"
	fi
	touch "$go"
	wait "$a_pid" || a_rc=$?
	[ "$a_rc" -eq 0 ] ||
	    check_fail "(2) the first run exited $a_rc: $(head -c 400 "$WORK/o2/a.err")"
	if [ -e "$out/.lock" ]; then
		check_fail "(2) $out/.lock left after a complete run"
	fi
	if ! diff <(tree "$lone") <(tree "$out") >"$WORK/o2/diff"; then
		check_fail "(2) the output differs from a lone run's: $(grep -c '^[<>]' "$WORK/o2/diff") lines; $(head -n 4 "$WORK/o2/diff")"
	else
		ok "(2) the output is a lone run's: $(find "$out" -name '*.pcap' | wc -l) files, $(wc -l <"$out/index.jsonl") index lines"
	fi
	# A .lock a killed run left (a stale pid) does not stop the next run.
	rm -rf "$out"
	mkdir -p "$out"
	echo 1 >"$out/.lock"
	tf stale --read "$WORK/o2/cap.pcap" --output "$out" --quiet
	if [ "$TF_RC" -ne 0 ]; then
		check_fail "(2) a stale .lock (pid 1) in an otherwise empty folder: exit $TF_RC: $(head -c 400 "$TF_ERR")"
	elif ! diff <(tree "$lone") <(tree "$out") >/dev/null; then
		check_fail "(2) over a stale .lock the output differs from a lone run's"
	else
		ok "(2) a stale .lock (pid 1, alive, no lock held) neither blocks a run nor counts as content"
	fi
	return 0
}

# --- 3. kill -9 of the holder ------------------------------------------------------

# Proves that the lock goes with the process: after kill -9 a new daemon
# starts on the spool (recovering what the killed one left) and names
# itself in .lock; a stale pid (even one alive) does not block.
case_3() {
	local spool=$WORK/s3/spool port=$((PORT + 3)) go=$WORK/go3 rc=0 c_pid

	mkdir -p "$WORK/s3"
	mkconf a3 "$spool" "$port"
	daemon_try_start a3 "$CONF" || {
		check_fail "(3): the first daemon did not start: $(tail -n 3 "$DAEMON_LOG")"
		return 0
	}
	held "$port" "$go"
	[ -n "$(active_file "$spool")" ] || check_fail "(3): no file grows in .active"
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null || true
	DAEMON_PID=
	touch "$go"
	wait "$HELD_PID" || true
	daemon_try_start c3 "$CONF" || rc=$?
	if [ "$rc" -ne 0 ]; then
		check_fail "(3): after kill -9 of the holder a new daemon did not start (exit ${DAEMON_RC:-?}): $(tail -n 3 "$DAEMON_LOG")"
		return 0
	fi
	c_pid=$DAEMON_PID
	if ! grep -qx "$c_pid" "$spool/.lock" 2>/dev/null; then
		check_fail "(3): $spool/.lock holds '$(cat "$spool/.lock" 2>&1)', want $c_pid"
	elif ! grep -q 'recovered 1 files' "$DAEMON_LOG"; then
		check_fail "(3): the new daemon did not recover the killed one's file: $(tail -n 3 "$DAEMON_LOG")"
	else
		ok "(3) after kill -9 a new daemon started, recovered the file left, and holds .lock ($c_pid)"
	fi
	daemon_stop_within
	# A pid that is alive (1) but holds no lock: no obstacle either.
	echo 1 >"$spool/.lock"
	rc=0
	daemon_try_start c3b "$CONF" || rc=$?
	if [ "$rc" -ne 0 ]; then
		check_fail "(3): a stale .lock naming pid 1 blocked the start: $(tail -n 3 "$DAEMON_LOG")"
	else
		ok "(3) a stale .lock naming a live pid (1) that holds no lock does not block"
		daemon_stop_within
	fi
	return 0
}

# --- 4. a detached daemon ----------------------------------------------------------

# nosd NAME ARGS...: as tf, not under systemd; a daemon that should have
# refused but runs in the foreground is ended by timeout (status 124).
nosd() {
	local name=$1

	shift
	TF_OUT=$WORK/$name.out
	TF_ERR=$WORK/$name.err
	TF_RC=0
	timeout 10 env -u NOTIFY_SOCKET -u INVOCATION_ID -u JOURNAL_STREAM "$TRACEFLOWD" "$@" \
	    >"$TF_OUT" 2>"$TF_ERR" </dev/null || TF_RC=$?
}

# Proves that the lock taken before detaching stays with the detached
# child, and that a second daemon says why it refuses where it was started.
case_4() {
	local spool=$WORK/s4/spool pidf=$WORK/s4/d.pid pid

	mkdir -p "$WORK/s4"
	mkconf a4 "$spool" $((PORT + 4)) "pid_file = \"$pidf\""
	nosd detach -c "$CONF"
	[ "$TF_RC" -eq 0 ] || {
		check_fail "(4) detached start: exit $TF_RC: $(cat "$TF_ERR")"
		return 0
	}
	for _ in $(seq 100); do
		grep -qsx '[0-9][0-9]*' "$pidf" && break
		sleep 0.1
	done
	pid=$(cat "$pidf" 2>/dev/null || true)
	[ -n "$pid" ] || {
		check_fail "(4) the detached daemon wrote no pid file"
		return 0
	}
	DAEMON_PID=$pid # the exit trap kills it if the test stops halfway
	mkconf b4 "$spool" $((PORT + 104)) "pid_file = \"$WORK/s4/b.pid\""
	nosd second -c "$CONF"
	if [ "$TF_RC" -eq 0 ] || ! names_pid "$TF_ERR" "$pid"; then
		check_fail "(4) a second, detaching daemon: exit $TF_RC, want non-zero and pid $pid named on its stderr: $(cat "$TF_ERR")"
		# Started detached after all: ended here, not left running.
		sleep 1
		[ -s "$WORK/s4/b.pid" ] && kill -TERM "$(cat "$WORK/s4/b.pid")" 2>/dev/null
		sleep 1
	else
		ok "(4) a second daemon, detaching, exit $TF_RC on its terminal: $(head -n 1 "$TF_ERR")"
	fi
	nosd second-f -f -c "$CONF"
	if [ "$TF_RC" -eq 0 ] || [ "$TF_RC" -eq 124 ] || ! names_pid "$TF_ERR" "$pid"; then
		check_fail "(4) a second daemon in the foreground: exit $TF_RC, want non-zero naming $pid: $(cat "$TF_ERR")"
	fi
	grep -qx "$pid" "$spool/.lock" 2>/dev/null ||
	    check_fail "(4) $spool/.lock holds '$(cat "$spool/.lock" 2>&1)', want the detached child's pid $pid"
	kill -TERM "$pid"
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && check_fail "(4) the detached daemon did not stop"
	DAEMON_PID=
	return 0
}

# --- 5. a link planted at .lock ------------------------------------------------------

# Proves that .lock is never followed, by the daemon while root nor by an
# offline run: refused, naming it, the link's target as it was.
case_5() {
	local spool=$WORK/s5/spool out=$WORK/s5/out canary=$WORK/s5/canary before rc=0

	mkdir -p "$spool/.active" "$out"
	chown nobody:nogroup "$spool" "$spool/.active"
	chmod 0750 "$spool" "$spool/.active"
	printf 'root:secret:24\n' >"$canary"
	chmod 0600 "$canary"
	before=$(stat -c '%u %g %a %s %Y' "$canary")
	ln -s "$canary" "$spool/.lock"
	ln -s "$canary" "$out/.lock"
	mkconf a5 "$spool" $((PORT + 5))
	daemon_try_start a5 "$CONF" || rc=$?
	if [ "$rc" -eq 0 ]; then
		check_fail "(5) the daemon started with .lock a symbolic link"
		daemon_stop_within
	elif [ "$rc" -eq 1 ] && { [ "$DAEMON_RC" -eq 0 ] || ! grep -q '\.lock.*symbolic link' "$DAEMON_LOG"; }; then
		check_fail "(5) exit $DAEMON_RC without naming .lock as a symbolic link: $(tail -n 3 "$DAEMON_LOG")"
	elif [ "$rc" -eq 1 ]; then
		ok "(5) daemon: .lock a symbolic link refused (exit $DAEMON_RC): $(grep '\.lock' "$DAEMON_LOG" | head -n 1)"
	fi
	tf o5 --read "$WORK/o2/cap.pcap" --output "$out" --force --quiet
	if [ "$TF_RC" -eq 0 ] || ! grep -q '\.lock.*symbolic link' "$TF_ERR"; then
		check_fail "(5) offline: exit $TF_RC with .lock a symbolic link: $(head -c 400 "$TF_ERR")"
	else
		ok "(5) offline: .lock a symbolic link refused (exit $TF_RC)"
	fi
	[ "$(stat -c '%u %g %a %s %Y' "$canary")" = "$before" ] && [ "$(cat "$canary")" = 'root:secret:24' ] ||
	    check_fail "(5) the link's target changed: $(stat -c '%u %g %a %s' "$canary"): $(cat "$canary")"
	return 0
}

case_1
case_2
case_3
case_4
case_5
finish
