//! OpenAI and every vendor that speaks its chat-completions dialect.
//!
//! The canonical request already is OpenAI's, so the request is re-serialised with the
//! deployment's model name, responses are forwarded as received, and streams are relayed.
//! What differs between vendors (base URL, auth header, stream-usage quirk) is data in the
//! vendor table, prepared once here: the endpoint URL and the auth header are built at
//! start-up, not per request.

mod error;
mod request;
mod response;
mod stream;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

pub use error::retry_after;
pub use request::upstream_body;
pub use stream::SseRelay;

use super::{AuthStyle, ProviderAdapter, StreamUsage, UpstreamRequest};
use crate::error::{EngineError, UpstreamError};
use crate::request::ChatRequest;
use crate::spec::ProviderSpec;
use crate::stream::StreamTranslate;
use crate::usage::Usage;

/// A prepared OpenAI-dialect provider.
#[derive(Debug)]
pub(crate) struct OpenAiAdapter {
    /// `{base_url}/chat/completions`, parsed once: parsing per request showed in profiles.
    endpoint: Url,
    /// The credential header, marked sensitive; empty for servers that need none.
    headers: HeaderMap,
    credential: Option<SecretString>,
    stream_usage: StreamUsage,
}

impl OpenAiAdapter {
    pub(crate) fn new(spec: &ProviderSpec) -> Result<Self, EngineError> {
        let profile = spec.vendor.profile();
        let endpoint = format!(
            "{}/chat/completions",
            spec.base_url.as_str().trim_end_matches('/')
        );
        let endpoint = Url::parse(&endpoint).map_err(|_| {
            EngineError::Internal("provider base URL does not form an endpoint URL")
        })?;
        let mut headers = HeaderMap::new();
        if let Some(credential) = &spec.credential {
            let (name, value) = auth_header(profile.auth, credential.expose_secret())?;
            headers.insert(name, value);
        }
        Ok(Self {
            endpoint,
            headers,
            credential: spec.credential.clone(),
            stream_usage: profile.stream_usage,
        })
    }
}

/// The header that carries `secret` in `style`, marked sensitive so it is never logged.
pub(crate) fn auth_header(
    style: AuthStyle,
    secret: &str,
) -> Result<(HeaderName, HeaderValue), EngineError> {
    let (name, value) = match style {
        AuthStyle::Bearer => (header::AUTHORIZATION, format!("Bearer {secret}")),
        AuthStyle::ApiKeyHeader => (HeaderName::from_static("api-key"), secret.to_owned()),
        AuthStyle::XApiKey => (HeaderName::from_static("x-api-key"), secret.to_owned()),
        AuthStyle::GoogApiKey => (HeaderName::from_static("x-goog-api-key"), secret.to_owned()),
    };
    let mut value = HeaderValue::from_str(&value)
        .map_err(|_| EngineError::Internal("provider credential is not a valid header value"))?;
    value.set_sensitive(true);
    Ok((name, value))
}

impl ProviderAdapter for OpenAiAdapter {
    fn chat_request(
        &self,
        request: &ChatRequest,
        upstream_model: &str,
    ) -> Result<UpstreamRequest, EngineError> {
        Ok(UpstreamRequest {
            url: self.endpoint.clone(),
            headers: self.headers.clone(),
            body: request::upstream_body(request, upstream_model, self.stream_usage),
        })
    }

    fn chat_response(&self, body: Bytes) -> Result<(Bytes, Option<Usage>), UpstreamError> {
        response::chat_response(body)
    }

    fn stream_translator(
        &self,
        request: &ChatRequest,
        max_event_bytes: usize,
    ) -> Box<dyn StreamTranslate> {
        Box::new(SseRelay::new(
            max_event_bytes,
            !request.client_wants_usage(),
        ))
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
}
