//! The request boundary: what the gateway refuses, and what it sends upstream.

use serde_json::json;

use crate::harness::*;

#[actix_web::test]
async fn override_fields_get_400_and_the_mock_sees_nothing() {
    let h = Harness::start().await;
    for field in [
        "api_base",
        "base_url",
        "api_key",
        "extra_headers",
        "azure_endpoint",
    ] {
        let mut body = hello("gpt-test");
        body[field] = json!("http://169.254.169.254/latest");
        let (status, response) = send_json(h.chat(Some(KEY_A), &body)).await;
        assert_eq!(status, 400, "{field}: {response}");
        assert_eq!(response["error"]["param"], field);
    }
    assert_eq!(h.mock.total_requests(), 0);
    h.stop().await;
}

#[actix_web::test]
async fn duplicate_keys_deep_nesting_and_bad_json_get_400() {
    let h = Harness::start().await;
    let send_raw = |body: String| {
        h.http
            .post(h.url("/v1/chat/completions"))
            .bearer_auth(KEY_A)
            .header("content-type", "application/json")
            .body(body)
    };
    let duplicate =
        r#"{"model":"gpt-test","model":"other-model","messages":[{"role":"user","content":"x"}]}"#;
    let (status, body) = send_json(send_raw(duplicate.to_owned())).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "duplicate_key");
    let deep = format!(
        r#"{{"model":"gpt-test","messages":[{{"role":"user","content":"x"}}],"x":{}1{}}}"#,
        "[".repeat(40),
        "]".repeat(40)
    );
    let (status, body) = send_json(send_raw(deep)).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "too_deep");
    let (status, body) = send_json(send_raw("{not json".to_owned())).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_json");
    let (status, body) = send_json(send_raw(r#"{"messages":[{"role":"user"}]}"#.to_owned())).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["param"], "model");
    assert_eq!(h.mock.total_requests(), 0);
    h.stop().await;
}

#[actix_web::test]
async fn oversized_body_gets_413() {
    let h = Harness::start().await;
    let mut body = hello("gpt-test");
    body["messages"][0]["content"] = json!("x".repeat(70_000));
    let (status, response) = send_json(h.chat(Some(KEY_A), &body)).await;
    assert_eq!(status, 413);
    assert_eq!(response["error"]["code"], "payload_too_large");
    assert_eq!(h.mock.total_requests(), 0);
    h.stop().await;
}

#[actix_web::test]
async fn upstream_gets_the_provider_credential_never_the_clients() {
    let h = Harness::start().await;
    let mut body = hello("gpt-test");
    body["some_future_openai_param"] = json!({ "nested": [1, 2] });
    let request = h
        .chat(Some(KEY_A), &body)
        .header("cookie", "session=client-cookie-value")
        // Agreeing with the Bearer key (a differing one is a 400: see the security suite).
        .header("x-api-key", KEY_A)
        .header("x-forwarded-for", "10.0.0.1")
        .header("openai-organization", "client-org");
    let (status, response) = send_json(request).await;
    assert_eq!(status, 200, "{response}");
    assert!(response["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    let seen = h.mock.requests();
    assert_eq!(seen.len(), 1);
    let upstream = &seen[0];
    assert_eq!(
        upstream.header("authorization"),
        Some(format!("Bearer {CANARY}").as_str())
    );
    for (name, value) in &upstream.headers {
        for client_value in [KEY_A, "client-cookie-value", "10.0.0.1", "client-org"] {
            assert!(
                !value.contains(client_value),
                "{name}: {value} carries {client_value}"
            );
        }
    }
    assert!(upstream.header("cookie").is_none());
    let sent = upstream.json().unwrap();
    assert_eq!(sent["model"], "upstream-gpt");
    assert_eq!(sent["some_future_openai_param"]["nested"][1], 2);
    assert_eq!(sent["messages"][0]["content"], "Hello there");
    h.stop().await;
}
