# Shared by compare.sh and soak.sh (sourced, not run): builds the release binaries, makes
# throwaway keys, and starts the mock on CPU 1 and the gateway on CPU 0, as DESIGN.md §6 pins
# them. Sets mock_pid, gw_pid and gw (the gateway's chat completions URL); stops both on exit.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cargo build --quiet --release --bin portcullis --bin portcullis-mock --bin portcullis-load
BENCH_KEY=$(./target/release/portcullis gen-key)
BENCH_MASTER_KEY=$(./target/release/portcullis gen-key)
export BENCH_KEY BENCH_MASTER_KEY
gw=http://127.0.0.1:14000/v1/chat/completions

taskset -c 1 ./target/release/portcullis-mock --listen 127.0.0.1:19000 --threads 1 --chunks 24 >/dev/null &
mock_pid=$!
RUST_LOG=warn taskset -c 0 ./target/release/portcullis serve --config loadtest/bench/gateway.yaml &
gw_pid=$!
trap 'kill $gw_pid $mock_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf http://127.0.0.1:14000/health/live >/dev/null && curl -s -o /dev/null http://127.0.0.1:19000/ && break
  sleep 0.1
done

# Gateway resident memory in kB, and CPU time (user+system) it has used in microseconds.
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$gw_pid/status"; }
cpu_us() { awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000000 / hz)}' "/proc/$gw_pid/stat"; }
