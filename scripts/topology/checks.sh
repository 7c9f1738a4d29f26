# shellcheck shell=bash
# The checks of scripts/topology.sh (sourced after the topology is up). Each ends with one
# `result PASS|FAIL|SKIP (x) reason` line.

BODY_TEXT="hello from the topology test"

# burst KEYFILE N PARALLEL OUTFILE [stream] [model]: N chat requests through haproxy, PARALLEL
# at a time; one HTTP status per line in OUTFILE (000 = no response).
burst() {
  local key n=$2 p=$3 out=$4 stream=${5:-false} model=${6:-topo-model}
  key=$(cat "$SECRETS/$1" 2>/dev/null || printf '%s' "$1")
  local body="{\"model\":\"$model\",\"max_tokens\":$MAX_TOKENS,\"stream\":$stream,\"messages\":[{\"role\":\"user\",\"content\":\"$BODY_TEXT\"}]}"
  seq "$n" | xargs -P "$p" -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 20 \
    -H "authorization: Bearer $key" -H 'content-type: application/json' -d "$body" \
    "$LB/v1/chat/completions" >"$out" || true
}

count() { grep -c "^$1\$" "$2" || true; }
statuses() { sort "$1" | uniq -c | awk '{printf "%s×%s ", $2, $1}'; }

# Sum of portcullis_spend_micro_usd_total over the replicas' /metrics still alive; "absent"
# when no replica exports it.
spend_metrics() {
  local total=0 seen=0 a v
  for a in "$@"; do
    v=$(curl -sf --max-time 5 -H "authorization: Bearer $MASTER" "http://127.0.0.1:$a/metrics" |
      awk '/^portcullis_spend_micro_usd_total[{ ]/ {s += $NF; n++} END {if (n) printf "%d", s}') || true
    [[ -n $v ]] && { total=$((total + v)); seen=1; }
  done
  if ((seen)); then echo "$total"; else echo absent; fi
}

# spend_db KEY: "answered records|micro_usd|max_cost" from the spend log (records of every
# status are summed; only status 200 ones are counted, to compare with the client's 200s);
# empty when unreadable.
spend_db() {
  [[ $STORAGE == postgres ]] || return 0
  "${PG_PSQL[@]}" -c "SELECT count(*) FILTER (WHERE status = 200), coalesce(sum(cost_micro_usd),0),
                             coalesce(max(cost_micro_usd),0)
                      FROM spend WHERE key_id = '$1'" 2>/dev/null || true
}

# Waits until the spend log of KEY stops changing (the writers flush every 200ms).
settle_db() {
  [[ $STORAGE == postgres ]] || return 0
  local prev="" cur i
  for ((i = 0; i < 25; i++)); do
    cur=$(spend_db "$1")
    [[ -n $cur && $cur == "$prev" ]] && return 0
    prev=$cur
    sleep 0.4
  done
}

traffic_for_dashboards() {
  log "traffic for the dashboards: plain and streamed requests, an unknown key, an unknown model"
  burst key_load 40 8 "$TMP/traffic-plain"
  burst key_load 20 4 "$TMP/traffic-stream" true
  burst "not-a-key-$(random_hex 8)" 5 5 "$TMP/traffic-badkey"
  burst key_load 3 3 "$TMP/traffic-badmodel" false no-such-model
  log "plain: $(statuses "$TMP/traffic-plain")stream: $(statuses "$TMP/traffic-stream")bad key: $(statuses "$TMP/traffic-badkey")bad model: $(statuses "$TMP/traffic-badmodel")"
  [[ $(count 200 "$TMP/traffic-plain") -gt 0 ]] || die "no request succeeded through haproxy"
}

check_rpm_across_replicas() {
  burst key_rpm10 100 100 "$TMP/rpm"
  local ok
  ok=$(count 200 "$TMP/rpm")
  if [[ $ok == 10 && $(count 429 "$TMP/rpm") == 90 ]]; then
    result PASS "(a) rpm=10 across 3 replicas" "10 of 100 concurrent requests succeeded, 90 got 429"
  else
    result FAIL "(a) rpm=10 across 3 replicas" "expected 200×10 429×90, got $(statuses "$TMP/rpm")"
  fi
}

check_budget_never_overspent() {
  local budget=$((10#${BUDGET_USD/./} * 10000)) before after db why=() verdict=PASS
  before=$(spend_metrics "${ADMIN_PORTS[@]}")
  burst key_budget 60 30 "$TMP/budget"
  settle_db budget
  after=$(spend_metrics "${ADMIN_PORTS[@]}")
  db=$(spend_db budget)
  local ok refused
  ok=$(count 200 "$TMP/budget")
  refused=$(count 429 "$TMP/budget")
  why+=("budget ${budget}µ\$; client saw $(statuses "$TMP/budget")")
  # The budget must actually have been reached, or the check proves nothing.
  if ((ok == 0 || refused == 0)); then verdict=FAIL; why+=("budget never reached or nothing admitted"); fi
  if [[ $after == absent ]]; then
    why+=("/metrics has no portcullis_spend_micro_usd_total")
    [[ $verdict == PASS ]] && verdict=SKIP
  else
    local spent=$((after - ${before/absent/0}))
    why+=("/metrics spend +${spent}µ\$")
    ((spent <= budget)) || verdict=FAIL
  fi
  if [[ $STORAGE != postgres ]]; then
    why+=("spend log not checked (TOPOLOGY_STORAGE=$STORAGE)")
    [[ $verdict == PASS ]] && verdict=SKIP
  elif [[ -z $db ]]; then
    verdict=FAIL; why+=("spend log unreadable (table spend missing: durable storage not wired?)")
  else
    IFS='|' read -r rows sum _ <<<"$db"
    why+=("spend log: $rows records, ${sum}µ\$")
    ((sum <= budget && rows <= ok)) || verdict=FAIL
    ((rows > 0)) || { verdict=FAIL; why+=("no spend recorded"); }
  fi
  result "$verdict" "(b) budget never overspent" "$(IFS=';'; echo "${why[*]}")"
}

check_kill_leaves_budget_exact() {
  local budget=$((10#${KILL_BUDGET_USD/./} * 10000)) victim why=() verdict=PASS
  victim=$(pid_of gateway-3)
  burst key_killed 60 "$KILL_CONCURRENCY" "$TMP/kill-1" &
  local load=$!
  wait_for 15 "the first responses of the kill load" bash -c "(( \$(wc -l <'$TMP/kill-1') >= 6 ))"
  kill -KILL "$victim"
  log "SIGKILLed gateway-3 (pid $victim) mid-load"
  wait "$load" || true
  # Its reservations are only released by the lease; wait it out (plus one second).
  log "waiting ${LEASE_S}s + 1s for the killed replica's reservations to expire"
  sleep "$((LEASE_S + 1))"
  # One at a time: with several in flight, each holding a worst-case reservation, a burst
  # of fast refusals can end while budget is left that a lone request would still get.
  burst key_killed 150 1 "$TMP/kill-2"
  settle_db killed
  local ok1 ok2 refused
  ok1=$(count 200 "$TMP/kill-1")
  ok2=$(count 200 "$TMP/kill-2")
  refused=$(count 429 "$TMP/kill-2")
  why+=("budget ${budget}µ\$; during the kill $(statuses "$TMP/kill-1"); after the lease $(statuses "$TMP/kill-2")")
  ((refused > 0)) || { verdict=FAIL; why+=("budget never reached after the kill"); }
  if [[ $STORAGE != postgres ]]; then
    why+=("spend log not checked (TOPOLOGY_STORAGE=$STORAGE)")
    [[ $verdict == PASS ]] && verdict=SKIP
  else
    local db
    db=$(spend_db killed)
    if [[ -z $db ]]; then
      verdict=FAIL; why+=("spend log unreadable (durable storage not wired?)")
    else
      IFS='|' read -r rows sum maxcost <<<"$db"
      local lost=$((ok1 + ok2 - rows)) per_replica=$(((KILL_CONCURRENCY + 2) / 3))
      ((lost < 0)) && lost=0
      local lost_max=$((per_replica * (SPEND_FLUSH_MS / MOCK_LATENCY_MS + 1)))
      # What may stay unspent: one request's reservation (prompt estimate + max_tokens at the
      # test's flat price, generously 64 + MAX_TOKENS tokens) plus the lost records' cost.
      local reservation=$(((64 + MAX_TOKENS) * 1000)) slack=$((budget - sum))
      why+=("spend log: $rows records, ${sum}µ\$ (lost ${lost}, at most ${lost_max}); unspent ${slack}µ\$, allowed $((reservation + lost * maxcost))µ\$")
      ((sum <= budget)) || { verdict=FAIL; why+=("OVERSPENT"); }
      ((lost <= lost_max)) || { verdict=FAIL; why+=("more records lost than one batch window"); }
      ((slack <= reservation + lost * maxcost)) ||
        { verdict=FAIL; why+=("budget left unusable: the killed replica's reservations did not expire"); }
    fi
  fi
  result "$verdict" "(d) SIGKILL mid-load keeps budget exact" "$(IFS=';'; echo "${why[*]}")"
}

check_dashboard_queries() {
  # Fresh samples of the latest traffic, at 1s scrapes, for every rate(...[1m]).
  wait_for 20 "Prometheus to see the traffic" \
    bash -c "[[ \$(curl -sf '$PROM/api/v1/query' --data-urlencode 'query=sum(rate(portcullis_tokens_total[1m])) > 0' | jq '.data.result | length') -gt 0 ]]"
  if python3 "$ROOT/scripts/topology/dashboard_queries.py" --check "$PROM" \
    --allow "$ROOT/scripts/topology/allow-empty.txt" "$ROOT"/deploy/grafana/dashboards/*.json \
    >"$TMP/dashboards.txt" 2>&1; then
    result PASS "(c) dashboard queries" "$(grep '^dashboard queries' "$TMP/dashboards.txt")"
  else
    cat "$TMP/dashboards.txt"
    result FAIL "(c) dashboard queries" "$(grep '^dashboard queries' "$TMP/dashboards.txt" || echo 'checker failed')"
  fi
}
