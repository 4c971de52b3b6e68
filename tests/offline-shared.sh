#!/bin/bash
#
# offline-shared.sh: traceflowd --read over every real-world capture of the
# shared corpus (../shared/pcaps/MANIFEST.tsv), judged record by record by
# pcapcmp and flow by flow against tshark by judge.py. The truncated capture
# must fail with a message, yet everything before the cut must be split,
# indexed and judged. One capture also runs with --byteorder big
# --nanosecond, and tshark must read the same timestamps from its files.
# Then the captures of extra/MANIFEST.tsv, which only our own reader reads.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_cmd tshark
[ -n "$SHARED_PCAPS" ] || skip "no shared captures at $top_srcdir/../shared/pcaps"
manifest=$SHARED_PCAPS/MANIFEST.tsv
[ -f "$manifest" ] || skip "$manifest is missing"
need_traceflowd

# Some captures (OpenFlow) fall silent for minutes: an explicit idle timeout,
# so that the judge can tell such a split from a wrong one.
IDLE=300

# One capture of the manifest: split it and judge the result.
run_one() {
	local file=$1 notes=$2 in name out want_res ntcp stcp odd

	in=$SHARED_PCAPS/$file
	name=$(printf '%s' "$file" | tr '/' '_')
	out=$WORK/$name
	if [ ! -r "$in" ]; then
		check_fail "$file: listed in the manifest but not readable"
		return
	fi

	case $notes in
	*"FILE TRUNCATED"*)
		tf "$name" --read "$in" --output "$out" --idle-timeout "$IDLE"
		if [ "$TF_RC" -eq 0 ]; then
			check_fail "$file: truncated input, yet traceflowd exited 0"
		elif [ "$TF_RC" -ne 1 ]; then
			check_fail "$file: truncated input: exit $TF_RC, expected 1 (runtime error)"
		fi
		if ! grep -qiE 'trunc|cut short|short read|incomplete' "$TF_ERR"; then
			check_fail "$file: no message about the truncation on stderr: $(head -c 300 "$TF_ERR")"
		fi
		[ -f "$out/index.jsonl" ] || {
			check_fail "$file: no index.jsonl for the frames before the cut"
			return
		}
		pcapcmp_ok "$in" "$out" || return 0
		judge_ok "$in" "$out" --truncated --idle-timeout "$IDLE" || return 0
		[ "$(judge_field written)" -gt 0 ] ||
		    check_fail "$file: nothing before the cut was written"
		ok "$file (truncated): exit $TF_RC, $JUDGE_LINE"
		return
		;;
	esac

	tf_ok "$name" --read "$in" --output "$out" --idle-timeout "$IDLE" || return 0
	want_res=$(pcap_precision "$in")
	if [ -n "$want_res" ]; then
		pcapcmp_ok "$in" "$out" -e little -r "$want_res" || return 0
	else
		pcapcmp_ok "$in" "$out" -e little || return 0
	fi
	judge_ok "$in" "$out" --idle-timeout "$IDLE" || return 0

	# The summary's TCP frames: tshark's, plus frames tshark cannot dissect
	# but traceflowd wrote (judge notes those).
	ntcp=$(judge_field tcp_frames)
	odd=$(grep -c 'traceflowd wrote it' "$out.judge" || true)
	stcp=$(summary_tcp "$TF_OUT")
	if [ -z "$stcp" ]; then
		check_fail "$file: no TCP frame count in the summary: $(head -c 300 "$TF_OUT")"
	elif [ "$stcp" -ne $((ntcp + odd)) ]; then
		check_fail "$file: summary says $stcp TCP frames, tshark counts $ntcp (+$odd odd)"
	fi
	ok "$file: $JUDGE_LINE"
}

while IFS=$'\t' read -r -u 3 file _ _ _ _ notes; do
	[ "$file" = file ] && continue # the header line
	[ -n "$file" ] || continue
	run_one "$file" "$notes"
done 3<"$manifest"

# extra/ holds captures libpcap refuses (a pcapng whose interfaces differ in
# link type and snap length), in a manifest of their own: judged through
# tshark, which finds every TCP frame in exactly one file with its bytes
# and timestamp.
run_extra() {
	local file=$1 in name out ntcp stcp

	in=$SHARED_PCAPS/extra/$file
	name=extra_$(printf '%s' "$file" | tr '/' '_')
	out=$WORK/$name
	if [ ! -r "$in" ]; then
		check_fail "extra/$file: listed in the manifest but not readable"
		return
	fi
	tf_ok "$name" --read "$in" --output "$out" --idle-timeout "$IDLE" || return 0
	tsharkcmp_ok "$in" "$out" || return 0
	judge_ok "$in" "$out" --idle-timeout "$IDLE" || return 0
	ntcp=$(judge_field tcp_frames)
	stcp=$(summary_tcp "$TF_OUT")
	if [ "$stcp" != "$ntcp" ]; then
		check_fail "extra/$file: summary says $stcp TCP frames, tshark counts $ntcp"
	fi
	ok "extra/$file: $JUDGE_LINE"
}

if [ -f "$SHARED_PCAPS/extra/MANIFEST.tsv" ]; then
	need_cmd capinfos
	while IFS=$'\t' read -r -u 3 file _; do
		[ "$file" = file ] && continue
		[ -n "$file" ] || continue
		run_extra "$file"
	done 3<"$SHARED_PCAPS/extra/MANIFEST.tsv"
fi

# Big-endian nanosecond output: pcapcmp checks the records and the header;
# tshark must print the input's times from the output files. One microsecond
# and one nanosecond input.
for file in zeek/methods.pcap tcpdump/tcp-handshake-nano.pcap; do
	in=$SHARED_PCAPS/$file
	[ -f "$in" ] || continue
	name=be-ns-$(basename "$file" .pcap)
	out=$WORK/$name
	tf_ok "$name" --read "$in" --output "$out" --byteorder big --nanosecond || continue
	pcapcmp_ok "$in" "$out" -e big -r ns || continue
	judge_ok "$in" "$out" || continue
	# The first few flows are enough to cross-check tshark's reading.
	python3 - "$out" >"$out.files" <<'EOF'
import json, os, sys
for l in list(open(os.path.join(sys.argv[1], 'index.jsonl')))[:4]:
    e = json.loads(l)
    print(e['fpout'] + '\t' + ','.join(str(n) for n in e['index']))
EOF
	while IFS=$'\t' read -r -u 4 fpout frames; do
		tshark -r "$out/$fpout" -T fields -e frame.time_epoch >"$out.t-out" 2>/dev/null ||
		    check_fail "$name: tshark cannot read $fpout"
		tshark -r "$in" -Y "frame.number in {$frames}" -T fields -e frame.time_epoch \
		    >"$out.t-in" 2>/dev/null || true
		if ! cmp -s "$out.t-in" "$out.t-out"; then
			check_fail "$name: $fpout: tshark reads other times than the input's:" \
			    "$(diff "$out.t-in" "$out.t-out" | head -n 6)"
		fi
	done 4<"$out.files"
	ok "$file --byteorder big --nanosecond: $JUDGE_LINE"
done

finish
