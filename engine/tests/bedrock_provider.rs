//! Golden fixtures for AWS Bedrock as a provider: OpenAI requests in, Converse bodies out;
//! Converse responses and ConverseStream transcripts (the documented event payloads, framed
//! here in the AWS event-stream encoding) back, split at every byte offset.
//!
//! `BLESS=1 cargo test -p portcullis-engine --test bedrock_provider` rewrites the expected
//! files; review the diff before committing it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use bytes::Bytes;
use portcullis_engine::provider::bedrock::eventstream::{encode, event_frame};
use portcullis_engine::provider::bedrock::{
    Stamp, StreamOptions, StreamTranslator, build_request, translate_response,
};
use portcullis_engine::{StreamError, StreamTranslate, Usage};
use serde_json::Value;

const CREATED: u64 = 1_700_000_000;

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bedrock")
        .join(name)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn golden(name: &str, actual: &[u8]) {
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(path(name), actual).unwrap();
    }
    let expected = fixture(name);
    assert_eq!(
        String::from_utf8_lossy(actual),
        String::from_utf8_lossy(&expected),
        "{name}"
    );
}

fn golden_json(name: &str, actual: &[u8]) {
    let value: Value = serde_json::from_slice(actual).unwrap();
    let mut pretty = serde_json::to_vec_pretty(&value).unwrap();
    pretty.push(b'\n');
    golden(name, &pretty);
}

/// A transcript file (`[{event, payload}]`) as event-stream bytes.
fn frames(name: &str) -> Vec<u8> {
    let events: Vec<Value> = serde_json::from_slice(&fixture(name)).unwrap();
    events
        .iter()
        .flat_map(|e| {
            event_frame(
                e["event"].as_str().unwrap(),
                e["payload"].to_string().as_bytes(),
            )
        })
        .collect()
}

fn translator(include_usage: bool) -> StreamTranslator {
    StreamTranslator::new(StreamOptions {
        include_usage,
        created: CREATED,
        id: "chatcmpl-bedrock-1".into(),
        model: "claude-on-bedrock".into(),
        max_event_bytes: 4096,
    })
}

/// The output for `bytes` pushed in two parts split at every offset: all equal, returned.
fn every_split(bytes: &[u8], include_usage: bool) -> (Vec<u8>, Option<Usage>) {
    let mut first: Option<Vec<u8>> = None;
    let mut usage = None;
    for at in 0..=bytes.len() {
        let mut t = translator(include_usage);
        let mut out = t
            .push(Bytes::copy_from_slice(&bytes[..at]))
            .unwrap()
            .to_vec();
        out.extend_from_slice(&t.push(Bytes::copy_from_slice(&bytes[at..])).unwrap());
        assert_eq!(t.finish(), Ok(()), "split at {at}");
        match &first {
            None => first = Some(out),
            Some(f) => assert_eq!(&out, f, "split at {at}"),
        }
        usage = t.usage();
    }
    (first.unwrap_or_default(), usage)
}

#[test]
fn request_with_tools_image_and_tool_results_translates_to_converse() {
    let Value::Object(chat) =
        serde_json::from_slice(&fixture("request_tools.openai.json")).unwrap()
    else {
        panic!("not an object")
    };
    golden_json("request_tools.bedrock.json", &build_request(&chat).unwrap());
}

#[test]
fn parallel_tool_use_response_becomes_tool_calls_with_cached_usage() {
    let stamp = Stamp {
        id: "chatcmpl-bedrock-1",
        model: "claude-on-bedrock",
        created: CREATED,
    };
    let (body, usage) =
        translate_response(&fixture("response_tool_use.bedrock.json"), stamp).unwrap();
    golden_json("response_tool_use.openai.json", &body);
    assert_eq!(
        usage,
        Usage {
            prompt_tokens: 503,
            completion_tokens: 84,
            cached_tokens: 128,
            cache_write_tokens: 0
        }
    );
}

#[test]
fn text_response_translates_with_its_stop_reason() {
    let stamp = Stamp {
        id: "chatcmpl-bedrock-1",
        model: "claude-on-bedrock",
        created: CREATED,
    };
    let (body, usage) = translate_response(&fixture("response_text.bedrock.json"), stamp).unwrap();
    golden_json("response_text.openai.json", &body);
    assert_eq!(usage, Usage::new(125, 60));
}

#[test]
fn stream_with_parallel_tool_use_gives_the_same_chunks_at_every_split() {
    let (out, usage) = every_split(&frames("stream_tools.bedrock.json"), true);
    golden("stream_tools.openai.sse", &out);
    assert_eq!(usage, Some(Usage::new(375, 84)));
}

#[test]
fn text_stream_stopped_by_max_tokens_finishes_with_length() {
    let (out, _) = every_split(&frames("stream_text.bedrock.json"), false);
    golden("stream_text.openai.sse", &out);
}

#[test]
fn an_exception_frame_mid_stream_is_a_terminal_typed_error() {
    // The first three events (role, two text deltas), then an exception frame.
    let events: Vec<Value> = serde_json::from_slice(&fixture("stream_text.bedrock.json")).unwrap();
    let mut bytes: Vec<u8> = events[..3]
        .iter()
        .flat_map(|e| {
            event_frame(
                e["event"].as_str().unwrap(),
                e["payload"].to_string().as_bytes(),
            )
        })
        .collect();
    bytes.extend(encode(
        &[
            (":exception-type", "modelStreamErrorException"),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        br#"{"message":"Model stream error: AKIAIOSFODNN7EXAMPLE","originalStatusCode":500}"#,
    ));
    for at in 0..=bytes.len() {
        let mut t = translator(false);
        let mut out = Vec::new();
        for part in [&bytes[..at], &bytes[at..]] {
            if let Ok(b) = t.push(Bytes::copy_from_slice(part)) {
                out.extend_from_slice(&b);
            }
        }
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("ünïcödé") && !text.contains("AKIA"),
            "split at {at}"
        );
        assert!(!text.contains("[DONE]"));
        assert_eq!(
            t.finish(),
            Err(StreamError::Provider {
                kind: "model_stream_error"
            }),
            "split at {at}"
        );
    }
}
