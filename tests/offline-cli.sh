#!/bin/bash
#
# offline-cli.sh: traceflowd --read's command line and its failure modes:
# output folder missing / not empty / --force / a file in the way, unknown
# --format, unreadable input, --read - (stdin), a BPF expression (frame
# numbers still count every input frame), input cut mid-record; progress
# on a terminal (script(1) gives a pty), none with --quiet or stderr not a
# terminal; --summary json.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_cmd tshark
need_cmd script
need_cmd python3
need_traceflowd

# The input: a gencap capture with non-TCP frames, else a shared capture.
in=$WORK/in.pcap
if [ -x "$GENCAP" ]; then
	"$GENCAP" -c 12 -C 4 -p 12 -m -S 5 -o "$in" 2>"$WORK/gencap.err" ||
	    fail "gencap failed: $(cat "$WORK/gencap.err")"
	"$GENCAP" -c 12 -C 4 -p 12 -S 5 -o "$WORK/plain.pcap" 2>>"$WORK/gencap.err" ||
	    fail "gencap failed: $(cat "$WORK/gencap.err")"
elif [ -n "$SHARED_PCAPS" ] && [ -f "$SHARED_PCAPS/tcpreplay/test.pcap" ]; then
	cp "$SHARED_PCAPS/tcpreplay/test.pcap" "$in"
	cp "$in" "$WORK/plain.pcap"
else
	skip "neither gencap nor the shared captures are available"
fi

# 1. A missing output folder is created.
out=$WORK/new
if tf_ok missing --read "$in" --output "$out" && pcapcmp_ok "$in" "$out" &&
    judge_ok "$in" "$out"; then
	ok "missing output folder created: $JUDGE_LINE"
fi

# 2. An existing non-empty folder is refused, and left as it was.
if [ -f "$out/index.jsonl" ]; then
	before=$(cksum "$out/index.jsonl")
	tf nonempty --read "$in" --output "$out"
	if [ "$TF_RC" -eq 0 ]; then
		check_fail "non-empty output folder accepted without --force"
	elif ! grep -q -- '--force' "$TF_ERR"; then
		check_fail "non-empty output folder: the message does not mention --force:" \
		    "$(head -c 300 "$TF_ERR")"
	elif [ "$(cksum "$out/index.jsonl")" != "$before" ]; then
		check_fail "non-empty output folder refused, but its index.jsonl changed"
	else
		ok "non-empty output folder refused (exit $TF_RC)"
	fi

	# 3. ... unless --force, which adds to the folder: nothing there is
	# replaced or truncated, names already taken get a "-N" suffix, and the
	# new run's index lines follow the old ones.
	old_index=$(cat "$out/index.jsonl")
	old_lines=$(wc -l <"$out/index.jsonl")
	old_sums=$(cd "$out" && find . -name '*.pcap' -exec cksum {} + | sort)
	if tf_ok force --read "$in" --output "$out" --force; then
		new_lines=$(($(wc -l <"$out/index.jsonl") - old_lines))
		if [ "$(head -n "$old_lines" "$out/index.jsonl")" != "$old_index" ]; then
			check_fail "--force: the earlier index lines changed"
		elif [ "$(cd "$out" && find . -name '*.pcap' -exec cksum {} + | sort |
			grep -c -F -x -f <(echo "$old_sums"))" -ne "$(echo "$old_sums" | wc -l)" ]; then
			check_fail "--force: an earlier file changed"
		elif [ "$new_lines" -ne "$old_lines" ]; then
			check_fail "--force: $new_lines new index lines, expected $old_lines"
		elif ! tail -n "$new_lines" "$out/index.jsonl" | python3 -c '
import json, os, sys, filecmp
out = sys.argv[1]
for line in sys.stdin:
    e = json.loads(line)
    assert e["label"].endswith("-1"), e["label"]
    orig = e["fpout"].replace("-1.pcap", ".pcap")
    assert filecmp.cmp(os.path.join(out, e["fpout"]), os.path.join(out, orig), shallow=False), e["fpout"]
' "$out" 2>"$WORK/force.err"; then
			check_fail "--force: new files are not suffixed copies: $(tail -n 3 "$WORK/force.err")"
		else
			ok "--force into a non-empty folder: $new_lines new flows, suffixed, nothing replaced"
		fi
	fi
fi

# 4. A regular file where the folder should be.
: >"$WORK/afile"
tf afile --read "$in" --output "$WORK/afile"
if [ "$TF_RC" -eq 0 ]; then
	check_fail "a regular file as the output folder accepted"
elif [ ! -f "$WORK/afile" ] || [ -s "$WORK/afile" ]; then
	check_fail "a regular file as the output folder: the file was changed"
else
	ok "regular file as output folder refused (exit $TF_RC)"
fi

# 5. An unknown --format: usage error listing the valid ones.
tf badformat --read "$in" --output "$WORK/badformat" --format pcapx
if [ "$TF_RC" -ne 2 ]; then
	check_fail "--format pcapx: exit $TF_RC, expected 2"
else
	for f in pcap json plist tree none; do
		grep -qw "$f" "$TF_ERR" ||
		    check_fail "--format pcapx: the message does not list $f: $(head -c 300 "$TF_ERR")"
	done
	ok "--format pcapx refused"
fi

# 6. Unreadable input: not a capture, or missing.
printf 'this is not a capture\n' >"$WORK/text.txt"
for bad in "$WORK/text.txt" "$WORK/no-such-file.pcap"; do
	tf unreadable --read "$bad" --output "$WORK/unreadable"
	if [ "$TF_RC" -eq 0 ]; then
		check_fail "--read $bad: exit 0"
	elif ! grep -qF "$(basename "$bad")" "$TF_ERR"; then
		check_fail "--read $bad: the message does not name the file: $(head -c 300 "$TF_ERR")"
	else
		ok "--read $(basename "$bad") refused (exit $TF_RC)"
	fi
	rm -rf "$WORK/unreadable"
done

# 7. --read - reads the capture from stdin.
out=$WORK/stdin
rc=0
"$TRACEFLOWD" --read - --output "$out" <"$in" >"$WORK/stdin.out" 2>"$WORK/stdin.err" || rc=$?
if [ "$rc" -ne 0 ]; then
	check_fail "--read -: exit $rc: $(head -c 300 "$WORK/stdin.err")"
elif pcapcmp_ok "$in" "$out" && judge_ok "$in" "$out"; then
	ok "--read - (stdin): $JUDGE_LINE"
fi

# 8. A BPF expression limits the flows, frame numbers still count every
# frame. The client port of the second connection selects one flow whose
# frames are not the first ones.
plain=$WORK/plain.pcap
port=$(tshark -r "$plain" -n -Y 'tcp.stream == 1' -T fields -e tcp.srcport 2>/dev/null |
    head -n 1)
if [ -z "$port" ]; then
	check_fail "no second TCP connection in $plain for the BPF test"
else
	out=$WORK/bpf
	tshark -r "$plain" -n -Y "tcp.port == $port" -T fields -e frame.number \
	    >"$WORK/bpf.want" 2>/dev/null || true
	if tf_ok bpf --read "$plain" --output "$out" "port $port" &&
	    pcapcmp_ok "$plain" "$out"; then
		cut -f1 "$out.cmp" >"$WORK/bpf.got"
		if ! [ -s "$WORK/bpf.want" ]; then
			check_fail "tshark finds no frame on port $port"
		elif ! cmp -s "$WORK/bpf.want" "$WORK/bpf.got"; then
			check_fail "BPF 'port $port': frames written differ from tshark's" \
			    "tcp.port == $port: $(diff "$WORK/bpf.want" "$WORK/bpf.got" | head -n 6)"
		else
			ok "BPF 'port $port': $(wc -l <"$WORK/bpf.got") frames, numbered as tshark does"
		fi
	fi
fi

# 9. Input cut mid-record: exit 1 with a message; what came before is indexed.
size=$(wc -c <"$in")
cut=$WORK/cut.pcap
head -c $((size * 2 / 3)) "$in" >"$cut"
# Make sure the cut is inside a record: libpcap must complain.
if tcpdump -r "$cut" -w /dev/null 2>&1 | grep -qi trunc ||
    tshark -r "$cut" -T fields -e frame.number 2>&1 >/dev/null | grep -qi 'cut short'; then
	out=$WORK/cut
	tf cut --read "$cut" --output "$out"
	if [ "$TF_RC" -ne 1 ]; then
		check_fail "truncated input: exit $TF_RC, expected 1: $(head -c 300 "$TF_ERR")"
	elif ! [ -s "$TF_ERR" ]; then
		check_fail "truncated input: no message on stderr"
	elif pcapcmp_ok "$cut" "$out" && judge_ok "$cut" "$out" --truncated; then
		if [ "$(judge_field written)" -gt 0 ]; then
			ok "truncated input: exit 1, '$(head -n 1 "$TF_ERR")', $JUDGE_LINE"
		else
			check_fail "truncated input: nothing before the cut was indexed"
		fi
	fi
else
	check_fail "test setup: cutting $in at $((size * 2 / 3)) bytes did not truncate a record"
fi

# 10. Options are the config table's settings: its bounds, its messages, its
# defaults (the bounds once differed: --max-open-files took 1 where the file
# needs 8, --buffer-size 64 KiB where write_buffer needs 1 MiB).
for bad in "--max-open-files 1:1 is out of range 8..1000000" \
    "--buffer-size 65536:65536 is out of range 1M..64G" \
    "--segment-size 1024:1024 is out of range 0 or 1M..1T" \
    "--max-flows x:is not a number" "--format pcapx:unknown word"; do
	want=${bad#*:}
	bad=${bad%%:*}
	# shellcheck disable=SC2086
	tf bound --read "$in" --output "$WORK/bound" $bad
	if [ "$TF_RC" -ne 2 ] || ! grep -q -- "${bad%% *}: .*$want" "$TF_ERR"; then
		check_fail "traceflowd $bad: exit $TF_RC (2 expected), not \"$want\": $(head -c 300 "$TF_ERR")"
	fi
done
"$TRACEFLOWD" --help >"$WORK/help.txt"
"$TRACEFLOWD" --print-config json -c /dev/null >"$WORK/defaults.json" 2>/dev/null ||
    fail "--print-config json -c /dev/null failed"
python3 - "$WORK/help.txt" "$WORK/defaults.json" <<'EOF' || check_fail "the usage text's defaults are not the config table's"
import json, re, sys
help = open(sys.argv[1]).read()
d = json.load(open(sys.argv[2]))
want = {"--idle-timeout": "%dm" % (d["idle_timeout"] // 60), "--linger": "%gs" % d["linger"],
        "--max-flows": str(d["max_flows"]), "--max-open-files": str(d["max_open_files"]),
        "--segment-packets": str(d["segment_packets"])}
for opt, val in want.items():
    m = re.search(re.escape(opt) + r" .*\(default ([^):]+)", help)
    if not m or m.group(1) != val:
        sys.exit("%s: help says %s, the table %s" % (opt, m and m.group(1), val))
EOF
ok "offline options: the config table's bounds and defaults"

"$TRACEFLOWD" --print-config sample >"$WORK/sample.conf" ||
    check_fail "--print-config sample failed"
cmp -s "$WORK/sample.conf" "$top_srcdir/etc/traceflow.conf" ||
    check_fail "--print-config sample differs from the shipped etc/traceflow.conf"

# Progress: on a terminal (a pty from script(1)) stderr shows frames, MB,
# rate, percent and ETA, overwritten with \r and blanked before the summary.
big=$WORK/big.pcap
if [ -x "$GENCAP" ]; then
	"$GENCAP" -c 300 -C 20 -p 12 -m -S 7 -o "$big" 2>>"$WORK/gencap.err" ||
	    fail "gencap failed: $(cat "$WORK/gencap.err")"
else
	cp "$in" "$big"
fi
# progress_seen FILE: the progress lines in a terminal's transcript, and how it ended.
progress_seen() {
	python3 - "$1" <<'EOF'
import re, sys
d = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
lines = re.findall(r"\r(\d+) frames, [\d.]+ MB, [\d.]+ MB/s(, (\d+)%, ETA \d+:\d\d)?", d)
cleared = re.search(r"\r +\r(input: |\{)", d) is not None
print(len(lines), "percent" if lines and all(l[1] for l in lines) else
      "no-percent" if lines and not any(l[1] for l in lines) else "-",
      "cleared" if cleared else "not-cleared")
EOF
}
frames_in=$(tshark -r "$big" 2>/dev/null | wc -l)
rc=0
script -eqc "$TRACEFLOWD --read $big --output $WORK/p-tty" /dev/null >"$WORK/p-tty.txt" 2>&1 || rc=$?
seen=$(progress_seen "$WORK/p-tty.txt")
if [ "$frames_in" -lt 1024 ]; then
	check_fail "the input for progress has $frames_in frames: too few for a progress line"
elif [ "$rc" -ne 0 ] || [ "${seen#* }" != "percent cleared" ] || [ "${seen%% *}" -lt 1 ]; then
	check_fail "progress on a terminal: exit $rc, $seen: $(head -c 400 "$WORK/p-tty.txt" | od -c | head -8)"
else
	ok "progress on a terminal: $seen ($frames_in frames)"
fi
# A pipe has no size: frames, MB and rate, no percent nor ETA.
rc=0
script -eqc "cat $big | $TRACEFLOWD --read - --output $WORK/p-pipe" /dev/null >"$WORK/p-pipe.txt" 2>&1 ||
    rc=$?
seen=$(progress_seen "$WORK/p-pipe.txt")
[ "$rc" -eq 0 ] && [ "${seen#* }" = "no-percent cleared" ] ||
    check_fail "progress on a pipe: exit $rc, $seen: $(head -c 300 "$WORK/p-pipe.txt")"
# Off with --quiet, and off when stderr is no terminal (stdout still one).
for how in quiet file; do
	rc=0
	if [ "$how" = quiet ]; then
		script -eqc "$TRACEFLOWD --read $big --output $WORK/p-$how --quiet" /dev/null \
		    >"$WORK/p-$how.txt" 2>&1 || rc=$?
	else
		script -eqc "$TRACEFLOWD --read $big --output $WORK/p-$how 2>$WORK/p-$how.err" \
		    /dev/null >"$WORK/p-$how.txt" 2>&1 || rc=$?
		cat "$WORK/p-$how.err" >>"$WORK/p-$how.txt"
	fi
	seen=$(progress_seen "$WORK/p-$how.txt")
	if [ "$rc" -ne 0 ] || [ "${seen%% *}" -ne 0 ] || ! grep -q "^frames: $frames_in" "$WORK/p-$how.txt"; then
		check_fail "progress with $how: exit $rc, $seen: $(head -c 300 "$WORK/p-$how.txt")"
	fi
done
ok "no progress with --quiet nor with stderr in a file"

# --summary json: one object on stdout; its counts are the index's.
if tf_ok sumjson --read "$big" --output "$WORK/sumjson" --summary json; then
	if ! python3 - "$TF_OUT" "$WORK/sumjson/index.jsonl" "$frames_in" <<'EOF'; then
import json, sys
text = open(sys.argv[1]).read()
assert text.count("\n") == 1, "not one line: %r" % text[:200]
J = json.loads(text)
idx = [json.loads(l) for l in open(sys.argv[2])]
want = {"frames": int(sys.argv[3]), "flows": len(idx), "segments": len(idx), "files": len(idx),
        "tcp_frames": sum(e["packets"] for e in idx), "frames_lost": 0}
bad = {k: (J.get(k), v) for k, v in want.items() if J.get(k) != v}
assert not bad, "summary != index: %r" % bad
assert J["ended_fin"] + J["ended_rst"] + J["ended_eof"] == J["flows"], J
EOF
		check_fail "--summary json: $(head -c 400 "$TF_OUT")"
	else
		ok "--summary json: one object, its counts the index's"
	fi
	# Every count is the text summary's, member for member; what the text
	# leaves out (a reason never seen, no write error) is 0 in the JSON.
	sumjson=$TF_OUT
	if tf_ok sumtext --read "$big" --output "$WORK/sumtext" &&
	    python3 - "$sumjson" "$TF_OUT" >"$WORK/sumtext.cmp" 2>&1 <<'EOF'; then
import json, sys
J = json.loads(open(sys.argv[1]).read())
T = {}
for line in open(sys.argv[2]):
    k, _, v = line.rstrip("\n").partition(": ")
    if v.isdigit():
        T[k] = int(v)
bad = ["%s: text %d, json %r" % (k, v, J.get(k)) for k, v in T.items() if J.get(k) != v]
bad += ["%s: json %r, not in the text" % (k, v) for k, v in J.items()
        if k not in T and k not in ("input", "output", "segments") and v != 0]
assert T.get("not_tcp", 0) > 0 and T["not_tcp"] != T.get("malformed", 0), \
    "the input should have non-TCP frames (and not as many as malformed ones): %r" % T
assert len(T) >= 8 and not bad, "json != text: %r" % bad
EOF
		ok "--summary json: every count the text summary's (not_tcp included)"
	elif [ "$TF_RC" -eq 0 ]; then
		check_fail "--summary json against the text summary: $(tail -n 1 "$WORK/sumtext.cmp")"
	fi
fi
tf sumbad --read "$big" --output "$WORK/sumbad" --summary yaml
[ "$TF_RC" -eq 2 ] && grep -q -- "--summary yaml" "$TF_ERR" ||
    check_fail "--summary yaml: exit $TF_RC (2 expected): $(head -c 300 "$TF_ERR")"

finish
