#!/bin/bash
#
# libtf-symbols.sh: libtraceflow exports exactly what traceflow.h names
# (its version script hides the engine), under a versioned soname; and
# make install lays it out for others: the library with its links, the
# header, traceflow.pc, traceflow(3), and the Python module where Debian's
# python3 looks (installed under DESTDIR, then used from there: a C
# program built with pkg-config, and import traceflow).

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
need_cmd nm
need_cmd readelf

lib=$top_builddir/lib/libtraceflow.so.0
[ -e "$lib" ] || fail "libtraceflow not built at $lib (run make)"

# The declarations of traceflow.h: lines that begin with a type and name a tf_ function.
grep -E '^[a-z].*[ *]tf_[a-z_]+\(' "$top_srcdir/src/traceflow.h" |
	sed -E 's/^[^(]*[ *](tf_[a-z_]+)\(.*/\1/' | sort -u >"$WORK/declared"
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVWi]$/ { sub(/@.*/, "", $3); print $3 }' |
	sort -u >"$WORK/exported"
if [ ! -s "$WORK/declared" ]; then
	check_fail "no tf_ function found in traceflow.h"
elif cmp -s "$WORK/declared" "$WORK/exported"; then
	ok "exported: the $(wc -l <"$WORK/declared") functions traceflow.h declares, nothing else"
else
	check_fail "exported symbols differ from traceflow.h's (< declared, > exported): $(diff "$WORK/declared" "$WORK/exported" | grep '^[<>]' | tr '\n' ' ')"
fi
# The settings tf_new takes are traceflowd --read's (src/libtf.c keeps a copy of the list).
grep -o 'DO_SETTING, "[a-z_]*"' "$top_srcdir/src/traceflowd.c" | sed 's/.*"\(.*\)"/\1/' |
	sort -u >"$WORK/read-settings"
sed -n '/offline_settings\[\] = {/,/};/p' "$top_srcdir/src/libtf.c" | grep -o '"[a-z_]*"' |
	tr -d '"' | sort -u >"$WORK/lib-settings"
if [ -s "$WORK/read-settings" ] && cmp -s "$WORK/read-settings" "$WORK/lib-settings"; then
	ok "tf_new takes the $(wc -l <"$WORK/lib-settings") settings traceflowd --read takes"
else
	check_fail "tf_new's settings differ from traceflowd --read's (< --read, > tf_new): $(diff "$WORK/read-settings" "$WORK/lib-settings" | grep '^[<>]' | tr '\n' ' ')"
fi
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libtraceflow.so.0 ] && ok "soname $soname" || check_fail "soname: '$soname'"
if nm -D --defined-only "$lib" | grep -q ' T tf_new@@TRACEFLOW_0$'; then
	ok "symbols versioned TRACEFLOW_0"
else
	check_fail "tf_new is not versioned TRACEFLOW_0"
fi

# --- make install ------------------------------------------------------
dest=$WORK/dest
if ! make -s -C "$top_builddir" install DESTDIR="$dest" >"$WORK/install.out" 2>&1; then
	fail "make install: $(tail -n 20 "$WORK/install.out")"
fi
# Only the echo's line: a make that runs the tests (quickstart's, with -w in
# MAKEFLAGS) makes this one print "make[3]: Entering directory" too.
eval "$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$top_builddir" \
	-f - print-dirs <<'MK' 2>/dev/null | grep '^libdir='
include Makefile
print-dirs:
	@echo libdir='$(libdir)' includedir='$(includedir)' pythondir='$(pythondir)' mandir='$(mandir)'
MK
)"
for f in "$libdir/libtraceflow.so.0.1.0" "$libdir/libtraceflow.so.0" "$libdir/libtraceflow.so" \
	"$includedir/traceflow.h" "$libdir/pkgconfig/traceflow.pc" "$mandir/man3/traceflow.3" \
	"$pythondir/traceflow.py"; do
	[ -e "$dest$f" ] || check_fail "make install did not install $f"
done
[ "$(readlink "$dest$libdir/libtraceflow.so.0")" = libtraceflow.so.0.1.0 ] ||
	check_fail "$libdir/libtraceflow.so.0 is not a link to libtraceflow.so.0.1.0"
case $pythondir in
/usr/lib/python3/dist-packages) ok "the Python module goes to $pythondir (Debian's python3 reads it)" ;;
*) ok "the Python module goes to $pythondir (configure --with-pythondir)" ;;
esac

# example NAME: $WORK/NAME.c built as a program outside would build it
# (pkg-config, the installed header and library), run on a generated
# capture: a line per flow.
example() {
	local flags san

	flags=$(PKG_CONFIG_PATH=$dest$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest \
		pkg-config --cflags --libs traceflow)
	# An AddressSanitizer build: the program links its runtime too.
	san=$(ldd "$lib" | awk '$1 ~ /^libasan/ {print "-fsanitize=address,undefined"; exit}')
	rm -rf "$WORK/flows"
	# shellcheck disable=SC2086
	if ! cc -std=c11 -Wall -Werror -o "$WORK/$1" "$WORK/$1.c" $flags $san >"$WORK/$1.cc" 2>&1; then
		check_fail "$1's example does not build: $(head -n 10 "$WORK/$1.cc")"
	elif (cd "$WORK" && LD_LIBRARY_PATH=$dest$libdir "./$1" in.pcap) >"$WORK/$1.out" 2>&1 &&
		[ "$(wc -l <"$WORK/$1.out")" -eq 15 ]; then
		ok "$1's example, built with pkg-config against the installed library: 15 flows"
	else
		check_fail "$1's example: $(head -n 5 "$WORK/$1.out")"
	fi
}

# traceflow(3)'s example and README's (ten lines).
sed -n '/^\.EX$/,/^\.EE$/p' "$top_srcdir/doc/traceflow.3" | sed -e '1d;$d' -e 's/\\e/\\/g' \
	>"$WORK/man.c"
sed -n '/^    #include <stdio.h>$/,/^    }$/p' "$top_srcdir/README" | sed 's/^    //' >"$WORK/readme.c"
[ "$(wc -l <"$WORK/readme.c")" -eq 10 ] || check_fail "README's C example is not 10 lines"
"$GENCAP" -c 5 -C 2 -o "$WORK/in.pcap" 2>/dev/null
if command -v pkg-config >/dev/null && command -v cc >/dev/null; then
	example man
	example readme
fi

if command -v python3 >/dev/null; then
	# The soname through the library path, as ld.so finds the installed
	# library; an AddressSanitizer build's runtime preloaded (pylib.sh says why).
	asan=$(ldd "$lib" | awk '$1 ~ /^libasan\.so/ {print $3}')
	if out=$(LD_LIBRARY_PATH=$dest$libdir PYTHONPATH=$dest$pythondir \
		LD_PRELOAD=$asan ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		python3 -c 'import traceflow; print(traceflow._library().tf_version().decode())' 2>&1) &&
		[ "$out" = "$(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")" ]; then
		ok "import traceflow from the installed files: libtraceflow $out"
	else
		check_fail "import traceflow from the installed files: $out"
	fi
fi
finish
