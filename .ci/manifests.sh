#!/usr/bin/env bash
# Validate the deployment files offline: the Dockerfile, deploy/compose.yaml
# and every kustomize overlay under deploy/k8s/overlays.
#
#   .ci/manifests.sh            (from anywhere; idempotent; tools and schemas are cached)
#
# Tools come from the Go module proxy (no GitHub downloads): kubeconform and
# kustomize via `go install`, the Kubernetes JSON schemas are generated from
# the OpenAPI document in the k8s.io/kubernetes module, KEDA's from the CRDs in
# the github.com/kedacore/keda/v2 module, the Prometheus operator's
# (PrometheusRule, PodMonitor: components/monitoring) from the CRDs in the
# github.com/prometheus-operator/prometheus-operator module, the compose schema from
# github.com/compose-spec/compose-go/v2. Anything that cannot be checked is
# reported as SKIPPED with the reason; any real error exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

KUBECONFORM_VERSION=v0.8.0
KUSTOMIZE_VERSION=v5.8.1
K8S_VERSION=v1.34.4          # schemas: k8s.io/kubernetes api/openapi-spec/swagger.json
KEDA_VERSION=v2.16.1         # schemas: keda.sh CRDs (ScaledObject, TriggerAuthentication)
COMPOSE_GO_VERSION=v2.10.1   # schema: compose-spec.json
PROMOP_VERSION=v0.85.0       # schemas: monitoring.coreos.com CRDs (PrometheusRule, PodMonitor)

CACHE=${MXFLEET_MANIFESTS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mxfleet-manifests}
mkdir -p "$CACHE"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-auto}

FAILED=0
SKIPPED=()
say()  { printf 'manifests: %s\n' "$*"; }
fail() { printf 'manifests: FAIL: %s\n' "$*" >&2; FAILED=1; }
skip() { printf 'manifests: SKIPPED: %s\n' "$*" >&2; SKIPPED+=("$*"); }

# moddir MODULE@VERSION: the module's directory in the module cache (downloads it).
moddir() { (cd "$TMP" && go mod download -json "$1" 2>/dev/null) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'; }

# ---------------------------------------------------------------- tools
# gotool NAME PKG VERSION: install once into $CACHE/bin/NAME@VERSION/ and echo the path.
gotool() {
  local dir="$CACHE/bin/$1@$3"
  if [ ! -x "$dir/$1" ]; then
    say "installing $2@$3" >&2
    GOBIN="$dir" go install "$2@$3" >&2 || return 1
  fi
  echo "$dir/$1"
}
KUBECONFORM=$(gotool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION") ||
  { echo "manifests: FAIL: cannot install kubeconform $KUBECONFORM_VERSION from the Go module proxy" >&2; exit 1; }
if KUSTOMIZE_BIN=$(gotool kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION"); then
  kbuild() { "$KUSTOMIZE_BIN" build "$1"; }
  KUSTOMIZE_DESC="kustomize $KUSTOMIZE_VERSION"
elif command -v kubectl >/dev/null 2>&1; then
  kbuild() { kubectl kustomize "$1"; }
  KUSTOMIZE_DESC="kubectl kustomize ($(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: //p'))"
  say "kustomize $KUSTOMIZE_VERSION did not install: falling back to $KUSTOMIZE_DESC"
else
  echo "manifests: FAIL: kustomize $KUSTOMIZE_VERSION did not install and kubectl is absent: cannot render deploy/k8s" >&2
  exit 1
fi
HAVE_YAML=0; python3 -c 'import yaml' 2>/dev/null && HAVE_YAML=1
HAVE_JSONSCHEMA=0; python3 -c 'import jsonschema' 2>/dev/null && HAVE_JSONSCHEMA=1

# ---------------------------------------------------------------- schemas
# kubeconform layout: <kind>-<group>-<version>.json (core: <kind>-<version>.json),
# "strict": every object closed (additionalProperties: false), as kubeconform -strict
# expects. Generated once per version into $CACHE/schemas/.
SCHEMAS="$CACHE/schemas/k8s-$K8S_VERSION+keda-$KEDA_VERSION+promop-$PROMOP_VERSION"
gen_schemas() {
  local k8s keda promop out="$SCHEMAS.tmp"
  k8s=$(moddir "k8s.io/kubernetes@$K8S_VERSION") && [ -f "$k8s/api/openapi-spec/swagger.json" ] || return 1
  rm -rf "$out"; mkdir -p "$out"
  local crds=()
  if [ "$HAVE_YAML" = 1 ] && keda=$(moddir "github.com/kedacore/keda/v2@$KEDA_VERSION") && [ -d "$keda/config/crd/bases" ]; then
    crds=("$keda"/config/crd/bases/*.yaml)
  fi
  if [ "$HAVE_YAML" = 1 ] && promop=$(moddir "github.com/prometheus-operator/prometheus-operator@$PROMOP_VERSION") &&
    [ -f "$promop/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml" ]; then
    crds+=("$promop"/example/prometheus-operator-crd/monitoring.coreos.com_{prometheusrules,podmonitors}.yaml)
  fi
  python3 - "$k8s/api/openapi-spec/swagger.json" "$out" "${crds[@]}" <<'PY' || return 1
import copy, json, os, sys

swagger, out, crds = sys.argv[1], sys.argv[2], sys.argv[3:]
INT_OR_STRING = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
QUANTITY = {"oneOf": [{"type": "string"}, {"type": "number"}]}

def fix(node):
    """OpenAPI -> strict JSON schema (draft 4, as kubeconform compiles it)."""
    if isinstance(node, list):
        return [fix(n) for n in node]
    if not isinstance(node, dict):
        return node
    if node.get("format") == "int-or-string" or node.get("x-kubernetes-int-or-string"):
        return dict(INT_OR_STRING, description=node.get("description", ""))
    n = {k: fix(v) for k, v in node.items() if k not in ("properties", "definitions")}
    for k in ("properties", "definitions"):
        if k in node:
            n[k] = {p: fix(s) for p, s in node[k].items()}
    if "properties" in n and "additionalProperties" not in n and not n.get("x-kubernetes-preserve-unknown-fields"):
        n["additionalProperties"] = False
    if n.get("nullable") and isinstance(n.get("type"), str):
        n["type"] = [n["type"], "null"]
    return n

def refs(node, acc):
    if isinstance(node, dict):
        r = node.get("$ref")
        if isinstance(r, str) and r.startswith("#/definitions/"):
            acc.add(r[len("#/definitions/"):])
        for v in node.values():
            refs(v, acc)
    elif isinstance(node, list):
        for v in node:
            refs(v, acc)

def name(kind, group, version):
    g = group.split(".")[0].lower()
    return (f"{kind.lower()}-{g}-{version}" if g else f"{kind.lower()}-{version}").lower() + ".json"

defs = json.load(open(swagger))["definitions"]
defs["io.k8s.apimachinery.pkg.api.resource.Quantity"] = QUANTITY
defs = {k: fix(v) for k, v in defs.items()}
n = 0
for dname, d in defs.items():
    for gvk in d.get("x-kubernetes-group-version-kind", []):
        seen, todo = set(), [dname]
        while todo:
            cur = todo.pop()
            if cur in seen or cur not in defs:
                continue
            seen.add(cur)
            acc = set(); refs(defs[cur], acc); todo.extend(acc - seen)
        root = copy.deepcopy(d)
        root["definitions"] = {k: defs[k] for k in seen}
        for f, want in (("kind", gvk["kind"]), ("apiVersion", (gvk["group"] + "/" if gvk["group"] else "") + gvk["version"])):
            if f in root.get("properties", {}):
                root["properties"][f] = dict(root["properties"][f], enum=[want])
        json.dump(root, open(os.path.join(out, name(gvk["kind"], gvk["group"], gvk["version"])), "w"))
        n += 1

if crds:
    import yaml
    for path in crds:
        crd = yaml.safe_load(open(path))
        spec = crd["spec"]
        for v in spec["versions"]:
            s = fix(v["schema"]["openAPIV3Schema"])
            props = s.setdefault("properties", {})
            props["metadata"] = {"$ref": "#/definitions/meta"}
            s["definitions"] = {"meta": defs["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]}
            acc = set(); refs(s["definitions"]["meta"], acc)
            # ObjectMeta's own references, rewritten into this file.
            seen, todo = set(), list(acc)
            while todo:
                cur = todo.pop()
                if cur in seen: continue
                seen.add(cur); a = set(); refs(defs[cur], a); todo.extend(a - seen)
            s["definitions"].update({k: defs[k] for k in seen})
            json.dump(s, open(os.path.join(out, name(spec["names"]["kind"], spec["group"], v["name"])), "w"))
            n += 1
print(f"manifests: generated {n} schemas", file=sys.stderr)
PY
  rm -rf "$SCHEMAS"; mv "$out" "$SCHEMAS"
}
if [ ! -f "$SCHEMAS/deployment-apps-v1.json" ]; then
  say "generating JSON schemas (Kubernetes $K8S_VERSION, KEDA $KEDA_VERSION, Prometheus operator $PROMOP_VERSION)"
  gen_schemas || { rm -rf "$SCHEMAS"; skip "Kubernetes schemas: k8s.io/kubernetes@$K8S_VERSION not downloadable from the Go module proxy; kubeconform schema validation not run"; }
fi
KUBECONFORM_ARGS=(-strict -summary -schema-location "$SCHEMAS/{{ .ResourceKind }}{{ .KindSuffix }}.json")
SKIP_KINDS=()
if [ -d "$SCHEMAS" ] && [ ! -f "$SCHEMAS/scaledobject-keda-v1alpha1.json" ]; then
  SKIP_KINDS+=(ScaledObject TriggerAuthentication)
  skip "KEDA ScaledObject/TriggerAuthentication schemas: need PyYAML and github.com/kedacore/keda/v2@$KEDA_VERSION; those kinds are rendered but not schema-checked"
fi
if [ -d "$SCHEMAS" ] && [ ! -f "$SCHEMAS/prometheusrule-monitoring-v1.json" ]; then
  SKIP_KINDS+=(PrometheusRule PodMonitor)
  skip "PrometheusRule/PodMonitor schemas: need PyYAML and github.com/prometheus-operator/prometheus-operator@$PROMOP_VERSION; those kinds are rendered but not schema-checked"
fi
[ ${#SKIP_KINDS[@]} -eq 0 ] || KUBECONFORM_ARGS+=(-skip "$(IFS=,; echo "${SKIP_KINDS[*]}")")
conform() { # conform NAME < manifests
  if [ -d "$SCHEMAS" ]; then
    "$KUBECONFORM" "${KUBECONFORM_ARGS[@]}" -output text - || fail "$1: kubeconform"
  else
    cat >/dev/null
  fi
}

# ---------------------------------------------------------------- kubernetes
KNOWN_VARS=$(grep -o 'envconfig:"[A-Z_]*"' internal/fleet/config.go | sed 's/envconfig:"\(.*\)"/MXFLEET_\1/' | sort -u)
check_vars() { # every MXFLEET_* in a file must be a variable internal/fleet/config.go reads
  local f v
  for f in "$@"; do
    for v in $(grep -oh 'MXFLEET_[A-Z_]*[A-Z]' "$f" | sort -u); do
      grep -qx "$v" <<<"$KNOWN_VARS" || fail "$f: $v is not a setting of internal/fleet/config.go"
    done
  done
}

# Policy checks on a rendered overlay (needs PyYAML).
policy() { # policy NAME FILE
  [ "$HAVE_YAML" = 1 ] || return 0
  python3 - "$1" "$2" deploy/k8s/base/secret.example.yaml <<'PY' || fail "$1: policy checks"
import re, sys, yaml
name, path, secret_path = sys.argv[1:]
docs = [d for d in yaml.safe_load_all(open(path)) if d]
secret_keys = set(yaml.safe_load(open(secret_path))["stringData"])
errs = []
kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
cms = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
services = {d["metadata"]["name"] for d in docs if d["kind"] == "Service"}
def dur(s):
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1, "ms": .001}[u] for n, u in re.findall(r"([\d.]+)(ms|h|m|s)", s))
if ("ScaledObject", "mxfleet-worker") in kinds and ("HorizontalPodAutoscaler", "mxfleet-worker") in kinds:
    errs.append("both KEDA and the HPA scale mxfleet-worker: use one component")
if not any(k in kinds for k in [("ScaledObject", "mxfleet-worker"), ("HorizontalPodAutoscaler", "mxfleet-worker")]):
    errs.append("no autoscaler for mxfleet-worker: add ../../components/keda or ../../components/hpa")
if "NAMESPACE" in open(path).read():
    errs.append("placeholder NAMESPACE left (KEDA query): set `namespace:` and the `replacements` of overlays/example")
for d in docs:
    if d["kind"] not in ("Deployment", "StatefulSet"):
        continue
    n, pod = d["metadata"]["name"], d["spec"]["template"]["spec"]
    for c in pod["containers"]:
        sc, where = c.get("securityContext", {}), f'{n}/{c["name"]}'
        if not (sc.get("runAsNonRoot") or pod.get("securityContext", {}).get("runAsNonRoot")):
            errs.append(f"{where}: not runAsNonRoot")
        if not sc.get("readOnlyRootFilesystem") or sc.get("allowPrivilegeEscalation") is not False \
                or "ALL" not in sc.get("capabilities", {}).get("drop", []):
            errs.append(f"{where}: want readOnlyRootFilesystem, allowPrivilegeEscalation false, drop ALL")
        if "requests" not in c.get("resources", {}) or "readinessProbe" not in c or "livenessProbe" not in c:
            errs.append(f"{where}: want resources.requests, readiness and liveness probes")
        for ef in c.get("envFrom", []):
            if "configMapRef" in ef and ef["configMapRef"]["name"] not in cms:
                errs.append(f'{where}: ConfigMap {ef["configMapRef"]["name"]} not rendered')
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref and (ref["name"] != "mxfleet" or ref["key"] not in secret_keys):
                errs.append(f'{where}: secret {ref["name"]}/{ref["key"]} is not in secret.example.yaml')
        if c.get("args", [None])[0] == "worker":
            env = dict(cms.get("mxfleet-config", {}))
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
            if env.get("MXFLEET_METRICS_ADDR", "").rsplit(":", 1)[-1] != "9090" or ports.get("metrics") != 9090:
                errs.append(f"{where}: want MXFLEET_METRICS_ADDR 0.0.0.0:9090 and port metrics 9090")
            if c["readinessProbe"].get("httpGet", {}).get("path") != "/readyz" or c["livenessProbe"].get("httpGet", {}).get("path") != "/healthz":
                errs.append(f"{where}: want readiness /readyz and liveness /healthz")
            grace = pod.get("terminationGracePeriodSeconds", 30)
            if grace <= dur(env.get("MXFLEET_SHUTDOWN_TIMEOUT", "25s")):
                errs.append(f"{where}: terminationGracePeriodSeconds {grace} not above MXFLEET_SHUTDOWN_TIMEOUT")
        if c.get("args", [None])[0] == "api" and cms.get("mxfleet-config", {}).get("MXFLEET_API_ADDR", "").rsplit(":", 1)[-1] != "8080":
            errs.append(f"{where}: want MXFLEET_API_ADDR 0.0.0.0:8080")
workers_ns = {d["metadata"].get("namespace") for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "mxfleet-worker"}
if "databaseIndex" in open(path).read():
    errs.append("a manifest hard-codes a Redis databaseIndex: the Secret's redis-url alone names the Redis and its database")
for d in docs:
    if d["kind"] != "ScaledObject":
        continue
    for t in d["spec"].get("triggers", []):
        md, where = t.get("metadata", {}), f'ScaledObject {d["metadata"]["name"]}'
        if t.get("type") != "prometheus":
            errs.append(f'{where}: trigger {t.get("type")}: want prometheus on mxfleet_asynq_tasks_due (a redis list trigger sees no scheduled poll or retry)')
            continue
        q = md.get("query", "")
        if not re.fullmatch(r"sum\(max by \(queue\) \(mxfleet_asynq_tasks_due\{namespace=\"([a-z0-9-]+)\"\}\)\)", q) \
                or re.search(r'namespace="([^"]*)"', q).group(1) not in workers_ns:
            errs.append(f'{where}: query {q!r}: want sum(max by (queue) (mxfleet_asynq_tasks_due{{namespace="<the workers\' namespace>"}})) (every queue, fleet-wide gauge taken once)')
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", md.get("serverAddress", "")):
            errs.append(f'{where}: serverAddress {md.get("serverAddress")!r} is not an http(s) URL')
        if not md.get("threshold", "").isdigit() or md.get("ignoreNullValues") != "false":
            errs.append(f'{where}: want a numeric threshold and ignoreNullValues "false" (no scrape is not zero work)')
    if "fallback" not in d["spec"]:
        errs.append(f'ScaledObject {d["metadata"]["name"]}: want a fallback replica count for when Prometheus does not answer')
# asynqmon: read-only, and reached only through an authenticating proxy.
mons = [d for d in docs if d["kind"] == "Deployment" and any(c["image"].startswith("hibiken/asynqmon:") for c in d["spec"]["template"]["spec"]["containers"])]
for d in mons:
    n, pod = d["metadata"]["name"], d["spec"]["template"]["spec"]
    mon = next(c for c in pod["containers"] if c["image"].startswith("hibiken/asynqmon:"))
    env = {e["name"]: e.get("value") for e in mon.get("env", [])}
    args = mon.get("args", [])
    if not (env.get("READ_ONLY") == "true" or "--read-only" in args or "--read-only=true" in args) \
            or "--read-only=false" in args:
        errs.append(f"{n}: asynqmon not read-only: set READ_ONLY \"true\" (asynqmon's --read-only)")
    if mon.get("ports"):
        errs.append(f"{n}: asynqmon declares ports: only its proxy may have one")
    proxies = [c for c in pod["containers"] if c is not mon]
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    for svc in (s for s in docs if s["kind"] == "Service" and s["spec"].get("selector") and
                all(d["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in s["spec"]["selector"].items())):
        for sp in svc["spec"]["ports"]:
            tp = sp.get("targetPort", sp["port"])
            hit = [c for c in proxies for p in c.get("ports", []) if tp in (p.get("name"), p["containerPort"])]
            if not hit or tp in (env.get("PORT"), int(env.get("PORT") or 8080)):
                errs.append(f'Service {svc["metadata"]["name"]}: targetPort {tp} does not reach the proxy in front of asynqmon')
    authed = [c for c in proxies if any(vols.get(m["name"], {}).get("secret") for m in c.get("volumeMounts", []))]
    confs = [cms.get(v["configMap"]["name"], {}) for c in proxies for m in c.get("volumeMounts", [])
             for v in [vols.get(m["name"], {})] if "configMap" in v]
    port = env.get("PORT") or "8080"
    if not authed or not any(re.search(r"auth_basic_user_file ", t) and re.search(r"limit_except GET \{ deny all; \}", t)
                             and f"proxy_pass http://127.0.0.1:{port};" in t for c in confs for t in c.values()):
        errs.append(f"{n}: want a proxy with basic auth from a Secret, GET only, in front of asynqmon (127.0.0.1:{port})")
    if not any(p["kind"] == "NetworkPolicy" and p["spec"]["podSelector"].get("matchLabels") == d["spec"]["selector"]["matchLabels"] and
               {pt.get("port") for r in p["spec"].get("ingress", []) for pt in r.get("ports", [])} ==
               {pp["containerPort"] for c in proxies for pp in c.get("ports", [])} for p in docs):
        errs.append(f"{n}: want a NetworkPolicy admitting only the proxy's port")
for d in docs:
    for v in (d.get("spec", {}).get("template", {}).get("spec", {}).get("volumes", []) if d["kind"] in ("Deployment", "StatefulSet") else []):
        sec = v.get("secret")
        if sec and (sec.get("secretName") != "mxfleet" or any(i["key"] not in secret_keys for i in sec.get("items", []))):
            errs.append(f'{d["metadata"]["name"]}: volume {v["name"]}: secret keys not in secret.example.yaml')
pods = [(d["spec"]["template"]["metadata"].get("labels", {}), {p.get("name") for c in d["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])})
        for d in docs if d["kind"] in ("Deployment", "StatefulSet")]
for d in docs:
    if d["kind"] != "PodMonitor":
        continue
    sel = d["spec"].get("selector", {}).get("matchLabels", {})
    hits = [ports for labels, ports in pods if sel and all(labels.get(k) == v for k, v in sel.items())]
    if not hits:
        errs.append(f'PodMonitor {d["metadata"]["name"]}: selects no rendered pod')
    for ep in d["spec"].get("podMetricsEndpoints", []):
        if any(ep.get("port") not in ports for ports in hits):
            errs.append(f'PodMonitor {d["metadata"]["name"]}: port {ep.get("port")} is not a named port of the pods it selects')
base = cms.get("mxfleet-config", {}).get("MXFLEET_MX_BASE_URL", "")
m = re.match(r"http://([a-z0-9-]+):", base)
if m and m.group(1) not in services:
    errs.append(f"MXFLEET_MX_BASE_URL {base}: no Service {m.group(1)}")
for e in errs:
    print(f"manifests: FAIL: {name}: {e}", file=sys.stderr)
sys.exit(1 if errs else 0)
PY
}

shopt -s nullglob
overlays=(deploy/k8s/overlays/*/)
[ ${#overlays[@]} -gt 0 ] || fail "no overlays under deploy/k8s/overlays"
check_vars deploy/k8s/base/*.yaml deploy/k8s/components/*/*.yaml deploy/k8s/overlays/*/*.yaml deploy/compose.yaml Dockerfile \
  deploy/monitoring/*.yml
for dir in deploy/k8s/base/ "${overlays[@]}"; do
  name=${dir%/}; name=${name#deploy/k8s/}
  if ! kbuild "$dir" >"$TMP/out.yaml" 2>"$TMP/err"; then
    fail "$name: kustomize build: $(cat "$TMP/err")"; continue
  fi
  say "$name: rendered $(grep -c '^kind:' "$TMP/out.yaml") objects"
  conform "$name" <"$TMP/out.yaml"
  [ "$name" = base ] || policy "$name" "$TMP/out.yaml"
done
conform "base/secret.example.yaml" <deploy/k8s/base/secret.example.yaml

# The two autoscaler components agree: same bounds, same slow scale-down.
if [ "$HAVE_YAML" = 1 ]; then
  python3 - deploy/k8s/components/keda/scaledobject.yaml deploy/k8s/components/hpa/hpa.yaml <<'PY' || fail "components keda/hpa disagree"
import sys, yaml
so = next(d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "ScaledObject")["spec"]
hpa = yaml.safe_load(open(sys.argv[2]))["spec"]
errs = []
if (so["minReplicaCount"], so["maxReplicaCount"]) != (hpa["minReplicas"], hpa["maxReplicas"]):
    errs.append(f'bounds: KEDA {so["minReplicaCount"]}-{so["maxReplicaCount"]}, HPA {hpa["minReplicas"]}-{hpa["maxReplicas"]}')
if so["advanced"]["horizontalPodAutoscalerConfig"]["behavior"] != hpa.get("behavior"):
    errs.append("behavior (scale-down window and rate) differs")
if min(so["minReplicaCount"], hpa["minReplicas"]) < 1:
    errs.append("a minimum of 0: polls, expiries and answers need a worker")
for e in errs:
    print(f"manifests: FAIL: components keda/hpa: {e}", file=sys.stderr)
sys.exit(1 if errs else 0)
PY
fi

# Components no overlay uses yet (monitoring: needs the Prometheus operator's
# CRDs) are rendered on top of overlays/example, as an overlay adding them would.
for comp in deploy/k8s/components/*/; do
  comp=${comp%/}
  sed 's/#.*//' deploy/k8s/overlays/*/kustomization.yaml | grep -q "components/${comp##*/}\b" && continue
  name="overlays/example+${comp#deploy/k8s/}"
  d="$TMP/with-${comp##*/}"; mkdir -p "$d"  # kustomize wants relative paths
  printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - %s\ncomponents:\n  - %s\n' \
    "$(realpath --relative-to="$d" deploy/k8s/overlays/example)" "$(realpath --relative-to="$d" "$comp")" >"$d/kustomization.yaml"
  if ! kbuild "$d" >"$TMP/out.yaml" 2>"$TMP/err"; then
    fail "$name: kustomize build: $(cat "$TMP/err")"; continue
  fi
  say "$name: rendered $(grep -c '^kind:' "$TMP/out.yaml") objects"
  conform "$name" <"$TMP/out.yaml"
  policy "$name" "$TMP/out.yaml"
done

# ---------------------------------------------------------------- compose
if [ "$HAVE_YAML" = 1 ]; then
  spec=""
  if [ "$HAVE_JSONSCHEMA" = 1 ]; then
    d=$(moddir "github.com/compose-spec/compose-go/v2@$COMPOSE_GO_VERSION") && [ -f "$d/schema/compose-spec.json" ] && spec="$d/schema/compose-spec.json" ||
      skip "compose schema: github.com/compose-spec/compose-go/v2@$COMPOSE_GO_VERSION not downloadable; structure checked only"
  else
    skip "compose schema: python3 jsonschema not installed; structure checked only"
  fi
  python3 - deploy/compose.yaml "$spec" <<'PY' && say "compose.yaml: ok${spec:+ (compose-spec schema, compose-go $COMPOSE_GO_VERSION)}" || fail "deploy/compose.yaml"
import json, re, sys, yaml
path, spec = sys.argv[1], sys.argv[2]
raw = open(path).read()
errs = []
# Interpolate like `docker compose config` with nothing set: required ${VAR:?} get a dummy.
required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", raw))
for v in ("MXFLEET_SECRET_KEYS", "MXFLEET_API_TOKENS"):
    if v not in required:
        errs.append(f"{v} must be required with ${{{v}:?message}}")
def sub(m):
    var, op, arg = m.group(1), m.group(2), m.group(3)
    return "dummy" if op == ":?" else (arg or "")
text = re.sub(r"\$\{([A-Za-z0-9_]+)(?:(:\?|:-|-|\?)([^}]*))?\}", sub, raw.replace("$$", "\0")).replace("\0", "$")
doc = yaml.safe_load(text)
if spec:
    import jsonschema
    for e in jsonschema.Draft7Validator(json.load(open(spec))).iter_errors(doc):
        errs.append(f"schema: {'/'.join(map(str, e.absolute_path))}: {e.message}")
svcs = doc.get("services", {})
for want in ("redis", "sim", "worker", "api", "asynqmon"):
    if want not in svcs:
        errs.append(f"service {want} missing")
for n, s in svcs.items():
    if "image" not in s and "build" not in s:
        errs.append(f"{n}: neither image nor build")
    for dep in (s.get("depends_on") or {}):
        if dep not in svcs:
            errs.append(f"{n}: depends_on unknown service {dep}")
    env = s.get("environment") or {}
    for k, v in (env.items() if isinstance(env, dict) else []):
        for host in re.findall(r"//(?:[^@/]*@)?([a-z0-9-]+):", str(v)):
            if host not in svcs and host != "127.0.0.1":
                errs.append(f"{n}: {k} points at unknown service {host}")
redis = " ".join(svcs.get("redis", {}).get("command", []))
if "--appendonly yes" not in redis or "--appendfsync everysec" not in redis:
    errs.append("redis: want --appendonly yes --appendfsync everysec")
mon = svcs.get("asynqmon", {})
if str((mon.get("environment") or {}).get("READ_ONLY", "")).lower() != "true":
    errs.append("asynqmon: want READ_ONLY: \"true\" (asynqmon's --read-only)")
if any(not str(p).startswith("127.0.0.1:") for p in mon.get("ports", [])):
    errs.append("asynqmon: publish its port on 127.0.0.1 only (it has no login)")
w = svcs.get("worker", {})
if (w.get("deploy") or {}).get("replicas", 1) < 2:
    errs.append("worker: want 2 replicas")
for e in errs:
    print(f"manifests: FAIL: compose.yaml: {e}", file=sys.stderr)
sys.exit(1 if errs else 0)
PY
else
  skip "deploy/compose.yaml: python3 PyYAML not installed; compose file not checked"
fi

# ---------------------------------------------------------------- Dockerfile
# No Docker engine in CI: check the file, and that its COPY lines carry every
# package (and embedded file) ./cmd/mxfleet needs.
df=Dockerfile
for want in '^FROM golang:1\.26 AS build' '^FROM gcr\.io/distroless/static-debian12:nonroot' \
  'CGO_ENABLED=0' '-trimpath' '^USER 65532' '^EXPOSE 8080 9090' '^ENTRYPOINT \["/usr/local/bin/mxfleet"\]' \
  '^CMD \["worker"\]' 'org\.opencontainers\.image\.title=' 'org\.opencontainers\.image\.description=' \
  'org\.opencontainers\.image\.source=' 'org\.opencontainers\.image\.licenses='; do
  grep -Eq -- "$want" "$df" || fail "Dockerfile: no line matching $want"
done
copied=$(sed -n 's/^COPY \([a-z][a-z0-9_./-]*\) \.\/.*$/\1/p' "$df")
mod=$(go list -m)
before=$FAILED; FAILED=0
while read -r pkg; do
  top=${pkg#"$mod"/}; top=${top%%/*}
  grep -qx "$top" <<<"$copied" || fail "Dockerfile: package $pkg needs directory $top, which is not COPYed"
done < <(go list -deps -f '{{if .Module}}{{if .Module.Main}}{{.ImportPath}}{{end}}{{end}}' ./cmd/mxfleet)
[ "$FAILED" = 0 ] && say "Dockerfile: ok (COPY covers every package of ./cmd/mxfleet)"
[ "$before" = 0 ] || FAILED=1

# ---------------------------------------------------------------- summary
say "tools: kubeconform $KUBECONFORM_VERSION, $KUSTOMIZE_DESC; schemas: Kubernetes $K8S_VERSION, KEDA $KEDA_VERSION, Prometheus operator $PROMOP_VERSION"
for s in "${SKIPPED[@]}"; do say "skipped: $s"; done
if [ "$FAILED" != 0 ]; then
  echo "manifests: FAILED" >&2
  exit 1
fi
say "all manifests valid"
