#!/usr/bin/env bash
# Regenerates the results sections of docs/BENCHMARKS.md from the recorded scenario runs
# (docs/bench/<scenario>/summary.json, written by `RECORD=1 loadtest/bench/<scenario>.sh`).
# Only the text between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->` markers is
# replaced; the prose around them is kept. Missing markers are added once, in a "Scenario
# results" section at the end. Each block gives the command, commit, date and machine, the
# figures, the plots and each target met or not met; docs/bench/<scenario>/notes.md (the
# profile behind a miss, and the plan) is included under its block when present.
#
# Usage: loadtest/bench/docs.sh [path/to/BENCHMARKS.md]   (no build, no load: seconds)
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 - "${1:-docs/BENCHMARKS.md}" docs/bench <<'PY'
import json, os, re, sys

doc_path, bench = sys.argv[1], sys.argv[2]
rel = os.path.relpath(bench, os.path.dirname(doc_path) or ".")
SCENARIOS = ["overhead", "neutral", "throughput", "streaming", "governed", "faults", "soak"]

def load(name):
    p = os.path.join(bench, name, "summary.json")
    return json.load(open(p)) if os.path.exists(p) else None

def us(v): return "—" if v is None else f"{v:,} µs" if abs(v) < 10_000 else f"{v / 1000:,.2f} ms"
def plus(v): return "—" if v is None else ("+" if v >= 0 else "") + us(v)
def rate(v): return "—" if v is None else f"{v:,.0f}"
def kib(v): return f"{v / 1024:.1f} MiB"

def header(s):
    dirty = " (uncommitted changes)" if s.get("dirty") else ""
    pin = "pinned (gateway on CPU 0; upstream and client on CPU 1)" if s.get("pinned") else "not pinned"
    return [f"Command: `{s['command']}` — commit `{s['commit']}`{dirty}, {s['date']}, "
            f"{s['machine']}, {pin}, `{s['profile']}` build.", ""]

def plots(name, files):
    have = [f for f in files if os.path.exists(os.path.join(bench, name, f))]
    return ["Plots: " + " · ".join(f"[{f}]({rel}/{name}/{f})" for f in have), ""] if have else []

def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out + [""]

def notes(name):
    p = os.path.join(bench, name, "notes.md")
    return [open(p).read().strip(), ""] if os.path.exists(p) else []

targets = []  # (target, measured, met: True/False/None, scenario)
def target(what, measured, met, scenario):
    targets.append((what, measured, met, scenario))

def overhead(s):
    r, a, cpu = s["runs"], s["added_us"], s["gateway_cpu_us_per_request"]
    rows = [(f"concurrency 1, {q.replace('_', '.')}", us(r["direct-c1"][q]), us(r["gateway-c1"][q]), plus(a[q]))
            for q in ("p50", "p90", "p99", "p99_9")]
    rows += [("concurrency 64, throughput", f"{rate(r['direct-c64']['rps'])} req/s",
              f"{rate(r['gateway-c64']['rps'])} req/s", ""),
             ("concurrency 64, p50 / p99", f"{us(r['direct-c64']['p50'])} / {us(r['direct-c64']['p99'])}",
              f"{us(r['gateway-c64']['p50'])} / {us(r['gateway-c64']['p99'])}", ""),
             ("gateway CPU per request, c=1 / c=64", "", f"{us(cpu['c1'])} / {us(cpu['c64'])}", ""),
             ("gateway RSS idle / after load", "", f"{kib(s['gateway_rss_kib']['idle'])} / "
              f"{kib(s['gateway_rss_kib']['after'])}", "")]
    target("added latency at c=1: p50 ≤ 30 µs", plus(a["p50"]), a["p50"] <= 30, "overhead")
    target("added latency at c=1: p99 ≤ 50 µs", plus(a["p99"]), a["p99"] <= 50, "overhead")
    target("≥ 20,000 req/s non-streaming on one gateway core (c=64)",
           f"{rate(r['gateway-c64']['rps'])} req/s", r["gateway-c64"]["rps"] >= 20_000, "overhead")
    target("CPU per request ≤ 50 µs (c=64)", us(cpu["c64"]), cpu["c64"] <= 50, "overhead")
    target("idle RSS ≤ 10 MiB", kib(s["gateway_rss_kib"]["idle"]), s["gateway_rss_kib"]["idle"] <= 10240, "overhead")
    return (header(s) + table(["measurement", "direct to mock", "through gateway", "added"], rows)
            + plots("overhead", [f"{n}.{p}.svg" for n in ("gateway-c1", "direct-c1", "gateway-c64")
                                 for p in ("latency-distribution", "latency-over-time")]))

def throughput(s):
    g = s["gateway"]
    rows = [(rate(p["rate"]), rate(p["rps"]), us(p["p50"]), us(p["p99"]), us(p["p99_9"]), f"{p['failure_pct']}%")
            for p in g["points"]]
    out = header(s) + table(["offered req/s", "achieved req/s", "p50", "p99", "p99.9", "failures"], rows)
    for key, label in (("p99_under_1ms", "1 ms"), ("p99_under_10ms", "10 ms")):
        b = g[key]
        out.append(f"- Highest rate with p99 under {label} and < 0.1% failures: "
                   + (f"**{rate(b['rate'])} req/s** (p99 {us(b['p99_us'])})." if b else "**none**."))
    if g["skipped_rates"]:
        out.append(f"- Rates above the first that missed 10 ms were skipped: {', '.join(rate(x) for x in g['skipped_rates'])}.")
    out.append("")
    b = g["p99_under_10ms"]
    target("≥ 20,000 req/s non-streaming on one gateway core (open loop, p99 < 10 ms)",
           f"{rate(b['rate']) if b else 'none'} req/s", bool(b) and b["rate"] >= 20_000, "throughput")
    return out + plots("throughput", ["gateway-sweep.throughput-vs-p99.svg", "gateway-sweep.latency-distribution.svg"])

def streaming(s):
    d, g, a = s["direct"], s["gateway"], s["added_us"]
    rows = [(f"{label} {q}", us(d[m][q]), us(g[m][q]), plus(a[f"{m}_{q}"]))
            for m, label in (("ttft", "time to first token"), ("gap", "inter-chunk gap"), ("ttlb", "time to last byte"))
            for q in ("p50", "p99")]
    rows.append(("failed streams", d["failures"], f"{g['failures']} of {g['streams']}", ""))
    measured = d["streams"] > 0 and g["streams"] > 0
    target("streaming: added TTFT p99 ≤ 200 µs", plus(a["ttft_p99"]) if measured else "no stream completed",
           (a["ttft_p99"] <= 200) if measured else None, "streaming")
    return (header(s) + [f"{s['chunks']} chunks paced {s['chunk_interval_ms']} ms, {rate(s['rate'])} streams/s open loop.", ""]
            + table(["measurement", "direct to mock", "through gateway", "added"], rows)
            + plots("streaming", [f"{n}.{p}.svg" for n in ("gateway", "direct") for p in ("latency-distribution", "latency-over-time")]))

def governed(s):
    out, rows = header(s), []
    for v, p99_target in (("memory", 50), ("redis", 120)):
        g = s.get(v)
        if not g or "not_run" in g:
            rows.append((v, "not run: the limiter's config is not accepted by this build", "", "", "", ""))
            target(f"{v} limiter: added p99 ≤ {p99_target} µs", "not run", None, "governed")
            continue
        a = g["added_us"]
        rows.append((v, plus(a["p50"]), plus(a["p99"]), f"{rate(g['c64']['rps'])} req/s",
                     us(g["gateway_cpu_us_per_request"]["c64"]), g.get("redis_round_trips_per_request", "—")))
        if v == "memory":
            target("governance on (memory): added p50 ≤ 30 µs", plus(a["p50"]), a["p50"] <= 30, "governed")
        target(f"governance on ({v}): added p99 ≤ {p99_target} µs", plus(a["p99"]), a["p99"] <= p99_target, "governed")
    return out + table(["limiter", "added p50 (c=1)", "added p99 (c=1)", "c=64 throughput", "CPU/request (c=64)",
                        "Redis round trips/request (c=64)"], rows) \
        + plots("governed", [f"{v}-c1.latency-distribution.svg" for v in ("memory", "redis")])

def faults(s):
    d, g, a = s["direct"], s["gateway"], s["added_us"]
    rows = [("failures", f"{d['failure_pct']}%", f"{g['failures']} of {g['owed']} ({g['failure_pct']}%)", ""),
            ("p50", us(d["p50"]), us(g["p50"]), plus(a["p50"])),
            ("p99", us(d["p99"]), us(g["p99"]), plus(a["p99"]))]
    target("one deployment of three failing: client-visible failures < 0.5%", f"{g['failure_pct']}%",
           g["failure_pct"] < 0.5, "faults")
    counters = ", ".join(f"`{k}` {v}" for k, v in sorted(s.get("gateway_counters", {}).items()))
    did = [f"What the gateway did (its /metrics after the run): {counters}.", ""] if counters else []
    return (header(s) + [f"{s['failing']}; {rate(s['rate'])} req/s open loop.", ""] + did
            + table(["measurement", "direct to a healthy mock", "through gateway", "added"], rows)
            + plots("faults", ["gateway.latency-over-time.svg", "gateway.latency-distribution.svg"]))

def soak(s):
    r = s["rss_kib"]
    rows = [("RSS idle / start / peak / end", f"{kib(r['idle'])} / {kib(r['start'])} / {kib(r['peak'])} / {kib(r['end'])}"),
            ("slope, whole run / second half", f"{s['slope_kib_per_min']:+} / {s['late_slope_kib_per_min']:+} KiB/min"),
            ("JSON (c=16)", f"{s['json']['requests']:,} requests, {rate(s['json']['rps'])} req/s, p99 {us(s['json']['p99'])}, {s['json']['failures']} failed"),
            ("streams (c=8)", f"{s['stream']['streams']:,} streams, {rate(s['stream']['rps'])}/s, TTFT p50 {us(s['stream']['ttft_p50'])}, {s['stream']['failures']} failed")]
    target(f"RSS flat under a {s['minutes']}-minute soak (second-half slope < 1 MiB per 10 min)",
           f"{s['late_slope_kib_per_min']:+} KiB/min", s["flat"], "soak")
    return header(s) + table(["measurement", "value"], rows) + plots("soak", ["json.rss.svg", "json.latency-over-time.svg"])

def neutral(s):
    r, a = s["runs"], s["added_us_c1"]
    cell = lambda t, f: f(r[t + "-c1"], r[t + "-c16"], r[t + "-c64"], r[t + "-sse-c64"])
    rows = []
    for label, f in (
            ("c=1 p50 / p99", lambda c1, c16, c64, s64: f"{us(c1['p50'])} / {us(c1['p99'])}"),
            ("c=1 added p50 / p99", None),
            ("c=16 p50 / p90 / p99", lambda c1, c16, c64, s64: f"{us(c16['p50'])} / {us(c16['p90'])} / {us(c16['p99'])}"),
            ("c=64 req/s", lambda c1, c16, c64, s64: rate(c64["rps"])),
            ("c=64 CPU per request (proxy)", lambda c1, c16, c64, s64: us(c64["proxy_cpu_us"]) if "proxy_cpu_us" in c64 else ""),
            ("streams/s at c=64 (24 chunks)", lambda c1, c16, c64, s64: rate(s64["rps"])),
            ("CPU per stream (proxy)", lambda c1, c16, c64, s64: us(s64["proxy_cpu_us"]) if "proxy_cpu_us" in s64 else ""),
            ("non-2xx / errors", lambda c1, c16, c64, s64: sum(x[k] for x in (c1, c16, c64, s64) for k in ("non_2xx", "errors")))):
        if f is None:
            rows.append((label, "", f"+{a['nginx']['p50']} / +{a['nginx']['p99']} µs", f"+{a['gateway']['p50']} / +{a['gateway']['p99']} µs"))
        else:
            rows.append((label,) + tuple(cell(t, f) for t in ("direct", "nginx", "gateway")))
    g64, gs = r["gateway-c64"], r["gateway-sse-c64"]
    target("neutral harness: CPU per request ≤ 50 µs (c=64)", us(g64["proxy_cpu_us"]), g64["proxy_cpu_us"] <= 50, "neutral")
    target("neutral harness: ≥ 20,000 req/s on one gateway core", f"{rate(g64['rps'])} req/s", g64["rps"] >= 20_000, "neutral")
    target("neutral harness: ≥ 14,000 streams/s (24 chunks) on one gateway core", f"{rate(gs['rps'])}/s", gs["rps"] >= 14_000, "neutral")
    target("neutral harness: added latency at c=1 no worse than nginx as a plain proxy (p50, p99)",
           f"+{a['gateway']['p50']} / +{a['gateway']['p99']} µs vs nginx +{a['nginx']['p50']} / +{a['nginx']['p99']} µs",
           a["gateway"]["p50"] <= a["nginx"]["p50"] and a["gateway"]["p99"] <= a["nginx"]["p99"], "neutral")
    return (header(s) + [f"nginx upstream ({s['bodies']}), wrk client, one thread; the proxy under test on the gateway's core.", ""]
            + table(["measurement", "direct to nginx", "nginx as a plain proxy", "gateway (governance on)"], rows))

RENDER = {"overhead": overhead, "neutral": neutral, "throughput": throughput, "streaming": streaming,
          "governed": governed, "faults": faults, "soak": soak}
blocks = {}
for name in SCENARIOS:
    s = load(name)
    body = RENDER[name](s) + notes(name) if s else \
        [f"_Not recorded yet: run `PIN=1 RECORD=1 loadtest/bench/{name}.sh`, then `loadtest/bench/docs.sh`._", ""]
    blocks[name] = body
rows = [(t, m, "met" if ok else "**not met**" if ok is False else "not measured", f"[{sc}](#{sc})")
        for t, m, ok, sc in targets]
blocks["targets"] = table(["target", "measured", "status", "scenario"], rows) if rows else ["_No scenario recorded yet._", ""]

doc = open(doc_path).read()
def marker(name, end): return f"<!-- bench:{name}:{'end' if end else 'start'} -->"
missing = [n for n in ["targets"] + SCENARIOS if marker(n, False) not in doc]
if missing:
    doc = doc.rstrip("\n") + "\n\n## Scenario results\n\nGenerated by `loadtest/bench/docs.sh` from " \
          "`docs/bench/*/summary.json`; edit the prose outside the markers, not inside.\n"
    for n in missing:
        title = "Targets, from the recorded scenarios" if n == "targets" else n
        doc += f"\n### {title}\n\n{marker(n, False)}\n{marker(n, True)}\n"
for name, body in blocks.items():
    pattern = re.compile(re.escape(marker(name, False)) + ".*?" + re.escape(marker(name, True)), re.S)
    text = marker(name, False) + "\n" + "\n".join(body).rstrip("\n") + "\n" + marker(name, True)
    doc = pattern.sub(lambda _: text, doc, count=1)
open(doc_path, "w").write(doc)
print(f"updated {doc_path}: " + ", ".join(f"{n} ({'recorded' if load(n) else 'not recorded'})" for n in SCENARIOS))
PY
