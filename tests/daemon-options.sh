#!/bin/bash
#
# daemon-options.sh: the command lines the documentation promises are the
# ones the programs take (issue 26).
#  - traceflowd: the options named by --help, by the OPTIONS section of
#    traceflowd(8) and by completion/traceflowd are the same; the values the
#    completion offers are what the program takes (files, folders,
#    interfaces, or words: each one run, and for an option that sets a
#    setting of words, all of the setting's); every one of the options, long
#    and short form, with its value apart and attached, is taken (no
#    "unrecognized option", "invalid option", or a value where none is
#    due); and the long forms work as the short ones (--check --config FILE
#    --interface IFACE, a start with --foreground).
#  - traceflowctl: the same for its own options (--help, the OPTIONS
#    section of traceflowctl(8), completion/traceflowctl) and for each
#    command's (help COMMAND, its entry in COMMANDS, the completion), query
#    (QUERY_ARGS) included; each of them is taken.
# Needs python3 (the extraction); the start with --foreground needs root.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
need_cmd python3
need_file "$TRACEFLOWD" traceflowd
CTL=$top_builddir/traceflowctl
need_file "$CTL" traceflowctl

# opts KIND FILE [ARG]: the options named in FILE, one per line, sorted:
#   help            anywhere in a program's --help text
#   ctl-help        traceflowctl --help without its commands' lines
#   man-options     the tags (.TP/.TQ lines) of a man page's OPTIONS section
#   man-command CMD the tag of CMD in a man page's COMMANDS section
#   spec            as man-options, but "OPTION VALUE" a line (VALUE "-": none)
opts() {
	python3 - "$@" <<'PY'
import re, sys
kind, path = sys.argv[1], sys.argv[2]
arg = sys.argv[3] if len(sys.argv) > 3 else None
text = open(path).read()
OPT = re.compile(r'(?<![\w-])(--?[A-Za-z][\w-]*)(=?)')

def roff(line):
    """A man line as it reads: no macros, fonts, quotes or escapes."""
    line = re.sub(r'\\f(\(..|\[[^]]*\]|.)', '', line)
    line = line.replace('\\-', '-').replace('\\(dq', '"').replace('\\&', '').replace('\\ ', ' ')
    line = re.sub(r'^\.[A-Z]{1,2}\b ?', '', line)
    return line.replace('"', '')

def section(name):
    out, on = [], False
    for l in text.splitlines():
        if l.startswith('.SH '):
            on = l[4:].strip().strip('"') == name
        elif on:
            out.append(l)
    return out

def tags(lines):
    out, take = [], False
    for l in lines:
        if take:
            out.append(roff(l))
            take = False
        elif l.startswith(('.TP', '.TQ')):
            take = True
    return out

def names(s):
    return {m.group(1) for m in OPT.finditer(s)}

if kind == 'help':
    found = names(text)
elif kind == 'ctl-help':
    head, _, rest = text.partition('\ncommands:\n')
    _, _, tail = rest.partition('\noptions:\n')
    found = names(head) | names(tail)
elif kind == 'man-options':
    found = set().union(*[names(t) for t in tags(section('OPTIONS'))])
elif kind == 'man-command':
    found = set()
    for t in tags(section('COMMANDS')):
        if t.split()[0] == arg:
            found = names(t)
elif kind == 'spec':
    # "-c, --config FILE": both take FILE; "--nanosecond, --microsecond": none.
    for t in tags(section('OPTIONS')):
        toks = t.replace(',', ' , ').split()
        group = []
        for i, tok in enumerate(toks):
            if OPT.fullmatch(tok):
                group.append(tok)
                continue
            if tok == ',':
                continue
            if group:
                for o in group:
                    print(o, tok)
                group = []
        for o in group:
            print(o, '-')
    sys.exit(0)
for n in sorted(found):
    print(n)
PY
}

# same WHAT A B...: the option lists in file A and in each B are the same;
# a difference names the options and the file that lacks or adds them.
same() {
	local what=$1 a=$2 f d bad=

	shift 2
	for f in "$@"; do
		d=$(diff "$a" "$f" | sed -n "s/^< /${f##*/} lacks /p; s/^> /${f##*/} adds /p" | tr '\n' ' ')
		bad="$bad$d"
	done
	if [ -z "$bad" ]; then
		ok "$what: the same $(wc -l <"$a") option(s) in each: $(tr '\n' ' ' <"$a")"
	else
		check_fail "$what differ (against ${a##*/}): $bad"
	fi
}

# getopt_complaint FILE: getopt's or the program's own words for an
# option it does not know or a value it does not take.
getopt_complaint() {
	grep -E "unrecognized option|invalid option|requires an argument|doesn't allow an argument|unknown option|needs a value|takes no value" "$1"
}

# --- traceflowd: one list of options in every place ---------------------
"$TRACEFLOWD" --help >"$WORK/d.help" 2>&1 || fail "traceflowd --help: $(cat "$WORK/d.help")"
opts help "$WORK/d.help" >"$WORK/d.help.opts"
opts man-options "$top_srcdir/doc/traceflowd.8" >"$WORK/d.man.opts"
# complete_d WORDS...: what completion/traceflowd offers for the last word,
# a line each; "<files>" ("<files -d>": folders) when it leaves the word
# to bash-completion's _filedir.
complete_d() {
	# shellcheck disable=SC2016
	PATH=$top_builddir:$PATH bash -c '
		_init_completion() { words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD
			cur=${words[cword]}; prev=${words[cword-1]}; }
		_filedir() { COMPREPLY=("<files${1:+ $1}>"); }
		f=$1; shift
		. "$f"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_traceflowd; printf "%s\n" "${COMPREPLY[@]}"' sh "$top_srcdir/completion/traceflowd" "$@" |
	    sed '/^$/d'
}
if [ -f "$top_srcdir/completion/traceflowd" ]; then
	need_cmd bash
	complete_d traceflowd - | LC_ALL=C sort -u >"$WORK/d.comp.opts"
	same "traceflowd: --help, traceflowd(8) OPTIONS and completion/traceflowd" \
	    "$WORK/d.help.opts" "$WORK/d.man.opts" "$WORK/d.comp.opts"

	# The values it offers: files for FILE, folders for DIR, interfaces for
	# IFACE, nothing for what is typed (N, DUR, SIZE...), and words the
	# program takes, each of them (a run offline, or --print-config); for an
	# option that sets a setting of words (--format sets format), every word
	# of the setting (the config table's, from its error message) and no other.
	printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00' \
	    >"$WORK/empty.pcap"
	sed -nE 's/^ +(-[A-Za-z], )?(--[a-z-]+) ([^ ]+).*/\2 \3/p' "$WORK/d.help" >"$WORK/d.values"
	nv=0
	while read -r opt val; do
		complete_d traceflowd "$opt" '' >"$WORK/comp.out"
		got=$(tr '\n' ' ' <"$WORK/comp.out")
		got=${got% }
		case $val in
		FILE) want='<files>' ;;
		DIR) want='<files -d>' ;;
		IFACE) grep -qx lo "$WORK/comp.out" && want=$got || want='(interfaces, lo among them)' ;;
		*) want= ;;
		esac
		if [ -n "$want" ]; then
			[ "$got" = "$want" ] || check_fail "completion of traceflowd $opt $val: '$got', want '$want'"
			nv=$((nv + 1))
			continue
		fi
		setting=${opt#--}
		setting=${setting//-/_}
		printf '%s = "no-such-word";\n' "$setting" >"$WORK/words.conf"
		words=$("$TRACEFLOWD" -n -c "$WORK/words.conf" 2>&1 | sed -n 's/.*(allowed: \(.*\))$/\1/p' | tr -d ,)
		if [ -n "$words" ] && [ "$val" = "${val^^}" ] && [ "$got" != "$words" ]; then
			check_fail "completion of traceflowd $opt: '$got', the setting $setting takes '$words'"
		fi
		for w in $got; do
			if [ "$opt" = --print-config ]; then
				tf word --print-config "$w" -c /dev/null
			else
				rm -rf "$WORK/wout"
				tf word --read "$WORK/empty.pcap" --output "$WORK/wout" --quiet "$opt" "$w"
			fi
			[ "$TF_RC" -eq 0 ] ||
			    check_fail "completion offers traceflowd $opt $w, which exits $TF_RC: $(head -c 200 "$TF_ERR")"
			nv=$((nv + 1))
		done
	done <"$WORK/d.values"
	ok "completion/traceflowd: the values of $(wc -l <"$WORK/d.values") options ($nv checked)"
else
	ok "traceflowd: no completion/traceflowd to compare"
	same "traceflowd: --help and traceflowd(8) OPTIONS" "$WORK/d.help.opts" "$WORK/d.man.opts"
fi

# --- traceflowd: every option taken, long and short -----------------------
# A value for each metavariable of the documentation; a literal value
# ("json", "pcapkit", "little|big") is given as it stands (its first choice).
value_of() {
	case $1 in
	FILE) echo /dev/null ;;
	DIR) echo "$WORK/out" ;;
	IFACE) echo lo ;;
	FMT) echo pcap ;;
	FORMAT) echo text ;;
	PATTERN) echo %Y ;;
	DURATION | DUR | SEC) echo 5s ;;
	N) echo 10 ;;
	BYTES | SIZE) echo 1M ;;
	HOST:PORT) echo 127.0.0.1:4739 ;;
	*) echo "${1%%|*}" ;;
	esac
}

# Each option followed by --help: getopt must take it (and its value)
# and reach --help, which prints the usage and exits 0; -V and -h end
# by themselves. Attached values (--opt=V, -oV) catch an option whose
# table says no value where the documentation gives one; a value-less
# option followed by --help catches the opposite (--help eaten as its
# value: no usage, so a failure; timeout bounds a daemon started so).
opts spec "$top_srcdir/doc/traceflowd.8" >"$WORK/d.spec"
# Options --help names that the man page does not are run too, by their
# --help line (the comparison above has already failed for them).
python3 - "$WORK/d.help" "$WORK/d.spec" <<'PY' >"$WORK/d.spec.help"
import re, sys
known = {l.split()[0] for l in open(sys.argv[2])}
for l in open(sys.argv[1]):
    m = re.match(r'\s+((?:-\w, )?--?[\w-]+)(?: ([^ ]\S*))?', l)
    if m:
        for o in m.group(1).split(', '):
            if o not in known:
                print(o, m.group(2) or '-')
                known.add(o)
PY
cat "$WORK/d.spec.help" >>"$WORK/d.spec"
n=0
bad=0
while read -r opt val; do
	forms=()
	if [ "$val" = - ]; then
		forms+=("$opt")
	else
		v=$(value_of "$val")
		case $opt in
		--*) forms+=("$opt $v" "$opt=$v") ;;
		*) forms+=("$opt $v" "$opt$v") ;;
		esac
	fi
	for f in "${forms[@]}"; do
		n=$((n + 1))
		rc=0
		# shellcheck disable=SC2086
		timeout 10 "$TRACEFLOWD" $f --help >"$WORK/run.out" 2>"$WORK/run.err" </dev/null || rc=$?
		case $opt in
		-V | --version) want='^traceflowd [0-9]' ;;
		*) want='^usage: traceflowd' ;;
		esac
		if [ "$rc" -ne 0 ] || getopt_complaint "$WORK/run.err" >/dev/null ||
		    ! grep -q "$want" "$WORK/run.out"; then
			bad=$((bad + 1))
			check_fail "traceflowd $f --help: exit $rc: $(head -c 300 "$WORK/run.err")"
		fi
	done
done <"$WORK/d.spec"
[ "$bad" -eq 0 ] && ok "traceflowd: all $n forms of the documented options taken"

# The long forms do what the short ones do (issue 26: --check, --config,
# --interface and --foreground were documented but unknown to getopt).
daemon_conf "$WORK/good.conf" "$WORK/spool" 'interfaces = ["lo"]'
tf long --check --verbose --config "$WORK/good.conf" --interface lo --interface tf-none0
if [ "$TF_RC" -ne 0 ] || ! grep -q 'configuration OK' "$TF_OUT"; then
	check_fail "--check --config FILE: exit $TF_RC: $(cat "$TF_OUT" "$TF_ERR" | head -c 400)"
else
	ok "--check --verbose --config FILE --interface lo --interface tf-none0: configuration OK"
	grep -q '^interfaces = \[ *"lo", *"tf-none0" *\];' "$TF_OUT" ||
	    check_fail "--interface: not the interfaces printed: $(grep '^interfaces' "$TF_OUT")"
fi
if [ "$(id -u)" -eq 0 ]; then
	"$TRACEFLOWD" --foreground --config "$WORK/good.conf" >"$WORK/fg.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 100); do
		grep -qs 'started:' "$WORK/fg.log" && break
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	if grep -qs 'started:' "$WORK/fg.log"; then
		ok "--foreground --config FILE: started"
	else
		check_fail "--foreground --config FILE did not start: $(tail -n 5 "$WORK/fg.log")"
	fi
	daemon_stop
	[ "$DAEMON_RC" -eq 0 ] || check_fail "--foreground: exit $DAEMON_RC after SIGTERM"
else
	ok "--foreground: a start not tried (needs root)"
fi

# --- traceflowctl: its options, and each command's --------------------------
# complete WORDS...: what completion/traceflowctl offers for the last word.
complete_ctl() {
	# shellcheck disable=SC2016
	PATH=$top_builddir:$PATH bash -c '
		_init_completion() { words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD
			cur=${words[cword]}; prev=${words[cword-1]}; }
		_filedir() { :; }
		f=$1; shift
		. "$f"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_traceflowctl; printf "%s\n" "${COMPREPLY[@]}"' sh "$top_srcdir/completion/traceflowctl" "$@" |
	    grep -- '^-' | LC_ALL=C sort -u || true
}

ctlman=$top_srcdir/doc/traceflowctl.8
"$CTL" --help >"$WORK/c.help" 2>&1 || fail "traceflowctl --help: $(cat "$WORK/c.help")"
opts ctl-help "$WORK/c.help" >"$WORK/c.help.opts"
opts man-options "$ctlman" >"$WORK/c.man.opts"
complete_ctl traceflowctl - >"$WORK/c.comp.opts"
same "traceflowctl: --help, traceflowctl(8) OPTIONS and completion" \
    "$WORK/c.help.opts" "$WORK/c.man.opts" "$WORK/c.comp.opts"

nosock=$WORK/no.sock
"$CTL" help --commands >"$WORK/commands" || fail "traceflowctl help --commands"
grep -qx query "$WORK/commands" || check_fail "help --commands does not name query"
while read -r cmd; do
	"$CTL" help "$cmd" >"$WORK/c.$cmd.help" 2>&1 || check_fail "traceflowctl help $cmd"
	opts help "$WORK/c.$cmd.help" >"$WORK/c.$cmd.opts"
	opts man-command "$ctlman" "$cmd" >"$WORK/c.$cmd.man"
	complete_ctl traceflowctl -s "$nosock" "$cmd" - >"$WORK/c.$cmd.comp"
	same "traceflowctl $cmd: help $cmd, traceflowctl(8) COMMANDS and completion" \
	    "$WORK/c.$cmd.opts" "$WORK/c.$cmd.man" "$WORK/c.$cmd.comp"
done <"$WORK/commands"

# Each taken: global options before a command; a command's own after it
# (no daemon runs: a refused connection is fine, an unknown option not).
ctl_run() {
	rc=0
	timeout 20 "$CTL" "$@" >"$WORK/run.out" 2>"$WORK/run.err" </dev/null || rc=$?
	if getopt_complaint "$WORK/run.err" >/dev/null || [ "$rc" -eq 2 ]; then
		check_fail "traceflowctl $*: exit $rc: $(head -c 300 "$WORK/run.err")"
		return 1
	fi
}
printf '' >"$WORK/empty.conf"
n=0
while read -r o; do
	case $o in
	-s | --socket) v=("$nosock") ;;
	-c | --config) v=("$WORK/good.conf") ;;
	--timeout) v=(1s) ;;
	*) v=() ;;
	esac
	n=$((n + 1))
	ctl_run "$o" "${v[@]}" help || true
done <"$WORK/c.help.opts"
mkdir -p "$WORK/qspool"
while read -r cmd; do
	while read -r o; do
		case $o in
		--host) v=(127.0.0.1) ;;
		--port | --limit) v=(1) ;;
		--label) v=('x*') ;;
		-d) v=("$WORK/qspool") ;;
		-w) v=("$WORK/q.pcap") ;;
		--filter) v=(tcp -w "$WORK/q.pcap") ;;
		*) v=() ;;
		esac
		n=$((n + 1))
		if [ "$cmd" = query ]; then
			ctl_run query -d "$WORK/qspool" "$o" "${v[@]}" host 192.0.2.1 || true
		else
			ctl_run -s "$nosock" --timeout 2s "$cmd" "$o" "${v[@]}" || true
		fi
	done <"$WORK/c.$cmd.opts"
done <"$WORK/commands"
ok "traceflowctl: $n documented options run"

finish
