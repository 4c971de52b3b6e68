#!/usr/bin/env python3
"""tsharkcmp.py: the byte-level judge for captures libpcap cannot read.

    tsharkcmp.py [--truncated] INPUT OUTDIR

pcapcmp reads its INPUT with libpcap, which refuses pcapng files whose
interfaces differ in link type or snap length. This judge reads both sides
with tshark instead, so that it is independent of traceflowd's own reader.
For each entry of OUTDIR/index.jsonl it checks that the file named by
"fpout" holds exactly the input frames listed in "index", in order: bytes,
captured and wire length, timestamp (tshark's frame.time_epoch, to the
nanosecond) and the protocol stack tshark dissects up to TCP (which follows
from the file's link type); that the file's one interface has the encapsulation and
capture length of the input frame's interface (capinfos); and that
"interface" names it (if_name, else its number). No frame may be in two
entries, and OUTDIR may hold no per-flow file the index does not name.
--truncated: INPUT ends mid-block; tshark's error exit is expected.

On success it prints "FRAME\\tFLOWNO\\tLABEL" per covered frame, the input of
judge.py, and exits 0; mismatches go to stderr and the exit status is 1.
"""

import json
import os
import re
import struct
import subprocess
import sys

MAX_ERRORS = 40


def tshark_frames(path, truncated=False):
    """frame number -> (iface, name, time, len, caplen, protocols, raw hex)."""
    p = subprocess.run(['tshark', '-n', '-r', path, '-T', 'json', '-x'], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True, check=False)
    if p.returncode != 0 and not truncated:
        sys.exit('tsharkcmp: tshark failed on %s: %s' % (path, p.stderr.strip()[-300:]))
    out = {}
    for pkt in json.loads(p.stdout or '[]'):
        lay = pkt['_source']['layers']
        fr = lay['frame']
        raw = lay.get('frame_raw', [''])[0]
        out[int(fr['frame.number'])] = (
            fr.get('frame.interface_id'),
            fr.get('frame.interface_id_tree', {}).get('frame.interface_name'),
            fr.get('frame.time_epoch'), fr.get('frame.len'), fr.get('frame.cap_len'),
            link_stack(fr.get('frame.protocols')), raw)
    return out


def record_offsets(path):
    """Where each record of a pcap file begins (a shared capture's probes are ranges of them)."""
    data = open(path, 'rb').read()
    end = '<' if data[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
    offs, o = [], 24
    while o + 16 <= len(data):
        offs.append(o)
        o += 16 + struct.unpack(end + 'I', data[o + 8:o + 12])[0]
    return offs


def probe_frames(path, entry, cache):
    """A probe's records in its shared capture, numbered from 1 as a file of its own would be."""
    if path not in cache:
        cache[path] = (tshark_frames(path), record_offsets(path))
    frames, offs = cache[path]
    lo, hi = entry['offset'], entry['offset'] + entry['length']
    ks = [k + 1 for k, o in enumerate(offs) if lo <= o < hi]
    return {i + 1: frames[k] for i, k in enumerate(ks) if k in frames}


def link_stack(protocols):
    """The dissected layers up to TCP: what follows depends on the rest of the stream."""
    if protocols is None:
        return None
    layers = protocols.split(':')
    return ':'.join(layers[:layers.index('tcp') + 1]) if 'tcp' in layers else protocols


def capinfos_ifaces(path):
    """[(encapsulation, capture length)] per interface, as capinfos prints them."""
    p = subprocess.run(['capinfos', path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, check=False)
    ifs = []
    for line in p.stdout.splitlines():
        line = line.strip()
        if re.match(r'^Interface #\d+ info:', line):
            ifs.append({})
        elif ifs and '=' in line:
            k, v = line.split('=', 1)
            ifs[-1][k.strip()] = v.strip()
    # A pcapng snaplen of 0 means no limit; a pcap file says so with the maximum.
    return [(i.get('Encapsulation'),
             '262144' if i.get('Capture length') == '0' else i.get('Capture length'))
            for i in ifs]


def main():
    args = sys.argv[1:]
    truncated = args[:1] == ['--truncated']
    if truncated:
        args = args[1:]
    if len(args) != 2:
        sys.exit('usage: tsharkcmp.py [--truncated] INPUT OUTDIR')
    inp, outdir = args
    errors = []

    def err(msg):
        errors.append(msg)

    ref = tshark_frames(inp, truncated)
    in_ifs = capinfos_ifaces(inp)
    entries = [json.loads(l) for l in open(os.path.join(outdir, 'index.jsonl'))]
    seen = {}
    named = set()
    shared = {}
    lines = []
    for no, e in enumerate(entries):
        frames = e.get('index') or []
        for f in frames:
            if f in seen:
                err('frame %d in entries %d and %d' % (f, seen[f], no))
            seen[f] = no
            lines.append((f, no, e.get('label')))
        if not e.get('fpout'):
            continue
        named.add(e['fpout'])
        path = os.path.join(outdir, e['fpout'])
        got = probe_frames(path, e, shared) if e.get('offset') is not None else tshark_frames(path)
        if len(got) != len(frames):
            err('%s: %d frames, the index lists %d' % (e['fpout'], len(got), len(frames)))
            continue
        for k, f in enumerate(frames, 1):
            want = ref.get(f)
            if want is None:
                err('%s: frame %d is not in the input' % (e['fpout'], f))
                continue
            for i, what in ((2, 'time'), (3, 'wire length'), (4, 'captured length'),
                            (5, 'protocols'), (6, 'bytes')):
                if got[k][i] != want[i]:
                    err('%s: record %d (frame %d): %s %s, the input has %s'
                        % (e['fpout'], k, f, what, str(got[k][i])[:60], str(want[i])[:60]))
        out_ifs = capinfos_ifaces(path)
        iface = ref[frames[0]][0] if frames and frames[0] in ref else None
        if iface is not None and int(iface) < len(in_ifs):
            if out_ifs != [in_ifs[int(iface)]]:
                err('%s: interface %s, the input\'s interface %s is %s'
                    % (e['fpout'], out_ifs, iface, in_ifs[int(iface)]))
            name = ref[frames[0]][1]
            # tshark calls an interface without if_name "unknown"; the index, by number.
            want_name = name if name and name != 'unknown' else str(iface)
            if len(in_ifs) > 0 and e.get('interface') != want_name:
                err('entry %d: "interface" %r, its frames come from %r'
                    % (no, e.get('interface'), want_name))
    for dirpath, dirs, files in os.walk(outdir):
        dirs[:] = [d for d in dirs if d != '.catalog']  # the spool's catalog: no flow's file
        for fn in files:
            rel = os.path.relpath(os.path.join(dirpath, fn), outdir)
            if fn != 'index.jsonl' and rel not in named:  # the log, and each partition's own
                err('%s: a file the index does not name' % rel)
    for m in errors[:MAX_ERRORS]:
        print('tsharkcmp: ' + m, file=sys.stderr)
    if errors:
        return 1
    for f, no, label in sorted(lines):
        print('%d\t%d\t%s' % (f, no, label))
    return 0


if __name__ == '__main__':
    sys.exit(main())
