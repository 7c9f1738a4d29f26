//! `POST /model/{modelId}/invoke`: Bedrock InvokeModel for embedding models,
//! in each family's own body. Amazon Titan (`…titan-embed…`) takes
//! `{inputText, dimensions?, normalize?}` and answers `{embedding,
//! inputTextTokenCount}`; Cohere (`cohere.embed…`) takes `{texts,
//! input_type}` and answers `{id, embeddings, texts, response_type}`. The
//! vectors are the mock's deterministic ones; SigV4 and scripted faults are
//! checked as for Converse.

use std::sync::Arc;

use http::request::Parts;
use http::{Response, StatusCode};
use serde_json::{Value, json};

use super::bedrock::{check_signature, error, with_error_type};
use super::bedrock_wire::{status_error, status_error_body};
use super::embeddings::{Input, mock_embedding};
use super::openai_wire::to_bytes;
use super::respond::{self, MockBody};
use super::service::fault;
use super::state::Shared;

/// Titan Text Embeddings V2's default size.
const TITAN_DIMENSIONS: usize = 1024;
/// Cohere Embed v3's size.
const COHERE_DIMENSIONS: usize = 1024;

/// The model id of an InvokeModel path.
pub(crate) fn route(path: &str) -> Option<String> {
    let id = path.strip_prefix("/model/")?.strip_suffix("/invoke")?;
    (!id.is_empty() && !id.contains('/')).then(|| super::bedrock::decode(id))
}

/// Answers one InvokeModel request for `model`.
pub(crate) async fn invoke(
    shared: &Arc<Shared>,
    parts: &Parts,
    body: &[u8],
    model: String,
) -> Response<MockBody> {
    if let Some(refused) = check_signature(shared, parts, body) {
        return refused;
    }
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            "Malformed input request, please reformat your input and try again.",
        );
    };
    let behaviour = shared.behaviour_for(&model);
    if let Some(mut resp) = fault(&behaviour, status_error_body).await {
        let status = resp.status().as_u16();
        if status >= 400 {
            with_error_type(&mut resp, status_error(status).0);
        }
        return resp;
    }
    let answer = if model.contains("titan-embed") {
        let Some(text) = req.get("inputText").and_then(Value::as_str) else {
            return error(
                StatusCode::BAD_REQUEST,
                "ValidationException",
                "Malformed input request: required key [inputText] not found",
            );
        };
        let dimensions = req
            .get("dimensions")
            .and_then(Value::as_u64)
            .and_then(|d| usize::try_from(d).ok())
            .unwrap_or(TITAN_DIMENSIONS);
        let tokens = text.split_whitespace().count().max(1);
        json!({
            "embedding": mock_embedding(&Input::Text(text.to_owned()), dimensions),
            "inputTextTokenCount": tokens,
        })
    } else if model.contains("cohere.embed") {
        let texts: Vec<String> = req
            .get("texts")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if texts.is_empty() || req.get("input_type").is_none() {
            return error(
                StatusCode::BAD_REQUEST,
                "ValidationException",
                "Malformed input request: texts and input_type are required",
            );
        }
        let embeddings: Vec<Vec<f32>> = texts
            .iter()
            .map(|t| mock_embedding(&Input::Text(t.clone()), COHERE_DIMENSIONS))
            .collect();
        json!({
            "id": format!("mock-{}", shared.next_id()),
            "embeddings": embeddings,
            "texts": texts,
            "response_type": "embeddings_floats",
        })
    } else {
        return error(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            "The mock serves InvokeModel only for Titan and Cohere embedding models.",
        );
    };
    respond::json_after(behaviour.stall, to_bytes(&answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoke_paths_name_the_decoded_model() {
        assert_eq!(
            route("/model/amazon.titan-embed-text-v2%3A0/invoke"),
            Some("amazon.titan-embed-text-v2:0".into())
        );
        assert_eq!(route("/model/a/converse"), None);
        assert_eq!(route("/model//invoke"), None);
    }
}
