#!/bin/bash
#
# offline-batch.sh: batched lookups change nothing. Once the flow table
# holds more flows than a core's cache keeps (ENGINE_HINT_FLOWS, 16,384),
# a mapped capture file is traced in batches whose flows are looked up
# ahead (engine_frames); a capture read from a pipe is traced one frame at
# a time. Each capture below is read both ways: the same files with the
# same bytes, the same index, the same counters; and pcapcmp finds every
# frame of the input in the batched split (of the first).
#   - 20,000 connections, 18,000 at a time, with every edge case gencap -m
#     makes (IP fragments, VLAN, QinQ, PPPoE, MPLS, IPv6, port reuse,
#     resets, non-TCP frames);
#   - two pcapng sections end to end (cat a.pcapng b.pcapng), the first
#     leaving 17,000 connections open: the second's interfaces arrive while
#     frames of the first wait for their batch (the reader's list of
#     interfaces grows under them: a use-after-free, seen by ASan).

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_traceflowd
need_file "$GENCAP" gencap

# gencap_to FILE ARGS...
gencap_to() {
	local out=$1

	shift
	"$GENCAP" "$@" -o "$out" >"$WORK/gencap.out" 2>&1 || fail "gencap $*: $(cat "$WORK/gencap.out")"
}

# both_ways NAME CAPTURE MIN_FLOWS [nojudge]: split mapped and piped, compare;
# nojudge: no pcapcmp (it reads one link type a file; gencap -g mixes three,
# and offline-pcapng.sh judges such files against tshark).
both_ways() {
	local name=$1 cap=$2 min=$3 judge=${4:-} mapped=$WORK/$1.mapped piped=$WORK/$1.piped rc=0

	tf_ok "$name.mapped" --read "$cap" --output "$mapped" --summary json || return 0
	cp "$TF_OUT" "$mapped.json"
	# Through a pipe (a file on standard input would be mapped too).
	cat "$cap" | "$TRACEFLOWD" --read - --output "$piped" --summary json \
	    >"$piped.json" 2>"$piped.err" || rc=$?
	if [ "$rc" -ne 0 ]; then
		check_fail "$name: --read - exited $rc: $(head -c 600 "$piped.err")"
		return 0
	fi
	# The catalog is a database whose pages differ run to run; its rows are the index's.
	if ! diff -r -x .catalog "$mapped" "$piped" >"$WORK/$name.diff" 2>&1; then
		check_fail "$name: batched and one-by-one splits differ: $(head -c 1500 "$WORK/$name.diff")"
	else
		ok "$name: same files, same bytes, same index ($(find "$mapped" -name '*.pcap' | wc -l) files)"
	fi
	python3 - "$mapped.json" "$piped.json" "$min" "$name" <<'PY' || check_fail "$name: summaries differ"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for k in ("frames", "tcp_frames", "flows", "malformed", "not_tcp", "files"):
    if k not in a or a[k] != b.get(k):
        sys.exit("%s: batched %s, one by one %s" % (k, a.get(k), b.get(k)))
if a["flows"] < int(sys.argv[3]):
    sys.exit("only %s flows: the table never outgrew ENGINE_HINT_FLOWS" % a["flows"])
print("ok: %s: summaries agree: %s frames, %s flows" % (sys.argv[4], a["frames"], a["flows"]))
PY
	[ "$judge" = nojudge ] && return 0
	pcapcmp_ok "$cap" "$mapped" && ok "$name: pcapcmp: every frame of the input in the batched split"
}

gencap_to "$WORK/mixed.pcap" -c 20000 -C 18000 -p 2 -m -6 30 -S 11
both_ways mixed "$WORK/mixed.pcap" 18000

gencap_to "$WORK/a.pcapng" -g -O 100 -c 17000 -C 17000 -p 1 -S 12
gencap_to "$WORK/b.pcapng" -g -c 50 -C 10 -p 2 -S 13 -t 1700000100
cat "$WORK/a.pcapng" "$WORK/b.pcapng" >"$WORK/sections.pcapng"
both_ways sections "$WORK/sections.pcapng" 17000 nojudge
finish
