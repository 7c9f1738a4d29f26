//! Criterion benchmarks of the per-request CPU work the gateway adds:
//! request validation, upstream body building, SSE relaying, key hashing, deployment choice.

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portcullis_bench::{chat_body, stream_transcript};
use portcullis_engine::ChatRequest;
use portcullis_engine::provider::StreamUsage;
use portcullis_engine::routing::table::{DeploymentTable, GroupId, Outcome};
use portcullis_engine::sse::SseRelay;
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
                r.upstream_body(black_box("gpt-4o-mini-2024-07-18"), StreamUsage::OnRequest)
            })
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
        table.add(GroupId(0), format!("deployment-{i}").into(), 1 + i);
    }
    let mut rng = fastrand_like(42);
    let now = 1_000_000_000;
    let latency = Duration::from_millis(5);
    c.bench_function("acquire_and_release", |b| {
        b.iter(|| {
            if let Ok(lease) = table.acquire(GroupId(0), now, &mut |bound| rng() % bound) {
                table.release(lease.deployment, Outcome::Success { latency }, now);
            }
        })
    });
}

/// A tiny xorshift so the bench needs no RNG dependency.
fn fastrand_like(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

criterion_group!(benches, request, stream, auth, routing);
criterion_main!(benches);
