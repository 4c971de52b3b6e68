#!/bin/bash
#
# python-lib.sh: the Python module traceflow against the seed's documented
# behaviours (tests/test_traceflow.py: labels, trace, dump, submit's
# records, make_fout's formats, warnings and FileExists, byteorder,
# nanosecond, compat=False, from_file), over this build's libtraceflow.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/pylib.sh
. "$top_srcdir/tests/pylib.sh"

if (cd "$WORK" && python3 "$top_srcdir/tests/test_traceflow.py") >"$WORK/unittest.out" 2>&1; then
	ok "test_traceflow.py: $(grep -E '^Ran ' "$WORK/unittest.out")"
else
	cat "$WORK/unittest.out" >&2
	check_fail "test_traceflow.py failed"
fi
finish
