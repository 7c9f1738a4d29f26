#!/usr/bin/env bash
# Runs `portcullis demo` on ephemeral ports and drives it with the official OpenAI Python
# SDK (scripts/openai_sdk_smoke.py) and, unless SKIP_ANTHROPIC=1, the official Anthropic SDK
# (scripts/anthropic_sdk_smoke.py). The OpenAI run covers embeddings on `demo-embedding` and
# the tool-calling round trip on `demo-model`, the Bedrock-dialect `demo-bedrock` and the
# Gemini-dialect `demo-gemini`.
# Needs python3 with the `openai` (and `anthropic`) packages importable; pass the
# interpreter as $PYTHON (default: python3).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
out=$(mktemp)
cargo build --quiet --bin portcullis
./target/debug/portcullis demo --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 >"$out" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 1 100); do
  grep -q "demo virtual key" "$out" && break
  sleep 0.1
done
base=$(awk '/OpenAI-compatible base URL/ {print $4}' "$out")
key=$(awk '/demo virtual key/ {print $4}' "$out")
[ -n "$base" ] && [ -n "$key" ] || { echo "demo did not start"; cat "$out"; exit 1; }
"$PYTHON" scripts/openai_sdk_smoke.py "$base" "$key" demo-model demo-embedding demo-bedrock demo-gemini
if [ "${SKIP_ANTHROPIC:-0}" != 1 ]; then
  root=${base%/v1}
  "$PYTHON" scripts/anthropic_sdk_smoke.py "$root" "$key" demo-model demo-claude
fi
