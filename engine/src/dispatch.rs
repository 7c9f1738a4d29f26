//! One chat completion, start to finish: lease a deployment, send, relay, report.
//!
//! Runs on the actix-web worker that accepted the request. The provider actor is asked for
//! a lease and told the outcome; the bytes flow worker ↔ provider directly.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::Stream;

use crate::error::{EngineError, UpstreamError};
use crate::request::ChatRequest;
use crate::routing::{Outcome, RoutedLease, Router};
use crate::sse::{SseError, SseRelay};
use crate::upstream::UpstreamClients;
use crate::usage::{self, Usage};

/// What the gateway answers with.
#[derive(Debug)]
pub enum ChatReply {
    /// A complete `chat.completion` body, forwarded byte for byte.
    Json {
        body: Bytes,
        usage: Option<Usage>,
        /// Time spent waiting on the provider (send → last body byte).
        upstream: Duration,
        provider: usize,
    },
    /// An SSE stream relayed as it arrives.
    Stream(RelayStream),
}

/// Serves one chat completion request.
pub async fn chat(
    router: &Router,
    clients: &UpstreamClients,
    request: &ChatRequest,
) -> Result<ChatReply, EngineError> {
    let lease = router.acquire(request.model())?;
    let Some(spec) = clients.provider(lease.provider) else {
        router.report(&lease, Outcome::Neutral);
        return Err(EngineError::Internal("lease names an unknown provider"));
    };
    let stream_usage = spec.vendor.profile().stream_usage;
    let max_event_bytes = spec.max_event_bytes;
    let body = request.upstream_body(&lease.lease.upstream_model, stream_usage);
    let sent = Instant::now();
    let response = match clients
        .send_chat(lease.provider, body, request.is_stream())
        .await
    {
        Ok(response) => response,
        Err(e) => {
            router.report(&lease, outcome_of(&e));
            return Err(e.into());
        }
    };
    if request.is_stream() {
        let relay = SseRelay::new(max_event_bytes, !request.client_wants_usage());
        return Ok(ChatReply::Stream(RelayStream::new(
            Box::pin(response.bytes_stream()),
            relay,
            router.clone(),
            lease,
            sent,
        )));
    }
    let provider = lease.provider;
    let body = match clients.read_body(provider, response).await {
        Ok(body) => body,
        Err(e) => {
            router.report(&lease, outcome_of(&e));
            return Err(e.into());
        }
    };
    let upstream = sent.elapsed();
    let usage = match usage::from_completion(&body) {
        Ok(usage) => usage,
        Err(_) => {
            router.report(&lease, Outcome::Failure);
            return Err(UpstreamError::Malformed.into());
        }
    };
    router.report(&lease, Outcome::Success { latency: upstream });
    Ok(ChatReply::Json {
        body,
        usage,
        upstream,
        provider,
    })
}

/// How an upstream error bears on deployment health.
fn outcome_of(e: &UpstreamError) -> Outcome {
    match e {
        UpstreamError::RateLimited { retry_after } => Outcome::RateLimited {
            retry_after: *retry_after,
        },
        UpstreamError::BadRequest { .. } => Outcome::Neutral,
        _ => Outcome::Failure,
    }
}

/// How a relayed stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSummary {
    pub provider: usize,
    pub usage: Option<Usage>,
    /// From sending the request to the first body byte from the provider.
    pub upstream_first_byte: Option<Duration>,
    /// From sending the request to the end of the stream.
    pub upstream_total: Duration,
    /// The provider's `[DONE]` was relayed.
    pub completed: bool,
    pub error: Option<UpstreamError>,
    /// The client went away before the end.
    pub client_gone: bool,
    pub events: u64,
    /// When the first bytes were handed to the client.
    pub first_forwarded: Option<Instant>,
}

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;
type Finish = Box<dyn FnOnce(StreamSummary) + Send>;

/// The client-facing stream: upstream bytes through an [`SseRelay`]. Errors mid-stream become
/// one OpenAI-shaped `error` event and the end of the stream. Reports its outcome to the
/// provider actor exactly once, also when the client disconnects (drop).
pub struct RelayStream {
    inner: ByteStream,
    relay: SseRelay,
    router: Router,
    lease: RoutedLease,
    sent: Instant,
    first_byte: Option<Duration>,
    first_forwarded: Option<Instant>,
    on_finish: Option<Finish>,
    finished: bool,
}

impl std::fmt::Debug for RelayStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayStream")
            .field("relay", &self.relay)
            .field("finished", &self.finished)
            .finish()
    }
}

impl RelayStream {
    fn new(
        inner: ByteStream,
        relay: SseRelay,
        router: Router,
        lease: RoutedLease,
        sent: Instant,
    ) -> Self {
        Self {
            inner,
            relay,
            router,
            lease,
            sent,
            first_byte: None,
            first_forwarded: None,
            on_finish: None,
            finished: false,
        }
    }

    /// Runs `f` once when the stream ends, fails, or is dropped by a departing client.
    pub fn on_finish(&mut self, f: impl FnOnce(StreamSummary) + Send + 'static) {
        self.on_finish = Some(Box::new(f));
    }

    pub fn provider(&self) -> usize {
        self.lease.provider
    }

    fn finish(&mut self, error: Option<UpstreamError>, client_gone: bool) {
        if self.finished {
            return;
        }
        self.finished = true;
        let outcome = match (&error, client_gone) {
            (Some(e), _) => outcome_of(e),
            (None, true) => Outcome::Neutral,
            (None, false) => Outcome::Success {
                latency: self.first_byte.unwrap_or_else(|| self.sent.elapsed()),
            },
        };
        self.router.report(&self.lease, outcome);
        let summary = StreamSummary {
            provider: self.lease.provider,
            usage: self.relay.usage(),
            upstream_first_byte: self.first_byte,
            upstream_total: self.sent.elapsed(),
            completed: self.relay.is_done(),
            error,
            client_gone,
            events: self.relay.events(),
            first_forwarded: self.first_forwarded,
        };
        if let Some(f) = self.on_finish.take() {
            f(summary);
        }
    }

    fn fail(&mut self, error: UpstreamError) -> Poll<Option<Result<Bytes, UpstreamError>>> {
        let event = crate::sse::error_event(&error);
        self.finish(Some(error), false);
        Poll::Ready(Some(Ok(event)))
    }
}

impl Stream for RelayStream {
    type Item = Result<Bytes, UpstreamError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        loop {
            match this.inner.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => {
                    if this.first_byte.is_none() {
                        this.first_byte = Some(this.sent.elapsed());
                    }
                    match this.relay.push(chunk) {
                        Ok(out) if out.is_empty() => continue,
                        Ok(out) => {
                            if this.first_forwarded.is_none() {
                                this.first_forwarded = Some(Instant::now());
                            }
                            return Poll::Ready(Some(Ok(out)));
                        }
                        Err(SseError::EventTooLarge(_)) => {
                            return this.fail(UpstreamError::TooLarge);
                        }
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    let error = if e.is_timeout() {
                        UpstreamError::Timeout
                    } else {
                        UpstreamError::StreamInterrupted
                    };
                    return this.fail(error);
                }
                Poll::Ready(None) => {
                    if !this.relay.is_done() {
                        return this.fail(UpstreamError::StreamInterrupted);
                    }
                    this.finish(None, false);
                    return Poll::Ready(None);
                }
            }
        }
    }
}

impl Drop for RelayStream {
    fn drop(&mut self) {
        self.finish(None, true);
    }
}
