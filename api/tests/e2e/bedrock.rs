//! AWS Bedrock through the gateway against the mock's Converse dialect: every request SigV4
//! signed with the configured credentials (the mock verifies the signature and the session
//! token), JSON and ConverseStream (real event-stream frames), tool-calling round trips,
//! Bedrock errors classified (throttling retried), Titan and Cohere embeddings through
//! InvokeModel, and the AWS credentials never in a response, a log line or a metric.

use portcullis_api::StartOptions;
use portcullis_loadtest::mock::{AwsCredentials, Behaviour, MockOptions, MockUpstream, ToolCall};
use serde_json::{Value, json};

use crate::harness::*;

const AWS_KEY_ID: &str = "AKIACANARYBEDROCK0001";
const AWS_SECRET: &str = "canary/AwsSecretKey+bedrock0123456789abcdef";
const AWS_TOKEN: &str = "IQoJb3JpZ2luX2VjCANARYsessionTOKENbedrock";
const CLAUDE: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";
const NOVA: &str = "us.amazon.nova-pro-v1:0";

fn aws_env(name: &str) -> Option<String> {
    match name {
        "AWS_KEY_ID" => Some(AWS_KEY_ID.to_owned()),
        "AWS_SECRET" => Some(AWS_SECRET.to_owned()),
        "AWS_TOKEN" => Some(AWS_TOKEN.to_owned()),
        other => fake_env(other),
    }
}

fn yaml(mock_root: &str) -> String {
    format!(
        r#"
server: {{ listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0, workers: 1, max_body_bytes: 65536, max_json_depth: 32 }}
auth: {{ master_key: env:MASTER }}
storage: {{ backend: memory }}
providers:
  - name: aws
    vendor: bedrock
    base_url: {mock_root}
    allow_private_network: true
    timeouts: {{ first_byte: 2s, read: 2s }}
    retry: {{ backoff_base: 1ms, backoff_max: 5ms }}
    bedrock:
      region: us-east-1
      access_key_id: env:AWS_KEY_ID
      secret_access_key: env:AWS_SECRET
      session_token: env:AWS_TOKEN
models:
  - {{ name: claude-bedrock, deployments: [{{ provider: aws, model: "{CLAUDE}" }}] }}
  - {{ name: nova, deployments: [{{ provider: aws, model: "{NOVA}" }}] }}
  - {{ name: titan, deployments: [{{ provider: aws, model: "amazon.titan-embed-text-v2:0" }}] }}
  - {{ name: cohere, deployments: [{{ provider: aws, model: "cohere.embed-english-v3" }}] }}
keys:
  - {{ name: team-all, key: env:KEY_ALL, models: ["*"] }}
"#
    )
}

async fn start() -> Harness {
    init_log_capture();
    let mock = MockUpstream::start(MockOptions::default()).await.unwrap();
    mock.expect_aws_credentials(AwsCredentials {
        access_key_id: AWS_KEY_ID.to_owned(),
        secret_access_key: AWS_SECRET.to_owned(),
        session_token: Some(AWS_TOKEN.to_owned()),
    });
    let root = format!("http://{}", mock.addr());
    let config = portcullis_api::Config::from_yaml_str(&yaml(&root), &aws_env).unwrap();
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

fn weather_tools() -> Value {
    json!([{ "type": "function", "function": { "name": "get_weather", "description": "Weather",
             "parameters": { "type": "object", "properties": { "city": { "type": "string" } } } } }])
}

fn two_calls() -> Vec<ToolCall> {
    vec![
        ToolCall {
            name: None,
            arguments: json!({ "city": "Paris, France" }),
        },
        ToolCall {
            name: None,
            arguments: json!({ "city": "Rome" }),
        },
    ]
}

/// The data of every SSE event in `text`, `[DONE]` as a string.
fn data_events(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter_map(|e| e.trim().strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap_or(Value::String(d.to_owned())))
        .collect()
}

#[actix_web::test]
async fn json_chat_is_signed_sent_to_the_encoded_model_path_and_translated() {
    let h = start().await;
    let (status, body) = send_json(h.chat(Some(KEY_ALL), &hello("claude-bedrock"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert!(
        body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .starts_with("tok0")
    );
    assert_eq!(body["usage"]["completion_tokens"], 16);
    let seen = h.mock.requests();
    let last = seen.last().unwrap();
    assert_eq!(
        last.path,
        "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    );
    let auth = last.header("authorization").unwrap();
    assert!(
        auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={AWS_KEY_ID}/")),
        "{auth}"
    );
    assert!(auth.contains("/us-east-1/bedrock/aws4_request"));
    assert_eq!(last.header("x-amz-security-token"), Some(AWS_TOKEN));
    let sent: Value = serde_json::from_slice(&last.body).unwrap();
    assert_eq!(
        sent["messages"],
        json!([{ "role": "user", "content": [{ "text": "Hello there" }] }])
    );
    assert!(sent.get("model").is_none());
    h.stop().await;
}

#[actix_web::test]
async fn streams_translate_event_stream_frames_to_openai_chunks_with_usage() {
    let h = start().await;
    h.mock.script_model(
        NOVA,
        Behaviour {
            chunks: Some(3),
            ..Behaviour::default()
        },
    );
    let mut body = hello("nova");
    body["stream"] = json!(true);
    body["stream_options"] = json!({ "include_usage": true });
    let text = send_text(h.chat(Some(KEY_ALL), &body)).await;
    let events = data_events(&text);
    assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant");
    let content: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(content, "tok0 tok1 tok2 ");
    let n = events.len();
    assert_eq!(events[n - 3]["choices"][0]["finish_reason"], "stop");
    assert_eq!(events[n - 2]["usage"]["completion_tokens"], 3);
    assert_eq!(events[n - 1], json!("[DONE]"));
    let last = h.mock.requests().pop().unwrap();
    assert_eq!(
        last.path,
        "/model/us.amazon.nova-pro-v1%3A0/converse-stream"
    );
    assert_eq!(
        last.header("accept"),
        Some("application/vnd.amazon.eventstream")
    );
    h.stop().await;
}

#[actix_web::test]
async fn tool_calling_round_trip_json_and_stream() {
    let h = start().await;
    h.mock.script_model(
        CLAUDE,
        Behaviour {
            tool_calls: two_calls(),
            ..Behaviour::default()
        },
    );
    let mut ask = hello("claude-bedrock");
    ask["tools"] = weather_tools();
    let (status, body) = send_json(h.chat(Some(KEY_ALL), &ask)).await;
    assert_eq!(status, 200, "{body}");
    let message = &body["choices"][0]["message"];
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    let calls = message["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    let args: Value =
        serde_json::from_str(calls[1]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({ "city": "Rome" }));

    // The same calls streamed: two tool calls with indices 0 and 1.
    let mut streamed = ask.clone();
    streamed["stream"] = json!(true);
    let text = send_text(h.chat(Some(KEY_ALL), &streamed)).await;
    let mut arguments = [String::new(), String::new()];
    for e in data_events(&text) {
        if let Some(call) = e["choices"][0]["delta"]["tool_calls"].get(0) {
            let i = call["index"].as_u64().unwrap() as usize;
            arguments[i].push_str(call["function"]["arguments"].as_str().unwrap_or(""));
        }
    }
    assert_eq!(
        serde_json::from_str::<Value>(&arguments[0]).unwrap(),
        json!({ "city": "Paris, France" })
    );
    assert!(text.contains(r#""finish_reason":"tool_calls""#));

    // Results go back as toolResult blocks in one user turn.
    h.mock.script_model(CLAUDE, Behaviour::ok());
    let mut follow = ask.clone();
    follow["messages"] = json!([
        { "role": "user", "content": "Weather in Paris and Rome?" },
        message.clone(),
        { "role": "tool", "tool_call_id": calls[0]["id"], "content": "18C" },
        { "role": "tool", "tool_call_id": calls[1]["id"], "content": "24C" }
    ]);
    let (status, answer) = send_json(h.chat(Some(KEY_ALL), &follow)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["choices"][0]["finish_reason"], "stop", "{answer}");
    let sent: Value = serde_json::from_slice(&h.mock.requests().pop().unwrap().body).unwrap();
    let turns = sent["messages"].as_array().unwrap();
    assert_eq!(turns.len(), 3);
    assert_eq!(
        turns[1]["content"][0]["toolUse"]["toolUseId"],
        calls[0]["id"]
    );
    assert_eq!(
        turns[2]["content"][1],
        json!({ "toolResult": { "toolUseId": calls[1]["id"], "content": [{ "text": "24C" }] } })
    );
    h.stop().await;
}

#[actix_web::test]
async fn throttling_is_retried_and_validation_errors_reach_the_client() {
    let h = start().await;
    // A throttled deployment cools down for the hint it gives (none from Bedrock itself: the
    // mock adds a short one so the retry on the only deployment comes quickly).
    h.mock.script(
        CLAUDE,
        [Behaviour::status(429).retry_after_ms(50), Behaviour::ok()],
    );
    let (status, body) = send_json(h.chat(Some(KEY_ALL), &hello("claude-bedrock"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h.mock.converse_count(), 2);

    h.mock.script_model(
        NOVA,
        Behaviour {
            status: Some(400),
            error_body: Some(
                r#"{"message":"Malformed input request: temperature must be <= 1"}"#.into(),
            ),
            ..Behaviour::default()
        },
    );
    let (status, body) = send_json(h.chat(Some(KEY_ALL), &hello("nova"))).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("temperature"),
        "{body}"
    );
    assert_eq!(h.mock.converse_count(), 3, "a 400 is not retried");
    h.stop().await;
}

#[actix_web::test]
async fn a_mid_stream_exception_or_cut_ends_the_stream_without_done() {
    let h = start().await;
    let mut body = hello("nova");
    body["stream"] = json!(true);
    for behaviour in [
        Behaviour::ok().error_after_chunks(2),
        Behaviour {
            disconnect_after: Some(2),
            ..Behaviour::default()
        },
    ] {
        h.mock.script_model(NOVA, behaviour);
        let response = h.chat(Some(KEY_ALL), &body).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap_or_default();
        assert!(text.contains("tok1"), "{text}");
        assert!(!text.contains("[DONE]"), "{text}");
    }
    h.stop().await;
}

#[actix_web::test]
async fn aws_credentials_never_appear_in_responses_logs_or_metrics() {
    let h = start().await;
    let mut seen = String::new();
    let secrets_body = format!(r#"{{"message":"bad {AWS_KEY_ID} {AWS_SECRET} {AWS_TOKEN}"}}"#);
    for status in [400, 403, 429, 500] {
        h.mock.script_next(Behaviour {
            status: Some(status),
            error_body: Some(secrets_body.clone()),
            ..Behaviour::default()
        });
        let response = h
            .chat(Some(KEY_ALL), &hello("claude-bedrock"))
            .send()
            .await
            .unwrap();
        seen.push_str(&format!("{:?}", response.headers()));
        seen.push_str(&response.text().await.unwrap());
    }
    let mut stream = hello("nova");
    stream["stream"] = json!(true);
    seen.push_str(&send_text(h.chat(Some(KEY_ALL), &stream)).await);
    seen.push_str(&send_text(h.chat(Some(KEY_ALL), &hello("claude-bedrock"))).await);
    for path in ["/metrics", "/health/ready"] {
        seen.push_str(&send_text(h.http.get(h.admin_url(path)).bearer_auth(MASTER)).await);
    }
    let logs = captured_logs();
    assert!(!logs.is_empty(), "log capture is not working");
    for secret in [AWS_SECRET, AWS_TOKEN, AWS_KEY_ID] {
        assert!(!seen.contains(secret), "{secret} in a response or metric");
        assert!(!logs.contains(secret), "{secret} in a log line");
        assert!(
            !format!("{:?}", h.config).contains(secret),
            "{secret} in Debug of the config"
        );
    }
    h.stop().await;
}

#[actix_web::test]
async fn a_signature_made_with_other_credentials_is_refused_upstream_and_not_retried() {
    let h = start().await;
    h.mock.expect_aws_credentials(AwsCredentials {
        access_key_id: AWS_KEY_ID.to_owned(),
        secret_access_key: "a-different-secret".to_owned(),
        session_token: Some(AWS_TOKEN.to_owned()),
    });
    let (status, body) = send_json(h.chat(Some(KEY_ALL), &hello("claude-bedrock"))).await;
    assert!(status >= 500, "{status} {body}");
    assert_eq!(error_type(&body), "upstream_error", "{body}");
    assert_eq!(h.mock.converse_count(), 1);
    h.stop().await;
}

#[actix_web::test]
async fn titan_and_cohere_embeddings_go_through_signed_invoke_model() {
    let h = start().await;
    let embed = |body: Value| {
        h.http
            .post(h.url("/v1/embeddings"))
            .bearer_auth(KEY_ALL)
            .header("content-type", "application/json")
            .body(body.to_string())
    };
    let (status, titan) = send_json(embed(json!({
        "model": "titan", "input": "hello world", "dimensions": 256, "encoding_format": "float"
    })))
    .await;
    assert_eq!(status, 200, "{titan}");
    assert_eq!(titan["object"], "list");
    assert_eq!(titan["data"][0]["embedding"].as_array().unwrap().len(), 256);
    assert_eq!(titan["usage"]["prompt_tokens"], 2);
    let last = h.mock.requests().pop().unwrap();
    assert_eq!(last.path, "/model/amazon.titan-embed-text-v2%3A0/invoke");
    assert!(
        last.header("authorization")
            .unwrap()
            .starts_with("AWS4-HMAC-SHA256 ")
    );
    let sent: Value = serde_json::from_slice(&last.body).unwrap();
    assert_eq!(
        sent,
        json!({"inputText": "hello world", "dimensions": 256, "normalize": true})
    );

    let (status, cohere) =
        send_json(embed(json!({"model": "cohere", "input": ["a", "b", "c"]}))).await;
    assert_eq!(status, 200, "{cohere}");
    assert_eq!(cohere["data"].as_array().unwrap().len(), 3);
    assert_eq!(cohere["data"][2]["index"], 2);

    // Titan takes one input per call: several are the client's 400, and nothing is sent.
    let before = h.mock.requests().len();
    let (status, body) = send_json(embed(json!({"model": "titan", "input": ["a", "b"]}))).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("one input"),
        "{body}"
    );
    assert_eq!(h.mock.requests().len(), before);
    h.stop().await;
}
