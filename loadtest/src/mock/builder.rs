//! Chainable constructors for [`Behaviour`], so a scripted test reads as what
//! the upstream does: `Behaviour::status(429).retry_after(2)`,
//! `Behaviour::ok().chunks(3).error_after_chunks(2)`.
//!
//! Each setter fills the field of the same name and returns the value, so
//! they compose freely with struct-update syntax too.

use std::time::Duration;

use super::behaviour::{Behaviour, Stall, ToolCall};

impl Behaviour {
    /// A fast, healthy answer (the default).
    pub fn ok() -> Self {
        Self::default()
    }

    /// An error answer with this status and the dialect's default body.
    pub fn status(code: u16) -> Self {
        Self {
            status: Some(code),
            ..Self::default()
        }
    }

    /// `529`: Anthropic's `overloaded_error` (a `server_error` on the OpenAI
    /// side).
    pub fn overloaded() -> Self {
        Self::status(529)
    }

    /// Sets `retry-after` (seconds) on an error answer.
    pub fn retry_after(self, secs: u64) -> Self {
        Self {
            retry_after: Some(secs),
            ..self
        }
    }

    /// Sets `retry-after-ms` on an error answer.
    pub fn retry_after_ms(self, ms: u64) -> Self {
        Self {
            retry_after_ms: Some(ms),
            ..self
        }
    }

    /// Sends `body` verbatim as the error body (status `500` unless set).
    pub fn error_body(self, body: impl Into<String>) -> Self {
        Self {
            error_body: Some(body.into()),
            ..self
        }
    }

    /// Waits this long before the response headers.
    pub fn latency(self, d: Duration) -> Self {
        Self { latency: d, ..self }
    }

    /// Streams: holds the first body byte this long after the headers.
    pub fn first_byte_delay(self, d: Duration) -> Self {
        Self {
            first_byte_delay: d,
            ..self
        }
    }

    /// Sends headers, then nothing for `d`, then the answer.
    pub fn stall(self, d: Duration) -> Self {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self {
            stall: Some(Stall::ForMs(ms)),
            ..self
        }
    }

    /// Sends headers, then nothing until the client or the mock goes away.
    pub fn stall_forever(self) -> Self {
        Self {
            stall: Some(Stall::Forever),
            ..self
        }
    }

    /// Streams: `n` text chunks.
    pub fn chunks(self, n: usize) -> Self {
        Self {
            chunks: Some(n),
            ..self
        }
    }

    /// Streams: waits `d` before each content event and the finish.
    pub fn chunk_interval(self, d: Duration) -> Self {
        Self {
            chunk_interval: d,
            ..self
        }
    }

    /// Reports `n` completion tokens (capped by the request's max tokens).
    pub fn completion_tokens(self, n: u64) -> Self {
        Self {
            completion_tokens: Some(n),
            ..self
        }
    }

    /// Reports cache-read and cache-write (creation) prompt tokens.
    pub fn cache_tokens(self, read: u64, write: u64) -> Self {
        Self {
            cache_read_tokens: Some(read),
            cache_write_tokens: Some(write),
            ..self
        }
    }

    /// Streams: cuts the connection after `n` content events.
    pub fn disconnect_after(self, n: usize) -> Self {
        Self {
            disconnect_after: Some(n),
            ..self
        }
    }

    /// Streams: sends an error event after `n` content events, then ends.
    pub fn error_after_chunks(self, n: usize) -> Self {
        Self {
            error_after_chunks: Some(n),
            ..self
        }
    }

    /// The `type` of the mid-stream error event.
    pub fn stream_error_type(self, kind: impl Into<String>) -> Self {
        Self {
            stream_error_type: Some(kind.into()),
            ..self
        }
    }

    /// Streams: waits for `resume()` after `n` content events.
    pub fn pause_after_chunks(self, n: usize) -> Self {
        Self {
            pause_after_chunks: Some(n),
            ..self
        }
    }

    /// Adds a call of tool `name` with `arguments` (used when the request
    /// offers tools). Call again for parallel calls.
    pub fn tool_call(mut self, name: impl Into<String>, arguments: serde_json::Value) -> Self {
        self.tool_calls.push(ToolCall {
            name: Some(name.into()),
            arguments,
        });
        self
    }

    /// Answers `307` with this `Location`.
    pub fn redirect_to(self, location: impl Into<String>) -> Self {
        Self {
            redirect_to: Some(location.into()),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_set_the_fields_they_name() {
        let b = Behaviour::status(429).retry_after(2).retry_after_ms(1500);
        assert_eq!(
            (b.status, b.retry_after, b.retry_after_ms),
            (Some(429), Some(2), Some(1500))
        );
        let s = Behaviour::ok()
            .chunks(3)
            .error_after_chunks(2)
            .stream_error_type("api_error")
            .stall(Duration::from_millis(40))
            .cache_tokens(5, 6)
            .tool_call("f", serde_json::json!({}))
            .tool_call("g", serde_json::json!({"x": 1}));
        assert_eq!(s.chunks, Some(3));
        assert_eq!(s.error_after_chunks, Some(2));
        assert_eq!(s.stream_error_type.as_deref(), Some("api_error"));
        assert_eq!(s.stall, Some(Stall::ForMs(40)));
        assert_eq!(
            (s.cache_read_tokens, s.cache_write_tokens),
            (Some(5), Some(6))
        );
        assert_eq!(s.tool_calls.len(), 2);
        assert_eq!(s.tool_calls[1].name.as_deref(), Some("g"));
        assert_eq!(Behaviour::overloaded().status, Some(529));
        assert_eq!(Behaviour::ok().stall_forever().stall, Some(Stall::Forever));
    }
}
