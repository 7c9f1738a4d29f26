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
    /// Bytes held across one scheduler yield while gathering what else is already in.
    held: Batch,
    /// Whether the last poll yielded to let the upstream connection hand over more.
    yielded: bool,
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
            held: Batch::default(),
            yielded: false,
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

    /// Hands `batch` to the client, noting when the first bytes went out.
    fn emit(&mut self, batch: Batch) -> Poll<Option<Result<Bytes, UpstreamError>>> {
        if self.first_forwarded.is_none() {
            self.first_forwarded = Some(Instant::now());
        }
        Poll::Ready(Some(Ok(batch.into_bytes())))
    }

    /// Ends the stream: what is batched goes out first, then (on error) one error event;
    /// the next poll returns `None`.
    fn end(
        &mut self,
        mut batch: Batch,
        error: Option<UpstreamError>,
    ) -> Poll<Option<Result<Bytes, UpstreamError>>> {
        if let Some(e) = &error {
            batch.push(crate::sse::error_event(e));
        }
        self.finish(error, false);
        if batch.is_empty() {
            Poll::Ready(None)
        } else {
            self.emit(batch)
        }
    }
}

/// Most bytes coalesced into one write to the client.
const COALESCE_LIMIT: usize = 64 * 1024;

/// Relayed bytes gathered within one poll: everything the upstream had ready at once.
#[derive(Default)]
struct Batch {
    parts: Vec<Bytes>,
    len: usize,
}

impl Batch {
    fn push(&mut self, bytes: Bytes) {
        if !bytes.is_empty() {
            self.len += bytes.len();
            self.parts.push(bytes);
        }
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn into_bytes(mut self) -> Bytes {
        if self.parts.len() == 1 {
            return self.parts.pop().unwrap_or_default();
        }
        let mut out = bytes::BytesMut::with_capacity(self.len);
        for part in self.parts {
            out.extend_from_slice(&part);
        }
        out.freeze()
    }
}

impl Stream for RelayStream {
    type Item = Result<Bytes, UpstreamError>;

    /// Forwards every complete event the upstream has delivered so far, as one write.
    ///
    /// hyper hands body chunks over from its connection task one at a time, so a single
    /// socket read holding twenty SSE events arrives here as twenty polls, each needing that
    /// task to run in between. Writing each on its own cost a syscall per event under load.
    /// So when the upstream is momentarily `Pending` and bytes are in hand, the relay yields
    /// to the scheduler once (self-wake) to let the connection task hand over what it has
    /// already read; if that brings nothing new, the batch goes out. Nothing ever waits on I/O,
    /// and the first write of a stream is never held back.
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        let mut batch = std::mem::take(&mut this.held);
        let yielded = std::mem::take(&mut this.yielded);
        let mut grew = false;
        loop {
            if batch.len >= COALESCE_LIMIT {
                return this.emit(batch);
            }
            match this.inner.as_mut().poll_next(cx) {
                Poll::Pending if batch.is_empty() => return Poll::Pending,
                // The first bytes go out at once: time to first token is what users feel.
                Poll::Pending if this.first_forwarded.is_some() && (!yielded || grew) => {
                    this.held = batch;
                    this.yielded = true;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Poll::Pending => return this.emit(batch),
                Poll::Ready(Some(Ok(chunk))) => {
                    if this.first_byte.is_none() {
                        this.first_byte = Some(this.sent.elapsed());
                    }
                    match this.relay.push(chunk) {
                        Ok(out) => {
                            grew |= !out.is_empty();
                            batch.push(out);
                        }
                        Err(SseError::EventTooLarge(_)) => {
                            return this.end(batch, Some(UpstreamError::TooLarge));
                        }
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    let error = if e.is_timeout() {
                        UpstreamError::Timeout
                    } else {
                        UpstreamError::StreamInterrupted
                    };
                    return this.end(batch, Some(error));
                }
                Poll::Ready(None) => {
                    let error = (!this.relay.is_done()).then_some(UpstreamError::StreamInterrupted);
                    return this.end(batch, error);
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
