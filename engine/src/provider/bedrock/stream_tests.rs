use super::super::eventstream::{encode, event_frame};
use super::*;

fn opts(include_usage: bool) -> StreamOptions {
    StreamOptions {
        include_usage,
        created: 1_700_000_000,
        id: "chatcmpl-1".into(),
        model: "claude".into(),
        max_event_bytes: 4096,
    }
}

fn transcript() -> Vec<u8> {
    let events: [(&str, &str); 11] = [
        ("messageStart", r#"{"role":"assistant","p":"abcd"}"#),
        (
            "contentBlockDelta",
            r#"{"contentBlockIndex":0,"delta":{"text":"Let me check."}}"#,
        ),
        ("contentBlockStop", r#"{"contentBlockIndex":0}"#),
        (
            "contentBlockStart",
            r#"{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tooluse_a","name":"weather"}}}"#,
        ),
        (
            "contentBlockDelta",
            r#"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\":"}}}"#,
        ),
        (
            "contentBlockStart",
            r#"{"contentBlockIndex":2,"start":{"toolUse":{"toolUseId":"tooluse_b","name":"time"}}}"#,
        ),
        (
            "contentBlockDelta",
            r#"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"\"Paris\"}"}}}"#,
        ),
        (
            "contentBlockDelta",
            r#"{"contentBlockIndex":2,"delta":{"toolUse":{"input":"{}"}}}"#,
        ),
        ("contentBlockStop", r#"{"contentBlockIndex":2}"#),
        ("messageStop", r#"{"stopReason":"tool_use"}"#),
        (
            "metadata",
            r#"{"usage":{"inputTokens":20,"outputTokens":9,"totalTokens":29,"cacheReadInputTokens":4},"metrics":{"latencyMs":100}}"#,
        ),
    ];
    events
        .iter()
        .flat_map(|(e, p)| event_frame(e, p.as_bytes()))
        .collect()
}

fn run(bytes: &[u8], at: usize, include_usage: bool) -> (String, StreamTranslator) {
    let mut t = StreamTranslator::new(opts(include_usage));
    let mut out = t
        .push(Bytes::copy_from_slice(&bytes[..at]))
        .unwrap()
        .to_vec();
    out.extend_from_slice(&t.push(Bytes::copy_from_slice(&bytes[at..])).unwrap());
    (String::from_utf8(out).unwrap(), t)
}

fn chunks(sse: &str) -> Vec<serde_json::Value> {
    sse.split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

#[test]
fn parallel_tool_calls_keep_stable_indices_at_every_split() {
    let bytes = transcript();
    let (whole, _) = run(&bytes, 0, true);
    for at in 0..=bytes.len() {
        let (out, mut t) = run(&bytes, at, true);
        assert_eq!(out, whole, "split at {at}");
        assert_eq!(t.finish(), Ok(()));
    }
    assert!(whole.ends_with("data: [DONE]\n\n"));
    let c = chunks(&whole);
    assert_eq!(
        c[0]["choices"][0]["delta"],
        serde_json::json!({"role": "assistant", "content": ""})
    );
    assert_eq!(c[1]["choices"][0]["delta"]["content"], "Let me check.");
    let call = &c[2]["choices"][0]["delta"]["tool_calls"][0];
    assert_eq!(
        (call["index"].as_u64(), call["id"].as_str()),
        (Some(0), Some("tooluse_a"))
    );
    assert_eq!(c[4]["choices"][0]["delta"]["tool_calls"][0]["index"], 1);
    assert_eq!(c[5]["choices"][0]["delta"]["tool_calls"][0]["index"], 0);
    assert_eq!(
        c[5]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"],
        "\"Paris\"}"
    );
    assert_eq!(c[7]["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(c[8]["usage"]["prompt_tokens"], 24);
    assert_eq!(c[8]["choices"], serde_json::json!([]));
    let (_, t) = run(&bytes, 0, false);
    let usage = t.usage().unwrap();
    assert_eq!(
        (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.cached_tokens
        ),
        (24, 9, 4)
    );
}

#[test]
fn without_include_usage_there_is_no_usage_chunk() {
    let (out, _) = run(&transcript(), 0, false);
    assert!(!out.contains("\"usage\""));
    assert!(out.ends_with("data: [DONE]\n\n"));
}

#[test]
fn an_exception_frame_ends_the_stream_with_a_typed_error_after_the_output_before_it() {
    let mut bytes = event_frame("messageStart", br#"{"role":"assistant"}"#);
    bytes.extend(event_frame(
        "contentBlockDelta",
        br#"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#,
    ));
    bytes.extend(encode(
        &[
            (":exception-type", "throttlingException"),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        br#"{"message":"AKIACANARY secret leak"}"#,
    ));
    let mut t = StreamTranslator::new(opts(false));
    let out = t.push(Bytes::from(bytes)).unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("Hi") && !text.contains("AKIACANARY"));
    let e = StreamError::Provider { kind: "throttling" };
    assert_eq!(t.push(Bytes::new()), Err(e.clone()));
    assert_eq!(t.finish(), Err(e));
}

#[test]
fn a_stream_cut_before_metadata_is_truncated() {
    let bytes = transcript();
    let mut t = StreamTranslator::new(opts(false));
    t.push(Bytes::copy_from_slice(&bytes[..bytes.len() - 10]))
        .unwrap();
    assert!(!t.is_done());
    assert_eq!(t.finish(), Err(StreamError::Truncated));
}

#[test]
fn a_corrupt_frame_is_refused() {
    let mut bytes = transcript();
    bytes[40] ^= 0x55;
    let mut t = StreamTranslator::new(opts(false));
    let first = t.push(Bytes::from(bytes));
    let second = t.finish();
    assert!(
        first.is_err() || second == Err(StreamError::Malformed),
        "{first:?}"
    );
    assert_eq!(t.finish(), Err(StreamError::Malformed));
}

#[test]
fn a_frame_over_the_cap_is_refused() {
    let mut bytes = event_frame("messageStart", br#"{"role":"assistant"}"#);
    bytes.extend(event_frame("contentBlockDelta", &vec![b' '; 8192]));
    let mut t = StreamTranslator::new(opts(false));
    let out = t.push(Bytes::from(bytes)).unwrap();
    assert!(!out.is_empty());
    assert_eq!(t.finish(), Err(StreamError::EventTooLarge(4096)));
}

#[test]
fn reasoning_deltas_become_reasoning_content() {
    let mut bytes = event_frame("messageStart", br#"{"role":"assistant"}"#);
    bytes.extend(event_frame(
        "contentBlockDelta",
        br#"{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"Think."}}}"#,
    ));
    bytes.extend(event_frame(
        "contentBlockDelta",
        br#"{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"sig"}}}"#,
    ));
    bytes.extend(event_frame("messageStop", br#"{"stopReason":"end_turn"}"#));
    bytes.extend(event_frame(
        "metadata",
        br#"{"usage":{"inputTokens":1,"outputTokens":2}}"#,
    ));
    let (out, mut t) = run(&bytes, 0, false);
    let c = chunks(&out);
    assert_eq!(c.len(), 3, "{out}");
    assert_eq!(c[1]["choices"][0]["delta"]["reasoning_content"], "Think.");
    assert!(!out.contains("sig"));
    assert_eq!(t.finish(), Ok(()));
}

#[test]
fn a_guardrail_stop_finishes_with_content_filter() {
    let mut bytes = event_frame("messageStart", br#"{"role":"assistant"}"#);
    bytes.extend(event_frame(
        "messageStop",
        br#"{"stopReason":"guardrail_intervened"}"#,
    ));
    bytes.extend(event_frame(
        "metadata",
        br#"{"usage":{"inputTokens":1,"outputTokens":0}}"#,
    ));
    let (out, _) = run(&bytes, 0, false);
    assert_eq!(
        chunks(&out)[1]["choices"][0]["finish_reason"],
        "content_filter"
    );
}

/// Found by the `bedrock_stream_translator` fuzz target: a bad frame after `metadata` failed
/// the finished stream when it came in the same read, but was never read (the relay stops at
/// the end) when it came in a later one.
#[test]
fn bytes_after_the_end_are_ignored_in_the_same_read_too() {
    let mut complete = StreamTranslator::new(opts(true));
    let want = complete.push(Bytes::from(transcript())).unwrap();
    let oversized = event_frame("contentBlockDelta", &[b' '; 5000]);
    let mut corrupt = event_frame("contentBlockDelta", b"{}");
    corrupt[20] ^= 1;
    for trailer in [oversized, corrupt] {
        let mut bytes = transcript();
        bytes.extend_from_slice(&trailer);
        let mut t = StreamTranslator::new(opts(true));
        assert_eq!(t.push(Bytes::from(bytes)).unwrap(), want);
        assert!(t.is_done());
        assert_eq!(t.push(Bytes::from(trailer)).unwrap(), Bytes::new());
        assert_eq!(t.finish(), Ok(()));
    }
}
