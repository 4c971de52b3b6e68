#!/bin/bash
# reload-unit.sh: `systemctl reload traceflowd` as the unit runs it. The
# command is the unit's own ExecReload= line (traceflowd.service.in, with
# @sbindir@ the build tree), run against a daemon on the unit's default
# control socket, /run/traceflow/control.sock, inside a mount namespace
# of its own (a tmpfs on /run) so that no real daemon is disturbed.
#  - A good change: ExecReload exits 0 and the daemon takes it.
#  - A bad value: ExecReload exits 1 and says FILE:LINE: setting NAME, as
#    systemctl would show; the daemon logs the refusal with the same words
#    and keeps its configuration.
#  - A change that needs a restart: the same, naming the line too.
. "$(dirname "$0")/lib.sh"

need_traceflowd
need_root
need_cmd unshare
need_cmd nsenter
TRACEFLOWCTL=$top_builddir/traceflowctl
need_file "$TRACEFLOWCTL" traceflowctl

sbindir=$(cd "$(dirname "$TRACEFLOWD")" && pwd)
bindir=$(cd "$(dirname "$TRACEFLOWCTL")" && pwd)
line=$(sed -n 's/^ExecReload=//p' "$top_srcdir/systemd/traceflowd.service.in")
[ "$(printf '%s\n' "$line" | wc -l)" -eq 1 ] || fail "want one ExecReload= line, have: $line"
line=${line//@sbindir@/$sbindir}
read -ra reload <<<"${line//@bindir@/$bindir}"
ok "ExecReload=$line"

conf=$WORK/traceflow.conf
spool=$WORK/spool
# write_conf LINGER [EXTRA LINE]: the daemon's file, on the default socket.
write_conf() {
	printf '%s\n' 'interfaces = ["lo"];' 'filter = "tcp port 9";' "spool_dir = \"$spool\";" \
	    'user = "";' 'control_group = "root";' "linger = $1;" ${2:+"$2"} >"$conf"
}
write_conf '"2s"'

DAEMON_LOG=$WORK/daemon.log
# unshare (no --fork) and sh exec into the daemon: DAEMON_PID is its pid.
unshare --mount --propagation private sh -c \
    'mount -t tmpfs -o mode=0755 tmpfs /run && exec "$0" -f -c "$1"' \
    "$TRACEFLOWD" "$conf" >"$DAEMON_LOG" 2>&1 &
DAEMON_PID=$!
wait_for "$DAEMON_LOG" 'started:' 10 || fail "the daemon did not start: $(tail -n 5 "$DAEMON_LOG")"

# systemctl_reload NAME: the ExecReload command, where the daemon's /run is.
systemctl_reload() {
	RC=0
	nsenter -t "$DAEMON_PID" -m -- "${reload[@]}" >"$WORK/$1.out" 2>"$WORK/$1.err" || RC=$?
}

# linger_is SECONDS: what the running daemon says its linger is.
linger_is() {
	nsenter -t "$DAEMON_PID" -m -- "$TRACEFLOWCTL" --json config |
	    python3 -c 'import json,sys; print(json.load(sys.stdin)["linger"])'
}

write_conf '"3s"'
systemctl_reload good
if [ "$RC" -ne 0 ] || [ "$(linger_is)" != 3 ]; then
	check_fail "good reload: exit $RC, linger $(linger_is): $(cat "$WORK/good.err")"
else
	ok "good reload: exit 0, linger now 3 s"
fi

write_conf '"forever"'
systemctl_reload bad
want="$conf:6: setting linger"
if [ "$RC" -ne 1 ] || ! grep -q "reload refused.*$want" "$WORK/bad.err"; then
	check_fail "bad value: exit $RC, want 1 and \"$want\": $(cat "$WORK/bad.err")"
elif ! wait_for "$DAEMON_LOG" "reload refused, the running configuration stays: $want" 5; then
	check_fail "bad value: the daemon did not log the refusal: $(tail -n 3 "$DAEMON_LOG")"
elif [ "$(linger_is)" != 3 ]; then
	check_fail "bad value: linger changed to $(linger_is)"
else
	ok "bad value: exit 1, \"$(cat "$WORK/bad.err")\", logged by the daemon"
fi

write_conf '"3s"' 'snaplen = 128;'
systemctl_reload restart
want="$conf:7: setting snaplen: cannot change on reload"
if [ "$RC" -ne 1 ] || ! grep -q "$want" "$WORK/restart.err"; then
	check_fail "restart-only change: exit $RC, want 1 and \"$want\": $(cat "$WORK/restart.err")"
elif ! wait_for "$DAEMON_LOG" "reload refused.*$want" 5; then
	check_fail "restart-only change: not logged: $(tail -n 3 "$DAEMON_LOG")"
else
	ok "restart-only change: exit 1, \"$(cat "$WORK/restart.err")\", logged"
fi

daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "SIGTERM: exit $DAEMON_RC: $(tail -n 3 "$DAEMON_LOG")"
finish
