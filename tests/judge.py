#!/usr/bin/env python3
"""judge.py: the flow-level judge of traceflowd's offline mode.

    judge.py [--truncated] [--quiet] INPUT OUTDIR PCAPCMP_OUTPUT

tshark is the independent reference. Its TCP frames are grouped by
(tcp.stream, VLAN ids); traceflowd's frames, as listed by pcapcmp
("FRAME\tFLOWNO\tLABEL", segments of one flow share the label), by label.
The two partitions must be equal, with one refinement allowed: a tshark
stream may be split into consecutive flows when the earlier piece ended with
reason fin, rst, reuse or unanswered, or (with --idle-timeout SEC) idle after
a silence of SEC or more (printed as NOTE lines); but not after an rst when
the next piece begins with the SYN the earlier one sent (same sender and
sequence number) less than --linger SEC (2) later: a connection attempt
retried while its refused flow lingers is one flow, as it is one stream for
tshark (later, the refused flow is filed already: a NOTE).

Besides the partition it checks every entry of OUTDIR/index.jsonl: "index"
strictly increasing; "partial" false iff the flow's first frame has SYN (a
flow that starts with a SYN-ACK, its SYN lost, may be either);
src/srcport/dst/dstport (src is the SYN's sender, else the first packet's),
"vlan" as tshark decodes it; the label built from those and the first
packet's time.

Two places where tshark is no reference, handled explicitly:
  - IP fragments after the first carry no TCP header, so with
    ip.defragment:FALSE tshark does not call them TCP. A later fragment whose
    first fragment (same addresses, IP id and VLANs) came earlier and is TCP
    is expected in that fragment's stream.
  - frames tshark sees as TCP but cannot dissect (e.g. IPv6 BIG TCP with
    payload length 0): traceflowd may skip them or write them (NOTE lines).

--truncated: INPUT ends mid-record; tshark's error exit is expected and only
the frames it read before the cut are judged.

Prints a summary line "judge: OK|FAIL tcp_frames=N ..." and exits 0 when
consistent, 1 when not, 2 on a usage or tool error.
"""

import argparse
import ipaddress
import json
import os
import re
import subprocess
import sys

BASE = ['tshark', '-n', '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE']
TCP_FILTER = 'tcp && !icmp && !icmpv6'
TCP_FIELDS = ['frame.number', 'tcp.stream', 'vlan.id', 'tcp.flags.syn', 'tcp.flags.ack',
              'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport',
              'ip.id', 'ip.flags.mf', 'ieee8021ad.id', 'tcp.seq_raw']
FRAG_FILTER = ('(ip.proto == 6 && ip.frag_offset > 0) || '
               '(ipv6.fraghdr.nxt == 6 && ipv6.fraghdr.offset > 0)')
FRAG_FIELDS = ['frame.number', 'vlan.id', 'ip.src', 'ip.dst', 'ip.id',
               'ipv6.src', 'ipv6.dst', 'ipv6.fraghdr.ident', 'ieee8021ad.id']
ODD_FILTER = '!tcp && frame.protocols matches ":tcp(:|$)"'
SPLIT_OK = ('fin', 'rst', 'reuse', 'unanswered', 'refused')
MAX_REPORT = 40


def resyn(expected, fa, fb):
    """Does piece fb begin with a SYN that piece fa sent already (same sender, same ISN)?"""
    b = expected.get(min(fb))
    if b is None or not b.syn or b.ack or b.seq is None:
        return False
    return any(expected[n].syn and not expected[n].ack and expected[n].seq == b.seq and
               expected[n].src == b.src and expected[n].sport == b.sport
               for n in fa if n in expected)


class Judge:
    def __init__(self, quiet):
        self.failures = 0
        self.notes = 0
        self.quiet = quiet

    def fail(self, msg):
        self.failures += 1
        if self.failures <= MAX_REPORT:
            print('FAIL: ' + msg)
        elif self.failures == MAX_REPORT + 1:
            print('FAIL: (further failures not listed)')

    def note(self, msg):
        self.notes += 1
        if not self.quiet:
            print('NOTE: ' + msg)


def tshark(path, dfilter, fields, truncated):
    """Run tshark; return rows as lists of per-field value lists."""
    cmd = BASE + ['-r', path, '-Y', dfilter, '-T', 'fields', '-E', 'separator=/t',
                  '-E', 'occurrence=a', '-E', 'aggregator=,']
    for f in fields:
        cmd += ['-e', f]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, check=False)
    except OSError as e:
        sys.exit('judge: cannot run tshark: %s' % e)
    if p.returncode != 0 and not truncated:
        sys.exit('judge: tshark failed (%d) on %s: %s' % (p.returncode, path,
                                                          p.stderr.strip()))
    rows = []
    for line in p.stdout.splitlines():
        cols = line.split('\t')
        cols += [''] * (len(fields) - len(cols))
        rows.append([c.split(',') if c else [] for c in cols])
    return rows


def first(vals):
    return vals[0] if vals else None


def truth(vals):
    v = first(vals)
    return v is not None and v.lower() in ('1', 'true')


def vlans(outer, inner):
    """VLAN ids outermost first: tshark names an 802.1ad S-tag ieee8021ad.id."""
    return tuple(int(v) for v in outer) + tuple(int(v) for v in inner)


def norm_addr(a):
    """An address as the index or tshark writes it, normalised; None if unparsable."""
    if a is None:
        return None
    try:
        return str(ipaddress.ip_address(a))
    except ValueError:
        pass
    try:  # IPv6 with colons turned to dots, as in labels
        return str(ipaddress.ip_address(a.replace('.', ':')))
    except ValueError:
        return None


def label_addr(a):
    """The address as a label spells it: IPv6 colons become dots."""
    return a.replace(':', '.')


class Frame:
    __slots__ = ('num', 'stream', 'vlan', 'syn', 'ack', 'src', 'dst', 'sport', 'dport', 'seq')


def load_reference(path, truncated):
    """tshark's TCP frames (plus later fragments mapped to a stream), and odd frames."""
    frames = {}
    firstfrag = {}
    for r in tshark(path, TCP_FILTER, TCP_FIELDS, truncated):
        f = Frame()
        f.num = int(first(r[0]))
        f.stream = int(first(r[1]))
        f.vlan = vlans(r[13], r[2])
        f.syn = truth(r[3])
        f.ack = truth(r[4])
        f.src = first(r[5]) or first(r[7])
        f.dst = first(r[6]) or first(r[8])
        f.sport = int(first(r[9]))
        f.dport = int(first(r[10]))
        f.seq = first(r[14]) if len(r) > 14 else None
        frames[f.num] = f
        if truth(r[12]):  # IPv4 first fragment of a TCP datagram
            firstfrag[('4', f.src, f.dst, first(r[11]), f.vlan)] = f
    ipv6_first = tshark(path, 'tcp && ipv6.fraghdr.offset == 0 && ipv6.fraghdr.more == 1',
                        ['frame.number', 'ipv6.fraghdr.ident'], truncated)
    for r in ipv6_first:
        f = frames.get(int(first(r[0])))
        if f is not None:
            firstfrag[('6', f.src, f.dst, first(r[1]), f.vlan)] = f
    later = {}
    if firstfrag:
        for r in tshark(path, FRAG_FILTER, FRAG_FIELDS, truncated):
            num = int(first(r[0]))
            vlan = vlans(r[8], r[1])
            if r[2]:
                key = ('4', first(r[2]), first(r[3]), first(r[4]), vlan)
            else:
                key = ('6', first(r[5]), first(r[6]), first(r[7]), vlan)
            head = firstfrag.get(key)
            if head is not None and head.num < num:
                f = Frame()
                f.num, f.stream, f.vlan = num, head.stream, head.vlan
                f.syn = f.ack = None  # no TCP header
                f.src, f.dst, f.sport, f.dport = head.src, head.dst, head.sport, head.dport
                later[num] = f
    odd = set(int(first(r[0])) for r in tshark(path, ODD_FILTER, ['frame.number'], truncated))
    return frames, later, odd


def load_ours(pcapcmp_out):
    ours = {}  # frame -> (flowno, label)
    with open(pcapcmp_out) as fp:
        for n, line in enumerate(fp, 1):
            parts = line.rstrip('\n').split('\t')
            if len(parts) != 3:
                sys.exit('judge: %s:%d: expected FRAME<TAB>FLOWNO<TAB>LABEL' % (pcapcmp_out, n))
            ours[int(parts[0])] = (int(parts[1]), parts[2])
    return ours


def load_index(outdir):
    entries = []
    with open(os.path.join(outdir, 'index.jsonl')) as fp:
        for n, line in enumerate(fp, 1):
            try:
                entries.append(json.loads(line))
            except ValueError as e:
                sys.exit('judge: index.jsonl:%d: %s' % (n, e))
    return entries


def label_time_ok(tpart, first_ns):
    """The label's time: first_ns in seconds with 6 or 9 decimals (truncated or rounded)."""
    if not isinstance(first_ns, int):
        return False
    sec, frac = divmod(first_ns, 10**9)
    cands = {'%d.%09d' % (sec, frac), '%d.%06d' % (sec, frac // 1000)}
    us = (first_ns + 500) // 1000
    cands.add('%d.%06d' % divmod(us, 10**6))
    return tpart in cands


def check_entries(j, entries, ref, later):
    """Per-entry checks; returns {label: [entry numbers]}."""
    bylabel = {}
    for no, e in enumerate(entries):
        idx = e.get('index')
        if not isinstance(idx, list) or not idx:
            j.fail('index entry %d: "index" missing or empty' % no)
            continue
        if any(b <= a for a, b in zip(idx, idx[1:])):
            j.fail('index entry %d (%s): "index" not strictly increasing' % (no, e.get('label')))
        bylabel.setdefault(e.get('label'), []).append(no)

    for label, nos in bylabel.items():
        segs = sorted(nos, key=lambda n: entries[n]['index'][0])
        e0 = entries[segs[0]]
        wantseg = list(range(len(segs)))
        gotseg = [entries[n].get('segment') for n in segs]
        if gotseg != wantseg:
            j.fail('flow %s: segments %s in frame order, expected %s' % (label, gotseg, wantseg))
        for n in segs[:-1]:
            if entries[n].get('reason') in ('fin', 'rst', 'refused', 'eof'):
                j.fail('flow %s: segment %s ends with reason %s but the flow goes on'
                       % (label, entries[n].get('segment'), entries[n].get('reason')))
        f = ref.get(e0['index'][0]) or later.get(e0['index'][0])
        if f is None:
            continue  # reported by the partition check
        if f.syn and f.ack:
            # The client's SYN is missing: partial either way, as long as it is a bool.
            if not isinstance(e0.get('partial'), bool):
                j.fail('flow %s: "partial" is not a bool' % label)
            elif e0.get('partial'):
                j.note('flow %s starts with a SYN-ACK (frame %d) and is marked partial'
                       % (label, f.num))
        elif f.syn is not None and e0.get('partial') is not (not f.syn):
            j.fail('flow %s: "partial" is %s but its first frame %d %s SYN'
                   % (label, json.dumps(e0.get('partial')), f.num,
                      'has' if f.syn else 'has no'))
        # Who is src: the SYN's sender; a SYN-ACK first leaves either side acceptable.
        fwd = (norm_addr(f.src), f.sport, norm_addr(f.dst), f.dport)
        rev = (fwd[2], fwd[3], fwd[0], fwd[1])
        got = (norm_addr(e0.get('src')), e0.get('srcport'), norm_addr(e0.get('dst')),
               e0.get('dstport'))
        if f.syn and f.ack:
            okdirs = (fwd, rev)
        else:
            okdirs = (fwd,)
        if got not in okdirs:
            j.fail('flow %s: src/dst %s, its first frame %d goes %s' % (label, got, f.num, fwd))
        if list(e0.get('vlan', [None])) != list(f.vlan):
            j.fail('flow %s: "vlan" %s, tshark decodes %s' % (label, e0.get('vlan'),
                                                              list(f.vlan)))
        m = re.match(r'^(.+)_(\d+)-(.+)_(\d+)-(\d+\.\d+)$', label or '')
        if m is None:
            j.fail('flow %s: label not of the form SRC_PORT-DST_PORT-SECONDS' % label)
            continue
        if (m.group(1) != label_addr(str(e0.get('src'))) or m.group(2) != str(e0.get('srcport'))
                or m.group(3) != label_addr(str(e0.get('dst')))
                or m.group(4) != str(e0.get('dstport'))):
            j.fail('flow %s: label does not match src/srcport/dst/dstport %s'
                   % (label, (e0.get('src'), e0.get('srcport'), e0.get('dst'),
                              e0.get('dstport'))))
        if not label_time_ok(m.group(5), e0.get('first_ns')):
            j.fail('flow %s: label time %s is not first_ns %s in seconds'
                   % (label, m.group(5), e0.get('first_ns')))
    return bylabel


def main():
    ap = argparse.ArgumentParser(description='flow-level judge of traceflowd against tshark')
    ap.add_argument('--truncated', action='store_true',
                    help='INPUT ends mid-record: tolerate tshark failing at the cut')
    ap.add_argument('--idle-timeout', type=float, metavar='SEC',
                    help='also accept a split with reason idle after a gap of SEC or more')
    ap.add_argument('--linger', type=float, metavar='SEC', default=2.0,
                    help="traceflowd's linger: a SYN retried within it after an RST "
                         "joins the refused flow (default 2)")
    ap.add_argument('--quiet', action='store_true', help='do not print NOTE lines')
    ap.add_argument('input')
    ap.add_argument('outdir')
    ap.add_argument('pcapcmp_output')
    a = ap.parse_args()

    j = Judge(a.quiet)
    ref, later, odd = load_reference(a.input, a.truncated)
    ours = load_ours(a.pcapcmp_output)
    entries = load_index(a.outdir)
    if a.truncated and ref:
        # pcapcmp judged what libpcap read; tshark may stop a record earlier or later.
        last = max(max(ref), max(later) if later else 0)
        cut = [n for n in ours if n > last]
        for n in cut:
            del ours[n]
        if cut:
            j.note('%d frame(s) after tshark\'s last TCP frame %d not judged' % (len(cut), last))

    expected = dict(ref)
    expected.update(later)

    # 1. Same frames.
    missing = sorted(set(expected) - set(ours))
    extra = sorted(n for n in set(ours) - set(expected) if n not in odd)
    for n in sorted(set(ours) & odd):
        j.note('frame %d: tshark cannot dissect its TCP header, traceflowd wrote it' % n)
    for n in sorted(odd - set(ours)):
        j.note('frame %d: tshark cannot dissect its TCP header, traceflowd skipped it' % n)
    if missing:
        j.fail('%d TCP frame(s) tshark sees are in no flow: %s%s'
               % (len(missing), missing[:20], ' ...' if len(missing) > 20 else ''))
    if extra:
        j.fail('%d frame(s) in flows are not TCP to tshark: %s%s'
               % (len(extra), extra[:20], ' ...' if len(extra) > 20 else ''))

    # 2. Same partition, up to explained splits.
    groups = {}
    for n, f in expected.items():
        groups.setdefault((f.stream, f.vlan), []).append(n)
    ourflows = {}
    for n, (_, label) in ours.items():
        ourflows.setdefault(label, []).append(n)
    ourgroup = {}
    for label, nums in ourflows.items():
        keys = set((expected[n].stream, expected[n].vlan) for n in nums if n in expected)
        if len(keys) > 1:
            j.fail('flow %s merges tshark streams %s' % (label, sorted(keys)))
        ourgroup[label] = keys
    bylabel = check_entries(j, entries, ref, later)
    splits = 0
    for key, nums in sorted(groups.items()):
        labels = {}
        for n in nums:
            if n in ours:
                labels.setdefault(ours[n][1], []).append(n)
        if len(labels) <= 1:
            continue
        pieces = sorted(labels.items(), key=lambda kv: min(kv[1]))
        for (la, fa), (lb, fb) in zip(pieces, pieces[1:]):
            if max(fa) > min(fb):
                j.fail('tshark stream %s (vlan %s): flows %s and %s interleave'
                       % (key[0], list(key[1]), la, lb))
                continue
            segs = bylabel.get(la, [])
            reason = None
            if segs:
                reason = entries[max(segs, key=lambda s: entries[s]['index'][0])].get('reason')
            gap = None
            if segs and bylabel.get(lb):
                nxt = min(bylabel[lb], key=lambda s: entries[s]['index'][0])
                prv = max(segs, key=lambda s: entries[s]['index'][0])
                try:
                    gap = (entries[nxt]['first_ns'] - entries[prv]['last_ns']) / 1e9
                except (KeyError, TypeError):
                    gap = None
            if reason == 'idle' and a.idle_timeout is not None and gap is not None \
                    and gap >= a.idle_timeout:
                splits += 1
                j.note('tshark stream %s split at frame %d: %s idle for %.0f s, %s follows'
                       % (key[0], min(fb), la, gap, lb))
            elif reason in ('rst', 'refused') and resyn(expected, fa, fb) and \
                    (gap is None or gap < a.linger):
                j.fail('tshark stream %s split at frame %d: %s ended (rst) and its SYN, sent '
                       'again with the same sequence number, began %s: one connection attempt '
                       '(traceflowd(8), Connections)' % (key[0], min(fb), la, lb))
            elif reason in SPLIT_OK:
                splits += 1
                j.note('tshark stream %s split at frame %d: %s ended (%s), %s follows'
                       % (key[0], min(fb), la, reason, lb))
            else:
                j.fail('tshark stream %s (vlan %s) split at frame %d: %s ended with reason '
                       '%s, %s follows' % (key[0], list(key[1]), min(fb), la, reason, lb))

    flows = len(ourflows)
    print('judge: %s tcp_frames=%d later_fragments=%d written=%d tshark_streams=%d flows=%d '
          'splits=%d failures=%d'
          % ('OK' if j.failures == 0 else 'FAIL', len(ref), len(later), len(ours), len(groups),
             flows, splits, j.failures))
    return 0 if j.failures == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
