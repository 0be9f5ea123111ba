#!/usr/bin/env bash
# Validate the monitoring files offline: the Prometheus rules, their unit
# tests, the PrometheusRule copy of them, and the Grafana dashboard.
#
#   .ci/monitoring.sh           (from anywhere; idempotent; promtool is cached)
#   .ci/monitoring.sh --fix     also rewrites the PrometheusRule from the rules file
#
# - promtool check rules deploy/monitoring/mxfleet-rules.yml
# - promtool test rules deploy/monitoring/mxfleet-rules.test.yml
# - deploy/k8s/components/monitoring/prometheusrule.yaml carries the same
#   groups, byte for byte (kubeconform checks its schema: .ci/manifests.sh)
# - go test -run TestMonitoring ./internal/metrics/: the dashboard and the rules
#   use only metrics the fleet exports; the dashboard is well formed.
#
# promtool: $MXFLEET_PROMTOOL, else a cached copy, else Debian's `prometheus`
# package, unpacked into the cache (`apt-get download`: nothing is installed
# and no Prometheus server is started; 19 MB, about 10 seconds), else
# `go install` from the Go module proxy (1.8 GB of modules and over half an
# hour of building on a 2-core machine: the last resort).
set -euo pipefail
cd "$(dirname "$0")/.."

PROMTOOL_GO_VERSION=v0.316.0 # github.com/prometheus/prometheus (Prometheus 3.16)
CACHE=${MXFLEET_MANIFESTS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mxfleet-manifests}
RULES=deploy/monitoring/mxfleet-rules.yml
TESTS=deploy/monitoring/mxfleet-rules.test.yml
CR=deploy/k8s/components/monitoring/prometheusrule.yaml
FIX=0; [ "${1:-}" = --fix ] && FIX=1

FAILED=0
say()  { printf 'monitoring: %s\n' "$*"; }
fail() { printf 'monitoring: FAIL: %s\n' "$*" >&2; FAILED=1; }

# ---------------------------------------------------------------- promtool
debian_promtool() { # unpack promtool from Debian's prometheus package into $1
  local tmp; tmp=$(mktemp -d)
  (
    cd "$tmp"
    if ! apt-get download prometheus >/dev/null 2>&1; then
      [ "$(id -u)" = 0 ] || exit 1
      apt-get update >/dev/null 2>&1 && apt-get download prometheus >/dev/null 2>&1
    fi
    dpkg-deb -x prometheus_*.deb x && [ -x x/usr/bin/promtool ]
  ) || { rm -rf "$tmp"; return 1; }
  mkdir -p "$1" && mv "$tmp/x/usr/bin/promtool" "$1/promtool"
  rm -rf "$tmp"
}
find_promtool() {
  if [ -n "${MXFLEET_PROMTOOL:-}" ]; then echo "$MXFLEET_PROMTOOL"; return; fi
  local deb="$CACHE/bin/promtool@debian" gobin="$CACHE/bin/promtool@$PROMTOOL_GO_VERSION"
  for p in "$deb/promtool" "$gobin/promtool"; do
    [ -x "$p" ] && { echo "$p"; return; }
  done
  if command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null; then
    say "fetching promtool from Debian's prometheus package" >&2
    debian_promtool "$deb" && { echo "$deb/promtool"; return; }
    say "Debian's prometheus package could not be fetched" >&2
  fi
  say "building promtool $PROMTOOL_GO_VERSION from the Go module proxy (slow)" >&2
  GOFLAGS=-mod=mod GOBIN="$gobin" go install "github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_GO_VERSION" >&2 &&
    { echo "$gobin/promtool"; return; }
  return 1
}
PROMTOOL=$(find_promtool) || { echo "monitoring: FAIL: no promtool (Debian's prometheus package, go install)" >&2; exit 1; }
say "promtool: $("$PROMTOOL" --version 2>&1 | head -1)"

# ---------------------------------------------------------------- rules
"$PROMTOOL" check rules "$RULES" || fail "$RULES: promtool check rules"
"$PROMTOOL" test rules "$TESTS" || fail "$TESTS: promtool test rules"

# The PrometheusRule is the rules file's groups under spec:, indented.
render_cr() {
  cat <<'EOF'
# GENERATED from deploy/monitoring/mxfleet-rules.yml by `.ci/monitoring.sh --fix`:
# edit that file, not this one (CI fails when the two differ).
# The Prometheus operator loads it when its ruleSelector matches its labels
# (see kustomization.yaml).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: mxfleet
  labels: {app.kubernetes.io/name: mxfleet, app.kubernetes.io/component: worker}
spec:
EOF
  sed -n '/^groups:/,$p' "$RULES" | sed 's/^\(.\)/  \1/'
}
if [ "$FIX" = 1 ]; then
  render_cr >"$CR" && say "$CR: rewritten from $RULES"
elif ! diff -u "$CR" <(render_cr) >&2; then
  fail "$CR differs from $RULES: run .ci/monitoring.sh --fix"
fi

# ---------------------------------------------------------------- metric names, dashboard
# Every dashboard query must parse as PromQL: promtool checks them as
# recording rules, Grafana's variables replaced by plain values.
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
python3 - deploy/monitoring/mxfleet-dashboard.json >"$TMP/dashboard-rules.json" <<'PY' || fail "dashboard: unreadable"
import json, sys
d = json.load(open(sys.argv[1]))
subst = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "${namespace}": ".*", "$namespace": ".*"}
rules = []
def walk(panels):
    for p in panels:
        walk(p.get("panels", []))
        for t in p.get("targets", []):
            e = t["expr"]
            for k, v in subst.items():
                e = e.replace(k, v)
            rules.append({"record": f"dashboard:panel_{p['id']}_{t['refId']}", "expr": e})
walk(d["panels"])
json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, sys.stdout, indent=1)
PY
"$PROMTOOL" check rules "$TMP/dashboard-rules.json" >/dev/null || fail "dashboard: a query is not valid PromQL (above)"

go test -count=1 -run '^TestMonitoring' ./internal/metrics/ || fail "dashboard/rules metric names (internal/metrics TestMonitoring*)"

if [ "$FAILED" != 0 ]; then
  echo "monitoring: FAILED" >&2
  exit 1
fi
say "rules, rule tests, PrometheusRule and dashboard valid"
