//! Anthropic's Messages API as a provider behind the OpenAI dialect.
//!
//! Pure translation, no I/O, no clock, no globals: the caller supplies the validated OpenAI
//! request, the deployment's model name, and the time to stamp on responses.
//! - [`build_request`]: OpenAI chat request → Messages API body (mapping decisions in
//!   [`request`]'s docs).
//! - [`translate_response`]: Messages response → `chat.completion` plus [`Usage`].
//! - [`StreamTranslator`]: Messages SSE → `chat.completion.chunk` SSE, any byte split.
//! - [`classify_error`]: an Anthropic error response → [`AnthropicError`] for routing.
//!
//!
//! `AnthropicAdapter` puts these behind the provider seam: endpoint `{base_url}/messages`,
//! headers `x-api-key` (the provider credential), `anthropic-version` (per provider, default
//! [`DEFAULT_ANTHROPIC_VERSION`]) and `anthropic-beta` only as the operator configured; errors
//! mapped to [`UpstreamError`] (429 with its retry-after, 529 and 5xx retryable, a client
//! error's message scrubbed). It also serves Anthropic-speaking clients natively
//! ([`NativeMessages`]: the validated body passed through, the stream relayed event by event).
//!
//! [`Usage`]: crate::usage::Usage

pub mod error;
pub(crate) mod relay;
pub mod request;
pub mod response;
pub(crate) mod sse;
pub mod stream;
pub(crate) mod wire;

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use url::Url;

use super::openai::{auth_header, retry_after};
use super::{AuthStyle, NativeMessages, ProviderAdapter, UpstreamRequest};
use crate::error::{EngineError, RequestError, UpstreamError};
use crate::ingress::anthropic::passthrough_body;
use crate::request::ChatRequest;
use crate::spec::ProviderSpec;
use crate::stream::StreamTranslate;
use relay::{ChunkRelay, NativeRelay};

pub use error::{
    AnthropicError, ErrorKind, MalformedUpstream, StreamError, TranslateError, classify_error,
};
pub use request::build_request;
pub use response::translate_response;
pub use stream::{StreamOptions, StreamTranslator};

use crate::usage::Usage;

/// The `anthropic-version` header value sent unless the operator configures another.
pub const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";

/// Per-deployment translation settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnthropicOptions {
    /// `max_tokens` when the client set neither `max_tokens` nor `max_completion_tokens`
    /// (Anthropic requires one). Default 4096: within every current Claude model's output
    /// limit, and the amount budgets reserve for such a request.
    pub default_max_tokens: u64,
    /// Thinking budgets for `reasoning_effort` low, medium, high. Default 1024, 4096, 16384.
    pub thinking_budgets: [u64; 3],
}

impl Default for AnthropicOptions {
    fn default() -> Self {
        Self {
            default_max_tokens: 4096,
            thinking_budgets: [1024, 4096, 16384],
        }
    }
}

/// The relay of a native Messages stream (`/v1/messages` to an Anthropic provider), as
/// [`AnthropicAdapter`]'s `messages_stream` builds it. Public only so the fuzz crate
/// (`fuzz/fuzz_targets/anthropic_native_relay.rs`) can drive it; not a stable API.
#[doc(hidden)]
pub fn native_relay(max_event_bytes: usize) -> Box<dyn StreamTranslate> {
    Box::new(NativeRelay::new(max_event_bytes))
}

/// A prepared Anthropic provider: endpoint and headers built once, at start-up.
#[derive(Debug)]
pub(crate) struct AnthropicAdapter {
    /// `{base_url}/messages`.
    endpoint: Url,
    /// `x-api-key` (sensitive), `anthropic-version`, and `anthropic-beta` if configured.
    headers: HeaderMap,
    credential: Option<SecretString>,
    options: AnthropicOptions,
}

impl AnthropicAdapter {
    pub(crate) fn new(spec: &ProviderSpec) -> Result<Self, EngineError> {
        let endpoint = format!("{}/messages", spec.base_url.as_str().trim_end_matches('/'));
        let endpoint = Url::parse(&endpoint).map_err(|_| {
            EngineError::Internal("provider base URL does not form an endpoint URL")
        })?;
        let mut headers = HeaderMap::new();
        if let Some(credential) = &spec.credential {
            let (name, value) = auth_header(AuthStyle::XApiKey, credential.expose_secret())?;
            headers.insert(name, value);
        }
        let version = HeaderValue::from_str(&spec.anthropic.version)
            .map_err(|_| EngineError::Internal("anthropic version is not a valid header value"))?;
        headers.insert(HeaderName::from_static("anthropic-version"), version);
        if !spec.anthropic.beta.is_empty() {
            let beta = HeaderValue::from_str(&spec.anthropic.beta.join(","))
                .map_err(|_| EngineError::Internal("anthropic beta is not a valid header value"))?;
            headers.insert(HeaderName::from_static("anthropic-beta"), beta);
        }
        Ok(Self {
            endpoint,
            headers,
            credential: spec.credential.clone(),
            options: AnthropicOptions {
                default_max_tokens: spec.anthropic.default_max_tokens,
                ..AnthropicOptions::default()
            },
        })
    }

    fn upstream(&self, body: Vec<u8>) -> UpstreamRequest {
        UpstreamRequest {
            url: self.endpoint.clone(),
            headers: self.headers.clone(),
            body,
        }
    }
}

/// Unix seconds, stamped on translated responses (`created`).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A request one dialect cannot express in the other: the client's 400, naming the field.
impl From<TranslateError> for RequestError {
    fn from(e: TranslateError) -> Self {
        let field = match &e {
            TranslateError::MissingField(f)
            | TranslateError::Unsupported(f)
            | TranslateError::UnknownField(f) => f.clone(),
            TranslateError::InvalidField { field, .. } => field.clone(),
        };
        RequestError::Untranslatable {
            kind: e.kind(),
            field,
            message: e.to_string(),
        }
    }
}

/// An Anthropic error response → the error the gateway acts on. Only a client-caused error
/// keeps a message, already scrubbed of key-like words, and of the credential itself.
pub(crate) fn upstream_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    credential: Option<&str>,
) -> UpstreamError {
    let classified = classify_error(status.as_u16(), body);
    match classified.kind {
        ErrorKind::RateLimited => UpstreamError::RateLimited {
            retry_after: retry_after(headers),
        },
        ErrorKind::Authentication | ErrorKind::Permission => UpstreamError::Unauthorized,
        ErrorKind::Overloaded => UpstreamError::Overloaded,
        kind if kind.is_client_fault() => {
            let mut message = classified.safe_message.unwrap_or_default();
            if let Some(secret) = credential.filter(|c| !c.is_empty()) {
                message = message.replace(secret, "[redacted]");
            }
            // These two decide fallbacks (context-window and content-policy groups).
            match kind {
                ErrorKind::ContextWindowExceeded => {
                    return UpstreamError::ContextWindowExceeded { message };
                }
                ErrorKind::ContentPolicy => return UpstreamError::ContentPolicy { message },
                _ => {}
            }
            let status = if status.is_client_error() {
                status.as_u16()
            } else {
                400
            };
            UpstreamError::BadRequest { status, message }
        }
        _ => UpstreamError::Status(status.as_u16()),
    }
}

impl ProviderAdapter for AnthropicAdapter {
    fn chat_request(
        &self,
        request: &ChatRequest,
        upstream_model: &str,
    ) -> Result<UpstreamRequest, EngineError> {
        let body = build_request(request.body(), upstream_model, &self.options)
            .map_err(RequestError::from)?;
        Ok(self.upstream(body))
    }

    fn chat_response(&self, body: Bytes) -> Result<(Bytes, Option<Usage>), UpstreamError> {
        let (body, usage) =
            translate_response(&body, unix_now()).map_err(|_| UpstreamError::Malformed)?;
        Ok((body.into(), Some(usage)))
    }

    fn stream_translator(
        &self,
        request: &ChatRequest,
        max_event_bytes: usize,
    ) -> Box<dyn StreamTranslate> {
        Box::new(ChunkRelay::new(StreamTranslator::new(StreamOptions {
            include_usage: request.client_wants_usage(),
            created: unix_now(),
            max_event_bytes,
        })))
    }

    fn classify_error(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> UpstreamError {
        let credential = self.credential.as_ref().map(|c| c.expose_secret());
        upstream_error(status, headers, body, credential)
    }

    fn native_messages(&self) -> Option<&dyn NativeMessages> {
        Some(self)
    }
}

impl NativeMessages for AnthropicAdapter {
    fn messages_request(&self, body: &Map<String, Value>, upstream_model: &str) -> UpstreamRequest {
        self.upstream(passthrough_body(body, upstream_model))
    }

    fn messages_response(&self, body: Bytes) -> Result<(Bytes, Option<Usage>), UpstreamError> {
        #[derive(serde::Deserialize)]
        struct UsageOnly {
            usage: wire::UsageIn,
        }
        let parsed: UsageOnly =
            serde_json::from_slice(&body).map_err(|_| UpstreamError::Malformed)?;
        Ok((body, Some(parsed.usage.to_usage())))
    }

    fn messages_stream(&self, max_event_bytes: usize) -> Box<dyn StreamTranslate> {
        native_relay(max_event_bytes)
    }
}

#[cfg(test)]
mod adapter_tests;
