//! End-to-end tests of the OpenAI side answering with tool calls, JSON and
//! streamed (index, id, name, then argument deltas) — over real HTTP on an
//! ephemeral port.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failed unwrap is a failed test"
)]

mod common;

use common::{events, payloads, post, post_json, request, start};
use portcullis_loadtest::{Behaviour, ToolCall};
use serde_json::{Value, json};

fn with_tools(model: &str, stream: bool) -> Value {
    let mut body = request(model, stream);
    body["tools"] = json!([
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}},
    ]);
    body
}

fn parallel_calls() -> Behaviour {
    Behaviour {
        tool_calls: vec![
            ToolCall {
                name: None,
                arguments: json!({"city": "Paris", "unit": "celsius"}),
            },
            ToolCall {
                name: None,
                arguments: json!({"tz": "Europe/Paris"}),
            },
        ],
        ..Behaviour::default()
    }
}

#[tokio::test]
async fn json_answer_carries_parallel_tool_calls_named_from_the_request() {
    let mock = start().await;
    mock.script_model("m", parallel_calls());
    let (code, v) = post_json(&mock, &with_tools("m", false)).await;
    assert_eq!(code, 200);
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert!(choice["message"]["content"].is_null());
    let calls = choice["message"]["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["type"], "function");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    assert_eq!(calls[1]["function"]["name"], "get_time");
    assert_ne!(calls[0]["id"], calls[1]["id"]);
    let args: Value =
        serde_json::from_str(calls[0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"city": "Paris", "unit": "celsius"}));
}

#[tokio::test]
async fn without_tools_in_the_request_the_answer_is_text() {
    let mock = start().await;
    mock.script_model("m", parallel_calls());
    let (_, v) = post_json(&mock, &request("m", false)).await;
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert!(v["choices"][0]["message"].get("tool_calls").is_none());
    assert!(v["choices"][0]["message"]["content"].is_string());
    // Streamed, too: the default eight text chunks, no tool-call deltas.
    let ev = events(post(&mock, &request("m", true)).await).await;
    assert_eq!(ev.len(), 11, "{ev:#?}");
    assert!(ev.iter().all(|e| !e.contains("tool_calls")));
}

#[tokio::test]
async fn streamed_tool_calls_rebuild_to_the_scripted_calls() {
    let mock = start().await;
    mock.script_model("m", parallel_calls().tool_call("lookup", json!({"q": "x"})));
    let resp = post(&mock, &with_tools("m", true)).await;
    let ev = events(resp).await;
    assert_eq!(ev.last().unwrap(), "data: [DONE]");
    let data = payloads(&ev[..ev.len() - 1]);
    assert_eq!(data[0]["choices"][0]["delta"]["role"], "assistant");
    // Rebuild each call from its deltas, as an OpenAI client does.
    let mut calls: Vec<(String, String, String)> = Vec::new();
    for chunk in &data {
        let Some(deltas) = chunk["choices"][0]["delta"]["tool_calls"].as_array() else {
            continue;
        };
        for d in deltas {
            let index = d["index"].as_u64().unwrap() as usize;
            if let Some(id) = d["id"].as_str() {
                assert_eq!(index, calls.len(), "a new call starts at the next index");
                let name = d["function"]["name"].as_str().unwrap().to_owned();
                calls.push((id.to_owned(), name, String::new()));
            }
            calls[index]
                .2
                .push_str(d["function"]["arguments"].as_str().unwrap());
        }
    }
    let names: Vec<&str> = calls.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(names, ["get_weather", "get_time", "lookup"]);
    let args: Vec<Value> = calls
        .iter()
        .map(|c| serde_json::from_str(&c.2).unwrap())
        .collect();
    assert_eq!(args[0], json!({"city": "Paris", "unit": "celsius"}));
    assert_eq!(args[2], json!({"q": "x"}));
    let finish = &data[data.len() - 1];
    assert_eq!(finish["choices"][0]["finish_reason"], "tool_calls");
}
