//! Talking to providers: one set of HTTP clients per actix-web worker.
//!
//! actix-web workers are single-threaded runtimes; a connection pool shared across them
//! would hand connections between runtimes. Each worker therefore builds its own
//! [`UpstreamClients`] (one `reqwest::Client` per provider, rustls, redirects never followed,
//! egress-checked DNS) over the [`Providers`] built once at start-up. Connect and read (idle)
//! timeouts belong to a client, so a provider whose deployments override them gets one more
//! client for each distinct pair, chosen per attempt from the attempt's timeouts. This module only sends
//! bytes and enforces timeouts, size caps and egress; what the bytes mean is the provider
//! adapter's business. Nothing of the client's headers is forwarded: a request carries the
//! adapter's headers (the credential among them), content type, accept and user agent.

mod auth;
mod echo;
pub(crate) mod scrub;

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Client, Response, redirect};

pub use self::auth::Authorize;
use self::auth::authorizer_for;
pub use self::echo::{Carry, EchoGuard, Secret};
use crate::egress::{EgressResolver, is_egress_denied};
use crate::error::{EngineError, UpstreamError};
use crate::ids::ProviderId;
use crate::metric_names as names;
use crate::provider::{ProviderAdapter, UpstreamRequest, adapter_for};
use crate::spec::{GatewaySpec, ProviderSpec, UpstreamTimeouts};

/// Largest error body read from a provider (only to classify it and extract a safe message).
const MAX_ERROR_BODY: usize = 64 * 1024;
/// The gateway's user agent upstream.
const USER_AGENT: &str = concat!("portcullis/", env!("CARGO_PKG_VERSION"));

/// A configured provider with its prepared adapter.
#[derive(Debug)]
pub struct Provider {
    pub spec: ProviderSpec,
    pub adapter: Arc<dyn ProviderAdapter>,
    /// The credential step run just before sending, for credentials the adapter cannot set.
    pub auth: Option<Arc<dyn Authorize>>,
    /// Finds this provider's own credential in its answers (built once, here).
    pub echo: EchoGuard,
    /// The timeouts of each HTTP client this provider needs: its own first, then one per
    /// distinct connect/read pair its deployments override.
    clients: Box<[ClientTimeouts]>,
}

/// What one upstream HTTP client is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ClientTimeouts {
    connect: Duration,
    read: Duration,
}

impl From<UpstreamTimeouts> for ClientTimeouts {
    fn from(t: UpstreamTimeouts) -> Self {
        Self {
            connect: t.connect,
            read: t.read,
        }
    }
}

impl Provider {
    /// Which of this provider's clients enforces `timeouts` (its own where none matches).
    fn client_index(&self, timeouts: UpstreamTimeouts) -> usize {
        let wanted = ClientTimeouts::from(timeouts);
        self.clients.iter().position(|c| *c == wanted).unwrap_or(0)
    }

    /// How many HTTP clients each worker holds for this provider.
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }
}

/// The provider's own client timeouts, then each distinct pair its deployments override.
fn client_timeouts(
    spec: &GatewaySpec,
    id: ProviderId,
    own: UpstreamTimeouts,
) -> Box<[ClientTimeouts]> {
    let mut clients = vec![ClientTimeouts::from(own)];
    let overrides = spec
        .groups
        .iter()
        .flat_map(|g| &g.deployments)
        .filter(|d| d.provider == id)
        .map(|d| ClientTimeouts::from(d.timeouts.over(own)));
    for wanted in overrides {
        if !clients.contains(&wanted) {
            clients.push(wanted);
        }
    }
    clients.into()
}

/// Every provider, by [`ProviderId`], built once and shared by all workers.
#[derive(Debug, Clone)]
pub struct Providers {
    inner: Arc<[Provider]>,
}

impl Providers {
    /// Prepares every provider's adapter; fails on a spec no adapter can serve.
    pub fn new(spec: &GatewaySpec) -> Result<Self, EngineError> {
        let providers = spec
            .providers
            .iter()
            .enumerate()
            .map(|(i, p)| {
                Ok(Provider {
                    spec: p.clone(),
                    adapter: adapter_for(p)?,
                    auth: authorizer_for(p)?,
                    echo: EchoGuard::for_provider(p),
                    clients: client_timeouts(spec, ProviderId::from_index(i), p.timeouts),
                })
            })
            .collect::<Result<Vec<_>, EngineError>>()?;
        Ok(Self {
            inner: providers.into(),
        })
    }

    pub fn get(&self, id: ProviderId) -> Option<&Provider> {
        self.inner.get(id.index())
    }

    pub fn len(&self) -> usize {
        self.inner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

/// Per-worker clients: per provider, one for its own timeouts and one per deployment override
/// of connect/read ([`Provider::client_count`]).
#[derive(Debug)]
pub struct UpstreamClients {
    providers: Providers,
    clients: Vec<Box<[Client]>>,
}

impl UpstreamClients {
    /// Builds the clients for one worker.
    pub fn new(providers: &Providers) -> Result<Self, EngineError> {
        Self::build(providers, |_| true)
    }

    /// Builds the clients of provider `id` only (its health checks'); sending to another
    /// provider through them fails as a connect error.
    pub fn for_provider(providers: &Providers, id: ProviderId) -> Result<Self, EngineError> {
        Self::build(providers, |i| i == id)
    }

    fn build(
        providers: &Providers,
        wanted: impl Fn(ProviderId) -> bool,
    ) -> Result<Self, EngineError> {
        let clients = providers
            .inner
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if !wanted(ProviderId::from_index(i)) {
                    return Ok(Box::default());
                }
                p.clients
                    .iter()
                    .map(|t| build_client(&p.spec, *t))
                    .collect::<Result<Box<[Client]>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            providers: providers.clone(),
            clients,
        })
    }

    pub fn provider(&self, id: ProviderId) -> Option<&Provider> {
        self.providers.get(id)
    }

    /// Sends `request` to provider `id`; returns the response once its headers arrived with a
    /// success status. Errors are classified by the provider's adapter.
    pub async fn send(
        &self,
        id: ProviderId,
        request: UpstreamRequest,
        stream: bool,
    ) -> Result<Response, UpstreamError> {
        self.send_within(id, request, stream, self.timeouts(id))
            .await
    }

    /// The provider's configured timeouts (defaults for an unknown id).
    pub fn timeouts(&self, id: ProviderId) -> UpstreamTimeouts {
        self.providers
            .get(id)
            .map(|p| p.spec.timeouts)
            .unwrap_or_default()
    }

    /// [`UpstreamClients::send`] with this attempt's timeouts (a deployment may override its
    /// provider's): first byte and total here, connect and read by the client that was built
    /// with them.
    pub async fn send_within(
        &self,
        id: ProviderId,
        request: UpstreamRequest,
        stream: bool,
        timeouts: UpstreamTimeouts,
    ) -> Result<Response, UpstreamError> {
        let Some(provider) = self.providers.get(id) else {
            return Err(UpstreamError::Connect);
        };
        let Some(client) = self
            .clients
            .get(id.index())
            .and_then(|c| c.get(provider.client_index(timeouts)))
        else {
            return Err(UpstreamError::Connect);
        };
        let UpstreamTimeouts {
            first_byte, total, ..
        } = timeouts;
        let mut request = request;
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        // An adapter may set its own (Bedrock streams are `application/vnd.amazon.eventstream`).
        let headers = &mut request.headers;
        headers
            .entry(header::CONTENT_TYPE)
            .or_insert(HeaderValue::from_static("application/json"));
        headers
            .entry(header::ACCEPT)
            .or_insert(HeaderValue::from_static(accept));
        if let Some(auth) = &provider.auth {
            match tokio::time::timeout(first_byte, auth.authorize(client, &mut request)).await {
                Err(_) => return Err(UpstreamError::Timeout),
                Ok(Err(e)) => return Err(e),
                Ok(Ok(())) => {}
            }
        }
        let builder = client
            .post(request.url)
            .timeout(total)
            .headers(request.headers)
            .body(request.body);
        let response = match tokio::time::timeout(first_byte, builder.send()).await {
            Err(_) => return Err(UpstreamError::Timeout),
            Ok(Err(e)) => return Err(classify_transport(&e)),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        if status.is_redirection() {
            return Err(UpstreamError::Redirect);
        }
        let headers = response.headers().clone();
        // Only a client error's body can say something the client may see (or that decides
        // a fallback, such as "context window exceeded"); a failing server's body is not
        // waited for.
        let body = if status.is_client_error() {
            read_bounded(response, MAX_ERROR_BODY)
                .await
                .unwrap_or_default()
        } else {
            Bytes::new()
        };
        Err(provider.adapter.classify_error(status, &headers, &body))
    }

    /// Reads a whole non-streaming body, bounded by the provider's `max_response_bytes`, and
    /// refuses it if it carries the provider's credential (before anything translates it).
    pub async fn read_body(
        &self,
        id: ProviderId,
        response: Response,
    ) -> Result<Bytes, UpstreamError> {
        let Some(provider) = self.providers.get(id) else {
            return Err(UpstreamError::Malformed);
        };
        let body = read_bounded(response, provider.spec.max_response_bytes).await?;
        if provider.echo.finds(&body) {
            credential_echoed(&provider.spec.name);
            return Err(UpstreamError::CredentialEcho);
        }
        Ok(body)
    }
}

/// Counts and logs (without the body) an answer refused for echoing `provider`'s credential.
pub(crate) fn credential_echoed(provider: &str) {
    metrics::counter!(names::UPSTREAM_CREDENTIAL_ECHOES_TOTAL, "provider" => provider.to_owned())
        .increment(1);
    tracing::warn!(
        provider,
        "the provider's answer carried its own credential; refused, nothing of it forwarded"
    );
}

fn build_client(p: &ProviderSpec, timeouts: ClientTimeouts) -> Result<Client, EngineError> {
    let mut headers = HeaderMap::new();
    headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
    Client::builder()
        .default_headers(headers)
        .redirect(redirect::Policy::none())
        .no_proxy()
        .connect_timeout(timeouts.connect)
        .read_timeout(timeouts.read)
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
    use crate::spec::{DeploymentSpec, TimeoutOverrides};

    fn deployment(provider: ProviderId, timeouts: TimeoutOverrides) -> DeploymentSpec {
        let mut d = DeploymentSpec::new(provider, "m");
        d.timeouts = timeouts;
        d
    }

    #[test]
    fn a_provider_gets_one_client_per_distinct_connect_and_read_pair() {
        let mut spec = GatewaySpec::default();
        let own = UpstreamTimeouts::default();
        let base: url::Url = "https://api.example/v1".parse().unwrap();
        let a = spec.provider(ProviderSpec::new("a", Vendor::Openai, base.clone()));
        let b = spec.provider(ProviderSpec::new("b", Vendor::Openai, base));
        let quick = TimeoutOverrides {
            connect: Some(Duration::from_millis(150)),
            ..TimeoutOverrides::default()
        };
        let first_byte_only = TimeoutOverrides {
            first_byte: Some(Duration::from_secs(1)),
            ..TimeoutOverrides::default()
        };
        let same_as_own = TimeoutOverrides {
            read: Some(own.read),
            ..TimeoutOverrides::default()
        };
        spec.group(
            "g",
            vec![
                deployment(a, quick),
                deployment(a, first_byte_only),
                deployment(a, same_as_own),
                deployment(a, quick),
                deployment(b, first_byte_only),
            ],
        );
        let providers = Providers::new(&spec).unwrap();
        let pa = providers.get(a).unwrap();
        assert_eq!(pa.client_count(), 2, "own timeouts, and the quick connect");
        assert_eq!(providers.get(b).unwrap().client_count(), 1);
        assert_eq!(pa.client_index(own), 0);
        assert_eq!(pa.client_index(first_byte_only.over(own)), 0);
        assert_eq!(pa.client_index(quick.over(own)), 1);
        let clients = UpstreamClients::new(&providers).unwrap();
        assert_eq!(clients.clients[a.index()].len(), 2);
    }
}
