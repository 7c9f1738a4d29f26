//! Talking to providers: one set of HTTP clients per actix-web worker.
//!
//! actix-web workers are single-threaded runtimes; a connection pool shared across them
//! would hand connections between runtimes. Each worker therefore builds its own
//! [`UpstreamClients`] (one `reqwest::Client` per provider, rustls, redirects never followed,
//! egress-checked DNS). Requests carry only what the gateway sets: content type, accept, and
//! the provider credential from config. Nothing of the client's headers is forwarded.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Client, Response, StatusCode, redirect};
use secrecy::ExposeSecret;

use crate::egress::{EgressResolver, is_egress_denied};
use crate::error::{EngineError, UpstreamError};
use crate::provider::AuthStyle;
use crate::spec::{GatewaySpec, ProviderSpec};

/// Largest error body read from a provider (only to extract a safe message).
const MAX_ERROR_BODY: usize = 64 * 1024;
/// Longest provider message shown to a client on a 4xx.
const MAX_MESSAGE_CHARS: usize = 512;
/// The gateway's user agent upstream.
const USER_AGENT: &str = concat!("portcullis/", env!("CARGO_PKG_VERSION"));

/// Per-worker clients, one per provider, in config order.
#[derive(Debug)]
pub struct UpstreamClients {
    providers: Arc<[ProviderSpec]>,
    clients: Vec<Client>,
    /// Parsed once: parsing a URL per request showed up in profiles.
    endpoints: Vec<reqwest::Url>,
}

impl UpstreamClients {
    /// Builds the clients for one worker.
    pub fn new(spec: &GatewaySpec) -> Result<Self, EngineError> {
        let providers: Arc<[ProviderSpec]> = spec.providers.clone().into();
        let mut clients = Vec::with_capacity(providers.len());
        let mut endpoints = Vec::with_capacity(providers.len());
        for p in providers.iter() {
            clients.push(build_client(p)?);
            let endpoint = format!(
                "{}/chat/completions",
                p.base_url.as_str().trim_end_matches('/')
            );
            let endpoint = reqwest::Url::parse(&endpoint).map_err(|_| {
                EngineError::Internal("provider base URL does not form an endpoint URL")
            })?;
            endpoints.push(endpoint);
        }
        Ok(Self {
            providers,
            clients,
            endpoints,
        })
    }

    pub fn provider(&self, index: usize) -> Option<&ProviderSpec> {
        self.providers.get(index)
    }

    /// Sends a chat completion body to `provider`; returns the response once its headers
    /// arrived with a success status. Errors are classified and carry no upstream body.
    pub async fn send_chat(
        &self,
        provider: usize,
        body: Vec<u8>,
        stream: bool,
    ) -> Result<Response, UpstreamError> {
        let (Some(spec), Some(client), Some(url)) = (
            self.providers.get(provider),
            self.clients.get(provider),
            self.endpoints.get(provider),
        ) else {
            return Err(UpstreamError::Connect);
        };
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        let mut request = client
            .post(url.clone())
            .timeout(spec.timeouts.total)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, accept)
            .body(body);
        if let Some(credential) = &spec.credential {
            let secret = credential.expose_secret();
            let (name, value) = match spec.vendor.profile().auth {
                AuthStyle::Bearer => (header::AUTHORIZATION, format!("Bearer {secret}")),
                AuthStyle::ApiKeyHeader => (
                    header::HeaderName::from_static("api-key"),
                    secret.to_owned(),
                ),
            };
            let mut value =
                HeaderValue::from_str(&value).map_err(|_| UpstreamError::Unauthorized)?;
            value.set_sensitive(true);
            request = request.header(name, value);
        }
        let response = match tokio::time::timeout(spec.timeouts.first_byte, request.send()).await {
            Err(_) => return Err(UpstreamError::Timeout),
            Ok(Err(e)) => return Err(classify_transport(&e)),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        Err(classify_status(spec, response).await)
    }

    /// Reads a whole non-streaming body, bounded by the provider's `max_response_bytes`.
    pub async fn read_body(
        &self,
        provider: usize,
        response: Response,
    ) -> Result<Bytes, UpstreamError> {
        let limit = self
            .providers
            .get(provider)
            .map_or(0, |p| p.max_response_bytes);
        read_bounded(response, limit).await
    }
}

fn build_client(p: &ProviderSpec) -> Result<Client, EngineError> {
    let mut headers = HeaderMap::new();
    headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
    Client::builder()
        .default_headers(headers)
        .redirect(redirect::Policy::none())
        .no_proxy()
        .connect_timeout(p.timeouts.connect)
        .read_timeout(p.timeouts.read)
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .dns_resolver(Arc::new(EgressResolver {
            allow_private_network: p.allow_private_network,
        }))
        .build()
        .map_err(|_| EngineError::Internal("could not build the upstream HTTP client"))
}

fn classify_transport(e: &reqwest::Error) -> UpstreamError {
    if is_egress_denied(e) {
        UpstreamError::EgressDenied
    } else if e.is_timeout() {
        UpstreamError::Timeout
    } else if e.is_connect() {
        UpstreamError::Connect
    } else {
        UpstreamError::Malformed
    }
}

/// Classifies a non-success response. Reads at most [`MAX_ERROR_BODY`] of it, and only to
/// pass a provider's own message back on client-caused 4xx, scrubbed of the credential.
async fn classify_status(spec: &ProviderSpec, response: Response) -> UpstreamError {
    let status = response.status();
    match status {
        s if s.is_redirection() => UpstreamError::Redirect,
        StatusCode::TOO_MANY_REQUESTS => UpstreamError::RateLimited {
            retry_after: retry_after(response.headers()),
        },
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => UpstreamError::Unauthorized,
        StatusCode::BAD_REQUEST
        | StatusCode::NOT_FOUND
        | StatusCode::CONFLICT
        | StatusCode::PAYLOAD_TOO_LARGE
        | StatusCode::UNPROCESSABLE_ENTITY => {
            let body = read_bounded(response, MAX_ERROR_BODY)
                .await
                .unwrap_or_default();
            UpstreamError::BadRequest {
                status: status.as_u16(),
                message: safe_message(spec, &body),
            }
        }
        s => UpstreamError::Status(s.as_u16()),
    }
}

/// `Retry-After` in seconds (the HTTP-date form is treated as absent), or `retry-after-ms`.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return (ms.is_finite() && ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1000.0));
    }
    let secs = text("retry-after")?.parse::<f64>().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// The provider's `error.message`, with the credential and key-like tokens removed.
fn safe_message(spec: &ProviderSpec, body: &[u8]) -> String {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "the provider rejected the request".to_owned());
    let mut message = match &spec.credential {
        Some(c) if !c.expose_secret().is_empty() => {
            message.replace(c.expose_secret(), "[redacted]")
        }
        _ => message,
    };
    message = message
        .split(' ')
        .map(|word| {
            if looks_like_key(word) {
                "[redacted]"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    message.chars().take(MAX_MESSAGE_CHARS).collect()
}

fn looks_like_key(word: &str) -> bool {
    let w = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    ["sk-", "sk_", "pk-", "key-", "AKIA", "AIza", "Bearer"]
        .iter()
        .any(|p| w.starts_with(p))
        && w.len() >= 12
}

async fn read_bounded(mut response: Response, limit: usize) -> Result<Bytes, UpstreamError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(UpstreamError::TooLarge);
    }
    let mut buf = BytesMut::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if buf.len() + chunk.len() > limit {
                    return Err(UpstreamError::TooLarge);
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(buf.freeze()),
            Err(e) if e.is_timeout() => return Err(UpstreamError::Timeout),
            Err(_) => return Err(UpstreamError::StreamInterrupted),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Vendor;
    use crate::spec::UpstreamTimeouts;
    use secrecy::SecretString;

    fn spec_with_key(key: &str) -> ProviderSpec {
        ProviderSpec {
            name: "p".into(),
            vendor: Vendor::Openai,
            base_url: "https://api.example.com/v1".parse().unwrap(),
            credential: Some(SecretString::from(key.to_owned())),
            timeouts: UpstreamTimeouts::default(),
            allow_private_network: false,
            max_response_bytes: 1024,
            max_event_bytes: 1024,
        }
    }

    #[test]
    fn provider_messages_never_carry_the_credential() {
        let spec = spec_with_key("canary-credential-123");
        let body = br#"{"error":{"message":"Incorrect API key canary-credential-123 and sk-abcdefghijklmnop given"}}"#;
        let message = safe_message(&spec, body);
        assert!(!message.contains("canary-credential-123"));
        assert!(!message.contains("sk-abcdefghijklmnop"));
        assert!(message.starts_with("Incorrect API key [redacted]"));
    }

    #[test]
    fn non_json_error_bodies_are_not_echoed() {
        let spec = spec_with_key("k");
        assert_eq!(
            safe_message(&spec, b"<html>secret stack trace</html>"),
            "the provider rejected the request"
        );
    }

    #[test]
    fn reads_retry_after_in_seconds_and_ms() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
        let mut date = HeaderMap::new();
        date.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&date), None);
    }
}
