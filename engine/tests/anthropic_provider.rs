//! Golden fixtures for Anthropic as a provider: OpenAI requests in, Messages API out, and
//! Anthropic responses and stream transcripts (from the documented wire format) back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod anthropic_support;

use anthropic_support::{Translate, every_split, fixture, golden, golden_json, json};
use bytes::Bytes;
use portcullis_engine::Usage;
use portcullis_engine::provider::anthropic::{
    AnthropicOptions, ErrorKind, StreamError, StreamOptions, StreamTranslator, build_request,
    translate_response,
};
use serde_json::Value;

const CREATED: u64 = 1_700_000_000;

impl Translate for StreamTranslator {
    fn push(&mut self, bytes: &[u8]) -> Result<Bytes, StreamError> {
        StreamTranslator::push(self, bytes)
    }
    fn finish(&mut self) -> Result<(), StreamError> {
        StreamTranslator::finish(self)
    }
}

fn request(name: &str) -> Vec<u8> {
    let Value::Object(chat) = json(name) else {
        panic!("not an object")
    };
    build_request(
        &chat,
        "claude-sonnet-4-5-20250929",
        &AnthropicOptions::default(),
    )
    .unwrap()
}

fn stream(include_usage: bool) -> impl Fn() -> StreamTranslator {
    move || {
        StreamTranslator::new(StreamOptions {
            include_usage,
            created: CREATED,
            max_event_bytes: 4096,
        })
    }
}

#[test]
fn request_with_tools_images_and_cache_control_translates_to_the_messages_api() {
    golden_json(
        "request_tools.anthropic.json",
        &request("request_tools.openai.json"),
    );
}

#[test]
fn structured_output_and_reasoning_effort_translate_to_output_config_and_thinking() {
    golden_json(
        "request_structured.anthropic.json",
        &request("request_structured.openai.json"),
    );
}

#[test]
fn tool_use_response_becomes_tool_calls_with_cache_write_usage() {
    let (body, usage) =
        translate_response(&fixture("response_tool_use.anthropic.json"), CREATED).unwrap();
    golden_json("response_tool_use.openai.json", &body);
    let want = Usage {
        prompt_tokens: 1496,
        completion_tokens: 91,
        cached_tokens: 0,
        cache_write_tokens: 1024,
    };
    assert_eq!(usage, want);
}

#[test]
fn thinking_response_maps_to_reasoning_content_and_counts_cache_reads() {
    let (body, usage) =
        translate_response(&fixture("response_thinking.anthropic.json"), CREATED).unwrap();
    golden_json("response_thinking.openai.json", &body);
    assert_eq!(
        usage,
        Usage {
            prompt_tokens: 1818,
            completion_tokens: 52,
            cached_tokens: 1800,
            cache_write_tokens: 0
        }
    );
}

#[test]
fn malformed_responses_are_refused() {
    assert!(translate_response(b"{\"type\":\"message\"}", CREATED).is_err());
    assert!(translate_response(b"<html>", CREATED).is_err());
}

#[test]
fn text_stream_with_cache_usage_is_identical_however_split() {
    let (out, err) = every_split(stream(true), &fixture("stream_text_cache.anthropic.sse"));
    assert_eq!(err, None);
    golden("stream_text_cache.openai.sse", &out);
    let mut t = stream(true)();
    t.push(&fixture("stream_text_cache.anthropic.sse")).unwrap();
    assert!(t.is_done());
    assert_eq!(
        t.usage(),
        Some(Usage {
            prompt_tokens: 2073,
            completion_tokens: 15,
            cached_tokens: 2048,
            cache_write_tokens: 0
        })
    );
}

#[test]
fn parallel_tool_calls_keep_their_indices_ids_and_names() {
    let (out, err) = every_split(
        stream(false),
        &fixture("stream_parallel_tools.anthropic.sse"),
    );
    assert_eq!(err, None);
    golden("stream_parallel_tools.openai.sse", &out);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("\"finish_reason\":\"tool_calls\"").count(), 1);
    assert!(
        !text.contains("\"usage\""),
        "usage chunk only when asked for"
    );
    assert!(text.starts_with("data: {\"id\":\"msg_01ParallelTools\""));
    assert!(text.ends_with("data: [DONE]\n\n"));
}

#[test]
fn thinking_stream_maps_to_reasoning_content_and_drops_signatures() {
    let (out, err) = every_split(stream(true), &fixture("stream_thinking.anthropic.sse"));
    assert_eq!(err, None);
    golden("stream_thinking.openai.sse", &out);
    assert!(!String::from_utf8(out).unwrap().contains("EqQB"));
}

#[test]
fn mid_stream_error_event_is_typed_after_the_output_before_it() {
    let (out, err) = every_split(stream(true), &fixture("stream_error.anthropic.sse"));
    golden("stream_error.openai.sse", &out);
    assert_eq!(
        err,
        Some(StreamError::Upstream {
            kind: ErrorKind::Overloaded,
            message: "Overloaded".into()
        })
    );
}

#[test]
fn a_stream_cut_before_message_stop_is_truncated() {
    let whole = fixture("stream_text_cache.anthropic.sse");
    let cut = &whole[..whole.len() / 2];
    let (out, err) = every_split(stream(true), cut);
    assert_eq!(err, Some(StreamError::Truncated));
    assert!(!String::from_utf8(out).unwrap().contains("[DONE]"));
}

#[test]
fn an_event_past_the_cap_is_refused() {
    let mut t = StreamTranslator::new(StreamOptions {
        include_usage: false,
        created: 0,
        max_event_bytes: 64,
    });
    let big = format!(
        "event: ping\ndata: {{\"type\":\"ping\",\"pad\":\"{}\"}}\n\n",
        "x".repeat(100)
    );
    assert_eq!(t.push(big.as_bytes()), Err(StreamError::EventTooLarge(64)));
    assert_eq!(t.push(b"\n\n"), Err(StreamError::EventTooLarge(64)));
}

#[test]
fn events_out_of_order_are_malformed() {
    let mut t = stream(false)();
    let delta = b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n";
    assert!(matches!(t.push(delta), Err(StreamError::Malformed(_))));
}

#[test]
fn server_tool_blocks_are_skipped_without_breaking_client_tool_indices() {
    let transcript = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_s\",\"model\":\"c\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":\"web_search\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"query\\\":\\\"x\\\"}\"}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\",\"input\":{}}}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":3}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    let (out, err) = every_split(stream(false), transcript.as_bytes());
    assert_eq!(err, None);
    let text = String::from_utf8(out).unwrap();
    assert!(
        !text.contains("srvtoolu_1") && !text.contains("query"),
        "{text}"
    );
    assert!(
        text.contains("\"tool_calls\":[{\"index\":0,\"id\":\"toolu_1\""),
        "{text}"
    );
}
