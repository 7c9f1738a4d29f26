//! One Anthropic Messages request, start to finish: the ingress's flow beside [`crate::chat`],
//! through the same retry/fallback loop ([`run`]).
//!
//! Where each attempt goes decides its path: a provider that speaks the Messages API natively
//! ([`NativeMessages`]) gets the validated Messages body as is (the gateway's credential, the
//! deployment's model) and its answer is relayed unchanged but for error events; any other
//! provider gets the canonical chat request through the ordinary chat [`attempt`], and the
//! api translates the OpenAI answer back. A retry or fallback may land on a provider of the
//! other kind; each attempt picks its path from its own lease.
//!
//! [`NativeMessages`]: crate::provider::NativeMessages

use std::time::Instant;

use serde_json::{Map, Value};

use crate::dispatch::{Call, ChatReply, attempt, failed, first_event, run};
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

/// Serves one Messages request for a caller whose key `allows` the named model groups: retried
/// and failed over like a chat completion. `body` is the client's validated Messages body;
/// `chat` the canonical request built from it (it carries the model, the stream flag and the
/// checks).
pub async fn messages(
    router: &Router,
    clients: &UpstreamClients,
    body: &Map<String, Value>,
    chat: &ChatRequest,
    allows: &dyn Fn(&str) -> bool,
) -> Result<MessagesReply, EngineError> {
    run(router, clients, &MessagesCall { body, chat }, allows).await
}

/// One Messages request as the loop sees it.
struct MessagesCall<'a> {
    body: &'a Map<String, Value>,
    chat: &'a ChatRequest,
}

impl Call for MessagesCall<'_> {
    type Reply = MessagesReply;

    fn model(&self) -> &str {
        self.chat.model()
    }

    async fn attempt(
        &self,
        router: &Router,
        clients: &UpstreamClients,
        lease: Lease,
    ) -> Result<MessagesReply, EngineError> {
        let native = clients
            .provider(lease.provider)
            .is_some_and(|p| p.adapter.native_messages().is_some());
        if native {
            native_attempt(router, clients, self.body, self.chat.is_stream(), lease)
                .await
                .map(MessagesReply::Native)
        } else {
            attempt(router, clients, self.chat, lease)
                .await
                .map(MessagesReply::Canonical)
        }
    }
}

/// One attempt on a provider that speaks the Messages API. Reports the outcome exactly once;
/// like a chat attempt, it honours the deployment's timeouts and returns a stream only once
/// its first event arrived.
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
    let timeouts = lease.timeouts.over(provider.spec.timeouts);
    let sent = Instant::now();
    let response = match clients
        .send_within(lease.provider, upstream_request, stream, timeouts)
        .await
    {
        Ok(response) => response,
        Err(e) => return Err(failed(router, &lease, e)),
    };
    if stream {
        let relay = native.messages_stream(provider.spec.max_event_bytes);
        let stream = RelayStream::new(
            Box::pin(response.bytes_stream()),
            relay,
            provider.echo.clone(),
            router.clone(),
            lease,
            sent,
        );
        return first_event(stream, sent + timeouts.first_byte)
            .await
            .map(ChatReply::Stream);
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
