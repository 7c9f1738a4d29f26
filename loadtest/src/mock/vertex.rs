//! Vertex AI's model paths on the mock:
//! `/v1/projects/{p}/locations/{r}/publishers/google/models/{model}:generateContent` (and
//! `:streamGenerateContent?alt=sse`), answered as Gemini, and
//! `…/publishers/anthropic/models/{model}:rawPredict` / `:streamRawPredict`, answered as
//! Anthropic Messages for a body with `anthropic_version: vertex-2023-10-16` and no `model`,
//! and `…/publishers/google/models/{model}:predict`, answered as an embedding model.
//! Both need `Authorization: Bearer` with a live token from [`super::vertex_token`].

use std::sync::Arc;

use http::request::Parts;
use http::{Response, StatusCode};
use serde_json::Value;

use super::anthropic;
use super::gemini::{self, ModelCall};
use super::gemini_embeddings;
use super::gemini_wire::error_body;
use super::respond::{self, MockBody};
use super::state::Shared;

/// The `anthropic_version` Claude on Vertex AI requires in the body.
const VERTEX_ANTHROPIC_VERSION: &str = "vertex-2023-10-16";

/// Which publisher a Vertex path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VertexCall {
    Google(ModelCall),
    /// `…/publishers/google/models/{model}:predict`: embeddings.
    Embed {
        model: String,
    },
    /// Claude: the model, and whether the method streams.
    Anthropic {
        model: String,
        stream: bool,
    },
}

/// Parses `/v1/projects/{p}/locations/{r}/publishers/{publisher}/models/{model}:{method}`.
pub(crate) fn vertex_call(path: &str) -> Option<VertexCall> {
    let rest = path.strip_prefix("/v1/projects/")?;
    let mut segments = rest.split('/');
    let (_project, locations, _region, publishers, publisher, models, last) = (
        segments.next()?,
        segments.next()?,
        segments.next()?,
        segments.next()?,
        segments.next()?,
        segments.next()?,
        segments.next()?,
    );
    if segments.next().is_some()
        || locations != "locations"
        || publishers != "publishers"
        || models != "models"
    {
        return None;
    }
    match publisher {
        "google" => match gemini_embeddings::embed_model(&format!("/{last}"), "/", "predict") {
            Some(model) => Some(VertexCall::Embed { model }),
            None => gemini::model_call(&format!("/{last}"), "/").map(VertexCall::Google),
        },
        "anthropic" => {
            let (model, method) = last.rsplit_once(':')?;
            let stream = match method {
                "rawPredict" => false,
                "streamRawPredict" => true,
                _ => return None,
            };
            Some(VertexCall::Anthropic {
                model: model.to_owned(),
                stream,
            })
        }
        _ => None,
    }
}

/// Answers one Vertex request.
pub(crate) async fn handle(
    shared: &Arc<Shared>,
    parts: &Parts,
    call: VertexCall,
    body: &[u8],
    resume_seen: u64,
) -> Response<MockBody> {
    let auth = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .map(http::HeaderValue::as_bytes);
    if !shared.vertex_token_accepted(auth) {
        let body = error_body(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
            None,
        );
        return respond::json(StatusCode::UNAUTHORIZED, body);
    }
    match call {
        VertexCall::Google(call) => gemini::generate(shared, parts, call, body, resume_seen).await,
        VertexCall::Embed { model } => gemini_embeddings::predict(shared, &model, body).await,
        VertexCall::Anthropic { model, stream } => {
            let bad = |message: &str| {
                let body = anthropic::error_body("invalid_request_error", message);
                respond::json(StatusCode::BAD_REQUEST, body)
            };
            let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(body) else {
                return bad("The request body is not a JSON object.");
            };
            if fields.contains_key("model") {
                return bad("model: Extra inputs are not permitted");
            }
            if fields.get("anthropic_version").and_then(Value::as_str)
                != Some(VERTEX_ANTHROPIC_VERSION)
            {
                return bad("anthropic_version: Input should be 'vertex-2023-10-16'");
            }
            if fields
                .get("stream")
                .and_then(Value::as_bool)
                .unwrap_or(false)
                != stream
            {
                return bad("stream: does not match the method");
            }
            fields.remove("anthropic_version");
            fields.insert("model".into(), model.into());
            let body = serde_json::to_vec(&fields).unwrap_or_default();
            anthropic::answer(shared, &body, resume_seen).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_publisher_model_and_method_from_the_path() {
        let base = "/v1/projects/p-1/locations/us-east5/publishers";
        assert_eq!(
            vertex_call(&format!(
                "{base}/google/models/gemini-2.5-pro:streamGenerateContent"
            )),
            Some(VertexCall::Google(ModelCall {
                model: "gemini-2.5-pro".into(),
                stream: true
            }))
        );
        assert_eq!(
            vertex_call(&format!("{base}/anthropic/models/claude-x@2025:rawPredict")),
            Some(VertexCall::Anthropic {
                model: "claude-x@2025".into(),
                stream: false
            })
        );
        assert_eq!(
            vertex_call(&format!("{base}/anthropic/models/c:predict")),
            None
        );
        assert_eq!(
            vertex_call(&format!("{base}/google/models/text-embedding-005:predict")),
            Some(VertexCall::Embed {
                model: "text-embedding-005".into()
            })
        );
        assert_eq!(
            vertex_call(&format!("{base}/meta/models/l:rawPredict")),
            None
        );
        assert_eq!(vertex_call("/v1/projects/p/x"), None);
    }
}
