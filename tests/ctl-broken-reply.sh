#!/bin/bash
# ctl-broken-reply.sh: traceflowctl exits 69 (EX_UNAVAILABLE), with a clear
# message, when the peer breaks the protocol (proto.h): a fake server on a
# Unix socket reads the request and answers with a header of the wrong
# magic, a DATA header whose payload never comes, an EXIT without its
# status, a header cut short, or nothing at all. A well formed reply from
# the same server exits 0, so the server is not what fails.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_cmd python3
TRACEFLOWCTL=${TRACEFLOWCTL:-$top_builddir/traceflowctl}
need_file "$TRACEFLOWCTL" traceflowctl

sock=$WORK/fake.sock
cat >"$WORK/fake.py" <<'EOF'
import os, socket, struct, sys
MAGIC, VER, DATA, EXIT = 0x74666374, 1, 2, 3
def hdr(t, n, magic=MAGIC):
    return struct.pack('=IIII', magic, VER, t, n)
doc = b'{"version": "fake"}'
replies = {
    'good': hdr(DATA, len(doc)) + doc + hdr(EXIT, 4) + struct.pack('=I', 0),
    'magic': hdr(DATA, len(doc), magic=0x12345678) + doc + hdr(EXIT, 4) + struct.pack('=I', 0),
    'cutdata': hdr(DATA, 1000) + doc,
    'cutexit': hdr(DATA, len(doc)) + doc + hdr(EXIT, 4) + b'\0',
    'cuthdr': hdr(DATA, len(doc))[:7],
    'nothing': b'',
    'garbage': b'HTTP/1.1 400 Bad Request\r\n\r\n',
}
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(4)
open(sys.argv[1] + '.ready', 'w').close()
for name in sys.argv[2:]:
    c, _ = s.accept()
    h = c.recv(16)
    n = struct.unpack('=IIII', h)[3]
    got = b''
    while len(got) < n:
        got += c.recv(n - len(got))
    c.sendall(replies[name])
    c.close()
EOF

cases="good magic cutdata cutexit cuthdr nothing garbage"
# shellcheck disable=SC2086
python3 "$WORK/fake.py" "$sock" $cases >"$WORK/fake.log" 2>&1 &
fake=$!
with_rc() {
	return "$1"
}
# The fake server goes too; lib_exit must still see the test's status in $?.
cleanup() {
	local rc=$?

	kill "$fake" 2>/dev/null || true
	if [ "$rc" -eq 0 ]; then lib_exit; else with_rc "$rc" || lib_exit; fi
}
trap cleanup EXIT
for _ in $(seq 50); do [ -e "$sock.ready" ] && break; sleep 0.1; done
[ -e "$sock.ready" ] || fail "the fake server did not start: $(cat "$WORK/fake.log")"

for c in $cases; do
	rc=0
	"$TRACEFLOWCTL" -s "$sock" --timeout 5 stats >"$WORK/$c.out" 2>"$WORK/$c.err" || rc=$?
	if [ "$c" = good ]; then
		[ "$rc" -eq 0 ] || check_fail "good reply: rc $rc: $(cat "$WORK/$c.err")"
		continue
	fi
	if [ "$rc" -ne 69 ]; then
		check_fail "$c: rc $rc (69 expected): $(cat "$WORK/$c.err")"
	elif ! grep -q "traceflowctl: $sock: ." "$WORK/$c.err"; then
		check_fail "$c: no message naming the socket: $(cat "$WORK/$c.err")"
	else
		ok "$c: exit 69: $(cat "$WORK/$c.err")"
	fi
done
wait "$fake" || check_fail "the fake server failed: $(cat "$WORK/fake.log")"
finish
