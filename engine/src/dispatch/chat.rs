//! Chat completions through the [`run`] loop: the reply (JSON or a relayed stream) and one
//! attempt on a leased deployment.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;

use super::{Call, failed, run};
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
    /// An SSE stream relayed as it arrives; its first event has already arrived.
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

/// Serves one chat completion request; every fallback group is allowed.
pub async fn chat(
    router: &Router,
    clients: &UpstreamClients,
    request: &ChatRequest,
) -> Result<ChatReply, EngineError> {
    chat_as(router, clients, request, &|_| true).await
}

/// Serves one chat completion for a caller whose key `allows` the named model groups: a
/// fallback group the key may not use is skipped.
pub async fn chat_as(
    router: &Router,
    clients: &UpstreamClients,
    request: &ChatRequest,
    allows: &dyn Fn(&str) -> bool,
) -> Result<ChatReply, EngineError> {
    run(router, clients, request, allows).await
}

impl Call for ChatRequest {
    type Reply = ChatReply;

    fn model(&self) -> &str {
        ChatRequest::model(self)
    }

    async fn attempt(
        &self,
        router: &Router,
        clients: &UpstreamClients,
        lease: Lease,
    ) -> Result<ChatReply, EngineError> {
        attempt(router, clients, self, lease).await
    }
}

/// One attempt on one leased deployment. Reports the outcome exactly once (for streams, when
/// the stream ends). A stream is returned only once its first event arrived.
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
    let timeouts = lease.timeouts.over(provider.spec.timeouts);
    let sent = Instant::now();
    let response = match clients
        .send_within(
            lease.provider,
            upstream_request,
            request.is_stream(),
            timeouts,
        )
        .await
    {
        Ok(response) => response,
        Err(e) => return Err(failed(router, &lease, e)),
    };
    if request.is_stream() {
        let translator = provider
            .adapter
            .stream_translator(request, provider.spec.max_event_bytes);
        let stream = RelayStream::new(
            Box::pin(response.bytes_stream()),
            translator,
            provider.echo.clone(),
            router.clone(),
            lease,
            sent,
        );
        return first_event(stream, sent + timeouts.first_byte)
            .await
            .map(ChatReply::Stream);
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
    if let Some(usage) = &usage {
        router.record_tokens(
            &lease,
            usage.prompt_tokens.saturating_add(usage.completion_tokens),
        );
    }
    Ok(ChatReply::Json {
        body,
        usage,
        upstream,
        lease,
    })
}

/// Waits (until `deadline`) for a stream's first translated event, so that a stream failing
/// before it is a failed attempt like any other (retried, failed over, or a plain HTTP error)
/// and a `200` is sent only once something is there to follow it.
pub(crate) async fn first_event(
    mut stream: RelayStream,
    deadline: Instant,
) -> Result<RelayStream, EngineError> {
    match tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), stream.next()).await {
        Err(_) => {
            stream.abandon(UpstreamError::Timeout);
            Err(UpstreamError::Timeout.into())
        }
        // The relay reported the failure when it yielded it.
        Ok(Some(Err(e))) => Err(e.into()),
        Ok(Some(Ok(first))) => {
            stream.unread(first);
            Ok(stream)
        }
        Ok(None) => Ok(stream),
    }
}
