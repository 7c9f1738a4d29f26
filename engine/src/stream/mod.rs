//! Streams: from the provider's bytes to the client's, chunk by chunk.
//!
//! Each provider turns its stream into OpenAI `chat.completion.chunk` events with a
//! *stateful* [`StreamTranslate`] (for OpenAI-compatible vendors, a relay that forwards bytes
//! as they are). [`RelayStream`] drives one translator over one upstream body, batches what is
//! ready into one write, measures time to first byte, and reports the outcome exactly once.
//! It yields typed errors; the api renders them in the caller's wire format.

mod relay;
pub(crate) mod sse;

use bytes::Bytes;

pub use relay::{RelayStream, StreamSummary};

use crate::error::UpstreamError;
use crate::usage::Usage;

/// Why a translator had to stop a stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error("an SSE event exceeded {0} bytes")]
    EventTooLarge(usize),
    /// The provider's own stream reported an error mid-way; `kind` is a low-cardinality label.
    #[error("the provider reported an error mid-stream ({kind})")]
    Provider { kind: &'static str },
    #[error("the provider's stream was malformed")]
    Malformed,
    /// The upstream body ended before the provider's end-of-stream marker.
    #[error("the provider's stream ended before it was complete")]
    Truncated,
}

impl From<StreamError> for UpstreamError {
    fn from(e: StreamError) -> Self {
        match e {
            StreamError::EventTooLarge(_) => UpstreamError::TooLarge,
            StreamError::Provider { .. } => UpstreamError::StreamInterrupted,
            StreamError::Malformed => UpstreamError::Malformed,
            StreamError::Truncated => UpstreamError::StreamInterrupted,
        }
    }
}

/// A provider's stream, turned into OpenAI chunk events as bytes arrive.
///
/// Implementations are pure (no I/O, no clock) and give the same output however the input is
/// split into pushes.
pub trait StreamTranslate: Send + std::fmt::Debug {
    /// Feeds one upstream read; returns what to forward now (possibly empty).
    fn push(&mut self, chunk: Bytes) -> Result<Bytes, StreamError>;
    /// Usage seen so far.
    fn usage(&self) -> Option<Usage>;
    /// Whether the provider's end-of-stream marker was seen.
    fn is_done(&self) -> bool;
    /// Complete upstream events consumed so far.
    fn events(&self) -> u64;
    /// Called once when the upstream body ends: `Err` when the stream did not complete, with
    /// the error a translator deferred so the output before it could go out first. The
    /// default trusts [`is_done`](Self::is_done).
    fn finish(&mut self) -> Result<(), StreamError> {
        if self.is_done() {
            Ok(())
        } else {
            Err(StreamError::Truncated)
        }
    }
}
