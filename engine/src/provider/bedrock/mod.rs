//! AWS Bedrock's Converse API as a provider behind the OpenAI dialect.
//!
//! Converse is uniform across the model families Bedrock hosts (Anthropic Claude, Meta Llama,
//! Mistral, Amazon Nova, …), so one translation serves every model id, inference-profile ids
//! (`us.anthropic.…`) and ARNs included.
//! - [`build_request`]: OpenAI chat request → Converse body (mapping in [`request`]'s docs).
//! - [`translate_response`]: Converse response → `chat.completion` plus usage.
//! - [`StreamTranslator`]: ConverseStream's AWS event-stream frames ([`eventstream`]) →
//!   `chat.completion.chunk` SSE, any byte split.
//! - [`error`]: Bedrock exceptions → [`UpstreamError`].
//! - `embeddings`: Titan and Cohere embeddings through InvokeModel (`/model/{id}/invoke`).
//!
//! `BedrockAdapter` puts these behind the provider seam: `POST {base}/model/{id}/converse`
//! (or `/converse-stream`, accepting `application/vnd.amazon.eventstream`), the model id
//! URI-encoded as one path segment (`:` → `%3A`). The request carries no credential here:
//! the provider's SigV4 [`Authorize`](crate::upstream::Authorize) step signs it just before
//! it is sent.

mod embeddings;
mod error;
pub mod eventstream;
pub mod request;
pub mod response;
pub mod stream;
mod wire;

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{ProviderAdapter, UpstreamRequest};
use crate::error::{EngineError, RequestError, UpstreamError};
use crate::request::ChatRequest;
use crate::request::embeddings::EmbeddingsRequest;
use crate::spec::ProviderSpec;
use crate::stream::StreamTranslate;
use crate::usage::Usage;

pub use request::build_request;
pub use response::{Stamp, translate_response};
pub use stream::{StreamOptions, StreamTranslator};

/// The content type of ConverseStream answers.
pub const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";
/// The `model` stamped on non-streaming completions: Converse answers do not name the model,
/// and the adapter sees only the answer.
const RESPONSE_MODEL: &str = "bedrock";

/// The default endpoint of a region.
pub fn default_base_url(region: &str) -> String {
    format!("https://bedrock-runtime.{region}.amazonaws.com")
}

/// A prepared Bedrock provider.
#[derive(Debug)]
pub(crate) struct BedrockAdapter {
    /// The base URL without a trailing `/`.
    base: String,
    /// Credentials kept only to scrub them from provider messages.
    secrets: Vec<SecretString>,
}

impl BedrockAdapter {
    pub(crate) fn new(spec: &ProviderSpec) -> Result<Self, EngineError> {
        let Some(bedrock) = &spec.bedrock else {
            return Err(EngineError::Internal(
                "a bedrock provider needs its bedrock settings",
            ));
        };
        let mut secrets = vec![
            bedrock.access_key_id.clone(),
            bedrock.secret_access_key.clone(),
        ];
        secrets.extend(bedrock.session_token.clone());
        Ok(Self {
            base: spec.base_url.as_str().trim_end_matches('/').to_owned(),
            secrets,
        })
    }

    /// `{base}/model/{id}/{action}`.
    fn endpoint(&self, model: &str, action: &str) -> Result<Url, EngineError> {
        let mut url = String::with_capacity(self.base.len() + model.len() + 32);
        url.push_str(&self.base);
        url.push_str("/model/");
        for b in model.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                url.push(char::from(b));
            } else {
                let _ = write!(url, "%{b:02X}");
            }
        }
        url.push('/');
        url.push_str(action);
        Url::parse(&url)
            .map_err(|_| EngineError::Internal("provider base URL does not form an endpoint URL"))
    }
}

/// Unix seconds, stamped on translated responses (`created`).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A fresh completion id (Converse answers carry none).
fn completion_id() -> String {
    format!("chatcmpl-bedrock-{:016x}", fastrand::u64(..))
}

impl ProviderAdapter for BedrockAdapter {
    fn chat_request(
        &self,
        request: &ChatRequest,
        upstream_model: &str,
    ) -> Result<UpstreamRequest, EngineError> {
        let body = build_request(request.body()).map_err(RequestError::from)?;
        let mut headers = HeaderMap::new();
        let action = if request.is_stream() {
            headers.insert(header::ACCEPT, HeaderValue::from_static(EVENT_STREAM));
            "converse-stream"
        } else {
            "converse"
        };
        Ok(UpstreamRequest {
            url: self.endpoint(upstream_model, action)?,
            headers,
            body,
        })
    }

    fn chat_response(&self, body: Bytes) -> Result<(Bytes, Option<Usage>), UpstreamError> {
        let id = completion_id();
        let stamp = Stamp {
            id: &id,
            model: RESPONSE_MODEL,
            created: unix_now(),
        };
        let (body, usage) =
            translate_response(&body, stamp).map_err(|_| UpstreamError::Malformed)?;
        Ok((body.into(), Some(usage)))
    }

    fn stream_translator(
        &self,
        request: &ChatRequest,
        max_event_bytes: usize,
    ) -> Box<dyn StreamTranslate> {
        Box::new(StreamTranslator::new(StreamOptions {
            include_usage: request.client_wants_usage(),
            created: unix_now(),
            id: completion_id(),
            model: request.model().to_owned(),
            max_event_bytes,
        }))
    }

    fn embeddings_request(
        &self,
        request: &EmbeddingsRequest,
        upstream_model: &str,
    ) -> Result<UpstreamRequest, EngineError> {
        let body = embeddings::embeddings_body(request, upstream_model)?;
        Ok(UpstreamRequest {
            url: self.endpoint(upstream_model, "invoke")?,
            headers: HeaderMap::new(),
            body,
        })
    }

    fn embeddings_response(
        &self,
        body: Bytes,
        request: &EmbeddingsRequest,
    ) -> Result<(Bytes, Option<Usage>), UpstreamError> {
        let (body, usage) = embeddings::embeddings_answer(&body, request)?;
        Ok((body.into(), usage))
    }

    fn classify_error(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> UpstreamError {
        let secrets: Vec<&str> = self.secrets.iter().map(|s| s.expose_secret()).collect();
        error::classify(status, headers, body, &secrets)
    }
}

#[cfg(test)]
mod adapter_tests;
