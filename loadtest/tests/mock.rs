//! End-to-end tests of the mock upstream's non-streaming behaviour: response
//! shapes, scripting precedence, errors, redirects, auth, recording, routing
//! and shutdown — over real HTTP on an ephemeral port.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failed unwrap is a failed test"
)]

mod common;

use std::time::{Duration, Instant};

use common::{client, post, post_json, request, start, within};
use portcullis_loadtest::{Behaviour, MockOptions, MockUpstream};
use serde_json::json;

fn status(code: u16) -> Behaviour {
    Behaviour {
        status: Some(code),
        ..Behaviour::default()
    }
}

#[tokio::test]
async fn completion_has_openai_shape_and_deterministic_usage() {
    let mock = start().await;
    let (code, v) = post_json(&mock, &request("gpt-x", false)).await;
    assert_eq!(code, 200);
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-mock-"));
    assert_eq!(v["object"], "chat.completion");
    assert!(v["created"].as_u64().unwrap() > 1_600_000_000);
    assert_eq!(v["model"], "gpt-x");
    let choice = &v["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    assert!(!choice["message"]["content"].as_str().unwrap().is_empty());
    assert_eq!(choice["finish_reason"], "stop");
    assert!(choice["logprobs"].is_null());
    // "hello world!" is 12 characters: 12 / 4 = 3 prompt tokens.
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 3, "completion_tokens": 16, "total_tokens": 19})
    );
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test]
async fn completion_tokens_are_scripted_and_capped_by_max_tokens() {
    let mock = start().await;
    mock.script_model(
        "m",
        Behaviour {
            completion_tokens: Some(40),
            ..Behaviour::default()
        },
    );
    let (_, v) = post_json(&mock, &request("m", false)).await;
    assert_eq!(v["usage"]["completion_tokens"], 40);
    let mut capped = request("m", false);
    capped["max_tokens"] = 5.into();
    let (_, v) = post_json(&mock, &capped).await;
    assert_eq!(v["usage"]["completion_tokens"], 5);
    capped["max_completion_tokens"] = 2.into();
    let (_, v) = post_json(&mock, &capped).await;
    assert_eq!(v["usage"]["completion_tokens"], 2);
}

#[tokio::test]
async fn scripted_429_sends_retry_after_and_openai_error() {
    let mock = start().await;
    mock.script_next(Behaviour {
        retry_after: Some(7),
        ..status(429)
    });
    let resp = post(&mock, &request("m", false)).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");
    let v: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(v["error"]["code"], "rate_limit_exceeded");
    assert!(v["error"]["message"].is_string());
    assert!(v["error"]["param"].is_null());
}

#[tokio::test]
async fn error_body_is_sent_verbatim() {
    let mock = start().await;
    mock.script_next(Behaviour {
        error_body: Some("{\"secret\":\"sk-upstream-123\"}".into()),
        ..status(502)
    });
    let resp = post(&mock, &request("m", false)).await;
    assert_eq!(resp.status(), 502);
    assert_eq!(
        resp.text().await.unwrap(),
        "{\"secret\":\"sk-upstream-123\"}"
    );
}

#[tokio::test]
async fn script_next_is_used_once_then_model_script_then_default() {
    let mock = MockUpstream::start(MockOptions {
        default: status(503),
        ..MockOptions::default()
    })
    .await
    .unwrap();
    mock.script_model("a", status(500));
    mock.script_next(status(429));
    mock.script_next(status(418));
    let mut seen = Vec::new();
    for model in ["b", "a", "a", "b"] {
        seen.push(post(&mock, &request(model, false)).await.status().as_u16());
    }
    assert_eq!(seen, [429, 418, 500, 503]);
    mock.clear_scripts();
    assert_eq!(post(&mock, &request("a", false)).await.status(), 503);
}

#[tokio::test]
async fn latency_delays_the_response() {
    let mock = start().await;
    mock.script_next(Behaviour {
        latency: Duration::from_millis(150),
        ..Behaviour::default()
    });
    let started = Instant::now();
    let (code, _) = post_json(&mock, &request("m", false)).await;
    assert_eq!(code, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn redirect_answers_307_with_location() {
    let mock = start().await;
    mock.script_next(Behaviour {
        redirect_to: Some("http://169.254.169.254/latest".into()),
        ..Behaviour::default()
    });
    let resp = post(&mock, &request("m", false)).await;
    assert_eq!(resp.status(), 307);
    assert_eq!(resp.headers()["location"], "http://169.254.169.254/latest");
}

#[tokio::test]
async fn wrong_or_missing_api_key_gets_401() {
    let mock = MockUpstream::start(MockOptions {
        expect_api_key: Some("sk-good".into()),
        ..MockOptions::default()
    })
    .await
    .unwrap();
    let url = common::chat_url(&mock);
    let body = request("m", false).to_string();
    for key in [None, Some("sk-bad")] {
        let mut req = client().post(&url).body(body.clone());
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        let resp = within(req.send()).await.unwrap();
        assert_eq!(resp.status(), 401);
        let v: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
        assert_eq!(v["error"]["code"], "invalid_api_key");
    }
    let resp = within(client().post(&url).bearer_auth("sk-good").body(body).send())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn records_method_path_lowercase_headers_and_body() {
    let mock = start().await;
    let body = request("m", false).to_string();
    within(
        client()
            .post(common::chat_url(&mock))
            .header("X-Custom-Header", "Value")
            .bearer_auth("sk-1")
            .body(body.clone())
            .send(),
    )
    .await
    .unwrap();
    let recorded = mock.requests();
    assert_eq!(recorded.len(), 1);
    let r = &recorded[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/v1/chat/completions")
    );
    assert!(
        r.headers
            .iter()
            .any(|(n, v)| n == "x-custom-header" && v == "Value")
    );
    assert_eq!(r.header("authorization"), Some("Bearer sk-1"));
    assert_eq!(r.body, body.as_bytes());
    assert_eq!(r.json().unwrap()["model"], "m");
    mock.clear();
    assert!(mock.requests().is_empty());
    assert_eq!((mock.request_count(), mock.total_requests()), (0, 0));
}

#[tokio::test]
async fn recording_off_still_counts() {
    let mock = MockUpstream::start(MockOptions {
        record: false,
        ..MockOptions::default()
    })
    .await
    .unwrap();
    post_json(&mock, &request("m", false)).await;
    within(client().get(format!("{}/models", mock.base_url())).send())
        .await
        .unwrap();
    assert!(mock.requests().is_empty());
    assert_eq!((mock.request_count(), mock.total_requests()), (1, 2));
}

#[tokio::test]
async fn models_are_listed_and_unknown_routes_are_404() {
    let mock = start().await;
    let resp = within(client().get(format!("{}/models", mock.base_url())).send())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(v["object"], "list");
    assert_eq!(v["data"][0]["id"], "mock-model");
    assert_eq!(v["data"][0]["object"], "model");

    let resp = within(client().get(format!("{}/nope", mock.base_url())).send())
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let v: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(mock.request_count(), 0);
    assert_eq!(mock.total_requests(), 2);
}

#[tokio::test]
async fn invalid_json_is_400_and_does_not_consume_a_script() {
    let mock = start().await;
    mock.script_next(status(500));
    let resp = within(client().post(common::chat_url(&mock)).body("{nope").send())
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(v["error"]["param"].is_null() && v["error"]["code"].is_null());
    assert_eq!(post(&mock, &request("m", false)).await.status(), 500);
}

#[tokio::test]
async fn shutdown_closes_the_listener() {
    let mock = start().await;
    let addr = mock.addr();
    post_json(&mock, &request("m", false)).await;
    mock.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn drop_closes_the_listener() {
    let mock = start().await;
    let addr = mock.addr();
    drop(mock);
    // The abort takes effect when the accept task next runs; a bounded
    // number of yields lets it, without sleeping.
    for _ in 0..1000 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("listener still open after drop");
}
