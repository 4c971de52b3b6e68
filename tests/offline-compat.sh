#!/bin/bash
#
# offline-compat.sh: traceflowd --read --compat pcapkit gives pcapkit's
# files, labels and index. Three levels:
#   1. a hand-made capture (tests/compat.py capture), microsecond and
#      nanosecond, whose index is written out below, derived by hand from
#      pcapkit's rule (traceflowd(8), "pcapkit compatibility");
#   2. gencap captures of one connection at a time, whose flows follow from
#      gencap's script by hand: per connection client->server (SYN, ACK,
#      data, FIN), server->client (SYN-ACK, data, FIN/ACK), and the last ACK
#      alone, open at the end;
#   3. mixed gencap captures (VLAN, QinQ, PPPoE, MPLS, fragments, RST,
#      missing SYN, port reuse, retransmitted FIN...) judged by compat.py's
#      model of the rule over tshark's dissection.
# pcapcmp checks every file against the index byte for byte throughout; the
# options the preset overrides are refused with both named.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_cmd tshark
need_traceflowd
need_file "$GENCAP" gencap
COMPAT=$top_srcdir/tests/compat.py

# entries OUTDIR: the index as "LABEL REASON FRAMES" lines, sorted.
entries() {
	python3 -c '
import json, sys
for l in open(sys.argv[1] + "/index.jsonl"):
    e = json.loads(l)
    print(e["label"], e["reason"], ",".join(map(str, e["index"])))
' "$1" | sort
}

# files OUTDIR: the per-flow files, sorted.
files() {
	(cd "$1" && find . -name '*.pcap' | sed 's|^\./||' | sort)
}

# 1. The hand-made capture: labels (shortest times, IPv6 compressed with
# dots, VLAN not in the key), one file per direction, a FIN ending its flow
# and the next frame starting one, RST and a new SYN ending nothing, the UDP
# frame 3 counted in the frame numbers.
for res in us ns; do
	in=$WORK/hand-$res.pcap
	out=$WORK/hand-$res.d
	python3 "$COMPAT" capture "$in" "$res"
	tf_ok "hand-$res" --read "$in" --output "$out" --compat pcapkit || continue
	pcapcmp_ok "$in" "$out" -r "$res" || continue
	if [ "$res" = us ]; then
		t1=1300475168.85533 t2=1300475168.9 t7=1329327786.3 t9=1329327787.0
	else
		# .924505500 and .924505512 are the same double: one label time.
		t1=1418145369.9245055 t2=1418145369.9245055 t7=1418145370.3 t9=1418145371.0
	fi
	want=$(sort <<EOF
192.0.2.1_12345-198.51.100.2_443-$t1 fin 1,4,5,6
198.51.100.2_443-192.0.2.1_12345-$t2 fin 2,8
192.0.2.1_12345-198.51.100.2_443-$t7 eof 7
2001.db8..1_5000-2001.db8..1.0.0.2_80-$t9 eof 9,10
EOF
)
	got=$(entries "$out")
	if [ "$got" != "$want" ]; then
		check_fail "hand-$res: index differs from the rule:
$(diff <(echo "$want") <(echo "$got") || true)"
		continue
	fi
	wantf=$(cut -d' ' -f1 <<<"$want" | sed 's/$/.pcap/' | sort)
	if [ "$(files "$out")" != "$wantf" ]; then
		check_fail "hand-$res: files $(files "$out" | tr '\n' ' ')"
		continue
	fi
	python3 "$COMPAT" model "$in" "$out" >"$out.model" ||
	    { check_fail "hand-$res: $(cat "$out.model")"; continue; }
	ok "hand-$res: 4 flows as derived by hand; $(cat "$out.model")"
done

# Without the preset the same capture is traceflow's: both directions in
# one flow, ended idle by the half-hour silence, fixed label times.
out=$WORK/hand-default.d
if tf_ok hand-default --read "$WORK/hand-us.pcap" --output "$out"; then
	if ! entries "$out" | grep -q '^192.0.2.1_12345-198.51.100.2_443-1300475168.855330 idle 1,2$'; then
		check_fail "hand-default: $(entries "$out" | tr '\n' ';')"
	else
		ok "hand-default: traceflow's own rule unchanged"
	fi
fi

# 2. gencap, one connection at a time (-C 1), two data packets each: 8
# frames per connection k (0-based) from frame 8k+1: client SYN, server
# SYN-ACK, client ACK, client data, server data, client FIN, server FIN/ACK,
# client ACK.
for variant in us ns v6; do
	case $variant in
	us) opts="" ;;
	ns) opts="-n" ;;
	v6) opts="-6 50 -n" ;;
	esac
	in=$WORK/seq-$variant.pcap
	out=$WORK/seq-$variant.d
	# shellcheck disable=SC2086 # opts is a list of options
	"$GENCAP" -c 6 -C 1 -p 2 -S 3 $opts -o "$in" 2>/dev/null || fail "gencap failed"
	tf_ok "seq-$variant" --read "$in" --output "$out" --compat pcapkit || continue
	pcapcmp_ok "$in" "$out" -r "$(pcap_precision "$in")" || continue
	# The labels: addresses, ports and first-frame times as tshark reads them,
	# the time written as Python writes the float.
	want=$(tshark -r "$in" -n -T fields -E separator=' ' -e frame.number -e frame.time_epoch \
	    -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst -e tcp.srcport -e tcp.dstport 2>/dev/null |
	    python3 -c '
import ipaddress, sys
from decimal import Decimal
rows = {}
for line in sys.stdin:
    v = line.split()
    rows[int(v[0])] = v
def label(n):
    _, t, s, d, sp, dp = rows[n]
    a = lambda x: str(ipaddress.ip_address(x)).replace(":", ".")
    return "%s_%s-%s_%s-%s" % (a(s), sp, a(d), dp, repr(float(Decimal(t))))
for k in range(6):
    b = 8 * k
    print(label(b + 1), "fin", ",".join(str(b + i) for i in (1, 3, 4, 6)))
    print(label(b + 2), "fin", ",".join(str(b + i) for i in (2, 5, 7)))
    print(label(b + 8), "eof", b + 8)
' | sort)
	got=$(entries "$out")
	if [ "$got" != "$want" ]; then
		check_fail "seq-$variant: index differs from gencap's script:
$(diff <(echo "$want") <(echo "$got") | head -n 20 || true)"
		continue
	fi
	if [ "$(files "$out" | wc -l)" -ne 18 ]; then
		check_fail "seq-$variant: $(files "$out" | wc -l) files for 18 flows"
		continue
	fi
	ok "seq-$variant: 18 flows, 3 per connection, as derived from the script"
done

# 3. Mixed captures, every link type, judged by the model of the rule.
for lt in en10mb sll sll2 null loop raw; do
	for variant in m mbn6; do
		case $variant in
		m) opts="-m" ;;
		mbn6) opts="-m -b -n -6 30" ;;
		esac
		name=$lt-$variant
		in=$WORK/$name.pcap
		out=$WORK/$name.d
		# shellcheck disable=SC2086
		"$GENCAP" -c 40 -C 8 -p 16 -l "$lt" -S 11 $opts -o "$in" 2>/dev/null ||
		    fail "gencap $name failed"
		tf_ok "$name" --read "$in" --output "$out" --compat pcapkit || continue
		pcapcmp_ok "$in" "$out" -r "$(pcap_precision "$in")" || continue
		if ! python3 "$COMPAT" model "$in" "$out" >"$out.model"; then
			check_fail "$name: $(head -n 20 "$out.model")"
			continue
		fi
		ok "$name: $(cat "$out.model")"
	done
done

# No idle timeout under the preset: the same two connections again ten
# minutes later. The last ACK of each, open (no FIN), takes in the new SYN
# and all of its direction up to the FIN: 5 flows per tuple, not 6.
in=$WORK/gap.pcap
"$GENCAP" -c 2 -C 1 -p 2 -o "$WORK/gap-a.pcap" 2>/dev/null
"$GENCAP" -c 2 -C 1 -p 2 -t 1700000600 -o "$WORK/gap-b.pcap" 2>/dev/null
{ cat "$WORK/gap-a.pcap"; tail -c +25 "$WORK/gap-b.pcap"; } >"$in"
out=$WORK/gap.d
if tf_ok gap --read "$in" --output "$out" --compat pcapkit &&
    python3 "$COMPAT" model "$in" "$out" >"$out.model" &&
    [ "$(wc -l <"$out/index.jsonl")" -eq 10 ]; then
	ok "gap: $(cat "$out.model")"
else
	check_fail "gap: $(cat "$out.model" 2>/dev/null || cat "$TF_ERR")"
fi

# The preset's settings given too: refused, both named, nothing written.
for extra in "--flow-end first-fin" "--flow-key connection" "--label-time fixed" \
    "--idle-timeout 60" "--segment-packets 10" "--segment-size 1048576"; do
	opt=${extra%% *}
	setting=$(tr -- - _ <<<"${opt#--}")
	# shellcheck disable=SC2086 # extra is an option and its value
	tf conflict --read "$WORK/hand-us.pcap" --output "$WORK/conflict.d" $extra --compat pcapkit
	msg="--compat pcapkit sets $setting; $extra also given"
	if [ "$TF_RC" -ne 2 ] || ! grep -qF -- "$msg" "$TF_ERR" || [ -e "$WORK/conflict.d" ]; then
		check_fail "$extra --compat pcapkit: exit $TF_RC, $(cat "$TF_ERR")"
	fi
done
tf badword --read "$WORK/hand-us.pcap" --output "$WORK/conflict.d" --compat tcpflow
if [ "$TF_RC" -ne 2 ] || ! grep -qF 'unknown word "tcpflow" (allowed: none, pcapkit)' "$TF_ERR"; then
	check_fail "--compat tcpflow: exit $TF_RC, $(cat "$TF_ERR")"
fi
ok "conflicts with the preset refused, both named"

finish
