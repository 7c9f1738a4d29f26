//! The Anthropic Messages API as an ingress: Anthropic-speaking clients (the Anthropic SDKs,
//! coding agents) served by any provider.
//!
//! Pure translation, no I/O, no clock:
//! - [`to_chat_request`]: a Messages request, validated strictly → the canonical OpenAI
//!   chat request (mapping in [`request`]'s docs).
//! - [`to_messages_response`]: `chat.completion` → Messages response, plus its usage.
//! - [`ChunkToEvents`]: `chat.completion.chunk` SSE → Messages SSE events, any byte split.
//! - [`passthrough_body`]: Anthropic client → Anthropic provider, only `model` swapped.
//! - [`error_body`] and [`error_event`]: errors in Anthropic's shape.

pub mod request;
pub mod response;
pub mod stream;
pub(crate) mod wire;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};

pub use request::to_chat_request;
pub use response::to_messages_response;
pub use stream::ChunkToEvents;

use crate::provider::anthropic::ErrorKind;

/// The validated Messages request for an Anthropic upstream: every field as the client sent
/// it, except `model`, which becomes the deployment's. Written while serialising, no clone.
pub fn passthrough_body(body: &Map<String, Value>, upstream_model: &str) -> Vec<u8> {
    let body = Passthrough {
        body,
        model: upstream_model,
    };
    // Serialising borrowed JSON values cannot fail: keys are strings, numbers finite.
    serde_json::to_vec(&body).unwrap_or_default()
}

struct Passthrough<'a> {
    body: &'a Map<String, Value>,
    model: &'a str,
}

impl Serialize for Passthrough<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.body.len()))?;
        for (key, value) in self.body {
            if key == "model" {
                map.serialize_entry(key, self.model)?;
            } else {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    error: ErrorOut<'a>,
}

#[derive(Serialize)]
struct ErrorOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message: &'a str,
}

/// `{"type":"error","error":{"type":…,"message":…}}`, the body of an Anthropic error response.
/// `message` is shown to the client as is: pass only safe text.
pub fn error_body(kind: ErrorKind, message: &str) -> Vec<u8> {
    let envelope = ErrorEnvelope {
        kind: "error",
        error: ErrorOut {
            kind: kind.wire_type(),
            message,
        },
    };
    serde_json::to_vec(&envelope).unwrap_or_default()
}

/// The same error as a mid-stream SSE `error` event.
pub fn error_event(kind: ErrorKind, message: &str) -> Vec<u8> {
    let mut out = b"event: error\ndata: ".to_vec();
    out.extend_from_slice(&error_body(kind, message));
    out.extend_from_slice(b"\n\n");
    out
}
