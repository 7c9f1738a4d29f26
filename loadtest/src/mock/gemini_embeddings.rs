//! Google's embeddings calls on the mock: AI Studio's
//! `POST /v1beta/models/{model}:batchEmbedContents` (`x-goog-api-key` checked by the caller)
//! and Vertex AI's `…/publishers/google/models/{model}:predict` (bearer token checked by the
//! caller). Vectors are [`mock_embedding`]'s, deterministic per text and size, so a test can
//! compare the gateway's answer with what the mock would say in either encoding. AI Studio
//! reports no usage for embeddings (as the real API); Vertex reports a `token_count` per
//! instance: whitespace-separated words, at least one. Scripted faults (latency, redirects,
//! error statuses, stalls) are the other dialects', with Google-shaped error bodies.

use std::sync::Arc;

use http::{Response, StatusCode};
use serde_json::{Value, json};

use super::DEFAULT_EMBEDDING_DIMENSIONS;
use super::embeddings::{Input, mock_embedding};
use super::gemini_wire::{error_body, status_error_body};
use super::openai_wire::to_bytes;
use super::respond::{self, MockBody};
use super::service::fault;
use super::state::Shared;

/// Largest `outputDimensionality` the mock answers.
const MAX_DIMENSIONS: u64 = 4096;

/// `{collection}{model}:{method}` → the model, for a model path with exactly that method.
pub(crate) fn embed_model(path: &str, collection: &str, method: &str) -> Option<String> {
    let (model, called) = path.strip_prefix(collection)?.rsplit_once(':')?;
    (called == method && !model.is_empty() && !model.contains('/')).then(|| model.to_owned())
}

/// One embedding to compute.
struct Wanted {
    text: String,
    dimensions: usize,
}

/// Answers `batchEmbedContents` for `model`.
pub(crate) async fn batch_embed(
    shared: &Arc<Shared>,
    model: &str,
    body: &[u8],
) -> Response<MockBody> {
    let wanted = match parse_batch(model, body) {
        Ok(wanted) => wanted,
        Err(message) => return bad_request(message),
    };
    answer(shared, model, &wanted, |vectors| {
        let embeddings: Vec<Value> = vectors.iter().map(|(v, _)| json!({"values": v})).collect();
        json!({"embeddings": embeddings})
    })
    .await
}

/// Answers Vertex AI's `predict` for an embedding `model`.
pub(crate) async fn predict(shared: &Arc<Shared>, model: &str, body: &[u8]) -> Response<MockBody> {
    let wanted = match parse_predict(body) {
        Ok(wanted) => wanted,
        Err(message) => return bad_request(message),
    };
    answer(shared, model, &wanted, |vectors| {
        let predictions: Vec<Value> = vectors
            .iter()
            .map(|(values, tokens)| {
                json!({"embeddings": {"values": values,
                    "statistics": {"token_count": tokens, "truncated": false}}})
            })
            .collect();
        json!({"predictions": predictions, "metadata": {"billableCharacterCount": 0}})
    })
    .await
}

/// The scripted fault for `model`, else the vectors (with their word counts) in `shape`.
async fn answer(
    shared: &Arc<Shared>,
    model: &str,
    wanted: &[Wanted],
    shape: impl Fn(&[(Vec<f32>, u64)]) -> Value,
) -> Response<MockBody> {
    let behaviour = shared.behaviour_for(model);
    let retry_after = behaviour.retry_after;
    if let Some(resp) = fault(&behaviour, |code| status_error_body(code, retry_after)).await {
        return resp;
    }
    let vectors: Vec<(Vec<f32>, u64)> = wanted
        .iter()
        .map(|w| {
            let vector = mock_embedding(&Input::Text(w.text.clone()), w.dimensions);
            let words = w.text.split_whitespace().count().max(1);
            (vector, u64::try_from(words).unwrap_or(u64::MAX))
        })
        .collect();
    respond::json_after(behaviour.stall, to_bytes(&shape(&vectors)))
}

fn bad_request(message: &str) -> Response<MockBody> {
    respond::json(StatusCode::BAD_REQUEST, error_body(400, message, None))
}

/// `outputDimensionality`, if given, within `1..=4096`.
fn dimensions(value: Option<&Value>) -> Result<usize, &'static str> {
    match value {
        None | Some(Value::Null) => Ok(DEFAULT_EMBEDDING_DIMENSIONS),
        Some(v) => v
            .as_u64()
            .filter(|d| (1..=MAX_DIMENSIONS).contains(d))
            .and_then(|d| usize::try_from(d).ok())
            .ok_or("outputDimensionality must be between 1 and 4096."),
    }
}

/// `{"requests":[{"model":"models/{model}","content":{"parts":[{"text"}]},…}]}`.
fn parse_batch(model: &str, body: &[u8]) -> Result<Vec<Wanted>, &'static str> {
    let json: Value = serde_json::from_slice(body).map_err(|_| "Invalid JSON payload.")?;
    let items = json
        .get("requests")
        .and_then(Value::as_array)
        .filter(|items| !items.is_empty())
        .ok_or("requests must be a non-empty list.")?;
    let named = format!("models/{model}");
    items
        .iter()
        .map(|item| {
            if item.get("model").and_then(Value::as_str) != Some(named.as_str()) {
                return Err("Each request's model must match the model in the URL.");
            }
            let text = item
                .pointer("/content/parts/0/text")
                .and_then(Value::as_str)
                .ok_or("Each request needs content.parts[0].text.")?;
            Ok(Wanted {
                text: text.to_owned(),
                dimensions: dimensions(item.get("outputDimensionality"))?,
            })
        })
        .collect()
}

/// `{"instances":[{"content"}],"parameters":{"outputDimensionality"}}`.
fn parse_predict(body: &[u8]) -> Result<Vec<Wanted>, &'static str> {
    let json: Value = serde_json::from_slice(body).map_err(|_| "Invalid JSON payload.")?;
    let dimensions = dimensions(json.pointer("/parameters/outputDimensionality"))?;
    let instances = json
        .get("instances")
        .and_then(Value::as_array)
        .filter(|items| !items.is_empty())
        .ok_or("instances must be a non-empty list.")?;
    instances
        .iter()
        .map(|instance| {
            let text = instance
                .get("content")
                .and_then(Value::as_str)
                .ok_or("Each instance needs a content string.")?;
            Ok(Wanted {
                text: text.to_owned(),
                dimensions,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_model_for_exactly_the_method() {
        let path = "/v1beta/models/text-embedding-004:batchEmbedContents";
        assert_eq!(
            embed_model(path, "/v1beta/models/", "batchEmbedContents").as_deref(),
            Some("text-embedding-004")
        );
        assert_eq!(embed_model(path, "/v1beta/models/", "predict"), None);
        assert_eq!(
            embed_model(
                "/v1beta/models/a/b:batchEmbedContents",
                "/v1beta/models/",
                "batchEmbedContents"
            ),
            None
        );
    }

    #[test]
    fn a_batch_must_name_the_path_model_and_carry_text() {
        let ok = br#"{"requests":[{"model":"models/m","content":{"parts":[{"text":"a"}]},"outputDimensionality":3}]}"#;
        let wanted = parse_batch("m", ok).unwrap();
        assert_eq!((wanted[0].text.as_str(), wanted[0].dimensions), ("a", 3));
        assert!(parse_batch("other", ok).is_err());
        assert!(parse_batch("m", br#"{"requests":[]}"#).is_err());
        assert!(parse_batch("m", br#"{"requests":[{"model":"models/m","content":{}}]}"#).is_err());
    }

    #[test]
    fn predict_reads_instances_and_the_dimension_parameter() {
        let wanted = parse_predict(
            br#"{"instances":[{"content":"a"},{"content":"b"}],"parameters":{"outputDimensionality":5}}"#,
        )
        .unwrap();
        assert_eq!(wanted.len(), 2);
        assert_eq!(wanted[1].dimensions, 5);
        assert_eq!(
            parse_predict(br#"{"instances":[{"content":"a"}]}"#).unwrap()[0].dimensions,
            DEFAULT_EMBEDDING_DIMENSIONS
        );
        assert!(parse_predict(br#"{"instances":[{"text":"a"}]}"#).is_err());
        assert!(
            parse_predict(
                br#"{"instances":[{"content":"a"}],"parameters":{"outputDimensionality":0}}"#
            )
            .is_err()
        );
    }
}
