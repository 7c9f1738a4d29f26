//! The request boundary: what the gateway refuses, and what it sends upstream.

use serde_json::json;

use portcullis_loadtest::mock::MockOptions;

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

/// A gateway whose chat limits are `limits` (YAML flow mapping) and whose body cap is 4 MiB.
async fn with_chat_limits(limits: &str) -> Harness {
    let limits = limits.to_owned();
    Harness::start_configured(MockOptions::default(), move |yaml| {
        yaml.replace(
            "  max_body_bytes: 65536\n",
            &format!("  max_body_bytes: 4194304\n  chat_limits: {limits}\n"),
        )
    })
    .await
}

/// Sends `body`; asserts a 400 whose `param` is `param` and whose `code` is `code`, and that
/// the upstream saw nothing.
async fn refused(h: &Harness, body: &serde_json::Value, param: &str, code: &str) {
    let (status, response) = send_json(h.chat(Some(KEY_A), body)).await;
    assert_eq!(status, 400, "{response}");
    assert_eq!(response["error"]["param"], param, "{response}");
    assert_eq!(response["error"]["code"], code, "{response}");
    assert_eq!(h.mock.total_requests(), 0);
}

#[actix_web::test]
async fn a_million_integers_as_messages_get_400_naming_the_first_one() {
    let h = with_chat_limits("{ max_messages: 1000000 }").await;
    let million = serde_json::Value::Array((0..1_000_000).map(|i| json!(i % 10)).collect());
    let body = json!({"model": "gpt-test", "messages": million});
    refused(&h, &body, "messages[0]", "invalid_message").await;
    h.stop().await;
}

#[actix_web::test]
async fn a_message_with_an_unknown_role_gets_400() {
    let h = Harness::start().await;
    let body = json!({"model": "gpt-test", "messages": [
        {"role": "user", "content": "hi"}, {"role": "root", "content": "obey"}]});
    refused(&h, &body, "messages[1].role", "invalid_message").await;
    h.stop().await;
}

#[actix_web::test]
async fn content_of_the_wrong_shape_gets_400_naming_the_part() {
    let h = Harness::start().await;
    let body = json!({"model": "gpt-test", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "hi"}, 42]}]});
    refused(&h, &body, "messages[0].content[1]", "invalid_message").await;
    let body = json!({"model": "gpt-test", "messages": [{"role": "user", "content": null}]});
    refused(&h, &body, "messages[0].content", "invalid_message").await;
    h.stop().await;
}

#[actix_web::test]
async fn an_assistant_message_calling_tools_may_have_null_content() {
    let h = Harness::start().await;
    let body = json!({"model": "gpt-test", "messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
            "function": {"name": "weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"}]});
    let (status, response) = send_json(h.chat(Some(KEY_A), &body)).await;
    assert_eq!(status, 200, "{response}");
    h.stop().await;
}

/// One maximum: the value at the limit passes, one over is refused before the upstream.
async fn maximum_holds(
    limits: &str,
    field: &str,
    at_limit: serde_json::Value,
    over: serde_json::Value,
) {
    let h = with_chat_limits(limits).await;
    let mut over_body = hello("gpt-test");
    over_body[field] = over;
    refused(&h, &over_body, field, "over_limit").await;
    let mut ok_body = hello("gpt-test");
    ok_body[field] = at_limit;
    let (status, response) = send_json(h.chat(Some(KEY_A), &ok_body)).await;
    assert_eq!(status, 200, "{field} at the limit: {response}");
    h.stop().await;
}

#[actix_web::test]
async fn n_over_the_configured_maximum_gets_400() {
    maximum_holds("{ max_n: 2 }", "n", json!(2), json!(3)).await;
}

#[actix_web::test]
async fn max_tokens_over_the_configured_maximum_gets_400() {
    maximum_holds(
        "{ max_tokens: 1000 }",
        "max_tokens",
        json!(1000),
        json!(1001),
    )
    .await;
}

#[actix_web::test]
async fn too_many_stop_sequences_get_400() {
    maximum_holds(
        "{ max_stop: 2 }",
        "stop",
        json!(["a", "b"]),
        json!(["a", "b", "c"]),
    )
    .await;
}

#[actix_web::test]
async fn too_many_tools_get_400() {
    let tool =
        json!({"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}});
    maximum_holds(
        "{ max_tools: 1 }",
        "tools",
        json!([tool]),
        json!([tool, tool]),
    )
    .await;
}

#[actix_web::test]
async fn top_logprobs_over_the_configured_maximum_gets_400() {
    maximum_holds(
        "{ max_top_logprobs: 3 }",
        "top_logprobs",
        json!(3),
        json!(4),
    )
    .await;
}

#[actix_web::test]
async fn too_many_messages_get_400() {
    let message = json!({"role": "user", "content": "hi"});
    let h = with_chat_limits("{ max_messages: 2 }").await;
    let body = json!({"model": "gpt-test", "messages": [message, message, message]});
    refused(&h, &body, "messages", "over_limit").await;
    let body = json!({"model": "gpt-test", "messages": [message, message]});
    let (status, response) = send_json(h.chat(Some(KEY_A), &body)).await;
    assert_eq!(status, 200, "{response}");
    h.stop().await;
}

#[actix_web::test]
async fn a_plain_client_request_id_is_kept_logged_and_never_sent_upstream() {
    let h = Harness::start().await;
    let id = format!("trace-{}", std::process::id());
    let response = h
        .chat(Some(KEY_A), &hello("gpt-test"))
        .header("x-request-id", &id)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], id.as_str());
    let upstream = h.mock.requests();
    assert_eq!(upstream.last().unwrap().header("x-request-id"), None);
    // The access line (target portcullis::access) carries it with who, what and how it ended.
    let logs = captured_logs();
    let line = logs
        .lines()
        .find(|l| l.contains("portcullis::access") && l.contains(&id))
        .unwrap_or_else(|| panic!("no access line for {id}"));
    for field in [
        "key=team-a",
        "model_group=gpt-test",
        "status=200",
        "cost_micro_usd=",
    ] {
        assert!(line.contains(field), "{field} missing: {line}");
    }
    assert!(!line.contains(KEY_A), "{line}");

    let long = "x".repeat(65);
    for bad in ["has space", "quote\"d", "semi;colon", long.as_str()] {
        let response = h
            .chat(Some(KEY_A), &hello("gpt-test"))
            .header("x-request-id", bad)
            .send()
            .await
            .unwrap();
        let got = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_ne!(got, bad);
        assert!(
            got.len() == 16 && got.bytes().all(|b| b.is_ascii_hexdigit()),
            "{got}"
        );
    }
    h.stop().await;
}
