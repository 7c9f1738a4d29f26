//! The Gemini adapter behind the seam: endpoint per model and method, the key only in the
//! `x-goog-api-key` header, errors classified with the credential scrubbed.

use reqwest::header::HeaderValue;
use serde_json::Value;

use super::*;
use crate::provider::Vendor;

const KEY: &str = "AIzaSy-canary-gemini-key-0123456789";

fn adapter(base: &str) -> GeminiAdapter {
    let spec = ProviderSpec::new("gemini", Vendor::Gemini, base.parse().unwrap()).credential(KEY);
    GeminiAdapter::new(&spec).unwrap()
}

fn chat(body: &str) -> ChatRequest {
    ChatRequest::parse(body.as_bytes(), 32).unwrap()
}

#[test]
fn the_model_and_method_go_in_the_path_and_the_key_only_in_the_header() {
    let a = adapter("https://generativelanguage.googleapis.com/v1beta/");
    let json = a
        .chat_request(
            &chat(r#"{"model":"g","messages":[{"role":"user","content":"hi"}]}"#),
            "gemini-2.5-flash",
        )
        .unwrap();
    assert_eq!(
        json.url.as_str(),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    );
    assert_eq!(json.headers["x-goog-api-key"], KEY);
    assert!(json.headers["x-goog-api-key"].is_sensitive());
    assert!(!json.headers.contains_key("authorization"));
    assert!(!json.url.as_str().contains(KEY));
    let body: Value = serde_json::from_slice(&json.body).unwrap();
    assert!(body.get("model").is_none());
    assert_eq!(body["contents"][0]["parts"][0]["text"], "hi");

    let sse = a
        .chat_request(
            &chat(r#"{"model":"g","stream":true,"messages":[{"role":"user","content":"hi"}]}"#),
            "gemini-2.5-flash",
        )
        .unwrap();
    assert_eq!(
        sse.url.as_str(),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );
    assert!(!sse.url.as_str().contains("key="));
}

#[test]
fn a_model_name_cannot_change_the_path_or_add_a_query() {
    let a = adapter("https://example.com/v1beta");
    let url = a.method_url("../x?key=leak#f", "generateContent");
    assert_eq!(
        url.path(),
        "/v1beta/models/..%2Fx%3Fkey=leak%23f:generateContent"
    );
    assert_eq!(url.query(), None);
}

#[test]
fn untranslatable_requests_are_the_clients_400() {
    let a = adapter("https://example.com/v1beta");
    let req = chat(
        r#"{"model":"g","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"http://10.0.0.1/x.png"}}]}]}"#,
    );
    let e = a.chat_request(&req, "m").unwrap_err();
    assert!(
        matches!(e, EngineError::Request(RequestError::Untranslatable { .. })),
        "{e:?}"
    );
}

#[test]
fn errors_are_classified_and_the_key_is_scrubbed() {
    let a = adapter("https://example.com/v1beta");
    let body = format!(
        r#"{{"error":{{"code":400,"message":"bad temperature for {KEY}","status":"INVALID_ARGUMENT"}}}}"#
    );
    let e = a.classify_error(StatusCode::BAD_REQUEST, &HeaderMap::new(), body.as_bytes());
    let UpstreamError::BadRequest { message, .. } = e else {
        panic!("{e:?}")
    };
    assert!(!message.contains(KEY), "{message}");
    let mut headers = HeaderMap::new();
    headers.insert("retry-after", HeaderValue::from_static("2"));
    assert!(matches!(
        a.classify_error(StatusCode::TOO_MANY_REQUESTS, &headers, b""),
        UpstreamError::RateLimited {
            retry_after: Some(_)
        }
    ));
}

#[test]
fn a_blocked_prompt_becomes_a_content_policy_refusal() {
    let a = adapter("https://example.com/v1beta");
    let e = a
        .chat_response(Bytes::from_static(
            br#"{"promptFeedback":{"blockReason":"SAFETY"}}"#,
        ))
        .unwrap_err();
    assert!(matches!(e, UpstreamError::ContentPolicy { .. }), "{e:?}");
    assert_eq!(
        a.chat_response(Bytes::from_static(b"not json"))
            .unwrap_err(),
        UpstreamError::Malformed
    );
}
