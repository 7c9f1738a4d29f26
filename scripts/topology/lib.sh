# shellcheck shell=bash
# Helpers of scripts/topology.sh: processes it owns, free ports, bounded waits, and starting
# each service of the topology on 127.0.0.1. Sourced, not run. Every process started here is
# recorded in PIDS and stopped by cleanup (the trap in topology.sh).

PIDS=()            # "pid:name", in start order
PG_CLUSTER=""      # data folder of a PostgreSQL started here (when no local server was usable)
PG_DB=""           # database created here on a local server

log() { printf '[topology %5ss] %s\n' "$SECONDS" "$*"; }
die() { log "ERROR: $*"; exit 1; }

# spawn NAME LOGFILE CMD...: starts CMD in the background, remembers it.
spawn() {
  local name=$1 logfile=$2
  shift 2
  "$@" >"$logfile" 2>&1 &
  PIDS+=("$!:$name")
  log "started $name (pid $!)"
}

pid_of() {
  local entry
  for entry in "${PIDS[@]}"; do
    [[ ${entry#*:} == "$1" ]] && { echo "${entry%%:*}"; return 0; }
  done
  return 1
}

# Stops every process started here: SIGTERM, up to 5s, then SIGKILL. By pid only.
stop_all() {
  local entry pid i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid=${PIDS[i]%%:*}
    kill -TERM "$pid" 2>/dev/null || true
  done
  for ((i = 0; i < 50; i++)); do
    local alive=0
    for entry in "${PIDS[@]}"; do kill -0 "${entry%%:*}" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for entry in "${PIDS[@]}"; do
    kill -KILL "${entry%%:*}" 2>/dev/null || true
    wait "${entry%%:*}" 2>/dev/null || true
  done
  PIDS=()
}

# free_ports N: N distinct free TCP ports on 127.0.0.1 (held open together while chosen).
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# wait_for SECONDS DESCRIPTION CMD...: reruns CMD every 0.2s until it succeeds.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < end)) || die "timed out after ${limit}s waiting for $what"
    sleep 0.2
  done
}

random_hex() { head -c "${1:-24}" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# Installs the Debian packages that provide missing commands (apt-get update once).
ensure_tools() {
  local need=() cmd pkg
  for pair in haproxy:haproxy prometheus:prometheus promtool:prometheus \
    redis-server:redis-server redis-cli:redis-tools psql:postgresql-client curl:curl; do
    cmd=${pair%%:*} pkg=${pair#*:}
    command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
  done
  ((${#need[@]})) || return 0
  command -v apt-get >/dev/null 2>&1 || die "missing ${need[*]} and no apt-get"
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
}

start_redis() {
  spawn redis "$TMP/redis.log" redis-server --bind 127.0.0.1 --port "$1" --save '' \
    --appendonly no --requirepass "$2" --dir "$TMP"
  wait_for 10 redis redis-cli -h 127.0.0.1 -p "$1" -a "$2" --no-auth-warning ping
}

# start_postgres PORT: sets PG_URL to a fresh database. Uses the local server on
# 127.0.0.1:5432 with trust auth when there is one, else starts a throwaway cluster.
start_postgres() {
  local name="portcullis_topology_$$_$RANDOM"
  if [[ ${TOPOLOGY_PG:-auto} != own ]] &&
    psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -qc "CREATE DATABASE $name" >/dev/null
    PG_DB=$name
    PG_URL="postgres://postgres@127.0.0.1:5432/$name"
    PG_PSQL=(psql -h 127.0.0.1 -p 5432 -U postgres -d "$name" -Atq)
    log "PostgreSQL: database $name on the local server"
    return
  fi
  local bindir run=()
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [[ -x $bindir/initdb ]] || bindir=$(pg_config --bindir 2>/dev/null)
  [[ -x $bindir/initdb ]] || die "no PostgreSQL server on 127.0.0.1:5432 and no initdb"
  PG_CLUSTER="$TMP/pg"
  mkdir -p "$PG_CLUSTER"
  if ((EUID == 0)); then
    chown postgres "$PG_CLUSTER" "$TMP" 2>/dev/null || die "running as root needs a postgres user"
    run=(runuser -u postgres --)
  fi
  "${run[@]}" "$bindir/initdb" -D "$PG_CLUSTER/data" -A trust -U postgres >"$TMP/initdb.log" 2>&1
  spawn postgres "$TMP/postgres.log" "${run[@]}" "$bindir/postgres" -D "$PG_CLUSTER/data" \
    -c listen_addresses=127.0.0.1 -p "$1" -k "$PG_CLUSTER" -c fsync=off
  wait_for 20 postgres psql -h 127.0.0.1 -p "$1" -U postgres -d postgres -Atqc 'select 1'
  psql -h 127.0.0.1 -p "$1" -U postgres -d postgres -qc "CREATE DATABASE $name" >/dev/null
  PG_URL="postgres://postgres@127.0.0.1:$1/$name"
  PG_PSQL=(psql -h 127.0.0.1 -p "$1" -U postgres -d "$name" -Atq)
}

drop_postgres() {
  if [[ -n $PG_DB ]]; then
    psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" \
      >/dev/null 2>&1 || log "could not drop database $PG_DB"
    PG_DB=""
  fi
}

start_haproxy() {
  local port=$1 cfg="$TMP/haproxy.cfg"
  shift
  {
    printf 'global\n    maxconn 4096\n'
    printf 'defaults\n    mode http\n    timeout connect 2s\n    timeout client 30s\n'
    printf '    timeout server 30s\n    retries 2\n    option redispatch 1\n    retry-on conn-failure\n'
    printf 'frontend portcullis\n    bind 127.0.0.1:%s\n    default_backend gateways\n' "$port"
    printf 'backend gateways\n    balance roundrobin\n    option httpchk GET /health/live\n'
    printf '    default-server check inter 500ms fall 1 rise 1\n'
    local i=1 p
    for p in "$@"; do printf '    server gateway-%s 127.0.0.1:%s\n' "$i" "$p"; i=$((i + 1)); done
  } >"$cfg"
  haproxy -c -q -f "$cfg" || die "generated haproxy.cfg is invalid"
  spawn haproxy "$TMP/haproxy.log" haproxy -db -f "$cfg"
  wait_for 15 haproxy curl -sf "http://127.0.0.1:$port/health/live"
}

# start_prometheus PORT ADMIN_PORT...: scrapes each admin listener every second with the
# master key, and loads the shipped alert rules.
start_prometheus() {
  local port=$1 cfg="$TMP/prometheus.yml" targets=""
  shift
  local p
  for p in "$@"; do targets+="\"127.0.0.1:$p\", "; done
  cat >"$cfg" <<YML
global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: ["$ROOT/deploy/prometheus/alerts.yml"]
scrape_configs:
  - job_name: portcullis
    authorization: { type: Bearer, credentials_file: "$SECRETS/master_key" }
    static_configs: [{ targets: [${targets%, }] }]
YML
  promtool check config "$cfg" >/dev/null || die "generated prometheus.yml is invalid"
  spawn prometheus "$TMP/prometheus.log" prometheus --config.file="$cfg" \
    --storage.tsdb.path="$TMP/prometheus-data" --web.listen-address="127.0.0.1:$port"
  wait_for 30 prometheus curl -sf "http://127.0.0.1:$port/-/ready"
}

# promql EXPR: the JSON result vector of an instant query.
promql() {
  curl -sf --max-time 5 "$PROM/api/v1/query" --data-urlencode "query=$1" | jq -c '.data.result'
}
