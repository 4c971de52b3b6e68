#!/usr/bin/env python3
"""compat.py: helpers of offline-compat.sh (traceflowd --compat pcapkit).

    compat.py capture OUT us|ns   write the hand-made capture of the test
    compat.py model INPUT OUTDIR  judge OUTDIR/index.jsonl against pcapkit's
                                  rule, applied here to tshark's dissection

The model is pcapkit's TraceFlow rule written down again from its
description (traceflowd(8), "pcapkit compatibility"), not from traceflow's
code: every TCP frame, in file order, keyed (src, srcport, dst, dstport);
a key not open starts a flow labelled src_srcport-dst_dstport-TIME (IPv6
compressed, ':' -> '.', TIME = repr(float(epoch))); a FIN frame ends its
flow, that frame included; what is open at the end is a flow too. The index
must hold exactly those (label, frames) pairs. One refinement, where pcapkit
itself is no reference: a later IP fragment (no TCP header) belongs to its
datagram's flow, as traceflowd files it.

Prints "model: OK flows=N" or the differences, exits 0 or 1 (2: usage/tool).
"""

import ipaddress
import json
import os
import struct
import subprocess
import sys
from decimal import Decimal

BASE = ['tshark', '-n', '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE']


def pyfloat(epoch):
    """Python's repr of the float nearest to the decimal epoch text."""
    return repr(float(Decimal(epoch)))


def addr(text):
    a = ipaddress.ip_address(text)
    return str(a).replace(':', '.') if a.version == 6 else str(a)


def fields(path, filt, names):
    cmd = BASE + ['-r', path, '-Y', filt, '-T', 'fields', '-E', 'separator=\t']
    for n in names:
        cmd += ['-e', n]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0 and not out.stdout:
        sys.exit('tshark failed: %s' % out.stderr[:300])
    rows = []
    for line in out.stdout.splitlines():
        v = line.split('\t')
        rows.append(dict(zip(names, v + [''] * (len(names) - len(v)))))
    return rows


def first(v):
    """The innermost of tshark's comma-separated values (tunnels: the last)."""
    return v.split(',')[-1] if v else ''


def model(path, outdir):
    names = ['frame.number', 'frame.time_epoch', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst',
             'tcp.srcport', 'tcp.dstport', 'tcp.flags.fin', 'ip.id', 'ipv6.fraghdr.ident']
    frames = []
    for r in fields(path, 'tcp && !icmp && !icmpv6', names):
        v6 = bool(r['ipv6.src']) and not r['ip.src']
        src = first(r['ipv6.src'] if v6 else r['ip.src'])
        dst = first(r['ipv6.dst'] if v6 else r['ip.dst'])
        frames.append((int(r['frame.number']), r['frame.time_epoch'], src, dst,
                       int(first(r['tcp.srcport'])), int(first(r['tcp.dstport'])),
                       first(r['tcp.flags.fin']) in ('1', 'True'),
                       first(r['ipv6.fraghdr.ident'] if v6 else r['ip.id'])))
    # Later fragments: the key of their datagram's first fragment, no FIN.
    by_dgram = {(f[2], f[3], f[7]): f for f in frames if f[7]}
    frag = ('(ip.proto == 6 && ip.frag_offset > 0) || '
            '(ipv6.fraghdr.nxt == 6 && ipv6.fraghdr.offset > 0)')
    for r in fields(path, frag, ['frame.number', 'ip.src', 'ip.dst', 'ip.id', 'ipv6.src',
                                 'ipv6.dst', 'ipv6.fraghdr.ident']):
        v6 = bool(r['ipv6.src']) and not r['ip.src']
        f = by_dgram.get((first(r['ipv6.src']), first(r['ipv6.dst']),
                          first(r['ipv6.fraghdr.ident'])) if v6 else
                         (first(r['ip.src']), first(r['ip.dst']), first(r['ip.id'])))
        if f is not None:
            frames.append((int(r['frame.number']), f[1], f[2], f[3], f[4],
                           f[5], False, f[7]))
    frames.sort()

    open_, done = {}, []
    for num, epoch, src, dst, sport, dport, fin, _ in frames:
        key = (src, sport, dst, dport)
        if key not in open_:
            label = '%s_%d-%s_%d-%s' % (addr(src), sport, addr(dst), dport, pyfloat(epoch))
            open_[key] = (label, [])
        open_[key][1].append(num)
        if fin:
            done.append(open_.pop(key))
    want = sorted((lab, tuple(idx)) for lab, idx in list(open_.values()) + done)

    got = []
    with open(os.path.join(outdir, 'index.jsonl')) as fp:
        for line in fp:
            e = json.loads(line)
            got.append((e['label'], tuple(e['index'])))
            if e.get('fpout') and e['fpout'] != e['label'] + '.pcap':
                print('fpout %s is not label + .pcap' % e['fpout'])
                return 1
    got.sort()
    if got == want:
        print('model: OK flows=%d frames=%d' % (len(want), len(frames)))
        return 0
    print('model: FAIL: %d flows expected, %d in the index' % (len(want), len(got)))
    for x in sorted(set(want) - set(got))[:15]:
        print('  missing %s %s' % (x[0], list(x[1])[:12]))
    for x in sorted(set(got) - set(want))[:15]:
        print('  extra   %s %s' % (x[0], list(x[1])[:12]))
    return 1


# --- the hand-made capture ------------------------------------------------

def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


def tcp(sport, dport, flags, seq):
    return struct.pack('!HHIIBBHHH', sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0)


def ether(payload, ethertype, vlan=None):
    hdr = b'\x02\0\0\0\0\x02' + b'\x02\0\0\0\0\x01'
    if vlan is not None:
        hdr += struct.pack('!HH', 0x8100, vlan)
    return hdr + struct.pack('!H', ethertype) + payload


def ipv4(src, dst, proto, payload):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                    ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
    return ether(h + payload, 0x0800)


def ipv4_vlan(src, dst, payload, vlan):
    return ether(ipv4(src, dst, 6, payload)[14:], 0x0800, vlan)


def ipv6(src, dst, payload):
    h = struct.pack('!IHBB16s16s', 6 << 28, len(payload), 6, 64,
                    ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed)
    return ether(h + payload, 0x86dd)


A, B = '192.0.2.1', '198.51.100.2'
A6, B6 = '2001:db8::1', '2001:db8:0:0:1::2'


def hand_frames(ns):
    """(seconds, fraction in units of the file, frame bytes), in order."""
    if ns:
        t = [(1418145369, 924505500), (1418145369, 924505512), (1418145370, 0),
             (1418145370, 1), (1418145370, 100000000), (1418145370, 200000000),
             (1418145370, 300000000), (1418145370, 400000000), (1418145371, 0),
             (1418145371, 500000000)]
    else:
        t = [(1300475168, 855330), (1300475168, 900000), (1300475169, 0), (1329327786, 0),
             (1329327786, 100000), (1329327786, 200000), (1329327786, 300000),
             (1329327786, 400000), (1329327787, 0), (1329327787, 500000)]
    f = [
        ipv4(A, B, 6, tcp(12345, 443, SYN, 1000)),                   # 1
        ipv4(B, A, 6, tcp(443, 12345, SYN | ACK, 5000)),             # 2
        ipv4(A, B, 17, struct.pack('!HHHH', 5353, 5353, 8, 0)),     # 3 UDP
        ipv4_vlan(A, B, tcp(12345, 443, ACK, 1001), 7),              # 4 VLAN 7
        ipv4(A, B, 6, tcp(12345, 443, RST, 1001)),                   # 5 RST
        ipv4(A, B, 6, tcp(12345, 443, FIN | ACK, 1001)),             # 6 FIN
        ipv4(A, B, 6, tcp(12345, 443, ACK, 1002)),                   # 7
        ipv4(B, A, 6, tcp(443, 12345, FIN | ACK, 5001)),             # 8 FIN
        ipv6(A6, B6, tcp(5000, 80, SYN, 1)),                         # 9
        ipv6(A6, B6, tcp(5000, 80, SYN, 99999)),                     # 10 new ISN
    ]
    return [(s, frac, data) for (s, frac), data in zip(t, f)]


def capture(out, res):
    ns = res == 'ns'
    with open(out, 'wb') as fp:
        fp.write(struct.pack('<IHHiIII', 0xa1b23c4d if ns else 0xa1b2c3d4, 2, 4, 0, 0,
                             262144, 1))
        for sec, frac, data in hand_frames(ns):
            fp.write(struct.pack('<IIII', sec, frac, len(data), len(data)) + data)
    return 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == 'capture' and sys.argv[3] in ('us', 'ns'):
        return capture(sys.argv[2], sys.argv[3])
    if len(sys.argv) == 4 and sys.argv[1] == 'model':
        return model(sys.argv[2], sys.argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main())
