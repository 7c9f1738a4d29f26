//! Criterion benchmarks of the Anthropic translations, each direction and each stream:
//! OpenAI request → Messages request, Messages response → chat completion, Messages SSE →
//! OpenAI chunks (the provider side); Messages request → canonical chat request, chat
//! completion → Messages response, OpenAI chunks → Messages SSE (the ingress side).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portcullis_bench::{chat_body, stream_transcript};
use portcullis_engine::ingress::anthropic::{ChunkToEvents, to_chat_request, to_messages_response};
use portcullis_engine::provider::anthropic::{
    AnthropicOptions, StreamOptions, StreamTranslator, build_request, translate_response,
};
use serde_json::{Map, Value, json};

/// A Messages SSE transcript: `deltas` text deltas, then one tool call in four pieces.
fn messages_transcript(deltas: usize) -> Vec<u8> {
    let mut out = String::from(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1,\"cache_read_input_tokens\":10}}}\n\n\
         event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    );
    for i in 0..deltas {
        out.push_str(&format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"token {i} \"}}}}\n\n"
        ));
    }
    out.push_str(
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    );
    out.push_str("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"get_weather\",\"input\":{}}}\n\n");
    for piece in ["{\\\"ci", "ty\\\": ", "\\\"Par", "is\\\"}"] {
        out.push_str(&format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{{\"type\":\"input_json_delta\",\"partial_json\":\"{piece}\"}}}}\n\n"
        ));
    }
    out.push_str(
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
    );
    out.push_str("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":30}}\n\n");
    out.push_str("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    out.into_bytes()
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn messages_request() -> Map<String, Value> {
    object(json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": [{ "type": "text", "text": "You are terse.", "cache_control": { "type": "ephemeral" } }],
        "tools": [{ "name": "get_weather", "description": "Weather", "input_schema": { "type": "object", "properties": { "city": { "type": "string" } } } }],
        "messages": [
            { "role": "user", "content": "What is the weather in Paris?" },
            { "role": "assistant", "content": [{ "type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": { "city": "Paris" } }] },
            { "role": "user", "content": [{ "type": "tool_result", "tool_use_id": "toolu_01", "content": "sunny" }] }
        ]
    }))
}

const MESSAGE_RESPONSE: &[u8] = br#"{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Let me check the weather for you."},{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":30,"cache_read_input_tokens":10,"cache_creation_input_tokens":0}}"#;

const CHAT_COMPLETION: &[u8] = br#"{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":25,"completion_tokens":30,"total_tokens":55,"prompt_tokens_details":{"cached_tokens":10}}}"#;

fn provider(c: &mut Criterion) {
    let mut group = c.benchmark_group("anthropic_provider");
    let chat = serde_json::from_slice::<Value>(&chat_body())
        .map(object)
        .unwrap_or_default();
    let options = AnthropicOptions::default();
    group.bench_function("build_request", |b| {
        b.iter(|| build_request(black_box(&chat), "claude-sonnet-4-5", &options))
    });
    group.throughput(criterion::Throughput::Bytes(MESSAGE_RESPONSE.len() as u64));
    group.bench_function("translate_response", |b| {
        b.iter(|| translate_response(black_box(MESSAGE_RESPONSE), 1_700_000_000))
    });
    let transcript = messages_transcript(24);
    group.throughput(Throughput::Bytes(transcript.len() as u64));
    group.bench_function("stream_translator_24_deltas_and_a_tool_call", |b| {
        b.iter(|| {
            let mut t = StreamTranslator::new(StreamOptions {
                include_usage: true,
                created: 1_700_000_000,
                max_event_bytes: 1 << 20,
            });
            let out = t.push(black_box(&transcript));
            (out, t.finish())
        })
    });
    group.finish();
}

fn ingress(c: &mut Criterion) {
    let mut group = c.benchmark_group("anthropic_ingress");
    let request = messages_request();
    group.bench_function("to_chat_request", |b| {
        b.iter(|| to_chat_request(black_box(&request)))
    });
    group.throughput(Throughput::Bytes(CHAT_COMPLETION.len() as u64));
    group.bench_function("to_messages_response", |b| {
        b.iter(|| to_messages_response(black_box(CHAT_COMPLETION), "claude-sonnet-4-5"))
    });
    let transcript = stream_transcript(24);
    group.throughput(Throughput::Bytes(transcript.len() as u64));
    group.bench_function("chunk_to_events_24_chunks", |b| {
        b.iter(|| {
            let mut t = ChunkToEvents::new("claude-sonnet-4-5", 1 << 20);
            let out = t.push(black_box(&transcript));
            (out, t.finish())
        })
    });
    group.finish();
}

criterion_group!(benches, provider, ingress);
criterion_main!(benches);
