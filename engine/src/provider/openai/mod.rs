//! OpenAI and every vendor that speaks its chat-completions dialect.
//!
//! The canonical request already is OpenAI's, so the request is re-serialised with the
//! deployment's model name, responses are forwarded as received, and streams are relayed.
//! What differs between vendors (base URL, auth header, stream-usage quirk) is data in the
//! vendor table, prepared once here: the endpoint URL and the auth header are built at
//! start-up, not per request. Azure OpenAI is this adapter with Azure's deployment URLs and
//! credential ([`super::azure`]).

mod embeddings;
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

use super::azure::{self, AzureEndpoints, Operation};
use super::{AuthStyle, Paths, ProviderAdapter, StreamUsage, UpstreamRequest};
use crate::error::{EngineError, UpstreamError};
use crate::request::ChatRequest;
use crate::request::embeddings::EmbeddingsRequest;
use crate::spec::ProviderSpec;
use crate::stream::StreamTranslate;
use crate::usage::Usage;

/// A prepared OpenAI-dialect provider.
#[derive(Debug)]
pub(crate) struct OpenAiAdapter {
    endpoints: Endpoints,
    /// The credential header, marked sensitive; empty for servers that need none.
    headers: HeaderMap,
    credential: Option<SecretString>,
    stream_usage: StreamUsage,
}

/// Where requests go.
#[derive(Debug)]
enum Endpoints {
    /// `{base_url}/chat/completions` and `{base_url}/embeddings`, parsed once: parsing per
    /// request showed in profiles.
    Plain { chat: Url, embeddings: Url },
    /// Azure: one URL per deployment, from the prepared base.
    Azure(AzureEndpoints),
}

impl Endpoints {
    fn url(&self, upstream_model: &str, operation: Operation) -> Url {
        match (self, operation) {
            (Endpoints::Plain { chat, .. }, Operation::Chat) => chat.clone(),
            (Endpoints::Plain { embeddings, .. }, Operation::Embeddings) => embeddings.clone(),
            (Endpoints::Azure(azure), op) => azure.url(upstream_model, op),
        }
    }
}

impl OpenAiAdapter {
    pub(crate) fn new(spec: &ProviderSpec) -> Result<Self, EngineError> {
        let profile = spec.vendor.profile();
        let (endpoints, credential) = match profile.paths {
            Paths::Plain => (
                Endpoints::Plain {
                    chat: endpoint_url(spec, "chat/completions")?,
                    embeddings: endpoint_url(spec, "embeddings")?,
                },
                spec.credential.clone().map(|c| (profile.auth, c)),
            ),
            Paths::AzureDeployments => (
                Endpoints::Azure(AzureEndpoints::new(spec)?),
                azure::credential(spec),
            ),
        };
        let mut headers = HeaderMap::new();
        if let Some((style, secret)) = &credential {
            let (name, value) = auth_header(*style, secret.expose_secret())?;
            headers.insert(name, value);
        }
        Ok(Self {
            endpoints,
            headers,
            credential: credential.map(|(_, secret)| secret),
            stream_usage: profile.stream_usage,
        })
    }
}

/// `{base_url}/{path}`.
fn endpoint_url(spec: &ProviderSpec, path: &str) -> Result<Url, EngineError> {
    let url = format!("{}/{path}", spec.base_url.as_str().trim_end_matches('/'));
    Url::parse(&url)
        .map_err(|_| EngineError::Internal("provider base URL does not form an endpoint URL"))
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
        AuthStyle::SigV4 => {
            return Err(EngineError::Internal(
                "SigV4 credentials sign each request; they are never a static header",
            ));
        }
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
            url: self.endpoints.url(upstream_model, Operation::Chat),
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

    fn embeddings_request(
        &self,
        request: &EmbeddingsRequest,
        upstream_model: &str,
    ) -> Result<UpstreamRequest, EngineError> {
        Ok(UpstreamRequest {
            url: self.endpoints.url(upstream_model, Operation::Embeddings),
            headers: self.headers.clone(),
            body: embeddings::upstream_body(request, upstream_model),
        })
    }

    fn embeddings_response(
        &self,
        body: Bytes,
        _request: &EmbeddingsRequest,
    ) -> Result<(Bytes, Option<Usage>), UpstreamError> {
        embeddings::response(body)
    }
}
