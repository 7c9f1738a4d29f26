//! End-to-end tests of the mock's Anthropic side, `POST /v1/messages`:
//! header checks, the message and error shapes, max_tokens and cache usage,
//! the documented stream event order with text and parallel `tool_use`
//! blocks, and the scripted faults and sequences — over real HTTP on an
//! ephemeral port.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failed unwrap is a failed test"
)]

mod common;

use std::time::Duration;

use common::{
    Events, anthropic_request, client, events, messages_json, messages_url, payloads,
    post_messages, start, within,
};
use portcullis_loadtest::{Behaviour, MockOptions, MockUpstream};
use serde_json::{Value, json};

async fn error_of(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let v: Value = serde_json::from_slice(&within(resp.bytes()).await.unwrap()).unwrap();
    assert_eq!(v["type"], "error", "{v}");
    (status, v["error"].clone())
}

/// Event names of an Anthropic stream, checked against each payload's type.
fn names(ev: &[String]) -> Vec<String> {
    ev.iter()
        .zip(payloads(ev))
        .map(|(e, data)| {
            let name = e.lines().next().unwrap().strip_prefix("event: ").unwrap();
            assert_eq!(data["type"], name);
            name.to_owned()
        })
        .collect()
}

#[tokio::test]
async fn message_has_anthropic_shape_and_usage() {
    let mock = start().await;
    let (code, v) = messages_json(&mock, &anthropic_request("claude-x", false)).await;
    assert_eq!(code, 200);
    assert!(v["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(v["type"], "message");
    assert_eq!(v["role"], "assistant");
    assert_eq!(v["model"], "claude-x");
    assert_eq!(v["content"][0]["type"], "text");
    assert!(
        v["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("tok0")
    );
    assert_eq!(v["stop_reason"], "end_turn");
    assert!(v["stop_sequence"].is_null());
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 3, "cache_creation_input_tokens": 0,
               "cache_read_input_tokens": 0, "output_tokens": 16})
    );
    assert_eq!(mock.messages_count(), 1);
    assert_eq!(mock.request_count(), 0);
    let seen = mock.requests_for("claude-x");
    assert_eq!(seen[0].path, "/v1/messages");
    assert_eq!(seen[0].header("anthropic-version"), Some("2023-06-01"));
}

#[tokio::test]
async fn missing_or_wrong_key_is_an_authentication_error() {
    let mock = MockUpstream::start(MockOptions {
        expect_api_key: Some("sk-ant-test".into()),
        ..MockOptions::default()
    })
    .await
    .unwrap();
    let body = anthropic_request("m", false);
    for key in [None, Some("sk-ant-wrong"), Some("Bearer sk-ant-test")] {
        let (status, error) = error_of(post_messages(&mock, key, &body).await).await;
        assert_eq!(status, 401, "{key:?}");
        assert_eq!(error["type"], "authentication_error");
    }
    let ok = post_messages(&mock, Some("sk-ant-test"), &body).await;
    assert_eq!(ok.status(), 200);
    // The key is checked before any script is used.
    assert_eq!(mock.model_request_count("m"), 1);
}

#[tokio::test]
async fn missing_version_or_max_tokens_is_an_invalid_request() {
    let mock = start().await;
    let no_version = within(
        client()
            .post(messages_url(&mock))
            .header("x-api-key", "k")
            .body(anthropic_request("m", false).to_string())
            .send(),
    )
    .await
    .unwrap();
    let (status, error) = error_of(no_version).await;
    assert_eq!(
        (status, error["type"].as_str()),
        (400, Some("invalid_request_error"))
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("anthropic-version")
    );

    let mut body = anthropic_request("m", false);
    body.as_object_mut().unwrap().remove("max_tokens");
    let (status, error) = error_of(post_messages(&mock, Some("k"), &body).await).await;
    assert_eq!(
        (status, error["type"].as_str()),
        (400, Some("invalid_request_error"))
    );
    assert!(error["message"].as_str().unwrap().contains("max_tokens"));
}

#[tokio::test]
async fn max_tokens_caps_output_and_cache_tokens_are_scripted() {
    let mock = start().await;
    mock.script_model(
        "m",
        Behaviour::ok().completion_tokens(40).cache_tokens(120, 30),
    );
    let mut body = anthropic_request("m", false);
    body["max_tokens"] = 5.into();
    let (_, v) = messages_json(&mock, &body).await;
    assert_eq!(v["stop_reason"], "max_tokens");
    assert_eq!(v["usage"]["output_tokens"], 5);
    assert_eq!(v["usage"]["cache_read_input_tokens"], 120);
    assert_eq!(v["usage"]["cache_creation_input_tokens"], 30);
    body["max_tokens"] = 100.into();
    let (_, v) = messages_json(&mock, &body).await;
    assert_eq!(
        (
            v["stop_reason"].as_str(),
            v["usage"]["output_tokens"].as_u64()
        ),
        (Some("end_turn"), Some(40))
    );
}

#[tokio::test]
async fn text_stream_follows_the_documented_event_order() {
    let mock = start().await;
    mock.script_model("m", Behaviour::ok().chunks(3).cache_tokens(7, 0));
    let resp = post_messages(&mock, Some("k"), &anthropic_request("m", true)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let ev = events(resp).await;
    assert_eq!(
        names(&ev),
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let data = payloads(&ev);
    let start = &data[0]["message"];
    assert_eq!(
        (start["role"].as_str(), start["model"].as_str()),
        (Some("assistant"), Some("m"))
    );
    assert_eq!(start["content"], json!([]));
    assert_eq!(start["usage"]["input_tokens"], 3);
    assert_eq!(start["usage"]["cache_read_input_tokens"], 7);
    let text: String = data[3..6]
        .iter()
        .map(|d| d["delta"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, "tok0 tok1 tok2 ");
    assert_eq!(data[7]["delta"]["stop_reason"], "end_turn");
    assert_eq!(data[7]["usage"]["output_tokens"], 3);
    assert_eq!(mock.chunks_sent(), 9);
}

#[tokio::test]
async fn tool_use_blocks_stream_and_rebuild_to_the_scripted_input() {
    let mock = start().await;
    mock.script_model(
        "m",
        Behaviour::ok()
            .chunks(1)
            .tool_call("get_weather", json!({"city": "Paris", "unit": "celsius"}))
            .tool_call("get_time", json!({"tz": "Europe/Paris"})),
    );
    let mut body = anthropic_request("m", true);
    body["tools"] = json!([{"name": "get_weather", "input_schema": {"type": "object"}},
                           {"name": "get_time", "input_schema": {"type": "object"}}]);
    let ev = events(post_messages(&mock, Some("k"), &body).await).await;
    let data = payloads(&ev);
    let mut blocks: Vec<(Value, String)> = Vec::new();
    for d in &data {
        match d["type"].as_str().unwrap() {
            "content_block_start" => {
                assert_eq!(d["index"].as_u64().unwrap() as usize, blocks.len());
                blocks.push((d["content_block"].clone(), String::new()));
            }
            "content_block_delta" if d["delta"]["type"] == "input_json_delta" => {
                let i = d["index"].as_u64().unwrap() as usize;
                blocks[i]
                    .1
                    .push_str(d["delta"]["partial_json"].as_str().unwrap());
            }
            _ => {}
        }
    }
    assert_eq!(blocks.len(), 3);
    assert_eq!(blocks[0].0["type"], "text");
    assert_eq!(blocks[1].0["type"], "tool_use");
    assert_eq!(blocks[1].0["name"], "get_weather");
    assert!(blocks[1].0["id"].as_str().unwrap().starts_with("toolu_"));
    assert_eq!(blocks[1].0["input"], json!({}));
    let input: Value = serde_json::from_str(&blocks[1].1).unwrap();
    assert_eq!(input, json!({"city": "Paris", "unit": "celsius"}));
    assert_eq!(blocks[2].0["name"], "get_time");
    let message_delta = data.iter().find(|d| d["type"] == "message_delta").unwrap();
    assert_eq!(message_delta["delta"]["stop_reason"], "tool_use");

    // The same behaviour answers JSON with tool_use blocks.
    body["stream"] = false.into();
    let (_, v) = messages_json(&mock, &body).await;
    assert_eq!(v["stop_reason"], "tool_use");
    assert_eq!(v["content"][2]["input"], json!({"tz": "Europe/Paris"}));
}

#[tokio::test]
async fn rate_limit_and_overloaded_errors_are_anthropic_shaped() {
    let mock = start().await;
    mock.script(
        "m",
        [
            Behaviour::status(429).retry_after(3),
            Behaviour::overloaded(),
        ],
    );
    let body = anthropic_request("m", false);
    let resp = post_messages(&mock, Some("k"), &body).await;
    assert_eq!(resp.headers()["retry-after"], "3");
    let (status, error) = error_of(resp).await;
    assert_eq!(
        (status, error["type"].as_str()),
        (429, Some("rate_limit_error"))
    );
    let (status, error) = error_of(post_messages(&mock, Some("k"), &body).await).await;
    assert_eq!(
        (status, error["type"].as_str()),
        (529, Some("overloaded_error"))
    );
    assert_eq!(post_messages(&mock, Some("k"), &body).await.status(), 200);
}

#[tokio::test]
async fn stream_error_event_ends_the_stream_midway() {
    let mock = start().await;
    mock.script_next(Behaviour::ok().chunks(4).error_after_chunks(2));
    let ev = events(post_messages(&mock, Some("k"), &anthropic_request("m", true)).await).await;
    let n = names(&ev);
    assert_eq!(n.len(), 6, "{n:?}");
    assert_eq!(n[5], "error");
    assert!(!n.contains(&"message_stop".to_owned()));
    let error = &payloads(&ev)[5]["error"];
    assert_eq!(error["type"], "overloaded_error");
    assert_eq!(error["message"], "Overloaded");
}

#[tokio::test]
async fn disconnect_cuts_the_stream_and_stall_holds_it() {
    let mock = start().await;
    mock.script(
        "m",
        [
            Behaviour::ok().disconnect_after(1),
            Behaviour::ok().stall_forever(),
        ],
    );
    let body = anthropic_request("m", true);
    let mut cut = Events::new(post_messages(&mock, Some("k"), &body).await);
    let mut received = 0;
    let failed = loop {
        match cut.next().await {
            Ok(Some(_)) => received += 1,
            Ok(None) => break false,
            Err(_) => break true,
        }
        assert!(received < 20, "stream was not cut");
    };
    assert!(failed, "body ended cleanly");
    // message_start, content_block_start, ping, one delta.
    assert_eq!(received, 4);

    let mut stalled = post_messages(&mock, Some("k"), &body).await;
    assert_eq!(stalled.status(), 200);
    let early = tokio::time::timeout(Duration::from_millis(200), stalled.chunk()).await;
    assert!(early.is_err(), "stream sent bytes during the stall");
}
