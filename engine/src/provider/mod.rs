//! The provider seam: everything that differs between providers, behind one trait.
//!
//! A [`ProviderAdapter`] turns the canonical request (the validated OpenAI chat request) into
//! an [`UpstreamRequest`] (URL, headers, body), turns a provider's answer back into an OpenAI
//! `chat.completion` plus [`Usage`], builds a stateful [`StreamTranslate`] per stream, and
//! classifies the provider's error responses. It does no I/O: `upstream` sends the bytes and
//! enforces timeouts and egress; `dispatch` runs the flow.
//!
//! OpenAI and the vendors that speak its dialect are data ([`Vendor`] rows sharing the
//! [`openai`] adapter). A provider with its own dialect is one folder with the same file names
//! as `openai/` (`mod request response stream error`) and one arm in [`adapter_for`].
//!
//! Embeddings are two more methods with defaults: a provider that does not serve them needs
//! nothing, and its deployments answer a clear client error. One that does returns OpenAI's
//! `list` body — forwarded (OpenAI dialect) or written by [`render_embeddings`] from the
//! floats it decoded, in the encoding the client asked for.

pub mod anthropic;
mod azure;
pub mod bedrock;
mod embeddings;
pub mod gemini;
pub mod openai;
pub(crate) mod openai_out;
mod tool_calls;
mod vendor;

use std::fmt::Debug;
use std::sync::Arc;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use url::Url;

pub use embeddings::{UNSUPPORTED_KIND, base64_f32, embeddings_unsupported, render_embeddings};
pub use vendor::{AuthStyle, Dialect, Paths, StreamUsage, Vendor, VendorProfile};

use crate::error::{EngineError, UpstreamError};
use crate::request::ChatRequest;
use crate::request::embeddings::EmbeddingsRequest;
use crate::spec::ProviderSpec;
use crate::stream::StreamTranslate;
use crate::usage::Usage;

/// One request, ready to send: where, with which headers (the credential among them), what.
#[derive(Debug)]
pub struct UpstreamRequest {
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// What a provider needs the gateway to do differently. Implementations are pure.
pub trait ProviderAdapter: Send + Sync + Debug {
    /// The upstream request for `request`, sent to the deployment's `upstream_model`.
    fn chat_request(
        &self,
        request: &ChatRequest,
        upstream_model: &str,
    ) -> Result<UpstreamRequest, EngineError>;

    /// A complete success body → an OpenAI `chat.completion` body and its usage.
    fn chat_response(&self, body: Bytes) -> Result<(Bytes, Option<Usage>), UpstreamError>;

    /// A fresh translator for one stream of `request`.
    fn stream_translator(
        &self,
        request: &ChatRequest,
        max_event_bytes: usize,
    ) -> Box<dyn StreamTranslate>;

    /// A non-success, non-redirect response → the error the gateway acts on. `body` is at
    /// most a bounded prefix of the provider's error body; it must never be echoed unscrubbed.
    fn classify_error(&self, status: StatusCode, headers: &HeaderMap, body: &[u8])
    -> UpstreamError;

    /// For a provider that speaks the Anthropic Messages API itself: the native path an
    /// Anthropic-speaking client's request takes (no translation). `None` for other dialects.
    fn native_messages(&self) -> Option<&dyn NativeMessages> {
        None
    }

    /// The upstream embeddings request for `request`, sent to `upstream_model`. The default
    /// refuses: the provider serves no embeddings (`dispatch` names its vendor in the
    /// client's error). Error classification is [`classify_error`](Self::classify_error)'s,
    /// shared with chat.
    fn embeddings_request(
        &self,
        request: &EmbeddingsRequest,
        upstream_model: &str,
    ) -> Result<UpstreamRequest, EngineError> {
        let _ = (request, upstream_model);
        Err(embeddings_unsupported("unknown"))
    }

    /// A complete embeddings success body → an OpenAI `list` body in the encoding `request`
    /// asked for ([`render_embeddings`] writes one from floats), and its usage.
    fn embeddings_response(
        &self,
        body: Bytes,
        request: &EmbeddingsRequest,
    ) -> Result<(Bytes, Option<Usage>), UpstreamError> {
        let _ = (body, request);
        Err(UpstreamError::Malformed)
    }
}

/// A provider's native Messages API: the validated Messages body passed through with the
/// gateway's credential and the deployment's model, answers relayed in the same dialect.
pub trait NativeMessages: Send + Sync + Debug {
    /// The upstream request for a validated Messages `body`, sent to `upstream_model`.
    fn messages_request(
        &self,
        body: &serde_json::Map<String, serde_json::Value>,
        upstream_model: &str,
    ) -> UpstreamRequest;

    /// A complete Messages response, returned as received, and its usage.
    fn messages_response(&self, body: Bytes) -> Result<(Bytes, Option<Usage>), UpstreamError>;

    /// A fresh relay for one Messages stream.
    fn messages_stream(&self, max_event_bytes: usize) -> Box<dyn StreamTranslate>;
}

/// The adapter for a configured provider.
pub(crate) fn adapter_for(spec: &ProviderSpec) -> Result<Arc<dyn ProviderAdapter>, EngineError> {
    match spec.vendor.profile().dialect {
        Dialect::OpenAi => Ok(Arc::new(openai::OpenAiAdapter::new(spec)?)),
        Dialect::Anthropic => Ok(Arc::new(anthropic::AnthropicAdapter::new(spec)?)),
        Dialect::Gemini => Ok(Arc::new(gemini::GeminiAdapter::new(spec)?)),
        Dialect::VertexAi => Ok(Arc::new(gemini::vertex::VertexAdapter::new(spec)?)),
        Dialect::Bedrock => Ok(Arc::new(bedrock::BedrockAdapter::new(spec)?)),
    }
}
