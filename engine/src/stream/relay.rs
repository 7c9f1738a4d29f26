//! [`RelayStream`]: one upstream body through one [`StreamTranslate`], to the client.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::Stream;

use super::StreamTranslate;
use crate::error::UpstreamError;
use crate::ids::ProviderId;
use crate::routing::{Lease, Outcome, Router};
use crate::upstream::{Carry, EchoGuard, credential_echoed};
use crate::usage::Usage;

/// How a relayed stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSummary {
    pub provider: ProviderId,
    pub provider_name: std::sync::Arc<str>,
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

/// The client-facing stream: upstream bytes through a translator. A failure mid-stream is
/// yielded as one final `Err` (the api renders it as the caller's error event), after the
/// bytes already translated. Reports its outcome to the router exactly once, also when the
/// client disconnects (drop).
pub struct RelayStream {
    inner: ByteStream,
    relay: Box<dyn StreamTranslate>,
    /// The provider's credential-echo guard, run over every raw chunk before the translator
    /// sees it, with the previous chunk's tail carried over.
    echo: EchoGuard,
    carry: Carry,
    router: Router,
    lease: Lease,
    sent: Instant,
    first_byte: Option<Duration>,
    first_forwarded: Option<Instant>,
    on_finish: Option<Finish>,
    finished: bool,
    /// The error to yield after the last translated bytes.
    pending_error: Option<UpstreamError>,
    /// Bytes held across one scheduler yield while gathering what else is already in.
    held: Batch,
    /// Whether the last poll yielded to let the upstream connection hand over more.
    yielded: bool,
    /// Bytes read ahead by the dispatcher (the first event), yielded before anything else.
    peeked: Option<Bytes>,
    /// The summary of a stream that ended before anyone asked to hear about it.
    unclaimed: Option<Box<StreamSummary>>,
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
    pub(crate) fn new(
        inner: ByteStream,
        relay: Box<dyn StreamTranslate>,
        echo: EchoGuard,
        router: Router,
        lease: Lease,
        sent: Instant,
    ) -> Self {
        Self {
            inner,
            relay,
            echo,
            carry: Carry::default(),
            router,
            lease,
            sent,
            first_byte: None,
            first_forwarded: None,
            on_finish: None,
            finished: false,
            pending_error: None,
            held: Batch::default(),
            yielded: false,
            peeked: None,
            unclaimed: None,
        }
    }

    /// Runs `f` once when the stream ends, fails, or is dropped by a departing client (at
    /// once if it already ended).
    pub fn on_finish(&mut self, f: impl FnOnce(StreamSummary) + Send + 'static) {
        match self.unclaimed.take() {
            Some(summary) => f(*summary),
            None => self.on_finish = Some(Box::new(f)),
        }
    }

    /// Ends the stream with `error` before anything reached the client (the dispatcher gave
    /// up waiting for the first event): reported as that failure, not as a departed client.
    pub(crate) fn abandon(&mut self, error: UpstreamError) {
        self.finish(Some(error), false);
    }

    /// Puts back bytes the dispatcher read ahead, to be yielded first.
    pub(crate) fn unread(&mut self, bytes: Bytes) {
        self.peeked = Some(bytes);
    }

    /// The lease this stream holds: provider and deployment, with their names.
    pub fn lease(&self) -> &Lease {
        &self.lease
    }

    fn finish(&mut self, error: Option<UpstreamError>, client_gone: bool) {
        if self.finished {
            return;
        }
        self.finished = true;
        let outcome = match (&error, client_gone) {
            (Some(e), _) => Outcome::after(e),
            (None, true) => Outcome::Neutral,
            (None, false) => Outcome::Success {
                latency: self.first_byte.unwrap_or_else(|| self.sent.elapsed()),
            },
        };
        self.router.report(&self.lease, outcome);
        let summary = StreamSummary {
            provider: self.lease.provider,
            provider_name: self.lease.provider_name.clone(),
            usage: self.relay.usage(),
            upstream_first_byte: self.first_byte,
            upstream_total: self.sent.elapsed(),
            completed: self.relay.is_done(),
            error,
            client_gone,
            events: self.relay.events(),
            first_forwarded: self.first_forwarded,
        };
        match self.on_finish.take() {
            Some(f) => f(summary),
            None => self.unclaimed = Some(Box::new(summary)),
        }
    }

    /// Hands `batch` to the client, noting when the first bytes went out.
    fn emit(&mut self, batch: Batch) -> Poll<Option<Result<Bytes, UpstreamError>>> {
        if self.first_forwarded.is_none() {
            self.first_forwarded = Some(Instant::now());
        }
        Poll::Ready(Some(Ok(batch.into_bytes())))
    }

    /// Ends the stream: what is batched goes out first, then (on error) the error itself;
    /// after that, polls return `None`.
    fn end(
        &mut self,
        batch: Batch,
        error: Option<UpstreamError>,
    ) -> Poll<Option<Result<Bytes, UpstreamError>>> {
        self.finish(error.clone(), false);
        self.pending_error = error;
        // Nothing more is read: let the upstream connection go now.
        self.inner = Box::pin(futures_util::stream::empty());
        if batch.is_empty() {
            Poll::Ready(self.pending_error.take().map(Err))
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
        if let Some(bytes) = this.peeked.take() {
            return Poll::Ready(Some(Ok(bytes)));
        }
        if this.finished {
            return Poll::Ready(this.pending_error.take().map(Err));
        }
        let mut batch = std::mem::take(&mut this.held);
        let yielded = std::mem::take(&mut this.yielded);
        let mut grew = false;
        loop {
            // The provider's end-of-stream marker ends the client's stream: an upstream that
            // then holds its connection open must not hold the client (or, at the read
            // timeout, append an error after the end).
            if this.relay.is_done() {
                let error = this.relay.finish().err().map(UpstreamError::from);
                return this.end(batch, error);
            }
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
                    // Nothing of a chunk that completes a piece of the credential is
                    // translated or forwarded: the stream ends with the gateway's error.
                    if this.echo.finds_in_chunk(&mut this.carry, &chunk) {
                        credential_echoed(&this.lease.provider_name);
                        return this.end(batch, Some(UpstreamError::CredentialEcho));
                    }
                    match this.relay.push(chunk) {
                        Ok(out) => {
                            grew |= !out.is_empty();
                            batch.push(out);
                        }
                        Err(e) => return this.end(batch, Some(e.into())),
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
                    let error = this.relay.finish().err().map(UpstreamError::from);
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
