#!/usr/bin/env bash
# The scaled-out topology of docker-compose.yml without Docker, as a test: three `portcullis
# serve` replicas behind haproxy, limits on redis-server, keys and spend on PostgreSQL, the
# mock upstream, and a real Prometheus scraping the three admin listeners. Drives load
# through haproxy and checks:
#   (a) a key with rpm=10 gets exactly 10 successes out of 100 concurrent requests;
#   (b) a key with a small budget is never overspent (recorded spend in PostgreSQL, and the
#       spend counters of the three /metrics, at most the budget);
#   (c) every PromQL query of deploy/grafana/dashboards/*.json returns data from that
#       Prometheus (except those in scripts/topology/allow-empty.txt, each with a reason);
#   (d) a replica killed with SIGKILL mid-load leaves the budget exact once its reservations'
#       lease has passed, and loses at most one spend batch window of records.
# Binds only 127.0.0.1, on free ports; stops everything it started on exit; exits 0 only when
# every check ran and passed (1: a check failed, 2: a check could not run).
#
# Environment:
#   PORTCULLIS_BIN_DIR   folder with portcullis and portcullis-mock already built
#                        (default: cargo build --release, then target/release)
#   TOPOLOGY_STORAGE     postgres (default) or none: leaves out the storage: and pricing:
#                        sections, for branches where they have not landed (the spend-log
#                        checks then SKIP)
#   TOPOLOGY_PG=own      start a throwaway PostgreSQL even when 127.0.0.1:5432 is usable
#   TOPOLOGY_LEASE       reservation lease (default 5s)
#   TOPOLOGY_KEEP=1      keep the temp folder (configs and logs) for inspection
# Installs haproxy, prometheus (promtool), redis-server and the PostgreSQL client from Debian
# packages when missing. After the build it finishes in well under 5 minutes.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/topology/lib.sh
. "$ROOT/scripts/topology/lib.sh"

STORAGE=${TOPOLOGY_STORAGE:-postgres}
LEASE=${TOPOLOGY_LEASE:-5s}
LEASE_S=${LEASE%s}
BUDGET_USD="0.30"          # check (b)
KILL_BUDGET_USD="2.00"     # check (d)
MAX_TOKENS=32              # every request; the mock answers with 8 completion tokens
# Spend records are batched by the gateway's SpendWriter: flushed every 200ms or 512 records.
# A replica killed between flushes loses the records of requests it answered in that window:
# at most the requests it can finish in 200ms, bounded here by (its concurrent requests) x
# (200ms / mock latency + 1).
SPEND_FLUSH_MS=200
MOCK_LATENCY_MS=100
KILL_CONCURRENCY=24

RESULTS=()
result() { RESULTS+=("$1 $2: $3"); log "check $2: $1 — $3"; }

TMP=$(mktemp -d /tmp/portcullis-topology.XXXXXX)
SECRETS="$TMP/secrets"
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n ${WATCHDOG:-} ]] && kill "$WATCHDOG" 2>/dev/null
  stop_all
  drop_postgres
  if [[ ${TOPOLOGY_KEEP:-0} == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

ensure_tools

if [[ -n ${PORTCULLIS_BIN_DIR:-} ]]; then
  BIN=$(cd "$PORTCULLIS_BIN_DIR" && pwd)
else
  log "building release binaries"
  (cd "$ROOT" && cargo build --release --locked --bin portcullis --bin portcullis-mock)
  BIN="$ROOT/target/release"
fi
for b in portcullis portcullis-mock; do [[ -x $BIN/$b ]] || die "$BIN/$b is missing"; done

# From here on the whole run is bounded: the watchdog interrupts it after 280s.
SECONDS=0
(
  trap 'kill "$nap" 2>/dev/null; exit 0' TERM
  sleep 280 & nap=$!
  wait "$nap" && log "deadline of 280s passed" && kill -TERM $$
) &
WATCHDOG=$!

read -r P_REDIS P_PG P_MOCK P_HAPROXY P_PROM P1 P2 P3 A1 A2 A3 < <(free_ports 11)
GW_PORTS=("$P1" "$P2" "$P3")
ADMIN_PORTS=("$A1" "$A2" "$A3")
LB="http://127.0.0.1:$P_HAPROXY"
PROM="http://127.0.0.1:$P_PROM"

mkdir -p "$SECRETS"
chmod 700 "$SECRETS"
for s in master_key key_pepper key_load key_rpm10 key_budget key_killed; do
  random_hex 24 >"$SECRETS/$s"
done
printf 'mock-accepts-any-value' >"$SECRETS/mock_provider_key"
REDIS_PASSWORD=$(random_hex 16)
printf 'redis://:%s@127.0.0.1:%s/0' "$REDIS_PASSWORD" "$P_REDIS" >"$SECRETS/redis_url"
MASTER=$(cat "$SECRETS/master_key")

start_redis "$P_REDIS" "$REDIS_PASSWORD"
if [[ $STORAGE == postgres ]]; then
  start_postgres "$P_PG"
  printf '%s' "$PG_URL" >"$SECRETS/postgres_url"
fi
spawn mock "$TMP/mock.log" "$BIN/portcullis-mock" --listen "127.0.0.1:$P_MOCK" --threads 2 \
  --latency-ms "$MOCK_LATENCY_MS" --completion-tokens 8
wait_for 10 mock bash -c "exec 3<>/dev/tcp/127.0.0.1/$P_MOCK"

export RUST_LOG=warn
for i in 0 1 2; do
  cfg="$TMP/gateway-$((i + 1)).yaml"
  storage='/^#@DURABLE@/d'                 # TOPOLOGY_STORAGE=none: drop storage and pricing
  [[ $STORAGE == postgres ]] && storage='s/^#@DURABLE@//'
  sed -e "s#@PORT@#${GW_PORTS[i]}#; s#@ADMIN_PORT@#${ADMIN_PORTS[i]}#" \
    -e "s#@SECRETS@#$SECRETS#g; s#@MOCK_PORT@#$P_MOCK#; s#@LEASE@#$LEASE#" \
    -e "s#@BUDGET_USD@#$BUDGET_USD#; s#@KILL_BUDGET_USD@#$KILL_BUDGET_USD#" \
    -e "$storage" "$ROOT/scripts/topology/gateway.yaml" >"$cfg"
  RUST_BACKTRACE=0 "$BIN/portcullis" check-config --config "$cfg" >"$TMP/check-config.log" 2>&1 ||
    { cat "$TMP/check-config.log"; die "the topology's gateway config is refused"; }
  spawn "gateway-$((i + 1))" "$TMP/gateway-$((i + 1)).log" \
    "$BIN/portcullis" serve --config "$cfg"
done
for i in 0 1 2; do
  wait_for 30 "gateway-$((i + 1))" curl -sf "http://127.0.0.1:${GW_PORTS[i]}/health/live"
done
start_haproxy "$P_HAPROXY" "${GW_PORTS[@]}"
start_prometheus "$P_PROM" "${ADMIN_PORTS[@]}"
wait_for 20 "Prometheus to scrape all three replicas" \
  bash -c "[[ \$(curl -sf '$PROM/api/v1/query' --data-urlencode 'query=sum(up{job=\"portcullis\"})' | jq -r '.data.result[0].value[1]') == 3 ]]"
log "topology up: haproxy $LB, Prometheus $PROM"

. "$ROOT/scripts/topology/checks.sh"

traffic_for_dashboards
check_rpm_across_replicas
check_budget_never_overspent
check_kill_leaves_budget_exact
check_dashboard_queries

printf '\n'
for r in "${RESULTS[@]}"; do log "$r"; done
if printf '%s\n' "${RESULTS[@]}" | grep -q '^FAIL'; then exit 1; fi
if printf '%s\n' "${RESULTS[@]}" | grep -q '^SKIP'; then exit 2; fi
log "all checks passed in ${SECONDS}s"
