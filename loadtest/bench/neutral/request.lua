-- wrk script for loadtest/bench/neutral.sh: a 227-byte chat request (streaming when
-- NEUTRAL_STREAM=1), the key in NEUTRAL_KEY when set; done() prints one JSON line
-- prefixed "RESULT " with the counts and latency percentiles in µs.
local model = os.getenv("NEUTRAL_MODEL") or "bench-json"
local stream = os.getenv("NEUTRAL_STREAM") == "1"
local key = os.getenv("NEUTRAL_KEY") or ""

local head = '{"model":"' .. model .. '",' .. (stream and '"stream":true,' or '')
  .. '"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"'
local tail = '"}],"max_tokens":32}'
local filler = string.rep("Say hello in five words. ", 10)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end
wrk.body = head .. string.sub(filler, 1, 227 - #head - #tail) .. tail

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"body_bytes":%d,"non_2xx":%d,"errors":%d,'
      .. '"p50":%d,"p90":%d,"p99":%d,"p99_9":%d,"max":%d}\n',
    summary.requests, summary.duration, #wrk.body, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
