use secrecy::SecretString;
use serde_json::json;

use super::*;
use crate::provider::Vendor;
use crate::spec::BedrockSpec;

fn spec(base: &str) -> ProviderSpec {
    ProviderSpec::new("b", Vendor::Bedrock, Url::parse(base).unwrap()).bedrock(BedrockSpec {
        region: "us-east-1".into(),
        access_key_id: SecretString::from("AKIDEXAMPLE"),
        secret_access_key: SecretString::from("secret"),
        session_token: None,
    })
}

fn chat(stream: bool) -> ChatRequest {
    let body = json!({"model": "public", "stream": stream,
                      "messages": [{"role": "user", "content": "Hi"}]});
    ChatRequest::parse(body.to_string().as_bytes(), 64).unwrap()
}

#[test]
fn model_ids_of_every_family_are_one_encoded_path_segment() {
    let a = BedrockAdapter::new(&spec(&default_base_url("us-east-1"))).unwrap();
    let cases = [
        (
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "anthropic.claude-3-5-sonnet-20240620-v1%3A0",
        ),
        (
            "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
            "us.anthropic.claude-3-7-sonnet-20250219-v1%3A0",
        ),
        (
            "meta.llama3-70b-instruct-v1:0",
            "meta.llama3-70b-instruct-v1%3A0",
        ),
        (
            "mistral.mistral-large-2407-v1:0",
            "mistral.mistral-large-2407-v1%3A0",
        ),
        ("amazon.nova-pro-v1:0", "amazon.nova-pro-v1%3A0"),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0",
            "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.amazon.nova-lite-v1%3A0",
        ),
    ];
    for (model, encoded) in cases {
        let r = a.chat_request(&chat(false), model).unwrap();
        assert_eq!(
            r.url.as_str(),
            format!("https://bedrock-runtime.us-east-1.amazonaws.com/model/{encoded}/converse")
        );
        let s = a.chat_request(&chat(true), model).unwrap();
        assert!(s.url.path().ends_with("/converse-stream"));
        assert_eq!(s.headers["accept"], EVENT_STREAM);
    }
}

#[test]
fn the_request_carries_no_credential_before_signing() {
    let a = BedrockAdapter::new(&spec("http://127.0.0.1:9/")).unwrap();
    let r = a
        .chat_request(&chat(false), "amazon.nova-pro-v1:0")
        .unwrap();
    assert_eq!(
        r.url.as_str(),
        "http://127.0.0.1:9/model/amazon.nova-pro-v1%3A0/converse"
    );
    assert!(r.headers.get("authorization").is_none());
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        body,
        json!({"messages": [{"role": "user", "content": [{"text": "Hi"}]}]})
    );
}

#[test]
fn a_provider_without_bedrock_settings_is_refused() {
    let s = ProviderSpec::new("b", Vendor::Bedrock, Url::parse("https://x.test").unwrap());
    assert!(BedrockAdapter::new(&s).is_err());
}

#[test]
fn classify_error_scrubs_the_configured_secrets() {
    let a = BedrockAdapter::new(&spec("https://x.test")).unwrap();
    let mut h = HeaderMap::new();
    h.insert(
        "x-amzn-errortype",
        HeaderValue::from_static("ValidationException"),
    );
    let e = a.classify_error(
        StatusCode::BAD_REQUEST,
        &h,
        br#"{"message":"bad AKIDEXAMPLE and secret"}"#,
    );
    assert_eq!(
        e,
        UpstreamError::BadRequest {
            status: 400,
            message: "bad [redacted] and [redacted]".into()
        }
    );
}
