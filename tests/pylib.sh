# shellcheck shell=bash
#
# pylib.sh: what the Python tests of libtraceflow share (python-lib.sh,
# python-compat.sh). Sourced after lib.sh, never run: python3 (or a skip),
# the module and library of this build (or a failure), and, when the
# library was built with AddressSanitizer (build-asan/), its runtime
# preloaded: python3 itself is not instrumented, and ASan must be the first
# library of the process to watch the one that ctypes loads. Python keeps
# its objects to the end on purpose, so leak detection is off there (the C
# test, check_libtf, runs the library under LeakSanitizer).

need_cmd python3
TF_LIB=$top_builddir/lib/libtraceflow.so.0
[ -e "$TF_LIB" ] || fail "libtraceflow not built at $TF_LIB (run make)"
[ -f "$top_builddir/python/traceflow.py" ] || fail "the Python module is not built (run make)"
export TRACEFLOW_LIB=$TF_LIB
export PYTHONPATH=$top_builddir/python${PYTHONPATH:+:$PYTHONPATH}
asan=$(ldd "$TF_LIB" | awk '$1 ~ /^libasan\.so/ {print $3}')
if [ -n "$asan" ]; then
	export LD_PRELOAD=$asan${LD_PRELOAD:+:$LD_PRELOAD}
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	ok "AddressSanitizer build: python3 runs with $asan preloaded, leak detection off"
fi
