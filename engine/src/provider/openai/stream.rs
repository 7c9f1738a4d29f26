//! The OpenAI stream "translator": a relay, since the dialects already match.
//!
//! [`SseRelay`] is fed upstream bytes as they arrive and returns the bytes to forward at
//! once: every complete event goes out in the same call, nothing waits for the stream to
//! end. Along the way it reads token usage, and drops the usage-only chunk the gateway asked
//! for on the client's behalf when the client did not ask for it. A network read that holds
//! only whole events needing no change is forwarded as the same `Bytes`, without copying.
//!
//! It is pure: no I/O, no clock, so transcripts split at every byte offset can test it.

use std::sync::LazyLock;

use bytes::{Bytes, BytesMut};
use memchr::memmem::Finder;

use super::response;
use crate::stream::sse::{data_payload, last_boundary, next_boundary};
use crate::stream::{StreamError, StreamTranslate};
use crate::usage::Usage;

/// The stateful relay for one stream.
#[derive(Debug)]
pub struct SseRelay {
    pending: BytesMut,
    /// Bytes of `pending` already scanned without finding an event boundary.
    scanned: usize,
    max_event_bytes: usize,
    strip_usage_only: bool,
    usage: Option<Usage>,
    done: bool,
    /// The provider sent an error event: it and everything after it are dropped, and the
    /// stream ends as failed (in the gateway's words: provider text may echo the credential).
    failed: bool,
    events: u64,
}

impl SseRelay {
    /// `strip_usage_only`: drop chunks that carry only usage (the client did not ask for them).
    pub fn new(max_event_bytes: usize, strip_usage_only: bool) -> Self {
        Self {
            pending: BytesMut::new(),
            scanned: 0,
            max_event_bytes,
            strip_usage_only,
            usage: None,
            done: false,
            failed: false,
            events: 0,
        }
    }

    /// Usage seen so far (the last usage a chunk reported).
    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    /// Whether the `data: [DONE]` terminator was seen.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Number of complete events relayed or consumed so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Bytes received that do not yet form a complete event.
    pub fn buffered(&self) -> usize {
        self.pending.len()
    }

    /// Feeds one upstream read; returns what to forward now (possibly empty).
    pub fn push(&mut self, chunk: Bytes) -> Result<Bytes, StreamError> {
        let ready = if self.pending.is_empty() {
            match last_boundary(&chunk, 0) {
                Some(end) if end == chunk.len() => chunk,
                Some(end) => {
                    self.pending.extend_from_slice(&chunk[end..]);
                    chunk.slice(..end)
                }
                None => {
                    self.pending.extend_from_slice(&chunk);
                    Bytes::new()
                }
            }
        } else {
            self.pending.extend_from_slice(&chunk);
            // Resume the boundary search where the last one stopped (minus a boundary's length).
            let from = self.scanned.saturating_sub(3);
            match last_boundary(&self.pending, from) {
                Some(end) => self.pending.split_to(end).freeze(),
                None => Bytes::new(),
            }
        };
        self.scanned = self.pending.len();
        if self.pending.len() > self.max_event_bytes {
            return Err(StreamError::EventTooLarge(self.max_event_bytes));
        }
        if ready.is_empty() {
            return Ok(ready);
        }
        Ok(self.inspect(ready))
    }

    /// Reads every complete event in `ready`; returns it unchanged unless an event is dropped.
    fn inspect(&mut self, ready: Bytes) -> Bytes {
        let mut out: Option<BytesMut> = None;
        let mut start = 0;
        while start < ready.len() {
            let end = next_boundary(&ready, start).unwrap_or(ready.len());
            let event = &ready[start..end];
            self.events += 1;
            let keep = self.read_event(event);
            match (&mut out, keep) {
                (Some(buf), true) => buf.extend_from_slice(event),
                (None, false) => out = Some(BytesMut::from(&ready[..start])),
                _ => {}
            }
            start = end;
        }
        match out {
            Some(buf) => buf.freeze(),
            None => ready,
        }
    }

    /// Looks at one event (including its terminating blank line); returns whether to forward it.
    fn read_event(&mut self, event: &[u8]) -> bool {
        if self.failed {
            return false;
        }
        let Some(payload) = data_payload(event) else {
            return true;
        };
        if is_error_event(payload) {
            self.failed = true;
            return false;
        }
        if payload == b"[DONE]" {
            self.done = true;
            return true;
        }
        // Cheap pre-check: only chunks with a usage *object* are parsed. Once the gateway asks
        // for usage, every chunk carries `"usage":null`; parsing those would dominate the relay.
        if !has_usage_object(payload) {
            return true;
        }
        match response::usage_from_chunk(payload) {
            Some(found) => {
                self.usage = Some(found.usage);
                !(self.strip_usage_only && found.usage_only)
            }
            None => true,
        }
    }
}

impl StreamTranslate for SseRelay {
    fn push(&mut self, chunk: Bytes) -> Result<Bytes, StreamError> {
        SseRelay::push(self, chunk)
    }

    fn usage(&self) -> Option<Usage> {
        self.usage
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn events(&self) -> u64 {
        self.events
    }

    fn finish(&mut self) -> Result<(), StreamError> {
        match (self.failed, self.done) {
            (true, _) => Err(StreamError::Provider {
                kind: "error_event",
            }),
            (false, true) => Ok(()),
            (false, false) => Err(StreamError::Truncated),
        }
    }
}

/// The searchers for the two keys every chunk is checked for, built once (building one per
/// call cost more than the search).
static ERROR_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"error\""));
static USAGE_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"usage\""));

/// Whether `payload` is an error object (`{"error": …}` at the top level). Parsed only when
/// the bytes hold `"error"`, which chunks almost never do.
fn is_error_event(payload: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Probe {
        error: Option<serde::de::IgnoredAny>,
    }
    ERROR_KEY.find(payload).is_some()
        && serde_json::from_slice::<Probe>(payload).is_ok_and(|p| p.error.is_some())
}

/// Whether `payload` has a `"usage"` key whose value is an object (not `null`).
fn has_usage_object(payload: &[u8]) -> bool {
    USAGE_KEY.find_iter(payload).any(|at| {
        let mut rest = payload[at + 7..]
            .iter()
            .skip_while(|b| b.is_ascii_whitespace());
        rest.next() == Some(&b':') && rest.find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTENT: &str =
        "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n";
    const USAGE: &str = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":9,\"total_tokens\":13}}\n\n";
    const DONE: &str = "data: [DONE]\n\n";

    fn transcript() -> String {
        format!("{CONTENT}{CONTENT}{USAGE}{DONE}")
    }

    fn relay_in_pieces(input: &[u8], cuts: &[usize], strip: bool) -> (Vec<u8>, SseRelay) {
        let mut relay = SseRelay::new(1 << 20, strip);
        let mut out = Vec::new();
        let mut start = 0;
        for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
            let piece = Bytes::copy_from_slice(&input[start..cut]);
            out.extend_from_slice(&relay.push(piece).unwrap());
            start = cut;
        }
        (out, relay)
    }

    #[test]
    fn a_provider_error_event_and_all_after_it_are_dropped_and_the_stream_fails() {
        let error = "data: {\"error\":{\"message\":\"key sk-secret-credential rejected\"}}\n\n";
        let word = "data: {\"choices\":[{\"delta\":{\"content\":\"error\"}}]}\n\n";
        let input = format!("{CONTENT}{word}{error}{CONTENT}{DONE}");
        for cut in 0..=input.len() {
            let (out, mut relay) = relay_in_pieces(input.as_bytes(), &[cut], false);
            assert_eq!(out, format!("{CONTENT}{word}").as_bytes(), "cut at {cut}");
            assert!(matches!(relay.finish(), Err(StreamError::Provider { .. })));
        }
    }

    #[test]
    fn forwards_whole_events_unchanged_and_reads_usage() {
        let input = transcript();
        let (out, relay) = relay_in_pieces(input.as_bytes(), &[], false);
        assert_eq!(out, input.as_bytes());
        assert_eq!(relay.usage(), Some(Usage::new(4, 9)));
        assert!(relay.is_done());
        assert_eq!(relay.events(), 4);
    }

    #[test]
    fn strips_usage_only_chunk_when_client_did_not_ask() {
        let input = transcript();
        let (out, relay) = relay_in_pieces(input.as_bytes(), &[], true);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{CONTENT}{CONTENT}{DONE}")
        );
        assert_eq!(relay.usage().unwrap().completion_tokens, 9);
    }

    #[test]
    fn same_output_when_split_at_every_byte_offset() {
        let input = transcript();
        for strip in [false, true] {
            let (whole, _) = relay_in_pieces(input.as_bytes(), &[], strip);
            for cut in 0..=input.len() {
                let (out, relay) = relay_in_pieces(input.as_bytes(), &[cut], strip);
                assert_eq!(out, whole, "cut at {cut}, strip {strip}");
                assert_eq!(relay.usage().unwrap().prompt_tokens, 4);
                assert!(relay.is_done());
            }
        }
    }

    #[test]
    fn same_output_when_fed_one_byte_at_a_time_with_crlf() {
        let input = transcript().replace('\n', "\r\n");
        let cuts: Vec<usize> = (1..input.len()).collect();
        let (out, relay) = relay_in_pieces(input.as_bytes(), &cuts, true);
        let expected = format!("{CONTENT}{CONTENT}{DONE}").replace('\n', "\r\n");
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        assert_eq!(relay.events(), 4);
    }

    #[test]
    fn emits_each_event_as_soon_as_it_is_complete() {
        let mut relay = SseRelay::new(1 << 20, false);
        let first = relay
            .push(Bytes::from(format!("{CONTENT}data: {{\"cho")))
            .unwrap();
        assert_eq!(first, CONTENT.as_bytes());
        assert!(relay.buffered() > 0);
        let rest = relay.push(Bytes::from_static(b"ices\":[]}\n\n")).unwrap();
        assert_eq!(rest, &b"data: {\"choices\":[]}\n\n"[..]);
        assert_eq!(relay.buffered(), 0);
    }

    #[test]
    fn only_usage_objects_count_as_usage() {
        assert!(has_usage_object(
            br#"{"choices":[],"usage":{"prompt_tokens":1}}"#
        ));
        assert!(has_usage_object(br#"{"usage" :  {"prompt_tokens":1}}"#));
        assert!(!has_usage_object(
            br#"{"choices":[{"delta":{}}],"usage":null}"#
        ));
        assert!(!has_usage_object(
            br#"{"choices":[{"delta":{"content":"\"usage\""}}]}"#
        ));
        assert!(!has_usage_object(br#"{"usage""#));
    }

    #[test]
    fn refuses_an_event_larger_than_the_cap() {
        let mut relay = SseRelay::new(16, false);
        assert_eq!(
            relay.push(Bytes::from_static(b"data: 0123456789abcdef")),
            Err(StreamError::EventTooLarge(16))
        );
    }

    #[test]
    fn forwards_comments_and_keeps_usage_of_last_content_chunk() {
        let input = ": ping\n\ndata: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\n";
        let (out, relay) = relay_in_pieces(input.as_bytes(), &[], true);
        assert_eq!(out, input.as_bytes());
        assert_eq!(relay.usage().unwrap().completion_tokens, 2);
        assert!(!relay.is_done());
    }
}
