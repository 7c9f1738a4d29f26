//! Credentials that cannot be a static header set by the adapter: tokens the gateway mints and
//! refreshes itself (Vertex AI service accounts) and per-request signatures (AWS SigV4).
//!
//! Adapters stay pure: they build the URL, headers and body. When a provider's credential
//! needs I/O or the time of sending, the provider also has an [`Authorize`] step, which
//! [`UpstreamClients::send_within`](super::UpstreamClients::send_within) runs on the final
//! request (content type and accept already set) just before it goes out. An authorizer that
//! talks to a token endpoint uses the worker's client for the provider, so egress rules,
//! timeouts and redirect refusal apply to it too. Whatever it holds (keys, minted tokens)
//! never reaches a log line, a metric or an error message.

mod google;
pub(crate) mod sigv4;

use std::fmt::Debug;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use reqwest::Client;

use crate::clock::SystemClock;
use crate::error::{EngineError, UpstreamError};
use crate::provider::UpstreamRequest;
use crate::spec::ProviderSpec;

/// One provider's authorization step, shared by every worker.
pub trait Authorize: Send + Sync + Debug {
    /// Adds the credential to `request` (a header, a signature). `client` is the calling
    /// worker's client for this provider, for any token endpoint the step must call.
    fn authorize<'a>(
        &'a self,
        client: &'a Client,
        request: &'a mut UpstreamRequest,
    ) -> BoxFuture<'a, Result<(), UpstreamError>>;
}

/// The authorization step for `spec`, or `None` when the adapter's headers carry the
/// credential already.
pub(crate) fn authorizer_for(
    spec: &ProviderSpec,
) -> Result<Option<Arc<dyn Authorize>>, EngineError> {
    match &spec.vertex {
        Some(vertex) => Ok(Some(Arc::new(google::ServiceAccountAuth::new(
            &vertex.service_account,
            SystemClock::shared(),
        )?))),
        None => Ok(None),
    }
}
