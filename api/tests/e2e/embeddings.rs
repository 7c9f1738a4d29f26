//! `POST /v1/embeddings` end to end: both encodings (base64 decoded and compared with the
//! float answer and with the mock's vectors), usage in the spend log and metrics, model
//! scoping, TPM and budget admission, retry on another deployment, strict input validation,
//! and the clear refusal of a provider that serves no embeddings.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use portcullis_engine::Usage;
use portcullis_engine::cost::{Catalogue, cost};
use portcullis_loadtest::mock::{
    Behaviour, DEFAULT_EMBEDDING_DIMENSIONS, EmbeddingInput, MockOptions, mock_embedding,
};
use serde_json::{Value, json};

use crate::harness::*;

/// The upstream model of group `emb`, which the built-in catalogue prices.
const PRICED_EMBEDDING: &str = "text-embedding-3-small";

fn yaml(mock_url: &str, key_all_limits: &str) -> String {
    format!(
        r#"
storage: {{ backend: memory }}
server: {{ listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0, workers: 1 }}
auth: {{ master_key: env:MASTER, key_pepper: env:PEPPER }}
providers:
  - name: mock
    vendor: openai_compatible
    base_url: {mock_url}
    api_key: env:PROVIDER_KEY
    allow_private_network: true
    timeouts: {{ first_byte: 2s, read: 2s }}
    retry: {{ backoff_base: 1ms, backoff_max: 5ms }}
  - name: claude
    vendor: anthropic
    base_url: {mock_url}
    api_key: env:PROVIDER_KEY
    allow_private_network: true
models:
  - {{ name: emb, deployments: [{{ provider: mock, model: {PRICED_EMBEDDING} }}] }}
  - {{ name: emb-spend, deployments: [{{ provider: mock, model: {PRICED_EMBEDDING} }}] }}
  - name: emb-pair
    strategy: priority
    deployments:
      - {{ provider: mock, model: e-first }}
      - {{ provider: mock, model: e-second }}
  - {{ name: claude-emb, deployments: [{{ provider: claude, model: upstream-claude }}] }}
  - {{ name: gpt-test, deployments: [{{ provider: mock, model: upstream-gpt }}] }}
keys:
  - {{ name: team-a, key: env:KEY_A, models: [gpt-test] }}
  - {{ name: team-all, key: env:KEY_ALL, models: ["*"]{key_all_limits} }}
"#
    )
}

async fn start(key_all_limits: &'static str) -> Harness {
    Harness::start_config(MockOptions::default(), move |url| yaml(url, key_all_limits)).await
}

impl Harness {
    pub(crate) fn embeddings(&self, key: &str, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(self.url("/v1/embeddings"))
            .header("content-type", "application/json")
            .bearer_auth(key)
            .body(body.to_string())
    }
}

/// Decodes an OpenAI base64 embedding (little-endian `f32`s).
pub(crate) fn decode_base64(text: &str) -> Vec<f32> {
    STANDARD
        .decode(text)
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

pub(crate) fn floats(value: &Value) -> Vec<f32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect()
}

fn expected(text: &str) -> Vec<f32> {
    mock_embedding(
        &EmbeddingInput::Text(text.to_owned()),
        DEFAULT_EMBEDDING_DIMENSIONS,
    )
}

#[actix_web::test]
async fn float_and_base64_answers_carry_the_same_vectors_and_cost() {
    let h = start("").await;
    let input = json!(["hello world", "second input"]);
    let (status, float) =
        send_json(h.embeddings(KEY_ALL, &json!({"model": "emb", "input": input}))).await;
    assert_eq!(status, 200, "{float}");
    assert_eq!(float["object"], "list");
    assert_eq!(float["data"][1]["index"], 1);
    assert_eq!(
        floats(&float["data"][0]["embedding"]),
        expected("hello world")
    );
    assert_eq!(
        floats(&float["data"][1]["embedding"]),
        expected("second input")
    );
    assert_eq!(float["usage"]["prompt_tokens"], 4);

    let response = h
        .embeddings(
            KEY_ALL,
            &json!({"model": "emb", "input": input, "encoding_format": "base64"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let header = response.headers()["x-portcullis-cost-usd"]
        .to_str()
        .unwrap()
        .to_owned();
    let b64: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    for i in 0..2 {
        let decoded = decode_base64(b64["data"][i]["embedding"].as_str().unwrap());
        assert_eq!(decoded, floats(&float["data"][i]["embedding"]));
    }
    let usage: Usage = serde_json::from_value(b64["usage"].clone()).unwrap();
    let price = *Catalogue::builtin()
        .unwrap()
        .price(PRICED_EMBEDDING)
        .unwrap();
    assert_eq!(header, cost(&price, &usage).to_string());
    // The upstream got the deployment's model and the client's encoding, nothing else added.
    let sent = h.mock.bodies_for(PRICED_EMBEDDING);
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[1],
        json!({"model": PRICED_EMBEDDING, "input": input, "encoding_format": "base64"})
    );
    assert_eq!(h.mock.embeddings_count(), 2);
    h.stop().await;
}

#[actix_web::test]
async fn usage_goes_to_the_spend_log_and_metrics_under_the_embeddings_route() {
    let h = start("").await;
    // Its own group: the metrics registry is shared by every gateway in this process.
    let body = json!({"model": "emb-spend", "input": "one two three four five"});
    let (status, _) = send_json(h.embeddings(KEY_ALL, &body)).await;
    assert_eq!(status, 200);
    let mut last = Value::Null;
    for _ in 0..50 {
        let (status, report) = h.admin("GET", "/admin/spend?group_by=model", None).await;
        assert_eq!(status, 200);
        let row = report["data"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["group"] == "emb-spend").cloned());
        if let Some(row) = row {
            assert_eq!(row["requests"], 1);
            assert_eq!(row["tokens_in"], 5);
            assert_eq!(row["tokens_out"], 0);
            assert_eq!(row["unpriced_requests"], 0);
            last = Value::Bool(true);
            break;
        }
        last = report;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last, Value::Bool(true), "no spend row: {last}");
    let labels = [
        ("route", "embeddings"),
        ("model", "emb-spend"),
        ("status", "200"),
    ];
    let scrape = h
        .scrape_until_above("portcullis_requests_total", &labels, 0.0)
        .await;
    assert_eq!(sample(&scrape, "portcullis_requests_total", &labels), 1.0);
    let chat = [("route", "chat_completions"), ("model", "emb-spend")];
    assert_eq!(sample(&scrape, "portcullis_requests_total", &chat), 0.0);
    h.stop().await;
}

#[actix_web::test]
async fn a_key_without_the_model_is_refused_403_before_the_upstream() {
    let h = start("").await;
    let (status, body) =
        send_json(h.embeddings(KEY_A, &json!({"model": "emb", "input": "x"}))).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(error_type(&body), "permission_error");
    let (status, _) = send_json(
        h.http
            .post(h.url("/v1/embeddings"))
            .header("content-type", "application/json")
            .body(json!({"model": "emb", "input": "x"}).to_string()),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(h.mock.embeddings_count(), 0);
    h.stop().await;
}

fn words(n: usize) -> String {
    vec!["word"; n].join(" ")
}

#[actix_web::test]
async fn tpm_admission_counts_the_input_estimate() {
    let h = start(", limits: { tpm: 100 }").await;
    let small = json!({"model": "emb", "input": words(10)});
    assert_eq!(send_json(h.embeddings(KEY_ALL, &small)).await.0, 200);
    let big = json!({"model": "emb", "input": words(400)});
    let (status, body) = send_json(h.embeddings(KEY_ALL, &big)).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert_eq!(h.mock.embeddings_count(), 1);
    h.stop().await;
}

#[actix_web::test]
async fn a_budget_refuses_an_input_it_cannot_pay_for() {
    // $0.02 per million input tokens: $0.00001 pays for 500 tokens.
    let h = start(", limits: { budget_usd: \"0.00001\", budget_reset: daily }").await;
    let small = json!({"model": "emb", "input": words(10)});
    assert_eq!(send_json(h.embeddings(KEY_ALL, &small)).await.0, 200);
    let big = json!({"model": "emb", "input": [words(1000), words(1000)]});
    let (status, body) = send_json(h.embeddings(KEY_ALL, &big)).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["type"], "insufficient_quota");
    assert_eq!(h.mock.embeddings_count(), 1);
    h.stop().await;
}

#[actix_web::test]
async fn a_500_is_retried_on_the_other_deployment() {
    let h = start("").await;
    h.mock.script_model("e-first", Behaviour::status(500));
    let (status, body) =
        send_json(h.embeddings(KEY_ALL, &json!({"model": "emb-pair", "input": "x"}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"], "e-second");
    assert_eq!(h.mock.model_request_count("e-first"), 1);
    assert_eq!(h.mock.model_request_count("e-second"), 1);
    h.stop().await;
}

#[actix_web::test]
async fn bad_input_is_refused_400_in_openais_shape_and_sends_nothing() {
    let h = start("").await;
    let too_many = vec!["x"; 2049];
    let cases = [
        (json!({"model": "emb"}), "input"),
        (json!({"model": "emb", "input": ""}), "input"),
        (json!({"model": "emb", "input": []}), "input"),
        (json!({"model": "emb", "input": too_many}), "input"),
        (json!({"model": "emb", "input": [1, "a"]}), "input"),
        (json!({"model": "emb", "input": {"a": 1}}), "input"),
        (json!({"input": "x"}), "model"),
        (
            json!({"model": "emb", "input": "x", "encoding_format": "int8"}),
            "encoding_format",
        ),
        (
            json!({"model": "emb", "input": "x", "dimensions": 0}),
            "dimensions",
        ),
        (
            json!({"model": "emb", "input": "x", "api_base": "http://evil.example"}),
            "api_base",
        ),
        (
            json!({"model": "emb", "input": "x", "api_key": "sk-other"}),
            "api_key",
        ),
    ];
    for (body, param) in cases {
        let (status, answer) = send_json(h.embeddings(KEY_ALL, &body)).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert_eq!(error_type(&answer), "invalid_request_error", "{answer}");
        assert_eq!(answer["error"]["param"], param, "{answer}");
    }
    assert_eq!(h.mock.total_requests(), 0);
    h.stop().await;
}

#[actix_web::test]
async fn a_provider_without_embeddings_is_a_clear_400() {
    let h = start("").await;
    let (status, body) =
        send_json(h.embeddings(KEY_ALL, &json!({"model": "claude-emb", "input": "x"}))).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_type(&body), "invalid_request_error");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("anthropic") && message.contains("embeddings"),
        "{message}"
    );
    assert!(
        !message.contains("claude"),
        "names no configured provider: {message}"
    );
    assert_eq!(h.mock.total_requests(), 0);
    h.stop().await;
}
