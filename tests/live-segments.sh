#!/bin/bash
# live-segments.sh: segment_size live, and what stats says of the spool and
# of malformed frames.
#
#  1. segment_size = "1M" and one connection of about 4.4 MB: the files
#     LABEL.pcap, LABEL.seg1.pcap, ... (names.c), none over 1 MiB and one
#     record, the index lines' "segment" 0, 1, 2, ... and their frame
#     numbers together every frame of the connection, once, in order.
#  2. stats: spool_files and spool_bytes are what the spool holds after a
#     retention pass (waited for by polling stats), counted on disk with
#     find, with one finished file removed by hand so that what the spool
#     holds is not what was written; `traceflowctl stats` prints the same
#     on its spool line; malformed_by_reason counts what offline mode
#     counts on the same capture.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd tcpreplay
need_traceflowd
need_file "$GENCAP" gencap
TRACEFLOWCTL=${TRACEFLOWCTL:-$top_builddir/traceflowctl}
need_file "$TRACEFLOWCTL" traceflowctl
netns_setup

spool=$WORK/spool
"$GENCAP" -c 1 -p 3000 -s 1400 -S 51 -o "$WORK/big.pcap" 2>/dev/null || fail "gencap big"
frames=3006 # handshake 3, data 3000, close 3
# A capture with malformed frames (two of its 8 connections lose their close
# and stay active): TCP data offset 3, IP header length 3,
# an IP total length shorter than the header, two of each, in data packets.
"$GENCAP" -c 8 -C 2 -p 10 -S 52 -o "$WORK/good.pcap" 2>/dev/null || fail "gencap good"
python3 - "$WORK/good.pcap" "$WORK/bad.pcap" <<'EOF' || fail "cannot make bad.pcap"
import struct, sys
src = open(sys.argv[1], 'rb').read()
out, pos, n = [src[:24]], 24, 0
spoil = {20: 'tcp', 50: 'tcp', 30: 'ihl', 60: 'ihl', 40: 'len', 70: 'len'}
while pos < len(src):
    hdr = src[pos:pos + 16]
    incl = struct.unpack('<IIII', hdr)[2]
    f = bytearray(src[pos + 16:pos + 16 + incl])
    pos += 16 + incl
    n += 1
    how = spoil.get(n)
    assert how is None or (f[12:14] == b'\x08\x00' and f[23] == 6), n
    ihl = (f[14] & 15) * 4
    if how == 'tcp':
        f[14 + ihl + 12] = (3 << 4) | (f[14 + ihl + 12] & 15)
    elif how == 'ihl':
        f[14] = 0x43
    elif how == 'len':
        f[16:18] = struct.pack('>H', 10)
    out.append(hdr + bytes(f))
open(sys.argv[2], 'wb').write(b''.join(out))
EOF

daemon_conf "$WORK/d.conf" "$spool" 'idle_timeout = "1d"' 'segment_size = "1M"' \
    'max_spool_size = "1G"' 'interfaces = ["vb"]'
daemon_start d "$WORK/d.conf"

# index_count: lines in the index.
index_count() {
	[ -f "$spool/index.jsonl" ] && wc -l <"$spool/index.jsonl" || echo 0
}

# 1. Segments.
replay "$WORK/big.pcap"
for _ in $(seq 100); do
	grep -qs '"reason":"fin"' "$spool/index.jsonl" && break
	sleep 0.1
done
index_py "$spool" "
import time
F = $frames
assert len(E) >= 4, '%d index lines for 4.4 MB in 1 MiB segments' % len(E)
label = E[0]['label']
assert all(e['label'] == label for e in E), 'several labels: %s' % set(e['label'] for e in E)
assert [e['segment'] for e in E] == list(range(len(E))), [e['segment'] for e in E]
assert [e['reason'] for e in E] == ['rotate'] * (len(E) - 1) + ['fin'], [e['reason'] for e in E]
for e in E:
    # In the partition of the hour (UTC) the segment ended in.
    part = time.strftime('%Y-%m-%dT%H', time.gmtime(e['last_ns'] // 10**9))
    want = part + '/' + label + ('.seg%d' % e['segment'] if e['segment'] else '') + '.pcap'
    assert e['fpout'] == want, (e['fpout'], want)
    size = os.path.getsize(os.path.join(D, e['fpout']))
    assert size <= (1 << 20) + 24 + 16 + 1514, '%s: %d bytes' % (e['fpout'], size)
    assert e['packets'] == len(e['index']), e['fpout']
frames = [i for e in E for i in e['index']]
assert sorted(frames) == frames and len(set(frames)) == len(frames), 'frames out of order or twice'
assert len(frames) == F, '%d frames in the segments, %d sent' % (len(frames), F)
assert frames[-1] - frames[0] + 1 == F, 'frames not consecutive: %d..%d' % (frames[0], frames[-1])
names = sorted(os.path.relpath(os.path.join(r, n), D) for r, d, ns in os.walk(D)
               for n in ns if n.startswith(label) and '/.' not in r[len(D):])
assert names == sorted(e['fpout'] for e in E), names
print('ok: %d segments, %d frames' % (len(E), F))
" || true

# 2a. Malformed frames, counted as offline mode counts them.
tf_ok offline --read "$WORK/bad.pcap" --output "$WORK/offline" --idle-timeout 86400 || true
before=$(index_count)
replay "$WORK/bad.pcap"
for _ in $(seq 100); do
	[ "$(index_count)" -ge $((before + 6)) ] && break
	sleep 0.1
done
"$TRACEFLOWCTL" -s "$WORK/ctl.sock" --json stats >"$WORK/stats.json" 2>"$WORK/stats.err" ||
    check_fail "stats: $(cat "$WORK/stats.err")"
if ! python3 - "$WORK/stats.json" "$TF_OUT" >"$WORK/malformed.out" 2>&1 <<'EOF'; then
import json, re, sys
live = json.load(open(sys.argv[1]))['totals']['malformed_by_reason']
off = {}
for l in open(sys.argv[2]):
    m = re.match(r'malformed_(\w+): (\d+)$', l.strip())
    if m:
        off[m.group(1)] = int(m.group(2))
assert sum(off.values()) == 6, 'offline counts %s, 6 spoiled frames' % off
for k, v in live.items():
    assert off.get(k, 0) == v, 'malformed %s: live %d, offline %d' % (k, v, off.get(k, 0))
for k, v in off.items():
    assert live.get(k, 0) == v, 'malformed %s: offline %d, live %d' % (k, v, live.get(k, 0))
print('ok: malformed by reason as offline: %s' % {k: v for k, v in live.items() if v})
EOF
	check_fail "malformed: $(tail -n 3 "$WORK/malformed.out")"
else
	cat "$WORK/malformed.out"
fi

# 2b. Spool usage: what the spool holds, every file but the index, the
# catalog (.catalog/) and what is still being written (.active/). One
# finished file is removed by hand, then a reload (the catalog is checked
# against the disk at every start and reload): the spool then holds one
# file less than the daemon wrote, and stats must say what is there, not
# what was written. (Every name the daemon writes ends in .pcap here;
# anything else fails.)
written=$("$TRACEFLOWCTL" -s "$WORK/ctl.sock" --json stats |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["totals"]["files_written"])')
victim=$(find "$spool" -path "$spool/.*" -prune -o -type f -name '*.pcap' -print | sort | head -n 1)
[ -n "$victim" ] && rm -- "$victim"
"$TRACEFLOWCTL" -s "$WORK/ctl.sock" reload >/dev/null || check_fail "reload refused"
# (The indexes are left out, the spool's and the partitions', and so are the
# copy one is pruned into, .index.jsonl.new, and the writer's lock, .lock.)
find "$spool" \( -path "$spool/.active" -o -path "$spool/.catalog" \) -prune -o -type f \
    ! -name index.jsonl ! -name .index.jsonl.new ! -path "$spool/.lock" -printf '%s %p\n' \
    >"$WORK/spool.files"
expect=$(awk '{ n++; b += $1 } END { print n + 0, b + 0 }' "$WORK/spool.files")
grep -v '\.pcap$' "$WORK/spool.files" && check_fail "files in the spool not named *.pcap"
[ "${expect%% *}" -eq $((written - 1)) ] ||
    check_fail "the spool holds ${expect%% *} files, $written written and 1 removed"
got=
for _ in $(seq 250); do
	got=$("$TRACEFLOWCTL" -s "$WORK/ctl.sock" --json stats 2>/dev/null | python3 -c '
import json, sys
t = json.load(sys.stdin)["totals"]
print(t["spool_files"], t["spool_bytes"])' || true)
	[ "$got" = "$expect" ] && break
	sleep 0.1
done
[ "$got" = "$expect" ] || check_fail "stats spool (files bytes): '$got', the spool holds '$expect'"
[ "$got" = "$expect" ] && ok "stats: spool usage $got as on disk (1 of $written files removed)"
[ "${expect%% *}" -ge 10 ] || check_fail "only ${expect%% *} files in the spool"
# The same numbers as people read them: "spool   N files, SIZE" (binary
# units, one decimal above 1 KiB).
"$TRACEFLOWCTL" -s "$WORK/ctl.sock" stats >"$WORK/stats.txt" 2>&1 ||
    check_fail "traceflowctl stats: $(cat "$WORK/stats.txt")"
# shellcheck disable=SC2086 # expect is "FILES BYTES", two arguments
line=$(python3 - $expect <<'EOF'
import sys
n, b = int(sys.argv[1]), float(sys.argv[2])
units, u = ['B', 'KiB', 'MiB', 'GiB'], 0
while b >= 1024 and u < len(units) - 1:
    b, u = b / 1024, u + 1
print('%-18s %d files, %s' % ('spool', n, ('%.0f %s' if u == 0 else '%.1f %s') % (b, units[u])))
EOF
)
if grep -qxF "$line" "$WORK/stats.txt"; then
	ok "traceflowctl stats: '$line'"
else
	check_fail "traceflowctl stats: '$(grep '^spool ' "$WORK/stats.txt")', want '$line'"
fi
daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "traceflowd exited $DAEMON_RC"
finish
