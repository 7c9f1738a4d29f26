//! Criterion benchmarks of the credential-echo guard: what scanning every upstream answer for
//! pieces of the provider's credential costs, on a typical JSON completion and a stream read
//! event by event (with the carry between reads).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portcullis_bench::{completion_body, stream_transcript};
use portcullis_engine::{Carry, EchoGuard, Secret};

/// Deterministic base62 text (not a real credential): `len` characters from `seed`.
fn noise(seed: u64, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from(ALPHABET[usize::try_from(x >> 58).unwrap_or(0) % ALPHABET.len()])
        })
        .collect()
}

/// A PEM-shaped 2048-bit PKCS#8 key: 26 lines of 64 base64 characters.
fn pem() -> String {
    let body = noise(7, 26 * 64);
    let lines: Vec<&str> = (0..26)
        .filter_map(|i| body.get(i * 64..i * 64 + 64))
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

fn scan(c: &mut Criterion) {
    let api_key = format!("sk-proj-{}", noise(1, 156));
    let pem = pem();
    let guards = [
        ("api_key", EchoGuard::new(&[Secret::ApiKey(&api_key)])),
        ("vertex_pem", EchoGuard::new(&[Secret::PrivateKeyPem(&pem)])),
    ];
    let completion = completion_body();
    let transcript = stream_transcript(40);
    let reads: Vec<&[u8]> = transcript
        .split_inclusive(|b| *b == b'\n')
        .filter(|l| l != b"\n")
        .collect();
    for (name, guard) in &guards {
        assert!(!guard.finds(&completion) && !guard.finds(&transcript));
        let mut group = c.benchmark_group(format!("echo_guard/{name}"));
        group.throughput(Throughput::Bytes(completion.len() as u64));
        group.bench_function(format!("completion_{}_bytes", completion.len()), |b| {
            b.iter(|| guard.finds(black_box(&completion)))
        });
        group.throughput(Throughput::Bytes(transcript.len() as u64));
        group.bench_function(
            format!("stream_{}_bytes_{}_reads", transcript.len(), reads.len()),
            |b| {
                b.iter(|| {
                    let mut carry = Carry::default();
                    reads
                        .iter()
                        .any(|r| guard.finds_in_chunk(&mut carry, black_box(r)))
                })
            },
        );
        group.finish();
    }
}

criterion_group!(benches, scan);
criterion_main!(benches);
