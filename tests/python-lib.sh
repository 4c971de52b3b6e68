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

# README's Python example (ten lines), run as written: its capture.pcap
# made by gencap, its packets the seed's records of one connection.
sed -n '/^    from traceflow import TraceFlow$/,/^    index = tf.submit()$/p' "$top_srcdir/README" |
	sed 's/^    //' >"$WORK/example.py"
if [ "$(wc -l <"$WORK/example.py")" -ne 10 ]; then
	check_fail "README's Python example is not 10 lines"
else
	"$GENCAP" -c 3 -C 1 -o "$WORK/capture.pcap" 2>/dev/null
	{
		echo "import sys; sys.path.insert(0, '$top_srcdir/tests')"
		echo "from test_traceflow import connection; packets = connection()"
		cat "$WORK/example.py"
		echo "assert len(index) == 3, index"
	} >"$WORK/run-example.py"
	if (cd "$WORK" && python3 run-example.py) >"$WORK/example.out" 2>&1 &&
		[ "$(wc -l <"$WORK/example.out")" -eq 16 ]; then
		ok "README's Python example: 9 flows from the capture, 7 labels from the records"
	else
		check_fail "README's Python example: $(tail -n 5 "$WORK/example.out")"
	fi
fi
finish
