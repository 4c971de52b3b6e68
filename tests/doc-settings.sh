#!/bin/bash
# doc-settings.sh: the man pages state each setting's default and bounds as
# the config table (src/config.c cfg_table) has them (issue 26: they were
# hand copies, and drifted).
#  - The table is read through the real binary: every setting, its section
#    and its default from `traceflowd --print-config sample`; its bounds from
#    traceflowd -n refusing a value beyond them ("-1 is out of range
#    0 or 1M..1T", "(allowed: udp, tcp)", "0 elements, expects 1..256").
#  - traceflow.conf(5): each setting has one entry under SETTINGS, a .TP
#    tag "name (type, range; default X; restart)", in the section the
#    sample puts it in, and no entry names a setting the table lacks; the
#    default is the table's (as the sample writes it, quotes aside); a number
#    states the table's range ("0 or 10..100000"), a setting of words lists
#    the table's words (aliases aside), a list its number of elements, a
#    boolean says "boolean".
#  - "restart": the entries marked so are those a reload refuses to change.
#    A live daemon (root: a network namespace) is reloaded with each setting
#    changed in turn; traceflowctl reload's answer says refused ("cannot
#    change on reload") or not.
#  - traceflowd(8): each offline option that states a default or bounds
#    ("(1s to 365d; default 5m)") states those of the setting it sets.
# Needs python3.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
need_cmd python3
need_file "$TRACEFLOWD" traceflowd
CTL=$top_builddir/traceflowctl

conf5=${CONF_MAN:-$top_srcdir/doc/traceflow.conf.5}
man8=${DAEMON_MAN:-$top_srcdir/doc/traceflowd.8}

"$TRACEFLOWD" --print-config json -c /dev/null >"$WORK/defaults.json" ||
    fail "traceflowd --print-config json failed"
"$TRACEFLOWD" --print-config sample >"$WORK/sample.conf" ||
    fail "traceflowd --print-config sample failed"
"$TRACEFLOWD" --help >"$WORK/help.txt" || fail "traceflowd --help failed"

# --- the table, from the binary ---------------------------------------------
# table.json: {name: {section, default, kind, range, words, count}}.
if ! python3 - "$TRACEFLOWD" "$WORK" >"$WORK/table.out" 2>&1 <<'EOF'; then
import json, os, re, subprocess, sys
tfd, work = sys.argv[1], sys.argv[2]
defaults = json.load(open(os.path.join(work, "defaults.json")))
table, section = {}, None
for line in open(os.path.join(work, "sample.conf")):
    m = re.match(r"# --- (.*) ---$", line)
    if m:
        section = m.group(1)
    m = re.match(r"#(\w+) = (.*);$", line)
    if m:
        table[m.group(1)] = {"section": section, "default": m.group(2)}
if set(table) != set(defaults):
    sys.exit("the sample and --print-config json differ in settings: %s"
             % sorted(set(table) ^ set(defaults)))

def refusal(name, value):
    """What traceflowd -n says of `name = value;`."""
    path = os.path.join(work, "probe.conf")
    with open(path, "w") as f:
        f.write("%s = %s;\n" % (name, value))
    p = subprocess.run([tfd, "-n", "-c", path], capture_output=True, text=True)
    m = re.search(r"setting %s: (.*)" % re.escape(name), p.stderr)
    return m.group(1) if m else "(exit %d: %s)" % (p.returncode, p.stderr.strip())

for name, e in table.items():
    d = defaults[name]
    if isinstance(d, bool):
        e["kind"] = "boolean"
    elif isinstance(d, list):
        e["kind"] = "list"
        m = re.search(r"expects (\S+)$", refusal(name, "[]"))
        e["count"] = m and m.group(1)
    elif isinstance(d, (int, float)):
        e["kind"] = "number"
        m = re.search(r"out of range (.*)$", refusal(name, "-1"))
        e["range"] = m and m.group(1)
    else:
        why = refusal(name, '"no-such-word"')
        m = re.search(r"\(allowed: (.*)\)$", why)
        if m:
            e["kind"], e["words"] = "words", m.group(1)
        elif re.fullmatch(r"0[0-7]+", d):
            e["kind"] = "mode"
            m = re.search(r"out of range (.*)$", refusal(name, '"7777"'))
            e["range"] = m and m.group(1)
        else:
            e["kind"] = "string"
    if e["kind"] in ("number", "mode") and not e.get("range") or \
            e["kind"] == "list" and not e.get("count"):
        sys.exit("%s: no bounds in traceflowd's refusal" % name)
json.dump(table, open(os.path.join(work, "table.json"), "w"), indent=1)
print("%d settings: %s" % (len(table), ", ".join(
    "%d %s" % (n, k) for k, n in sorted(
        {k: sum(e["kind"] == k for e in table.values()) for k in
         set(e["kind"] for e in table.values())}.items()))))
EOF
	fail "the config table through traceflowd: $(tail -n 5 "$WORK/table.out")"
fi
ok "the config table through traceflowd: $(cat "$WORK/table.out")"

# --- traceflow.conf(5) ---------------------------------------------------------
# Its entries go to conf5.restart ("name restart|reloads") for the reload check.
if python3 - "$WORK" "$conf5" >"$WORK/conf5.out" 2>&1 <<'EOF'; then
import json, os, re, shlex, sys
work, man = sys.argv[1], sys.argv[2]
table = json.load(open(os.path.join(work, "table.json")))

def text(line):
    """A man line as it reads: macro arguments joined (.BR and kin set fonts only)."""
    line = line.replace("\\(dq", "\x00").replace("\\-", "-").replace("\\&", "")
    if line.startswith("."):
        macro, _, rest = line.partition(" ")
        try:
            args = shlex.split(rest.replace("\\", "\\\\"), posix=True)
        except ValueError:
            args = rest.split()
        line = "".join(args) if macro in (".B", ".BR", ".RB", ".BI", ".IB", ".I", ".IR", ".RI") \
            else rest
    line = re.sub(r"\\f(\(..|\[[^]]*\]|.)", "", line)
    return line.replace("\x00", '"')

def plain(v):
    """A value as both write it, quotes and blanks aside: ["any"], "5m", 0660."""
    return re.sub(r'[\s"]', "", v)

entries, section, in_settings, lines = {}, None, False, open(man).read().splitlines()
bad, nested = [], 0
for i, l in enumerate(lines):
    if l.startswith(".SH "):
        in_settings = l[4:].strip('" ') == "SETTINGS"
    elif in_settings and l.startswith(".SS "):
        section = l[4:].strip('" ')
    elif l.startswith((".RS", ".RE")):
        nested += 1 if l.startswith(".RS") else -1  # a list inside an entry
    elif in_settings and not nested and l.startswith(".TP") and i + 1 < len(lines):
        tag = text(lines[i + 1])
        m = re.fullmatch(r"(\w+) \((.*)\)", tag)
        if not m:
            bad.append("an entry of SETTINGS that is no setting's: %r" % tag)
            continue
        name, parts = m.group(1), [p.strip() for p in m.group(2).split(";")]
        if name in entries:
            bad.append("%s: two entries" % name)
        entries[name] = {"section": section, "spec": parts[0],
                         "default": [p[8:] for p in parts[1:] if p.startswith("default ")],
                         "restart": "restart" in parts[1:],
                         "other": [p for p in parts[1:]
                                   if p != "restart" and not p.startswith("default ")],
                         "line": i + 2}

for name in sorted(set(entries) - set(table)):
    bad.append("%s (line %d): documented, but traceflowd knows no such setting"
               % (name, entries[name]["line"]))
for name, t in table.items():
    e = entries.get(name)
    if e is None:
        bad.append("%s: not documented under SETTINGS" % name)
        continue
    where = "%s (line %d)" % (name, e["line"])
    if e["section"] != t["section"]:
        bad.append("%s: under %r, the table's section is %r" % (where, e["section"], t["section"]))
    if e["other"]:
        bad.append("%s: unknown parts %r" % (where, e["other"]))
    if len(e["default"]) != 1:
        bad.append("%s: states no default (the table's: %s)" % (where, t["default"]))
    elif plain(e["default"][0]) != plain(t["default"]):
        bad.append("%s: default %s, the table's is %s" % (where, e["default"][0], t["default"]))
    spec = e["spec"]
    if t["kind"] in ("number", "mode"):
        m = re.fullmatch(r"([^,]+), (.+)", spec)
        if not m or m.group(2) != t["range"]:
            bad.append("%s: (%s), the table's range is %s" % (where, spec, t["range"]))
        # The type, as the bounds show it: units of time, of size, or none.
        if t["kind"] == "mode":
            types = ["octal mode"]
        elif re.search(r"\d(ns|us|ms|s|m|h|d)\b", t["range"]):
            types = ["duration"]
        elif re.search(r"\d[kKMGTPE]\b", t["range"]):
            types = ["size"]
        else:
            types = ["integer", "count"]
        if m and m.group(1) not in types:
            bad.append("%s: a %s, the table's bounds (%s) make it %s"
                       % (where, m.group(1), t["range"], " or ".join(types)))
    elif t["kind"] == "words":
        if spec != t["words"]:
            bad.append("%s: (%s), the table's words are %s" % (where, spec, t["words"]))
    elif t["kind"] == "list":
        m = re.fullmatch(r"list of \w+, (.+)", spec)
        if not m or m.group(1) != t["count"]:
            bad.append("%s: (%s), the table takes %s elements" % (where, spec, t["count"]))
    elif t["kind"] == "boolean":
        if spec != "boolean":
            bad.append("%s: (%s), the table's setting is a boolean" % (where, spec))
    elif re.search(r"\d\.\.\d|, ", spec):
        bad.append("%s: (%s): bounds or words for a string" % (where, spec))
with open(os.path.join(work, "conf5.restart"), "w") as f:
    for n, e in entries.items():
        f.write("%s %s\n" % (n, "restart" if e["restart"] else "reloads"))
if bad:
    sys.exit("\n".join(bad))
print("%d settings, each with its section, default and bounds; %d marked restart"
      % (len(table), sum(e["restart"] for e in entries.values())))
EOF
	ok "traceflow.conf(5): $(cat "$WORK/conf5.out")"
else
	check_fail "traceflow.conf(5) against the config table: $(head -n 40 "$WORK/conf5.out")"
fi

# --- traceflowd(8): the offline options' defaults and bounds ----------------------
if python3 - "$WORK" "$man8" >"$WORK/man8.out" 2>&1 <<'EOF'; then
import json, os, re, sys
work, man = sys.argv[1], sys.argv[2]
table = json.load(open(os.path.join(work, "table.json")))
help_text = open(os.path.join(work, "help.txt")).read()

# The setting each option sets: its usage line names it ("(write_buffer,
# default 256M)", "(ipfix_collector)"), or it has the option's name.
sets = {}
for l in help_text.splitlines():
    m = re.match(r"\s+(?:-\w, )?(--[\w-]+)", l)
    if not m:
        continue
    opt = m.group(1)
    named = [w for w in re.findall(r"\((\w+)[,)]", l) if w in table]
    if named:
        sets[opt] = named[0]
    elif opt[2:].replace("-", "_") in table:
        sets[opt] = opt[2:].replace("-", "_")

UNITS = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9,
         "d": 86400 * 10**9}
SIZES = {"": 1, "k": 2**10, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40, "P": 2**50,
         "E": 2**60}
def value(v):
    """A number as either page writes it: 268435456 and 256M, 300 and 5m are one."""
    v = v.strip('"')
    if re.fullmatch(r"\d+", v):
        return int(v)
    if re.fullmatch(r"(\d+(\.\d+)?(ns|us|ms|s|m|h|d))+", v):
        return ("ns", sum(float(n) * UNITS[u] for n, _, u in
                          re.findall(r"(\d+(\.\d+)?)(ns|us|ms|s|m|h|d)", v)))
    m = re.fullmatch(r"(\d+)([kKMGTPE])(i?B)?", v)
    if m:
        return int(m.group(1)) * SIZES[m.group(2)]
    return v

def same(a, b, kind):
    va, vb = value(a), value(b)
    if kind == "number" and isinstance(va, int) and isinstance(vb, tuple):
        va = ("ns", va * 10**9)  # durations: a bare number is seconds
    if kind == "number" and isinstance(vb, int) and isinstance(va, tuple):
        vb = ("ns", vb * 10**9)
    return va == vb

def plain(line):
    line = re.sub(r'\\f(\(..|\[[^]]*\]|.)', "", line)
    line = line.replace("\\-", "-").replace("\\(dq", '"').replace("\\&", "")
    return re.sub(r"^\.[A-Z]{1,2}\b ?", "", line).replace('"', "")

lines = open(man).read().splitlines()
on, entries, cur = False, [], None
for l in lines:
    if l.startswith(".SH "):
        on = l[4:].strip('" ') == "OPTIONS"
        continue
    if not on:
        continue
    if l.startswith((".TP", ".SS", ".PP")):
        cur = None
        if l.startswith(".TP"):
            cur = {"tag": None, "body": []}
            entries.append(cur)
    elif cur is not None and cur["tag"] is None:
        cur["tag"] = plain(l)
    elif cur is not None:
        cur["body"].append(plain(l))

bad, n = [], 0
for e in entries:
    opts = re.findall(r"--[\w-]+", e["tag"] or "")
    setting = next((sets[o] for o in opts if o in sets), None)
    body = " ".join(e["body"])
    if setting is None:
        continue
    t = table[setting]
    for m in re.finditer(r"\(([^()]*?)\bdefault:? ([^\s;),:]+)", body):
        n += 1
        if not same(m.group(2), t["default"], t["kind"]):
            bad.append("%s: default %s, %s's is %s" % (opts[0], m.group(2), setting, t["default"]))
    for m in re.finditer(r"\((\S+) to (\S+);", body):
        n += 1
        lo, _, hi = (t.get("range") or "").rpartition("..")
        if not (same(m.group(1), lo.replace("0 or ", ""), t["kind"]) and
                same(m.group(2), hi, t["kind"])):
            bad.append("%s: %s to %s, %s's range is %s" % (opts[0], m.group(1), m.group(2),
                                                          setting, t.get("range")))
if n == 0:
    bad.append("no default or bounds found in OPTIONS: the parse is broken")
if bad:
    sys.exit("\n".join(bad))
print("%d defaults and bounds of offline options, each the setting's" % n)
EOF
	ok "traceflowd(8): $(cat "$WORK/man8.out")"
else
	check_fail "traceflowd(8) OPTIONS against the config table: $(head -n 20 "$WORK/man8.out")"
fi

# --- restart: what a reload refuses ----------------------------------------------------
if [ "$(id -u)" -ne 0 ] || [ ! -f "$WORK/conf5.restart" ]; then
	ok "restart markers: not checked (needs root, and the entries above)"
	finish
fi
need_file "$CTL" traceflowctl
netns_setup
daemon_conf "$WORK/base.conf" "$WORK/spool" 'interfaces = ["vb"]'
cp "$WORK/base.conf" "$WORK/live.conf"
daemon_start d "$WORK/live.conf"
# Lines that change a setting from the base configuration, candidates in
# turn: the first the daemon finds valid tells.
python3 - "$WORK" >"$WORK/changes" <<'EOF'
import json, os, re, sys
work = sys.argv[1]
table = json.load(open(os.path.join(work, "table.json")))
base = {}
for l in open(os.path.join(work, "base.conf")):
    k, _, v = l.rstrip(";\n").partition(" = ")
    base[k] = v
def lit(v):
    return v if re.fullmatch(r"\d+", v) else '"%s"' % v
for name, t in table.items():
    cur = base.get(name, t["default"]).replace(" ", "")
    if t["kind"] == "boolean":
        cands = ["true", "false"]
    elif t["kind"] in ("number", "mode"):
        lo, _, hi = t["range"].replace("0 or ", "").replace('"auto" or ', "").rpartition("..")
        cands = [lit(lo), lit(hi)]
    elif t["kind"] == "words":
        cands = ['"%s"' % w for w in t["words"].split(", ")]
    elif t["kind"] == "list":
        cands = ['["lo"]', '["va"]']
    else:
        cands = ['"%s"' % v for v in ("root", "daemon", "/nonexistent/doc-settings",
                                      "tcp port 9", "%Y", "127.0.0.1:9")]
    for c in cands:
        if c.strip('"') != cur.strip('"'):
            print("%s %s" % (name, c))
EOF
n=0
while read -r name; do
	verdict=
	while read -r _ cand; do
		{ grep -v "^$name = " "$WORK/base.conf"; echo "$name = $cand;"; } >"$WORK/live.conf"
		rc=0
		"$CTL" -s "$WORK/ctl.sock" reload >"$WORK/reload.out" 2>&1 || rc=$?
		if [ "$rc" -eq 0 ]; then
			verdict=reloads
		elif grep -q "setting $name: cannot change on reload" "$WORK/reload.out"; then
			verdict=restart
		else
			echo "$name = $cand: exit $rc: $(cat "$WORK/reload.out")" >>"$WORK/refused"
			continue
		fi
		break
	done < <(grep "^$name " "$WORK/changes")
	kill -0 "$DAEMON_PID" 2>/dev/null || fail "the daemon died on $name: $(tail -n 5 "$DAEMON_LOG")"
	want=$(sed -n "s/^$name //p" "$WORK/conf5.restart")
	if [ -z "$verdict" ]; then
		check_fail "$name: no change of it reloaded or was refused as needing a restart: $(grep "^$name " "$WORK/refused" | head -n 3)"
	elif [ -n "$want" ] && [ "$verdict" != "$want" ]; then
		if [ "$verdict" = restart ]; then
			check_fail "$name: a reload refuses to change it, traceflow.conf(5) does not say restart"
		else
			check_fail "$name: traceflow.conf(5) says restart, a reload changes it"
		fi
	fi
	n=$((n + 1))
done < <(cut -d' ' -f1 "$WORK/changes" | uniq)
# Back to the base, which the daemon must still take.
cp "$WORK/base.conf" "$WORK/live.conf"
"$CTL" -s "$WORK/ctl.sock" reload >"$WORK/reload.out" 2>&1 ||
    check_fail "the base configuration again: $(cat "$WORK/reload.out")"
daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "traceflowd exited $DAEMON_RC: $(tail -n 5 "$DAEMON_LOG")"
[ "$failures" -ne 0 ] ||
    ok "restart markers: $n settings changed by a reload, refused exactly where traceflow.conf(5) says restart ($(grep -c ' restart$' "$WORK/conf5.restart"))"
finish
