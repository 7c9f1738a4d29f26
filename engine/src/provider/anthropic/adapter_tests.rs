//! The Anthropic adapter behind the seam: headers, endpoint, error mapping.

use std::time::Duration;

use reqwest::header::HeaderValue;

use super::*;
use crate::provider::Vendor;
use crate::spec::AnthropicSpec;

const KEY: &str = "sk-ant-test-credential-0123456789";

fn adapter(anthropic: AnthropicSpec) -> AnthropicAdapter {
    let spec = ProviderSpec::new(
        "claude",
        Vendor::Anthropic,
        "https://api.anthropic.com/v1/".parse().unwrap(),
    )
    .credential(KEY)
    .anthropic(anthropic);
    AnthropicAdapter::new(&spec).unwrap()
}

fn chat(body: &str) -> ChatRequest {
    ChatRequest::parse(body.as_bytes(), 32).unwrap()
}

#[test]
fn sends_x_api_key_and_version_to_messages_and_beta_only_when_configured() {
    let a = adapter(AnthropicSpec::default());
    let req = a
        .chat_request(
            &chat(r#"{"model":"c","messages":[{"role":"user","content":"hi"}]}"#),
            "claude-up",
        )
        .unwrap();
    assert_eq!(req.url.as_str(), "https://api.anthropic.com/v1/messages");
    assert_eq!(req.headers["x-api-key"], KEY);
    assert!(req.headers["x-api-key"].is_sensitive());
    assert_eq!(req.headers["anthropic-version"], DEFAULT_ANTHROPIC_VERSION);
    assert!(!req.headers.contains_key("anthropic-beta"));
    assert!(!req.headers.contains_key("authorization"));
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["model"], "claude-up");
    assert_eq!(body["max_tokens"], 4096);

    let a = adapter(AnthropicSpec {
        version: "2024-01-01".into(),
        beta: vec!["a-2024".into(), "b-2025".into()],
        default_max_tokens: 77,
    });
    let req = a
        .chat_request(
            &chat(r#"{"model":"c","messages":[{"role":"user","content":"hi"}]}"#),
            "m",
        )
        .unwrap();
    assert_eq!(req.headers["anthropic-version"], "2024-01-01");
    assert_eq!(req.headers["anthropic-beta"], "a-2024,b-2025");
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["max_tokens"], 77);
}

#[test]
fn an_untranslatable_request_is_the_clients_400_naming_the_field() {
    let a = adapter(AnthropicSpec::default());
    let err = a
        .chat_request(
            &chat(r#"{"model":"c","n":3,"messages":[{"role":"user","content":"hi"}]}"#),
            "m",
        )
        .unwrap_err();
    match err {
        EngineError::Request(e @ RequestError::Untranslatable { .. }) => {
            assert_eq!(e.param(), Some("n"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn maps_anthropic_errors_for_routing_and_never_echoes_the_credential() {
    let a = adapter(AnthropicSpec::default());
    let mut headers = HeaderMap::new();
    headers.insert("retry-after", HeaderValue::from_static("3"));
    let rate = br#"{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}"#;
    assert_eq!(
        a.classify_error(StatusCode::TOO_MANY_REQUESTS, &headers, rate),
        UpstreamError::RateLimited {
            retry_after: Some(Duration::from_secs(3))
        }
    );
    let overloaded = br#"{"type":"error","error":{"type":"overloaded_error","message":"x"}}"#;
    let e = a.classify_error(StatusCode::from_u16(529).unwrap(), &headers, overloaded);
    assert_eq!(e, UpstreamError::Overloaded);
    assert!(e.is_retryable());
    let auth = br#"{"type":"error","error":{"type":"authentication_error","message":"bad"}}"#;
    assert_eq!(
        a.classify_error(StatusCode::UNAUTHORIZED, &headers, auth),
        UpstreamError::Unauthorized
    );
    let bad = format!(
        r#"{{"type":"error","error":{{"type":"invalid_request_error","message":"key {KEY}x is wrong"}}}}"#
    );
    match a.classify_error(StatusCode::BAD_REQUEST, &headers, bad.as_bytes()) {
        UpstreamError::BadRequest { status, message } => {
            assert_eq!(status, 400);
            assert!(!message.contains(KEY), "{message}");
            assert!(message.contains("is wrong"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn native_responses_pass_through_with_their_usage() {
    let a = adapter(AnthropicSpec::default());
    let native = a.native_messages().unwrap();
    let body = Bytes::from_static(
        br#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"usage":{"input_tokens":5,"output_tokens":2,"cache_creation_input_tokens":3}}"#,
    );
    let (out, usage) = native.messages_response(body.clone()).unwrap();
    assert_eq!(out, body);
    let usage = usage.unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (8, 2));
    let mut map = Map::new();
    map.insert("model".into(), "public".into());
    map.insert("max_tokens".into(), 5.into());
    let req = native.messages_request(&map, "upstream");
    let sent: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(sent["model"], "upstream");
    assert_eq!(req.headers["x-api-key"], KEY);
    assert_eq!(
        native.messages_request(&map, "upstream").url.path(),
        "/v1/messages"
    );
}

#[test]
fn context_window_content_policy_and_overload_errors_feed_routing_decisions() {
    use reqwest::StatusCode;
    let none = HeaderMap::new();
    let too_long = br#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 250000 tokens > 200000 maximum"}}"#;
    assert!(matches!(
        upstream_error(StatusCode::BAD_REQUEST, &none, too_long, None),
        UpstreamError::ContextWindowExceeded { .. }
    ));
    let overloaded =
        br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    let status = StatusCode::from_u16(529).unwrap();
    assert_eq!(
        upstream_error(status, &none, overloaded, None),
        UpstreamError::Overloaded
    );
}
