//! Google Gemini (AI Studio's Generative Language API) as a provider behind the OpenAI
//! dialect. Vertex AI serves the same `generateContent` wire format under another path.
//!
//! Pure translation, no I/O, no clock, no globals:
//! - [`build_request`]: OpenAI chat request → `GenerateContentRequest` (mapping in
//!   [`request`]'s docs).
//! - [`translate_response`]: `GenerateContentResponse` → `chat.completion` plus [`Usage`].
//! - [`StreamTranslator`]: `streamGenerateContent?alt=sse` → `chat.completion.chunk` SSE.
//! - [`error`]: Google's error responses → [`UpstreamError`].
//! - [`embeddings`]: `batchEmbedContents` (and Vertex AI's `predict`) ↔ OpenAI embeddings.
//!
//! `GeminiAdapter` puts them behind the provider seam. The model travels in the URL:
//! `{base_url}/models/{model}:generateContent`, or `:streamGenerateContent?alt=sse` for
//! streams (the model name pushed as one percent-encoded path segment). The API key goes
//! only in the `x-goog-api-key` header, marked sensitive, never in the URL's `key=` query
//! parameter, which proxies and access logs would record.

pub mod embeddings;
pub mod error;
pub mod request;
pub mod response;
pub mod stream;
pub mod vertex;
pub(crate) mod wire;

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::openai::auth_header;
use super::{AuthStyle, ProviderAdapter, UpstreamRequest};
use crate::error::{EngineError, RequestError, UpstreamError};
use crate::request::ChatRequest;
use crate::request::embeddings::EmbeddingsRequest;
use crate::spec::ProviderSpec;
use crate::stream::StreamTranslate;
use crate::usage::Usage;

pub use error::TranslateError;
pub use request::build_request;
pub use response::{ResponseError, translate_response};
pub use stream::{StreamOptions, StreamTranslator};

/// Where a Gemini-format model lives, and how to call it.
#[derive(Debug)]
pub(crate) struct GeminiAdapter {
    /// The collection URL the model's `{model}:{method}` segment is appended to.
    models: Url,
    /// The credential header (sensitive), when the adapter carries one.
    headers: HeaderMap,
    credential: Option<SecretString>,
}

impl GeminiAdapter {
    /// AI Studio: `{base_url}/models`, the API key in `x-goog-api-key`.
    pub(crate) fn new(spec: &ProviderSpec) -> Result<Self, EngineError> {
        let models = format!("{}/models", spec.base_url.as_str().trim_end_matches('/'));
        let mut headers = HeaderMap::new();
        if let Some(credential) = &spec.credential {
            let (name, value) = auth_header(AuthStyle::GoogApiKey, credential.expose_secret())?;
            headers.insert(name, value);
        }
        Self::with_models(&models, headers, spec.credential.clone())
    }

    /// A Gemini-format collection at `models` (Vertex AI's publisher path, for one).
    pub(crate) fn with_models(
        models: &str,
        headers: HeaderMap,
        credential: Option<SecretString>,
    ) -> Result<Self, EngineError> {
        let models = Url::parse(models).map_err(|_| {
            EngineError::Internal("provider base URL does not form an endpoint URL")
        })?;
        if models.cannot_be_a_base() {
            return Err(EngineError::Internal(
                "provider base URL cannot take a path",
            ));
        }
        Ok(Self {
            models,
            headers,
            credential,
        })
    }

    /// `{models}/{model}:{method}`, the model one percent-encoded segment (a `/` or `?` in a
    /// configured name cannot change the path or add a query).
    pub(crate) fn method_url(&self, model: &str, method: &str) -> Url {
        model_url(&self.models, model, method)
    }
}

/// `{collection}/{model}:{method}` with the model as one percent-encoded path segment.
pub(crate) fn model_url(collection: &Url, model: &str, method: &str) -> Url {
    let mut url = collection.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().push(&format!("{model}:{method}"));
    }
    url
}

/// Unix seconds, stamped on translated responses (`created`).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `n` of the request (the candidates a stream must finish), at least 1.
fn choices(request: &ChatRequest) -> u32 {
    request
        .body()
        .get("n")
        .and_then(serde_json::Value::as_u64)
        .map_or(1, |n| u32::try_from(n.max(1)).unwrap_or(u32::MAX))
}

/// A translated response's failure, as the gateway acts on it: a blocked prompt is a
/// content-policy refusal (content-policy fallbacks apply), anything else malformed.
pub(crate) fn response_error(e: ResponseError) -> UpstreamError {
    match e {
        ResponseError::Blocked(reason) => UpstreamError::ContentPolicy {
            message: format!("the provider blocked the prompt ({reason})"),
        },
        ResponseError::Malformed(_) => UpstreamError::Malformed,
    }
}

/// The pieces every Gemini-format adapter shares (AI Studio and Vertex AI).
pub(crate) fn gemini_request(
    adapter: &GeminiAdapter,
    request: &ChatRequest,
    upstream_model: &str,
) -> Result<UpstreamRequest, EngineError> {
    let body = build_request(request.body()).map_err(RequestError::from)?;
    let url = if request.is_stream() {
        let mut url = adapter.method_url(upstream_model, "streamGenerateContent");
        url.set_query(Some("alt=sse"));
        url
    } else {
        adapter.method_url(upstream_model, "generateContent")
    };
    Ok(UpstreamRequest {
        url,
        headers: adapter.headers.clone(),
        body,
    })
}

/// A fresh Gemini stream translator for `request`.
pub(crate) fn gemini_stream(request: &ChatRequest, max_event_bytes: usize) -> StreamTranslator {
    StreamTranslator::new(StreamOptions {
        include_usage: request.client_wants_usage(),
        created: unix_now(),
        max_event_bytes,
        choices: choices(request),
        model: request.model().to_owned(),
    })
}

impl ProviderAdapter for GeminiAdapter {
    fn chat_request(
        &self,
        request: &ChatRequest,
        upstream_model: &str,
    ) -> Result<UpstreamRequest, EngineError> {
        gemini_request(self, request, upstream_model)
    }

    fn chat_response(&self, body: Bytes) -> Result<(Bytes, Option<Usage>), UpstreamError> {
        let (body, usage) =
            translate_response(&body, "gemini", unix_now()).map_err(response_error)?;
        Ok((body.into(), Some(usage)))
    }

    fn stream_translator(
        &self,
        request: &ChatRequest,
        max_event_bytes: usize,
    ) -> Box<dyn StreamTranslate> {
        Box::new(gemini_stream(request, max_event_bytes))
    }

    fn classify_error(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> UpstreamError {
        let credential = self.credential.as_ref().map(|c| c.expose_secret());
        error::classify(status, headers, body, credential)
    }

    fn embeddings_request(
        &self,
        request: &EmbeddingsRequest,
        upstream_model: &str,
    ) -> Result<UpstreamRequest, EngineError> {
        Ok(UpstreamRequest {
            url: self.method_url(upstream_model, "batchEmbedContents"),
            headers: self.headers.clone(),
            body: embeddings::batch_request(request, upstream_model)?,
        })
    }

    fn embeddings_response(
        &self,
        body: Bytes,
        request: &EmbeddingsRequest,
    ) -> Result<(Bytes, Option<Usage>), UpstreamError> {
        let (body, usage) = embeddings::batch_response(&body, request)?;
        Ok((body, Some(usage)))
    }
}

#[cfg(test)]
mod tests;
