#!/usr/bin/env python3
"""livecmp.py OFFLINE_DIR LIVE_DIR: do two traceflowd outputs hold the same flows?

The live daemon numbers frames as they pass its kernel filter and stamps them
with the time they were replayed, so frame numbers and timestamps cannot be
compared with an offline run on the same capture. What must agree is the
content: the same flows, each with the same packets (bytes) in the same
order, and every packet exactly once. Prints a summary line; exit 1 on any
difference.
"""
import collections
import hashlib
import json
import os
import struct
import sys


def read_pcap(path):
    """The packets of a classic pcap file, as bytes."""
    with open(path, 'rb') as f:
        data = f.read()
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        order = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        order = '>'
    else:
        raise ValueError('%s: not a pcap file' % path)
    off, pkts = 24, []
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(order + 'IIII', data[off:off + 16])
        pkts.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return pkts


def flows(outdir):
    """Each flow (segments joined) as a tuple of packet digests."""
    bylabel = collections.OrderedDict()
    for line in open(os.path.join(outdir, 'index.jsonl')):
        e = json.loads(line)
        if e.get('fpout'):
            pkts = read_pcap(os.path.join(outdir, e['fpout']))
            bylabel.setdefault(e['label'], []).extend(
                hashlib.sha1(p).hexdigest()[:16] for p in pkts)
    return [tuple(v) for v in bylabel.values()]


def main():
    off = flows(sys.argv[1])
    live = flows(sys.argv[2])
    want = collections.Counter(off)
    got = collections.Counter(live)
    missing = want - got
    extra = got - want
    npk_off = sum(len(f) for f in off)
    npk_live = sum(len(f) for f in live)
    for f in list(missing)[:5]:
        print('MISSING flow of %d packets (first %s)' % (len(f), f[0]))
    for f in list(extra)[:5]:
        print('EXTRA flow of %d packets (first %s)' % (len(f), f[0]))
    ok = not missing and not extra
    print('livecmp: %s offline_flows=%d live_flows=%d offline_packets=%d live_packets=%d '
          'missing=%d extra=%d' % ('OK' if ok else 'DIFFER', len(off), len(live), npk_off,
                                   npk_live, sum(missing.values()), sum(extra.values())))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
