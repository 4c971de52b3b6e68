#!/bin/bash
# pid-file.sh: pid_file, for init scripts, as one would use it.
#  - A daemon started without systemd, detached, writes its own pid (the
#    detached child's, once it is ready) into pid_file, mode 0644, over a
#    stale file a crash left behind.
#  - A second daemon on the same pid_file refuses to start: exit 1, naming
#    the pid of the one that runs, which runs on undisturbed.
#  - A symbolic link planted at pid_file is refused, its target untouched.
#  - SIGTERM: the daemon finishes and removes the file.
#  - Under systemd (NOTIFY_SOCKET set) no pid file is written.
. "$(dirname "$0")/lib.sh"

need_traceflowd
need_root

pidf=$WORK/run/traceflowd.pid
mkdir -p "$WORK/run"
# nosd NAME ARGS...: as tf, not under systemd whatever runs the suite. A
# daemon that should have refused but runs (in the foreground) is ended by
# timeout, and the check fails on its exit status (124).
nosd() {
	local name=$1

	shift
	TF_OUT=$WORK/$name.out
	TF_ERR=$WORK/$name.err
	TF_RC=0
	timeout 10 env -u NOTIFY_SOCKET -u INVOCATION_ID -u JOURNAL_STREAM "$TRACEFLOWD" "$@" \
	    >"$TF_OUT" 2>"$TF_ERR" </dev/null || TF_RC=$?
}

# conf NAME PIDFILE: a config on lo that captures nothing, with its own socket.
conf() {
	daemon_conf "$WORK/$1.conf" "$WORK/spool-$1" 'interfaces = ["lo"]' \
	    'filter = "tcp port 9"' "pid_file = \"$2\""
	sed -i "s|ctl.sock|$1.sock|" "$WORK/$1.conf"
}

# gone PID: true once PID has exited (10 s at most).
gone() {
	for _ in $(seq 100); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# 1. Detached, over a stale file (a pid nobody holds the lock of).
conf a "$pidf"
echo 999999 >"$pidf"
nosd detach -c "$WORK/a.conf"
[ "$TF_RC" -eq 0 ] || fail "detached start: exit $TF_RC: $(cat "$TF_ERR")"
# The detached child writes it once the parent has returned.
for _ in $(seq 100); do
	grep -qx '[0-9][0-9]*' "$pidf" && [ "$(cat "$pidf")" != 999999 ] && break
	sleep 0.1
done
grep -qx '[0-9][0-9]*' "$pidf" && [ "$(cat "$pidf")" != 999999 ] ||
    fail "no new pid in $pidf within 10 s: $(cat "$pidf" 2>&1)"
pid=$(cat "$pidf")
DAEMON_PID=$pid # the exit trap kills it if the test stops halfway
if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != traceflowd ]; then
	check_fail "pid_file names $pid, which is not traceflowd ($(cat "/proc/$pid/comm" 2>&1))"
elif [ "$(stat -c %a "$pidf")" != 644 ] || [ "$(wc -l <"$pidf")" -ne 1 ]; then
	check_fail "pid_file: mode $(stat -c %a "$pidf"), $(wc -l <"$pidf") lines"
else
	ok "detached: pid_file holds $pid (traceflowd), mode 0644, the stale pid replaced"
fi
for _ in $(seq 50); do [ -S "$WORK/a.sock" ] && break; sleep 0.1; done
[ -S "$WORK/a.sock" ] || check_fail "the detached daemon has no control socket"

# 2. A second daemon on the same pid_file: refused, the first untouched.
# In the foreground: it refuses before it would detach, as it does detached.
conf b "$pidf"
nosd second -f -c "$WORK/b.conf"
if [ "$TF_RC" -ne 1 ] || ! grep -q "pid_file $pidf is locked by traceflowd $pid" "$TF_ERR"; then
	check_fail "second daemon: exit $TF_RC, want 1 and the pid $pid named: $(cat "$TF_ERR")"
elif [ "$(cat "$pidf")" != "$pid" ] || ! kill -0 "$pid" || [ -e "$WORK/b.sock" ]; then
	check_fail "second daemon: the first's pid file or process was disturbed"
else
	ok "second daemon: exit 1, \"$(head -n 1 "$TF_ERR")\""
fi

# 3. A planted link is refused and its target stays as it was.
echo precious >"$WORK/target"
ln -s "$WORK/target" "$WORK/run/link.pid"
conf c "$WORK/run/link.pid"
nosd link -f -c "$WORK/c.conf"
if [ "$TF_RC" -ne 1 ] || ! grep -q "is a symbolic link" "$TF_ERR" ||
    [ "$(cat "$WORK/target")" != precious ]; then
	check_fail "planted link: exit $TF_RC, target \"$(cat "$WORK/target")\": $(cat "$TF_ERR")"
else
	ok "planted link refused: $(head -n 1 "$TF_ERR")"
fi

# 4. SIGTERM: the file goes with the daemon.
kill -TERM "$pid"
gone "$pid" || fail "SIGTERM: traceflowd $pid still runs 10 s later"
DAEMON_PID=
if [ -e "$pidf" ]; then
	check_fail "SIGTERM: $pidf is still there: $(cat "$pidf")"
else
	ok "SIGTERM: the daemon exited and removed its pid file"
fi

# 5. Under systemd: no pid file.
conf d "$WORK/run/sd.pid"
export NOTIFY_SOCKET=$WORK/no-listener
daemon_start sd "$WORK/d.conf"
unset NOTIFY_SOCKET
if [ -e "$WORK/run/sd.pid" ] || ! grep -q "pid_file .* not written: started by systemd" "$DAEMON_LOG"; then
	check_fail "under systemd: $(ls "$WORK/run"), $(grep pid_file "$DAEMON_LOG")"
else
	ok "under systemd (NOTIFY_SOCKET): no pid file, and the log says so"
fi
daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "under systemd: exit $DAEMON_RC"

finish
