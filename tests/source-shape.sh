#!/bin/bash
#
# source-shape.sh: the shape issue 9 gave the sources, kept: the include
# graph of src/ (module a uses module b when a.c or a.h includes b.h) has
# no circle, and no file of src/ is over 800 lines but config.c, whose
# table is the settings' one home.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
need_cmd python3

python3 - "$top_srcdir/src" <<'PY' >"$WORK/shape.txt" 2>&1 || fail "$(cat "$WORK/shape.txt")"
import os, re, sys
src = sys.argv[1]
uses = {}
for f in sorted(os.listdir(src)):
    if f.endswith((".c", ".h")):
        m = f[:-2]
        text = open(os.path.join(src, f)).read()
        deps = set(re.findall(r'#include "([a-z_0-9]+)\.h"', text)) - {m}
        uses.setdefault(m, set()).update(deps)
        n = text.count("\n")
        if f.endswith(".c") and f != "config.c" and n > 800:
            sys.exit("src/%s has %d lines (at most 800)" % (f, n))
state, stack = {}, []
def visit(u):
    state[u] = 1
    stack.append(u)
    for v in sorted(uses.get(u, ())):
        if state.get(v) == 1:
            sys.exit("include circle: " + " -> ".join(stack[stack.index(v):] + [v]))
        if not state.get(v):
            visit(v)
    stack.pop()
    state[u] = 2
for m in sorted(uses):
    if not state.get(m):
        visit(m)
print("%d modules, no circle" % len(uses))
PY
ok "$(cat "$WORK/shape.txt"); no file over 800 lines but config.c"
finish
