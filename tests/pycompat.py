"""pycompat.py IN OUT REF: TraceFlow.from_file(IN, OUT) against traceflowd
--read IN --output REF --compat pcapkit: the same labels, the same frame
lists, the same files (names and bytes). Prints one line of figures; exits
1 with the differences."""

import filecmp
import json
import os
import sys
import warnings

from traceflow import TraceFlow

inp, out, ref = sys.argv[1:4]
# A capture cut short: traceflowd keeps the frames before the cut, and so must we.
warnings.simplefilter("ignore")
got = {r.label: (os.path.relpath(r.fpout, out) if r.fpout else None, r.index)
       for r in TraceFlow.from_file(inp, out).submit()}
want = {}
with open(os.path.join(ref, "index.jsonl")) as f:
    for line in f:
        e = json.loads(line)
        want[e["label"]] = (e["fpout"], tuple(e["index"]))


def files(top):
    """Every file but the index, the lock and the hidden folders (catalog)."""
    found = set()
    for d, dirs, names in os.walk(top):
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        for n in names:
            if n not in ("index.jsonl", ".lock"):
                found.add(os.path.relpath(os.path.join(d, n), top))
    return found


bad = []
for label in sorted(set(want) | set(got)):
    if want.get(label) != got.get(label):
        bad.append("%s: traceflowd %s, from_file %s" % (label, want.get(label), got.get(label)))
fw, fg = files(ref), files(out)
if fw != fg:
    bad.append("files only from traceflowd: %s; only from from_file: %s"
               % (sorted(fw - fg)[:5], sorted(fg - fw)[:5]))
_, mismatch, errors = filecmp.cmpfiles(ref, out, sorted(fw & fg), shallow=False)
if mismatch or errors:
    bad.append("files that differ: %s" % (mismatch + errors)[:5])
for b in bad[:20]:
    print("DIFF: " + b)
print("%d flows, %d files, %d frames" % (len(got), len(fg), sum(len(v[1]) for v in got.values())))
sys.exit(1 if bad else 0)
