//! What the operator configured, in the engine's own terms.
//!
//! The config crate parses and validates the config file and hands the engine these
//! resolved, immutable specs. Upstream URLs and credentials come only from here:
//! nothing a client sends can change where a request goes or which credential it carries.
//! Tests build specs with the builders ([`ProviderSpec::new`], [`GatewaySpec::provider`],
//! [`GatewaySpec::group`]) rather than by hand.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::ids::ProviderId;
use crate::provider::Vendor;

pub use crate::health::BreakerSpec;
pub use crate::retry::{BackoffSpec, RetryBudgetSpec};
pub use crate::routing::Strategy;

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
    /// Settings only the Anthropic dialect reads; defaults for every other vendor.
    pub anthropic: AnthropicSpec,
    /// Settings only Azure OpenAI reads; defaults for every other vendor.
    pub azure: AzureSpec,
    /// Vertex AI's project, region and service account; `Some` only for vendor `vertex_ai`.
    pub vertex: Option<VertexSpec>,
    /// Region and credentials of a Bedrock provider; `None` for every other vendor.
    pub bedrock: Option<BedrockSpec>,
    /// When a deployment of this provider stops taking traffic, and for how long.
    pub breaker: BreakerSpec,
    /// How many retries this provider's failures may cause, over the requests it served.
    pub retry_budget: RetryBudgetSpec,
    /// How long to wait before retrying on the same deployment.
    pub backoff: BackoffSpec,
}

/// Per-provider settings of the Anthropic dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnthropicSpec {
    /// The `anthropic-version` header value.
    pub version: String,
    /// `anthropic-beta` values, sent only when the operator lists some.
    pub beta: Vec<String>,
    /// `max_tokens` for an OpenAI request that sets none (Anthropic requires one).
    pub default_max_tokens: u64,
}

impl Default for AnthropicSpec {
    fn default() -> Self {
        Self {
            version: crate::provider::anthropic::DEFAULT_ANTHROPIC_VERSION.to_owned(),
            beta: Vec::new(),
            default_max_tokens: crate::provider::anthropic::AnthropicOptions::default()
                .default_max_tokens,
        }
    }
}

/// Per-provider settings of Azure OpenAI.
#[derive(Debug, Clone)]
pub struct AzureSpec {
    /// The `api-version` query parameter of every request.
    pub api_version: String,
    /// An Entra ID access token sent as `Authorization: Bearer` instead of the `api-key`
    /// header (the config allows exactly one of the two).
    pub entra_token: Option<SecretString>,
}

impl AzureSpec {
    /// Azure OpenAI's current generally available data-plane API version.
    pub const DEFAULT_API_VERSION: &'static str = "2024-10-21";
}

impl Default for AzureSpec {
    fn default() -> Self {
        Self {
            api_version: Self::DEFAULT_API_VERSION.to_owned(),
            entra_token: None,
        }
    }
}

/// Where a Vertex AI provider's models live and whose credentials call them.
#[derive(Debug, Clone)]
pub struct VertexSpec {
    /// The Google Cloud project id (a path-safe token, checked by the config).
    pub project: String,
    /// The region, e.g. `us-central1` (a host-safe token, checked by the config).
    pub region: String,
    pub service_account: ServiceAccount,
}

/// The parts of a service-account key file the gateway uses to mint access tokens.
#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub client_email: String,
    /// The PKCS#8 PEM private key; redacted in `Debug`, never logged.
    pub private_key: SecretString,
    /// Where tokens are minted (`token_uri`); egress rules apply to it as to `base_url`.
    pub token_uri: Url,
}

/// Per-provider settings of AWS Bedrock: the region and the resolved credentials.
#[derive(Clone)]
pub struct BedrockSpec {
    /// `us-east-1`, ...: part of the default endpoint and of every signature's scope.
    pub region: String,
    pub access_key_id: SecretString,
    pub secret_access_key: SecretString,
    /// For temporary credentials (STS), sent as `x-amz-security-token`.
    pub session_token: Option<SecretString>,
}

impl std::fmt::Debug for BedrockSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BedrockSpec")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl ProviderSpec {
    pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;
    pub const DEFAULT_MAX_EVENT_BYTES: usize = 1024 * 1024;

    /// A provider with default timeouts and limits, no credential, public network only.
    pub fn new(name: &str, vendor: Vendor, base_url: Url) -> Self {
        Self {
            name: name.into(),
            vendor,
            base_url,
            credential: None,
            timeouts: UpstreamTimeouts::default(),
            allow_private_network: false,
            max_response_bytes: Self::DEFAULT_MAX_RESPONSE_BYTES,
            max_event_bytes: Self::DEFAULT_MAX_EVENT_BYTES,
            anthropic: AnthropicSpec::default(),
            azure: AzureSpec::default(),
            vertex: None,
            bedrock: None,
            breaker: BreakerSpec::default(),
            retry_budget: RetryBudgetSpec::default(),
            backoff: BackoffSpec::default(),
        }
    }

    pub fn anthropic(mut self, anthropic: AnthropicSpec) -> Self {
        self.anthropic = anthropic;
        self
    }

    pub fn azure(mut self, azure: AzureSpec) -> Self {
        self.azure = azure;
        self
    }

    pub fn vertex(mut self, vertex: VertexSpec) -> Self {
        self.vertex = Some(vertex);
        self
    }

    pub fn bedrock(mut self, bedrock: BedrockSpec) -> Self {
        self.bedrock = Some(bedrock);
        self
    }

    pub fn breaker(mut self, breaker: BreakerSpec) -> Self {
        self.breaker = breaker;
        self
    }

    pub fn retry_budget(mut self, budget: RetryBudgetSpec) -> Self {
        self.retry_budget = budget;
        self
    }

    pub fn credential(mut self, credential: &str) -> Self {
        self.credential = Some(SecretString::from(credential.to_owned()));
        self
    }

    pub fn allow_private_network(mut self) -> Self {
        self.allow_private_network = true;
        self
    }

    pub fn timeouts(mut self, timeouts: UpstreamTimeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    pub fn max_event_bytes(mut self, bytes: usize) -> Self {
        self.max_event_bytes = bytes;
        self
    }

    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }
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

/// A deployment's own timeouts; each one left `None` is its provider's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeoutOverrides {
    pub connect: Option<Duration>,
    pub first_byte: Option<Duration>,
    pub read: Option<Duration>,
    pub total: Option<Duration>,
}

impl TimeoutOverrides {
    /// These overrides laid over a provider's timeouts.
    pub fn over(self, provider: UpstreamTimeouts) -> UpstreamTimeouts {
        UpstreamTimeouts {
            connect: self.connect.unwrap_or(provider.connect),
            first_byte: self.first_byte.unwrap_or(provider.first_byte),
            read: self.read.unwrap_or(provider.read),
            total: self.total.unwrap_or(provider.total),
        }
    }
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

/// A public model name clients ask for, served by one or more deployments.
#[derive(Debug, Clone)]
pub struct ModelGroupSpec {
    pub name: Arc<str>,
    pub deployments: Vec<DeploymentSpec>,
    /// How a deployment is chosen among the available ones.
    pub strategy: Strategy,
    /// Other public names that reach this group.
    pub aliases: Vec<Arc<str>>,
    /// Groups tried, in order, when this one cannot serve a request.
    pub fallbacks: Vec<Arc<str>>,
    /// Groups tried when a provider says the prompt is too long for the model.
    pub context_window_fallbacks: Vec<Arc<str>>,
    /// Groups tried when a provider refuses the content.
    pub content_policy_fallbacks: Vec<Arc<str>>,
    /// Most attempts in this group for one request (the first included).
    pub max_attempts: u32,
    /// Longest wait for a deployment below its `max_in_flight`.
    pub queue_timeout: Duration,
}

impl ModelGroupSpec {
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
    pub const DEFAULT_QUEUE_TIMEOUT: Duration = Duration::from_secs(1);

    /// A group with the default strategy, no aliases and no fallbacks.
    pub fn new(name: &str, deployments: Vec<DeploymentSpec>) -> Self {
        Self {
            name: name.into(),
            deployments,
            strategy: Strategy::default(),
            aliases: Vec::new(),
            fallbacks: Vec::new(),
            context_window_fallbacks: Vec::new(),
            content_policy_fallbacks: Vec::new(),
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            queue_timeout: Self::DEFAULT_QUEUE_TIMEOUT,
        }
    }
}

/// One place a model group can be served: a provider and the model name it knows.
#[derive(Debug, Clone)]
pub struct DeploymentSpec {
    pub provider: ProviderId,
    /// The model name sent upstream.
    pub upstream_model: Arc<str>,
    /// Relative share of traffic; zero means "never chosen".
    pub weight: u32,
    /// Lower is tried first under [`Strategy::Priority`]; defaults to config order.
    pub priority: u32,
    /// Declared requests per minute this deployment may take (usage-aware routing).
    pub rpm: Option<u32>,
    /// Declared tokens per minute this deployment may take.
    pub tpm: Option<u64>,
    /// Micro-dollars per million tokens (input + output), overriding the price catalogue.
    pub cost: Option<u64>,
    /// Most requests in flight at once; `None` is unlimited.
    pub max_in_flight: Option<u32>,
    /// Timeouts of this deployment that override its provider's.
    pub timeouts: TimeoutOverrides,
    /// Active health checks of this deployment, `None` (the default) for none. The config
    /// resolves it from the provider's `health_check` and the deployment's own.
    pub health_check: Option<HealthCheckSpec>,
}

/// Active health checks of one deployment: every `interval`, a one-token completion through
/// the same adapter, credential step and client as real requests, whose outcome the breaker
/// counts like a real request's. Each check costs a tiny completion, which is why they are off
/// unless configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthCheckSpec {
    /// Time between two checks of the deployment.
    pub interval: Duration,
    /// Longest wait for a check's answer (shorter than `interval`); longer is a failure.
    pub timeout: Duration,
}

impl Default for HealthCheckSpec {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
        }
    }
}

impl DeploymentSpec {
    pub fn new(provider: ProviderId, upstream_model: &str) -> Self {
        Self {
            provider,
            upstream_model: upstream_model.into(),
            weight: 1,
            priority: 0,
            rpm: None,
            tpm: None,
            cost: None,
            max_in_flight: None,
            timeouts: TimeoutOverrides::default(),
            health_check: None,
        }
    }

    pub fn weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }

    pub fn health_check(mut self, check: HealthCheckSpec) -> Self {
        self.health_check = Some(check);
        self
    }
}

/// Everything the engine needs to route. Provider ids are positions in `providers`.
#[derive(Debug, Clone, Default)]
pub struct GatewaySpec {
    pub providers: Vec<ProviderSpec>,
    pub groups: Vec<ModelGroupSpec>,
}

impl GatewaySpec {
    /// Adds a provider; returns its id.
    pub fn provider(&mut self, spec: ProviderSpec) -> ProviderId {
        self.providers.push(spec);
        ProviderId::from_index(self.providers.len() - 1)
    }

    /// Adds a model group served by `deployments`.
    pub fn group(&mut self, name: &str, deployments: Vec<DeploymentSpec>) -> &mut Self {
        self.groups.push(ModelGroupSpec::new(name, deployments));
        self
    }

    /// The provider with id `id`.
    pub fn provider_spec(&self, id: ProviderId) -> Option<&ProviderSpec> {
        self.providers.get(id.index())
    }
}
