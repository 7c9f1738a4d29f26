//! What the mock upstream does with one chat-completion request.
//!
//! A [`Behaviour`] is plain data so tests can build it with struct-update
//! syntax, and so it can be read from JSON/YAML (durations travel as whole
//! milliseconds under `*_ms` names). The all-default value is a fast, healthy
//! upstream: no latency, `200 OK`, eight stream chunks.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Content chunks in a stream when [`Behaviour::chunks`] is `None`.
pub const DEFAULT_CHUNKS: usize = 8;

/// Completion tokens of a non-streaming answer when
/// [`Behaviour::completion_tokens`] is `None`.
pub const DEFAULT_JSON_COMPLETION_TOKENS: u64 = 16;

/// How the mock answers a chat-completion request.
///
/// Precedence among the outcomes: `redirect_to`, then an error (`status` or
/// `error_body`), then success. `latency` applies to all of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Behaviour {
    /// Wait before sending response headers.
    #[serde(rename = "latency_ms", with = "millis")]
    pub latency: Duration,
    /// Answer with this status and an OpenAI-shaped error body instead of
    /// success.
    pub status: Option<u16>,
    /// Seconds; sets `Retry-After` on error responses.
    pub retry_after: Option<u64>,
    /// Raw error body sent instead of the default one. Alone (without
    /// `status`) it is sent with `500`.
    pub error_body: Option<String>,
    /// Streams: headers go out at once, the first body byte waits this long.
    #[serde(rename = "first_byte_delay_ms", with = "millis")]
    pub first_byte_delay: Duration,
    /// Streams: number of content chunks (default [`DEFAULT_CHUNKS`]).
    pub chunks: Option<usize>,
    /// Streams: wait before each content chunk and before the finish chunk.
    #[serde(rename = "chunk_interval_ms", with = "millis")]
    pub chunk_interval: Duration,
    /// Reported completion tokens. Default: the number of content chunks for
    /// streams, [`DEFAULT_JSON_COMPLETION_TOKENS`] for JSON. Capped by the
    /// request's `max_completion_tokens` (or else `max_tokens`).
    pub completion_tokens: Option<u64>,
    /// Streams: after this many content chunks, abort the connection (no
    /// finish chunk, no `[DONE]`).
    pub disconnect_after: Option<usize>,
    /// Streams: after this many content chunks, wait for
    /// [`MockUpstream::resume`](crate::MockUpstream::resume).
    pub pause_after_chunks: Option<usize>,
    /// Answer `307 Temporary Redirect` with this `Location`.
    pub redirect_to: Option<String>,
}

impl Behaviour {
    /// Content chunks a stream sends.
    pub(crate) fn chunk_count(&self) -> usize {
        self.chunks.unwrap_or(DEFAULT_CHUNKS)
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
            ..Behaviour::default()
        };
        let json = serde_json::to_value(&b).unwrap();
        assert_eq!(json["latency_ms"], 250);
        assert_eq!(json["chunk_interval_ms"], 5);
        assert_eq!(json["first_byte_delay_ms"], 0);
        let back: Behaviour = serde_json::from_value(json).unwrap();
        assert_eq!(back, b);
    }

    #[test]
    fn missing_fields_default_and_unknown_fields_are_rejected() {
        let b: Behaviour = serde_json::from_str(r#"{"latency_ms": 10}"#).unwrap();
        assert_eq!(b.latency, Duration::from_millis(10));
        assert_eq!(b.chunk_count(), DEFAULT_CHUNKS);
        assert!(serde_json::from_str::<Behaviour>(r#"{"latency": 10}"#).is_err());
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
