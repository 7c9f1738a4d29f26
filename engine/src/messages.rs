//! One Anthropic Messages request, start to finish: the ingress's flow beside [`crate::chat`].
//!
//! The deployment is leased first, because where the request goes decides its path: a
//! provider that speaks the Messages API natively ([`NativeMessages`]) gets the validated
//! Messages body as is (the gateway's credential, the deployment's model) and its answer is
//! relayed unchanged but for error events; any other provider gets the canonical chat
//! request through the ordinary [`attempt`], and the api translates the OpenAI answer back.
//!
//! [`NativeMessages`]: crate::provider::NativeMessages

use std::time::Instant;

use serde_json::{Map, Value};

use crate::dispatch::{ChatReply, attempt, failed};
use crate::error::EngineError;
use crate::request::ChatRequest;
use crate::routing::{Lease, Outcome, Router};
use crate::stream::RelayStream;
use crate::upstream::UpstreamClients;

/// What a Messages request was answered with.
#[derive(Debug)]
pub enum MessagesReply {
    /// The provider answered in the Messages dialect; the body or stream is already in it.
    Native(ChatReply),
    /// The provider answered in OpenAI's dialect: the body or stream is a chat completion,
    /// to be translated for the client.
    Canonical(ChatReply),
}

/// Serves one Messages request. `body` is the client's validated Messages body; `chat` the
/// canonical request built from it (it carries the model, the stream flag and the checks).
pub async fn messages(
    router: &Router,
    clients: &UpstreamClients,
    body: &Map<String, Value>,
    chat: &ChatRequest,
) -> Result<MessagesReply, EngineError> {
    let lease = router.acquire(chat.model())?;
    let native = clients
        .provider(lease.provider)
        .is_some_and(|p| p.adapter.native_messages().is_some());
    if native {
        native_attempt(router, clients, body, chat.is_stream(), lease)
            .await
            .map(MessagesReply::Native)
    } else {
        attempt(router, clients, chat, lease)
            .await
            .map(MessagesReply::Canonical)
    }
}

/// One attempt on a provider that speaks the Messages API. Reports the outcome exactly once.
async fn native_attempt(
    router: &Router,
    clients: &UpstreamClients,
    body: &Map<String, Value>,
    stream: bool,
    lease: Lease,
) -> Result<ChatReply, EngineError> {
    let Some((provider, native)) = clients
        .provider(lease.provider)
        .and_then(|p| p.adapter.native_messages().map(|n| (p, n)))
    else {
        router.report(&lease, Outcome::Neutral);
        return Err(EngineError::Internal("lease names an unknown provider"));
    };
    let upstream_request = native.messages_request(body, &lease.upstream_model);
    let sent = Instant::now();
    let response = match clients.send(lease.provider, upstream_request, stream).await {
        Ok(response) => response,
        Err(e) => return Err(failed(router, &lease, e)),
    };
    if stream {
        let relay = native.messages_stream(provider.spec.max_event_bytes);
        return Ok(ChatReply::Stream(RelayStream::new(
            Box::pin(response.bytes_stream()),
            relay,
            router.clone(),
            lease,
            sent,
        )));
    }
    let bytes = match clients.read_body(lease.provider, response).await {
        Ok(bytes) => bytes,
        Err(e) => return Err(failed(router, &lease, e)),
    };
    let upstream = sent.elapsed();
    let (body, usage) = match native.messages_response(bytes) {
        Ok(answer) => answer,
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
