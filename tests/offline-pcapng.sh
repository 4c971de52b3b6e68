#!/bin/bash
#
# offline-pcapng.sh: traceflowd --read over pcapng files that libpcap
# refuses: gencap -g writes one section with three interfaces of different
# link types (Ethernet, raw IP, Linux cooked), snap lengths and timestamp
# resolutions (10^-6, 10^-9, 2^-20 with an offset). Judged through tshark
# (tsharkcmp.py, then judge.py): every TCP frame in exactly one file, the
# same bytes and time, each file with its interface's link type and
# snaplen, "interface" naming it. Also: big-endian sections, standard
# input, a BPF filter over all three link types (frame numbers still
# Wireshark's), the same connection on two interfaces (two flows), the link
# types only files carry (NFLOG, PPP, PPP_HDLC, C_HDLC, PFLOG, IPNET,
# ARCNET_LINUX), a file cut mid-block (an error with its offset, everything
# before indexed), and --format pcapng output.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_cmd tshark
need_cmd capinfos
need_traceflowd
need_file "$GENCAP" gencap

# gen NAME GENCAP-OPTIONS...: $WORK/NAME.pcapng
gen() {
	local name=$1

	shift
	"$GENCAP" -g "$@" -o "$WORK/$name.pcapng" 2>"$WORK/$name.gencap" ||
	    fail "gencap -g $* failed: $(cat "$WORK/$name.gencap")"
}

# split_judge NAME [TRACEFLOWD OPTIONS...]: split and judge $WORK/NAME.pcapng.
split_judge() {
	local name=$1 in out

	shift
	in=$WORK/$name.pcapng
	out=$WORK/$name.d
	tf_ok "$name" --read "$in" --output "$out" "$@" || return 1
	tsharkcmp_ok "$in" "$out" || return 1
	judge_ok "$in" "$out" || return 1
}

# 1. Three interfaces, plain and mixed, little- and big-endian.
gen three -c 60 -C 9 -p 10 -S 11
gen three-mixed -c 60 -C 9 -p 10 -m -6 30 -S 12
gen three-big -c 60 -C 9 -p 10 -m -b -S 13
for name in three three-mixed three-big; do
	if split_judge "$name"; then
		index_py "$WORK/$name.d" '
names = sorted(set(e["interface"] for e in E))
assert names == ["any", "eth0", "tun0"], names
' && ok "$name: three interfaces: $JUDGE_LINE"
	fi
done

# The output's precision: nanoseconds, since two interfaces are finer than 10^-6.
if [ -f "$WORK/three.d/index.jsonl" ]; then
	index_py "$WORK/three.d" '
import struct
for e in E:
    magic = struct.unpack("<I", open(os.path.join(D, e["fpout"]), "rb").read(4))[0]
    assert magic == 0xa1b23c4d, (e["fpout"], hex(magic))
' && ok "nanosecond output for 10^-9 and 2^-20 interfaces"
fi

# 2. From standard input: the same split as from the file.
in=$WORK/three-mixed.pcapng
out=$WORK/stdin.d
rc=0
"$TRACEFLOWD" --read - --output "$out" <"$in" >"$WORK/stdin.out" 2>"$WORK/stdin.err" || rc=$?
if [ "$rc" -ne 0 ]; then
	check_fail "--read - (pcapng): exit $rc: $(head -c 300 "$WORK/stdin.err")"
elif tsharkcmp_ok "$in" "$out" && judge_ok "$in" "$out"; then
	if ! cmp -s "$out.cmp" "$WORK/three-mixed.d.cmp"; then
		check_fail "--read - (pcapng): other flows than from the file"
	else
		ok "--read - (pcapng): $JUDGE_LINE"
	fi
fi

# 3. A BPF filter compiled for each link type: only port 443 is written,
# frames keep Wireshark's numbers.
in=$WORK/three.pcapng
tshark -r "$in" -n -Y 'tcp.port == 443' -T fields -e frame.number >"$WORK/bpf.want" 2>/dev/null ||
    true
if tf_ok bpf --read "$in" --output "$WORK/bpf.d" 'tcp port 443' &&
    tsharkcmp_ok "$in" "$WORK/bpf.d"; then
	cut -f1 "$WORK/bpf.d.cmp" >"$WORK/bpf.got"
	if ! [ -s "$WORK/bpf.want" ]; then
		check_fail "no frame on port 443 in $in"
	elif ! cmp -s "$WORK/bpf.want" "$WORK/bpf.got"; then
		check_fail "BPF 'tcp port 443' over three link types: frames differ from tshark's:" \
		    "$(diff "$WORK/bpf.want" "$WORK/bpf.got" | head -n 6)"
	else
		index_py "$WORK/bpf.d" '
assert len(set(e["interface"] for e in E)) == 3, set(e["interface"] for e in E)
' && ok "BPF 'tcp port 443' on three link types: $(wc -l <"$WORK/bpf.got") frames, as tshark"
	fi
fi

# 4. The same connection seen on two interfaces (two mirror ports) is two
# flows, one per interface, each file with its own interface's frames.
python3 - "$WORK/mirror.pcapng" <<'PY'
import struct, sys
def blk(t, body):
    body += b'\0' * ((-len(body)) % 4)
    return struct.pack('<II', t, len(body) + 12) + body + struct.pack('<I', len(body) + 12)
def idb(name):
    n = name.encode()
    return blk(1, struct.pack('<HHI', 1, 0, 0) + struct.pack('<HH', 2, len(n)) + n
               + b'\0' * ((-len(n)) % 4) + b'\0' * 4)
def tcp(sport, dport, flags, seq, ack):
    t = struct.pack('>HHIIBBHHH', sport, dport, seq, ack, 0x50, flags, 65535, 0, 0)
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(t), 1, 0, 64, 6, 0,
                     bytes([10, 0, 0, 1 if sport != 80 else 2]),
                     bytes([10, 0, 0, 2 if sport != 80 else 1]))
    return b'\x02' * 6 + b'\x04' * 6 + b'\x08\x00' + ip + t
out = blk(0x0a0d0d0a, struct.pack('<IHHq', 0x1a2b3c4d, 1, 0, -1)) + idb('mirror-a') + idb('mirror-b')
ts = 1700000000 * 1000000
pkts = [tcp(1234, 80, 2, 100, 0), tcp(80, 1234, 0x12, 500, 101), tcp(1234, 80, 0x10, 101, 501),
        tcp(1234, 80, 0x11, 101, 501), tcp(80, 1234, 0x11, 501, 102), tcp(1234, 80, 0x10, 102, 502)]
for i, p in enumerate(pkts):
    for ifid in (0, 1):
        ts += 10
        out += blk(6, struct.pack('<IIIII', ifid, ts >> 32, ts & 0xffffffff, len(p), len(p)) + p)
open(sys.argv[1], 'wb').write(out)
PY
if tf_ok mirror --read "$WORK/mirror.pcapng" --output "$WORK/mirror.d" &&
    tsharkcmp_ok "$WORK/mirror.pcapng" "$WORK/mirror.d"; then
	index_py "$WORK/mirror.d" '
by = {e["interface"]: e for e in E}
assert len(E) == 2 and sorted(by) == ["mirror-a", "mirror-b"], [e["interface"] for e in E]
assert by["mirror-a"]["index"] == [1, 3, 5, 7, 9, 11], by["mirror-a"]["index"]
assert by["mirror-b"]["index"] == [2, 4, 6, 8, 10, 12], by["mirror-b"]["index"]
assert all(e["reason"] == "fin" for e in E), [e["reason"] for e in E]
' && ok "one connection on two interfaces: two flows, one per interface"
fi

# 5. The link types only files carry, one interface each: NFLOG, PPP,
# PPP_HDLC, C_HDLC, PFLOG, IPNET, ARCNET_LINUX, each with one connection.
python3 - "$WORK/links.pcapng" <<'PY'
import struct, sys
def blk(t, body):
    body += b'\0' * ((-len(body)) % 4)
    return struct.pack('<II', t, len(body) + 12) + body + struct.pack('<I', len(body) + 12)
def ip4(i, c2s, flags, seq, ack):
    a, b = bytes([10, 9, i, 1]), bytes([10, 9, i, 2])
    sp, dp = (40000 + i, 80) if c2s else (80, 40000 + i)
    t = struct.pack('>HHIIBBHHH', sp, dp, seq, ack, 0x50, flags, 65535, 0, 0) + b'x' * 10
    return struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(t), 1, 0, 64, 6, 0,
                       a if c2s else b, b if c2s else a) + t
def nflog(p):
    tlv = lambda t, v: struct.pack('<HH', 4 + len(v), t) + v + b'\0' * ((-len(v)) % 4)
    return b'\x02\x00\x00\x01' + tlv(1, b'\x08\x00\x03\x00') + tlv(10, b'log') + tlv(9, p)
links = [
    (239, nflog),
    (9, lambda p: b'\xff\x03\x00\x21' + p),
    (50, lambda p: b'\xff\x03\x00\x21' + p),
    (104, lambda p: b'\x0f\x00\x08\x00' + p),
    (117, lambda p: bytes([61, 2]) + b'\0' * 62 + p),
    (226, lambda p: b'\x01\x02\0\0' + struct.pack('>I', len(p)) + b'\0' * 16 + p),
    (129, lambda p: b'\x01\x02\x00\x00\xd4\x00\x00\x01' + p),
]
out = blk(0x0a0d0d0a, struct.pack('<IHHq', 0x1a2b3c4d, 1, 0, -1))
for lt, _ in links:
    out += blk(1, struct.pack('<HHI', lt, 0, 65535) + b'\0' * 4)
ts = 1700000000 * 1000000
script = [(1, 2, 100, 0), (0, 0x12, 500, 101), (1, 0x10, 101, 501), (1, 0x11, 101, 501),
          (0, 0x11, 501, 102), (1, 0x10, 102, 502)]
for k, step in enumerate(script):
    for i, (lt, wrap) in enumerate(links):
        ts += 7
        p = wrap(ip4(i, *step))
        out += blk(6, struct.pack('<IIIII', i, ts >> 32, ts & 0xffffffff, len(p), len(p)) + p)
open(sys.argv[1], 'wb').write(out)
PY
if tf_ok links --read "$WORK/links.pcapng" --output "$WORK/links.d" &&
    tsharkcmp_ok "$WORK/links.pcapng" "$WORK/links.d" &&
    judge_ok "$WORK/links.pcapng" "$WORK/links.d"; then
	if [ "$(judge_field tcp_frames)" -ne 42 ] || [ "$(judge_field flows)" -ne 7 ]; then
		check_fail "seven link types: $JUDGE_LINE, expected 42 TCP frames in 7 flows"
	else
		ok "NFLOG, PPP, PPP_HDLC, C_HDLC, PFLOG, IPNET, ARCNET_LINUX: $JUDGE_LINE"
	fi
fi

# 6. --format pcapng, in both byte orders: tshark reads the same frames from
# the files; each has its interface's name, link type and snaplen, and the
# label as its section comment.
for order in little big; do
	in=$WORK/three-mixed.pcapng
	out=$WORK/ngout-$order.d
	if tf_ok "ngout-$order" --read "$in" --output "$out" --format pcapng --byteorder "$order" &&
	    tsharkcmp_ok "$in" "$out" && judge_ok "$in" "$out"; then
		index_py "$out" '
import subprocess
for e in E[:12]:
    assert e["fpout"].endswith(".pcapng"), e["fpout"]
    info = subprocess.run(["capinfos", os.path.join(D, e["fpout"])], stdout=subprocess.PIPE,
                          universal_newlines=True).stdout
    assert "Capture comment:     %s\n" % e["label"] in info, (e["label"], info)
    assert "Name = %s\n" % e["interface"] in info, (e["interface"], info)
' && ok "--format pcapng --byteorder $order: $JUDGE_LINE"
	fi
done

# 7. Cut in the middle of a block: exit 1, the offset named, every frame
# before the cut split and indexed.
in=$WORK/three-mixed.pcapng
size=$(stat -c %s "$in")
head -c $((size * 2 / 3 + 3)) "$in" >"$WORK/cut.pcapng"
tf cut --read "$WORK/cut.pcapng" --output "$WORK/cut.d"
if [ "$TF_RC" -ne 1 ]; then
	check_fail "pcapng cut mid-block: exit $TF_RC, expected 1"
elif ! grep -qE 'offset [0-9]+: .*truncated' "$TF_ERR"; then
	check_fail "pcapng cut mid-block: no offset and truncation in: $(head -c 300 "$TF_ERR")"
elif tsharkcmp_ok "$WORK/cut.pcapng" "$WORK/cut.d" --truncated &&
    judge_ok "$WORK/cut.pcapng" "$WORK/cut.d" --truncated; then
	ok "pcapng cut mid-block: exit 1, $(grep -o 'offset [0-9]*' "$TF_ERR" | head -n 1), $JUDGE_LINE"
fi

# 8. Interfaces belong to their section: 300 sections (300 captures of eth0
# concatenated, a third of them big-endian), each with its interface and one
# connection of 8 frames, after a section of two interfaces (eth0 and a USB
# one) and no packet. Every frame is filed, tshark judging. (tshark 4.0
# numbers a frame's interface within its section and names it from the
# first section's list: the interfaces all share a name and a link type so
# that tsharkcmp's check holds; check_capfile tests the numbers.)
python3 - "$WORK/sections.pcapng" <<'PY'
import struct, sys
def blk(e, t, body):
    body += b'\0' * ((-len(body)) % 4)
    return struct.pack(e + 'II', t, len(body) + 12) + body + struct.pack(e + 'I', len(body) + 12)
def idb(e, linktype, name):
    n = name.encode()
    return blk(e, 1, struct.pack(e + 'HHIHH', linktype, 0, 0, 2, len(n)) + n
               + b'\0' * ((-len(n)) % 4) + b'\0' * 4)
def tcp(s, c2s, flags, seq, ack):
    a, b = bytes([10, 7, s >> 8, s & 255]), bytes([10, 8, s >> 8, s & 255])
    sp, dp = (20000 + s, 80) if c2s else (80, 20000 + s)
    t = struct.pack('>HHIIBBHHH', sp, dp, seq, ack, 0x50, flags, 65535, 0, 0) + b'x' * (flags & 8)
    return b'\x02' * 6 + b'\x04' * 6 + b'\x08\x00' + struct.pack(
        '>BBHHHBBH4s4s', 0x45, 0, 20 + len(t), 1, 0, 64, 6, 0,
        a if c2s else b, b if c2s else a) + t
script = [(1, 2, 100, 0), (0, 0x12, 500, 101), (1, 0x10, 101, 501), (1, 0x18, 101, 501),
          (0, 0x10, 501, 109), (1, 0x11, 109, 501), (0, 0x11, 501, 110), (1, 0x10, 110, 502)]
shb = lambda e: blk(e, 0x0a0d0d0a, struct.pack(e + 'IHHq', 0x1a2b3c4d, 1, 0, -1))
out, ts = shb('<') + idb('<', 1, 'eth0') + idb('<', 220, 'usbmon1'), 1700000000 * 1000000
for s in range(300):
    e = '>' if s % 3 == 2 else '<'
    out += shb(e) + idb(e, 1, 'eth0')
    for step in script:
        ts += 10
        p = tcp(s, *step)
        out += blk(e, 6, struct.pack(e + 'IIIII', 0, ts >> 32, ts & 0xffffffff, len(p), len(p)) + p)
open(sys.argv[1], 'wb').write(out)
PY
in=$WORK/sections.pcapng
frames=$(tshark -r "$in" 2>/dev/null | wc -l)
if [ "$frames" -ne 2400 ]; then
	check_fail "300 sections: tshark reads $frames frames of the generated file, expected 2400"
elif split_judge sections; then
	if [ "$(judge_field tcp_frames)" -ne 2400 ] || [ "$(judge_field flows)" -ne 300 ]; then
		check_fail "300 sections: $JUDGE_LINE, expected 2400 TCP frames in 300 flows"
	else
		index_py "$WORK/sections.d" '
assert len(E) == 300 and all(e["interface"] == "eth0" for e in E)
assert all(e["reason"] == "fin" and e["packets"] == 8 for e in E)
' && ok "300 sections after an empty one: $JUDGE_LINE"
	fi
fi

# 8b. Bounded per section, not across the file: 20 sections of the same
# 256 interfaces (if0 to if255; 5,120 in all, more than traceflowd takes
# inputs at once), one connection of 8 frames on each section's last.
python3 - "$WORK/wide.pcapng" <<'PY'
import struct, sys
def blk(t, body):
    body += b'\0' * ((-len(body)) % 4)
    return struct.pack('<II', t, len(body) + 12) + body + struct.pack('<I', len(body) + 12)
def tcp(s, c2s, flags, seq, ack):
    a, b = bytes([10, 9, 0, s]), bytes([10, 9, 1, s])
    sp, dp = (30000 + s, 443) if c2s else (443, 30000 + s)
    t = struct.pack('>HHIIBBHHH', sp, dp, seq, ack, 0x50, flags, 65535, 0, 0) + b'y' * (flags & 8)
    return b'\x02' * 6 + b'\x04' * 6 + b'\x08\x00' + struct.pack(
        '>BBHHHBBH4s4s', 0x45, 0, 20 + len(t), 1, 0, 64, 6, 0,
        a if c2s else b, b if c2s else a) + t
script = [(1, 2, 100, 0), (0, 0x12, 500, 101), (1, 0x10, 101, 501), (1, 0x18, 101, 501),
          (0, 0x10, 501, 109), (1, 0x11, 109, 501), (0, 0x11, 501, 110), (1, 0x10, 110, 502)]
out, ts = b'', 1700000000 * 1000000
for s in range(20):
    out += blk(0x0a0d0d0a, struct.pack('<IHHq', 0x1a2b3c4d, 1, 0, -1))
    for k in range(256):
        n = b'if%d' % k
        out += blk(1, struct.pack('<HHIHH', 1, 0, 0, 2, len(n)) + n + b'\0' * ((-len(n)) % 4)
                   + b'\0' * 4)
    for step in script:
        ts += 10
        p = tcp(s, *step)
        out += blk(6, struct.pack('<IIIII', 255, ts >> 32, ts & 0xffffffff, len(p), len(p)) + p)
open(sys.argv[1], 'wb').write(out)
PY
if split_judge wide; then
	if [ "$(judge_field tcp_frames)" -ne 160 ] || [ "$(judge_field flows)" -ne 20 ]; then
		check_fail "20 sections of 256 interfaces: $JUDGE_LINE, expected 160 TCP frames in 20 flows"
	else
		index_py "$WORK/wide.d" '
assert all(e["interface"] == "if255" for e in E), set(e["interface"] for e in E)
' && ok "20 sections of 256 interfaces (5,120 in all): $JUDGE_LINE"
	fi
fi

# 9. The capture's clock steps back 3 h halfway through (every interface, in
# its own resolution and offset): each index line's first and last are the
# earliest and latest times of its frames, as tshark reads them, never last
# before first; the label keeps its first frame's time.
in=$WORK/three.pcapng
python3 - "$in" "$WORK/stepback.pcapng" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
off, e, tps, epbs = 0, '<', [], []
while off < len(d):
    if struct.unpack('<I', d[off:off + 4])[0] == 0x0a0d0d0a:
        e = '<' if struct.unpack('<I', d[off + 8:off + 12])[0] == 0x1a2b3c4d else '>'
        tps = []
    t, n = struct.unpack(e + 'II', d[off:off + 8])
    if t == 1:
        res, o = 6, off + 16
        while o < off + n - 4:
            code, ln = struct.unpack(e + 'HH', d[o:o + 4])
            if code == 0:
                break
            if code == 9:
                res = d[o + 4]
            o += 4 + ln + (-ln) % 4
        tps.append(2 ** (res & 0x7f) if res & 0x80 else 10 ** res)
    elif t == 6:
        epbs.append((off, e, tps[struct.unpack(e + 'I', d[off + 8:off + 12])[0]]))
    off += n
for off, e, u in epbs[len(epbs) // 2:]:
    hi, lo = struct.unpack(e + 'II', d[off + 12:off + 20])
    ts = (hi << 32 | lo) - 3 * 3600 * u
    d[off + 12:off + 20] = struct.pack(e + 'II', ts >> 32, ts & 0xffffffff)
open(sys.argv[2], 'wb').write(d)
PY
in=$WORK/stepback.pcapng
tshark -r "$in" -T fields -e frame.number -e frame.time_epoch >"$WORK/stepback.times" 2>/dev/null ||
    true
if tf_ok stepback --read "$in" --output "$WORK/stepback.d" &&
    tsharkcmp_ok "$in" "$WORK/stepback.d"; then
	index_py "$WORK/stepback.d" '
T = {}
for line in open(os.path.join(D, "..", "stepback.times")):
    num, t = line.split()
    sec, frac = t.split(".")
    T[int(num)] = int(sec) * 10**9 + int(frac.ljust(9, "0")[:9])
stepped = 0
for e in E:
    times = [T[n] for n in e["index"]]
    assert e["first_ns"] <= e["last_ns"], (e["label"], e["first_ns"], e["last_ns"])
    assert e["first_ns"] == min(times), (e["label"], e["first_ns"], min(times))
    assert e["last_ns"] == max(times), (e["label"], e["last_ns"], max(times))
    stepped += times != sorted(times)
assert stepped > 0, "no flow across the step"
print("%d flows, %d across the step" % (len(E), stepped))
' >"$WORK/stepback.py" && ok "clock steps back 3 h: first <= last on every line ($(cat "$WORK/stepback.py"))"
fi

finish
