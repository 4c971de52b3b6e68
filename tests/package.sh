#!/bin/bash
#
# package.sh: the Debian package, as debian/ describes it.
#  - `dpkg-buildpackage -us -uc -b` builds it from a copy of what `make dist`
#    ships (never in the developer's tree, whose build it would clobber),
#    the unit tests of debian/rules included.
#  - The nocheck build profile builds it without Check (hidden from
#    pkg-config, as on a builder that lacks it): Build-Depends marks check
#    <!nocheck>, and configure does not look for it (issue 26).
#  - lintian finds no error in it (warnings are shown, see the notes).
#  - Unpacked into a scratch root it holds exactly the expected files;
#    /etc/traceflow.conf is its one conffile; the unit runs the packaged
#    binaries and reloads through traceflowctl.
#  - What its postinst does, done inside that root: systemd-sysusers creates
#    the traceflow user, systemd-tmpfiles the spool folder for it, and the
#    postinst enables the unit (systemctl --root then makes the link).
# Skips only when dpkg-buildpackage or lintian is missing (./quickstart
# check installs both).

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_cmd dpkg-buildpackage
need_cmd dh
need_cmd lintian
need_file "$TRACEFLOWD" traceflowd

version=$(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")
[ -n "$version" ] || fail "no PACKAGE_VERSION in $top_builddir/Makefile"
src=$WORK/traceflow-$version
# Nothing of the surrounding make check leaks in: its jobserver, its
# top_srcdir (which check_config would read), a developer's CFLAGS.
clean_env=(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u top_srcdir -u top_builddir
	-u CFLAGS -u CPPFLAGS -u LDFLAGS -u DEB_BUILD_OPTIONS)

"${clean_env[@]}" make -s -C "$top_builddir" distdir distdir="$src" >"$WORK/distdir.log" 2>&1 ||
    fail "make distdir: $(tail -n 5 "$WORK/distdir.log")"
[ -x "$src/debian/rules" ] || fail "debian/ is not in the distribution (EXTRA_DIST)"

# --- the nocheck profile, without Check --------------------------------------
# First, in the fresh copy: the build below cleans it (dh clean) and makes the
# package that is checked. pkg-config sees every module but check.
pcdir=$WORK/pkgconfig-nocheck
mkdir -p "$pcdir"
for d in $(pkg-config --variable pc_path pkg-config | tr : ' '); do
	for pc in "$d"/*.pc; do
		[ -e "$pc" ] && [ "${pc##*/}" != check.pc ] && ln -sf "$pc" "$pcdir/"
	done
done
PKG_CONFIG_LIBDIR=$pcdir pkg-config --exists check && fail "check.pc still seen in $pcdir"
start=$(date +%s)
if ! (cd "$src" && "${clean_env[@]}" PKG_CONFIG_LIBDIR="$pcdir" PKG_CONFIG_PATH= \
    DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b -Pnocheck) \
    >"$WORK/build-nocheck.log" 2>&1; then
	check_fail "dpkg-buildpackage -Pnocheck without Check: $(tail -n 20 "$WORK/build-nocheck.log")"
elif grep -q 'checking for check' "$WORK/build-nocheck.log"; then
	check_fail "-Pnocheck: configure still looked for Check: $(grep 'checking for check' "$WORK/build-nocheck.log")"
else
	ok "dpkg-buildpackage -Pnocheck, Check hidden: built in $(($(date +%s) - start)) s"
fi

# --- build ---------------------------------------------------------------
start=$(date +%s)
if ! (cd "$src" && "${clean_env[@]}" DEB_BUILD_OPTIONS=parallel=2 \
    dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1; then
	fail "dpkg-buildpackage: $(tail -n 20 "$WORK/build.log")"
fi
ok "dpkg-buildpackage -us -uc -b: built in $(($(date +%s) - start)) s"
# The copy goes once built (build.log stays): kept work files are searched
# for sanitizer reports, and its quickstart holds their very pattern.
rm -rf "$src"
arch=$(dpkg --print-architecture)
deb=$WORK/traceflow_${version}-1_$arch.deb
changes=$WORK/traceflow_${version}-1_$arch.changes
[ -f "$deb" ] || fail "no $deb: $(ls "$WORK")"
grep -q '^PASS: tests/check_config' "$WORK/build.log" ||
    check_fail "debian/rules did not run the unit tests: $(grep -E '^(PASS|FAIL)' "$WORK/build.log")"

# --- lintian -------------------------------------------------------------
rc=0
lintian --fail-on error --info "$changes" >"$WORK/lintian.out" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] || grep -q '^E: ' "$WORK/lintian.out"; then
	check_fail "lintian exited $rc: $(grep -v '^N: ' "$WORK/lintian.out" | head -n 20)"
else
	ok "lintian: no error ($(grep -c '^W: ' "$WORK/lintian.out" || true) warning(s))"
	grep '^W: ' "$WORK/lintian.out" | sed 's/^/  /' || true
fi

# --- the files -----------------------------------------------------------
root=$WORK/root
mkdir -p "$root"
dpkg-deb -x "$deb" "$root"
(cd "$root" && find . ! -type d | sed 's|^\.||' | LC_ALL=C sort) >"$WORK/files"
LC_ALL=C sort >"$WORK/files.want" <<'EOF'
/etc/traceflow.conf
/lib/systemd/system/traceflowd.service
/usr/lib/sysusers.d/traceflow.conf
/usr/lib/tmpfiles.d/traceflow.conf
/usr/bin/traceflowctl
/usr/sbin/traceflowd
/usr/share/bash-completion/completions/traceflowctl
/usr/share/bash-completion/completions/traceflowd
/usr/share/doc/traceflow/changelog.Debian.gz
/usr/share/doc/traceflow/copyright
/usr/share/man/man5/traceflow.conf.5.gz
/usr/share/man/man8/traceflowctl.8.gz
/usr/share/man/man8/traceflowd.8.gz
/usr/share/traceflow/grafana/traceflow-dashboard.json
/usr/share/traceflow/prometheus/traceflow-alerts.test.yml
/usr/share/traceflow/prometheus/traceflow-alerts.yml
EOF
if ! diff -u "$WORK/files.want" "$WORK/files" >"$WORK/files.diff"; then
	check_fail "the package's files differ from the expected list: $(cat "$WORK/files.diff")"
else
	ok "files: $(wc -l <"$WORK/files") as expected"
fi
cmp -s "$root/etc/traceflow.conf" "$top_srcdir/etc/traceflow.conf" ||
    check_fail "/etc/traceflow.conf is not etc/traceflow.conf"
"$root/usr/sbin/traceflowd" -V >"$WORK/version.out" 2>&1 ||
    check_fail "the packaged traceflowd -V: $(cat "$WORK/version.out")"
grep -qx "traceflowd $version" "$WORK/version.out" ||
    check_fail "the packaged traceflowd says $(cat "$WORK/version.out")"

# --- the library's packages (issue 28) -----------------------------------
# libtraceflow0 (the shared library), libtraceflow-dev (header, link,
# traceflow.pc, traceflow(3)), python3-traceflow (the module): their files,
# and the module imported from them and run, as Debian's python3 would.
multi=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
declare -A want_files=(
	[libtraceflow0]="/usr/lib/$multi/libtraceflow.so.0
/usr/lib/$multi/libtraceflow.so.0.1.0
/usr/share/doc/libtraceflow0/changelog.Debian.gz
/usr/share/doc/libtraceflow0/copyright"
	[libtraceflow-dev]="/usr/include/traceflow.h
/usr/lib/$multi/libtraceflow.so
/usr/lib/$multi/pkgconfig/traceflow.pc
/usr/share/doc/libtraceflow-dev/changelog.Debian.gz
/usr/share/doc/libtraceflow-dev/copyright
/usr/share/man/man3/traceflow.3.gz"
	[python3-traceflow]="/usr/lib/python3/dist-packages/traceflow.py
/usr/share/doc/python3-traceflow/changelog.Debian.gz
/usr/share/doc/python3-traceflow/copyright"
)
libroot=$WORK/libroot
mkdir -p "$libroot"
for p in libtraceflow0 libtraceflow-dev python3-traceflow; do
	d=$WORK/${p}_${version}-1_$arch.deb
	if [ ! -f "$d" ]; then
		check_fail "no $d"
		continue
	fi
	dpkg-deb -x "$d" "$libroot"
	dpkg-deb -c "$d" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\.||' | LC_ALL=C sort >"$WORK/$p.files"
	if [ "$(cat "$WORK/$p.files")" != "$(LC_ALL=C sort <<<"${want_files[$p]}")" ]; then
		check_fail "$p's files: $(tr '\n' ' ' <"$WORK/$p.files")"
	else
		ok "$p: $(wc -l <"$WORK/$p.files") files as expected"
	fi
done
"$GENCAP" -c 4 -C 2 -o "$WORK/lib.pcap" 2>/dev/null
if out=$(cd "$WORK" && LD_LIBRARY_PATH=$libroot/usr/lib/$multi \
	PYTHONPATH=$libroot/usr/lib/python3/dist-packages python3 -c '
import sys, traceflow
print(len(traceflow.TraceFlow.from_file(sys.argv[1], sys.argv[2]).submit()))
' "$WORK/lib.pcap" "$WORK/lib.out" 2>&1) && [ "$out" = 12 ]; then
	ok "python3-traceflow: from_file over the packaged library: 12 flows"
else
	check_fail "python3-traceflow: $out"
fi

ctl=$WORK/control
dpkg-deb -e "$deb" "$ctl"
if [ "$(cat "$ctl/conffiles" 2>/dev/null)" != /etc/traceflow.conf ]; then
	check_fail "conffiles: $(cat "$ctl/conffiles" 2>&1)"
else
	ok "conffiles: /etc/traceflow.conf"
fi
unit=$root/lib/systemd/system/traceflowd.service
grep -qx 'ExecStart=/usr/sbin/traceflowd -f' "$unit" ||
    check_fail "unit: $(grep '^ExecStart=' "$unit")"
grep -qx 'ExecReload=/usr/bin/traceflowctl reload' "$unit" ||
    check_fail "unit: $(grep '^ExecReload=' "$unit")"

# --- what the postinst does ------------------------------------------------
# Users first: tmpfiles hands the spool to traceflow, who must exist by then.
order=$(grep -oE 'systemd-sysusers|systemd-tmpfiles|deb-systemd-helper enable' "$ctl/postinst" |
    uniq | tr '\n' ,)
if [ "$order" != "systemd-sysusers,systemd-tmpfiles,deb-systemd-helper enable," ]; then
	check_fail "postinst: want sysusers, tmpfiles, then enable; has $order"
else
	ok "postinst: sysusers, then tmpfiles, then enables traceflowd.service"
fi
# The postinst's own lines, with DPKG_ROOT set as dpkg --root would.
rc=0
systemd-sysusers --root="$root" traceflow.conf >"$WORK/sysusers.out" 2>&1 || rc=$?
pw=$(grep '^traceflow:' "$root/etc/passwd" 2>/dev/null || true)
if [ "$rc" -ne 0 ] || [ -z "$pw" ]; then
	check_fail "systemd-sysusers in the root: rc $rc, $(cat "$WORK/sysusers.out") ($pw)"
else
	ok "sysusers: $pw"
fi
rc=0
systemd-tmpfiles --root="$root" --create traceflow.conf >"$WORK/tmpfiles.out" 2>&1 || rc=$?
owner=$(cut -d: -f3,4 <<<"$pw")
got=$(stat -c '%a %u:%g' "$root/var/spool/traceflow" 2>/dev/null || true)
if [ "$rc" -ne 0 ] || [ "$got" != "750 $owner" ]; then
	check_fail "systemd-tmpfiles in the root: rc $rc, spool \"$got\", want \"750 $owner\": $(cat "$WORK/tmpfiles.out")"
else
	ok "tmpfiles: /var/spool/traceflow $got"
fi
rc=0
systemctl --root="$root" enable traceflowd.service >"$WORK/enable.out" 2>&1 || rc=$?
link=$root/etc/systemd/system/multi-user.target.wants/traceflowd.service
if [ "$rc" -ne 0 ] || [ "$(readlink "$link")" != /lib/systemd/system/traceflowd.service ]; then
	check_fail "systemctl --root enable: rc $rc, $(cat "$WORK/enable.out"), link $(readlink "$link" || true)"
else
	ok "enabled: multi-user.target.wants/traceflowd.service"
fi

finish
