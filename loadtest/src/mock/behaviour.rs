//! What the mock upstream does with one request, in either dialect (OpenAI
//! chat completions or Anthropic messages).
//!
//! A [`Behaviour`] is plain data so tests can build it with struct-update
//! syntax or the chainable builders in [`super::builder`], and so it can be
//! read from JSON/YAML (durations travel as whole milliseconds under `*_ms`
//! names). The all-default value is a fast, healthy upstream: no latency,
//! `200 OK`, eight stream chunks, plain text.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Content chunks in a stream when [`Behaviour::chunks`] is `None`.
pub const DEFAULT_CHUNKS: usize = 8;

/// Completion tokens of a non-streaming answer when
/// [`Behaviour::completion_tokens`] is `None`.
pub const DEFAULT_JSON_COMPLETION_TOKENS: u64 = 16;

/// How the mock answers one chat-completion or messages request.
///
/// Precedence among the outcomes: `redirect_to`, then an error (`status` or
/// `error_body`), then success. `latency` applies to all of them; the
/// stream and stall fields only to success.
///
/// "Content events" below are the events between a stream's opening and its
/// finish: each text delta and, when tool calls are made, every tool-call
/// event (OpenAI: the id/name chunk and each arguments chunk; Anthropic:
/// `content_block_start`, each `input_json_delta` and `content_block_stop`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Behaviour {
    /// Wait before sending response headers.
    #[serde(rename = "latency_ms", with = "millis")]
    pub latency: Duration,
    /// Answer with this status and an error body in the request's dialect
    /// instead of success (`529` gives Anthropic's `overloaded_error`).
    pub status: Option<u16>,
    /// Seconds; sets `retry-after` on error responses.
    pub retry_after: Option<u64>,
    /// Milliseconds; sets `retry-after-ms` on error responses.
    pub retry_after_ms: Option<u64>,
    /// Raw error body sent instead of the default one. Alone (without
    /// `status`) it is sent with `500`.
    pub error_body: Option<String>,
    /// Answer the error (`status` / `error_body`) to only this percentage
    /// of the requests this behaviour answers, spread evenly and
    /// deterministically (request n of the mock fails when ⌊n·p/100⌋ grows);
    /// the others succeed. `None` (or 100) fails every one.
    pub fail_percent: Option<u8>,
    /// Streams: headers go out at once, the first body byte waits this long.
    #[serde(rename = "first_byte_delay_ms", with = "millis")]
    pub first_byte_delay: Duration,
    /// Success (JSON and streams): after the headers, send nothing for a
    /// while or forever (until the client goes or the mock stops). Applies
    /// after `first_byte_delay`.
    pub stall: Option<Stall>,
    /// Streams: number of text chunks (default [`DEFAULT_CHUNKS`]; when the
    /// answer makes tool calls the default is no text). Beside tool calls,
    /// JSON answers carry this many `tokN` words of text too.
    pub chunks: Option<usize>,
    /// Streams: wait before each content event and before the finish.
    #[serde(rename = "chunk_interval_ms", with = "millis")]
    pub chunk_interval: Duration,
    /// Reported completion (output) tokens. Default: the number of text
    /// chunks for streams, [`DEFAULT_JSON_COMPLETION_TOKENS`] for JSON.
    /// Capped by the request's `max_completion_tokens` / `max_tokens`; an
    /// Anthropic answer so capped stops with `max_tokens`.
    pub completion_tokens: Option<u64>,
    /// Reported cached prompt tokens: Anthropic `cache_read_input_tokens`,
    /// OpenAI `prompt_tokens_details.cached_tokens`.
    pub cache_read_tokens: Option<u64>,
    /// Reported Anthropic `cache_creation_input_tokens`.
    pub cache_write_tokens: Option<u64>,
    /// Streams: after this many content events, abort the connection (no
    /// finish, no `[DONE]` / `message_stop`).
    pub disconnect_after: Option<usize>,
    /// Streams: after this many content events, send an error event
    /// (OpenAI `data: {"error":…}`, Anthropic `event: error`) and end the
    /// body cleanly.
    pub error_after_chunks: Option<usize>,
    /// The `type` of that error event (default: OpenAI `server_error`,
    /// Anthropic `overloaded_error`).
    pub stream_error_type: Option<String>,
    /// Streams: after this many content events, wait for
    /// [`MockUpstream::resume`](crate::MockUpstream::resume). Never resuming
    /// is a mid-stream stall.
    pub pause_after_chunks: Option<usize>,
    /// Tool calls to answer with, in order, when the request offers `tools`
    /// (otherwise the answer is plain text). Several make parallel calls.
    pub tool_calls: Vec<ToolCall>,
    /// Answer `307 Temporary Redirect` with this `Location`.
    pub redirect_to: Option<String>,
}

/// How long a [`Behaviour::stall`] lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stall {
    /// Send nothing for this many milliseconds, then carry on.
    ForMs(u64),
    /// Send nothing, ever: the connection ends only when the client drops
    /// it or the mock stops.
    Forever,
}

/// One tool call the mock makes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ToolCall {
    /// The tool's name; `None` takes the name of the request's tool at this
    /// call's position (wrapping around).
    pub name: Option<String>,
    /// The arguments (OpenAI `function.arguments`, serialized compactly;
    /// Anthropic `input`). Streams send them in pieces of at most
    /// [`TOOL_ARGUMENT_PIECE`] bytes.
    pub arguments: serde_json::Value,
}

/// Largest piece of a tool call's serialized arguments in one stream event.
pub const TOOL_ARGUMENT_PIECE: usize = 16;

impl Behaviour {
    /// Text chunks a stream sends; `calling` says whether the answer makes
    /// tool calls (then the default is no text).
    pub(crate) fn chunk_count(&self, calling: bool) -> usize {
        let default = if calling { 0 } else { DEFAULT_CHUNKS };
        self.chunks.unwrap_or(default)
    }

    /// This behaviour with its error removed: what a request that
    /// [`fail_percent`](Self::fail_percent) spares is answered with.
    pub(crate) fn spared(&self) -> Self {
        Self {
            status: None,
            error_body: None,
            fail_percent: None,
            ..self.clone()
        }
    }

    /// The status of an error answer, if this behaviour is one.
    pub(crate) fn error_status(&self) -> Option<u16> {
        match (self.status, &self.error_body) {
            (Some(status), _) => Some(status),
            (None, Some(_)) => Some(500),
            (None, None) => None,
        }
    }
}

/// `Duration` as whole milliseconds in serialized form.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip_as_milliseconds() {
        let b = Behaviour {
            latency: Duration::from_millis(250),
            chunk_interval: Duration::from_millis(5),
            status: Some(429),
            stall: Some(Stall::ForMs(7)),
            tool_calls: vec![ToolCall {
                name: Some("f".into()),
                arguments: serde_json::json!({"a": 1}),
            }],
            ..Behaviour::default()
        };
        let json = serde_json::to_value(&b).unwrap();
        assert_eq!(json["latency_ms"], 250);
        assert_eq!(json["chunk_interval_ms"], 5);
        assert_eq!(json["first_byte_delay_ms"], 0);
        assert_eq!(json["stall"], serde_json::json!({"for_ms": 7}));
        let back: Behaviour = serde_json::from_value(json).unwrap();
        assert_eq!(back, b);
        let forever: Behaviour = serde_json::from_str(r#"{"stall":"forever"}"#).unwrap();
        assert_eq!(forever.stall, Some(Stall::Forever));
    }

    #[test]
    fn missing_fields_default_and_unknown_fields_are_rejected() {
        let b: Behaviour = serde_json::from_str(r#"{"latency_ms": 10}"#).unwrap();
        assert_eq!(b.latency, Duration::from_millis(10));
        assert_eq!(b.chunk_count(false), DEFAULT_CHUNKS);
        assert!(serde_json::from_str::<Behaviour>(r#"{"latency": 10}"#).is_err());
    }

    #[test]
    fn tool_calls_default_to_no_text_chunks() {
        let b = Behaviour::default();
        assert_eq!(b.chunk_count(true), 0);
        assert_eq!(
            Behaviour {
                chunks: Some(2),
                ..b
            }
            .chunk_count(true),
            2
        );
    }

    #[test]
    fn error_body_alone_means_500() {
        let b = Behaviour {
            error_body: Some("x".into()),
            ..Behaviour::default()
        };
        assert_eq!(b.error_status(), Some(500));
        assert_eq!(Behaviour::default().error_status(), None);
    }
}
