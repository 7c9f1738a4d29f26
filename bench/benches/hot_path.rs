//! Criterion benchmarks of the per-request CPU work the gateway adds:
//! request validation, upstream body building, SSE relaying, key hashing, deployment choice.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portcullis_bench::{chat_body, stream_transcript};
use portcullis_engine::clock::Picker;
use portcullis_engine::provider::openai::{SseRelay, upstream_body};
use portcullis_engine::provider::{StreamUsage, Vendor};
use portcullis_engine::routing::{DeploymentTable, Outcome};
use portcullis_engine::{
    ChatRequest, DeploymentSpec, GatewaySpec, GroupId, ProviderId, ProviderSpec, Providers,
};
use portcullis_storage::KeyHasher;

fn request(c: &mut Criterion) {
    let body = chat_body();
    let mut group = c.benchmark_group("request");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("parse_and_validate", |b| {
        b.iter(|| ChatRequest::parse(black_box(&body), 64))
    });
    let parsed = ChatRequest::parse(&body, 64).ok();
    group.bench_function("upstream_body", |b| {
        b.iter(|| {
            parsed.as_ref().map(|r| {
                upstream_body(
                    r,
                    black_box("gpt-4o-mini-2024-07-18"),
                    StreamUsage::OnRequest,
                )
            })
        })
    });
    // The whole provider seam: body plus the prepared endpoint URL and credential header.
    let mut spec = GatewaySpec::default();
    let url = "https://api.openai.com/v1".parse().ok();
    if let Some(url) = url {
        let id = spec.provider(
            ProviderSpec::new("openai", Vendor::Openai, url).credential("sk-bench-0123456789"),
        );
        spec.group("gpt-4o-mini", vec![DeploymentSpec::new(id, "gpt-4o-mini")]);
    }
    let providers = Providers::new(&spec).ok();
    let adapter = providers
        .as_ref()
        .and_then(|p| p.get(ProviderId(0)))
        .map(|p| p.adapter.clone());
    group.bench_function("upstream_request", |b| {
        b.iter(|| match (&parsed, &adapter) {
            (Some(r), Some(a)) => a.chat_request(r, black_box("gpt-4o-mini-2024-07-18")).ok(),
            _ => None,
        })
    });
    group.finish();
}

fn stream(c: &mut Criterion) {
    let transcript = stream_transcript(24);
    // One network read per event, as a provider flushing each token produces.
    let pieces: Vec<Bytes> = String::from_utf8_lossy(&transcript)
        .split_inclusive("\n\n")
        .map(|e| Bytes::copy_from_slice(e.as_bytes()))
        .collect();
    let mut group = c.benchmark_group("sse_relay");
    group.throughput(Throughput::Bytes(transcript.len() as u64));
    group.bench_function("24_chunks_one_read_per_event", |b| {
        b.iter(|| {
            let mut relay = SseRelay::new(1 << 20, true);
            for piece in &pieces {
                let _ = black_box(relay.push(piece.clone()));
            }
            relay.usage()
        })
    });
    let whole = Bytes::from(transcript.clone());
    group.bench_function("24_chunks_one_read", |b| {
        b.iter(|| {
            let mut relay = SseRelay::new(1 << 20, true);
            let _ = black_box(relay.push(whole.clone()));
            relay.usage()
        })
    });
    group.finish();
}

fn auth(c: &mut Criterion) {
    let hasher = KeyHasher::new(b"a-pepper-of-reasonable-length-0123456789");
    c.bench_function("key_hash", |b| {
        b.iter(|| {
            hasher.hash(black_box(
                "sk-pc-Jr0m5a9vKq1tR2wX3yZ4aB5cD6eF7gH8iJ9kL0mN1oP",
            ))
        })
    });
}

fn routing(c: &mut Criterion) {
    let mut table = DeploymentTable::new();
    for i in 0..4 {
        let provider = (ProviderId(0), "p".into());
        table.add(
            provider,
            GroupId(0),
            format!("deployment-{i}").into(),
            1 + i,
        );
    }
    let picker = XorShift(AtomicU64::new(42));
    let now = 1_000_000_000;
    let latency = Duration::from_millis(5);
    c.bench_function("acquire_and_release", |b| {
        b.iter(|| {
            if let Ok(lease) = table.acquire(GroupId(0), now, &picker) {
                table.release(lease.deployment, Outcome::Success { latency }, now);
            }
        })
    });
}

/// A tiny xorshift so the bench needs no RNG dependency.
#[derive(Debug)]
struct XorShift(AtomicU64);

impl Picker for XorShift {
    fn below(&self, bound: u64) -> u64 {
        let mut seed = self.0.load(Ordering::Relaxed);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        self.0.store(seed, Ordering::Relaxed);
        seed % bound
    }
}

criterion_group!(benches, request, stream, auth, routing);
criterion_main!(benches);
