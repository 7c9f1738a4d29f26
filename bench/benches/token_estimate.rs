//! Criterion benchmarks of the prompt estimate admission takes: the one-pass heuristic
//! against the embedded tokenizer (o200k for gpt-4o, cl100k × factor for Claude and for a
//! model of unknown family), on 1 KB, 16 KB and 256 KB prompts of mixed prose and code.
//! Before the benches it reports, on stderr, the time to load each rank file and the
//! resident memory before and after.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group};
use portcullis_engine::cost::tokenizer::{Encoding, load_now};
use portcullis_engine::cost::{Estimator, estimate_chat_prompt_tokens};
use serde_json::{Map, Value, json};

const SAMPLE: &str = concat!(
    include_str!("../../engine/src/cost/testdata/english.txt"),
    include_str!("../../engine/src/cost/testdata/rust.txt"),
    include_str!("../../engine/src/cost/testdata/markdown.txt"),
    include_str!("../../engine/src/cost/testdata/json.txt"),
    include_str!("../../engine/src/cost/testdata/german.txt"),
);

/// A chat body whose user message is `bytes` long.
fn body(bytes: usize) -> Map<String, Value> {
    let mut text = String::with_capacity(bytes + SAMPLE.len());
    while text.len() < bytes {
        text.push_str(SAMPLE);
    }
    let mut cut = bytes;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    let body = json!({"model": "m", "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": text}]});
    match body {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// VmRSS of this process in KiB, from /proc/self/status (0 where there is none).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn report_load() {
    let before = rss_kib();
    for encoding in [Encoding::O200k, Encoding::Cl100k] {
        let started = Instant::now();
        let ok = load_now(encoding);
        eprintln!(
            "load {encoding:?}: {:?} (ok: {ok}), RSS {} KiB after (was {before} KiB)",
            started.elapsed(),
            rss_kib()
        );
    }
}

fn estimates(c: &mut Criterion) {
    let gpt = Estimator::for_models(["gpt-4o"]);
    let claude = Estimator::for_models(["claude-sonnet-4-5"]);
    let unknown = Estimator::unknown();
    for (label, bytes) in [("1KB", 1_024), ("16KB", 16 * 1_024), ("256KB", 256 * 1_024)] {
        let body = body(bytes);
        let mut group = c.benchmark_group(format!("token_estimate/{label}"));
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function("heuristic", |b| {
            b.iter(|| estimate_chat_prompt_tokens(black_box(&body)))
        });
        group.bench_function("o200k_gpt4o", |b| {
            b.iter(|| gpt.chat_prompt_tokens(black_box(&body)))
        });
        group.bench_function("cl100k_claude", |b| {
            b.iter(|| claude.chat_prompt_tokens(black_box(&body)))
        });
        group.bench_function("unknown", |b| {
            b.iter(|| unknown.chat_prompt_tokens(black_box(&body)))
        });
        group.finish();
    }
}

criterion_group!(benches, estimates);

fn main() {
    report_load();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
