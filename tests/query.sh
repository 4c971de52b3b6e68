#!/bin/bash
# query.sh: traceflowctl query, judged by tests/querycmp.py (a brute-force
# filter of index.jsonl with its own reading of the expression language) and
# by tshark (what -w writes).
#  1. Three folders: a spool made by the live daemon (gencap -m: IPv4, IPv6,
#     VLAN and QinQ tags, partial and reset flows; replayed into a veth pair,
#     partition_files = 40, so several partitions and a catalog); an offline
#     folder (traceflowd --read) of two captures two hours apart, queried
#     through its catalog and then, the catalog removed, through its
#     index.jsonl; an offline folder of a pcapng with three link types.
#  2. Some thirty expressions covering every primitive, and/or/not/parens,
#     times as RFC 3339 (UTC, an offset, local with TZ set, a date alone),
#     epoch seconds and "N ago": --json lists exactly the flows the judge
#     finds, in time order, with the index's fields; --limit with --oldest
#     and --newest; the table (every column, the start in local time);
#     nothing matching is exit 0.
#  3. -w: exactly the matching files' frames, in time order (ties: the flow
#     that began first), as pcap for one link type and pcapng with one
#     interface per link type for three; -w - through a pipe to tshark.
#  4. --filter BPF: only the frames tshark's equivalent filter keeps.
#  5. Queries while the daemon writes and retention deletes exit 0; a file
#     the catalog names but that is gone is reported and skipped.
#  6. A user outside the spool's group is refused (exit 1, "permission
#     denied"); a member of the group may query.
#  7. A bad expression: exit 2 and the failing word in the message.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck disable=SC2154 # failures: lib.sh's count of recorded failures

need_root
need_cmd tcpreplay
need_cmd tshark
need_cmd mergecap
need_cmd capinfos
need_cmd setpriv
need_traceflowd
need_file "$GENCAP" gencap
TRACEFLOWCTL=$top_builddir/traceflowctl
need_file "$TRACEFLOWCTL" traceflowctl
QUERYCMP=$top_srcdir/tests/querycmp.py
# The interpreter itself, not a wrapper (pyenv's shims take a tenth of a second a run).
PY=$(python3 -c 'import sys; print(sys.executable)')
# The spool's user and group, a member and an outsider (setpriv sets them).
for u in daemon nobody; do getent passwd "$u" >/dev/null || skip "no user $u"; done
for g in daemon nogroup; do getent group "$g" >/dev/null || skip "no group $g"; done
"$TRACEFLOWCTL" help query >/dev/null 2>&1 ||
    fail "traceflowctl has no query command (traceflowctl help query: exit non-zero)"
netns_setup
# Others (the group member and the outsider of 6) must reach the spools.
chmod 755 "$WORK"

ctl() { "$TRACEFLOWCTL" -s "$WORK/ctl.sock" "$@"; }

# settled: every flow finished and filed (30 s).
settled() {
	for _ in $(seq 300); do
		ctl -j stats 2>/dev/null | "$PY" -c '
import json, sys
t = json.load(sys.stdin)["totals"]
sys.exit(0 if t["flows_active"] == 0 and t["index_lines_pending"] == 0 else 1)' && return 0
		sleep 0.1
	done
	return 1
}

# q NAME ARGS...: traceflowctl query ARGS, stdout in $WORK/NAME.out, stderr
# in $WORK/NAME.err, its exit status in Q_RC. Runs as $QUSER ("" for root:
# setpriv's options), with at most $QULIMIT descriptors when set.
n_q=0
q() {
	local name=$1

	shift
	n_q=$((n_q + 1))
	Q_OUT=$WORK/q$n_q-$name.out
	Q_ERR=$WORK/q$n_q-$name.err
	Q_RC=0
	if [ -n "${QULIMIT:-}" ]; then
		# few descriptors: the merge must close and reopen files
		(ulimit -n "$QULIMIT" && exec "$TRACEFLOWCTL" query "$@") >"$Q_OUT" 2>"$Q_ERR" </dev/null ||
		    Q_RC=$?
	elif [ -n "${QUSER:-}" ]; then
		# shellcheck disable=SC2086 # QUSER is setpriv's options
		setpriv $QUSER -- "$TRACEFLOWCTL" query "$@" >"$Q_OUT" 2>"$Q_ERR" </dev/null || Q_RC=$?
	else
		"$TRACEFLOWCTL" query "$@" >"$Q_OUT" 2>"$Q_ERR" </dev/null || Q_RC=$?
	fi
}

# q_json NAME DIR WANT [QUERY OPTIONS...] -- EXPRESSION...: query -d DIR --json,
# its output judged later, with the others, by judge_all. WANT: what the
# judge's set must be (some, part: some but not all, none, all, any), or the
# case proves little. The options (--limit N, --newest, --oldest) go to both.
# FIELDS=1: every object's fields checked too (once a folder: one wrong
# field is then one failure, not one an expression).
BATCH=$WORK/judge.batch
: >"$BATCH"
q_json() {
	local name=$1 dir=$2 want=$3 opts=() args

	shift 3
	while [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	q "$name" -d "$dir" --json "${opts[@]}" "$@"
	name="$name: ${opts[*]:+${opts[*]} }'$*'"
	if [ "$Q_RC" -ne 0 ]; then
		check_fail "$name: exit $Q_RC: $(head -c 300 "$Q_ERR")"
		return 0
	fi
	args=(--want "$want" ${FIELDS:+--fields} ${TZ+--tz "$TZ"} "${opts[@]}" -- "$@")
	printf '%s\t%s\t%s\t%s\n' "$name" "$dir" "$Q_OUT" "$(IFS=$'\x1f'; echo "${args[*]}")" >>"$BATCH"
}

# judge_all: the judge over every q_json since the last time (one python
# run for all). The random expressions of q_fuzz NAME get one line a NAME.
judge_all() {
	local st name msg fuzz=() k

	declare -A nfuzz=()
	[ -s "$BATCH" ] || return 0
	while IFS=$'\t' read -r st name msg; do
		if [ "$st" != ok ]; then
			check_fail "$name: $msg"
		elif [[ $name == *"#"* ]]; then
			k=${name%%#*}
			[ -n "${nfuzz[$k]:-}" ] || fuzz+=("$k")
			nfuzz[$k]=$((${nfuzz[$k]:-0} + 1))
		else
			ok "$name: $msg"
		fi
	done < <("$PY" "$QUERYCMP" batch "$BATCH" || echo "FAIL	querycmp.py batch	exit $?")
	for k in "${fuzz[@]}"; do
		ok "$k: ${nfuzz[$k]} random expressions: the flows the judge finds"
	done
	: >"$BATCH"
}

# q_fuzz NAME DIR SEED N: N random expressions (querycmp.py fuzz) for judge_all.
q_fuzz() {
	local name=$1 dir=$2 n=0 ex

	while IFS= read -r ex; do
		n=$((n + 1))
		q_json "$name#$n" "$dir" any -- "$ex"
	done < <("$PY" "$QUERYCMP" fuzz "$dir" "$3" "$4")
}

# q_frames NAME DIR OUT [JUDGE OPTIONS...] -- [QUERY OPTIONS...] -- EXPRESSION...:
# query -d DIR -w OUT, judged by querycmp.py frames (through tshark).
q_frames() {
	local name=$1 dir=$2 out=$3 jopts=() qopts=()

	shift 3
	while [ "$1" != -- ]; do
		jopts+=("$1")
		shift
	done
	shift
	while [ "$1" != -- ]; do
		qopts+=("$1")
		shift
	done
	shift
	q "$name" -d "$dir" -w "$out" "${qopts[@]}" "$@"
	if [ "$Q_RC" -ne 0 ]; then
		check_fail "$name: query -w ${qopts[*]} '$*': exit $Q_RC: $(head -c 300 "$Q_ERR")"
		return 0
	fi
	if "$PY" "$QUERYCMP" frames "$dir" "$out" --summary "$Q_ERR" "${jopts[@]}" -- "$@" \
	    >"$out.cmp" 2>&1; then
		ok "$name: -w ${qopts[*]:+${qopts[*]} }'$*': $(cat "$out.cmp")"
	else
		check_fail "$name: -w ${qopts[*]:+${qopts[*]} }'$*': $(head -n 8 "$out.cmp")"
	fi
}

# qtime DIR WHICH Q STYLE: a time from DIR's data (querycmp.py time), written in STYLE.
qtime() {
	"$PY" "$QUERYCMP" time "$@"
}

# --- 1. the folders --------------------------------------------------------
now=$(date +%s)
"$GENCAP" -m -c 300 -C 30 -p 6 -6 30 -O 10 -S 21 -o "$WORK/live.pcap" 2>/dev/null ||
    fail "gencap failed"
"$GENCAP" -m -c 150 -C 20 -p 6 -6 30 -S 22 -t $((now - 7200)) -o "$WORK/a.pcap" 2>/dev/null
"$GENCAP" -c 150 -C 20 -p 6 -6 30 -S 23 -t $((now - 600)) -o "$WORK/b.pcap" 2>/dev/null
mergecap -F pcap -w "$WORK/off.pcap" "$WORK/a.pcap" "$WORK/b.pcap" ||
    fail "mergecap a.pcap b.pcap failed"
"$GENCAP" -g -c 120 -C 12 -p 6 -6 30 -S 24 -o "$WORK/ng.pcapng" 2>/dev/null

# The daemon's spool, as user daemon and group daemon.
SPOOL=$WORK/spool
daemon_conf "$WORK/d1.conf" "$SPOOL" 'interfaces = ["vb"]' 'linger = "0"' 'idle_timeout = "1d"' \
    'partition_files = 40'
sed -i 's/^user = "";/user = "daemon";\ngroup = "daemon";/' "$WORK/d1.conf"
daemon_start d1 "$WORK/d1.conf"
replay "$WORK/live.pcap"
daemon_stop
[ "$DAEMON_RC" -eq 0 ] || fail "traceflowd exited $DAEMON_RC: $(tail -n 5 "$DAEMON_LOG")"
[ -f "$SPOOL/.catalog/catalog.db" ] || fail "the daemon made no catalog in $SPOOL"
parts=$(find "$SPOOL" -mindepth 1 -maxdepth 1 -type d -name '20*' | wc -l)
nflows=$(find "$SPOOL" -path "$SPOOL/.*" -prune -o -name '*.pcap' -print | wc -l)
[ "$parts" -ge 3 ] || fail "the spool has $parts partitions (want several)"
ok "spool: $nflows files in $parts partitions, owned by $(stat -c %U:%G "$SPOOL") $(stat -c %a "$SPOOL")"

OFF=$WORK/off
tf_ok off --read "$WORK/off.pcap" --output "$OFF" || fail "traceflowd --read off.pcap failed"
NG=$WORK/ng
tf_ok ng --read "$WORK/ng.pcapng" --output "$NG" || fail "traceflowd --read ng.pcapng failed"
# More flows than -w keeps from its first pass (4096): the second selects them again.
"$GENCAP" -c 6000 -C 200 -p 4 -s 10 -S 27 -o "$WORK/many.pcap" 2>/dev/null ||
	fail "gencap many.pcap failed"
MANY=$WORK/many
tf_ok many --read "$WORK/many.pcap" --output "$MANY" || fail "traceflowd --read many.pcap failed"

# --- 2. expressions --------------------------------------------------------

# exprs NAME DIR: the cases every folder of gencap's addresses shares.
exprs() {
	local n=$1 d=$2 t1 t2 tb ta

	q_json "$n-host" "$d" part -- host 10.0.0.2
	q_json "$n-src-host" "$d" part -- src host 10.1.0.7 or src host 10.1.0.8 or src host 10.1.0.9
	q_json "$n-dst-host" "$d" part -- dst host 10.0.0.3 and not src net 10.1.0.0/26
	q_json "$n-src-is-initiator" "$d" none -- src host 10.0.0.3
	q_json "$n-net4" "$d" part -- net 10.1.0.0/28
	q_json "$n-net6" "$d" part -- src net fd00::c:0:0:0/120 or dst net fd00::5:0:0:4/127
	q_json "$n-host6" "$d" part -- host FD00:0:0:0:5:0:0:2 and not partial
	q_json "$n-port" "$d" part -- port 443
	q_json "$n-src-port" "$d" part -- src port 32780 or src port 32781 or src port 32900
	q_json "$n-dst-port" "$d" part -- dst port 8080 and net 10.0.0.0/8
	q_json "$n-label" "$d" part -- label '10.1.0.1?_*-10.0.0.[13]_*'
	q_json "$n-label-neg" "$d" part -- label '[^1]*' and dst port 5432
	q_json "$n-reason" "$d" part -- reason rst
	q_json "$n-partial" "$d" part -- partial
	q_json "$n-precedence" "$d" part -- reason fin and partial or reason rst
	q_json "$n-symbols" "$d" part -- '!' partial '&&' port 80 '||' dst port 8080
	q_json "$n-parens" "$d" part -- '(port 80 or port 443) and not (src net 10.1.0.0/25 or partial)'
	q_json "$n-glued" "$d" part -- '(host' 10.0.0.1 or host '10.0.0.2)' and not port 80
	q_json "$n-nothing" "$d" none -- host 192.0.2.1
	FIELDS=1 q_json "$n-all" "$d" all --
	# Times: a range in the middle, in UTC with nanoseconds.
	t1=$(qtime "$d" between-last 0.3 utc)
	t2=$(qtime "$d" between-first 0.7 utc)
	q_json "$n-range-utc" "$d" part -- after "$t1" and before "$t2"
	# Both ends are inclusive: a flow's own first and last times.
	tb=$(qtime "$d" first 0.4 utc)
	ta=$(qtime "$d" last 0.6 utc)
	q_json "$n-before-exact" "$d" part -- before "$tb"
	q_json "$n-after-exact" "$d" part -- after "$ta"
	q_json "$n-offset" "$d" part -- after "$(qtime "$d" between-last 0.5 offset:+05:30)"
	TZ=Asia/Kolkata q_json "$n-local" "$d" part -- \
	    before "$(TZ=Asia/Kolkata qtime "$d" between-first 0.5 local)"
	TZ=America/New_York q_json "$n-date" "$d" some -- \
	    after "$(TZ=America/New_York qtime "$d" first 0.99 date)" and port 80
	q_json "$n-epoch" "$d" part -- before "$(qtime "$d" between-first 0.25 epoch)" or \
	    after "$(qtime "$d" between-last 0.9 epoch)"
	q_json "$n-vlan" "$d" part -- vlan 106 or vlan 212 or vlan 312
	q_json "$n-not-vlan" "$d" part -- not vlan 106 and dst port 80
	# --limit: the first N (the default, --oldest) or the last N, oldest first.
	q_json "$n-limit" "$d" part --limit 5 -- port 80
	q_json "$n-limit-oldest" "$d" part --limit 5 --oldest -- port 80
	q_json "$n-limit-newest" "$d" part --limit 5 --newest -- port 80
	q_json "$n-limit-more" "$d" part --limit 100000 -- port 80
	q_fuzz "$n-fuzz" "$d" 7 25
}

exprs spool "$SPOOL"
q_json spool-interface "$SPOOL" all -- interface vb
q_json spool-interface-none "$SPOOL" none -- interface eth0
q_json spool-ago "$SPOOL" all -- after 1h ago
q_json spool-ago-none "$SPOOL" none -- before 1d ago
# Without -d: the spool_dir of the config file.
# (traceflowctl reads a config through traceflowd -n: this tree's, not /usr/sbin's.)
TRACEFLOWD=$TRACEFLOWD q config -c "$WORK/d1.conf" -j port 443 and not partial
if [ "$Q_RC" -eq 0 ] && "$PY" "$QUERYCMP" json "$SPOOL" "$Q_OUT" -- port 443 and not partial \
    >"$Q_OUT.cmp" 2>&1; then
	ok "-c CONFIG (its spool_dir) -j: $(cat "$Q_OUT.cmp")"
else
	check_fail "-c CONFIG -j: exit $Q_RC: $(head -c 300 "$Q_ERR") $(head -n 4 "$Q_OUT.cmp" 2>/dev/null)"
fi
# The table's times are local: TZ=Asia/Kolkata (UTC+5:30) for it and the judge.
TZ=Asia/Kolkata q table -d "$SPOOL" port 443
if [ "$Q_RC" -ne 0 ]; then
	check_fail "table: exit $Q_RC: $(head -c 300 "$Q_ERR")"
elif TZ=Asia/Kolkata "$PY" "$QUERYCMP" table "$SPOOL" "$Q_OUT" port 443 >"$Q_OUT.cmp" 2>&1; then
	ok "table 'port 443', TZ=Asia/Kolkata: $(cat "$Q_OUT.cmp")"
else
	check_fail "table 'port 443': $(head -n 5 "$Q_OUT.cmp")"
fi

# The offline folder, through its catalog, then through its index alone.
for how in catalog index; do
	if [ "$how" = index ]; then
		rm -rf "$OFF/.catalog"
	fi
	exprs "off-$how" "$OFF"
	# Capture b is the last 10 minutes', a two hours ago.
	q_json "off-$how-ago" "$OFF" part -- after 30m ago
	q_json "off-$how-ago2" "$OFF" part -- before 1h30m ago and port 443
	q_json "off-$how-ago3" "$OFF" part -- after 3h ago and before 1h ago
	# Offline flows have no interface: they are not on eth0.
	q_json "off-$how-not-interface" "$OFF" all -- not interface eth0
done

# The pcapng folder: interfaces eth0 (Ethernet), tun0 (raw IP), any (Linux cooked).
q_json ng-interface "$NG" part -- interface eth0
q_json ng-interface2 "$NG" part -- interface tun0 or interface any and port 443
q_json ng-not-interface "$NG" part -- not interface eth0 and port 443
FIELDS=1 q_json ng-all "$NG" all --
q_fuzz ng-fuzz "$NG" 8 25
judge_all

# --- 3, 4. -w ---------------------------------------------------------------
q_frames w-pcap "$SPOOL" "$WORK/w-pcap.pcap" --format pcap -- -- dst port 80 or vlan 106
q_frames w-pcap-index "$OFF" "$WORK/w-off.pcap" --format pcap -- -- host 10.0.0.1
q_frames w-pcapng "$NG" "$WORK/w-ng.pcapng" --format pcapng -- -- port 443 or port 80
QULIMIT=50 q_frames w-few-fds "$SPOOL" "$WORK/w-few-fds.pcap" --format pcap -- -- \
    not host 10.0.0.4
q_frames w-many "$MANY" "$WORK/w-many.pcap" --format pcap -- -- not host 10.0.0.4
q_frames w-newest "$SPOOL" "$WORK/w-newest.pcap" --format pcap --limit 4 --newest -- \
    --limit 4 --newest -- host 10.0.0.4
# --filter: b's flows have no tags and no IPv6 extension headers, where the
# BPF 'tcp port 80' and tshark's 'tcp.port == 80' keep the same frames.
q_frames w-filter "$OFF" "$WORK/w-filter.pcap" --format pcap --display-filter 'tcp.port == 80' -- \
    --filter 'tcp port 80' -- after 30m ago
q_frames w-filter-ng "$NG" "$WORK/w-filter-ng.pcapng" --format pcapng \
    --display-filter 'tcp.port == 443' -- --filter 'tcp port 443' -- port 443 or port 8080
# -w - into a pipe.
rc=0
"$TRACEFLOWCTL" query -d "$SPOOL" -w - port 443 and not partial 2>"$WORK/w-stdout.err" |
    tshark -r - -T json -x >"$WORK/w-stdout.json" 2>"$WORK/w-stdout.tshark" || rc=$?
if [ "$rc" -ne 0 ]; then
	check_fail "-w - | tshark -r -: exit $rc: $(head -c 300 "$WORK/w-stdout.err" "$WORK/w-stdout.tshark")"
elif "$PY" "$QUERYCMP" frames "$SPOOL" "$WORK/w-stdout.json" --tshark-json \
    --summary "$WORK/w-stdout.err" -- port 443 and not partial >"$WORK/w-stdout.cmp" 2>&1; then
	ok "-w - | tshark -r -: 'port 443 and not partial': $(cat "$WORK/w-stdout.cmp")"
else
	check_fail "-w - | tshark -r -: $(head -n 8 "$WORK/w-stdout.cmp")"
fi

# --- 7. bad expressions -------------------------------------------------------
# bad WORD N EXPRESSION...: exit 2, the message names WORD as word N.
bad() {
	local word=$1 n=$2

	shift 2
	q bad -d "$SPOOL" "$@"
	if [ "$Q_RC" -ne 2 ]; then
		check_fail "'$*': exit $Q_RC, want 2: $(head -c 300 "$Q_ERR")"
	elif ! grep -qF "at $word (word $n)" "$Q_ERR"; then
		check_fail "'$*': the message does not say 'at $word (word $n)': $(head -c 300 "$Q_ERR")"
	elif [ -s "$Q_OUT" ]; then
		check_fail "'$*': exit 2 but something on stdout"
	else
		ok "'$*': exit 2: $(head -n 1 "$Q_ERR")"
	fi
}
bad '"frob"' 4 host 10.0.0.1 and frob
bad '"port"' 3 host 10.0.0.1 port 80
bad '"frob"' 2 src frob 10.0.0.1
bad '"10.0.0.300"' 2 host 10.0.0.300
bad '"yesterday"' 2 after yesterday
bad 'the end' 2 port
bad 'the end' 4 '(port' 80
q nodir -d "$WORK/no-such-spool" port 80
if [ "$Q_RC" -eq 1 ] && grep -qF "$WORK/no-such-spool" "$Q_ERR"; then
	ok "no such folder: exit 1: $(head -n 1 "$Q_ERR")"
else
	check_fail "no such folder: exit $Q_RC: $(head -c 300 "$Q_ERR")"
fi

# --- 6. permissions ------------------------------------------------------------
QUSER="--reuid=nobody --regid=daemon --clear-groups" q_json member "$SPOOL" part -- port 443
judge_all
QUSER="--reuid=nobody --regid=nogroup --clear-groups" q outsider -d "$SPOOL" port 443
if [ "$Q_RC" -eq 1 ] && grep -qi "permission denied" "$Q_ERR" && grep -qF "$SPOOL" "$Q_ERR"; then
	ok "outside the spool's group: exit 1: $(head -n 1 "$Q_ERR")"
else
	check_fail "outside the spool's group: exit $Q_RC, want 1 and 'permission denied' naming $SPOOL: $(head -c 300 "$Q_ERR")"
fi
# Root's queries leave the catalog the daemon's: it refuses files of another user there (catalog.h).
others=$(find "$SPOOL/.catalog" ! -user daemon -printf '%P (%u) ' 2>/dev/null || true)
if [ -z "$others" ]; then
	ok "the catalog is still the daemon user's after root's queries"
else
	check_fail "root's queries left files of another user in the catalog: $others"
fi

# --- 5. queries while the daemon writes and retention deletes -----------------
R=$WORK/spool-ret
daemon_conf "$WORK/d2.conf" "$R" 'interfaces = ["vb"]' 'linger = "0"' 'idle_timeout = "1d"' \
    'partition_files = 40' 'max_spool_size = "1M"'
sed -i 's/^user = "";/user = "daemon";\ngroup = "daemon";/' "$WORK/d2.conf"
# ret1 fills the spool past 1M at once; ret2 goes on for some 10 s, past
# the daemon's first retention pass (every 10 s), while the queries run.
"$GENCAP" -c 300 -C 30 -p 20 -s 300 -S 25 -o "$WORK/ret1.pcap" 2>/dev/null
"$GENCAP" -c 200 -C 20 -p 20 -s 300 -S 26 -o "$WORK/ret2.pcap" 2>/dev/null
daemon_start d2 "$WORK/d2.conf"
replay "$WORK/ret1.pcap"
in_ns tcpreplay -q --pps 500 -i va "$WORK/ret2.pcap" >>"$WORK/replay.log" 2>&1 &
replayer=$!
busy=0
busy_gone=0
i=0
for _ in $(seq 60); do
	if ! kill -0 "$replayer" 2>/dev/null && grep -q "retention pass: [0-9]* files" "$DAEMON_LOG"; then
		break
	fi
	i=$((i + 1))
	q busy -d "$R" -w "$WORK/busy-$i.pcap" port 80 or port 443
	if [ "$Q_RC" -ne 0 ]; then
		check_fail "a query while the daemon writes: exit $Q_RC: $(head -c 300 "$Q_ERR")"
		break
	fi
	if grep -q 'gone, skipped' "$Q_ERR"; then
		busy_gone=$((busy_gone + 1))
	fi
	# What it wrote is readable, in time order, and the summary counts it.
	if ! "$PY" - "$WORK/busy-$i.pcap" "$Q_ERR" >"$WORK/busy-$i.cmp" 2>&1 <<'PY'; then
import re, subprocess, sys
p = subprocess.run(['tshark', '-r', sys.argv[1], '-T', 'fields', '-e', 'frame.time_epoch'],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
assert p.returncode == 0, p.stderr[-300:]
ts = [int(s.replace('.', '')) for s in p.stdout.split()]
assert all(a <= b for a, b in zip(ts, ts[1:])), 'timestamps go back'
m = re.search(r'query: (\d+) flows, (\d+) packets', open(sys.argv[2]).read())
assert m, 'no summary'
assert int(m.group(2)) == len(ts), 'summary says %s packets, the file has %d' % (m.group(2), len(ts))
PY
		check_fail "a query while the daemon writes: $(tail -n 2 "$WORK/busy-$i.cmp")"
		break
	fi
	busy=$((busy + 1))
	sleep 0.2
done
wait "$replayer" || check_fail "tcpreplay failed: $(tail -n 2 "$WORK/replay.log")"
if grep -q "retention pass: [0-9]* files" "$DAEMON_LOG"; then
	ok "$busy queries while the daemon wrote and retention deleted: exit 0, in time order ($busy_gone met a file gone)"
else
	check_fail "no retention pass deleted files while the queries ran"
fi
settled || check_fail "the daemon did not settle"
# Rows reach the catalog in batches at most 250 ms old (spoolcat.c, COMMIT_NS).
sleep 0.5
# A file the catalog still names, deleted by hand: reported, skipped, the others written.
mapfile -t hits < <("$PY" "$QUERYCMP" list "$R" port 443)
if [ "${#hits[@]}" -lt 3 ]; then
	check_fail "retention left ${#hits[@]} files on port 443 (want 3 or more)"
else
	gone=${hits[1]}
	rm -f "$R/$gone"
	q_frames gone "$R" "$WORK/gone.pcap" --format pcap --want some --gone "$gone" -- -- port 443
	QUSER="--reuid=nobody --regid=daemon --clear-groups" q_json member-live "$R" some -- port 80
	judge_all
fi
daemon_stop
finish
