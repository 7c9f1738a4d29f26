//! Embeddings in Google's two wire formats, behind OpenAI's `/v1/embeddings`. Pure.
//!
//! - AI Studio: `POST {base}/models/{model}:batchEmbedContents` with one
//!   `{"model":"models/{model}","content":{"parts":[{"text":…}]},"outputDimensionality":n}`
//!   per input under `requests`; the answer is `{"embeddings":[{"values":[…]}]}`, in order.
//!   Gemini reports no token usage for embeddings, so `prompt_tokens` is the gateway's own
//!   estimate of the input for the Gemini family ([`Estimator::embedding_input_tokens`], what
//!   admission reserved for a group of Gemini models): spend and TPM are settled on an
//!   estimate, which errs high (see [`crate::cost::estimate`] for its measured error). It is
//!   the exact o200k count scaled by the family's factor once the embedded ranks are loaded,
//!   the one-pass heuristic before.
//! - Vertex AI: `POST …/publishers/google/models/{model}:predict` with
//!   `{"instances":[{"content":…}],"parameters":{"outputDimensionality":n}}`; the answer is
//!   `{"predictions":[{"embeddings":{"values":[…],"statistics":{"token_count":N}}}]}`, and
//!   usage is the sum of the token counts Vertex reports.
//!
//! Both take text only: token-id input (OpenAI's tokenizer) is refused before anything is
//! sent. Vectors are written by [`render_embeddings`] in the encoding the client asked for,
//! under the model name the client asked for. An answer holding a different number of
//! vectors than inputs is malformed (a client must never get vectors shifted against its
//! inputs).

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cost::{Estimator, Families, Family};
use crate::error::{RequestError, UpstreamError};
use crate::provider::render_embeddings;
use crate::request::embeddings::EmbeddingsRequest;
use crate::usage::Usage;

/// `kind()` of the refusal of token-id input.
pub const TOKENS_KIND: &str = "embeddings_tokens_unsupported";

/// The texts to embed, or the client error for token-id input.
fn texts(request: &EmbeddingsRequest) -> Result<&[String], RequestError> {
    request.texts().ok_or_else(|| RequestError::Untranslatable {
        kind: TOKENS_KIND,
        field: "input".to_owned(),
        message: "this model takes text input only; token id arrays cannot be embedded".to_owned(),
    })
}

#[derive(Serialize)]
struct BatchRequest<'a> {
    requests: Vec<EmbedRequest<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EmbedRequest<'a> {
    model: &'a str,
    content: ContentOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_dimensionality: Option<u32>,
}

#[derive(Serialize)]
struct ContentOut<'a> {
    parts: [TextPart<'a>; 1],
}

#[derive(Serialize)]
struct TextPart<'a> {
    text: &'a str,
}

/// The `batchEmbedContents` body for `request`, every item naming `models/{upstream_model}`.
pub fn batch_request(
    request: &EmbeddingsRequest,
    upstream_model: &str,
) -> Result<Vec<u8>, RequestError> {
    let model = format!("models/{upstream_model}");
    let requests = texts(request)?
        .iter()
        .map(|text| EmbedRequest {
            model: &model,
            content: ContentOut {
                parts: [TextPart { text }],
            },
            output_dimensionality: request.dimensions(),
        })
        .collect();
    Ok(to_vec(&BatchRequest { requests }))
}

#[derive(Deserialize)]
struct BatchResponse {
    embeddings: Vec<Values>,
}

#[derive(Deserialize)]
struct Values {
    values: Vec<f32>,
}

/// A `batchEmbedContents` answer → OpenAI's list, with the estimated usage (Gemini reports
/// none for embeddings).
pub fn batch_response(
    body: &[u8],
    request: &EmbeddingsRequest,
) -> Result<(Bytes, Usage), UpstreamError> {
    let parsed: BatchResponse =
        serde_json::from_slice(body).map_err(|_| UpstreamError::Malformed)?;
    let vectors: Vec<Vec<f32>> = parsed.embeddings.into_iter().map(|e| e.values).collect();
    let estimator = Estimator::new(Families::default().with(Family::Gemini));
    let estimate = request
        .body()
        .get("input")
        .map_or(0, |input| estimator.embedding_input_tokens(input));
    render(&vectors, request, Usage::new(estimate, 0))
}

#[derive(Serialize)]
struct PredictRequest<'a> {
    instances: Vec<Instance<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<Parameters>,
}

#[derive(Serialize)]
struct Instance<'a> {
    content: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Parameters {
    output_dimensionality: u32,
}

/// The Vertex AI `predict` body for `request` (the model is in the path).
pub fn predict_request(request: &EmbeddingsRequest) -> Result<Vec<u8>, RequestError> {
    let instances = texts(request)?
        .iter()
        .map(|content| Instance { content })
        .collect();
    let parameters = request.dimensions().map(|n| Parameters {
        output_dimensionality: n,
    });
    Ok(to_vec(&PredictRequest {
        instances,
        parameters,
    }))
}

#[derive(Deserialize)]
struct PredictResponse {
    predictions: Vec<Prediction>,
}

#[derive(Deserialize)]
struct Prediction {
    embeddings: PredictedEmbedding,
}

#[derive(Deserialize)]
struct PredictedEmbedding {
    values: Vec<f32>,
    #[serde(default)]
    statistics: Option<Statistics>,
}

#[derive(Deserialize)]
struct Statistics {
    /// An integer on the wire, though Google's SDKs type it as a double: read either.
    #[serde(default)]
    token_count: Option<Value>,
}

/// A Vertex AI `predict` answer → OpenAI's list, with the token counts Vertex reported.
pub fn predict_response(
    body: &[u8],
    request: &EmbeddingsRequest,
) -> Result<(Bytes, Usage), UpstreamError> {
    let parsed: PredictResponse =
        serde_json::from_slice(body).map_err(|_| UpstreamError::Malformed)?;
    let mut tokens: u64 = 0;
    let mut vectors = Vec::with_capacity(parsed.predictions.len());
    for prediction in parsed.predictions {
        let count = prediction
            .embeddings
            .statistics
            .and_then(|s| s.token_count)
            .map_or(Ok(0), |n| token_count(&n))?;
        tokens = tokens.saturating_add(count);
        vectors.push(prediction.embeddings.values);
    }
    render(&vectors, request, Usage::new(tokens, 0))
}

/// A non-negative whole token count, written as an integer or a float.
fn token_count(value: &Value) -> Result<u64, UpstreamError> {
    if let Some(n) = value.as_u64() {
        return Ok(n);
    }
    match value.as_f64() {
        Some(f) if f >= 0.0 && f.fract() == 0.0 && f <= 9.0e15 => {
            // Exact: a whole f64 below 2^53 converts without loss.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok(f as u64)
        }
        _ => Err(UpstreamError::Malformed),
    }
}

/// One vector per input, in order, rendered in the client's encoding.
fn render(
    vectors: &[Vec<f32>],
    request: &EmbeddingsRequest,
    usage: Usage,
) -> Result<(Bytes, Usage), UpstreamError> {
    if vectors.len() != request.input().len() {
        return Err(UpstreamError::Malformed);
    }
    let body = render_embeddings(vectors, request.encoding(), request.model(), &usage);
    Ok((body, usage))
}

fn to_vec(body: &impl Serialize) -> Vec<u8> {
    // Plain structs of strings and integers always serialise.
    serde_json::to_vec(body).unwrap_or_default()
}

#[cfg(test)]
#[path = "embeddings_tests.rs"]
mod tests;
