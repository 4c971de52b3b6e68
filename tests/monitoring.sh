#!/bin/bash
# monitoring.sh: the Grafana dashboard and the Prometheus alert rules of
# contrib/ watch the metrics the daemon really exports (issue 26).
#  - promtool check rules passes contrib/prometheus/traceflow-alerts.yml and
#    promtool test rules its unit tests, traceflow-alerts.test.yml; every
#    alert of the rules has a case there where it fires and one where it
#    stays silent.
#  - contrib/grafana/traceflow-dashboard.json parses (jq); it has a
#    "datasource" variable of type prometheus and an "instance" variable;
#    every panel but a row reads that datasource and has at least one target
#    with an expression, whose every selector is limited to $instance.
#  - A live daemon with metrics_listen and IPFIX export on (so that every
#    family is there) is scraped, and every metric name in the dashboard's
#    expressions and variables, in the rules and in the series of their
#    unit tests is in the scrape, with every label matched or grouped by
#    (Prometheus adds instance and job; up is Prometheus's own): neither can
#    drift from src/metrics.c. An identifier that is neither a PromQL
#    function or keyword nor a metric of the scrape is reported, so a
#    misspelled name fails whatever its prefix.
# Needs promtool, jq and python3 with yaml; the scrape needs root (a network
# namespace): without it the rest runs and the test then skips.

set -eu
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

need_cmd promtool
need_cmd jq
need_cmd python3
python3 -c 'import yaml' 2>/dev/null || skip "python3's yaml module is not installed (python3-yaml)"
need_file "$TRACEFLOWD" traceflowd

dash=${DASHBOARD:-$top_srcdir/contrib/grafana/traceflow-dashboard.json}
rules=${RULES:-$top_srcdir/contrib/prometheus/traceflow-alerts.yml}
rtests=${RULE_TESTS:-$top_srcdir/contrib/prometheus/traceflow-alerts.test.yml}

# --- the rules, by promtool ----------------------------------------------------
if promtool check rules "$rules" >"$WORK/check.out" 2>&1; then
	ok "promtool check rules: $(grep -o '[0-9]* rules found' "$WORK/check.out")"
else
	check_fail "promtool check rules $rules: $(head -n 20 "$WORK/check.out")"
fi
# promtool reads rule_files relative to the test file: both in one folder.
cp "$rules" "$rtests" "$WORK/"
if (cd "$WORK" && promtool test rules "${rtests##*/}") >"$WORK/test.out" 2>&1; then
	ok "promtool test rules: $(tr -s ' \n' ' ' <"$WORK/test.out")"
else
	check_fail "promtool test rules: $(head -n 40 "$WORK/test.out")"
fi
if python3 - "$rules" "$rtests" >"$WORK/cases.out" 2>&1 <<'EOF'; then
import sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))
tests = yaml.safe_load(open(sys.argv[2]))
alerts = [r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r]
fires, silent = set(), set()
for t in tests["tests"]:
    for c in t.get("alert_rule_test", []):
        (fires if c.get("exp_alerts") else silent).add(c["alertname"])
bad = ["%s: no case where it fires" % a for a in alerts if a not in fires]
bad += ["%s: no case where it stays silent" % a for a in alerts if a not in silent]
bad += ["%s: tested, but no such alert" % a for a in sorted((fires | silent) - set(alerts))]
for r in (r for g in rules["groups"] for r in g["rules"] if "alert" in r):
    if r.get("labels", {}).get("severity") not in ("warning", "critical"):
        bad.append("%s: severity %r" % (r["alert"], r.get("labels", {}).get("severity")))
    if not {"summary", "description"} <= set(r.get("annotations", {})):
        bad.append("%s: no summary or description" % r["alert"])
if bad:
    sys.exit("\n".join(bad))
print("%d alerts, each firing in a case and silent in another" % len(alerts))
EOF
	ok "rule tests: $(cat "$WORK/cases.out")"
else
	check_fail "rule tests: $(cat "$WORK/cases.out")"
fi

# --- the dashboard, by its structure -----------------------------------------------
if ! jq -e . "$dash" >/dev/null 2>"$WORK/jq.err"; then
	check_fail "$dash does not parse: $(cat "$WORK/jq.err")"
else
	jq -r '
	  def ds: (.datasource // {}) | (.uid // "") ;
	  (.templating.list // []) as $v
	  | (if any($v[]; .name == "datasource" and .type == "datasource" and .query == "prometheus")
	     then empty else "no datasource variable of type prometheus" end),
	    (if any($v[]; .name == "instance") then empty else "no instance variable" end),
	    (if (.panels | length) == 0 then "no panels" else empty end),
	    ([.panels[], (.panels[] | .panels[]?)] | .[]
	     | select(.type != "row")
	     | . as $p
	     | (if ($p | ds) == "${datasource}" then empty
	        else "panel \"\($p.title)\": datasource \($p.datasource)" end),
	       (if (($p.targets // []) | length) == 0 then "panel \"\($p.title)\": no target" else empty end),
	       ($p.targets // [] | .[]
	        | (if ((.expr // "") | length) == 0 then "panel \"\($p.title)\" target \(.refId): no expr" else empty end),
	          (if ds == "${datasource}" then empty
	           else "panel \"\($p.title)\" target \(.refId): datasource \(.datasource)" end)))
	' "$dash" >"$WORK/dash.bad"
	if [ -s "$WORK/dash.bad" ]; then
		check_fail "dashboard: $(head -n 20 "$WORK/dash.bad")"
	else
		ok "dashboard: parses; $(jq '[.panels[] | select(.type != "row")] | length' "$dash") panels, each with the datasource variable and a target"
	fi
fi

# --- the names, against a real scrape -----------------------------------------------
if [ "$failures" -ne 0 ]; then
	fail "$failures check(s) failed before the scrape"
fi
[ "$(id -u)" -eq 0 ] || skip "the scrape of a live daemon needs root (the rest passed)"
need_cmd curl
netns_setup
daemon_conf "$WORK/d.conf" "$WORK/spool" 'interfaces = ["vb"]' \
    'metrics_listen = "127.0.0.1:9464"' 'ipfix_collector = "127.0.0.1:4739"'
daemon_start d "$WORK/d.conf"
in_ns curl -sS -o "$WORK/metrics.txt" http://127.0.0.1:9464/metrics ||
    fail "curl /metrics failed: $(tail -n 3 "$DAEMON_LOG")"
daemon_stop
[ "$DAEMON_RC" -eq 0 ] || check_fail "traceflowd exited $DAEMON_RC: $(tail -n 5 "$DAEMON_LOG")"

if python3 - "$WORK/metrics.txt" "$dash" "$rules" "$rtests" >"$WORK/names.out" 2>&1 <<'EOF'; then
import json, re, sys, yaml

# The scrape: each metric's label names.
scraped = {}
for line in open(sys.argv[1]):
    if line.startswith("#") or not line.strip():
        continue
    m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ', line)
    scraped.setdefault(m.group(1), set()).update(re.findall(r'([a-zA-Z_]\w*)="', m.group(2) or ""))
TARGET = {"instance", "job"}             # labels Prometheus adds to every series
OWN = {"up": {"instance", "job"}}        # series Prometheus makes itself
all_labels = set().union(*scraped.values()) | TARGET

FUNCS = set("""abs absent absent_over_time avg avg_over_time bottomk ceil changes clamp clamp_max
clamp_min count count_over_time count_values day_of_month day_of_week day_of_year days_in_month
delta deriv exp floor group histogram_quantile holt_winters hour idelta increase irate
label_join label_replace last_over_time ln log10 log2 max max_over_time min min_over_time minute
month predict_linear present_over_time quantile quantile_over_time rate resets round scalar sgn
sort sort_desc sqrt stddev stddev_over_time stdvar stdvar_over_time sum sum_over_time time
timestamp topk vector year label_values""".split())
AGGREGATIONS = set("""avg bottomk count count_values group max min quantile stddev stdvar sum
topk""".split())
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
WORDS = {"and", "or", "unless", "bool", "offset"}
TOKEN = re.compile(r'''
    (?P<ws>\s+) | (?P<comment>\#[^\n]*) | (?P<str>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')
  | (?P<range>\[[^\]]*\]) | (?P<brace>\{[^}]*\}) | (?P<var>\$\{[^}]*\}|\$\w+)
  | (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:ms|[smhdwy])?)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*) | (?P<op>.)''', re.X | re.S)

def scan(expr, where, bad, used, instance_needed):
    toks = [(m.lastgroup, m.group()) for m in TOKEN.finditer(expr)
            if m.lastgroup not in ("ws", "comment")]
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else (None, None)
        if kind == "ident" and text in GROUPING:
            i += 1
            if nxt == ("op", "("):
                j = i + 1
                while toks[j] != ("op", ")"):
                    if toks[j][0] == "ident" and toks[j][1] not in all_labels:
                        bad.append("%s: %s (%s): no metric has a label %s"
                                   % (where, text, expr.strip()[:60], toks[j][1]))
                    j += 1
                i = j + 1
            continue
        if kind == "ident" and text in AGGREGATIONS and nxt in (("ident", "by"), ("ident", "without")):
            i += 1  # sum by (...) (...): the grouping, then the argument
            continue
        if kind == "ident" and nxt == ("op", "("):
            if text not in FUNCS:
                bad.append("%s: %s( is no PromQL function" % (where, text))
            if text == "label_values":
                # label_values(metric, label): Grafana's variable query.
                j = toks.index(("op", ")"), i)
                args = [t for k, t in toks[i + 2:j] if k == "ident"]
                if len(args) != 2 or args[1] not in all_labels:
                    bad.append("%s: label_values(%s)" % (where, ", ".join(args)))
                if args:
                    scan(args[0], where, bad, used, False)
                i = j + 1
                continue
            i += 1
            continue
        if kind == "ident" and text not in WORDS:
            used.add(text)
            labels = scraped.get(text, OWN.get(text))
            if labels is None:
                bad.append("%s: %s is not in the scrape" % (where, text))
            matchers = nxt[1] if nxt[0] == "brace" else "{}"
            for l in re.findall(r'([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)', matchers):
                if labels is not None and l not in labels | TARGET:
                    bad.append("%s: %s has no label %s" % (where, text, l))
            if instance_needed and text.startswith("traceflow_") and \
                    not re.search(r'instance\s*=~\s*"\$instance"', matchers):
                bad.append('%s: %s is not limited to instance=~"$instance"' % (where, text))
        i += 1

bad, used = [], set()
dash = json.load(open(sys.argv[2]))
panels = dash["panels"] + [p for r in dash["panels"] for p in r.get("panels", [])]
n = 0
for p in panels:
    for t in p.get("targets", []):
        scan(t.get("expr", ""), "dashboard \"%s\" %s" % (p.get("title"), t.get("refId")),
             bad, used, True)
        n += 1
for v in dash.get("templating", {}).get("list", []):
    q = v.get("query")
    q = q.get("query", "") if isinstance(q, dict) else q or ""
    if v.get("type") == "query":
        scan(q, "dashboard variable %s" % v["name"], bad, used, False)
        scan(v.get("definition", ""), "dashboard variable %s" % v["name"], bad, used, False)
rules = yaml.safe_load(open(sys.argv[3]))
for g in rules["groups"]:
    for r in g["rules"]:
        scan(r["expr"], "rule %s" % r.get("alert", r.get("record")), bad, used, False)
        n += 1
tests = yaml.safe_load(open(sys.argv[4]))
for t in tests["tests"]:
    for s in t.get("input_series", []):
        scan(s["series"], "rule test series", bad, used, False)
        n += 1
if bad:
    sys.exit("\n".join(sorted(set(bad))))
print("%d expressions and series name %d metrics, each in the scrape of %d: %s" % (
    n, len(used), len(scraped), " ".join(sorted(used))))
EOF
	ok "$(cat "$WORK/names.out")"
else
	check_fail "names the scrape lacks: $(head -n 30 "$WORK/names.out")"
fi
finish
