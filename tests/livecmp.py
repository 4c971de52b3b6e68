#!/usr/bin/env python3
"""livecmp.py OFFLINE_DIR LIVE_DIR: do two traceflowd outputs hold the same flows?

Besides the packets (bytes, in order, every one exactly once), each offline
flow must have exactly one live flow with the same index.jsonl view of it:
the label's addresses and ports, the reason, partial, packets, bytes, the
number of segments and the order of its frames.

- Reason: a flow still open at the end is "eof" offline (end of the file) and
  "shutdown" live (SIGTERM); those two are the same end and compared equal.
- Frame numbers: live, the kernel filter (capture.c capture_filter_text)
  drops ARP and non-TCP IP before the daemon numbers frames, so a capture
  with UDP or ARP numbers its TCP frames differently; offline numbers every
  frame of the file. What must agree is their order: each frame number of a
  flow is replaced by its rank among all frame numbers of all flows of the
  run, and the ranks must be equal (this also checks the flows' relative
  first-packet order and the interleaving of their packets).
- --workers (capture_threads > 1): workers number the frames of one
  interface together but in no defined order across workers, so only
  each flow's own order is compared: its frame numbers must rise, and no
  number may belong to two flows (the packets' order is compared as bytes).
- Times are not compared: the label's timestamp and first/last are replay
  time live, and tcpreplay --topspeed compresses the gaps between packets,
  so a flow's duration live has no bound relative to offline's.
Prints a summary line; exit 1 on any difference.
"""
import collections
import hashlib
import json
import os
import struct
import sys


def read_pcap(path, offset=None, length=None):
    """The packets of a classic pcap file, as bytes (a probe's: length bytes at offset)."""
    with open(path, 'rb') as f:
        data = f.read()
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        order = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        order = '>'
    else:
        raise ValueError('%s: not a pcap file' % path)
    off, pkts, end = 24, [], len(data)
    if offset is not None:
        off, end = offset, offset + length
    while off + 16 <= end:
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
            pkts = read_pcap(os.path.join(outdir, e['fpout']), e.get('offset'), e.get('length'))
            bylabel.setdefault(e['label'], []).extend(
                hashlib.sha1(p).hexdigest()[:16] for p in pkts)
    return [tuple(v) for v in bylabel.values()]


# The same end of a flow open when the input ended: offline, end of file;
# live, SIGTERM.
SAME_REASON = {'eof': 'eof|shutdown', 'shutdown': 'eof|shutdown'}
FIELDS = ('endpoints', 'reasons', 'partial', 'packets', 'bytes', 'segments', 'frame_ranks')


def views(outdir, workers=False):
    """Each flow (segments joined) as the dict of what index.jsonl says of it
    that a live run must repeat, keyed by FIELDS."""
    bylabel = collections.OrderedDict()
    for line in open(os.path.join(outdir, 'index.jsonl')):
        e = json.loads(line)
        bylabel.setdefault(e['label'], []).append(e)
    allframes = sorted(n for segs in bylabel.values() for e in segs for n in (e['index'] or []))
    rank = {n: i for i, n in enumerate(allframes)}
    if workers:
        dup = len(allframes) - len(set(allframes))
        if dup:
            raise SystemExit('livecmp: %s: %d frame numbers in two flows' % (outdir, dup))
    out = []
    for label, segs in bylabel.items():
        segs.sort(key=lambda e: e['segment'] or 0)
        out.append({
            # The label without its trailing "-time" part (replay time live).
            'endpoints': label.rsplit('-', 1)[0],
            'reasons': tuple(SAME_REASON.get(e['reason'], e['reason']) for e in segs),
            'partial': tuple(e['partial'] for e in segs),
            'packets': sum(e['packets'] for e in segs),
            'bytes': sum(e['bytes'] for e in segs),
            'segments': len(segs),
            'frame_ranks': tuple(rank[n] for e in segs for n in (e['index'] or [])),
        })
        if workers:
            fr = [n for e in segs for n in (e['index'] or [])]
            if any(a >= b for a, b in zip(fr, fr[1:])):
                raise SystemExit('livecmp: %s: %s: frame numbers not rising' % (outdir, label))
            out[-1]['frame_ranks'] = len(fr)
    return out


def first_rank(v):
    """A flow's first frame's rank (None with --workers: no global order)."""
    r = v['frame_ranks']
    return r[:1] if isinstance(r, tuple) else None


def compare_views(off, live):
    """Lines describing how the live flows differ from the offline ones."""
    key = lambda v: tuple(v[f] for f in FIELDS)
    want = collections.Counter(key(v) for v in off)
    got = collections.Counter(key(v) for v in live)
    bad = []
    for k in want - got:
        v = dict(zip(FIELDS, k))
        # The live flow it should have been: same endpoints and first frame.
        near = [w for w in live if w['endpoints'] == v['endpoints']
                and first_rank(w) == first_rank(v)]
        if near:
            diff = ['%s offline %s live %s' % (f, str(v[f])[:40], str(near[0][f])[:40])
                    for f in FIELDS if near[0][f] != v[f]]
            bad.append('FLOW %s: %s' % (v['endpoints'], '; '.join(diff)))
        else:
            bad.append('FLOW %s: no live flow with these endpoints and first frame'
                       % v['endpoints'])
    for k in got - want:
        v = dict(zip(FIELDS, k))
        if not any(w['endpoints'] == v['endpoints'] for w in off):
            bad.append('EXTRA live flow %s' % v['endpoints'])
    return bad


def main():
    workers = '--workers' in sys.argv[1:]
    args = [a for a in sys.argv[1:] if a != '--workers']
    off = flows(args[0])
    live = flows(args[1])
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
    bad = compare_views(views(args[0], workers), views(args[1], workers))
    for line in bad[:5]:
        print(line)
    ok = not missing and not extra and not bad
    print('livecmp: %s offline_flows=%d live_flows=%d offline_packets=%d live_packets=%d '
          'missing=%d extra=%d index_differ=%d' % ('OK' if ok else 'DIFFER', len(off), len(live),
                                                  npk_off, npk_live, sum(missing.values()),
                                                  sum(extra.values()), len(bad)))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
