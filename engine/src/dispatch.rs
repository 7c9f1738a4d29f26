//! One chat completion, start to finish: lease a deployment, translate, send, translate back,
//! report. Only the flow lives here — the stream machinery is in [`crate::stream`], the wire
//! formats in [`crate::provider`] — so a retry loop can wrap [`attempt`] alone.
//!
//! Runs on the actix-web worker that accepted the request; bytes flow worker ↔ provider
//! directly, and the outcome is reported to the router (table at once, actor by `try_send`).

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::error::{EngineError, UpstreamError};
use crate::ids::ProviderId;
use crate::request::ChatRequest;
use crate::routing::{Lease, Outcome, Router};
use crate::stream::RelayStream;
use crate::upstream::UpstreamClients;
use crate::usage::Usage;

/// What the gateway answers with.
#[derive(Debug)]
pub enum ChatReply {
    /// A complete `chat.completion` body in OpenAI's shape.
    Json {
        body: Bytes,
        usage: Option<Usage>,
        /// Time spent waiting on the provider (send → last body byte).
        upstream: Duration,
        lease: Lease,
    },
    /// An SSE stream relayed as it arrives.
    Stream(RelayStream),
}

impl ChatReply {
    /// The provider that served the reply.
    pub fn provider(&self) -> ProviderId {
        match self {
            ChatReply::Json { lease, .. } => lease.provider,
            ChatReply::Stream(stream) => stream.lease().provider,
        }
    }
}

/// Serves one chat completion request.
pub async fn chat(
    router: &Router,
    clients: &UpstreamClients,
    request: &ChatRequest,
) -> Result<ChatReply, EngineError> {
    let lease = router.acquire(request.model())?;
    attempt(router, clients, request, lease).await
}

/// One attempt on one leased deployment. Reports the outcome exactly once (for streams, when
/// the stream ends).
pub(crate) async fn attempt(
    router: &Router,
    clients: &UpstreamClients,
    request: &ChatRequest,
    lease: Lease,
) -> Result<ChatReply, EngineError> {
    let Some(provider) = clients.provider(lease.provider) else {
        router.report(&lease, Outcome::Neutral);
        return Err(EngineError::Internal("lease names an unknown provider"));
    };
    let upstream_request = match provider
        .adapter
        .chat_request(request, &lease.upstream_model)
    {
        Ok(r) => r,
        Err(e) => {
            router.report(&lease, Outcome::Neutral);
            return Err(e);
        }
    };
    let sent = Instant::now();
    let response = match clients
        .send(lease.provider, upstream_request, request.is_stream())
        .await
    {
        Ok(response) => response,
        Err(e) => return Err(failed(router, &lease, e)),
    };
    if request.is_stream() {
        let translator = provider
            .adapter
            .stream_translator(request, provider.spec.max_event_bytes);
        return Ok(ChatReply::Stream(RelayStream::new(
            Box::pin(response.bytes_stream()),
            translator,
            router.clone(),
            lease,
            sent,
        )));
    }
    let body = match clients.read_body(lease.provider, response).await {
        Ok(body) => body,
        Err(e) => return Err(failed(router, &lease, e)),
    };
    let upstream = sent.elapsed();
    let (body, usage) = match provider.adapter.chat_response(body) {
        Ok(translated) => translated,
        Err(e) => return Err(failed(router, &lease, e)),
    };
    router.report(&lease, Outcome::Success { latency: upstream });
    Ok(ChatReply::Json {
        body,
        usage,
        upstream,
        lease,
    })
}

/// Reports a failed attempt and hands its error on.
pub(crate) fn failed(router: &Router, lease: &Lease, error: UpstreamError) -> EngineError {
    router.report(lease, Outcome::after(&error));
    error.into()
}
