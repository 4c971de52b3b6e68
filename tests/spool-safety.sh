#!/bin/bash
# spool-safety.sh: the spool cannot be turned against the system. The
# daemon starts as root and drops to nobody:nogroup; whatever sits in the
# spool (symbolic links, files of other users, loose modes) must not make it
# chown, truncate, move or write anything outside its own files. Each case
# plants a root-owned canary and checks that its owner, group, mode, size
# and content are the same afterwards, and that the daemon either refused
# with a message naming the offending path or worked safely. Also: the
# modes of what the daemon creates do not depend on the umask.
#
# Cases: (a) index.jsonl a symlink, (b) .active a symlink, (c) a
# world-writable parent or spool, (d) the spool a symlink, (e) the same
# links in an offline --output folder, (f) recovery of a symlink and of a
# foreign file in .active (and of a genuine torn file), (g) modes under
# umask 000, (h) a root-owned index.jsonl, (i) the control socket's folder.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck disable=SC2154 # failures: lib.sh's count of recorded failures

need_root
need_cmd tcpdump
need_cmd setpriv
need_traceflowd
need_file "$GENCAP" gencap
getent passwd nobody >/dev/null || skip "no user nobody"
getent group nogroup >/dev/null || skip "no group nogroup"
NOBODY_UID=$(id -u nobody)
NOGROUP_GID=$(getent group nogroup | cut -d: -f3)

umask 022
chmod 0755 "$WORK"
# The daemon, once nobody, must reach the spools under $WORK.
setpriv --reuid="$NOBODY_UID" --regid="$NOGROUP_GID" --clear-groups test -x "$WORK" ||
    skip "user nobody cannot reach $WORK (a parent folder is not searchable)"

# One small valid capture (a single 10-packet connection) for planted files,
# and a 20-connection one for the offline cases.
"$GENCAP" -c 1 -p 4 -S 7 -o "$WORK/one.pcap" 2>/dev/null || fail "gencap -c 1 failed"
"$GENCAP" -c 20 -S 8 -o "$WORK/cap.pcap" 2>/dev/null || fail "gencap -c 20 failed"
ONE_SIZE=$(stat -c %s "$WORK/one.pcap")

# Ports below the ephemeral range, one per case, so that each daemon's
# filter sees only its own case's connection.
PORT=$((20000 + RANDOM % 9000))

# --- helpers ------------------------------------------------------------------

# snap PATH: owner, group, mode, size, type, mtime and ctime of PATH (not
# followed if a link) and a checksum of its content; for a directory, the
# same for each entry, so that a new entry or a changed one shows (and the
# folder's mtime shows an entry made and removed again).
snap() {
	local p=$1 e

	stat -c '%u %g %a %s %F mtime %y ctime %z' -- "$p"
	if [ -d "$p" ] && [ ! -L "$p" ]; then
		find "$p" -mindepth 1 -maxdepth 1 -printf '%f\n' | LC_ALL=C sort |
		    while IFS= read -r e; do
			    stat -c '  %n %u %g %a %s %F mtime %y ctime %z' -- "$p/$e"
			    if [ -f "$p/$e" ] && [ ! -L "$p/$e" ]; then sha256sum <"$p/$e"; fi
		    done
	elif [ -f "$p" ] && [ ! -L "$p" ]; then
		sha256sum <"$p"
	fi
}

# same CASE PATH BEFORE: PATH's snap is still BEFORE; records a failure
# (with the lines that changed) and returns 1 otherwise.
same() {
	local after

	after=$(snap "$2" 2>&1 || true)
	if [ "$after" != "$3" ]; then
		check_fail "$1: canary $2 changed:"$'\n'"$(diff <(echo "$3") <(echo "$after") |
		    grep '^[<>]' | sed 's/^</  before:/; s/^>/  after: /')"
		return 1
	fi
}

# put_torn FILE UID:GID MODE: a valid pcap (one.pcap) plus 5 junk bytes, as a
# crash in the middle of a write leaves it.
put_torn() {
	cp "$WORK/one.pcap" "$1"
	printf '\x01\x02\x03\x04\x05' >>"$1"
	chown "$2" "$1"
	chmod "$3" "$1"
}

# mkconf NAME SPOOL PORT: $WORK/NAME.conf, a daemon on lo that drops to
# nobody:nogroup and keeps only TCP port PORT; its control socket its own.
mkconf() {
	CONF=$WORK/$1.conf
	daemon_conf "$CONF" "$2" 'interfaces = ["lo"]' "filter = \"tcp port $3\""
	sed -i 's/^user = "";/user = "nobody";\ngroup = "nogroup";/' "$CONF"
	sed -i "s|^control_socket = .*|control_socket = \"$WORK/$1.sock\";|" "$CONF"
}



# flow PORT: one whole TCP connection on 127.0.0.1:PORT (request, answer,
# FIN both ways), for the daemon on lo to file.
flow() {
	timeout 15 python3 - "$1" <<'PY'
import socket, sys
port = int(sys.argv[1])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(1)
srv.settimeout(5)
cli = socket.create_connection(("127.0.0.1", port), timeout=5)
conn, _ = srv.accept()
conn.settimeout(5)
cli.sendall(b"GET / HTTP/1.0\r\n\r\n")
got = b""
while not got.endswith(b"\r\n\r\n"):
    got += conn.recv(100)
conn.sendall(b"HTTP/1.0 200 OK\r\n\r\nhello\n")
conn.shutdown(socket.SHUT_WR)
while cli.recv(100):
    pass
cli.close()
conn.close()
srv.close()
PY
}

# names PATH FILE [REGEX]: FILE has a line naming PATH itself (not only a
# path below it) that also matches REGEX (Python syntax, any case).
names() {
	python3 - "$@" <<'PY'
import re, sys
path, f = sys.argv[1].rstrip("/"), sys.argv[2]
rx = re.compile(sys.argv[3], re.I) if len(sys.argv) > 3 else None
pat = re.compile(re.escape(path) + r"(?!/?[\w.-])")
lines = open(f, errors="replace").read().splitlines()
sys.exit(0 if any(pat.search(l) and (rx is None or rx.search(l)) for l in lines) else 1)
PY
}

# nobody_spool DIR: an existing spool (and its .active) as the daemon user
# would own it after a run: nobody:nogroup, 0750.
nobody_spool() {
	mkdir -p "$1/.active"
	chown nobody:nogroup "$1" "$1/.active"
	chmod 0750 "$1" "$1/.active"
}

# --- the cases ------------------------------------------------------------------

# (a) Proves that index.jsonl is never followed when it is a symbolic link:
# while still root the daemon must not chown what it points to, and it
# must never append index lines (of a live flow or of a recovered file) to it.
case_a() {
	local spool=$WORK/a/spool canary=$WORK/a/canary before rc=0

	mkdir -p "$WORK/a"
	nobody_spool "$spool"
	printf 'root:secret:1\n' >"$canary"
	chmod 0600 "$canary"
	ln -s "$canary" "$spool/index.jsonl"
	put_torn "$spool/.active/left-by-a-crash.pcap" nobody:nogroup 0640
	before=$(snap "$canary")
	mkconf a "$spool" $((PORT + 1))
	daemon_try_start a "$CONF" || rc=$?
	if [ "$rc" -eq 0 ]; then
		flow $((PORT + 1)) || check_fail "(a): the test connection failed"
		daemon_stop_within
		same "(a) index.jsonl symlink, daemon ran" "$canary" "$before" &&
		    ok "(a) index.jsonl symlink: the daemon ran and left the canary alone"
	elif [ "$rc" -eq 1 ]; then
		if [ "$DAEMON_RC" -eq 0 ] || ! grep -q 'index\.jsonl' "$DAEMON_LOG"; then
			check_fail "(a): refused (exit $DAEMON_RC) without naming index.jsonl:" \
			    "$(tail -n 3 "$DAEMON_LOG")"
			same "(a) index.jsonl symlink, daemon refused" "$canary" "$before" || true
		elif same "(a) index.jsonl symlink, daemon refused" "$canary" "$before"; then
			ok "(a) index.jsonl symlink refused: $(grep 'index\.jsonl' "$DAEMON_LOG" | head -n 1)"
		fi
	fi
	return 0
}

# (b) Proves that .active is never followed when it is a symbolic link: the
# directory it points to is not chowned and gets no file.
case_b() {
	local spool=$WORK/b/spool canary=$WORK/b/canary before rc=0

	mkdir -p "$spool" "$canary"
	chown nobody:nogroup "$spool"
	chmod 0750 "$spool"
	chmod 0700 "$canary"
	printf 'root:secret:2\n' >"$canary/keep"
	chmod 0600 "$canary/keep"
	ln -s "$canary" "$spool/.active"
	before=$(snap "$canary")
	mkconf b "$spool" $((PORT + 2))
	daemon_try_start b "$CONF" || rc=$?
	if [ "$rc" -eq 0 ]; then
		flow $((PORT + 2)) || check_fail "(b): the test connection failed"
		daemon_stop_within
		same "(b) .active symlink, daemon ran" "$canary" "$before" &&
		    ok "(b) .active symlink: the daemon ran and left the canary folder alone"
	elif [ "$rc" -eq 1 ]; then
		if [ "$DAEMON_RC" -eq 0 ] || ! grep -q '\.active' "$DAEMON_LOG"; then
			check_fail "(b): refused (exit $DAEMON_RC) without naming .active:" \
			    "$(tail -n 3 "$DAEMON_LOG")"
			same "(b) .active symlink, daemon refused" "$canary" "$before" || true
		elif same "(b) .active symlink, daemon refused" "$canary" "$before"; then
			ok "(b) .active symlink refused: $(grep '\.active' "$DAEMON_LOG" | head -n 1)"
		fi
	fi
	return 0
}

# refused CASE NAME CONF PATH [REGEX]: the daemon must exit non-zero
# without starting, with a line naming PATH (and matching REGEX). A daemon
# that started anyway is stopped.
refused() {
	local c=$1 name=$2 conf=$3 path=$4 rx=${5:-}
	local rc=0

	daemon_try_start "$name" "$conf" || rc=$?
	if [ "$rc" -eq 0 ]; then
		daemon_stop_within
		check_fail "$c: the daemon started; want a refusal naming $path"
		return 1
	fi
	[ "$rc" -eq 1 ] || return 1
	if [ "$DAEMON_RC" -eq 0 ]; then
		check_fail "$c: the daemon exited 0 without starting; want a non-zero exit"
		return 1
	fi
	if ! names "$path" "$DAEMON_LOG" ${rx:+"$rx"}; then
		check_fail "$c: refused (exit $DAEMON_RC), but no line names $path${rx:+ and matches /$rx/}:" \
		    "$(tail -n 3 "$DAEMON_LOG")"
		return 1
	fi
	ok "$c refused (exit $DAEMON_RC): $(tail -n 1 "$DAEMON_LOG")"
}

# accepted CASE NAME CONF: the daemon must start (then it is stopped).
accepted() {
	local rc=0

	daemon_try_start "$2" "$3" || rc=$?
	if [ "$rc" -eq 0 ]; then
		daemon_stop_within
		ok "$1 accepted"
	elif [ "$rc" -eq 1 ]; then
		check_fail "$1: the daemon refused (exit $DAEMON_RC): $(tail -n 3 "$DAEMON_LOG")"
	fi
}

# (c) Proves that the spool is not made, or used, where another user could
# swap it: a missing spool under a world-writable parent without the sticky
# bit, and an existing spool of mode 0777, are refused; a sticky
# world-writable parent (like /tmp) and a plain root 0755 parent are fine.
case_c() {
	mkdir -p "$WORK/c1" "$WORK/c2/spool" "$WORK/c3" "$WORK/c4"
	chmod 0777 "$WORK/c1" "$WORK/c2/spool"
	chmod 1777 "$WORK/c3"
	chmod 0755 "$WORK/c2" "$WORK/c4"
	mkconf c1 "$WORK/c1/spool" $((PORT + 3))
	refused "(c) spool under a world-writable parent (0777)" c1 "$CONF" "$WORK/c1" || true
	mkconf c2 "$WORK/c2/spool" $((PORT + 3))
	refused "(c) an existing spool of mode 0777" c2 "$CONF" "$WORK/c2/spool" || true
	mkconf c3 "$WORK/c3/spool" $((PORT + 3))
	accepted "(c) positive control: spool under a sticky 1777 parent" c3 "$CONF"
	mkconf c4 "$WORK/c4/spool" $((PORT + 3))
	accepted "(c) positive control: spool under a root 0755 parent" c4 "$CONF"
	return 0
}

# (d) Proves that a spool_dir which is itself a symbolic link is refused,
# whoever owns its target, and that a root-owned target is not chowned.
case_d() {
	local before

	mkdir -p "$WORK/d/root-target" "$WORK/d/nobody-target"
	chmod 0700 "$WORK/d/root-target"
	printf 'root:secret:4\n' >"$WORK/d/root-target/keep"
	chown nobody:nogroup "$WORK/d/nobody-target"
	chmod 0750 "$WORK/d/nobody-target"
	ln -s "$WORK/d/root-target" "$WORK/d/spool1"
	ln -s "$WORK/d/nobody-target" "$WORK/d/spool2"
	before=$(snap "$WORK/d/root-target")
	mkconf d1 "$WORK/d/spool1" $((PORT + 4))
	refused "(d) spool_dir a symlink to a root folder" d1 "$CONF" "$WORK/d/spool1" \
	    'symbolic link|symlink' || true
	same "(d) spool_dir a symlink to a root folder" "$WORK/d/root-target" "$before" || true
	mkconf d2 "$WORK/d/spool2" $((PORT + 4))
	refused "(d) spool_dir a symlink to a folder of nobody" d2 "$CONF" "$WORK/d/spool2" \
	    'symbolic link|symlink' || true
	return 0
}

# (e) Proves that offline mode (running as root, no privilege drop) does not
# follow an index.jsonl or a .active that is a symbolic link in its
# --output folder, even with --force: it fails, naming the link.
case_e() {
	local out canary before

	# index.jsonl -> a root file
	out=$WORK/e/out1
	canary=$WORK/e/canary-file
	mkdir -p "$out"
	printf 'root:secret:5\n' >"$canary"
	chmod 0600 "$canary"
	ln -s "$canary" "$out/index.jsonl"
	before=$(snap "$canary")
	tf e1 --read "$WORK/cap.pcap" --output "$out" --force
	if [ "$TF_RC" -eq 0 ]; then
		check_fail "(e) offline, index.jsonl a symlink: traceflowd exited 0; want a refusal"
		same "(e) offline, index.jsonl a symlink" "$canary" "$before" || true
	elif ! grep -q 'index\.jsonl' "$TF_ERR" "$TF_OUT"; then
		check_fail "(e) offline, index.jsonl a symlink: exit $TF_RC without naming index.jsonl:" \
		    "$(head -c 400 "$TF_ERR")"
		same "(e) offline, index.jsonl a symlink" "$canary" "$before" || true
	elif same "(e) offline, index.jsonl a symlink" "$canary" "$before"; then
		ok "(e) offline, index.jsonl a symlink refused (exit $TF_RC): $(grep -h 'index\.jsonl' "$TF_ERR" "$TF_OUT" | head -n 1)"
	fi

	# .active -> a root folder
	out=$WORK/e/out2
	canary=$WORK/e/canary-dir
	mkdir -p "$out" "$canary"
	chmod 0700 "$canary"
	printf 'root:secret:6\n' >"$canary/keep"
	chmod 0600 "$canary/keep"
	ln -s "$canary" "$out/.active"
	before=$(snap "$canary")
	tf e2 --read "$WORK/cap.pcap" --output "$out" --force
	if [ "$TF_RC" -eq 0 ]; then
		check_fail "(e) offline, .active a symlink: traceflowd exited 0; want a refusal"
		same "(e) offline, .active a symlink" "$canary" "$before" || true
	elif ! grep -q '\.active' "$TF_ERR" "$TF_OUT"; then
		check_fail "(e) offline, .active a symlink: exit $TF_RC without naming .active:" \
		    "$(head -c 400 "$TF_ERR")"
		same "(e) offline, .active a symlink" "$canary" "$before" || true
	elif same "(e) offline, .active a symlink" "$canary" "$before"; then
		ok "(e) offline, .active a symlink refused (exit $TF_RC): $(grep -h '\.active' "$TF_ERR" "$TF_OUT" | head -n 1)"
	fi
	return 0
}

# left_alone CASE NAME: the daemon log says something about NAME other than
# that it was recovered.
left_alone() {
	if ! grep -F -- "$2" "$DAEMON_LOG" | grep -v -F "recovered $2 (" | grep -q .; then
		check_fail "$1: no log line says $2 was left alone:" \
		    "$(grep -F -- "$2" "$DAEMON_LOG" | head -n 2)"
		return 1
	fi
}

# (f) Proves that recovery touches only the daemon's own regular files in
# .active: a symbolic link to a root file (group nogroup, mode 0660, so that
# nobody could write it if it followed the link) and a file of another
# user (mode 0666, so that only the ownership check protects it) are left
# as they are, not indexed, and logged; while a torn file of the daemon's
# user is still recovered: moved into the spool, cut to whole records,
# indexed with "recovered": true and the keys of any other index line.
case_f() {
	local spool=$WORK/f/spool canary=$WORK/f/canary.pcap foreign cbefore fbefore
	local port=$((PORT + 6))

	mkdir -p "$WORK/f"
	nobody_spool "$spool"
	put_torn "$canary" root:nogroup 0660
	ln -s "$canary" "$spool/.active/x.pcap"
	foreign=$spool/.active/foreign.pcap
	put_torn "$foreign" 12345:12345 0666
	put_torn "$spool/.active/crashed.pcap" nobody:nogroup 0640
	cbefore=$(snap "$canary")
	fbefore=$(snap "$foreign")
	mkconf f "$spool" "$port"
	if ! daemon_try_start f "$CONF"; then
		[ -z "$DAEMON_RC" ] ||
		    check_fail "(f): the daemon refused to start (exit $DAEMON_RC): $(tail -n 3 "$DAEMON_LOG")"
		return
	fi
	flow "$port" || check_fail "(f): the test connection failed"
	daemon_stop_within
	local bad=$failures

	# The symbolic link and its target.
	same "(f) recovery of a symlink in .active" "$canary" "$cbefore" || true
	left_alone "(f) recovery of a symlink in .active" x.pcap || true
	# The foreign file: where it was, as it was.
	if [ ! -e "$foreign" ]; then
		check_fail "(f) recovery of a foreign file: .active/foreign.pcap was moved away" \
		    "($(grep -F foreign "$DAEMON_LOG" | head -n 1))"
	else
		same "(f) recovery of a foreign file (uid 12345)" "$foreign" "$fbefore" || true
	fi
	left_alone "(f) recovery of a foreign file" foreign.pcap || true
	[ -f "$spool/index.jsonl" ] || {
		check_fail "(f): no index.jsonl in the spool"
		return
	}
	index_py "$spool" "
bad = [e for e in E if e.get('label') in ('x', 'foreign') or
       re.search(r'(^|/)(x|foreign)(-r\d+)?\.pcap$', str(e.get('fpout')))]
if bad:
    sys.exit('(f) the symlink or the foreign file was indexed: %s' % bad)
" >/dev/null || true
	[ "$failures" -eq "$bad" ] &&
	    ok "(f) recovery left the symlink (canary same) and the uid-12345 file alone, logged both"

	# The positive control: crashed.pcap recovered like any flow.
	bad=$failures
	index_py "$spool" "
rec = [e for e in E if e.get('label') == 'crashed']
norm = [e for e in E if e.get('dstport') == $port]
if len(rec) != 1:
    sys.exit('(f) want one index line for crashed.pcap, got %d: %s' % (len(rec), rec))
if len(norm) != 1:
    sys.exit('(f) want one index line for the connection to port $port, got %d' % len(norm))
r, n = rec[0], norm[0]
if r.get('recovered') is not True:
    sys.exit('(f) the recovered line has no \"recovered\": true: %s' % json.dumps(r))
if n.get('recovered') is not False:
    sys.exit('(f) a live flow\'s line has no \"recovered\": false: %s' % json.dumps(n))
if set(r) != set(n):
    sys.exit('(f) the recovered line lacks %s and has extra %s (a live flow\'s line: %s)' %
             (sorted(set(n) - set(r)), sorted(set(r) - set(n)), sorted(n)))
print(r['fpout'])
" >/dev/null || true
	if [ "$failures" -eq "$bad" ]; then
		local fpout

		fpout=$(cat "$spool.py.out")
		if [ ! -f "$spool/$fpout" ]; then
			check_fail "(f) recovered file $spool/$fpout missing"
		elif [ -e "$spool/.active/crashed.pcap" ]; then
			check_fail "(f) crashed.pcap still in .active after its recovery"
		elif [ "$(stat -c %s "$spool/$fpout")" -ne "$ONE_SIZE" ]; then
			check_fail "(f) recovered $fpout: $(stat -c %s "$spool/$fpout") bytes, want $ONE_SIZE (the torn tail cut)"
		elif tcpdump -r "$spool/$fpout" 2>&1 >/dev/null | grep -qi truncated ||
		    ! tcpdump -r "$spool/$fpout" >/dev/null 2>&1; then
			check_fail "(f) recovered $fpout unreadable: $(tcpdump -r "$spool/$fpout" 2>&1 >/dev/null | tail -n 1)"
		else
			ok "(f) positive control: crashed.pcap recovered as $fpout, torn tail cut, \"recovered\": true, same keys as a live flow's line"
		fi
	fi
	return 0
}

# (g) Proves that what the daemon creates has fixed modes, whatever the
# umask: spool and .active 0750, finished files and index.jsonl 0640, all
# the daemon user's.
case_g() {
	local spool=$WORK/g/spool port=$((PORT + 7)) old p want got bad=$failures

	mkdir -p "$WORK/g"
	mkconf g "$spool" "$port"
	old=$(umask)
	umask 000
	daemon_try_start g "$CONF" || {
		umask "$old"
		[ -z "$DAEMON_RC" ] ||
		    check_fail "(g): the daemon refused to start (exit $DAEMON_RC): $(tail -n 3 "$DAEMON_LOG")"
		return
	}
	umask "$old"
	flow "$port" || check_fail "(g): the test connection failed"
	daemon_stop_within
	want="$NOBODY_UID $NOGROUP_GID"
	for p in "$spool:750" "$spool/.active:750" "$spool/index.jsonl:640"; do
		got=$(stat -c '%u %g %a' "${p%:*}" 2>&1 || true)
		[ "$got" = "$want ${p##*:}" ] ||
		    check_fail "(g) umask 000: ${p%:*}: $got, want $want ${p##*:}"
	done
	local n=0
	while IFS= read -r p; do
		n=$((n + 1))
		got=$(stat -c '%u %g %a' "$p")
		[ "$got" = "$want 640" ] || check_fail "(g) umask 000: $p: $got, want $want 640"
	done < <(find "$spool" -path "$spool/.active" -prune -o -name '*.pcap' -print)
	[ "$n" -gt 0 ] || check_fail "(g) umask 000: no finished .pcap in $spool"
	[ "$failures" -eq "$bad" ] &&
	    ok "(g) umask 000: spool and .active 0750, $n pcap file(s) and index.jsonl 0640, all nobody:nogroup"
	return 0
}

# (h) Proves that a typo naming a folder of the system is not taken over:
# an existing root folder that holds files is not handed to the daemon
# user (and so never cleaned by its retention), and a root-owned
# index.jsonl (which the daemon user could have renamed there from any
# root file it found in its spool) is not handed over either.
case_h() {
	local dir=$WORK/h/etc spool=$WORK/h/spool port=$((PORT + 8)) before

	mkdir -p "$dir" "$spool"
	echo "root:x:0:0::/root:/bin/sh" >"$dir/passwd"
	chmod 0644 "$dir/passwd"
	before=$(snap "$dir")
	mkconf h1 "$dir" "$port"
	refused "(h) a non-empty root folder as spool_dir" h1 "$CONF" "$dir" 'not empty'
	same "(h) the root folder" "$dir" "$before"
	chown nobody:nogroup "$spool"
	chmod 0750 "$spool"
	echo "secret" >"$spool/index.jsonl"
	chmod 0600 "$spool/index.jsonl"
	before=$(snap "$spool/index.jsonl")
	mkconf h2 "$spool" "$port"
	refused "(h) a root-owned index.jsonl" h2 "$CONF" "$spool/index.jsonl" 'uid 0'
	same "(h) the root-owned index.jsonl" "$spool/index.jsonl" "$before"
}

# (i) The control socket's folder: whoever may swap what it holds could
# answer root's traceflowctl in the daemon's place. A folder of another
# user, or one every user may write to, is refused (naming it); a sticky
# one of root's (as /run or /tmp) is not.
case_i() {
	local spool=$WORK/spool-i d port=$((PORT + 9))

	nobody_spool "$spool"
	d=$WORK/sock-foreign
	mkdir -p "$d" && chown 12345 "$d" && chmod 0755 "$d"
	mkconf i1 "$spool" "$port"
	sed -i "s|^control_socket = .*|control_socket = \"$d/ctl.sock\";|" "$CONF"
	refused "(i) a socket folder of uid 12345" i1 "$CONF" "$d" 'owned by uid 12345'
	[ ! -e "$d/ctl.sock" ] || check_fail "(i) a socket was made in the foreign folder"
	d=$WORK/sock-open
	mkdir -p "$d" && chmod 0777 "$d"
	mkconf i2 "$spool" "$port"
	sed -i "s|^control_socket = .*|control_socket = \"$d/ctl.sock\";|" "$CONF"
	refused "(i) a socket folder every user may write to" i2 "$CONF" "$d" 'writable by every user'
	d=$WORK/sock-sticky
	mkdir -p "$d" && chmod 1777 "$d"
	mkconf i3 "$spool" "$port"
	sed -i "s|^control_socket = .*|control_socket = \"$d/ctl.sock\";|" "$CONF"
	accepted "(i) a sticky socket folder of root's" i3 "$CONF"
}

case_a
case_b
case_c
case_d
case_e
case_f
case_g
case_h
case_i
finish
