//! Streams: forwarded chunk by chunk, usage accounted, broken streams ended cleanly.

use portcullis_loadtest::mock::Behaviour;
use serde_json::{Value, json};

use crate::harness::*;

fn stream_body(model: &str, include_usage: Option<bool>) -> Value {
    let mut body = hello(model);
    body["stream"] = json!(true);
    if let Some(include) = include_usage {
        body["stream_options"] = json!({ "include_usage": include });
    }
    body
}

/// Reads the rest of an SSE response and returns its `data:` payloads.
async fn data_events(mut response: reqwest::Response, mut text: String) -> Vec<String> {
    while let Some(chunk) = response.chunk().await.unwrap() {
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    text.split("\n\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

#[actix_web::test]
async fn first_chunk_reaches_the_client_before_the_mock_sends_the_last() {
    let h = Harness::start().await;
    h.mock.script_next(Behaviour {
        chunks: Some(8),
        pause_after_chunks: Some(2),
        ..Behaviour::default()
    });
    let mut response = h
        .chat(Some(KEY_A), &stream_body("gpt-test", None))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    // The mock is now paused after two content chunks and cannot send more until resumed,
    // so anything we read here was forwarded while the stream was still open upstream.
    let first = response.chunk().await.unwrap().expect("a first chunk");
    let first = String::from_utf8(first.to_vec()).unwrap();
    assert!(first.starts_with("data: "), "{first}");
    let sent_so_far = h.mock.chunks_sent();
    assert!(sent_so_far < 8, "mock already sent {sent_so_far} chunks");
    h.mock.resume();
    let events = data_events(response, first).await;
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let content: String = events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .filter_map(|chunk| {
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(content.split_whitespace().count(), 8, "{content}");
    h.stop().await;
}

#[actix_web::test]
async fn gateway_asks_for_usage_but_hides_the_usage_chunk_from_clients_that_did_not() {
    let h = Harness::start().await;
    let response = h
        .chat(Some(KEY_A), &stream_body("gpt-test", None))
        .send()
        .await
        .unwrap();
    let events = data_events(response, String::new()).await;
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    for event in &events[..events.len() - 1] {
        let chunk: Value = serde_json::from_str(event).unwrap();
        assert!(
            !chunk["choices"].as_array().unwrap().is_empty(),
            "client got a usage-only chunk it did not ask for: {event}"
        );
    }
    let upstream = h.mock.requests().pop().unwrap().json().unwrap();
    assert_eq!(upstream["stream_options"]["include_usage"], true);
    h.stop().await;
}

#[actix_web::test]
async fn client_that_asks_for_usage_gets_the_usage_chunk() {
    let h = Harness::start().await;
    let response = h
        .chat(Some(KEY_A), &stream_body("gpt-test", Some(true)))
        .send()
        .await
        .unwrap();
    let events = data_events(response, String::new()).await;
    let usage_chunk = events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .find(|c| c["choices"].as_array().is_some_and(Vec::is_empty))
        .expect("a usage chunk");
    assert!(usage_chunk["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    h.stop().await;
}

#[actix_web::test]
async fn a_stream_cut_upstream_ends_with_an_openai_error_event() {
    let h = Harness::start().await;
    h.mock.script_next(Behaviour {
        chunks: Some(8),
        disconnect_after: Some(2),
        ..Behaviour::default()
    });
    let response = h
        .chat(Some(KEY_A), &stream_body("gpt-test", None))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let events = data_events(response, String::new()).await;
    assert!(!events.iter().any(|e| e == "[DONE]"));
    let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "upstream_stream_interrupted");
    assert_eq!(last["error"]["type"], "upstream_error");
    h.stop().await;
}

#[actix_web::test]
async fn upstream_error_before_the_stream_starts_is_a_plain_json_error() {
    let h = Harness::start().await;
    // Every attempt (the first and its retries) fails before the stream starts.
    h.mock.script_model(
        "upstream-gpt",
        Behaviour {
            status: Some(503),
            ..Behaviour::default()
        },
    );
    let (status, body) = send_json(h.chat(Some(KEY_A), &stream_body("gpt-test", None))).await;
    assert_eq!(status, 502);
    assert_eq!(error_type(&body), "upstream_error");
    h.stop().await;
}

#[actix_web::test]
async fn a_stream_that_goes_silent_ends_with_a_timeout_event() {
    let h = Harness::start().await;
    // The first chunks arrive, then nothing for longer than the read timeout (read: 1s).
    // (Silence before the first event is a failed attempt, retried: see `resilience`.)
    h.mock.script_next(Behaviour {
        chunks: Some(6),
        pause_after_chunks: Some(2),
        ..Behaviour::default()
    });
    let response = h
        .chat(Some(KEY_A), &stream_body("gpt-test", None))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let events = data_events(response, String::new()).await;
    let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "upstream_timeout", "{events:?}");
    h.mock.resume();
    h.stop().await;
}

#[actix_web::test]
async fn a_client_leaving_mid_stream_is_counted_and_releases_the_stream() {
    let h = Harness::start().await;
    let name = portcullis_api::metrics::STREAMS_INTERRUPTED_TOTAL;
    let model = [("model", "gpt-test")];
    let before = sample(&h.scrape().await, name, &model);
    h.mock.script_next(Behaviour {
        chunks: Some(8),
        pause_after_chunks: Some(2),
        ..Behaviour::default()
    });
    let mut response = h
        .chat(Some(KEY_A), &stream_body("gpt-test", None))
        .send()
        .await
        .unwrap();
    assert!(response.chunk().await.unwrap().is_some());
    drop(response);
    // actix notices a closed connection when it next writes to it: let the upstream go on.
    h.mock.resume();
    let after = sample(
        &h.scrape_until_above(name, &model, before).await,
        name,
        &model,
    );
    assert!(after > before, "client disconnect was not noticed");
    h.stop().await;
}
