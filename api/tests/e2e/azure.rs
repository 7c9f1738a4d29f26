//! Azure OpenAI end to end against the mock's Azure paths: deployment URLs with the
//! `api-version`, the key only in the `api-key` header (or an Entra ID token as a bearer),
//! JSON, SSE and embeddings, the content filter's 400 falling back like any content-policy
//! refusal, 429 with `retry-after-ms`, and the planted key nowhere a client or operator sees.

use std::time::Duration;

use portcullis_loadtest::mock::{Behaviour, MockOptions};
use serde_json::json;

use crate::embeddings::{decode_base64, floats};
use crate::harness::*;

fn yaml(mock_url: &str) -> String {
    let azure_base = mock_url.replace("/v1", "/openai");
    format!(
        r#"
storage: {{ backend: memory }}
server: {{ listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0, workers: 1 }}
auth: {{ master_key: env:MASTER }}
providers:
  - name: az
    vendor: azure
    base_url: {azure_base}
    api_key: env:PROVIDER_KEY
    allow_private_network: true
    timeouts: {{ first_byte: 2s, read: 2s }}
    retry: {{ backoff_base: 1ms, backoff_max: 5ms }}
  - name: az-entra
    vendor: azure
    base_url: {azure_base}
    allow_private_network: true
    azure: {{ api_version: 2025-01-01-preview, entra_token: env:PROVIDER_KEY }}
  - name: mock
    vendor: openai_compatible
    base_url: {mock_url}
    api_key: env:PROVIDER_KEY
    allow_private_network: true
models:
  - name: az-chat
    max_attempts: 1
    content_policy_fallbacks: [safe]
    deployments: [{{ provider: az, model: gpt-4o-dep }}]
  - {{ name: az-strict, max_attempts: 1, deployments: [{{ provider: az, model: strict-dep }}] }}
  - {{ name: az-busy, deployments: [{{ provider: az, model: busy-dep }}] }}
  - {{ name: az-emb, deployments: [{{ provider: az, model: emb-dep }}] }}
  - {{ name: az-entra, deployments: [{{ provider: az-entra, model: entra-dep }}] }}
  - {{ name: safe, deployments: [{{ provider: mock, model: safe-up }}] }}
keys:
  - {{ name: team-all, key: env:KEY_ALL, models: ["*"] }}
"#
    )
}

async fn start() -> Harness {
    Harness::start_config(MockOptions::default(), yaml).await
}

/// Azure's documented refusal of a prompt by its content filter.
fn content_filter_body() -> String {
    json!({"error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        "type": null, "param": "prompt", "code": "content_filter", "status": 400,
        "innererror": {"code": "ResponsibleAIPolicyViolation",
            "content_filter_result": {"violence": {"filtered": true, "severity": "high"}}}
    }})
    .to_string()
}

#[actix_web::test]
async fn json_chat_goes_to_the_deployment_url_with_the_key_only_in_api_key() {
    let h = start().await;
    let (status, body) = send_json(h.chat(Some(KEY_ALL), &hello("az-chat"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    let sent = h.mock.requests();
    let [request] = sent.as_slice() else {
        panic!("{sent:?}")
    };
    assert_eq!(
        request.path,
        "/openai/deployments/gpt-4o-dep/chat/completions"
    );
    assert_eq!(request.query, "api-version=2024-10-21");
    assert_eq!(request.header("api-key"), Some(CANARY));
    assert_eq!(request.header("authorization"), None);
    for (name, value) in &request.headers {
        assert!(name == "api-key" || !value.contains(CANARY), "{name}");
    }
    assert!(!request.query.contains(CANARY));
    h.stop().await;
}

#[actix_web::test]
async fn an_entra_token_is_sent_as_a_bearer_and_no_api_key() {
    let h = start().await;
    let (status, body) = send_json(h.chat(Some(KEY_ALL), &hello("az-entra"))).await;
    assert_eq!(status, 200, "{body}");
    let request = &h.mock.requests()[0];
    assert_eq!(
        request.path,
        "/openai/deployments/entra-dep/chat/completions"
    );
    assert_eq!(request.query, "api-version=2025-01-01-preview");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {CANARY}").as_str())
    );
    assert_eq!(request.header("api-key"), None);
    h.stop().await;
}

#[actix_web::test]
async fn sse_streams_relay_and_ask_for_usage() {
    let h = start().await;
    let body = json!({"model": "az-chat", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let text = send_text(h.chat(Some(KEY_ALL), &body)).await;
    assert!(text.contains("chat.completion.chunk"), "{text}");
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    assert!(
        !text.contains("prompt_tokens"),
        "usage chunk not asked for: {text}"
    );
    let sent = &h.mock.bodies_for("gpt-4o-dep")[0];
    assert_eq!(sent["stream_options"]["include_usage"], true);
    h.stop().await;
}

#[actix_web::test]
async fn embeddings_use_the_deployment_path_in_both_encodings() {
    let h = start().await;
    let input = json!(["alpha", "beta gamma"]);
    let (status, float) =
        send_json(h.embeddings(KEY_ALL, &json!({"model": "az-emb", "input": input}))).await;
    assert_eq!(status, 200, "{float}");
    let (status, b64) = send_json(h.embeddings(
        KEY_ALL,
        &json!({"model": "az-emb", "input": input, "encoding_format": "base64"}),
    ))
    .await;
    assert_eq!(status, 200, "{b64}");
    for i in 0..2 {
        assert_eq!(
            decode_base64(b64["data"][i]["embedding"].as_str().unwrap()),
            floats(&float["data"][i]["embedding"])
        );
    }
    assert_eq!(b64["usage"]["prompt_tokens"], 3);
    let sent = h.mock.requests();
    assert!(
        sent.iter()
            .all(|r| r.path == "/openai/deployments/emb-dep/embeddings")
    );
    assert!(sent.iter().all(|r| r.header("api-key") == Some(CANARY)));
    h.stop().await;
}

#[actix_web::test]
async fn the_content_filter_refusal_falls_back_as_a_content_policy_error() {
    let h = start().await;
    let filtered = Behaviour {
        status: Some(400),
        error_body: Some(content_filter_body()),
        ..Behaviour::default()
    };
    h.mock.script_model("gpt-4o-dep", filtered.clone());
    let (status, body) = send_json(h.chat(Some(KEY_ALL), &hello("az-chat"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h.mock.model_request_count("gpt-4o-dep"), 1);
    assert_eq!(h.mock.model_request_count("safe-up"), 1);
    // Without a fallback the client gets the refusal as OpenAI's content-policy error.
    h.mock.script_model("strict-dep", filtered);
    let (status, body) = send_json(h.chat(Some(KEY_ALL), &hello("az-strict"))).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "content_policy_violation");
    assert_eq!(h.mock.model_request_count("strict-dep"), 1);
    h.stop().await;
}

#[actix_web::test]
async fn a_429_with_retry_after_ms_is_waited_out_and_retried() {
    let h = start().await;
    let limited = Behaviour {
        status: Some(429),
        retry_after_ms: Some(20),
        ..Behaviour::default()
    };
    h.mock.script("busy-dep", [limited, Behaviour::default()]);
    let (status, body) = send_json(h.chat(Some(KEY_ALL), &hello("az-busy"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h.mock.model_request_count("busy-dep"), 2);
    h.stop().await;
}

#[actix_web::test]
async fn the_azure_key_never_reaches_a_response_log_or_metric() {
    let h = start().await;
    let echoing = |status| Behaviour {
        status: Some(status),
        error_body: Some(format!(
            r#"{{"error":{{"code":"{status}","message":"Access denied: key {CANARY} rejected"}}}}"#
        )),
        ..Behaviour::default()
    };
    let mut seen = String::new();
    for script in [
        echoing(400),
        echoing(401),
        echoing(500),
        Behaviour::default(),
    ] {
        h.mock.script_model("strict-dep", script);
        let response = h
            .chat(Some(KEY_ALL), &hello("az-strict"))
            .send()
            .await
            .unwrap();
        seen.push_str(&format!("{:?}", response.headers()));
        seen.push_str(&response.text().await.unwrap());
        h.mock.clear_scripts();
    }
    h.mock.script_model("emb-dep", echoing(400));
    let response = h
        .embeddings(KEY_ALL, &json!({"model": "az-emb", "input": "x"}))
        .send()
        .await
        .unwrap();
    seen.push_str(&response.text().await.unwrap());
    assert!(
        seen.contains("[redacted]"),
        "the 400 message is scrubbed: {seen}"
    );
    assert!(!seen.contains(CANARY), "{seen}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!captured_logs().contains(CANARY));
    let scrape = h.scrape().await;
    assert!(scrape.contains("portcullis_requests_total"));
    assert!(!scrape.contains(CANARY));
    let debug = format!("{:?}", h.config);
    assert!(!debug.contains(CANARY), "{debug}");
    h.stop().await;
}
