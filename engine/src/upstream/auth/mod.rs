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
use crate::provider::{Dialect, UpstreamRequest};
use crate::spec::ProviderSpec;

/// The SigV4 service name of Bedrock's runtime API.
const BEDROCK_SERVICE: &str = "bedrock";

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
    if let Some(vertex) = &spec.vertex {
        return Ok(Some(Arc::new(google::ServiceAccountAuth::new(
            &vertex.service_account,
            SystemClock::shared(),
        )?)));
    }
    match (spec.vendor.profile().dialect, &spec.bedrock) {
        (Dialect::Bedrock, Some(bedrock)) => {
            let credentials = sigv4::AwsCredentials {
                access_key_id: bedrock.access_key_id.clone(),
                secret_access_key: bedrock.secret_access_key.clone(),
                session_token: bedrock.session_token.clone(),
            };
            Ok(Some(Arc::new(sigv4::SigV4::new(
                credentials,
                &bedrock.region,
                BEDROCK_SERVICE,
                Arc::new(sigv4::SystemWallClock),
            ))))
        }
        (Dialect::Bedrock, None) => Err(EngineError::Internal(
            "a bedrock provider needs its bedrock settings",
        )),
        _ => Ok(None),
    }
}
