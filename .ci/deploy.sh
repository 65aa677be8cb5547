#!/usr/bin/env bash
# The deployment files, checked offline: the Prometheus rules (promtool check and unit tests),
# the Kubernetes manifests against the API schemas (kubernetes-validate, strict: an unknown
# field fails), the kustomization as kubectl renders it, the catalog copy against its source,
# the Dockerfile's build inputs, and, with a built binary, the ConfigMap's tally.toml and
# catalog served for real: /healthz and /readyz answer and /metrics exports every metric the
# alerts name. The image itself is not built: no Docker engine runs on these machines.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
python3 -m pip install --quiet --disable-pip-version-check "kubernetes-validate==1.37.0"
validate() { python3 -m kubernetes_validate --strict --quiet "$@"; }

echo "-- promtool: rules and their unit tests"
promtool check rules deploy/prometheus/alerts.yml
promtool test rules deploy/prometheus/alerts_test.yml

echo "-- kubernetes-validate: each manifest"
manifests=()
for f in deploy/kubernetes/*.yaml; do
  [ "$(basename "$f")" = kustomization.yaml ] || manifests+=("$f")
done
validate "${manifests[@]}"
echo "${#manifests[@]} manifest(s) valid"

echo "-- the catalog in the kustomization is examples/metrica's"
cmp examples/metrica/catalog.toml deploy/kubernetes/catalog.toml
diff -r examples/metrica/docs deploy/kubernetes/docs

work="$(mktemp -d)"
if command -v kubectl >/dev/null; then
  echo "-- kubectl kustomize, then kubernetes-validate on what it renders"
  kubectl kustomize deploy/kubernetes > "$work/rendered.yaml"
  validate "$work/rendered.yaml"
  grep -q '^  name: tally-catalog-' "$work/rendered.yaml"
else
  echo "-- kubectl not found: the kustomization is not rendered (its resources were validated)"
fi

echo "-- the Dockerfile's build inputs exist"
while read -r _ args; do
  # shellcheck disable=SC2086
  set -- $args
  while [ $# -gt 1 ]; do
    case "$1" in --*) ;; *) [ -e "$1" ] || { echo "Dockerfile copies missing $1"; exit 1; } ;; esac
    shift
  done
done < <(grep -E '^COPY ' Dockerfile | grep -v -- '--from=')

bin="${TALLY_BIN:-target/debug/tally}"
if [ ! -x "$bin" ]; then
  echo "-- no $bin: the ConfigMap's tally.toml was not served (build the binary to check it)"
  rm -rf "$work"
  exit 0
fi
echo "-- $bin serve with the ConfigMap's tally.toml and catalog, on the demo warehouse it builds"
python3 - "$work/tally.toml" <<'PY'
import sys, yaml
with open("deploy/kubernetes/configmap.yaml") as f:
    doc = yaml.safe_load(f)
with open(sys.argv[1], "w") as out:
    out.write(doc["data"]["tally.toml"])
PY
port=18183
env -u TALLY_STORE -u TALLY_WAREHOUSE -u TALLY_JWKS_URL -u TALLY_CONFIG -u TALLY_ROLLUPS \
  TALLY_HOME="$work/data" TALLY_CATALOG=deploy/kubernetes/catalog.toml \
  TALLY_DEV_SECRET="deploy-check-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
  "$bin" serve --config "$work/tally.toml" --addr "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
up=""
for _ in $(seq 1 300); do
  if ! kill -0 "$server" 2>/dev/null; then
    echo "tally serve exited:"; cat "$work/serve.log"; exit 1
  fi
  if curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; then up=1; break; fi
  sleep 1
done
[ -n "$up" ] || { echo "tally serve did not answer /healthz in 300 s:"; cat "$work/serve.log"; exit 1; }
curl -sf "http://127.0.0.1:$port/readyz" || { echo "/readyz is not 200:"; cat "$work/serve.log"; exit 1; }
echo
ls "$work/data"/*-demo-seed*.db >/dev/null   # the demo warehouse landed in TALLY_HOME
curl -sf "http://127.0.0.1:$port/metrics" > "$work/metrics.txt"
missing=0
for name in $(grep -v '^ *#' deploy/prometheus/alerts.yml | grep -o 'tally_[a-z_]*' | sort -u); do
  if ! grep -qE "^($name[{ ]|# TYPE $name )" "$work/metrics.txt"; then
    echo "alerts.yml names $name, which /metrics does not export"; missing=1
  fi
done
[ "$missing" = 0 ]
echo "tally.toml and the catalog serve; every metric alerts.yml names is exported"
