//! Portcullis engine: everything between "a validated request" and "bytes for the client",
//! with no HTTP server types in sight.
//!
//! - [`request`]: the client's body, validated strictly, and the body sent upstream.
//! - [`routing`]: model groups, provider actors, deployment leases and outcome reports.
//! - [`upstream`]: per-worker HTTP clients with egress control ([`egress`]).
//! - [`sse`] and [`usage`]: stream relaying and token accounting.
//! - [`dispatch`]: one chat completion, start to finish.

pub mod dispatch;
pub mod egress;
pub mod error;
pub mod ingress;
pub mod provider;
pub mod request;
pub mod routing;
pub mod spec;
pub mod sse;
pub mod upstream;
pub mod usage;

pub use dispatch::{ChatReply, RelayStream, StreamSummary, chat};
pub use error::{EngineError, Fault, RequestError, UpstreamError};
pub use request::ChatRequest;
pub use routing::Router;
pub use spec::{DeploymentSpec, GatewaySpec, ModelGroupSpec, ProviderSpec, UpstreamTimeouts};
pub use upstream::UpstreamClients;
pub use usage::Usage;
