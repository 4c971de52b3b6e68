#!/bin/bash
#
# python-compat.sh: TraceFlow.from_file gives the labels, frame lists and
# files (names and bytes) that traceflowd --read --compat pcapkit gives, on
# every capture of the shared corpus (../shared/pcaps, read in place) and
# on generated ones (tests/pycompat.py compares). A capture cut short is
# compared on what both kept of it; one traceflowd refuses outright (no
# index: a link type it cannot split) is named and not compared.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/pylib.sh
. "$top_srcdir/tests/pylib.sh"
need_file "$TRACEFLOWD" traceflowd
need_file "$GENCAP" gencap

# compare NAME FILE: traceflowd's output and from_file's for FILE.
compare() {
	local ref=$WORK/$1.ref out=$WORK/$1.lib rc=0

	"$TRACEFLOWD" --read "$2" --output "$ref" --compat pcapkit --quiet \
		>"$WORK/$1.tf.out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] && [ ! -f "$ref/index.jsonl" ]; then
		ok "$1: traceflowd --read refused it (exit $rc: $(tail -n 1 "$WORK/$1.tf.out")), not compared"
		return 0
	fi
	if python3 "$top_srcdir/tests/pycompat.py" "$2" "$out" "$ref" >"$WORK/$1.cmp" 2>&1; then
		ok "$1: the same as traceflowd --read --compat pcapkit ($(tail -n 1 "$WORK/$1.cmp"))"
		compared=$((compared + 1))
	else
		check_fail "$1: $(head -n 20 "$WORK/$1.cmp")"
	fi
}

compared=0
# Generated: IPv4 and IPv6, other link types, pcapng, nanoseconds, open and
# refused connections, a frame far ahead in time.
"$GENCAP" -c 300 -C 60 -p 6 -6 30 -O 10 -P 10 -S 5 -o "$WORK/gen-mixed.pcap" 2>/dev/null
"$GENCAP" -c 50 -C 10 -l sll -n -S 6 -o "$WORK/gen-sll-ns.pcap" 2>/dev/null
"$GENCAP" -c 50 -C 10 -g -S 8 -J 20 -o "$WORK/gen-ng.pcapng" 2>/dev/null
for f in "$WORK"/gen-*.pcap*; do
	compare "$(basename "$f")" "$f"
done

if [ -n "$SHARED_PCAPS" ] && [ -f "$SHARED_PCAPS/MANIFEST.tsv" ]; then
	n=0
	while IFS=$'\t' read -r file _; do
		[ "$file" = file ] && continue
		n=$((n + 1))
		compare "shared-$n-$(basename "$file")" "$SHARED_PCAPS/$file"
	done <"$SHARED_PCAPS/MANIFEST.tsv"
else
	ok "no shared corpus (../shared/pcaps): generated captures only"
fi
[ "$compared" -gt 0 ] || check_fail "no capture was compared"
finish
