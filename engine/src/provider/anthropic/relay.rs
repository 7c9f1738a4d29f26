//! The seam's stream side for Anthropic: [`ChunkRelay`] drives the pure [`StreamTranslator`]
//! (Messages SSE → OpenAI chunks) behind [`StreamTranslate`], and [`NativeRelay`] forwards a
//! Messages stream to an Anthropic-speaking client event by event.
//!
//! `NativeRelay` re-emits each complete event rather than the raw bytes, so that a provider
//! `error` event (whose message could quote anything) never reaches the client verbatim: it
//! ends the stream as a typed error, which the api renders in Anthropic's shape. Usage and the
//! end marker are read on the way through, for accounting and to tell a completed stream from a
//! cut one.

use bytes::Bytes;

use super::error::{StreamError as AnthropicStreamError, classify_body};
use super::sse::{SseDecoder, SseEvent};
use super::stream::StreamTranslator;
use super::wire::{EventIn, UsageIn};
use crate::stream::{StreamError, StreamTranslate};
use crate::usage::Usage;

/// The engine's view of an Anthropic translation failure (kinds stay low-cardinality labels).
pub(crate) fn engine_stream_error(e: AnthropicStreamError) -> StreamError {
    match e {
        AnthropicStreamError::EventTooLarge(n) => StreamError::EventTooLarge(n),
        AnthropicStreamError::Upstream { kind, .. } => StreamError::Provider { kind: kind.label() },
        AnthropicStreamError::Malformed(_) => StreamError::Malformed,
        AnthropicStreamError::Truncated => StreamError::Truncated,
    }
}

/// Messages SSE → OpenAI chunk SSE, for an OpenAI client of an Anthropic provider.
#[derive(Debug)]
pub(crate) struct ChunkRelay {
    inner: StreamTranslator,
}

impl ChunkRelay {
    pub(crate) fn new(inner: StreamTranslator) -> Self {
        Self { inner }
    }
}

impl StreamTranslate for ChunkRelay {
    fn push(&mut self, chunk: Bytes) -> Result<Bytes, StreamError> {
        self.inner.push(&chunk).map_err(engine_stream_error)
    }

    fn usage(&self) -> Option<Usage> {
        self.inner.usage()
    }

    fn is_done(&self) -> bool {
        self.inner.is_done()
    }

    fn events(&self) -> u64 {
        self.inner.events()
    }

    fn finish(&mut self) -> Result<(), StreamError> {
        self.inner.finish().map_err(engine_stream_error)
    }
}

/// Messages SSE → Messages SSE, for an Anthropic client of an Anthropic provider.
#[derive(Debug)]
pub(crate) struct NativeRelay {
    decoder: SseDecoder,
    usage: Option<UsageIn>,
    done: bool,
    /// An error found after some output was ready: returned by the next call.
    failed: Option<StreamError>,
}

impl NativeRelay {
    pub(crate) fn new(max_event_bytes: usize) -> Self {
        Self {
            decoder: SseDecoder::new(max_event_bytes),
            usage: None,
            done: false,
            failed: None,
        }
    }
}

fn on_event(
    event: &SseEvent,
    usage: &mut Option<UsageIn>,
    done: &mut bool,
    out: &mut Vec<u8>,
) -> Result<(), AnthropicStreamError> {
    if *done {
        return Ok(());
    }
    if !event.data.is_empty() {
        let parsed: EventIn = serde_json::from_slice(&event.data).map_err(|_| {
            AnthropicStreamError::Malformed("an event is not a documented stream event")
        })?;
        match parsed {
            EventIn::MessageStart { message } => *usage = Some(message.usage),
            EventIn::MessageDelta { usage: Some(u), .. } => {
                usage.get_or_insert_with(UsageIn::default).merge(&u);
            }
            EventIn::MessageStop => *done = true,
            EventIn::Error { error } => {
                return Err(AnthropicStreamError::Upstream {
                    kind: classify_body(500, &error),
                    message: String::new(),
                });
            }
            _ => {}
        }
    }
    if !event.name.is_empty() {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(event.name.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(&event.data);
    out.extend_from_slice(b"\n\n");
    Ok(())
}

impl StreamTranslate for NativeRelay {
    fn push(&mut self, chunk: Bytes) -> Result<Bytes, StreamError> {
        // After `message_stop` nothing counts, even an error later in the same read.
        if self.done {
            return Ok(Bytes::new());
        }
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let mut out = Vec::new();
        let (usage, done) = (&mut self.usage, &mut self.done);
        match self
            .decoder
            .feed(&chunk, |e| on_event(&e, usage, done, &mut out))
        {
            Ok(()) => Ok(out.into()),
            Err(e) => {
                let e = engine_stream_error(e);
                self.failed = Some(e.clone());
                if out.is_empty() {
                    Err(e)
                } else {
                    Ok(out.into())
                }
            }
        }
    }

    fn usage(&self) -> Option<Usage> {
        self.usage.map(UsageIn::to_usage)
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn events(&self) -> u64 {
        self.decoder.events()
    }

    fn finish(&mut self) -> Result<(), StreamError> {
        match &self.failed {
            _ if self.done => Ok(()),
            Some(e) => Err(e.clone()),
            None => Err(StreamError::Truncated),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":10,\"output_tokens\":1,\"cache_read_input_tokens\":4}}}\r\n\r\nevent: ping\r\ndata: {\"type\":\"ping\"}\r\n\r\nevent: content_block_start\r\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\r\n\r\nevent: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\r\n\r\nevent: content_block_stop\r\ndata: {\"type\":\"content_block_stop\",\"index\":0}\r\n\r\nevent: message_delta\r\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":7}}\r\n\r\nevent: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";

    fn relay_split(at: usize) -> (Vec<u8>, NativeRelay) {
        let mut relay = NativeRelay::new(1 << 16);
        let mut out = relay
            .push(Bytes::copy_from_slice(&STREAM.as_bytes()[..at]))
            .unwrap()
            .to_vec();
        out.extend_from_slice(
            &relay
                .push(Bytes::copy_from_slice(&STREAM.as_bytes()[at..]))
                .unwrap(),
        );
        (out, relay)
    }

    #[test]
    fn native_relay_forwards_every_event_with_lf_however_split() {
        let (whole, _) = relay_split(0);
        assert_eq!(whole, STREAM.replace("\r\n", "\n").as_bytes());
        for at in 0..=STREAM.len() {
            let (out, mut relay) = relay_split(at);
            assert_eq!(out, whole, "split at {at}");
            assert_eq!(relay.finish(), Ok(()));
            assert_eq!(relay.events(), 7);
            let usage = relay.usage().unwrap();
            assert_eq!((usage.prompt_tokens, usage.completion_tokens), (14, 7));
            assert_eq!(usage.cached_tokens, 4);
        }
    }

    #[test]
    fn native_relay_turns_a_provider_error_event_into_a_typed_error_never_its_text() {
        let head = STREAM.split("event: content_block_start").next().unwrap();
        let error = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"sk-ant-secret-leak-0123456789\"}}\n\n";
        let mut relay = NativeRelay::new(1 << 16);
        let out = relay.push(Bytes::from(format!("{head}{error}"))).unwrap();
        assert!(!String::from_utf8_lossy(&out).contains("sk-ant"));
        let e = StreamError::Provider {
            kind: "overloaded_error",
        };
        assert_eq!(relay.push(Bytes::new()), Err(e.clone()));
        assert_eq!(relay.finish(), Err(e));
    }

    #[test]
    fn native_relay_ignores_an_oversized_line_after_message_stop_in_the_same_read() {
        let mut relay = NativeRelay::new(1024);
        let trailer = format!(": {}\n", "x".repeat(2000));
        let out = relay
            .push(Bytes::from(format!("{STREAM}{trailer}")))
            .unwrap();
        assert_eq!(out, STREAM.replace("\r\n", "\n").as_bytes());
        assert_eq!(relay.push(Bytes::from(trailer)), Ok(Bytes::new()));
        assert_eq!(relay.finish(), Ok(()));
    }

    #[test]
    fn native_relay_reports_a_cut_stream_as_truncated() {
        let mut relay = NativeRelay::new(1 << 16);
        relay
            .push(Bytes::from_static(&STREAM.as_bytes()[..300]))
            .unwrap();
        assert!(!relay.is_done());
        assert_eq!(relay.finish(), Err(StreamError::Truncated));
    }
}
