#!/bin/bash
#
# offline-generated.sh: traceflowd --read over captures made by gencap, for
# every link type, plain and mixed (-m: VLAN, QinQ, PPPoE, MPLS, IPv6
# extension headers, IPv4 fragments, RST, missing SYN, port reuse, ...),
# big-endian, nanosecond and with 30% IPv6. Each run is judged by pcapcmp and
# judge.py; then the index is checked for the outcomes gencap promises, each
# file's time for its flow's last packet, and the output formats, --flow-end
# first-fin and --layout (local time: UTC0 and JST-9; the partition is the
# UTC hour of a flow's end, not its start) are exercised.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_cmd tshark
need_traceflowd
need_file "$GENCAP" gencap

CONNS=40
LABEL_RE='^([0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9a-f.]+)_[0-9]+-([0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9a-f.]+)_[0-9]+-[0-9]+\.([0-9]{6}|[0-9]{9})$'

# gen NAME GENCAP-OPTIONS...: $WORK/NAME.pcap; gencap's own report kept.
gen() {
	local name=$1

	shift
	"$GENCAP" "$@" -o "$WORK/$name.pcap" 2>"$WORK/$name.gencap" ||
	    fail "gencap $* failed: $(cat "$WORK/$name.gencap")"
}

# split_judge NAME [TRACEFLOWD OPTIONS...]: split $WORK/NAME.pcap into
# $WORK/NAME.d and judge it. Returns 1 (failure recorded) when anything is off.
split_judge() {
	local name=$1 in out res

	shift
	in=$WORK/$name.pcap
	out=$WORK/$name.d
	tf_ok "$name" --read "$in" --output "$out" "$@" || return 1
	res=$(pcap_precision "$in")
	pcapcmp_ok "$in" "$out" -e little ${res:+-r "$res"} || return 1
	judge_ok "$in" "$out" || return 1
}

# check_mtimes OUTDIR: every file's time is its index line's last_ns, to the
# nanosecond (ls -t and retention order files by when their flows ended).
check_mtimes() {
	index_py "$1" "
bad = [(e['fpout'], os.stat(os.path.join(D, e['fpout'])).st_mtime_ns, e['first_ns'], e['last_ns'])
       for e in E if e['fpout'] is not None
       and os.stat(os.path.join(D, e['fpout'])).st_mtime_ns != e['last_ns']]
if bad:
    sys.exit('%d files whose mtime is not their last packet (file, mtime, first, last ns): %s'
             % (len(bad), bad[:3]))
if not any(e['first_ns'] != e['last_ns'] for e in E):
    sys.exit('test setup: no flow lasts: mtime cannot tell first from last packet')
"
}

# Every label of the form documented.
check_labels() {
	index_py "$1" "
bad = [e['label'] for e in E if not re.match(r'''$LABEL_RE''', e['label'])]
if bad:
    sys.exit('labels not of the documented form: %s' % bad[:5])
"
}

# 1. Plain captures: exactly one flow per generated connection.
for lt in en10mb sll sll2 null loop raw; do
	for variant in plain b n v6 bn6; do
		case $variant in
		plain) opts="" ;;
		b) opts="-b" ;;
		n) opts="-n" ;;
		v6) opts="-6 30" ;;
		bn6) opts="-b -n -6 30" ;;
		esac
		# Only Ethernet gets every variant; the others get plain and all-in-one.
		if [ "$lt" != en10mb ] && [ "$variant" != plain ] && [ "$variant" != bn6 ]; then
			continue
		fi
		name=$lt-$variant
		# shellcheck disable=SC2086 # opts is a list of options
		gen "$name" -c "$CONNS" -C 8 -p 16 -l "$lt" -S 7 $opts
		split_judge "$name" || continue
		check_labels "$WORK/$name.d" || continue
		check_mtimes "$WORK/$name.d" || continue
		index_py "$WORK/$name.d" "
flows = set(e['label'] for e in E)
if len(flows) != $CONNS:
    sys.exit('%d flows for $CONNS generated connections' % len(flows))
if any(e['partial'] for e in E):
    sys.exit('a flow of a plain capture is partial')
" || continue
		ok "$name: $JUDGE_LINE"
	done
done

# 2. Mixed captures: edge cases. Reasons must include fin and rst, and a flow
# must be partial (the missing SYN).
for lt in en10mb sll sll2 null loop raw; do
	for variant in m mbn6; do
		case $variant in
		m) opts="-m" ;;
		mbn6) opts="-m -b -n -6 30" ;;
		esac
		name=$lt-$variant
		# shellcheck disable=SC2086
		gen "$name" -c "$CONNS" -C 8 -p 16 -l "$lt" -S 11 $opts
		split_judge "$name" || continue
		check_labels "$WORK/$name.d" || continue
		check_mtimes "$WORK/$name.d" || continue
		index_py "$WORK/$name.d" "
reasons = set(e['reason'] for e in E)
for r in ('fin', 'rst'):
    if r not in reasons:
        sys.exit('no flow ended with reason %s (reasons: %s)' % (r, sorted(reasons)))
if not any(e['partial'] for e in E):
    sys.exit('no partial flow, though gencap -m drops a SYN')
" || continue
		ok "$name: $JUDGE_LINE"
	done
done

# 3. Output formats, on one mixed Ethernet capture.
in=$WORK/en10mb-m.pcap
for fmt in json plist tree none; do
	out=$WORK/fmt-$fmt.d
	tf_ok "fmt-$fmt" --read "$in" --output "$out" --format "$fmt" || continue
	pcapcmp_ok "$in" "$out" -I || continue
	judge_ok "$in" "$out" || continue
	case $fmt in
	json) check='
for e in E:
    lines = [l for l in open(os.path.join(D, e["fpout"])) if l.strip()]
    for n, l in enumerate(lines, 1):
        try:
            json.loads(l)
        except ValueError as x:
            sys.exit("%s:%d: not JSON: %s" % (e["fpout"], n, x))
    if len(lines) != e["packets"]:
        sys.exit("%s: %d lines for %d packets" % (e["fpout"], len(lines), e["packets"]))' ;;
	plist) check='
import plistlib
for e in E:
    with open(os.path.join(D, e["fpout"]), "rb") as f:
        try:
            plistlib.load(f)
        except Exception as x:
            sys.exit("%s: not a plist: %s" % (e["fpout"], x))' ;;
	tree) check='
for e in E:
    if os.path.getsize(os.path.join(D, e["fpout"])) == 0:
        sys.exit("%s: empty" % e["fpout"])' ;;
	none) check='
if any(e["fpout"] is not None for e in E):
    sys.exit("--format none, yet fpout is not null")
for root, dirs, files in os.walk(D):
    for f in files:
        if os.path.join(root, f) != os.path.join(D, "index.jsonl"):
            sys.exit("--format none wrote %s" % os.path.join(root, f))' ;;
	esac
	index_py "$out" "
if not E:
    sys.exit('empty index')
$check" || continue
	ok "--format $fmt: $JUDGE_LINE"
done

# 4. --flow-end first-fin: more flows than teardown; every flow but those cut
# by eof (or rst) ends on a packet with FIN.
in=$WORK/en10mb-plain.pcap
tshark -r "$in" -n -Y 'tcp.flags.fin == 1' -T fields -e frame.number >"$WORK/fins" 2>/dev/null ||
    true
out=$WORK/firstfin.d
if tf_ok firstfin --read "$in" --output "$out" --flow-end first-fin &&
    pcapcmp_ok "$in" "$out" && judge_ok "$in" "$out" &&
    index_py "$out" "
fins = set(int(l) for l in open('$WORK/fins'))
teardown = set(json.loads(l)['label'] for l in open('$WORK/en10mb-plain.d/index.jsonl'))
flows = set(e['label'] for e in E)
if len(flows) <= len(teardown):
    sys.exit('first-fin gives %d flows, teardown %d' % (len(flows), len(teardown)))
for e in E:
    if e['reason'] not in ('eof', 'rst') and e['index'][-1] not in fins:
        sys.exit('%s (reason %s) ends on frame %d, which has no FIN'
                 % (e['label'], e['reason'], e['index'][-1]))
"; then
	ok "--flow-end first-fin: $JUDGE_LINE"
fi

# 5. --layout: dated folders in the partition (the UTC hour of the flow's
# end), named by the flow's start in local time. The capture starts at
# 2023-11-14 21:59:59.97 UTC, so that some flows begin in one hour and end
# in the next (their partition is the next's); in JST (UTC+9) that is
# 2023-11-15, the folder's date.
gen tz -c 40 -C 8 -p 16 -S 7 -t 1699999199
in=$WORK/tz.pcap
python3 - "$in" <<'EOF' || fail "cannot shift $in by 0.85 s"
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
assert struct.unpack("<I", d[:4])[0] == 0xa1b2c3d4, "not a little-endian microsecond pcap"
off = 24
while off < len(d):
    sec, us, incl = struct.unpack("<III", d[off:off + 12])
    us += 850000
    struct.pack_into("<II", d, off, sec + us // 1000000, us % 1000000)
    off += 16 + incl
open(sys.argv[1], "wb").write(d)
EOF
for tz in UTC0:0 JST-9:9; do
	off=${tz#*:}
	tz=${tz%:*}
	out=$WORK/layout-$tz.d
	if TZ=$tz tf_ok "layout-$tz" --read "$in" --output "$out" --layout '%Y/%m/%d' &&
	    pcapcmp_ok "$in" "$out" && judge_ok "$in" "$out" && check_mtimes "$out" &&
	    index_py "$out" "
import time
hour = lambda ns: time.strftime('%Y-%m-%dT%H', time.gmtime(ns // 10**9))
if not any(hour(e['first_ns']) != hour(e['last_ns']) for e in E):
    sys.exit('test setup: no flow begins in one hour and ends in the next')
for e in E:
    d = e['fpout'].rsplit('/', 1)[0] if '/' in e['fpout'] else ''
    t = e['first_ns'] // 10**9
    part = time.strftime('%Y-%m-%dT%H', time.gmtime(e['last_ns'] // 10**9))
    day = time.strftime('%Y/%m/%d', time.gmtime(t + $off * 3600))
    if $off and day == time.strftime('%Y/%m/%d', time.gmtime(t)):
        sys.exit('test setup: %s starts on the same date in UTC and TZ=$tz' % e['label'])
    if d != part + '/' + day:
        sys.exit('TZ=$tz: %s: folder %r, expected %r' % (e['fpout'], d, part + '/' + day))
"; then
		ok "--layout, TZ=$tz: $JUDGE_LINE"
	fi
done

finish
