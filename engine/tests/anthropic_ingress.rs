//! Golden fixtures for the Anthropic Messages ingress (Anthropic requests in, OpenAI-dialect
//! answers back as Messages responses and events), and the tool-calling round trips through
//! both directions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod anthropic_support;

use anthropic_support::{Translate, every_split, fixture, golden, golden_json, json};
use bytes::Bytes;
use portcullis_engine::Usage;
use portcullis_engine::ingress::anthropic::{
    ChunkToEvents, error_body, error_event, passthrough_body, to_chat_request, to_messages_response,
};
use portcullis_engine::provider::anthropic::{
    AnthropicOptions, ErrorKind, StreamError, TranslateError, build_request,
};
use serde_json::{Map, Value, json};

impl Translate for ChunkToEvents {
    fn push(&mut self, bytes: &[u8]) -> Result<Bytes, StreamError> {
        ChunkToEvents::push(self, bytes)
    }
    fn finish(&mut self) -> Result<(), StreamError> {
        ChunkToEvents::finish(self)
    }
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn events() -> ChunkToEvents {
    ChunkToEvents::new("claude-public", 4096)
}

#[test]
fn messages_request_translates_to_the_canonical_chat_request() {
    let chat = to_chat_request(&object(json("ingress_request.anthropic.json"))).unwrap();
    golden_json(
        "ingress_request.openai.json",
        &serde_json::to_vec(&chat).unwrap(),
    );
}

#[test]
fn chat_completion_with_tool_calls_becomes_a_messages_response() {
    let (body, usage) = to_messages_response(
        &fixture("ingress_response_tools.openai.json"),
        "claude-public",
    )
    .unwrap();
    golden_json("ingress_response_tools.anthropic.json", &body);
    let want = Usage {
        prompt_tokens: 1200,
        completion_tokens: 40,
        cached_tokens: 1024,
        cache_write_tokens: 0,
    };
    assert_eq!(usage, want);
}

#[test]
fn streamed_parallel_tool_calls_become_sequential_tool_use_blocks_however_split() {
    let (out, err) = every_split(events, &fixture("ingress_stream_tools.openai.sse"));
    assert_eq!(err, None);
    golden("ingress_stream_tools.anthropic.sse", &out);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("event: message_stop").count(), 1);
    let mut t = events();
    t.push(&fixture("ingress_stream_tools.openai.sse")).unwrap();
    assert!(t.is_done());
    assert_eq!(t.usage().map(|u| u.cached_tokens), Some(1024));
}

#[test]
fn streamed_text_ends_with_stop_reason_and_usage_however_split() {
    let (out, err) = every_split(events, &fixture("ingress_stream_text.openai.sse"));
    assert_eq!(err, None);
    golden("ingress_stream_text.anthropic.sse", &out);
}

#[test]
fn interleaved_tool_arguments_are_refused_not_misattributed() {
    let chunk = |calls: Value| {
        format!(
            "data: {}\n\n",
            json!({"id": "c", "choices": [{"index": 0, "delta": {"tool_calls": calls}}]})
        )
    };
    let mut t = events();
    t.push(
        chunk(json!([{"index": 0, "id": "a", "function": {"name": "f", "arguments": "{"}}]))
            .as_bytes(),
    )
    .unwrap();
    t.push(
        chunk(json!([{"index": 1, "id": "b", "function": {"name": "g", "arguments": "{}"}}]))
            .as_bytes(),
    )
    .unwrap();
    let late = t.push(chunk(json!([{"index": 0, "function": {"arguments": "}"}}])).as_bytes());
    assert!(matches!(late, Err(StreamError::Malformed(_))));
}

#[test]
fn a_mid_stream_error_object_is_typed_and_scrubbed() {
    let body = b"data: {\"error\":{\"message\":\"boom sk-proj-0123456789abcdefghij\",\"type\":\"server_error\"}}\n\n";
    let mut t = events();
    let Err(StreamError::Upstream { kind, message }) = t.push(body) else {
        panic!("expected an error")
    };
    assert_eq!(kind, ErrorKind::Api);
    assert_eq!(message, "boom [redacted]");
}

#[test]
fn strict_validation_names_the_offending_field() {
    let base =
        json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
    let with = |k: &str, v: Value| {
        let mut m = object(base.clone());
        m.insert(k.into(), v);
        to_chat_request(&m)
    };
    assert!(to_chat_request(&object(base.clone())).is_ok());
    assert_eq!(
        with("api_base", json!("http://x")),
        Err(TranslateError::UnknownField("api_base".into()))
    );
    assert_eq!(
        with("temperature", json!(1.5)).unwrap_err().kind(),
        "invalid_field"
    );
    assert_eq!(
        with("metadata", json!({"tenant": "x"})),
        Err(TranslateError::UnknownField("metadata.tenant".into()))
    );
    let server_tool = json!([{"type": "web_search_20250305", "name": "web_search"}]);
    assert_eq!(
        with("tools", server_tool),
        Err(TranslateError::Unsupported(
            "tools[0].type: web_search_20250305".into()
        ))
    );
    let mut m = object(base.clone());
    m.remove("max_tokens");
    assert_eq!(
        to_chat_request(&m),
        Err(TranslateError::MissingField("max_tokens".into()))
    );
    let bad_role = json!([{"role": "system", "content": "x"}]);
    assert!(
        with("messages", bad_role)
            .unwrap_err()
            .to_string()
            .contains("messages[0].role")
    );
    let doc = json!([{"role": "user", "content": [{"type": "document", "source": {}}]}]);
    assert_eq!(
        with("messages", doc),
        Err(TranslateError::Unsupported(
            "messages[0].content[0].type: document".into()
        ))
    );
    assert!(
        with("top_k", json!(5)).unwrap().get("top_k").is_none(),
        "top_k is dropped"
    );
}

#[test]
fn passthrough_swaps_only_the_model() {
    let body = object(json("ingress_request.anthropic.json"));
    let out: Value =
        serde_json::from_slice(&passthrough_body(&body, "claude-sonnet-4-5-20250929")).unwrap();
    let mut want = body.clone();
    want.insert("model".into(), "claude-sonnet-4-5-20250929".into());
    assert_eq!(out, Value::Object(want));
}

#[test]
fn errors_take_the_anthropic_shape() {
    let body: Value =
        serde_json::from_slice(&error_body(ErrorKind::Overloaded, "Overloaded")).unwrap();
    assert_eq!(
        body,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    );
    let event = error_event(ErrorKind::ContextWindowExceeded, "too long");
    assert_eq!(
        String::from_utf8(event).unwrap(),
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"too long\"}}\n\n"
    );
}

#[test]
fn anthropic_tool_conversation_round_trips_through_the_canonical_form() {
    // Anthropic client → canonical → Anthropic provider gives back the client's request.
    let original = object(json!({
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 512,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "21C"}]},
                {"type": "text", "text": "Which is warmer?"}
            ]}
        ],
        "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
        "stop_sequences": ["END"],
        "temperature": 0.3,
        "metadata": {"user_id": "u-1"},
        "stream": true
    }));
    let chat = to_chat_request(&original).unwrap();
    let back = build_request(
        &chat,
        "claude-sonnet-4-5-20250929",
        &AnthropicOptions::default(),
    )
    .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&back).unwrap(),
        Value::Object(original)
    );
}

#[test]
fn openai_tool_conversation_round_trips_through_the_messages_api() {
    // OpenAI client → Anthropic provider body → read back as canonical gives the same request.
    let original = object(json!({
        "model": "claude-public",
        "max_tokens": 512,
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_2", "content": "21C"},
            {"role": "user", "content": [{"type": "text", "text": "Which is warmer?"}]}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": false,
        "stop": ["END"],
        "user": "u-1"
    }));
    let messages = build_request(&original, "claude-public", &AnthropicOptions::default()).unwrap();
    let back = to_chat_request(&object(serde_json::from_slice(&messages).unwrap())).unwrap();
    assert_eq!(Value::Object(back), Value::Object(original));
}
