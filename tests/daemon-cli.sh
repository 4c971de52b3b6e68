#!/bin/bash
# daemon-cli.sh: what traceflowd(8) promises of its command line and
# signals, as a user sees it: -n and -n -v exit codes and output, a bad
# file named with line and setting, a missing -c file, a missing user or
# group refused by -n as by a start, no file at all meaning the defaults,
# SIGINT finishing every flow like SIGTERM, and as many interfaces as
# traceflow.conf(5) allows all captured (one more refused).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_traceflowd
need_root

# -n: a good file is OK (0) and -v prints it; a bad one exits 1 naming
# file, line and setting; a -c file that does not exist is an error.
check_config() {
	daemon_conf "$WORK/good.conf" "$WORK/spool" 'interfaces = ["lo"]' 'linger = "3s"'
	tf good -n -c "$WORK/good.conf"
	if [ "$TF_RC" -ne 0 ] || ! grep -q "configuration OK" "$TF_OUT"; then
		check_fail "-n good.conf: exit $TF_RC: $(cat "$TF_OUT" "$TF_ERR")"
	else
		ok "-n: good.conf OK, exit 0"
	fi
	tf goodv -n -v -c "$WORK/good.conf"
	if [ "$TF_RC" -ne 0 ] || ! grep -q '^linger = "3s";' "$TF_OUT" ||
	    ! grep -q "^spool_dir = \"$WORK/spool\";" "$TF_OUT"; then
		check_fail "-n -v good.conf: exit $TF_RC, the settings not printed: $(head -c 300 "$TF_OUT")"
	else
		ok "-n -v: prints the settings (linger, spool_dir), exit 0"
	fi
	printf 'interfaces = ["lo"];\nlinger = "3s";\nno_such_setting = 1;\n' >"$WORK/bad.conf"
	tf bad -n -c "$WORK/bad.conf"
	if [ "$TF_RC" -ne 1 ] || ! grep -q "bad.conf:3: setting no_such_setting" "$TF_ERR"; then
		check_fail "-n bad.conf: exit $TF_RC, want 1 and bad.conf:3: setting no_such_setting: $(cat "$TF_ERR")"
	else
		ok "-n: bad.conf refused, exit 1, with file:line: setting"
	fi
	tf missing -n -c "$WORK/nosuch.conf"
	if [ "$TF_RC" -eq 0 ] || ! grep -q "nosuch.conf" "$TF_ERR"; then
		check_fail "-c nosuch.conf: exit $TF_RC: $(cat "$TF_OUT" "$TF_ERR")"
	else
		ok "-c a missing file: exit $TF_RC, the file named"
	fi
}

# -n refuses what the start would: a user or group that does not exist,
# named with file, line and setting (exit 1, nothing printed as OK).
check_accounts() {
	local u=tf-nosuch-$$ g=tf-nosuchgrp-$$

	printf 'interfaces = ["lo"];\nuser = "%s";\n' "$u" >"$WORK/nouser.conf"
	tf nouser -n -v -c "$WORK/nouser.conf"
	if [ "$TF_RC" -ne 1 ] || grep -q "configuration OK" "$TF_OUT" ||
	    ! grep -q "nouser.conf:2: setting user: user \"$u\" does not exist" "$TF_ERR"; then
		check_fail "-n, missing user: exit $TF_RC: $(cat "$TF_OUT" "$TF_ERR")"
	else
		ok "-n: missing user refused, exit 1: $(cat "$TF_ERR")"
	fi
	printf 'user = "nobody";\n\n# the group\ngroup = "%s";\n' "$g" >"$WORK/nogroup.conf"
	tf nogroup -n -c "$WORK/nogroup.conf"
	if [ "$TF_RC" -ne 1 ] ||
	    ! grep -q "nogroup.conf:4: setting group: group \"$g\" does not exist" "$TF_ERR"; then
		check_fail "-n, missing group: exit $TF_RC: $(cat "$TF_OUT" "$TF_ERR")"
	else
		ok "-n: missing group refused, exit 1: $(cat "$TF_ERR")"
	fi
}

# No file at all (the default path missing) means the built-in defaults.
check_defaults() {
	local def

	def=$("$TRACEFLOWD" -n -v 2>&1 | sed -n 's/^\(.*\): configuration OK$/\1/p')
	if [ -e /etc/traceflow.conf ] && [ "$def" != defaults ]; then
		ok "defaults: not checked, /etc/traceflow.conf exists here"
		return
	fi
	# Without the traceflow user the defaults are refused, as a start would.
	if ! getent passwd traceflow >/dev/null; then
		if "$TRACEFLOWD" -n 2>&1 |
		    grep -q '^traceflowd: defaults: setting user: user "traceflow" does not exist$'; then
			ok "no config file and no user traceflow: the defaults refused, naming setting user"
		else
			check_fail "no config file, no user traceflow: $("$TRACEFLOWD" -n 2>&1 | tail -n 2)"
		fi
		return
	fi
	if [ "$def" = defaults ] && "$TRACEFLOWD" -n -v 2>/dev/null |
	    grep -q '^spool_dir = "/var/spool/traceflow";'; then
		ok "no config file: the built-in defaults (spool_dir /var/spool/traceflow)"
	else
		check_fail "no config file: $("$TRACEFLOWD" -n -v 2>&1 | tail -n 2)"
	fi
}

# SIGINT does what SIGTERM does: every flow finished (reason shutdown),
# .active/ empty, exit 0.
check_sigint() {
	local spool=$WORK/intspool port=$((20000 + RANDOM % 10000))

	daemon_conf "$WORK/int.conf" "$spool" 'interfaces = ["lo"]' "filter = \"tcp port $port\""
	daemon_start int "$WORK/int.conf"
	# A connection held open (no FIN) until the daemon is gone: only SIGINT ends it.
	python3 - "$port" "$WORK/int.done" <<'PY' &
import os, socket, sys, time
port = int(sys.argv[1])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(1)
c = socket.create_connection(("127.0.0.1", port))
s, _ = srv.accept()
c.sendall(b"held open")
s.recv(100)
for _ in range(300):
    if os.path.exists(sys.argv[2]):
        break
    time.sleep(0.05)
PY
	local holder=$!
	# Its first packets reach .active/ within flush_interval (1 s).
	for _ in $(seq 50); do
		[ -n "$(ls -A "$spool/.active" 2>/dev/null)" ] && break
		sleep 0.1
	done
	kill -INT "$DAEMON_PID"
	# Waited for with a bound: a daemon deaf to SIGINT must fail, not hang.
	for _ in $(seq 100); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$DAEMON_PID" 2>/dev/null; then
		check_fail "SIGINT: the daemon still runs 10 s later"
		kill -KILL "$DAEMON_PID"
	fi
	DAEMON_RC=0
	wait "$DAEMON_PID" || DAEMON_RC=$?
	DAEMON_PID=
	touch "$WORK/int.done"
	wait "$holder" || true
	if [ "$DAEMON_RC" -ne 0 ]; then
		check_fail "SIGINT: exit $DAEMON_RC: $(tail -n 3 "$DAEMON_LOG")"
	elif [ -n "$(ls -A "$spool/.active" 2>/dev/null)" ]; then
		check_fail "SIGINT: .active not empty: $(ls "$spool/.active")"
	elif ! grep -q '"reason":"shutdown"' "$spool/index.jsonl" 2>/dev/null; then
		check_fail "SIGINT: no flow ended with reason shutdown: $(cat "$spool/index.jsonl" 2>&1 | head -c 300)"
	else
		ok "SIGINT: exit 0, .active empty, $(grep -c '"reason":"shutdown"' "$spool/index.jsonl") flow(s) ended shutdown"
	fi
}

# interfaces: traceflow.conf(5) allows a number of them (its heading says
# "list of strings, 1..N"); the daemon keeps every one (traceflowctl interfaces lists them
# all, missing ones included: they are retried), and -n refuses one more,
# as traceflowd -i does. Issue 26: the config took 256, the daemon kept 64.
check_many_interfaces() {
	local max names list ctl=$top_builddir/traceflowctl

	max=$(sed -n 's/^\.BR interfaces " (list of strings, 1\.\.\([0-9][0-9]*\);.*/\1/p' \
	    "$top_srcdir/doc/traceflow.conf.5")
	[ -n "$max" ] || {
		check_fail "traceflow.conf(5): no \"list of strings, 1..N\" for interfaces"
		return
	}
	# lo and max - 1 that do not exist.
	names=$(printf 'lo\n'; seq -f 'tf-nx%g' 1 $((max - 1)))
	# shellcheck disable=SC2086 # one word a name
	list=$(printf '"%s", ' $names)
	daemon_conf "$WORK/many.conf" "$WORK/manyspool" "interfaces = [ ${list%, } ]"
	daemon_start many "$WORK/many.conf"
	"$ctl" -s "$WORK/ctl.sock" --json interfaces >"$WORK/many.json" 2>"$WORK/many.err" ||
	    check_fail "traceflowctl interfaces: $(cat "$WORK/many.err")"
	python3 -c 'import json, sys
for i in json.load(open(sys.argv[1]))["interfaces"]: print(i["name"])' "$WORK/many.json" |
	    sort >"$WORK/many.got" || true
	# Reloads that rename interfaces, with every one in use: names seen are
	# kept (active flows refer to them), so a reload must not be what ends
	# the daemon ("too many inputs" was fatal at the 257th name seen).
	for n in 1 2 3; do
		sed -i "s/\"tf-nx$((max - n))\"/\"tf-re$n\"/" "$WORK/many.conf"
		"$ctl" -s "$WORK/ctl.sock" reload >/dev/null 2>&1 ||
		    check_fail "reload $n renaming an interface of $max: refused"
	done
	if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
		check_fail "$max interfaces: the daemon died on reloads that renamed some: $(tail -n 2 "$DAEMON_LOG")"
	else
		ok "$max interfaces: three reloads renaming one each, the daemon stays up"
	fi
	daemon_stop
	# shellcheck disable=SC2086 # one word a name
	printf '%s\n' $names | sort >"$WORK/many.want"
	if ! diff -q "$WORK/many.want" "$WORK/many.got" >/dev/null; then
		check_fail "$max interfaces configured, traceflowctl interfaces lists $(wc -l <"$WORK/many.got"); missing: $(comm -23 "$WORK/many.want" "$WORK/many.got" | head -n 5 | tr '\n' ' ')...; $(grep -m1 'too many' "$DAEMON_LOG")"
	elif grep -q 'too many interfaces' "$DAEMON_LOG"; then
		check_fail "$max interfaces: $(grep -m1 'too many' "$DAEMON_LOG")"
	else
		ok "$max interfaces configured (lo and $((max - 1)) missing): traceflowctl interfaces lists all $max"
	fi
	[ "$DAEMON_RC" -eq 0 ] || check_fail "$max interfaces: exit $DAEMON_RC after SIGTERM"
	daemon_conf "$WORK/toomany.conf" "$WORK/manyspool" "interfaces = [ $list \"tf-nx$max\" ]"
	tf toomany -n -c "$WORK/toomany.conf"
	if [ "$TF_RC" -ne 1 ] || ! grep -q "setting interfaces: $((max + 1)) elements, expects 1..$max" "$TF_ERR"; then
		check_fail "$((max + 1)) interfaces: -n exit $TF_RC: $(cat "$TF_ERR")"
	else
		ok "$((max + 1)) interfaces: -n refuses them: $(cat "$TF_ERR")"
	fi
	# shellcheck disable=SC2046,SC2086
	tf toomany-i -n -c "$WORK/many.conf" $(printf ' -i %s' $names tf-nx$max)
	if [ "$TF_RC" -ne 2 ] || ! grep -q -- "--interface: at most $max interfaces" "$TF_ERR"; then
		check_fail "-i given $((max + 1)) times: exit $TF_RC: $(cat "$TF_ERR")"
	else
		ok "-i given $((max + 1)) times: refused, exit 2"
	fi
}

check_config
check_accounts
check_defaults
check_sigint
check_many_interfaces
finish
