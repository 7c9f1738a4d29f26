//! Embeddings through the [`run`] loop: one attempt sends the adapter's embeddings request,
//! reads the whole body and has the adapter turn it into OpenAI's `list` body. The same
//! retries, fallbacks, breaker reports and retry budget as chat apply, since it is the same
//! loop.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{Call, failed, run};
use crate::error::EngineError;
use crate::provider::{UNSUPPORTED_KIND, embeddings_unsupported};
use crate::request::embeddings::EmbeddingsRequest;
use crate::routing::{Lease, Outcome, Router};
use crate::upstream::UpstreamClients;
use crate::usage::Usage;

/// A complete OpenAI embeddings `list` body.
#[derive(Debug)]
pub struct EmbeddingsReply {
    pub body: Bytes,
    pub usage: Option<Usage>,
    /// Time spent waiting on the provider (send → last body byte).
    pub upstream: Duration,
    pub lease: Lease,
}

/// Serves one embeddings request for a caller whose key `allows` the named model groups.
pub async fn embeddings_as(
    router: &Router,
    clients: &UpstreamClients,
    request: &EmbeddingsRequest,
    allows: &dyn Fn(&str) -> bool,
) -> Result<EmbeddingsReply, EngineError> {
    run(router, clients, request, allows).await
}

impl Call for EmbeddingsRequest {
    type Reply = EmbeddingsReply;

    fn model(&self) -> &str {
        EmbeddingsRequest::model(self)
    }

    async fn attempt(
        &self,
        router: &Router,
        clients: &UpstreamClients,
        lease: Lease,
    ) -> Result<EmbeddingsReply, EngineError> {
        attempt(router, clients, self, lease).await
    }
}

/// One attempt on one leased deployment; reports its outcome exactly once.
async fn attempt(
    router: &Router,
    clients: &UpstreamClients,
    request: &EmbeddingsRequest,
    lease: Lease,
) -> Result<EmbeddingsReply, EngineError> {
    let Some(provider) = clients.provider(lease.provider) else {
        router.report(&lease, Outcome::Neutral);
        return Err(EngineError::Internal("lease names an unknown provider"));
    };
    let upstream_request = match provider
        .adapter
        .embeddings_request(request, &lease.upstream_model)
    {
        Ok(r) => r,
        Err(e) => {
            router.report(&lease, Outcome::Neutral);
            return Err(if e.kind() == UNSUPPORTED_KIND {
                embeddings_unsupported(provider.spec.vendor.as_str())
            } else {
                e
            });
        }
    };
    let timeouts = lease.timeouts.over(provider.spec.timeouts);
    let sent = Instant::now();
    let response = match clients
        .send_within(lease.provider, upstream_request, false, timeouts)
        .await
    {
        Ok(response) => response,
        Err(e) => return Err(failed(router, &lease, e)),
    };
    let body = match clients.read_body(lease.provider, response).await {
        Ok(body) => body,
        Err(e) => return Err(failed(router, &lease, e)),
    };
    let upstream = sent.elapsed();
    let (body, usage) = match provider.adapter.embeddings_response(body, request) {
        Ok(translated) => translated,
        Err(e) => return Err(failed(router, &lease, e)),
    };
    router.report(&lease, Outcome::Success { latency: upstream });
    if let Some(usage) = &usage {
        router.record_tokens(
            &lease,
            usage.prompt_tokens.saturating_add(usage.completion_tokens),
        );
    }
    Ok(EmbeddingsReply {
        body,
        usage,
        upstream,
        lease,
    })
}
