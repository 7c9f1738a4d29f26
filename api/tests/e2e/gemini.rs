//! Gemini (AI Studio) through the gateway against the mock: OpenAI clients get chat
//! completions and chunks from `generateContent` / `streamGenerateContent?alt=sse`, a
//! tool-calling round trip, Google errors classified (429 retried after `RetryInfo`, a 400's
//! message scrubbed), and the provider key travelling only in `x-goog-api-key`.

use portcullis_loadtest::mock::{Behaviour, MockOptions, RecordedRequest};
use serde_json::{Value, json};

use crate::harness::*;

fn yaml(mock_url: &str) -> String {
    let gemini_url = mock_url.replace("/v1", "/v1beta");
    format!(
        r#"
server: {{ listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0, workers: 1, max_body_bytes: 65536, max_json_depth: 32 }}
auth: {{ master_key: env:MASTER }}
storage: {{ backend: memory }}
providers:
  - name: google
    vendor: gemini
    base_url: {gemini_url}
    api_key: env:PROVIDER_KEY
    allow_private_network: true
    timeouts: {{ first_byte: 2s, read: 2s }}
    retry: {{ backoff_base: 1ms, backoff_max: 5ms }}
models:
  - {{ name: gemini-test, deployments: [{{ provider: google, model: upstream-gemini }}] }}
  - {{ name: gemini-backup, deployments: [{{ provider: google, model: upstream-backup }}] }}
keys:
  - {{ name: team-all, key: env:KEY_ALL, models: ["*"] }}
"#
    )
}

async fn start() -> Harness {
    Harness::start_config(MockOptions::default(), yaml).await
}

fn weather_tools() -> Value {
    json!([{ "type": "function", "function": { "name": "get_weather",
             "parameters": { "type": "object", "properties": { "city": { "type": "string" } } } } }])
}

/// `data:` payloads of an OpenAI SSE body.
fn chunks(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter_map(|e| e.trim().strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap_or(Value::String(d.to_owned())))
        .collect()
}

/// Asserts `seen` went to the model's Gemini method with the key in the header only.
fn assert_upstream(seen: &RecordedRequest, method: &str, query: &str) {
    assert_eq!(
        seen.path,
        format!("/v1beta/models/upstream-gemini:{method}")
    );
    assert_eq!(seen.query, query);
    assert_eq!(seen.header("x-goog-api-key"), Some(CANARY));
    assert_eq!(seen.header("authorization"), None);
    assert!(!seen.path.contains(CANARY) && !seen.query.contains(CANARY));
    for (_, value) in &seen.headers {
        assert!(!value.contains(KEY_ALL), "{value}");
    }
}

#[actix_web::test]
async fn a_chat_completion_comes_from_generate_content_with_the_key_in_the_header_only() {
    let h = start().await;
    h.mock.script_next(Behaviour::ok().cache_tokens(3, 0));
    let mut body = hello("gemini-test");
    body["max_tokens"] = json!(100);
    body["messages"] = json!([
        { "role": "system", "content": "Be brief." },
        { "role": "user", "content": "Hello" }
    ]);
    let (status, answer) = send_json(h.chat(Some(KEY_ALL), &body)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(answer["model"], "upstream-gemini");
    assert!(
        answer["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .starts_with("tok0")
    );
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    assert_eq!(answer["usage"]["completion_tokens"], 16);
    assert_eq!(answer["usage"]["prompt_tokens_details"]["cached_tokens"], 3);
    let seen = h.mock.requests();
    assert_eq!(seen.len(), 1);
    assert_upstream(&seen[0], "generateContent", "");
    let sent = seen[0].json().unwrap();
    assert_eq!(sent["systemInstruction"]["parts"][0]["text"], "Be brief.");
    assert_eq!(sent["contents"][0]["role"], "user");
    assert_eq!(sent["generationConfig"]["maxOutputTokens"], 100);
    assert!(sent.get("model").is_none());
    h.stop().await;
}

#[actix_web::test]
async fn a_stream_comes_from_stream_generate_content_with_usage_when_asked() {
    let h = start().await;
    h.mock.script_next(Behaviour::ok().chunks(3));
    let mut body = hello("gemini-test");
    body["stream"] = json!(true);
    body["stream_options"] = json!({ "include_usage": true });
    let text = send_text(h.chat(Some(KEY_ALL), &body)).await;
    let chunks = chunks(&text);
    assert_eq!(chunks.last(), Some(&json!("[DONE]")), "{text}");
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let content: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(content, "tok0 tok1 tok2 ");
    let finish = chunks
        .iter()
        .find_map(|c| c["choices"][0]["finish_reason"].as_str());
    assert_eq!(finish, Some("stop"));
    let usage = &chunks[chunks.len() - 2]["usage"];
    assert_eq!(usage["completion_tokens"], 3, "{text}");
    assert_upstream(&h.mock.requests()[0], "streamGenerateContent", "alt=sse");

    // Without include_usage, no usage chunk.
    body["stream_options"] = json!({ "include_usage": false });
    let text = send_text(h.chat(Some(KEY_ALL), &body)).await;
    assert!(!text.contains("\"usage\""), "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"));
    h.stop().await;
}

#[actix_web::test]
async fn parallel_tool_calls_round_trip_with_function_responses_named_by_call_id() {
    let h = start().await;
    h.mock.script_next(
        Behaviour::ok()
            .tool_call("get_weather", json!({ "city": "Paris" }))
            .tool_call("get_weather", json!({ "city": "Oslo" })),
    );
    let mut body = hello("gemini-test");
    body["tools"] = weather_tools();
    body["tool_choice"] = json!("required");
    let (status, answer) = send_json(h.chat(Some(KEY_ALL), &body)).await;
    assert_eq!(status, 200, "{answer}");
    let message = &answer["choices"][0]["message"];
    assert_eq!(answer["choices"][0]["finish_reason"], "tool_calls");
    let calls = message["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1]["function"]["arguments"], r#"{"city":"Oslo"}"#);
    assert_ne!(calls[0]["id"], calls[1]["id"]);
    let first = h.mock.requests()[0].json().unwrap();
    assert_eq!(
        first["toolConfig"]["functionCallingConfig"]["mode"], "ANY",
        "{first}"
    );
    assert_eq!(
        first["tools"][0]["functionDeclarations"][0]["name"],
        "get_weather"
    );

    // The client sends the results back, by call id.
    let mut follow = body.clone();
    follow["messages"] = json!([
        { "role": "user", "content": "Weather?" },
        { "role": "assistant", "content": null, "tool_calls": calls },
        { "role": "tool", "tool_call_id": calls[0]["id"], "content": "{\"temp\":21}" },
        { "role": "tool", "tool_call_id": calls[1]["id"], "content": "cold" },
    ]);
    follow["tool_choice"] = json!("auto");
    let (status, answer) = send_json(h.chat(Some(KEY_ALL), &follow)).await;
    assert_eq!(status, 200, "{answer}");
    let sent = h.mock.requests()[1].json().unwrap();
    let turns = sent["contents"].as_array().unwrap();
    assert_eq!(turns.len(), 3, "{sent}");
    assert_eq!(turns[1]["role"], "model");
    assert_eq!(turns[1]["parts"][1]["functionCall"]["args"]["city"], "Oslo");
    assert_eq!(turns[2]["role"], "user");
    let responses = turns[2]["parts"].as_array().unwrap();
    assert_eq!(responses[0]["functionResponse"]["name"], "get_weather");
    assert_eq!(responses[0]["functionResponse"]["response"]["temp"], 21);
    assert_eq!(
        responses[1]["functionResponse"]["response"]["result"],
        "cold"
    );
    h.stop().await;
}

#[actix_web::test]
async fn streamed_tool_calls_keep_stable_indices() {
    let h = start().await;
    h.mock.script_next(
        Behaviour::ok()
            .tool_call("get_weather", json!({ "city": "Paris" }))
            .tool_call("get_weather", json!({ "city": "Oslo" })),
    );
    let mut body = hello("gemini-test");
    body["stream"] = json!(true);
    body["tools"] = weather_tools();
    let text = send_text(h.chat(Some(KEY_ALL), &body)).await;
    let calls: Vec<Value> = chunks(&text)
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0).cloned())
        .collect();
    assert_eq!(calls.len(), 2, "{text}");
    assert_eq!(calls[0]["index"], 0);
    assert_eq!(calls[1]["index"], 1);
    assert_eq!(calls[1]["function"]["arguments"], r#"{"city":"Oslo"}"#);
    assert!(text.contains(r#""finish_reason":"tool_calls""#), "{text}");
    h.stop().await;
}

#[actix_web::test]
async fn resource_exhausted_is_retried_and_a_bad_request_is_scrubbed() {
    let h = start().await;
    h.mock.script(
        "upstream-gemini",
        [Behaviour::status(429).retry_after(0), Behaviour::ok()],
    );
    let (status, answer) = send_json(h.chat(Some(KEY_ALL), &hello("gemini-test"))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(h.mock.gemini_count(), 2);

    let leak = format!(
        r#"{{"error":{{"code":400,"message":"Invalid value at 'contents' near {CANARY}","status":"INVALID_ARGUMENT"}}}}"#
    );
    h.mock.script_next(Behaviour::status(400).error_body(leak));
    let (status, answer) = send_json(h.chat(Some(KEY_ALL), &hello("gemini-test"))).await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("Invalid value at 'contents'"), "{message}");
    assert!(!message.contains(CANARY), "{message}");
    h.stop().await;
}

#[actix_web::test]
async fn an_unavailable_model_falls_back_and_a_remote_image_is_refused_before_sending() {
    let h = Harness::start_config(MockOptions::default(), |url| {
        yaml(url).replace(
            "{ name: gemini-test, deployments: [{ provider: google, model: upstream-gemini }] }",
            "{ name: gemini-test, fallbacks: [gemini-backup], deployments: [{ provider: google, model: upstream-gemini }] }",
        )
    })
    .await;
    h.mock
        .script_model("upstream-gemini", Behaviour::status(503));
    let (status, answer) = send_json(h.chat(Some(KEY_ALL), &hello("gemini-test"))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["model"], "upstream-backup");

    h.mock.clear();
    let mut body = hello("gemini-test");
    body["messages"] = json!([{ "role": "user", "content": [
        { "type": "image_url", "image_url": { "url": "http://169.254.169.254/latest" } }] }]);
    let (status, answer) = send_json(h.chat(Some(KEY_ALL), &body)).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(h.mock.gemini_count(), 0);
    h.stop().await;
}

#[actix_web::test]
async fn the_gemini_key_never_appears_in_responses_logs_or_metrics() {
    let h = start().await;
    let mut seen = String::new();
    let scripts = [
        Behaviour::ok(),
        Behaviour::status(401).error_body(format!(
            r#"{{"error":{{"code":401,"message":"bad key {CANARY}","status":"UNAUTHENTICATED"}}}}"#
        )),
        Behaviour::status(400).error_body(format!(
            r#"{{"error":{{"code":400,"message":"API key not valid {CANARY}","status":"INVALID_ARGUMENT","details":[{{"reason":"API_KEY_INVALID"}}]}}}}"#
        )),
        Behaviour::status(500).error_body(CANARY.to_owned()),
        Behaviour::status(429).error_body(CANARY.to_owned()).retry_after(0),
    ];
    for script in scripts {
        h.mock.script_next(script);
        let response = h
            .chat(Some(KEY_ALL), &hello("gemini-backup"))
            .send()
            .await
            .unwrap();
        seen.push_str(&format!("{:?}", response.headers()));
        seen.push_str(&response.text().await.unwrap());
    }
    let mut stream = hello("gemini-test");
    stream["stream"] = json!(true);
    h.mock.script_next(
        Behaviour::ok()
            .error_after_chunks(1)
            .stream_error_type("UNAVAILABLE"),
    );
    seen.push_str(&send_text(h.chat(Some(KEY_ALL), &stream)).await);
    seen.push_str(&send_text(h.http.get(h.admin_url("/metrics")).bearer_auth(MASTER)).await);
    assert!(!seen.contains(CANARY), "canary in a response or metric");
    let logs = captured_logs();
    assert!(!logs.is_empty(), "log capture is not working");
    assert!(!logs.contains(CANARY), "canary in a log line");
    for seen in h.mock.requests() {
        assert!(!seen.path.contains(CANARY) && !seen.query.contains(CANARY));
    }
    h.stop().await;
}
