#!/bin/bash
# live-compat.sh: the live daemon with compat = "pcapkit" against
# traceflowd --read --compat pcapkit on the same traffic.
#
# tcpreplay sends a mixed gencap capture through a veth pair in a network
# namespace. The spool must hold the flows offline mode makes under the
# preset, packet for packet (livecmp.py): one per direction, cut at each FIN.
# Labels carry the replay's times, so only their form is checked: shortest
# times, never the fixed six decimals' trailing zeros.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd tcpreplay
need_traceflowd
need_file "$GENCAP" gencap
netns_setup

cap=$WORK/mixed.pcap
"$GENCAP" -m -c 200 -C 20 -p 8 -6 30 -S 5 -o "$cap" 2>/dev/null
off=$WORK/offline
live=$WORK/live
tf_ok offline --read "$cap" --output "$off" --compat pcapkit || finish
# The daemon keeps an idle timeout (traceflowd(8)): a long one, so that a
# slow replay splits nothing offline mode keeps whole.
daemon_conf "$WORK/tf.conf" "$live" 'compat = "pcapkit"' 'idle_timeout = "1d"'
daemon_start daemon "$WORK/tf.conf" -i vb
if ! in_ns tcpreplay -q --topspeed -i va "$cap" >"$WORK/replay" 2>&1; then
	check_fail "tcpreplay failed: $(tail -n 3 "$WORK/replay")"
fi
daemon_stop
if [ "$DAEMON_RC" -ne 0 ]; then
	fail "traceflowd exited $DAEMON_RC: $(tail -n 5 "$DAEMON_LOG")"
fi
drops=$(sed -n 's/.*vb: .* \([0-9]*\) dropped by the kernel, \([0-9]*\) by the interface/\1 \2/p' \
    "$DAEMON_LOG")
if [ "$drops" != "0 0" ]; then
	check_fail "drops (kernel, interface): '$drops'"
elif python3 "$top_srcdir/tests/livecmp.py" "$off" "$live" >"$WORK/cmp" 2>&1; then
	ok "live = offline under the preset: $(tail -n 1 "$WORK/cmp")"
else
	check_fail "$(head -n 8 "$WORK/cmp")"
fi
index_py "$live" "
n = len(E)
bad = [e['label'] for e in E
       if not re.search(r'-[0-9]+\.[0-9]+$', e['label']) or re.search(r'[0-9]0$', e['label'])
       and not e['label'].endswith('.0')]
if bad:
    sys.exit('labels without shortest times: %s' % bad[:5])
dirs = set((e['src'], e['srcport'], e['dst'], e['dstport']) for e in E)
if not any((d[2], d[3], d[0], d[1]) in dirs for d in dirs):
    sys.exit('no connection seen in both directions as two flows')
print('%d flows, shortest label times' % n)
" && ok "labels: $(cat "$live.py.out")"
finish
