//! End-to-end tests of the mock upstream's SSE streams: event order and
//! shape, `include_usage`, first-byte delay, pause/resume and mid-stream
//! cuts — over real HTTP on an ephemeral port.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failed unwrap is a failed test"
)]

mod common;

use std::time::Duration;

use common::{Events, payload, post, request, start, within};
use portcullis_loadtest::Behaviour;
use serde_json::json;

#[tokio::test]
async fn stream_sends_role_content_finish_then_done() {
    let mock = start().await;
    let resp = post(&mock, &request("m", true)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let events = Events::new(resp).rest().await;
    // role + 8 content chunks + finish + [DONE]
    assert_eq!(events.len(), 11, "{events:#?}");
    let id = payload(&events[0])["id"].clone();
    for e in &events[..10] {
        let v = payload(e);
        assert_eq!(v["object"], "chat.completion.chunk");
        assert_eq!(v["id"], id);
        assert_eq!(v["model"], "m");
        assert!(v.get("usage").is_none(), "usage without include_usage: {e}");
    }
    assert_eq!(
        payload(&events[0])["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    let text: String = events[1..9]
        .iter()
        .map(|e| {
            payload(e)["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(text, "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7 ");
    let finish = payload(&events[9]);
    assert_eq!(finish["choices"][0]["delta"], json!({}));
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    assert_eq!(events[10], "data: [DONE]");
    assert_eq!(mock.chunks_sent(), 11);
}

#[tokio::test]
async fn include_usage_marks_every_chunk_and_appends_usage_chunk() {
    let mock = start().await;
    mock.script_next(Behaviour {
        chunks: Some(3),
        ..Behaviour::default()
    });
    let mut body = request("m", true);
    body["stream_options"] = json!({"include_usage": true});
    let events = Events::new(post(&mock, &body).await).rest().await;
    // role + 3 content + finish + usage + [DONE]
    assert_eq!(events.len(), 7, "{events:#?}");
    for e in &events[..5] {
        let v = payload(e);
        assert!(
            v.get("usage").is_some_and(serde_json::Value::is_null),
            "{e}"
        );
    }
    let usage = payload(&events[5]);
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(
        usage["usage"],
        json!({"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6})
    );
    assert_eq!(events[6], "data: [DONE]");
}

#[tokio::test]
async fn include_usage_false_sends_no_usage() {
    let mock = start().await;
    let mut body = request("m", true);
    body["stream_options"] = json!({"include_usage": false});
    body["max_tokens"] = 2.into();
    let events = Events::new(post(&mock, &body).await).rest().await;
    assert_eq!(events.len(), 11);
    assert!(
        events[..10]
            .iter()
            .all(|e| payload(e).get("usage").is_none())
    );
}

#[tokio::test]
async fn first_byte_delay_sends_headers_before_any_chunk() {
    let mock = start().await;
    mock.script_next(Behaviour {
        first_byte_delay: Duration::from_secs(1),
        chunks: Some(1),
        ..Behaviour::default()
    });
    let resp = post(&mock, &request("m", true)).await;
    assert_eq!(resp.status(), 200);
    // Headers are here; the body has not started.
    assert_eq!(mock.chunks_sent(), 0);
    let events = Events::new(resp).rest().await;
    assert_eq!(events.len(), 4);
}

#[tokio::test]
async fn pause_holds_the_stream_until_resume() {
    let mock = start().await;
    mock.script_next(Behaviour {
        chunks: Some(4),
        pause_after_chunks: Some(2),
        ..Behaviour::default()
    });
    let mut events = Events::new(post(&mock, &request("m", true)).await);
    for _ in 0..3 {
        events.next().await.unwrap().unwrap();
    }
    // role + 2 content chunks, then nothing while paused.
    let held = tokio::time::timeout(Duration::from_millis(200), events.next()).await;
    assert!(held.is_err(), "stream did not pause");
    assert_eq!(mock.chunks_sent(), 3);
    mock.resume();
    let rest = events.rest().await;
    // 2 content + finish + [DONE]
    assert_eq!(rest.len(), 4, "{rest:#?}");
    assert_eq!(rest[3], "data: [DONE]");
}

#[tokio::test]
async fn resume_that_races_ahead_of_the_pause_is_not_lost() {
    let mock = start().await;
    mock.script_model(
        "m",
        Behaviour {
            chunks: Some(3),
            pause_after_chunks: Some(3),
            chunk_interval: Duration::from_millis(20),
            ..Behaviour::default()
        },
    );
    let first = post(&mock, &request("m", true)).await;
    let second = post(&mock, &request("m", true)).await;
    // Both requests have arrived (their headers are here) but neither has
    // reached its pause yet; one resume releases both.
    mock.resume();
    let (mut first, mut second) = (Events::new(first), Events::new(second));
    let (a, b) = within(async { tokio::join!(first.rest(), second.rest()) }).await;
    assert_eq!((a.len(), b.len()), (6, 6));
}

#[tokio::test]
async fn disconnect_after_cuts_the_stream_without_done() {
    let mock = start().await;
    mock.script_next(Behaviour {
        disconnect_after: Some(2),
        ..Behaviour::default()
    });
    let mut events = Events::new(post(&mock, &request("m", true)).await);
    let mut received = Vec::new();
    let failure = loop {
        match events.next().await {
            Ok(Some(e)) => received.push(e),
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
        assert!(received.len() <= 11, "stream was not cut");
    };
    assert!(failure.is_some(), "body ended cleanly: {received:#?}");
    // role + 2 content chunks made it out; no finish chunk, no [DONE].
    assert_eq!(received.len(), 3, "{received:#?}");
    assert!(
        received
            .iter()
            .all(|e| !e.contains("[DONE]") && !e.contains("\"stop\""))
    );
    // The mock still serves new connections afterwards.
    assert_eq!(post(&mock, &request("m", true)).await.status(), 200);
}
