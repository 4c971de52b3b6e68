#!/bin/bash
#
# time-jumps.sh: frames whose time jumps (issue 26), offline.
#  1. One frame stamped 30 years ahead of the others (gencap -J): no flow
#     ends idle because of it, every connection is one flow ending fin as
#     tshark sees it (the judges), the frame keeps its own time in its
#     flow's file, and the summary counts one time jump.
#  2. The capture's clock really steps (two captures two hours apart, the
#     first one's connections left open): the second frame after the step
#     agrees with the first, the clock moves, and the open flows end idle.
#  3. A pcapng interface whose if_tsoffset puts every time past 2554
#     (gencap -g -X): the frames are counted malformed bad_time and skipped,
#     logged once; no flow is made of them one frame each.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_cmd python3
need_traceflowd
GENCAP=${GENCAP:-$top_builddir/tests/gencap}
need_file "$GENCAP" gencap

summary() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))' "$@"; }

# 1. One frame decades ahead.
"$GENCAP" -c 200 -C 20 -p 6 -J 300 -S 51 -o "$WORK/jump.pcap" 2>/dev/null || fail "gencap -J failed"
tf_ok jump --read "$WORK/jump.pcap" --output "$WORK/jump" --summary json || fail "traceflowd failed"
pcapcmp_ok "$WORK/jump.pcap" "$WORK/jump" && judge_ok "$WORK/jump.pcap" "$WORK/jump" &&
	ok "one frame 30 years ahead: $JUDGE_LINE"
flows=$(summary "$TF_OUT" flows)
fin=$(summary "$TF_OUT" ended_fin)
jumps=$(summary "$TF_OUT" time_jumps)
if [ "$flows" -eq 200 ] && [ "$fin" -eq 200 ] && [ "$jumps" -eq 1 ]; then
	ok "200 flows, all ended fin, 1 time jump counted"
else
	check_fail "one frame ahead: $flows flows, $fin ended fin, $jumps time jumps (want 200, 200, 1)"
fi
grep -q "ahead of the capture's time" "$TF_ERR" || check_fail "the jump was not logged: $(head -c 300 "$TF_ERR")"
python3 - "$WORK/jump" <<'PY' || check_fail "the frame ahead lost its own time"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1] + "/index.jsonl")]
far = [r for r in lines if r["last_ns"] - r["first_ns"] > 20 * 365 * 86400 * 10**9]
sys.exit(0 if len(far) == 1 else 1)
PY

# 2. A real step: two captures two hours apart (the second over IPv6: other
# tuples), the first one's connections open.
"$GENCAP" -c 30 -C 30 -p 4 -O 100 -S 52 -t 1700000000 -o "$WORK/a.pcap" 2>/dev/null
"$GENCAP" -c 30 -C 5 -p 4 -6 100 -S 53 -t 1700007200 -o "$WORK/b.pcap" 2>/dev/null
python3 - "$WORK/a.pcap" "$WORK/b.pcap" "$WORK/step.pcap" <<'PY'
import sys
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
open(sys.argv[3], "wb").write(a + b[24:])
PY
tf_ok step --read "$WORK/step.pcap" --output "$WORK/step" --summary json || fail "traceflowd failed"
idle=$(summary "$TF_OUT" ended_idle)
if [ "$idle" -eq 30 ]; then
	ok "a step of two hours: the first capture's 30 open flows ended idle"
else
	check_fail "a step of two hours: $idle flows ended idle (want 30): $(cat "$TF_OUT")"
fi

# 3. Times no 64-bit number of ns holds.
"$GENCAP" -g -c 20 -C 5 -X 4611686018427387904 -S 54 -o "$WORK/bad.pcapng" 2>/dev/null ||
	fail "gencap -X failed"
tf_ok bad --read "$WORK/bad.pcapng" --output "$WORK/bad" --summary json || fail "traceflowd failed"
frames=$(summary "$TF_OUT" frames)
badtime=$(summary "$TF_OUT" malformed_bad_time)
flows=$(summary "$TF_OUT" flows)
logged=$(grep -c "past 2554" "$TF_ERR" || true)
if [ "$frames" -gt 0 ] && [ "$badtime" -eq "$frames" ] && [ "$flows" -eq 0 ] && [ "$logged" -eq 1 ]; then
	ok "times past 2554: $badtime of $frames frames malformed bad_time, no flow, logged once"
else
	check_fail "times past 2554: frames $frames, bad_time $badtime, flows $flows, logged $logged times"
fi
finish
