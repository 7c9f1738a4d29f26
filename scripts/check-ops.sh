#!/usr/bin/env bash
# Fast static checks of the operational assets (seconds; for .ci/run):
#   1. alert rules: promtool check rules, promtool test rules (deploy/prometheus/alerts_test.yml)
#   2. Prometheus config: promtool check config (paths of the compose mounts rewritten)
#   3. dashboards: valid JSON, and every PromQL expression parses (promtool, as recording rules)
#   4. haproxy.cfg: haproxy -c
#   5. docker-compose.yml: docker-compose config (Debian's docker-compose; no engine needed),
#      or a YAML check when it cannot be installed
#   6. deploy/portcullis-ha.yaml and loadtest/bench/*.yaml: portcullis check-config (the HA
#      config's /run/secrets files faked)
#      (needs a built gateway: $PORTCULLIS_BIN, else target/{debug,release}/portcullis)
# Installs promtool, haproxy and docker-compose from Debian packages when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n--- %s ---\n' "$*"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
if ((${#need[@]})); then
  step "installing ${need[*]}"
  if command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq || true
    for p in "${need[@]}"; do
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" \
        >/dev/null || echo "could not install $p"
    done
  fi
fi
command -v promtool >/dev/null 2>&1 || { echo "promtool is required (apt-get install prometheus)"; exit 1; }

step "alert rules"
promtool check rules deploy/prometheus/alerts.yml
promtool test rules deploy/prometheus/alerts_test.yml

step "prometheus config"
mkdir -p "$tmp/prom"
cp deploy/prometheus/alerts.yml "$tmp/prom/alerts.yml"
printf 'placeholder\n' > "$tmp/prom/master_key"
sed -e "s#/etc/prometheus/alerts.yml#$tmp/prom/alerts.yml#" \
    -e "s#/run/secrets/master_key#$tmp/prom/master_key#" \
    deploy/prometheus.yml > "$tmp/prom/prometheus.yml"
promtool check config "$tmp/prom/prometheus.yml"

step "dashboards: JSON and PromQL"
python3 scripts/topology/dashboard_queries.py --rules deploy/grafana/dashboards/*.json > "$tmp/dash-rules.yml"
promtool check rules "$tmp/dash-rules.yml"

step "haproxy.cfg"
if command -v haproxy >/dev/null 2>&1; then
  # The compose service names do not resolve here; init-addr none lets the check pass anyway.
  haproxy -c -q -f deploy/haproxy/haproxy.cfg
else
  echo "SKIPPED: haproxy not installed"
fi

step "docker-compose.yml"
if command -v docker-compose >/dev/null 2>&1; then
  docker-compose -f docker-compose.yml config -q
  services=$(docker-compose -f docker-compose.yml config --services | sort | tr '\n' ' ')
else
  services=$(python3 -c 'import yaml,sys; print(" ".join(sorted(yaml.safe_load(open("docker-compose.yml"))["services"])))')
fi
echo "services: $services"
for s in gateway gateway-2 gateway-3 haproxy mock redis postgres prometheus grafana; do
  [[ " $services " == *" $s "* ]] || { echo "docker-compose.yml lacks service $s"; exit 1; }
done

step "deploy/portcullis-ha.yaml: portcullis check-config"
bin=${PORTCULLIS_BIN:-}
for b in target/debug/portcullis target/release/portcullis; do
  [[ -z $bin && -x $b ]] && bin=$b
done
if [[ -z $bin ]]; then
  echo "SKIPPED: no gateway binary (build it, or set PORTCULLIS_BIN)"
else
  mkdir -p "$tmp/secrets"
  for s in master_key key_pepper demo_key; do head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$tmp/secrets/$s"; done
  printf 'mock-accepts-any-value' > "$tmp/secrets/mock_provider_key"
  printf 'postgres://portcullis:placeholder@postgres:5432/portcullis' > "$tmp/secrets/postgres_url"
  printf 'redis://:placeholder@redis:6379/0' > "$tmp/secrets/redis_url"
  sed "s#file:/run/secrets/#file:$tmp/secrets/#" deploy/portcullis-ha.yaml > "$tmp/portcullis-ha.yaml"
  RUST_BACKTRACE=0 "$bin" check-config --config "$tmp/portcullis-ha.yaml"
  # The benchmark scenarios' configs (loadtest/bench/*.yaml) must load too, or a scenario
  # fails only when someone runs it.
  for f in loadtest/bench/*.yaml; do
    BENCH_KEY=bench-key-0123456789abcdef BENCH_MASTER_KEY=bench-master-0123456789abcdef0123456789 \
      BENCH_REDIS_URL=redis://127.0.0.1:6379 RUST_BACKTRACE=0 "$bin" check-config --config "$f" >/dev/null
    echo "$f: ok"
  done
fi

step "ok"
