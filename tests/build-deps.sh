#!/bin/bash
#
# build-deps.sh: what configure requires is what the packaging and the
# instructions install (issue 26: libfixbuf-dev was missing from
# Build-Depends, and Check was required even by the nocheck profile).
#  - configure.ac names each pkg-config module it requires with its Debian
#    package: TF_REQUIRE([VAR], [module], [package]) for the build,
#    TF_TEST_REQUIRE for make check alone (Check).
#  - debian/control's Build-Depends holds exactly those packages, the
#    TF_TEST_REQUIRE ones marked <!nocheck> and the others not, plus the
#    build tools listed below.
#  - README's "Dependencies (Debian packages):" list (up to its ";") is the
#    TF_REQUIRE packages, and it names the TF_TEST_REQUIRE ones too;
#    quickstart installs all of them.
# Reads files only: no build, no root.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
need_cmd python3

python3 - "$top_srcdir" >"$WORK/deps.out" 2>&1 <<'PY' || true
import re, sys
top = sys.argv[1]
# Build-Depends that are tools of the packaging, not libraries configure
# looks for (pkg-config: PKG_PROG_PKG_CONFIG runs it).
TOOLS = {"debhelper-compat", "dh-sequence-installsysusers", "pkg-config"}
bad = []

ac = open(top + "/configure.ac").read()
req, test = {}, {}
for macro, var, mod, pkg in re.findall(
        r'^\s*(?:AS_IF\(.*\[)?(TF_REQUIRE|TF_TEST_REQUIRE)\(\[(\w+)\], \[([^]]+)\], \[([^]]+)\]\)',
        ac, re.M):
    (test if macro == "TF_TEST_REQUIRE" else req)[pkg] = mod
if not req:
    sys.exit("no TF_REQUIRE line found in configure.ac")
if not test:
    bad.append("configure.ac: no TF_TEST_REQUIRE: what only make check needs (Check) is "
               "required by every build")
if "PKG_PROG_PKG_CONFIG" not in ac:
    bad.append("configure.ac does not run PKG_PROG_PKG_CONFIG")
# Nothing else in configure.ac asks pkg-config for a module behind their back.
other = re.findall(r'^\s*PKG_CHECK_MODULES\(\[(\w+)\]', ac, re.M)
if other:
    bad.append("configure.ac: PKG_CHECK_MODULES outside TF_REQUIRE: %s" % other)

ctl = open(top + "/debian/control").read()
m = re.search(r'^Build-Depends:(.*(?:\n[ \t].*)*)', ctl, re.M)
if not m:
    sys.exit("debian/control: no Build-Depends")
deps = {}
for entry in m.group(1).split(","):
    entry = " ".join(entry.split())
    if not entry:
        continue
    for alt in entry.split("|"):
        name = alt.split()[0]
        deps[name] = " ".join(re.findall(r'<[^>]*>', alt))
for pkg, mod in sorted(req.items()):
    if pkg not in deps:
        bad.append("Build-Depends lacks %s (configure requires %s)" % (pkg, mod))
    elif deps[pkg]:
        bad.append("Build-Depends: %s is required by every build, not only %s" % (pkg, deps[pkg]))
for pkg, mod in sorted(test.items()):
    if pkg not in deps:
        bad.append("Build-Depends lacks %s <!nocheck> (make check requires %s)" % (pkg, mod))
    elif deps[pkg] != "<!nocheck>":
        bad.append("Build-Depends: %s must be marked <!nocheck> (has %r): only make check needs %s"
                   % (pkg, deps[pkg], mod))
for pkg in sorted(set(deps) - set(req) - set(test) - TOOLS):
    bad.append("Build-Depends has %s, which configure.ac does not require" % pkg)
for pkg in sorted(TOOLS - set(deps)):
    bad.append("Build-Depends lacks the build tool %s" % pkg)

readme = open(top + "/README").read()
m = re.search(r'Dependencies \(Debian packages\):([^;]*);', readme)
if not m:
    bad.append('README: no "Dependencies (Debian packages): ...;" list')
else:
    listed = set(m.group(1).split())
    if listed != set(req):
        bad.append("README's dependencies differ from configure.ac's: lacks %s, has more %s"
                   % (sorted(set(req) - listed), sorted(listed - set(req))))
    rest = readme[m.end():m.end() + 400]
    for pkg in sorted(test):
        if not re.search(r'\b%s\b' % re.escape(pkg), rest):
            bad.append("README does not name %s (for make check) after its dependencies" % pkg)

qs = open(top + "/quickstart").read()
m = re.search(r'^PKGS="([^"]*)"', qs, re.M)
if not m:
    bad.append('quickstart: no PKGS="..."')
else:
    missing = sorted((set(req) | set(test)) - set(m.group(1).split()))
    if missing:
        bad.append("quickstart does not install %s" % missing)

print("DEPS: configure.ac: %s; make check: %s" % (" ".join(sorted(req)), " ".join(sorted(test))))
for b in bad:
    print("BAD: " + b)
PY
if ! grep -q '^DEPS: ' "$WORK/deps.out"; then
	fail "$(cat "$WORK/deps.out")"
fi
if grep -q '^BAD: ' "$WORK/deps.out"; then
	while IFS= read -r l; do
		check_fail "${l#BAD: }"
	done < <(grep '^BAD: ' "$WORK/deps.out")
else
	ok "Build-Depends, README and quickstart: what configure requires ($(sed -n 's/^DEPS: //p' "$WORK/deps.out"))"
fi
finish
