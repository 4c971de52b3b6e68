#!/bin/bash
#
# offline-batch.sh: batched lookups change nothing. Once the flow table
# holds more flows than a core's cache keeps (ENGINE_HINT_FLOWS, 16,384),
# a mapped capture file is traced in batches whose flows are looked up
# ahead (engine_frames); a capture read from a pipe is traced one frame at
# a time. The same capture, 18,000 connections at a time with every edge
# case gencap -m makes (IP fragments, VLAN, QinQ, PPPoE, MPLS, IPv6, port
# reuse, resets, non-TCP frames), read both ways: the same files, the same
# bytes in them, the same index, the same counters; and pcapcmp finds every
# frame of the input in the batched split.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_traceflowd
need_file "$GENCAP" gencap

cap=$WORK/many.pcap
"$GENCAP" -c 20000 -C 18000 -p 2 -m -6 30 -S 11 -o "$cap" >"$WORK/gencap.out" 2>&1 ||
    fail "gencap: $(cat "$WORK/gencap.out")"

tf_ok mapped --read "$cap" --output "$WORK/mapped" --summary json || finish
cp "$TF_OUT" "$WORK/mapped.json"
# Through a pipe (a file on standard input would be mapped too).
TF_RC=0
cat "$cap" | "$TRACEFLOWD" --read - --output "$WORK/piped" --summary json \
    >"$WORK/piped.json" 2>"$WORK/piped.err" || TF_RC=$?
[ "$TF_RC" -eq 0 ] || fail "--read - exited $TF_RC: $(head -c 600 "$WORK/piped.err")"

# The catalog is a database whose pages differ run to run; its rows are the index's.
if ! diff -r -x .catalog "$WORK/mapped" "$WORK/piped" >"$WORK/diff.out" 2>&1; then
	check_fail "batched and one-by-one splits differ: $(head -c 1500 "$WORK/diff.out")"
else
	ok "same files, same bytes, same index ($(find "$WORK/mapped" -name '*.pcap' | wc -l) files)"
fi
python3 - "$WORK/mapped.json" "$WORK/piped.json" <<'PY' || check_fail "summaries differ"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for k in ("frames", "tcp", "flows", "malformed", "not_tcp", "files"):
    if a.get(k) != b.get(k):
        sys.exit("%s: batched %s, one by one %s" % (k, a.get(k), b.get(k)))
if a["flows"] < 18000:
    sys.exit("only %s flows: the table never outgrew ENGINE_HINT_FLOWS" % a["flows"])
print("ok: summaries agree: %s frames, %s flows" % (a["frames"], a["flows"]))
PY
pcapcmp_ok "$cap" "$WORK/mapped" && ok "pcapcmp: every frame of the input in the batched split"
finish
