//! Google embeddings: request bodies as documented, answers in both encodings, usage
//! (estimated for AI Studio, reported for Vertex AI), token input refused, vector-count
//! mismatches and errors classified through the adapters.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use super::*;
use crate::cost::tokenizer::{Encoding, load_now};
use crate::cost::{Estimator, Families, Family};
use crate::error::{EngineError, Fault};
use crate::provider::gemini::GeminiAdapter;
use crate::provider::gemini::vertex::VertexAdapter;
use crate::provider::{ProviderAdapter, UNSUPPORTED_KIND, Vendor};
use crate::spec::{ProviderSpec, ServiceAccount, VertexSpec};

const KEY: &str = "AIzaSy-canary-gemini-key-0123456789";

fn req(body: Value) -> EmbeddingsRequest {
    EmbeddingsRequest::parse(body.to_string().as_bytes(), 32).unwrap()
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn decode(text: &str) -> Vec<f32> {
    STANDARD
        .decode(text)
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn gemini() -> GeminiAdapter {
    let base = "https://generativelanguage.googleapis.com/v1beta"
        .parse()
        .unwrap();
    GeminiAdapter::new(&ProviderSpec::new("g", Vendor::Gemini, base).credential(KEY)).unwrap()
}

fn vertex() -> VertexAdapter {
    let base = "https://us-central1-aiplatform.googleapis.com/v1"
        .parse()
        .unwrap();
    let spec = ProviderSpec::new("v", Vendor::VertexAi, base).vertex(VertexSpec {
        project: "p-1".into(),
        region: "us-central1".into(),
        service_account: ServiceAccount {
            client_email: "sa@p-1.iam.gserviceaccount.com".into(),
            private_key: secrecy::SecretString::from("unused".to_owned()),
            token_uri: "https://oauth2.googleapis.com/token".parse().unwrap(),
        },
    });
    VertexAdapter::new(&spec).unwrap()
}

#[test]
fn batch_request_has_one_item_per_text_naming_the_model_and_dimensions() {
    let r = req(json!({"model": "pub", "input": ["a", "b c"], "dimensions": 256, "user": "u"}));
    let body = json_of(&batch_request(&r, "gemini-embedding-001").unwrap());
    let item = |text: &str| {
        json!({"model": "models/gemini-embedding-001",
               "content": {"parts": [{"text": text}]}, "outputDimensionality": 256})
    };
    assert_eq!(body, json!({"requests": [item("a"), item("b c")]}));
    let plain = json_of(&batch_request(&req(json!({"model": "p", "input": "x"})), "m").unwrap());
    assert_eq!(
        plain,
        json!({"requests": [{"model": "models/m", "content": {"parts": [{"text": "x"}]}}]})
    );
}

#[test]
fn the_gemini_adapter_posts_to_batch_embed_contents_with_the_key_in_the_header_only() {
    let sent = gemini()
        .embeddings_request(
            &req(json!({"model": "p", "input": "x"})),
            "text-embedding-004",
        )
        .unwrap();
    assert_eq!(
        sent.url.as_str(),
        "https://generativelanguage.googleapis.com/v1beta/models/text-embedding-004:batchEmbedContents"
    );
    assert_eq!(sent.headers["x-goog-api-key"], KEY);
    assert!(sent.headers["x-goog-api-key"].is_sensitive());
    assert!(!sent.url.as_str().contains(KEY));
}

#[test]
fn batch_answers_render_as_floats_or_base64_with_the_estimated_usage() {
    let upstream = br#"{"embeddings":[{"values":[0.5,-0.25]},{"values":[1.0,0.125]}]}"#;
    // Loaded now, so the estimate is the exact count scaled, not the pre-load heuristic.
    assert!(load_now(Encoding::O200k));
    let float = req(json!({"model": "pub", "input": ["hello world", "two"]}));
    let (body, usage) = batch_response(upstream, &float).unwrap();
    let gemini = Estimator::new(Families::default().with(Family::Gemini));
    let estimate = gemini.embedding_input_tokens(&json!(["hello world", "two"]));
    assert_eq!(usage, Usage::new(estimate, 0));
    // o200k: "hello", " world", "two"; the Gemini factor only raises it.
    assert!(estimate >= 3, "{estimate}");
    assert_eq!(
        json_of(&body),
        json!({"object": "list", "model": "pub",
               "data": [{"object": "embedding", "index": 0, "embedding": [0.5, -0.25]},
                        {"object": "embedding", "index": 1, "embedding": [1.0, 0.125]}],
               "usage": {"prompt_tokens": estimate, "total_tokens": estimate}})
    );

    let b64 =
        req(json!({"model": "pub", "input": ["hello world", "two"], "encoding_format": "base64"}));
    let (body, _) = batch_response(upstream, &b64).unwrap();
    let body = json_of(&body);
    assert_eq!(
        decode(body["data"][0]["embedding"].as_str().unwrap()),
        [0.5, -0.25]
    );
    assert_eq!(
        decode(body["data"][1]["embedding"].as_str().unwrap()),
        [1.0, 0.125]
    );
}

#[test]
fn predict_request_has_one_instance_per_text_and_dimensions_as_a_parameter() {
    let r = req(json!({"model": "pub", "input": ["a", "b"], "dimensions": 64}));
    assert_eq!(
        json_of(&predict_request(&r).unwrap()),
        json!({"instances": [{"content": "a"}, {"content": "b"}],
               "parameters": {"outputDimensionality": 64}})
    );
    let plain = predict_request(&req(json!({"model": "p", "input": "x"}))).unwrap();
    assert_eq!(json_of(&plain), json!({"instances": [{"content": "x"}]}));
}

#[test]
fn the_vertex_adapter_posts_to_the_google_publishers_predict_and_refuses_claude() {
    let r = req(json!({"model": "p", "input": "x"}));
    let sent = vertex()
        .embeddings_request(&r, "text-embedding-005")
        .unwrap();
    assert_eq!(
        sent.url.as_str(),
        "https://us-central1-aiplatform.googleapis.com/v1/projects/p-1/locations/us-central1/publishers/google/models/text-embedding-005:predict"
    );
    assert!(
        sent.headers.is_empty(),
        "the bearer token is added by the authorizer"
    );
    let err = vertex()
        .embeddings_request(&r, "claude-sonnet-4-5")
        .unwrap_err();
    assert_eq!(err.kind(), UNSUPPORTED_KIND);
    assert_eq!(err.fault(), Fault::Client);
}

#[test]
fn predict_answers_carry_vertexs_token_counts_in_both_encodings() {
    let upstream = br#"{"predictions":[
        {"embeddings":{"values":[0.25,0.5],"statistics":{"token_count":3,"truncated":false}}},
        {"embeddings":{"values":[-1.0,2.0],"statistics":{"token_count":4.0,"truncated":false}}}],
        "metadata":{"billableCharacterCount":9}}"#;
    let float = req(json!({"model": "pub", "input": ["a b", "c d e"]}));
    let (body, usage) = predict_response(upstream, &float).unwrap();
    assert_eq!(usage, Usage::new(7, 0));
    let body = json_of(&body);
    assert_eq!(body["data"][1]["embedding"], json!([-1.0, 2.0]));
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 7, "total_tokens": 7})
    );

    let b64 = req(json!({"model": "pub", "input": ["a b", "c d e"], "encoding_format": "base64"}));
    let (body, _) = predict_response(upstream, &b64).unwrap();
    let body = json_of(&body);
    assert_eq!(
        decode(body["data"][0]["embedding"].as_str().unwrap()),
        [0.25, 0.5]
    );
}

#[test]
fn token_id_input_is_refused_as_a_client_error_before_anything_is_sent() {
    let tokens = req(json!({"model": "p", "input": [[1, 2], [3]]}));
    for err in [
        gemini().embeddings_request(&tokens, "m").unwrap_err(),
        vertex().embeddings_request(&tokens, "m").unwrap_err(),
    ] {
        assert_eq!(err.kind(), TOKENS_KIND);
        assert_eq!(err.fault(), Fault::Client);
        match err {
            EngineError::Request(e) => assert_eq!(e.param(), Some("input")),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn answers_with_the_wrong_vector_count_or_shape_are_malformed() {
    let two = req(json!({"model": "p", "input": ["a", "b"]}));
    let bad_batches: [&[u8]; 4] = [
        br#"{"embeddings":[{"values":[1.0]}]}"#,
        br#"{"embeddings":[{"values":[1.0]},{"values":[1.0]},{"values":[1.0]}]}"#,
        br#"{"embeddings":[{"values":"x"},{"values":[1.0]}]}"#,
        b"not json",
    ];
    for body in bad_batches {
        assert_eq!(
            batch_response(body, &two).unwrap_err(),
            UpstreamError::Malformed
        );
    }
    let bad_predictions: [&[u8]; 3] = [
        br#"{"predictions":[{"embeddings":{"values":[1.0]}}]}"#,
        br#"{"predictions":[{"embeddings":{"values":[1.0],"statistics":{"token_count":-1}}},{"embeddings":{"values":[1.0]}}]}"#,
        br#"{"embeddings":[{"values":[1.0]},{"values":[1.0]}]}"#,
    ];
    for body in bad_predictions {
        assert_eq!(
            predict_response(body, &two).unwrap_err(),
            UpstreamError::Malformed
        );
    }
}

#[test]
fn embedding_errors_are_classified_like_chat_errors_with_the_key_scrubbed() {
    let headers = HeaderMap::new();
    let limited =
        br#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED",
        "details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"7s"}]}}"#;
    assert!(matches!(
        gemini().classify_error(StatusCode::TOO_MANY_REQUESTS, &headers, limited),
        UpstreamError::RateLimited { .. }
    ));
    let bad = format!(
        r#"{{"error":{{"code":400,"message":"outputDimensionality too large for {KEY}","status":"INVALID_ARGUMENT"}}}}"#
    );
    match gemini().classify_error(StatusCode::BAD_REQUEST, &headers, bad.as_bytes()) {
        UpstreamError::BadRequest { message, .. } => assert!(!message.contains(KEY), "{message}"),
        other => panic!("{other:?}"),
    }
    let unavailable = br#"{"error":{"code":503,"message":"busy","status":"UNAVAILABLE"}}"#;
    assert_eq!(
        vertex().classify_error(StatusCode::SERVICE_UNAVAILABLE, &headers, unavailable),
        UpstreamError::Overloaded
    );
}
