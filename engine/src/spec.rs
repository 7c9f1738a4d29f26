//! What the operator configured, in the engine's own terms.
//!
//! The api crate parses and validates the config file and hands the engine these
//! resolved, immutable specs. Upstream URLs and credentials come only from here:
//! nothing a client sends can change where a request goes or which credential it carries.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::provider::Vendor;

/// One upstream provider: where it lives, how to authenticate, how long to wait.
#[derive(Debug, Clone)]
pub struct ProviderSpec {
    /// Operator-chosen name, unique in the config; used in logs and metric labels.
    pub name: Arc<str>,
    /// Which wire dialect and quirks apply.
    pub vendor: Vendor,
    /// Base URL up to and including the API version path, e.g. `https://api.openai.com/v1`.
    pub base_url: Url,
    /// Provider credential; `None` for servers that need none (local vLLM, Ollama).
    pub credential: Option<SecretString>,
    pub timeouts: UpstreamTimeouts,
    /// Whether this provider may live on a private, loopback or link-local address.
    pub allow_private_network: bool,
    /// Largest non-streaming response body accepted from this provider.
    pub max_response_bytes: usize,
    /// Largest single SSE event accepted from this provider.
    pub max_event_bytes: usize,
}

/// Upstream timeouts. All are enforced by the per-worker client or the dispatcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamTimeouts {
    /// TCP (and TLS) connect.
    pub connect: Duration,
    /// From sending the request to receiving the response headers.
    pub first_byte: Duration,
    /// Longest silence between two body reads (inter-chunk for streams).
    pub read: Duration,
    /// The whole exchange, stream included.
    pub total: Duration,
}

impl Default for UpstreamTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            first_byte: Duration::from_secs(120),
            read: Duration::from_secs(60),
            total: Duration::from_secs(600),
        }
    }
}

/// A public model name clients ask for, served by one or more weighted deployments.
#[derive(Debug, Clone)]
pub struct ModelGroupSpec {
    pub name: Arc<str>,
    pub deployments: Vec<DeploymentSpec>,
}

/// One place a model group can be served: a provider and the model name it knows.
#[derive(Debug, Clone)]
pub struct DeploymentSpec {
    /// Index into [`GatewaySpec::providers`].
    pub provider: usize,
    /// The model name sent upstream.
    pub upstream_model: Arc<str>,
    /// Relative share of traffic; zero means "never chosen".
    pub weight: u32,
}

/// Everything the engine needs to route.
#[derive(Debug, Clone, Default)]
pub struct GatewaySpec {
    pub providers: Vec<ProviderSpec>,
    pub groups: Vec<ModelGroupSpec>,
}
