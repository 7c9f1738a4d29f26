//! Criterion benchmarks of the Bedrock translations: OpenAI request → Converse body, Converse
//! response → chat completion, and ConverseStream (event-stream frame decoding, CRC checks
//! included) → OpenAI chunks.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portcullis_bench::chat_body;
use portcullis_engine::StreamTranslate;
use portcullis_engine::provider::bedrock::eventstream::event_frame;
use portcullis_engine::provider::bedrock::{
    Stamp, StreamOptions, StreamTranslator, build_request, translate_response,
};
use serde_json::{Map, Value, json};

/// A ConverseStream transcript: `deltas` text deltas, then one tool call in four pieces.
fn converse_transcript(deltas: usize) -> Vec<u8> {
    let mut events = vec![("messageStart", json!({ "role": "assistant" }))];
    for i in 0..deltas {
        events.push((
            "contentBlockDelta",
            json!({ "contentBlockIndex": 0, "delta": { "text": format!("token {i} ") } }),
        ));
    }
    events.push(("contentBlockStop", json!({ "contentBlockIndex": 0 })));
    events.push((
        "contentBlockStart",
        json!({ "contentBlockIndex": 1, "start": { "toolUse": { "toolUseId": "tooluse_1", "name": "get_weather" } } }),
    ));
    for piece in ["{\"ci", "ty\": ", "\"Par", "is\"}"] {
        events.push((
            "contentBlockDelta",
            json!({ "contentBlockIndex": 1, "delta": { "toolUse": { "input": piece } } }),
        ));
    }
    events.push(("contentBlockStop", json!({ "contentBlockIndex": 1 })));
    events.push(("messageStop", json!({ "stopReason": "tool_use" })));
    events.push((
        "metadata",
        json!({ "usage": { "inputTokens": 25, "outputTokens": 30, "totalTokens": 55 }, "metrics": { "latencyMs": 300 } }),
    ));
    events
        .iter()
        .flat_map(|(name, payload)| event_frame(name, payload.to_string().as_bytes()))
        .collect()
}

const CONVERSE_RESPONSE: &[u8] = br#"{"output":{"message":{"role":"assistant","content":[{"text":"Let me check the weather for you."},{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather","input":{"city":"Paris"}}}]}},"stopReason":"tool_use","usage":{"inputTokens":25,"outputTokens":30,"totalTokens":55,"cacheReadInputTokens":10},"metrics":{"latencyMs":300}}"#;

fn bedrock(c: &mut Criterion) {
    let mut group = c.benchmark_group("bedrock_provider");
    let chat = match serde_json::from_slice::<Value>(&chat_body()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    group.bench_function("build_request", |b| {
        b.iter(|| build_request(black_box(&chat)))
    });
    group.throughput(Throughput::Bytes(CONVERSE_RESPONSE.len() as u64));
    group.bench_function("translate_response", |b| {
        let stamp = Stamp {
            id: "chatcmpl-bedrock-1",
            model: "claude-on-bedrock",
            created: 1_700_000_000,
        };
        b.iter(|| translate_response(black_box(CONVERSE_RESPONSE), stamp))
    });
    let transcript = Bytes::from(converse_transcript(24));
    group.throughput(Throughput::Bytes(transcript.len() as u64));
    group.bench_function("stream_translator_24_deltas_and_a_tool_call", |b| {
        b.iter(|| {
            let mut t = StreamTranslator::new(StreamOptions {
                include_usage: true,
                created: 1_700_000_000,
                id: "chatcmpl-bedrock-1".into(),
                model: "claude-on-bedrock".into(),
                max_event_bytes: 1 << 20,
            });
            let out = t.push(black_box(transcript.clone()));
            (out, t.finish())
        })
    });
    group.finish();
}

criterion_group!(benches, bedrock);
criterion_main!(benches);
