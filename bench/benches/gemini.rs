//! Criterion benchmarks of the Gemini translations: OpenAI request → generateContent body,
//! GenerateContentResponse → chat completion, streamGenerateContent SSE → OpenAI chunks.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portcullis_bench::chat_body;
use portcullis_engine::StreamTranslate;
use portcullis_engine::provider::gemini::{
    StreamOptions, StreamTranslator, build_request, translate_response,
};
use serde_json::{Map, Value};

/// A Gemini SSE transcript: `deltas` text events, then two parallel function calls and the
/// finish with usage.
fn gemini_transcript(deltas: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..deltas {
        out.push_str(&format!(
            "data: {{\"candidates\": [{{\"content\": {{\"parts\": [{{\"text\": \"token {i} \"}}],\"role\": \"model\"}},\"index\": 0}}],\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"r1\"}}\r\n\r\n"
        ));
    }
    out.push_str("data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"get_weather\",\"args\": {\"city\": \"Paris\"}}},{\"functionCall\": {\"name\": \"get_weather\",\"args\": {\"city\": \"Oslo\"}}}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 25,\"candidatesTokenCount\": 30,\"totalTokenCount\": 55,\"cachedContentTokenCount\": 10},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"r1\"}\r\n\r\n");
    out.into_bytes()
}

const RESPONSE: &[u8] = br#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Let me check the weather for you."},{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":25,"candidatesTokenCount":30,"totalTokenCount":55,"cachedContentTokenCount":10},"modelVersion":"gemini-2.5-flash","responseId":"r1"}"#;

fn provider(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemini_provider");
    let chat: Map<String, Value> = serde_json::from_slice(&chat_body()).unwrap_or_default();
    group.bench_function("build_request", |b| {
        b.iter(|| build_request(black_box(&chat)))
    });
    group.throughput(Throughput::Bytes(RESPONSE.len() as u64));
    group.bench_function("translate_response", |b| {
        b.iter(|| translate_response(black_box(RESPONSE), "gemini-2.5-flash", 1_700_000_000))
    });
    let transcript = Bytes::from(gemini_transcript(24));
    group.throughput(Throughput::Bytes(transcript.len() as u64));
    group.bench_function("stream_translator_24_deltas_and_two_calls", |b| {
        b.iter(|| {
            let mut t = StreamTranslator::new(StreamOptions {
                include_usage: true,
                created: 1_700_000_000,
                max_event_bytes: 1 << 20,
                choices: 1,
                model: "gemini-public".into(),
            });
            let out = t.push(black_box(transcript.clone()));
            (out, t.finish())
        })
    });
    group.finish();
}

criterion_group!(benches, provider);
criterion_main!(benches);
