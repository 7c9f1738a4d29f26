//! The Anthropic Messages wire format as the mock speaks it: the request
//! fields it reads, the `message` body, usage, and the error shape
//! `{"type":"error","error":{"type":…,"message":…}}`.
//!
//! Pure functions over bytes and small structs, so the shapes are unit-tested
//! without a server.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::openai_wire::to_bytes;
use super::tools::PlannedCall;

/// The parts of a messages request that shape the mock's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MessagesRequest {
    pub model: String,
    pub stream: bool,
    pub max_tokens: u64,
    /// Characters of text in `system` and `messages`, divided by four.
    pub input_tokens: u64,
    /// Names of the offered tools.
    pub tools: Vec<String>,
}

#[derive(Deserialize)]
struct RawRequest {
    model: Option<String>,
    max_tokens: Option<u64>,
    stream: Option<bool>,
    system: Option<Value>,
    #[serde(default)]
    messages: Vec<RawMessage>,
    #[serde(default)]
    tools: Vec<RawTool>,
}

#[derive(Deserialize)]
struct RawMessage {
    content: Option<Value>,
}

#[derive(Deserialize)]
struct RawTool {
    name: Option<String>,
}

impl MessagesRequest {
    /// Parses a body; the error is the message of an `invalid_request_error`.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, String> {
        let raw: RawRequest = serde_json::from_slice(body)
            .map_err(|e| format!("The request body is not valid JSON: {e}"))?;
        let model = raw.model.ok_or("model: Field required")?;
        let max_tokens = raw.max_tokens.ok_or("max_tokens: Field required")?;
        let chars: usize = raw
            .messages
            .iter()
            .filter_map(|m| m.content.as_ref())
            .chain(raw.system.as_ref())
            .map(text_chars)
            .sum();
        Ok(Self {
            model,
            stream: raw.stream.unwrap_or(false),
            max_tokens,
            input_tokens: u64::try_from(chars / 4).unwrap_or(u64::MAX).max(1),
            tools: raw.tools.into_iter().filter_map(|t| t.name).collect(),
        })
    }
}

/// Characters of text in a `content` or `system`: a string, or blocks whose
/// `text` fields count.
fn text_chars(content: &Value) -> usize {
    match content {
        Value::String(s) => s.chars().count(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .map(|s| s.chars().count())
            .sum(),
        _ => 0,
    }
}

/// Token counts, as in Anthropic's `usage` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Usage {
    pub input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub output_tokens: u64,
}

/// A non-streaming `message` body: a text block if `text` is given, then a
/// `tool_use` block per call.
pub(crate) fn message_body(
    id: &str,
    model: &str,
    text: Option<&str>,
    calls: &[PlannedCall],
    stop_reason: &str,
    usage: Usage,
) -> Bytes {
    let mut content: Vec<Value> = text
        .map(|t| json!({"type": "text", "text": t}))
        .into_iter()
        .collect();
    content.extend(
        calls
            .iter()
            .map(|c| json!({"type": "tool_use", "id": c.id, "name": c.name, "input": c.input})),
    );
    to_bytes(&json!({
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": usage,
    }))
}

/// An Anthropic-shaped error body.
pub(crate) fn error_body(kind: &str, message: &str) -> Bytes {
    to_bytes(&json!({"type": "error", "error": {"type": kind, "message": message}}))
}

/// The error type and message Anthropic uses for `status`.
pub(crate) fn status_error(status: u16) -> (&'static str, &'static str) {
    match status {
        401 => ("authentication_error", "invalid x-api-key"),
        403 => (
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
        404 => (
            "not_found_error",
            "The requested resource could not be found.",
        ),
        413 => (
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
        ),
        429 => (
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit (mock).",
        ),
        504 => ("timeout_error", "Request timed out (mock)."),
        529 => ("overloaded_error", "Overloaded"),
        s if s >= 500 => ("api_error", "Internal server error"),
        _ => ("invalid_request_error", "Invalid request (mock)."),
    }
}

/// The default error body for a scripted error status.
pub(crate) fn status_error_body(status: u16) -> Bytes {
    let (kind, message) = status_error(status);
    error_body(kind, message)
}

/// The `event: error` a stream sends when it fails midway (`kind` defaults
/// to `overloaded_error`).
pub(crate) fn stream_error_event(kind: Option<&str>) -> Bytes {
    let kind = kind.unwrap_or("overloaded_error");
    let message = if kind == "overloaded_error" {
        "Overloaded"
    } else {
        "Mid-stream error (mock)."
    };
    let body = error_body(kind, message);
    sse_event("error", &body)
}

/// One SSE event in Anthropic's framing: `event: NAME`, then `data: JSON`.
pub(crate) fn sse_event(name: &str, data: &[u8]) -> Bytes {
    let mut event = Vec::with_capacity(name.len() + data.len() + 16);
    event.extend_from_slice(b"event: ");
    event.extend_from_slice(name.as_bytes());
    event.extend_from_slice(b"\ndata: ");
    event.extend_from_slice(data);
    event.extend_from_slice(b"\n\n");
    Bytes::from(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::behaviour::ToolCall;
    use crate::mock::tools::plan;

    #[test]
    fn parse_reads_model_limits_tools_and_counts_system_and_messages() {
        let r = MessagesRequest::parse(
            br#"{"model":"claude-x","max_tokens":64,"stream":true,"system":"abcd",
                "messages":[{"role":"user","content":"12345678"},
                            {"role":"user","content":[{"type":"text","text":"abcd"},
                                                      {"type":"image","source":{}}]}],
                "tools":[{"name":"get_weather","input_schema":{"type":"object"}}]}"#,
        )
        .unwrap();
        assert_eq!(
            r,
            MessagesRequest {
                model: "claude-x".into(),
                stream: true,
                max_tokens: 64,
                input_tokens: 4,
                tools: vec!["get_weather".into()],
            }
        );
    }

    #[test]
    fn parse_requires_model_and_max_tokens() {
        assert!(
            MessagesRequest::parse(br#"{"max_tokens":1}"#)
                .unwrap_err()
                .contains("model")
        );
        assert!(
            MessagesRequest::parse(br#"{"model":"m"}"#)
                .unwrap_err()
                .contains("max_tokens")
        );
        assert!(MessagesRequest::parse(b"{nope").is_err());
    }

    #[test]
    fn message_body_has_text_then_tool_use_blocks_and_cache_usage() {
        let calls = plan(
            &[ToolCall {
                name: None,
                arguments: json!({"city": "Paris"}),
            }],
            &["get_weather".to_owned()],
            "toolu_mock_1_",
        );
        let usage = Usage {
            input_tokens: 3,
            cache_creation_input_tokens: 5,
            cache_read_input_tokens: 7,
            output_tokens: 2,
        };
        let v: Value = serde_json::from_slice(&message_body(
            "msg_1",
            "m",
            Some("hi"),
            &calls,
            "tool_use",
            usage,
        ))
        .unwrap();
        assert_eq!(v["type"], "message");
        assert_eq!(v["role"], "assistant");
        assert_eq!(v["content"][0], json!({"type": "text", "text": "hi"}));
        assert_eq!(
            v["content"][1],
            json!({"type": "tool_use", "id": "toolu_mock_1_0", "name": "get_weather",
                   "input": {"city": "Paris"}})
        );
        assert_eq!(v["stop_reason"], "tool_use");
        assert!(v["stop_sequence"].is_null());
        assert_eq!(v["usage"]["cache_read_input_tokens"], 7);
        assert_eq!(v["usage"]["cache_creation_input_tokens"], 5);
    }

    #[test]
    fn errors_are_anthropic_shaped_with_the_documented_types() {
        let v: Value = serde_json::from_slice(&status_error_body(429)).unwrap();
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "rate_limit_error");
        assert!(v["error"]["message"].is_string());
        for (status, kind) in [
            (400, "invalid_request_error"),
            (401, "authentication_error"),
            (403, "permission_error"),
            (404, "not_found_error"),
            (413, "request_too_large"),
            (500, "api_error"),
            (529, "overloaded_error"),
        ] {
            assert_eq!(status_error(status).0, kind, "{status}");
        }
        let event = stream_error_event(None);
        let text = std::str::from_utf8(&event).unwrap();
        assert!(text.starts_with("event: error\ndata: {"));
        assert!(text.ends_with("}\n\n"));
        assert!(text.contains(r#""type":"overloaded_error""#));
    }
}
