//! Golden fixtures for Google Gemini as a provider: OpenAI requests in, `generateContent`
//! bodies out; Gemini responses and `streamGenerateContent?alt=sse` transcripts (from the
//! documented wire format) back, streams split at every byte offset.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use bytes::Bytes;
use portcullis_engine::provider::gemini::{
    ResponseError, StreamOptions, StreamTranslator, TranslateError, build_request,
    translate_response,
};
use portcullis_engine::{StreamError, StreamTranslate, Usage};
use serde_json::{Map, Value, json};

const CREATED: u64 = 1_700_000_000;

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gemini")
        .join(name)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// Compares with the golden file; `PORTCULLIS_BLESS=1` writes a missing one (review it).
fn golden(name: &str, actual: &[u8]) {
    let p = path(name);
    if !p.exists() && std::env::var("PORTCULLIS_BLESS").as_deref() == Ok("1") {
        std::fs::write(&p, actual).unwrap();
        return;
    }
    let want = fixture(name);
    assert!(
        want == actual,
        "{name} differs.\n--- want\n{}\n--- got\n{}",
        String::from_utf8_lossy(&want),
        String::from_utf8_lossy(actual)
    );
}

fn golden_json(name: &str, actual: &[u8]) {
    let value: Value = serde_json::from_slice(actual).unwrap();
    let mut pretty = serde_json::to_vec_pretty(&value).unwrap();
    pretty.push(b'\n');
    golden(name, &pretty);
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn request(name: &str) -> Vec<u8> {
    let chat = object(serde_json::from_slice(&fixture(name)).unwrap());
    build_request(&chat).unwrap()
}

fn translator(include_usage: bool, choices: u32) -> impl Fn() -> StreamTranslator {
    move || {
        StreamTranslator::new(StreamOptions {
            include_usage,
            created: CREATED,
            max_event_bytes: 1 << 16,
            choices,
            model: "gemini-public".into(),
        })
    }
}

fn run(t: &mut StreamTranslator, parts: &[&[u8]]) -> (Vec<u8>, Option<StreamError>) {
    let mut out = Vec::new();
    for part in parts {
        match t.push(Bytes::copy_from_slice(part)) {
            Ok(bytes) => out.extend_from_slice(&bytes),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, t.finish().err())
}

fn crlf(lf: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(lf)
        .replace('\n', "\r\n")
        .into_bytes()
}

/// The output for `input` whole, split at every byte offset, one byte at a time, LF and CRLF;
/// asserts they are all the same.
fn every_split(
    make: impl Fn() -> StreamTranslator,
    input: &[u8],
) -> (Vec<u8>, Option<StreamError>) {
    let whole = run(&mut make(), &[input]);
    for variant in [input.to_vec(), crlf(input)] {
        let v = &variant[..];
        assert_eq!(run(&mut make(), &[v]), whole);
        for cut in 0..=v.len() {
            assert_eq!(
                run(&mut make(), &[&v[..cut], &v[cut..]]),
                whole,
                "split at {cut}"
            );
        }
        let bytes: Vec<&[u8]> = v.chunks(1).collect();
        assert_eq!(run(&mut make(), &bytes), whole, "one byte at a time");
    }
    whole
}

#[test]
fn tools_images_system_and_generation_config_translate_to_generate_content() {
    golden_json(
        "request_tools.gemini.json",
        &request("request_tools.openai.json"),
    );
}

#[test]
fn json_schema_candidates_and_a_forced_function_translate() {
    golden_json(
        "request_structured.gemini.json",
        &request("request_structured.openai.json"),
    );
}

#[test]
fn remote_image_urls_are_refused_never_fetched() {
    let chat = object(
        json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]}),
    );
    let e = build_request(&chat).unwrap_err();
    assert!(
        matches!(&e, TranslateError::InvalidField { field, .. } if field == "messages[0].content[0].image_url.url"),
        "{e:?}"
    );
    assert!(e.to_string().contains("data: URL"), "{e}");
}

#[test]
fn a_tool_result_for_an_unknown_call_and_unknown_fields_are_refused() {
    let orphan = object(json!({"model": "m", "messages": [
        {"role": "user", "content": "hi"},
        {"role": "tool", "tool_call_id": "call_x", "content": "42"}]}));
    assert!(matches!(
        build_request(&orphan),
        Err(TranslateError::InvalidField { .. })
    ));
    let unknown = object(
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
        "api_version": "x"}),
    );
    assert_eq!(
        build_request(&unknown),
        Err(TranslateError::UnknownField("api_version".into()))
    );
    let audio = object(
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
        "audio": {}}),
    );
    assert_eq!(
        build_request(&audio),
        Err(TranslateError::Unsupported("audio".into()))
    );
}

#[test]
fn parallel_function_calls_become_tool_calls_with_usage_and_cache() {
    let (body, usage) =
        translate_response(&fixture("response_tools.gemini.json"), "m", CREATED).unwrap();
    golden_json("response_tools.openai.json", &body);
    assert_eq!(
        usage,
        Usage {
            prompt_tokens: 120,
            completion_tokens: 50,
            cached_tokens: 64,
            cache_write_tokens: 0
        }
    );
}

#[test]
fn thoughts_max_tokens_and_safety_finish_reasons_map_per_candidate() {
    let (body, _) = translate_response(
        &fixture("response_thinking_safety.gemini.json"),
        "m",
        CREATED,
    )
    .unwrap();
    golden_json("response_thinking_safety.openai.json", &body);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["choices"][1]["finish_reason"], "content_filter");
}

#[test]
fn a_blocked_prompt_is_a_content_policy_refusal_naming_only_the_reason() {
    let e = translate_response(&fixture("response_blocked.gemini.json"), "m", CREATED).unwrap_err();
    assert_eq!(e, ResponseError::Blocked("SAFETY".into()));
    assert_eq!(
        translate_response(b"{\"candidates\":[]}", "m", CREATED).unwrap_err(),
        ResponseError::Malformed("no candidates")
    );
}

#[test]
fn a_text_stream_gives_the_same_chunks_however_split_with_usage_when_asked() {
    let input = fixture("stream_text.gemini.sse");
    let (out, err) = every_split(translator(true, 1), &input);
    assert_eq!(err, None);
    golden("stream_text.openai.sse", &out);
    let (without, _) = every_split(translator(false, 1), &input);
    assert!(!String::from_utf8_lossy(&without).contains("\"usage\""));
    assert!(without.ends_with(b"data: [DONE]\n\n"));
    let mut t = translator(true, 1)();
    t.push(Bytes::from(input)).unwrap();
    assert_eq!(
        t.usage(),
        Some(Usage {
            prompt_tokens: 11,
            completion_tokens: 5,
            cached_tokens: 4,
            cache_write_tokens: 0
        })
    );
    assert!(t.is_done());
    assert_eq!(t.events(), 3);
}

#[test]
fn parallel_function_calls_stream_with_stable_indices_and_ids() {
    let input = fixture("stream_parallel_tools.gemini.sse");
    let (out, err) = every_split(translator(false, 1), &input);
    assert_eq!(err, None);
    golden("stream_parallel_tools.openai.sse", &out);
}

#[test]
fn a_mid_stream_error_ends_the_stream_typed_after_the_text_before_it_without_its_text() {
    let input = fixture("stream_error.gemini.sse");
    let (out, err) = every_split(translator(true, 1), &input);
    assert_eq!(err, Some(StreamError::Provider { kind: "overloaded" }));
    golden("stream_error.openai.sse", &out);
    assert!(!String::from_utf8_lossy(&out).contains("AIza"));
}

#[test]
fn a_stream_cut_before_every_candidate_finished_is_truncated() {
    let input = fixture("stream_text.gemini.sse");
    let cut = input.len() - 40;
    let (out, err) = run(&mut translator(false, 1)(), &[&input[..cut]]);
    assert_eq!(err, Some(StreamError::Truncated));
    assert!(!out.ends_with(b"[DONE]\n\n"));
    // Two candidates asked for, one finished: not complete.
    let (_, err) = run(&mut translator(false, 2)(), &[&input]);
    assert_eq!(err, Some(StreamError::Truncated));
}

#[test]
fn a_blocked_prompt_mid_stream_is_a_typed_content_policy_error() {
    let input = b"data: {\"promptFeedback\": {\"blockReason\": \"PROHIBITED_CONTENT\"}}\n\n";
    let (out, err) = every_split(translator(false, 1), input);
    assert!(out.is_empty());
    assert_eq!(
        err,
        Some(StreamError::Provider {
            kind: "content_policy"
        })
    );
}

#[test]
fn an_oversized_event_is_refused() {
    let big = format!(
        "data: {{\"candidates\": [{{\"content\": {{\"parts\": [{{\"text\": \"{}\"}}]}}}}]}}\n\n",
        "x".repeat(2000)
    );
    let mut t = StreamTranslator::new(StreamOptions {
        include_usage: false,
        created: CREATED,
        max_event_bytes: 1024,
        choices: 1,
        model: "m".into(),
    });
    assert_eq!(
        t.push(Bytes::from(big)),
        Err(StreamError::EventTooLarge(1024))
    );
}

/// The split property `fuzz/fuzz_targets/split.rs` checks, with reads stopping at the end as
/// the relay's do: events after the last candidate finished still counted when they came in the same read (an error failed the finished
/// stream, a later `usageMetadata` replaced the usage), but never in a later read, which the
/// relay does not make once the stream is done.
#[test]
fn events_after_the_end_are_ignored_in_the_same_read_too() {
    let input = fixture("stream_text.gemini.sse");
    let mut t = translator(true, 1)();
    let (want, err) = run(&mut t, &[&input]);
    assert_eq!(err, None);
    let usage = t.usage();
    let trailers: [&[u8]; 3] = [
        b"data: {\"error\": {\"code\": 500, \"status\": \"INTERNAL\"}}\n\n",
        b"data: not json\n\n",
        b"data: {\"usageMetadata\": {\"promptTokenCount\": 999, \"totalTokenCount\": 999}}\n\n",
    ];
    for trailer in trailers {
        let mut t = translator(true, 1)();
        let (out, err) = run(&mut t, &[&[&input[..], trailer].concat()]);
        assert_eq!((out, err), (want.clone(), None));
        assert_eq!(t.usage(), usage);
    }
}
