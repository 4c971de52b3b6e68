#!/bin/bash
# label-segments.sh: two connections with one label keep their own names
# through all their segments.
#
# Two connections on the same 4-tuple that start at the same instant, one
# on VLAN 10 and one on VLAN 20, have the same label L: the first file to
# be made gets L, the other L-1. Split into segments of 3 packets, each
# connection must keep its name in every segment (L.pcap, L.seg1.pcap, ...
# for one; L-1.pcap, L-1.seg1.pcap, ... for the other), however their
# segments interleave, and the index must give each line the label of its
# own connection. Judged by tshark: every file of a label holds one VLAN.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_traceflowd
need_cmd tshark

# The capture: A (VLAN 10) and B (VLAN 20), 11 packets each, the same
# addresses, ports and first time stamp; B's second packet comes before A's
# (orders chosen so that the two flows' segments end in a different order).
python3 - "$WORK/two.pcap" <<'PY'
import struct, sys

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def frame(vlan, fwd, flags, seq, ack, pay=b""):
    src, dst = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    sp, dp = 40000, 80
    if not fwd:
        src, dst, sp, dp = dst, src, dp, sp
    tcp = struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0) + pay
    ph = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + struct.pack("!HHH", 0x8100, vlan, 0x0800)
    return eth + ip + tcp

def conn(vlan):
    # SYN, SYN-ACK, ACK, 6 data packets, FIN, FIN: 11 packets
    p = [frame(vlan, 1, 0x02, 100, 0), frame(vlan, 0, 0x12, 500, 101), frame(vlan, 1, 0x10, 101, 501)]
    seq = 101
    for i in range(6):
        p.append(frame(vlan, i % 2 == 0, 0x18, seq if i % 2 == 0 else 501, 501 if i % 2 == 0 else seq, b"x"))
        if i % 2 == 0:
            seq += 1
    p.append(frame(vlan, 1, 0x11, seq, 502))
    p.append(frame(vlan, 0, 0x11, 502, seq + 1))
    return p

a, b = conn(10), conn(20)
order = [("a", 0), ("b", 0), ("b", 1), ("b", 2), ("b", 3), ("a", 1), ("a", 2), ("a", 3),
         ("a", 4), ("b", 4), ("b", 5), ("b", 6), ("b", 7), ("a", 5), ("a", 6), ("a", 7),
         ("a", 8), ("a", 9), ("a", 10), ("b", 8), ("b", 9), ("b", 10)]
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    t = 1700000000
    for n, (which, i) in enumerate(order):
        data = (a if which == "a" else b)[i]
        # both first packets at the same microsecond: one label
        us = 0 if n < 2 else n * 1000
        f.write(struct.pack("<IIII", t, us, len(data), len(data)) + data)
PY

tf split --read "$WORK/two.pcap" --output "$WORK/out" --segment-packets 3
[ "$TF_RC" -eq 0 ] || fail "traceflowd exited $TF_RC: $(cat "$TF_ERR")"

# Each label of the index: its files' VLANs (tshark), one VLAN a label.
python3 - "$WORK/out" <<'PY' >"$WORK/check.out" 2>&1 || check_fail "$(cat "$WORK/check.out")"
import json, os, subprocess, sys
out = sys.argv[1]
labels = {}
for line in open(os.path.join(out, "index.jsonl")):
    r = json.loads(line)
    vl = subprocess.run(["tshark", "-r", os.path.join(out, r["fpout"]), "-T", "fields",
                         "-e", "vlan.id"], capture_output=True, text=True).stdout.split()
    labels.setdefault(r["label"], set()).update(vl)
    # the file's name is the label's (suffix and all)
    base = os.path.basename(r["fpout"])
    if not base.startswith(r["label"] + "."):
        sys.exit("%s: file %s is not named after its label" % (r["label"], r["fpout"]))
if len(labels) != 2:
    sys.exit("labels: %s (expected two)" % sorted(labels))
for l, v in sorted(labels.items()):
    if len(v) != 1:
        sys.exit("label %s holds the packets of VLANs %s: two connections' segments" % (l, sorted(v)))
print("; ".join("%s: VLAN %s" % (l, next(iter(v))) for l, v in sorted(labels.items())))
PY
[ "$failures" -eq 0 ] && ok "each label's segments hold one connection: $(cat "$WORK/check.out")"
finish
