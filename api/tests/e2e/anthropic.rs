//! Anthropic both ways, through the gateway against the mock: OpenAI clients of an Anthropic
//! provider, Anthropic clients (`/v1/messages`) of OpenAI-compatible and Anthropic providers,
//! streaming and not, tool-calling round trips, and errors in each client's shape.

use portcullis_api::StartOptions;
use portcullis_loadtest::mock::{Behaviour, MockOptions, MockUpstream};
use serde_json::{Value, json};

use crate::harness::*;

fn yaml(mock_url: &str) -> String {
    format!(
        r#"
server: {{ listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0, workers: 1, max_body_bytes: 65536, max_json_depth: 32 }}
auth: {{ master_key: env:MASTER }}
storage: {{ backend: memory }}
providers:
  - name: mock
    vendor: openai_compatible
    base_url: {mock_url}
    api_key: env:PROVIDER_KEY
    allow_private_network: true
    timeouts: {{ first_byte: 2s, read: 2s }}
  - name: claude
    vendor: anthropic
    base_url: {mock_url}
    api_key: env:PROVIDER_KEY
    allow_private_network: true
    timeouts: {{ first_byte: 2s, read: 2s }}
    anthropic: {{ default_max_tokens: 512 }}
models:
  - {{ name: gpt-test, deployments: [{{ provider: mock, model: upstream-gpt }}] }}
  - {{ name: claude-test, deployments: [{{ provider: claude, model: upstream-claude }}] }}
keys:
  - {{ name: team-a, key: env:KEY_A, models: [gpt-test] }}
  - {{ name: team-all, key: env:KEY_ALL, models: ["*"] }}
"#
    )
}

async fn start() -> Harness {
    let mock = MockUpstream::start(MockOptions {
        expect_api_key: Some(CANARY.to_owned()),
        ..MockOptions::default()
    })
    .await
    .unwrap();
    let config = portcullis_api::Config::from_yaml_str(&yaml(&mock.base_url()), &fake_env).unwrap();
    let gateway = portcullis_api::start(
        &config,
        StartOptions {
            handle_signals: false,
        },
    )
    .unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    Harness {
        mock,
        gateway,
        config,
        http,
    }
}

/// A `/v1/messages` request with `key` as `x-api-key`.
fn messages(h: &Harness, key: &str, body: &Value) -> reqwest::RequestBuilder {
    h.http
        .post(h.url("/v1/messages"))
        .header("x-api-key", key)
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(body.to_string())
}

fn ask(model: &str) -> Value {
    json!({ "model": model, "max_tokens": 64, "messages": [{ "role": "user", "content": "Hello" }] })
}

fn weather_tools() -> Value {
    json!([{ "name": "get_weather", "description": "Weather for a city",
             "input_schema": { "type": "object", "properties": { "city": { "type": "string" } } } }])
}

fn openai_tools() -> Value {
    json!([{ "type": "function", "function": { "name": "get_weather",
             "parameters": { "type": "object", "properties": { "city": { "type": "string" } } } } }])
}

/// `(event name, data)` of every SSE event in `text`.
fn sse(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let mut name = String::new();
            let mut data = String::new();
            for line in e.lines() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = n.to_owned();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push_str(d);
                }
            }
            let data = serde_json::from_str(&data).unwrap_or(Value::String(data));
            (name, data)
        })
        .collect()
}

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(n, _)| n.as_str()).collect()
}

/// Asserts the last request the mock saw went to `/v1/messages` with the provider
/// credential only, and returns its JSON body.
fn last_upstream_messages_request(h: &Harness) -> Value {
    let seen = h.mock.requests();
    let last = seen.last().expect("the mock saw a request");
    assert_eq!(last.path, "/v1/messages");
    assert_eq!(last.header("x-api-key"), Some(CANARY));
    assert_eq!(last.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(last.header("anthropic-beta"), None);
    assert_eq!(last.header("authorization"), None);
    for (_, value) in &last.headers {
        assert!(
            !value.contains(KEY_ALL) && !value.contains(KEY_A),
            "{value}"
        );
    }
    last.json().unwrap()
}

#[actix_web::test]
async fn openai_client_reaches_an_anthropic_provider_with_its_credential_and_version() {
    let h = start().await;
    h.mock.script_next(Behaviour::ok().cache_tokens(3, 2));
    let (status, body) = send_json(h.chat(Some(KEY_ALL), &hello("claude-test"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert!(
        !body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["usage"]["prompt_tokens_details"]["cached_tokens"], 3);
    let sent = last_upstream_messages_request(&h);
    assert_eq!(sent["model"], "upstream-claude");
    assert_eq!(sent["max_tokens"], 512);
    assert_eq!(sent["messages"][0]["role"], "user");
    h.stop().await;
}

#[actix_web::test]
async fn openai_client_streams_parallel_tool_calls_from_anthropic_and_sends_results_back() {
    let h = start().await;
    h.mock.script_next(
        Behaviour::ok()
            .tool_call("get_weather", json!({ "city": "Paris" }))
            .tool_call("get_weather", json!({ "city": "Oslo" })),
    );
    let mut body = hello("claude-test");
    body["stream"] = json!(true);
    body["stream_options"] = json!({ "include_usage": true });
    body["tools"] = openai_tools();
    let response = h.chat(Some(KEY_ALL), &body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let chunks: Vec<Value> = sse(&text).into_iter().map(|(_, d)| d).collect();
    assert_eq!(
        chunks.last(),
        Some(&Value::String("[DONE]".into())),
        "{text}"
    );
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let mut calls: Vec<(String, String, String)> = Vec::new();
    let mut finishes = Vec::new();
    for chunk in &chunks {
        if let Some(reason) = chunk["choices"][0]["finish_reason"].as_str() {
            finishes.push(reason.to_owned());
        }
        for call in chunk["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let i = call["index"].as_u64().unwrap() as usize;
            if i == calls.len() {
                calls.push(Default::default());
            }
            let slot = &mut calls[i];
            if let Some(id) = call["id"].as_str() {
                slot.0 = id.to_owned();
                slot.1 = call["function"]["name"].as_str().unwrap().to_owned();
            }
            slot.2
                .push_str(call["function"]["arguments"].as_str().unwrap_or(""));
        }
    }
    assert_eq!(finishes, ["tool_calls"]);
    assert_eq!(calls.len(), 2, "{text}");
    let cities: Vec<Value> = calls
        .iter()
        .map(|(_, _, args)| serde_json::from_str::<Value>(args).unwrap()["city"].clone())
        .collect();
    assert_eq!(cities, [json!("Paris"), json!("Oslo")]);
    assert!(
        calls
            .iter()
            .all(|(id, name, _)| !id.is_empty() && name == "get_weather")
    );
    let usage = chunks
        .iter()
        .rev()
        .find(|c| c["usage"].is_object())
        .unwrap();
    assert!(usage["usage"]["completion_tokens"].as_u64().unwrap() > 0);

    // The round trip: the calls and their results go back, as tool_use and tool_result.
    let follow_up = json!({
        "model": "claude-test",
        "tools": openai_tools(),
        "messages": [
            { "role": "user", "content": "Weather?" },
            { "role": "assistant", "content": null, "tool_calls": calls.iter().map(|(id, name, args)| json!({
                "id": id, "type": "function", "function": { "name": name, "arguments": args } })).collect::<Vec<_>>() },
            { "role": "tool", "tool_call_id": calls[0].0, "content": "sunny" },
            { "role": "tool", "tool_call_id": calls[1].0, "content": "snow" }
        ]
    });
    let (status, reply) = send_json(h.chat(Some(KEY_ALL), &follow_up)).await;
    assert_eq!(status, 200, "{reply}");
    let sent = last_upstream_messages_request(&h);
    let turns = sent["messages"].as_array().unwrap();
    assert_eq!(turns[1]["content"][0]["type"], "tool_use");
    assert_eq!(turns[1]["content"][1]["input"]["city"], "Oslo");
    assert_eq!(turns[2]["content"][0]["type"], "tool_result");
    assert_eq!(turns[2]["content"][0]["tool_use_id"], calls[0].0.as_str());
    assert_eq!(turns[2]["content"][1]["tool_use_id"], calls[1].0.as_str());
    h.stop().await;
}

#[actix_web::test]
async fn anthropic_client_of_an_openai_provider_gets_messages_json_and_events() {
    let h = start().await;
    let (status, body) = send_json(messages(&h, KEY_A, &ask("gpt-test"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["type"], "message");
    assert_eq!(body["model"], "gpt-test");
    assert_eq!(body["content"][0]["type"], "text");
    assert_eq!(body["stop_reason"], "end_turn");
    assert!(body["usage"]["output_tokens"].as_u64().unwrap() > 0);
    let seen = h.mock.requests();
    assert_eq!(seen.last().unwrap().path, "/v1/chat/completions");
    assert_eq!(
        seen.last().unwrap().header("authorization").unwrap(),
        format!("Bearer {CANARY}")
    );

    // Bearer works too, and streams come back as Messages events.
    let mut body = ask("gpt-test");
    body["stream"] = json!(true);
    let response = h
        .http
        .post(h.url("/v1/messages"))
        .bearer_auth(KEY_A)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let events = sse(&response.text().await.unwrap());
    let names = names(&events);
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(&names[names.len() - 2..], ["message_delta", "message_stop"]);
    assert!(names.contains(&"content_block_delta"));
    let delta = &events[events.len() - 2].1;
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert!(delta["usage"]["output_tokens"].as_u64().unwrap() > 0);
    h.stop().await;
}

#[actix_web::test]
async fn anthropic_client_tool_round_trip_through_an_openai_provider() {
    let h = start().await;
    h.mock
        .script_next(Behaviour::ok().tool_call("get_weather", json!({ "city": "Rome" })));
    let mut body = ask("gpt-test");
    body["tools"] = weather_tools();
    let (status, reply) = send_json(messages(&h, KEY_ALL, &body)).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["stop_reason"], "tool_use");
    let block = reply["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "tool_use")
        .unwrap()
        .clone();
    assert_eq!(block["input"]["city"], "Rome");
    assert_eq!(block["name"], "get_weather");

    // The same, streamed: a tool_use block with input_json_delta fragments.
    h.mock
        .script_next(Behaviour::ok().tool_call("get_weather", json!({ "city": "Rome" })));
    body["stream"] = json!(true);
    let text = send_text(messages(&h, KEY_ALL, &body)).await;
    let events = sse(&text);
    let start = events
        .iter()
        .find(|(n, d)| n == "content_block_start" && d["content_block"]["type"] == "tool_use")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(start.1["content_block"]["name"], "get_weather");
    let json: String = events
        .iter()
        .filter(|(_, d)| d["delta"]["type"] == "input_json_delta")
        .map(|(_, d)| d["delta"]["partial_json"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&json).unwrap()["city"],
        "Rome"
    );

    // The result goes back to the provider as an OpenAI tool message.
    let follow_up = json!({
        "model": "gpt-test", "max_tokens": 64, "tools": weather_tools(),
        "messages": [
            { "role": "user", "content": "Weather in Rome?" },
            { "role": "assistant", "content": [block] },
            { "role": "user", "content": [{ "type": "tool_result", "tool_use_id": block["id"], "content": "sunny" }] }
        ]
    });
    let (status, reply) = send_json(messages(&h, KEY_ALL, &follow_up)).await;
    assert_eq!(status, 200, "{reply}");
    let sent = h.mock.requests().last().unwrap().json().unwrap();
    let msgs = sent["messages"].as_array().unwrap();
    assert_eq!(msgs[1]["tool_calls"][0]["id"], block["id"]);
    assert_eq!(msgs[2]["role"], "tool");
    assert_eq!(msgs[2]["tool_call_id"], block["id"]);
    h.stop().await;
}

#[actix_web::test]
async fn anthropic_client_of_an_anthropic_provider_is_passed_through_natively() {
    let h = start().await;
    h.mock.script_next(Behaviour::ok().cache_tokens(5, 0));
    let mut body = ask("claude-test");
    body["system"] =
        json!([{ "type": "text", "text": "Be brief.", "cache_control": { "type": "ephemeral" } }]);
    body["top_k"] = json!(5);
    let (status, reply) = send_json(messages(&h, KEY_ALL, &body)).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["type"], "message");
    assert_eq!(reply["usage"]["cache_read_input_tokens"], 5);
    let sent = last_upstream_messages_request(&h);
    let mut expected = body.clone();
    expected["model"] = json!("upstream-claude");
    assert_eq!(sent, expected);

    body["stream"] = json!(true);
    let text = send_text(messages(&h, KEY_ALL, &body)).await;
    let events = sse(&text);
    let names = names(&events);
    assert_eq!(names.first(), Some(&"message_start"), "{text}");
    assert_eq!(names.last(), Some(&"message_stop"), "{text}");
    assert!(names.contains(&"content_block_delta"));
    h.stop().await;
}

#[actix_web::test]
async fn rate_limits_and_overload_map_to_each_clients_shape() {
    let h = start().await;
    h.mock.script_next(Behaviour::status(429).retry_after(7));
    let response = messages(&h, KEY_ALL, &ask("claude-test"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    h.stop().await;

    let h = start().await;
    // Overloaded on every attempt: the retries run out and the client gets Anthropic's 529.
    h.mock
        .script_model("upstream-claude", Behaviour::overloaded());
    let (status, body) = send_json(messages(&h, KEY_ALL, &ask("claude-test"))).await;
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (529, Some("overloaded_error"))
    );
    h.mock.clear_scripts();
    // One 529 is retried past (overloaded is retryable), for an Anthropic client and an
    // OpenAI client alike: both routes share the dispatch loop.
    h.mock.script_next(Behaviour::overloaded());
    let (status, body) = send_json(messages(&h, KEY_ALL, &ask("claude-test"))).await;
    assert_eq!(status, 200, "{body}");
    h.mock.script_next(Behaviour::overloaded());
    let (status, body) = send_json(h.chat(Some(KEY_ALL), &hello("claude-test"))).await;
    assert_eq!(status, 200, "{body}");
    h.stop().await;
}

#[actix_web::test]
async fn a_mid_stream_provider_error_ends_every_stream_with_an_error_event() {
    let h = start().await;
    let broken = || {
        Behaviour::ok()
            .error_after_chunks(2)
            .stream_error_type("overloaded_error")
    };
    // Anthropic client, Anthropic provider: the provider's event is re-rendered, not echoed.
    h.mock.script_next(broken());
    let mut body = ask("claude-test");
    body["stream"] = json!(true);
    let text = send_text(messages(&h, KEY_ALL, &body)).await;
    let events = sse(&text);
    assert_eq!(events.last().unwrap().0, "error", "{text}");
    assert_eq!(events.last().unwrap().1["type"], "error");
    assert!(!names(&events).contains(&"message_stop"));
    // OpenAI client, Anthropic provider: an OpenAI error object, no [DONE].
    h.mock.script_next(broken());
    let mut chat = hello("claude-test");
    chat["stream"] = json!(true);
    let text = send_text(h.chat(Some(KEY_ALL), &chat)).await;
    assert!(text.contains("\"error\""), "{text}");
    assert!(!text.contains("[DONE]"), "{text}");
    // Anthropic client, OpenAI provider.
    h.mock.script_next(broken());
    body["model"] = json!("gpt-test");
    let text = send_text(messages(&h, KEY_ALL, &body)).await;
    let events = sse(&text);
    assert_eq!(events.last().unwrap().0, "error", "{text}");
    assert!(!names(&events).contains(&"message_stop"));
    h.stop().await;
}

#[actix_web::test]
async fn bad_keys_scoping_and_override_fields_are_refused_before_any_upstream_call() {
    let h = start().await;
    let (status, body) = send_json(messages(
        &h,
        "sk-wrong-key-000000000000000000",
        &ask("gpt-test"),
    ))
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "authentication_error");
    let (status, body) = send_json(messages(&h, KEY_A, &ask("claude-test"))).await;
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (403, Some("permission_error"))
    );
    for field in ["api_base", "base_url", "api_key", "extra_headers"] {
        let mut body = ask("claude-test");
        body[field] = json!("http://evil.example");
        let (status, reply) = send_json(messages(&h, KEY_ALL, &body)).await;
        assert_eq!(status, 400, "{reply}");
        assert_eq!(reply["error"]["type"], "invalid_request_error");
        assert!(reply["error"]["message"].as_str().unwrap().contains(field));
    }
    let mut unknown = ask("gpt-test");
    unknown["temperature_typo"] = json!(1);
    let (status, _) = send_json(messages(&h, KEY_ALL, &unknown)).await;
    assert_eq!(status, 400);
    let response = h
        .http
        .post(h.url("/v1/messages/count_tokens"))
        .header("x-api-key", KEY_ALL)
        .header("content-type", "application/json")
        .body(ask("gpt-test").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 501);
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(h.mock.total_requests(), 0);
    h.stop().await;
}

#[actix_web::test]
async fn messages_ingress_applies_the_chat_limits_before_any_upstream_call() {
    let h = start().await;
    // Over the default `server.chat_limits.max_tokens` (1 000 000), and more stop sequences
    // than the default 4.
    let mut huge = ask("claude-test");
    huge["max_tokens"] = json!(2_000_000);
    let mut stops = ask("gpt-test");
    stops["stop_sequences"] = json!(["a", "b", "c", "d", "e"]);
    for body in [huge, stops] {
        let (status, reply) = send_json(messages(&h, KEY_ALL, &body)).await;
        assert_eq!(status, 400, "{reply}");
        assert_eq!(reply["type"], "error");
        assert_eq!(reply["error"]["type"], "invalid_request_error", "{reply}");
        assert!(
            reply["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("limit"),
            "{reply}"
        );
    }
    assert_eq!(h.mock.total_requests(), 0);
    h.stop().await;
}
