//! `POST /v1/embeddings` on Gemini (AI Studio) through the gateway against the mock:
//! `batchEmbedContents` with the key only in `x-goog-api-key`, float and base64 answers
//! carrying the mock's vectors, usage (the gateway's input estimate: Gemini reports none)
//! priced and in the spend log, token input refused, errors scrubbed, the key never leaked.

use std::time::Duration;

use portcullis_engine::Usage;
use portcullis_engine::cost::tokenizer::{Encoding, load_now};
use portcullis_engine::cost::{Catalogue, Estimator, cost};
use portcullis_loadtest::mock::{
    Behaviour, DEFAULT_EMBEDDING_DIMENSIONS, EmbeddingInput, MockOptions, mock_embedding,
};
use serde_json::{Value, json};

use crate::embeddings::{decode_base64, floats};
use crate::harness::*;

/// A Gemini embedding model the built-in catalogue prices.
const UPSTREAM: &str = "gemini-embedding-001";

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
  - {{ name: gemini-emb, deployments: [{{ provider: google, model: {UPSTREAM} }}] }}
keys:
  - {{ name: team-all, key: env:KEY_ALL, models: ["*"] }}
"#
    )
}

async fn start() -> Harness {
    assert!(load_now(Encoding::O200k));
    Harness::start_config(MockOptions::default(), yaml).await
}

/// What the gateway estimates (and admission reserved) for `input` to a Gemini model. The
/// embedded tokenizer is loaded by [`start`] (one process: the gateway's too), so both sides
/// count exactly rather than one falling back to the heuristic while it loads.
fn gemini_estimate(input: &Value) -> u64 {
    Estimator::for_models([UPSTREAM]).embedding_input_tokens(input)
}

fn expected(text: &str, dimensions: usize) -> Vec<f32> {
    mock_embedding(&EmbeddingInput::Text(text.to_owned()), dimensions)
}

#[actix_web::test]
async fn gemini_embeddings_come_from_batch_embed_contents_in_float_and_base64() {
    let h = start().await;
    let input = json!(["hello world", "second input"]);
    let float = json!({"model": "gemini-emb", "input": input, "dimensions": 4});
    let (status, answer) = send_json(h.embeddings(KEY_ALL, &float)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["object"], "list");
    assert_eq!(answer["model"], "gemini-emb");
    assert_eq!(
        floats(&answer["data"][0]["embedding"]),
        expected("hello world", 4)
    );
    assert_eq!(
        floats(&answer["data"][1]["embedding"]),
        expected("second input", 4)
    );
    let estimate = gemini_estimate(&input);
    assert_eq!(answer["usage"]["prompt_tokens"], estimate);

    let mut b64 = float.clone();
    b64["encoding_format"] = json!("base64");
    let response = h.embeddings(KEY_ALL, &b64).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let header = response.headers()["x-portcullis-cost-usd"]
        .to_str()
        .unwrap()
        .to_owned();
    let encoded: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    for i in 0..2 {
        let decoded = decode_base64(encoded["data"][i]["embedding"].as_str().unwrap());
        assert_eq!(decoded, floats(&answer["data"][i]["embedding"]));
    }
    let price = *Catalogue::builtin().unwrap().price(UPSTREAM).unwrap();
    assert_eq!(header, cost(&price, &Usage::new(estimate, 0)).to_string());

    let seen = h.mock.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[0].path,
        format!("/v1beta/models/{UPSTREAM}:batchEmbedContents")
    );
    assert_eq!(seen[0].query, "");
    assert_eq!(seen[0].header("x-goog-api-key"), Some(CANARY));
    assert_eq!(seen[0].header("authorization"), None);
    let item = |text: &str| {
        json!({"model": format!("models/{UPSTREAM}"), "content": {"parts": [{"text": text}]},
               "outputDimensionality": 4})
    };
    let sent = json!({"requests": [item("hello world"), item("second input")]});
    assert_eq!(
        seen[1].json().unwrap(),
        sent,
        "the encoding is the gateway's job"
    );
    assert_eq!(h.mock.embeddings_count(), 2);
    h.stop().await;
}

#[actix_web::test]
async fn gemini_embedding_usage_is_the_input_estimate_in_the_spend_log() {
    let h = start().await;
    let input = json!("one two three four five");
    let body = json!({"model": "gemini-emb", "input": input});
    let (status, answer) = send_json(h.embeddings(KEY_ALL, &body)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        floats(&answer["data"][0]["embedding"]),
        expected("one two three four five", DEFAULT_EMBEDDING_DIMENSIONS)
    );
    let estimate = gemini_estimate(&input);
    let mut last = Value::Null;
    for _ in 0..50 {
        let (status, report) = h.admin("GET", "/admin/spend?group_by=model", None).await;
        assert_eq!(status, 200);
        let row = report["data"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["group"] == "gemini-emb").cloned());
        if let Some(row) = row {
            assert_eq!(row["requests"], 1);
            assert_eq!(row["tokens_in"], estimate);
            assert_eq!(row["tokens_out"], 0);
            assert_eq!(row["unpriced_requests"], 0);
            last = Value::Bool(true);
            break;
        }
        last = report;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last, Value::Bool(true), "no spend row: {last}");
    h.stop().await;
}

#[actix_web::test]
async fn token_input_is_refused_and_gemini_errors_never_leak_the_key() {
    let h = start().await;
    let tokens = json!({"model": "gemini-emb", "input": [[1, 2, 3]]});
    let (status, body) = send_json(h.embeddings(KEY_ALL, &tokens)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_type(&body), "invalid_request_error");
    assert_eq!(body["error"]["param"], "input");
    assert_eq!(h.mock.total_requests(), 0);

    let text = json!({"model": "gemini-emb", "input": "x"});
    h.mock.script(
        UPSTREAM,
        [Behaviour::status(429).retry_after(0), Behaviour::ok()],
    );
    let (status, body) = send_json(h.embeddings(KEY_ALL, &text)).await;
    assert_eq!(status, 200, "a 429 is retried: {body}");
    let mut seen = String::new();
    let leaks = [
        Behaviour::status(400).error_body(format!(
            r#"{{"error":{{"code":400,"message":"outputDimensionality is invalid near {CANARY}","status":"INVALID_ARGUMENT"}}}}"#
        )),
        Behaviour::status(401).error_body(format!(
            r#"{{"error":{{"code":401,"message":"bad key {CANARY}","status":"UNAUTHENTICATED"}}}}"#
        )),
        // Retried; whatever the client gets, the canary is not in it.
        Behaviour::status(500).error_body(CANARY.to_owned()),
    ];
    for (n, leak) in leaks.into_iter().enumerate() {
        h.mock.script_next(leak);
        let response = h.embeddings(KEY_ALL, &text).send().await.unwrap();
        if n == 0 {
            assert_eq!(response.status(), 400, "Google's 400 is the client's");
        }
        seen.push_str(&format!("{:?}", response.headers()));
        seen.push_str(&response.text().await.unwrap());
    }
    seen.push_str(&send_text(h.http.get(h.admin_url("/metrics")).bearer_auth(MASTER)).await);
    assert!(!seen.contains(CANARY), "canary in a response or metric");
    assert!(!captured_logs().contains(CANARY), "canary in a log line");
    for request in h.mock.requests() {
        assert!(!request.path.contains(CANARY) && !request.query.contains(CANARY));
    }
    h.stop().await;
}
