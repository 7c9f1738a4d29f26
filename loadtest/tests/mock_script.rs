//! End-to-end tests of scripted sequences per model, per-model counters and
//! recordings, and the faults added for retry and failover tests:
//! `retry-after-ms`, `529`, stalls, and a stream that ends in an error
//! event — over real HTTP on an ephemeral port.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failed unwrap is a failed test"
)]

mod common;

use std::time::{Duration, Instant};

use common::{events, payloads, post, request, start, within};
use portcullis_loadtest::{Behaviour, MockOptions, MockUpstream};

#[tokio::test]
async fn sequence_runs_in_order_then_the_standing_behaviour_applies() {
    let mock = start().await;
    mock.script_model("a", Behaviour::status(503));
    mock.script(
        "a",
        [Behaviour::status(429).retry_after(2), Behaviour::ok()],
    );
    assert_eq!(mock.script_remaining("a"), 2);

    let first = post(&mock, &request("a", false)).await;
    assert_eq!(first.status(), 429);
    assert_eq!(first.headers()["retry-after"], "2");
    assert_eq!(post(&mock, &request("b", false)).await.status(), 200);
    assert_eq!(post(&mock, &request("a", false)).await.status(), 200);
    assert_eq!(post(&mock, &request("a", false)).await.status(), 503);

    assert_eq!(mock.script_remaining("a"), 0);
    assert_eq!(mock.model_request_count("a"), 3);
    assert_eq!(mock.model_request_count("b"), 1);
    assert_eq!(mock.model_request_count("never"), 0);
}

#[tokio::test]
async fn exhausted_sequence_falls_back_to_the_default() {
    let mock = MockUpstream::start(MockOptions {
        default: Behaviour::status(418),
        ..MockOptions::default()
    })
    .await
    .unwrap();
    mock.script(
        "a",
        [
            Behaviour::status(500),
            Behaviour::status(500),
            Behaviour::ok(),
        ],
    );
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(post(&mock, &request("a", false)).await.status().as_u16());
    }
    assert_eq!(seen, [500, 500, 200, 418]);
}

#[tokio::test]
async fn recorded_bodies_and_headers_are_kept_per_model() {
    let mock = start().await;
    let mut body = request("a", false);
    body["temperature"] = 0.5.into();
    post(&mock, &body).await;
    post(&mock, &request("b", false)).await;
    within(
        common::client()
            .post(common::chat_url(&mock))
            .header("authorization", "Bearer sk-b")
            .body(request("b", true).to_string())
            .send(),
    )
    .await
    .unwrap();

    let a = mock.bodies_for("a");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["temperature"], 0.5);
    let b = mock.requests_for("b");
    assert_eq!(b.len(), 2);
    assert_eq!(b[1].header("authorization"), Some("Bearer sk-b"));
    assert_eq!(b[1].json().unwrap()["stream"], true);
    assert_eq!(mock.model_request_count("b"), 2);

    mock.clear();
    assert_eq!(mock.model_request_count("b"), 0);
    assert!(mock.bodies_for("a").is_empty());
}

#[tokio::test]
async fn concurrent_requests_each_take_exactly_one_scripted_step() {
    let mock = start().await;
    let statuses: Vec<u16> = (400..420).collect();
    mock.script("a", statuses.iter().map(|s| Behaviour::status(*s)));
    let body = request("a", false);
    let answers = within(futures_util::future::join_all(
        (0..20).map(|_| post(&mock, &body)),
    ))
    .await;
    let mut seen: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    seen.sort_unstable();
    assert_eq!(seen, statuses);
    assert_eq!(post(&mock, &body).await.status(), 200);
}

#[tokio::test]
async fn slow_first_byte_three_times_then_healthy() {
    let mock = start().await;
    let slow = Behaviour::ok()
        .chunks(1)
        .first_byte_delay(Duration::from_millis(300));
    mock.script("a", [slow.clone(), slow.clone(), slow]);
    for _ in 0..3 {
        let started = Instant::now();
        let mut stream = common::Events::new(post(&mock, &request("a", true)).await);
        stream.next().await.unwrap().unwrap();
        assert!(started.elapsed() >= Duration::from_millis(300));
        stream.rest().await;
    }
    assert_eq!(mock.script_remaining("a"), 0);
    // The fourth takes the default: no delay to assert, but a full stream.
    assert_eq!(
        events(post(&mock, &request("a", true)).await).await.len(),
        11
    );
}

#[tokio::test]
async fn overloaded_529_carries_retry_after_ms() {
    let mock = start().await;
    mock.script_next(Behaviour::overloaded().retry_after_ms(1500));
    let resp = post(&mock, &request("a", false)).await;
    assert_eq!(resp.status(), 529);
    assert_eq!(resp.headers()["retry-after-ms"], "1500");
    assert!(resp.headers().get("retry-after").is_none());
    let v: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(v["error"]["type"], "server_error");
}

#[tokio::test]
async fn stall_sends_headers_then_holds_the_json_body() {
    let mock = start().await;
    mock.script_next(Behaviour::ok().stall(Duration::from_millis(800)));
    let mut resp = post(&mock, &request("a", false)).await;
    assert_eq!(resp.status(), 200);
    let early = tokio::time::timeout(Duration::from_millis(150), resp.chunk()).await;
    assert!(early.is_err(), "body arrived during the stall");
    let body = within(resp.bytes()).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["object"], "chat.completion");
}

#[tokio::test]
async fn stall_forever_holds_a_stream_until_the_mock_stops() {
    let mock = start().await;
    mock.script_next(Behaviour::ok().stall_forever());
    let mut resp = post(&mock, &request("a", true)).await;
    assert_eq!(resp.status(), 200);
    let early = tokio::time::timeout(Duration::from_millis(200), resp.chunk()).await;
    assert!(early.is_err(), "stream sent bytes during the stall");
    assert_eq!(mock.chunks_sent(), 0);
    mock.shutdown().await;
    // The connection ends with the mock: an error or a cut, never data.
    if let Ok(Some(bytes)) = within(resp.chunk()).await {
        panic!("data after the stall: {bytes:?}");
    }
}

#[tokio::test]
async fn stream_then_error_sends_k_chunks_then_an_error_event() {
    let mock = start().await;
    mock.script_next(Behaviour::ok().chunks(5).error_after_chunks(2));
    let ev = events(post(&mock, &request("a", true)).await).await;
    // role + 2 content chunks + the error event; no finish, no [DONE].
    assert_eq!(ev.len(), 4, "{ev:#?}");
    let data = payloads(&ev);
    assert_eq!(data[2]["choices"][0]["delta"]["content"], "tok1 ");
    assert_eq!(data[3]["error"]["type"], "server_error");
    assert!(data[3]["error"]["message"].is_string());
    assert!(ev.iter().all(|e| !e.contains("[DONE]")));
}
