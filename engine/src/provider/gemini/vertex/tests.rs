//! Vertex AI behind the seam: Gemini and Claude paths, the Claude body, and answers read in
//! the dialect they arrive in.

use secrecy::SecretString;

use super::*;
use crate::provider::Vendor;
use crate::spec::{ServiceAccount, VertexSpec};

fn adapter() -> VertexAdapter {
    let spec = ProviderSpec::new(
        "vertex",
        Vendor::VertexAi,
        "https://europe-west4-aiplatform.googleapis.com/v1"
            .parse()
            .unwrap(),
    )
    .vertex(VertexSpec {
        project: "my-project".into(),
        region: "europe-west4".into(),
        service_account: ServiceAccount {
            client_email: "sa@my-project.iam.gserviceaccount.com".into(),
            private_key: SecretString::from("unused".to_owned()),
            token_uri: "https://oauth2.googleapis.com/token".parse().unwrap(),
        },
    });
    VertexAdapter::new(&spec).unwrap()
}

fn chat(body: &str) -> ChatRequest {
    ChatRequest::parse(body.as_bytes(), 32).unwrap()
}

const HELLO: &str = r#"{"model":"g","messages":[{"role":"user","content":"hi"}]}"#;
const HELLO_STREAM: &str =
    r#"{"model":"g","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;

#[test]
fn gemini_models_go_to_the_google_publisher_path() {
    let a = adapter();
    let req = a.chat_request(&chat(HELLO), "gemini-2.5-pro").unwrap();
    assert_eq!(
        req.url.as_str(),
        "https://europe-west4-aiplatform.googleapis.com/v1/projects/my-project/locations/europe-west4/publishers/google/models/gemini-2.5-pro:generateContent"
    );
    assert!(req.headers.is_empty(), "the authorizer adds the credential");
    let stream = a
        .chat_request(&chat(HELLO_STREAM), "gemini-2.5-pro")
        .unwrap();
    assert!(
        stream
            .url
            .as_str()
            .ends_with("/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse")
    );
}

#[test]
fn claude_models_go_to_raw_predict_with_the_vertex_anthropic_version_and_no_model() {
    let a = adapter();
    let req = a
        .chat_request(&chat(HELLO), "claude-sonnet-4-5@20250929")
        .unwrap();
    assert_eq!(
        req.url.as_str(),
        "https://europe-west4-aiplatform.googleapis.com/v1/projects/my-project/locations/europe-west4/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict"
    );
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["anthropic_version"], VERTEX_ANTHROPIC_VERSION);
    assert!(body.get("model").is_none());
    assert_eq!(body["max_tokens"], 4096);
    assert_eq!(body["messages"][0]["role"], "user");
    let stream = a
        .chat_request(&chat(HELLO_STREAM), "claude-haiku-4-5")
        .unwrap();
    assert!(stream.url.as_str().ends_with(":streamRawPredict"));
    let body: Value = serde_json::from_slice(&stream.body).unwrap();
    assert_eq!(body["stream"], true);
}

#[test]
fn responses_are_read_in_the_dialect_they_arrive_in() {
    let a = adapter();
    let claude = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":2}}"#;
    let (body, usage) = a.chat_response(Bytes::from_static(claude)).unwrap();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "Hi");
    assert_eq!(usage.unwrap().completion_tokens, 2);
    let gemini = br#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Hey"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":1}}"#;
    let (body, _) = a.chat_response(Bytes::from_static(gemini)).unwrap();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "Hey");
}

#[test]
fn errors_are_classified_in_either_dialect() {
    let a = adapter();
    let overloaded =
        br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    assert_eq!(
        a.classify_error(
            StatusCode::from_u16(529).unwrap(),
            &HeaderMap::new(),
            overloaded
        ),
        UpstreamError::Overloaded
    );
    let quota =
        br#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}"#;
    assert!(matches!(
        a.classify_error(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), quota),
        UpstreamError::RateLimited { .. }
    ));
    let token = br#"{"error":{"code":400,"message":"bad token ya29.a0AfB_canarycanary here","status":"INVALID_ARGUMENT"}}"#;
    let UpstreamError::BadRequest { message, .. } =
        a.classify_error(StatusCode::BAD_REQUEST, &HeaderMap::new(), token)
    else {
        panic!("not a bad request")
    };
    assert!(!message.contains("ya29."), "{message}");
}

const CLAUDE_STREAM: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
const GEMINI_STREAM: &str = "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hey\"}]},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":1},\"responseId\":\"r\"}\r\n\r\n";

fn run_split(a: &VertexAdapter, input: &str, at: usize) -> (String, Result<(), StreamError>) {
    let mut t = a.stream_translator(&chat(HELLO_STREAM), 1 << 16);
    let mut out = t
        .push(Bytes::copy_from_slice(&input.as_bytes()[..at]))
        .unwrap()
        .to_vec();
    out.extend_from_slice(
        &t.push(Bytes::copy_from_slice(&input.as_bytes()[at..]))
            .unwrap(),
    );
    (
        without_created(&String::from_utf8(out).unwrap()),
        t.finish(),
    )
}

/// `text` with every `"created":N` zeroed: translators stamp the wall clock, which may tick
/// between two runs of the same transcript.
fn without_created(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("\"created\":") {
        let (head, tail) = rest.split_at(at + "\"created\":".len());
        out.push_str(head);
        out.push('0');
        rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

#[test]
fn streams_pick_their_dialect_from_the_first_line_however_split() {
    let a = adapter();
    for (input, text) in [(CLAUDE_STREAM, "\"Hi\""), (GEMINI_STREAM, "\"Hey\"")] {
        let (whole, done) = run_split(&a, input, input.len());
        assert_eq!(done, Ok(()));
        assert!(whole.contains(text), "{whole}");
        assert!(whole.ends_with("data: [DONE]\n\n"), "{whole}");
        for at in 0..=input.len() {
            assert_eq!(
                run_split(&a, input, at),
                (whole.clone(), Ok(())),
                "split at {at}"
            );
        }
    }
    let mut t = a.stream_translator(&chat(HELLO_STREAM), 1 << 16);
    t.push(Bytes::from_static(b"data: {\"cand")).unwrap();
    assert_eq!(t.finish(), Err(StreamError::Truncated));
}

/// The split property the `vertex_stream_translator` fuzz target checks: blank and comment
/// lines before the first telling line were buffered and counted against the cap only while
/// the dialect was unknown, so a long preamble was refused in small reads, accepted in one.
#[test]
fn a_preamble_of_blank_and_comment_lines_is_judged_the_same_however_split() {
    let a = adapter();
    let blank = format!("{}{GEMINI_STREAM}", ":\n\n".repeat(400));
    let comment = format!(": {}\n{GEMINI_STREAM}", "x".repeat(2000));
    for (input, want) in [
        (blank, Ok(())),
        (comment, Err(StreamError::EventTooLarge(1024))),
    ] {
        for step in [1, 7, 100, input.len()] {
            let mut t = a.stream_translator(&chat(HELLO_STREAM), 1024);
            let mut end = Ok(());
            for read in input.as_bytes().chunks(step) {
                if let Err(e) = t.push(Bytes::copy_from_slice(read)) {
                    end = Err(e);
                    break;
                }
            }
            let end = end.and_then(|()| t.finish());
            assert_eq!(end, want, "reads of {step}");
        }
    }
}
