#!/bin/bash
# capture-settings.sh: the capture settings only the live daemon applies,
# each checked on what a user sees, in both of its states.
#
#  1. promisc: true (the default) puts the interface into promiscuous mode
#     while the daemon captures (ip -d link: promiscuity 1), false does not
#     (promiscuity 0); either way none is left after the daemon stops.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd tcpreplay
need_traceflowd
need_file "$GENCAP" gencap
TRACEFLOWCTL=${TRACEFLOWCTL:-$top_builddir/traceflowctl}
need_file "$TRACEFLOWCTL" traceflowctl
netns_setup

ctl() { "$TRACEFLOWCTL" -s "$WORK/ctl.sock" "$@"; }

# promiscuity: the interface's promiscuous-mode count (ip -d link).
promiscuity() {
	ip -n "$NS" -d link show vb | sed -n 's/.* promiscuity \([0-9]*\).*/\1/p' | head -n 1
}

# --- 1. promisc ------------------------------------------------------------
for p in true false; do
	spool=$WORK/spool-promisc-$p
	daemon_conf "$WORK/p-$p.conf" "$spool" 'interfaces = ["vb"]' "promisc = $p"
	before=$(promiscuity)
	daemon_start "promisc-$p" "$WORK/p-$p.conf"
	wait_for "$DAEMON_LOG" "vb: capturing" 5 || check_fail "promisc = $p: vb not captured"
	during=$(promiscuity)
	daemon_stop
	after=$(promiscuity)
	want=0
	[ "$p" = true ] && want=1
	if [ "$before" != 0 ] || [ "$during" != "$want" ] || [ "$after" != 0 ]; then
		check_fail "promisc = $p: promiscuity $before before, $during while capturing (want $want), $after after"
	else
		ok "promisc = $p: promiscuity $during while capturing, 0 after"
	fi
done

finish
