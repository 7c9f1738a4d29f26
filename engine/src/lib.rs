//! Portcullis engine: everything between "a validated request" and "bytes for the client",
//! with no HTTP server types in sight.
//!
//! - [`request`]: the client's body, validated strictly: the canonical request.
//! - [`provider`]: the seam every provider sits behind (request, response, stream, errors).
//! - [`routing`]: model groups, strategies, fallback plans, provider actors, leases.
//! - [`health`]: circuit breakers (pure) and the admission gates workers read.
//! - [`retry`]: retry classification, the retry budget, backoff.
//! - [`upstream`]: per-worker HTTP clients with egress control ([`egress`]); sends bytes only.
//! - [`stream`]: the relay that drives a provider's stream translator to the client.
//! - [`dispatch`]: one chat completion, start to finish; [`messages`]: one Anthropic
//!   Messages request (natively to an Anthropic provider, else through the canonical form).
//! - [`clock`] and [`ids`]: injected time and chance; identities.

mod actors;
pub mod clock;
pub mod cost;
mod dispatch;
pub mod egress;
mod error;
pub mod health;
pub mod ids;
pub mod ingress;
pub mod limits;
mod messages;
pub mod metric_names;
pub mod provider;
mod request;
pub mod retry;
pub mod routing;
pub mod spec;
mod stream;
mod upstream;
mod usage;

pub use dispatch::{ChatReply, EmbeddingsReply, TRACE_TARGET, chat, chat_as, embeddings_as};
pub use error::{EngineError, Fault, RequestError, UpstreamError};
pub use health::{BreakerSpec, BreakerState};
pub use ids::{DeploymentId, GroupId, KeyId, ProviderId, RequestId};
pub use messages::{MessagesReply, messages};
pub use request::embeddings::{
    EmbeddingInput, EmbeddingsRequest, EncodingFormat, MAX_EMBEDDING_INPUTS,
    MAX_EMBEDDING_TEXT_BYTES, MAX_EMBEDDING_TOKEN_IDS,
};
pub use request::{ChatLimits, ChatRequest, OVERRIDE_FIELDS, model_name_problem, strict_json};
pub use retry::{BackoffSpec, RetryBudgetSpec};
pub use routing::{DeploymentStatus, Lease, Router, Strategy};
pub use spec::{
    AnthropicSpec, AzureSpec, BedrockSpec, DeploymentSpec, GatewaySpec, HealthCheckSpec,
    ModelGroupSpec, ProviderSpec, TimeoutOverrides, UpstreamTimeouts,
};
pub use stream::{RelayStream, StreamError, StreamSummary, StreamTranslate};
pub use upstream::{Authorize, Carry, EchoGuard, Provider, Providers, Secret, UpstreamClients};
pub use usage::Usage;
