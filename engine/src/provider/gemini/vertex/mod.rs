//! Vertex AI: Gemini models in Google's `generateContent` format, and Claude models through
//! the Anthropic Messages translation, at the project's regional paths.
//!
//! - A model whose upstream name starts with `claude` goes to
//!   `{base}/projects/{p}/locations/{r}/publishers/anthropic/models/{model}:rawPredict`
//!   (`:streamRawPredict` for streams) with the Anthropic adapter's own request translation,
//!   minus `model` (it is in the path) and plus `anthropic_version: vertex-2023-10-16`.
//! - Any other model goes to `…/publishers/google/models/{model}:generateContent`
//!   (`:streamGenerateContent?alt=sse`) with the Gemini translation.
//!
//! - Embeddings go to `…/publishers/google/models/{model}:predict` (text-embedding and
//!   gemini-embedding models; see [`super::embeddings`]). Claude serves none: refused before
//!   anything is sent.
//!
//! The seam does not tell `chat_response`, `stream_translator` or `classify_error` which
//! model answered, so they read the dialect from the answer itself: a Messages body has
//! `"type": "message"` (errors `"type": "error"`); a stream's first line is `event:` for
//! Anthropic and `data: {…"candidates"…}` for Gemini. The choice is made on a complete line,
//! so output stays the same for any byte split. The credential is an access token minted
//! from the service account by [`crate::upstream`]'s Google authorizer, not set here.

use bytes::{Bytes, BytesMut};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;
use url::Url;

use super::{
    GeminiAdapter, embeddings, error, gemini_request, gemini_stream, model_url, response_error,
};
use crate::error::{EngineError, RequestError, UpstreamError};
use crate::provider::anthropic::relay::ChunkRelay;
use crate::provider::anthropic::{self, AnthropicOptions, StreamOptions as AnthropicStream};
use crate::provider::{ProviderAdapter, UpstreamRequest, embeddings_unsupported};
use crate::request::ChatRequest;
use crate::request::embeddings::EmbeddingsRequest;
use crate::spec::ProviderSpec;
use crate::stream::{StreamError, StreamTranslate};
use crate::usage::Usage;

/// The `anthropic_version` Claude on Vertex AI takes in the body.
pub const VERTEX_ANTHROPIC_VERSION: &str = "vertex-2023-10-16";

/// A prepared Vertex AI provider.
#[derive(Debug)]
pub(crate) struct VertexAdapter {
    /// `…/publishers/google/models`.
    google: GeminiAdapter,
    /// `…/publishers/anthropic/models`.
    anthropic: Url,
    options: AnthropicOptions,
}

impl VertexAdapter {
    pub(crate) fn new(spec: &ProviderSpec) -> Result<Self, EngineError> {
        let vertex = spec.vertex.as_ref().ok_or(EngineError::Internal(
            "a vertex_ai provider needs its vertex settings",
        ))?;
        let location = format!(
            "{}/projects/{}/locations/{}/publishers",
            spec.base_url.as_str().trim_end_matches('/'),
            vertex.project,
            vertex.region
        );
        let google = GeminiAdapter::with_models(
            &format!("{location}/google/models"),
            HeaderMap::new(),
            None,
        )?;
        let anthropic = Url::parse(&format!("{location}/anthropic/models"))
            .map_err(|_| EngineError::Internal("vertex location does not form a URL"))?;
        Ok(Self {
            google,
            anthropic,
            options: AnthropicOptions {
                default_max_tokens: spec.anthropic.default_max_tokens,
                ..AnthropicOptions::default()
            },
        })
    }

    fn claude_request(
        &self,
        request: &ChatRequest,
        upstream_model: &str,
    ) -> Result<UpstreamRequest, EngineError> {
        let body = anthropic::build_request(request.body(), upstream_model, &self.options)
            .map_err(RequestError::from)?;
        let mut body: serde_json::Map<String, Value> = serde_json::from_slice(&body)
            .map_err(|_| EngineError::Internal("anthropic body is not an object"))?;
        body.remove("model");
        body.insert("anthropic_version".into(), VERTEX_ANTHROPIC_VERSION.into());
        let method = if request.is_stream() {
            "streamRawPredict"
        } else {
            "rawPredict"
        };
        Ok(UpstreamRequest {
            url: model_url(&self.anthropic, upstream_model, method),
            headers: HeaderMap::new(),
            body: serde_json::to_vec(&body)
                .map_err(|_| EngineError::Internal("anthropic body does not serialise"))?,
        })
    }
}

/// Whether a deployment's model is Claude (served through the Anthropic publisher).
pub(crate) fn is_claude(upstream_model: &str) -> bool {
    upstream_model.starts_with("claude")
}

/// The top-level `type` of a JSON body (Anthropic's `message` / `error`), if any.
fn body_type(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    serde_json::from_slice::<Probe>(body).ok()?.kind
}

impl ProviderAdapter for VertexAdapter {
    fn chat_request(
        &self,
        request: &ChatRequest,
        upstream_model: &str,
    ) -> Result<UpstreamRequest, EngineError> {
        if is_claude(upstream_model) {
            self.claude_request(request, upstream_model)
        } else {
            gemini_request(&self.google, request, upstream_model)
        }
    }

    fn chat_response(&self, body: Bytes) -> Result<(Bytes, Option<Usage>), UpstreamError> {
        let created = super::unix_now();
        if body_type(&body).as_deref() == Some("message") {
            let (body, usage) = anthropic::translate_response(&body, created)
                .map_err(|_| UpstreamError::Malformed)?;
            return Ok((body.into(), Some(usage)));
        }
        let (body, usage) =
            super::translate_response(&body, "vertex", created).map_err(response_error)?;
        Ok((body.into(), Some(usage)))
    }

    fn stream_translator(
        &self,
        request: &ChatRequest,
        max_event_bytes: usize,
    ) -> Box<dyn StreamTranslate> {
        sniffing_stream(
            gemini_stream(request, max_event_bytes),
            AnthropicStream {
                include_usage: request.client_wants_usage(),
                created: super::unix_now(),
                max_event_bytes,
            },
        )
    }

    fn classify_error(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> UpstreamError {
        if body_type(body).as_deref() == Some("error") {
            anthropic::upstream_error(status, headers, body, None)
        } else {
            error::classify(status, headers, body, None)
        }
    }

    fn embeddings_request(
        &self,
        request: &EmbeddingsRequest,
        upstream_model: &str,
    ) -> Result<UpstreamRequest, EngineError> {
        if is_claude(upstream_model) {
            return Err(embeddings_unsupported("vertex_ai"));
        }
        Ok(UpstreamRequest {
            url: self.google.method_url(upstream_model, "predict"),
            headers: HeaderMap::new(),
            body: embeddings::predict_request(request)?,
        })
    }

    fn embeddings_response(
        &self,
        body: Bytes,
        request: &EmbeddingsRequest,
    ) -> Result<(Bytes, Option<Usage>), UpstreamError> {
        let (body, usage) = embeddings::predict_response(&body, request)?;
        Ok((body, Some(usage)))
    }
}

/// Vertex's stream translator: `gemini` or the Anthropic translation built from `claude`,
/// whichever dialect the stream's first line speaks. Public only so the fuzz crate
/// (`fuzz/fuzz_targets/vertex_stream_translator.rs`) can drive it; not a stable API.
#[doc(hidden)]
pub fn sniffing_stream(
    gemini: super::StreamTranslator,
    claude: AnthropicStream,
) -> Box<dyn StreamTranslate> {
    let max_event_bytes = claude.max_event_bytes;
    Box::new(Sniffing {
        pending: Some(Pending {
            buffer: BytesMut::new(),
            gemini,
            claude: ChunkRelay::new(anthropic::StreamTranslator::new(claude)),
        }),
        chosen: None,
        max_event_bytes,
    })
}

/// A stream whose dialect is read from its first line, then translated by that dialect.
#[derive(Debug)]
struct Sniffing {
    pending: Option<Pending>,
    chosen: Option<Box<dyn StreamTranslate>>,
    max_event_bytes: usize,
}

#[derive(Debug)]
struct Pending {
    buffer: BytesMut,
    gemini: super::StreamTranslator,
    claude: ChunkRelay,
}

/// Whether a stream's first line that is neither blank nor a comment speaks Anthropic's
/// dialect (else Gemini's).
fn is_anthropic(line: &[u8]) -> bool {
    line.starts_with(b"event:")
        || (line.starts_with(b"data:")
            && memchr::memmem::find(line, b"\"type\"").is_some()
            && memchr::memmem::find(line, b"\"candidates\"").is_none())
}

impl StreamTranslate for Sniffing {
    fn push(&mut self, chunk: Bytes) -> Result<Bytes, StreamError> {
        if let Some(chosen) = &mut self.chosen {
            return chosen.push(chunk);
        }
        let Some(pending) = &mut self.pending else {
            return Err(StreamError::Malformed);
        };
        pending.buffer.extend_from_slice(&chunk);
        // Blank and comment lines before the first telling one are dropped (the SSE decoder
        // skips them too), each measured against the cap as the decoder would: the buffer
        // stays bounded and the answer does not depend on how the reads split the preamble.
        let too_large = StreamError::EventTooLarge(self.max_event_bytes);
        let claude = loop {
            let Some(nl) = memchr::memchr(b'\n', &pending.buffer) else {
                if pending.buffer.len() > self.max_event_bytes {
                    return Err(too_large);
                }
                return Ok(Bytes::new());
            };
            if nl > self.max_event_bytes {
                return Err(too_large);
            }
            let line = &pending.buffer[..nl];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if !line.is_empty() && !line.starts_with(b":") {
                break is_anthropic(line);
            }
            let _ = pending.buffer.split_to(nl + 1);
        };
        let Some(p) = self.pending.take() else {
            return Err(StreamError::Malformed);
        };
        let mut chosen: Box<dyn StreamTranslate> = if claude {
            Box::new(p.claude)
        } else {
            Box::new(p.gemini)
        };
        let out = chosen.push(p.buffer.freeze());
        self.chosen = Some(chosen);
        out
    }

    fn usage(&self) -> Option<Usage> {
        self.chosen.as_ref().and_then(|c| c.usage())
    }

    fn is_done(&self) -> bool {
        self.chosen.as_ref().is_some_and(|c| c.is_done())
    }

    fn events(&self) -> u64 {
        self.chosen.as_ref().map_or(0, |c| c.events())
    }

    fn finish(&mut self) -> Result<(), StreamError> {
        match &mut self.chosen {
            Some(c) => c.finish(),
            None => Err(StreamError::Truncated),
        }
    }
}

#[cfg(test)]
mod tests;
