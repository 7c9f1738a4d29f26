//! The Bedrock Converse wire format as the mock speaks it: the request
//! fields it reads, the Converse response body, the `{"message":…}` error
//! shape with its `x-amzn-ErrorType`, and the AWS event-stream framing
//! (prelude, string headers, payload, two CRC32s) of ConverseStream.
//!
//! Written from AWS's documentation, independently of the gateway's own
//! decoder, so the two check each other.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::openai_wire::to_bytes;
use super::tools::PlannedCall;

/// The parts of a Converse request that shape the mock's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConverseRequest {
    pub max_tokens: Option<u64>,
    /// Characters of text in `system` and `messages`, divided by four.
    pub input_tokens: u64,
    /// Names of the offered tools.
    pub tools: Vec<String>,
    /// The last turn hands back tool results: the mock answers them with text.
    pub after_tool_results: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRequest {
    messages: Option<Vec<Value>>,
    #[serde(default)]
    system: Vec<Value>,
    #[serde(default)]
    inference_config: Option<Value>,
    #[serde(default)]
    tool_config: Option<Value>,
}

impl ConverseRequest {
    /// Parses a body; the error is a `ValidationException` message.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, String> {
        let raw: RawRequest = serde_json::from_slice(body).map_err(|_| {
            "Malformed input request, please reformat your input and try again.".to_owned()
        })?;
        let messages = raw
            .messages
            .ok_or("1 validation error detected: Value at 'messages' failed to satisfy constraint: Member must not be null")?;
        if messages.is_empty() {
            return Err("A conversation must start with a user message.".to_owned());
        }
        let tool_blocks = messages
            .iter()
            .filter_map(|m| m.get("content").and_then(Value::as_array))
            .flatten()
            .any(|b| b.get("toolUse").is_some() || b.get("toolResult").is_some());
        if tool_blocks && raw.tool_config.is_none() {
            return Err("The toolConfig field must be defined when using toolUse and toolResult content blocks.".to_owned());
        }
        let chars: usize = messages
            .iter()
            .filter_map(|m| m.get("content").and_then(Value::as_array))
            .flatten()
            .chain(raw.system.iter())
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .map(|t| t.chars().count())
            .sum();
        let tools = raw
            .tool_config
            .as_ref()
            .and_then(|c| c.get("tools"))
            .and_then(Value::as_array)
            .map(|tools| {
                tools
                    .iter()
                    .filter_map(|t| t.pointer("/toolSpec/name").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let after_tool_results = messages
            .last()
            .and_then(|m| m.get("content").and_then(Value::as_array))
            .is_some_and(|blocks| blocks.iter().any(|b| b.get("toolResult").is_some()));
        Ok(Self {
            after_tool_results,
            max_tokens: raw
                .inference_config
                .as_ref()
                .and_then(|c| c.get("maxTokens"))
                .and_then(Value::as_u64),
            input_tokens: u64::try_from(chars / 4).unwrap_or(u64::MAX).max(1),
            tools,
        })
    }
}

/// Token counts, as in Bedrock's `usage` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_write_input_tokens: u64,
}

impl Usage {
    pub(crate) fn to_json(self) -> Value {
        json!({
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "totalTokens": self.input_tokens + self.output_tokens,
            "cacheReadInputTokens": self.cache_read_input_tokens,
            "cacheWriteInputTokens": self.cache_write_input_tokens,
        })
    }
}

/// A Converse response: a text block if `text` is given, then a `toolUse`
/// block per call.
pub(crate) fn converse_body(
    text: Option<&str>,
    calls: &[PlannedCall],
    stop_reason: &str,
    usage: Usage,
) -> Bytes {
    let mut content: Vec<Value> = text.map(|t| json!({"text": t})).into_iter().collect();
    content.extend(
        calls
            .iter()
            .map(|c| json!({"toolUse": {"toolUseId": c.id, "name": c.name, "input": c.input}})),
    );
    to_bytes(&json!({
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason,
        "usage": usage.to_json(),
        "metrics": {"latencyMs": 1},
    }))
}

/// Bedrock's error body.
pub(crate) fn error_body(message: &str) -> Bytes {
    to_bytes(&json!({ "message": message }))
}

/// The exception Bedrock names (in `x-amzn-ErrorType`) for `status`, and
/// its message.
pub(crate) fn status_error(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => ("ValidationException", "Invalid request (mock)."),
        403 => (
            "AccessDeniedException",
            "You don't have access to the model with the specified model ID.",
        ),
        404 => (
            "ResourceNotFoundException",
            "Could not resolve the foundation model (mock).",
        ),
        408 => (
            "ModelTimeoutException",
            "Model has timed out in processing the request.",
        ),
        424 => ("ModelErrorException", "The model returned an error (mock)."),
        429 => (
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
        ),
        503 => (
            "ServiceUnavailableException",
            "Bedrock is unable to process your request.",
        ),
        _ => ("InternalServerException", "Internal server error (mock)."),
    }
}

/// The default error body for a scripted error status.
pub(crate) fn status_error_body(status: u16) -> Bytes {
    error_body(status_error(status).1)
}

/// One event-stream frame with string headers.
pub(crate) fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Bytes {
    let mut section = Vec::new();
    for (name, value) in headers {
        section.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        section.extend_from_slice(name.as_bytes());
        section.push(7);
        section.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
        section.extend_from_slice(value.as_bytes());
    }
    let total = 16 + section.len() + payload.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(
        &u32::try_from(section.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    let prelude = crc32fast::hash(&out);
    out.extend_from_slice(&prelude.to_be_bytes());
    out.extend_from_slice(&section);
    out.extend_from_slice(payload);
    let message = crc32fast::hash(&out);
    out.extend_from_slice(&message.to_be_bytes());
    Bytes::from(out)
}

/// A ConverseStream event frame.
pub(crate) fn event(event_type: &str, payload: &Value) -> Bytes {
    frame(
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.to_string().as_bytes(),
    )
}

/// A ConverseStream exception frame (`kind` like `throttlingException`).
pub(crate) fn exception(kind: &str, message: &str) -> Bytes {
    frame(
        &[
            (":exception-type", kind),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        json!({ "message": message }).to_string().as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_limits_tools_and_counts_text() {
        let r = ConverseRequest::parse(
            br#"{"messages":[{"role":"user","content":[{"text":"12345678"},{"image":{}}]}],
                "system":[{"text":"abcd"}],"inferenceConfig":{"maxTokens":9},
                "toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{}}}}]}}"#,
        )
        .unwrap();
        assert_eq!(r.max_tokens, Some(9));
        assert_eq!(r.input_tokens, 3);
        assert_eq!(r.tools, ["f"]);
        assert!(ConverseRequest::parse(b"{}").is_err());
        let no_config = br#"{"messages":[{"role":"user","content":[{"toolResult":{"toolUseId":"t","content":[{"text":"x"}]}}]}]}"#;
        assert!(
            ConverseRequest::parse(no_config)
                .unwrap_err()
                .contains("toolConfig")
        );
        let results = br#"{"messages":[{"role":"user","content":[{"toolResult":{"toolUseId":"t","content":[{"text":"x"}]}}]}],
            "toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{}}}}]}}"#;
        assert!(ConverseRequest::parse(results).unwrap().after_tool_results);
        assert!(!r.after_tool_results);
        assert!(ConverseRequest::parse(b"not json").is_err());
    }

    #[test]
    fn frames_carry_both_crcs_and_the_documented_layout() {
        let empty = frame(&[], b"");
        assert_eq!(
            &empty[..],
            [
                0, 0, 0, 16, 0, 0, 0, 0, 0x05, 0xc2, 0x48, 0xeb, 0x7d, 0x98, 0xc8, 0xff
            ]
        );
        let f = event("messageStart", &json!({"role": "assistant"}));
        let total = u32::from_be_bytes([f[0], f[1], f[2], f[3]]) as usize;
        assert_eq!(total, f.len());
        assert_eq!(f[13..24], *b":event-type");
    }
}
