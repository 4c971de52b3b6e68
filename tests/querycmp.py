#!/usr/bin/env python3
"""querycmp.py: the judge of `traceflowctl query` (tests/query.sh).

It knows nothing of traceflow's code: it reads a folder's index.jsonl and
applies the expression language of traceflowctl query (src/qexpr.h) by brute
force, with a parser and matcher of its own, then compares what the query
printed or wrote with that.

    querycmp.py list DIR [--limit N] [--newest] EXPR...
        the fpouts that should match, in order, one a line
    querycmp.py json DIR OUT [--limit N] [--newest] [--want WANT] [--fields] [--tz TZ] EXPR...
        OUT (traceflowctl query --json) lists exactly those flows, in that
        order; with --fields, each object's fields are those of the flow's
        index line (and size its file's); WANT: what the expected set must
        be for the case to prove something (any, some, part: not all either,
        none, all); --tz: local times are TZ's (the query's environment)
    querycmp.py batch MANIFEST
        json for many queries, a line of MANIFEST each: NAME, DIR, OUT and
        json's options and expression (joined by \\x1f), by tabs; prints
        "ok|FAIL<TAB>NAME<TAB>message" for each
    querycmp.py table DIR OUT EXPR...
        OUT (the table) is a header line and one line per matching flow:
        its first packet's local time (the environment's TZ) to the
        millisecond, duration, endpoints ([v6]:port), packets, bytes, reason
        and file
    querycmp.py frames DIR OUT [--tshark-json] [--display-filter DF] [--limit N] [--newest]
                       [--summary ERRFILE] [--gone FPOUT]... [--format pcap|pcapng] EXPR...
        OUT (traceflowctl query -w) holds exactly the frames of the matching
        files (read by tshark), time order, ties broken by the flow that
        began first then the order within its file; --display-filter: only
        the frames of theirs tshark's filter keeps; --tshark-json: OUT is
        already tshark -T json -x's output (for -w -); --summary: the
        query's stderr, whose summary line must count those flows and
        packets and which must say each --gone file was "gone, skipped"
    querycmp.py fuzz DIR SEED N
        N random expressions over DIR's addresses, ports, tags, labels and
        times, one a line, the same for the same SEED
    querycmp.py time DIR first|last|between-first|between-last Q [STYLE]
        a time in ns from the data: the first_ns (last_ns) of the flow at
        quantile Q of the sorted values, or the midpoint between that value
        and the next distinct one; with STYLE, written as fmt writes it
    querycmp.py fmt NS utc|offset:+HH:MM|local|epoch|date
        NS written as RFC 3339 in UTC, with that offset, as a local time
        without zone (TZ), as epoch seconds with decimals, or as a date
        (the local day)

Which flows a folder holds: the lines of DIR/index.jsonl whose fpout exists
on disk (a partitioned spool's index.jsonl is a log that keeps the lines of
files retention removed), in time order: first_ns, then the order of the
lines. Exit status 0 when the comparison holds, 1 with the differences on
stderr otherwise, 2 on a usage error.
"""

import datetime
import ipaddress
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter

# --- the expression language ---------------------------------------------


class ExprError(Exception):
    pass


def tokenize(words):
    """tcpdump's reading: the words joined by blanks, split again at blanks and around parens."""
    text = ' '.join(words)
    return [t for t in re.split(r'\s+|([()])', text) if t]


DUR_UNITS = [('d', 86400 * 10**9), ('h', 3600 * 10**9), ('m', 60 * 10**9), ('s', 10**9),
             ('ms', 10**6), ('us', 10**3), ('ns', 1)]


def dec_ns(digits, frac, scale):
    """int digits . frac times scale, in integer arithmetic, digits beyond 1 ns dropped."""
    n = int(digits) * scale
    if frac:
        n += int(frac) * scale // 10**len(frac)
    return n


def parse_duration(s):
    s = s.strip()
    m = re.fullmatch(r'(\d+)(?:\.(\d+))?', s)
    if m:
        return dec_ns(m.group(1), m.group(2), 10**9)
    total, pos, last = 0, 0, -1
    for m in re.finditer(r'\s*(\d+)(?:\.(\d+))?\s*(ms|us|ns|d|h|m|s)', s):
        if m.start() != pos:
            raise ExprError('bad duration %r' % s)
        rank = [u for u, _ in DUR_UNITS].index(m.group(3))
        if rank <= last:
            raise ExprError('bad duration %r' % s)
        last = rank
        total += dec_ns(m.group(1), m.group(2), dict(DUR_UNITS)[m.group(3)])
        pos = m.end()
    if pos == 0 or pos != len(s):
        raise ExprError('bad duration %r' % s)
    return total


RFC3339 = re.compile(r'(\d{4})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?'
                     r'(Z|z|[+-]\d\d:\d\d)?)?')


def local_epoch(y, mo, d, h, mi, s):
    """Seconds since the epoch of a wall-clock time in TZ's zone."""
    time.tzset()
    return int(time.mktime((y, mo, d, h, mi, s, 0, 0, -1)))


def parse_time(word, nxt, now_ns):
    """(ns, words used)"""
    if nxt == 'ago':
        return now_ns - parse_duration(word), 2
    m = re.fullmatch(r'(\d+)(?:\.(\d+))?', word)
    if m and not RFC3339.fullmatch(word):
        return dec_ns(m.group(1), m.group(2), 10**9), 1
    m = RFC3339.fullmatch(word)
    if not m:
        raise ExprError('bad time %r' % word)
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    h = int(m.group(4) or 0)
    mi = int(m.group(5) or 0)
    s = int(m.group(6) or 0)
    frac = m.group(7)
    zone = m.group(8)
    if zone is None:
        secs = local_epoch(y, mo, d, h, mi, s)
    else:
        secs = int(datetime.datetime(y, mo, d, h, mi, s, tzinfo=datetime.timezone.utc).timestamp())
        if zone not in ('Z', 'z'):
            sign = 1 if zone[0] == '+' else -1
            secs -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return dec_ns(secs, frac, 10**9), 1


def glob_re(g):
    """SQLite's GLOB: *, ?, [...] ([^...] negated, ranges), case-sensitive."""
    out, i = '', 0
    while i < len(g):
        c = g[i]
        if c == '*':
            out += '.*'
        elif c == '?':
            out += '.'
        elif c == '[':
            j = i + 1
            neg = j < len(g) and g[j] == '^'
            if neg:
                j += 1
            k = j
            if k < len(g) and g[k] == ']':
                k += 1
            while k < len(g) and g[k] != ']':
                k += 1
            if k >= len(g):
                out += re.escape(c)
            else:
                body = g[j:k].replace('\\', '\\\\')
                out += '[' + ('^' if neg else '') + body + ']'
                i = k
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + r'\Z', re.S)


def ip(a):
    return ipaddress.ip_address(a)


class Parser:
    def __init__(self, words, now_ns):
        self.t = tokenize(words)
        self.i = 0
        self.now = now_ns

    def peek(self, k=0):
        return self.t[self.i + k] if self.i + k < len(self.t) else None

    def take(self):
        w = self.peek()
        if w is None:
            raise ExprError('at the end')
        self.i += 1
        return w

    def parse(self):
        if not self.t:
            return lambda e: True
        f = self.or_()
        if self.peek() is not None:
            raise ExprError('at %r: trailing words' % self.peek())
        return f

    def or_(self):
        f = self.and_()
        while self.peek() in ('or', '||'):
            self.take()
            g = self.and_()
            f = (lambda a, b: lambda e: a(e) or b(e))(f, g)
        return f

    def and_(self):
        f = self.not_()
        while self.peek() in ('and', '&&'):
            self.take()
            g = self.not_()
            f = (lambda a, b: lambda e: a(e) and b(e))(f, g)
        return f

    def not_(self):
        w = self.peek()
        if w in ('not', '!'):
            self.take()
            f = self.not_()
            return lambda e: not f(e)
        if w == '(':
            self.take()
            f = self.or_()
            if self.take() != ')':
                raise ExprError('expected )')
            return f
        return self.prim()

    def prim(self):
        w = self.take()
        side = None
        if w in ('src', 'dst'):
            side = w
            w = self.take()
            if w not in ('host', 'net', 'port'):
                raise ExprError('at %r: expected host, net or port' % w)
        if w == 'host':
            a = ip(self.take())
            return self.sides(side, lambda v: v is not None and ip(v) == a, 'src', 'dst')
        if w == 'net':
            n = ipaddress.ip_network(self.take(), strict=False)
            return self.sides(side, lambda v: v is not None and ip(v) in n, 'src', 'dst')
        if w == 'port':
            p = int(self.take())
            return self.sides(side, lambda v: v == p, 'srcport', 'dstport')
        if w == 'vlan':
            n = int(self.take())
            return lambda e: n in (e.get('vlan') or [])
        if w == 'interface':
            name = self.take()
            return lambda e: e.get('interface') == name
        if w == 'label':
            r = glob_re(self.take())
            return lambda e: r.match(e['label']) is not None
        if w == 'reason':
            r = self.take()
            return lambda e: e['reason'] == r
        if w == 'partial':
            return lambda e: bool(e['partial'])
        if w in ('after', 'before'):
            word = self.take()
            ns, used = parse_time(word, self.peek(), self.now)
            if used == 2:
                self.take()
            if w == 'after':
                return lambda e: e['last_ns'] >= ns
            return lambda e: e['first_ns'] <= ns
        raise ExprError('at %r: not a primitive' % w)

    @staticmethod
    def sides(side, test, s, d):
        if side == 'src':
            return lambda e: test(e[s])
        if side == 'dst':
            return lambda e: test(e[d])
        return lambda e: test(e[s]) or test(e[d])


# --- the folder --------------------------------------------------------------


FLOWS_CACHE = None  # batch: each folder read once


def flows(d):
    """The folder's flows that exist on disk, in time order."""
    if FLOWS_CACHE is not None and d in FLOWS_CACHE:
        return [dict(e) for e in FLOWS_CACHE[d]]
    out = []
    with open(os.path.join(d, 'index.jsonl')) as f:
        for n, line in enumerate(f):
            e = json.loads(line)
            if e.get('fpout') and os.path.exists(os.path.join(d, e['fpout'])):
                e['_n'] = n
                out.append(e)
    out.sort(key=lambda e: (e['first_ns'], e['_n']))
    if FLOWS_CACHE is not None:
        FLOWS_CACHE[d] = [dict(e) for e in out]
    return out


def cmd_batch(manifest):
    """json over many queries in one run: a line NAME, DIR, OUT, ARGS (by \\x1f) each."""
    import contextlib
    import io
    global FLOWS_CACHE
    FLOWS_CACHE = {}
    tz = os.environ.get('TZ')
    for line in open(manifest):
        if tz is None:
            os.environ.pop('TZ', None)
        else:
            os.environ['TZ'] = tz
        time.tzset()
        name, d, out, args = line.rstrip('\n').split('\t')
        args = args.split('\x1f') if args else []
        so, se = io.StringIO(), io.StringIO()
        rc = 0
        with contextlib.redirect_stdout(so), contextlib.redirect_stderr(se):
            try:
                cmd_json(d, out, args)
            except ExprError as ex:
                print('querycmp: the judge cannot read the expression: %s' % ex, file=sys.stderr)
                rc = 2
            except SystemExit as ex:
                rc = ex.code if isinstance(ex.code, int) else 1
        msg = (so.getvalue() if rc == 0 else se.getvalue() + so.getvalue()).strip()
        print('%s\t%s\t%s' % ('ok' if rc == 0 else 'FAIL', name, ' / '.join(msg.splitlines()[:8])))


def expected(d, words, limit=None, newest=False, now_ns=None):
    E = flows(d)
    f = Parser(words, time.time_ns() if now_ns is None else now_ns).parse()
    m = [e for e in E if f(e)]
    if limit is not None:
        m = m[-limit:] if newest else m[:limit]
    return m, len(E)


def take_opts(args, spec):
    """Leading options of spec ({name: takes a value}) from args; the rest are the expression."""
    opts, i = {}, 0
    while i < len(args) and args[i] in spec:
        if spec[args[i]] == 'list':
            opts.setdefault(args[i], []).append(args[i + 1])
            i += 2
        elif spec[args[i]]:
            opts[args[i]] = args[i + 1]
            i += 2
        else:
            opts[args[i]] = True
            i += 1
    if i < len(args) and args[i] == '--':
        i += 1
    return opts, args[i:]


def complain(errs, what):
    for e in errs[:15]:
        print('querycmp: %s: %s' % (what, e), file=sys.stderr)
    if len(errs) > 15:
        print('querycmp: %s: ... %d more' % (what, len(errs) - 15), file=sys.stderr)
    sys.exit(1)


FIELDS = ['label', 'fpout', 'part', 'src', 'srcport', 'dst', 'dstport', 'vlan', 'interface',
          'first_ns', 'last_ns', 'packets', 'bytes', 'written', 'size', 'reason', 'partial',
          'truncated', 'recovered', 'segment', 'offset', 'length']
FROM_INDEX = ['label', 'fpout', 'src', 'srcport', 'dst', 'dstport', 'vlan', 'interface', 'first_ns',
              'last_ns', 'packets', 'bytes', 'written', 'reason', 'partial', 'truncated',
              'recovered', 'segment', 'offset', 'length']


def ident(e):
    """A flow's identity in a listing: its file, and for a probe its place in the shared one."""
    return e.get('fpout') if e.get('offset') is None else '%s@%d' % (e['fpout'], e['offset'])


def want_check(want, n, total):
    if want == 'any':
        return None
    if want == 'some' and n == 0:
        return 'the expected set is empty (a useless case)'
    if want == 'part' and (n == 0 or n == total):
        return 'the expected set has %d of %d flows (want some, not all)' % (n, total)
    if want == 'none' and n != 0:
        return 'the expected set has %d flows (want none)' % n
    if want == 'all' and n != total:
        return 'the expected set has %d of %d flows (want all)' % (n, total)
    return None


def cmd_json(d, out, args):
    opts, words = take_opts(args, {'--limit': True, '--newest': False, '--oldest': False,
                                   '--want': True, '--fields': False, '--tz': True})
    if '--tz' in opts:
        os.environ['TZ'] = opts['--tz']
        time.tzset()
    limit = int(opts['--limit']) if '--limit' in opts else None
    want, total = expected(d, words, limit, '--newest' in opts)
    errs = []
    premise = want_check(opts.get('--want', 'part'), len(want), total)
    if premise:
        errs.append(premise)
    got = []
    for n, line in enumerate(open(out), 1):
        if not line.strip():
            continue
        try:
            got.append(json.loads(line))
        except ValueError as ex:
            errs.append('line %d is not JSON (%s): %r' % (n, ex, line[:120]))
    gf = [ident(g) for g in got]
    wf = [ident(e) for e in want]
    if gf != wf:
        missing = [f for f in wf if f not in gf]
        extra = [f for f in gf if f not in wf]
        errs.append('%d flows listed, %d expected; missing %s; not expected %s' %
                    (len(gf), len(wf), missing[:3], extra[:3]))
        if not missing and not extra:
            errs.append('the same flows in another order: got %s... want %s...' % (gf[:4], wf[:4]))
    byfp = {ident(e): e for e in want} if '--fields' in opts else {}
    # Field by field: how many objects are wrong, and the first of them.
    bad = {}
    for g in got:
        e = byfp.get(ident(g))
        if e is None:
            continue
        wrong = [(k, 'missing') for k in FIELDS if k not in g]
        wrong += [(k, '%r, the index has %r' % (g[k], e.get(k)))
                  for k in FROM_INDEX if k in g and g[k] != e.get(k)]
        size = os.path.getsize(os.path.join(d, e['fpout']))
        if e.get('offset') is not None:  # a probe: its records' bytes in the shared capture
            size = e['length'] if e['offset'] + e['length'] <= size else -1
        if g.get('size') is not None and g['size'] != size:
            wrong.append(('size', '%r, the file has %d bytes (null where unknown)' % (g['size'], size)))
        part = g.get('part')
        if part is not None and not e['fpout'].startswith(part + '/'):
            wrong.append(('part', '%r is not its folder' % part))
        for k, why in wrong:
            bad.setdefault(k, []).append('%s: %s' % (g['fpout'], why))
    for k in sorted(bad):
        errs.append('"%s" wrong in %d of %d objects, e.g. %s' % (k, len(bad[k]), len(got), bad[k][0]))
    if errs:
        complain(errs, 'json')
    print('%d of %d flows, in order' % (len(wf), total))


def cmd_table(d, out, args):
    want, total = expected(d, args)
    lines = [l for l in open(out) if l.strip()]
    errs = []
    if not want:
        errs.append('the expected set is empty (a useless case)')
    if len(lines) != len(want) + 1:
        errs.append('%d lines, want a header and %d flows' % (len(lines), len(want)))
    # A person reads the flow from its label (or its file): one of them must be on its line.
    for e, l in zip(want, lines[1:]):
        if e['label'] not in l and os.path.basename(e['fpout']) not in l:
            errs.append('line %r names neither %s nor its file' % (l.strip()[:100], e['label']))
            break
    # ... and when it began in local time, how long, between whom, how much, why it ended.
    def endpoint(a, p):
        return ('[%s]:%d' if ':' in a else '%s:%d') % (a, p)
    for e, l in zip(want, lines[1:]):
        first = e['first_ns']
        row = [time.strftime('%Y-%m-%d', time.localtime(first // 10**9)),
               time.strftime('%H:%M:%S', time.localtime(first // 10**9))
               + '.%03d' % (first % 10**9 // 10**6),
               '%.3f' % ((e['last_ns'] - first) / 1e9),
               endpoint(e['src'], e['srcport']), endpoint(e['dst'], e['dstport']),
               str(e['packets']), str(e['bytes']), e['reason'], e['fpout']]
        if e.get('offset') is not None:  # a probe: where in its shared capture
            row.append('@%d+%d' % (e['offset'], e['length']))
        if l.split() != row:
            errs.append('line %r, want %r' % (l.strip()[:160], ' '.join(row)))
            break
    if errs:
        complain(errs, 'table')
    print('a header and %d flows' % len(want))


def tshark_json(path=None, text=None, dfilter=None):
    if text is None:
        cmd = ['tshark', '-n', '-r', path, '-T', 'json', '-x', '-j', 'frame', '-o',
               'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE']
        if dfilter:
            cmd += ['-Y', dfilter]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, check=False)
        if p.returncode != 0:
            raise RuntimeError('tshark -r %s: exit %d: %s' % (path, p.returncode, p.stderr.strip()[-300:]))
        text = p.stdout
    out = []
    for pkt in json.loads(text or '[]'):
        lay = pkt['_source']['layers']
        fr = lay['frame']
        sec, _, frac = fr['frame.time_epoch'].partition('.')
        ns = int(sec) * 10**9 + int((frac + '000000000')[:9])
        out.append({'ns': ns, 'raw': lay.get('frame_raw', [''])[0], 'encap': fr.get('frame.encap_type'),
                    'iface': fr.get('frame.interface_id'), 'len': fr.get('frame.len'),
                    'num': int(fr['frame.number'])})
    return out


def frame_counts(paths):
    """Frames per file, by capinfos (one run for all)."""
    counts = {}
    for i in range(0, len(paths), 200):
        chunk = paths[i:i + 200]
        p = subprocess.run(['capinfos', '-T', '-r', '-c'] + chunk, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, check=False)
        for line in p.stdout.splitlines():
            name, _, n = line.rpartition('\t')
            counts[name] = int(n)
    return [counts[p] for p in paths]


def union(d, want, dfilter):
    """The frames of the matching files, each with its flow's rank and its place in the file."""
    if not want:
        return []
    tmpdir = os.environ.get('TMPDIR_QUERYCMP', os.path.dirname(os.path.abspath(d)))
    tmp = os.path.join(tmpdir, 'querycmp-union-%d.pcapng' % os.getpid())
    paths, probes = [], []
    for n, e in enumerate(want):
        path = os.path.join(d, e['fpout'])
        if e.get('offset') is not None:
            # a probe: its records alone, behind its shared capture's header
            data = open(path, 'rb').read()
            path = os.path.join(tmpdir, 'querycmp-probe-%d-%d.pcap' % (os.getpid(), n))
            with open(path, 'wb') as f:
                f.write(data[:24] + data[e['offset']:e['offset'] + e['length']])
            probes.append(path)
        paths.append(path)
    counts = frame_counts(paths)
    try:
        p = subprocess.run(['mergecap', '-a', '-F', 'pcapng', '-w', tmp] + paths,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                           check=False)
        if p.returncode != 0:
            raise RuntimeError('mergecap: %s' % p.stderr.strip()[-300:])
        frames = tshark_json(tmp)
        keep = None
        if dfilter:
            keep = {f['num'] for f in tshark_json(tmp, dfilter=dfilter)}
    finally:
        for path in [tmp] + probes:
            if os.path.exists(path):
                os.unlink(path)
    if len(frames) != sum(counts):
        raise RuntimeError('mergecap gave %d frames, capinfos counts %d' % (len(frames), sum(counts)))
    k = 0
    for rank, n in enumerate(counts):
        for pos in range(n):
            frames[k]['rank'] = rank
            frames[k]['pos'] = pos
            frames[k]['file'] = want[rank]['fpout']
            k += 1
    if keep is not None:
        frames = [f for f in frames if f['num'] in keep]
    return frames


ENCAP_NAMES = {'1': 'Ethernet', '7': 'raw IP', '25': 'Linux cooked', '210': 'Linux cooked v2'}


def cmd_frames(d, out, args):
    opts, words = take_opts(args, {'--tshark-json': False, '--display-filter': True,
                                   '--summary': True, '--gone': 'list', '--format': True,
                                   '--want': True, '--limit': True, '--newest': False,
                                   '--oldest': False})
    want, total = expected(d, words, int(opts['--limit']) if '--limit' in opts else None,
                           '--newest' in opts)
    errs = []
    premise = want_check(opts.get('--want', 'part'), len(want), total)
    if premise:
        errs.append(premise)
    for g in opts.get('--gone', []):
        if os.path.exists(os.path.join(d, g)):
            errs.append('premise: %s should be gone but is there' % g)
    try:
        exp = union(d, want, opts.get('--display-filter'))
        if '--tshark-json' in opts:
            got = tshark_json(text=open(out).read())
        else:
            got = tshark_json(out)
    except (RuntimeError, ValueError) as ex:
        complain(errs + [str(ex)], 'frames')
    key = lambda f: (f['ns'], f['raw'])
    ge, gg = Counter(map(key, exp)), Counter(map(key, got))
    if ge != gg:
        miss = ge - gg
        extra = gg - ge
        errs.append('%d frames written, %d expected: %d missing (e.g. %s), %d not expected (e.g. %s)' %
                    (len(got), len(exp), sum(miss.values()),
                     [(ns, r[:24]) for ns, r in list(miss)[:2]], sum(extra.values()),
                     [(ns, r[:24]) for ns, r in list(extra)[:2]]))
    back = [i for i in range(1, len(got)) if got[i]['ns'] < got[i - 1]['ns']]
    if back:
        errs.append('timestamps go back at %d frames, the first at frame %d' % (len(back), back[0] + 1))
    if not errs:
        order = sorted(exp, key=lambda f: (f['ns'], f['rank'], f['pos']))
        if [key(f) for f in order] != [key(f) for f in got]:
            i = next(i for i, (a, b) in enumerate(zip(order, got)) if key(a) != key(b))
            src = {key(f): f for f in exp}
            g = src[key(got[i])]
            errs.append('frame %d (time %d): ties not broken by the flow that began first, then '
                        'the order in its file: got frame %d of %s (flow %d), want frame %d of '
                        '%s (flow %d)' % (i + 1, got[i]['ns'], g['pos'] + 1, g['file'], g['rank'] + 1,
                                          order[i]['pos'] + 1, order[i]['file'], order[i]['rank'] + 1))
        else:
            for f, g in zip(order, got):
                if f['encap'] != g['encap']:
                    errs.append('frame %d: link type %s, its file has %s' %
                                (g['num'], ENCAP_NAMES.get(g['encap'], g['encap']),
                                 ENCAP_NAMES.get(f['encap'], f['encap'])))
                    break
    encaps = sorted({f['encap'] for f in exp})
    fmt = opts.get('--format')
    if fmt and '--tshark-json' not in opts:
        magic = open(out, 'rb').read(4).hex()
        is_ng = magic == '0a0d0d0a'
        if fmt == 'pcapng' and not is_ng:
            errs.append('not pcapng (magic %s) for %d link types' % (magic, len(encaps)))
        if fmt == 'pcap' and magic not in ('d4c3b2a1', 'a1b2c3d4', '4d3cb2a1', 'a1b23c4d'):
            errs.append('not pcap (magic %s) for one link type' % magic)
        if fmt == 'pcap' and magic in ('d4c3b2a1', 'a1b2c3d4'):
            # microsecond: right when every input is microsecond
            for e in want:
                m = open(os.path.join(d, e['fpout']), 'rb').read(4).hex()
                if m in ('4d3cb2a1', 'a1b23c4d'):
                    errs.append('a microsecond pcap, though %s is nanosecond' % e['fpout'])
                    break
        if fmt == 'pcapng' and is_ng:
            ifs = sorted({(g['iface'], g['encap']) for g in got})
            if len(ifs) != len(encaps) or sorted(e for _, e in ifs) != encaps:
                errs.append('interfaces (id, link type) %s, want one per link type %s' % (ifs, encaps))
    if '--summary' in opts:
        text = open(opts['--summary']).read()
        m = re.search(r'query: (\d+) flows, (\d+) packets, (\d+) bytes written to ', text)
        if not m:
            errs.append('no summary "query: N flows, N packets, N bytes written to FILE" in %r' %
                        text[-300:])
        else:
            # Flows: those matched, or (--filter) those with a frame kept, or
            # (--gone) with the gone ones counted.
            nflows = {len(want), len({f['rank'] for f in exp}),
                      len(want) + len(opts.get('--gone', []))}
            if int(m.group(1)) not in nflows or int(m.group(2)) != len(exp):
                errs.append('summary says %s flows, %s packets; want %s flows, %d packets' %
                            (m.group(1), m.group(2), ' or '.join(map(str, sorted(nflows))),
                             len(exp)))
        for g in opts.get('--gone', []):
            # The spec's words are "FPOUT: gone, skipped"; a path ending in FPOUT will do.
            if not re.search(re.escape(g) + r':.*\bgone\b', text):
                errs.append('no "%s: gone, skipped" on stderr: %r' % (g, text[-300:]))
    if errs:
        complain(errs, 'frames')
    print('%d flows, %d frames%s, %s, in time order' %
          (len(want), len(exp), ' (filtered)' if opts.get('--display-filter') else '',
           '/'.join(ENCAP_NAMES.get(e, e) for e in encaps)))


def cmd_fuzz(d, seed, n):
    """n random expressions over d's data, one a line (a fixed seed: the same ones every run)."""
    import random
    rnd = random.Random(seed)
    E = flows(d)
    hosts = sorted({e['src'] for e in E} | {e['dst'] for e in E})
    ports = sorted({e['srcport'] for e in E} | {e['dstport'] for e in E})
    vlans = sorted({v for e in E for v in e.get('vlan') or []}) or [1]
    ifaces = sorted({e['interface'] for e in E if e.get('interface')}) or ['eth0']
    reasons = sorted({e['reason'] for e in E}) + ['idle']
    times = sorted({e['first_ns'] for e in E} | {e['last_ns'] for e in E})

    def addr():
        a = ipaddress.ip_address(rnd.choice(hosts))
        return a.exploded if rnd.random() < 0.3 else str(a)

    def net():
        a = ipaddress.ip_address(rnd.choice(hosts))
        bits = rnd.choice([8, 16, 24, 28]) if a.version == 4 else rnd.choice([64, 112, 120, 124])
        return str(ipaddress.ip_network('%s/%d' % (a, bits), strict=False))

    def when():
        t = rnd.choice(times) + rnd.choice([0, 0, -1000, 1000, 500])
        style = rnd.choice(['utc', 'epoch', 'offset:+01:00', 'offset:-07:30'])
        sec, frac = divmod(t, 10**9)
        fs = ('.%09d' % frac).rstrip('0').rstrip('.')
        if style == 'epoch':
            return '%d%s' % (sec, fs)
        z = '+00:00' if style == 'utc' else style[7:]
        sign = 1 if z[0] == '+' else -1
        off = datetime.timedelta(hours=int(z[1:3]), minutes=int(z[4:6])) * sign
        dt = datetime.datetime.fromtimestamp(sec, datetime.timezone(off))
        return dt.strftime('%Y-%m-%dT%H:%M:%S') + fs + ('Z' if style == 'utc' else z)

    def label():
        lab = rnd.choice(E)['label']
        i = rnd.randrange(1, len(lab))
        g = lab[:i] + '*'
        return g.replace('.', '?', 1) if rnd.random() < 0.3 else g

    def prim():
        k = rnd.randrange(14)
        side = rnd.choice(['', 'src ', 'dst '])
        if k < 2:
            return side + 'host ' + addr()
        if k < 4:
            return side + 'net ' + net()
        if k < 6:
            return side + 'port %d' % rnd.choice(ports)
        if k == 6:
            return 'vlan %d' % rnd.choice(vlans)
        if k == 7:
            return 'interface ' + rnd.choice(ifaces)
        if k == 8:
            return 'label ' + label()
        if k == 9:
            return 'reason ' + rnd.choice(reasons)
        if k == 10:
            return 'partial'
        if k == 11:
            return 'after ' + when()
        return 'before ' + when()

    def expr(depth):
        r = rnd.random()
        if depth <= 0 or r < 0.3:
            return prim()
        if r < 0.45:
            return rnd.choice(['not ', '! ']) + (prim() if rnd.random() < 0.5 else
                                                '(' + expr(depth - 1) + ')')
        if r < 0.6:
            return '(' + expr(depth - 1) + ')'
        op = rnd.choice(['and', 'or', '&&', '||'])
        return expr(depth - 1) + ' ' + op + ' ' + expr(depth - 1)

    for _ in range(n):
        print(expr(3))


def cmd_time(d, which, q, style=None):
    E = flows(d)
    field = 'first_ns' if which.endswith('first') else 'last_ns'
    vals = sorted({e[field] for e in E})
    i = min(int(q * len(vals)), len(vals) - 2)
    ns = (vals[i] + vals[i + 1]) // 2 if which.startswith('between') else vals[i]
    if style:
        cmd_fmt(ns, style)
    else:
        print(ns)


def cmd_fmt(ns, style):
    sec, frac = divmod(ns, 10**9)
    fs = ('.%09d' % frac).rstrip('0').rstrip('.')
    if style == 'epoch':
        print('%d%s' % (sec, fs))
        return
    if style == 'utc':
        t = datetime.datetime.fromtimestamp(sec, datetime.timezone.utc)
        print(t.strftime('%Y-%m-%dT%H:%M:%S') + fs + 'Z')
        return
    if style.startswith('offset:'):
        z = style[7:]
        sign = 1 if z[0] == '+' else -1
        off = datetime.timedelta(hours=int(z[1:3]), minutes=int(z[4:6])) * sign
        t = datetime.datetime.fromtimestamp(sec, datetime.timezone(off))
        print(t.strftime('%Y-%m-%dT%H:%M:%S') + fs + z)
        return
    time.tzset()
    t = time.localtime(sec)
    if style == 'local':
        print(time.strftime('%Y-%m-%dT%H:%M:%S', t) + fs)
    elif style == 'date':
        print(time.strftime('%Y-%m-%d', t))
    else:
        sys.exit('querycmp: fmt: unknown style %s' % style)


def main():
    a = sys.argv[1:]
    try:
        if len(a) >= 2 and a[0] == 'list':
            opts, words = take_opts(a[2:], {'--limit': True, '--newest': False, '--oldest': False})
            m, _ = expected(a[1], words, int(opts['--limit']) if '--limit' in opts else None,
                            '--newest' in opts)
            for e in m:
                print(e['fpout'])
        elif len(a) >= 3 and a[0] == 'json':
            cmd_json(a[1], a[2], a[3:])
        elif len(a) >= 3 and a[0] == 'table':
            cmd_table(a[1], a[2], a[3:])
        elif len(a) >= 3 and a[0] == 'frames':
            cmd_frames(a[1], a[2], a[3:])
        elif len(a) == 2 and a[0] == 'batch':
            cmd_batch(a[1])
        elif len(a) == 4 and a[0] == 'fuzz':
            cmd_fuzz(a[1], int(a[2]), int(a[3]))
        elif len(a) in (4, 5) and a[0] == 'time':
            cmd_time(a[1], a[2], float(a[3]), *a[4:])
        elif len(a) == 3 and a[0] == 'fmt':
            cmd_fmt(int(a[1]), a[2])
        else:
            print(__doc__, file=sys.stderr)
            sys.exit(2)
    except ExprError as ex:
        print('querycmp: the judge cannot read the expression: %s' % ex, file=sys.stderr)
        sys.exit(2)


if __name__ == '__main__':
    main()
