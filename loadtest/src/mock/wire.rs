//! The OpenAI wire format as the mock speaks it: the request fields it reads
//! and the JSON bodies it writes (completions, model lists, errors).
//!
//! Pure functions over bytes and small structs, so the shapes are unit-tested
//! without a server.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// Model ids listed by `GET /v1/models`.
pub const MODEL_IDS: [&str; 3] = ["mock-model", "mock-model-mini", "mock-model-large"];

/// The parts of a chat-completion request that shape the mock's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChatRequest {
    pub model: String,
    pub stream: bool,
    pub include_usage: bool,
    pub prompt_tokens: u64,
    /// `max_completion_tokens`, or else `max_tokens`.
    pub max_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct RawRequest {
    model: Option<String>,
    #[serde(default)]
    messages: Vec<RawMessage>,
    stream: Option<bool>,
    stream_options: Option<RawStreamOptions>,
    max_tokens: Option<u64>,
    max_completion_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct RawMessage {
    content: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawStreamOptions {
    include_usage: Option<bool>,
}

/// Why a request body was rejected; the message goes into a 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadRequest {
    pub message: String,
    pub param: Option<&'static str>,
}

impl ChatRequest {
    pub(crate) fn parse(body: &[u8]) -> Result<Self, BadRequest> {
        let raw: RawRequest = serde_json::from_slice(body).map_err(|e| BadRequest {
            message: format!("We could not parse the JSON body of your request: {e}"),
            param: None,
        })?;
        let model = raw.model.ok_or_else(|| BadRequest {
            message: "you must provide a model parameter".to_owned(),
            param: Some("model"),
        })?;
        let chars: usize = raw
            .messages
            .iter()
            .filter_map(|m| m.content.as_ref())
            .map(content_chars)
            .sum();
        Ok(Self {
            model,
            stream: raw.stream.unwrap_or(false),
            include_usage: raw
                .stream_options
                .and_then(|o| o.include_usage)
                .unwrap_or(false),
            prompt_tokens: u64::try_from(chars / 4).unwrap_or(u64::MAX).max(1),
            max_tokens: raw.max_completion_tokens.or(raw.max_tokens),
        })
    }

    /// `wanted` completion tokens, capped by the request's limit.
    pub(crate) fn completion_tokens(&self, wanted: u64) -> u64 {
        self.max_tokens.map_or(wanted, |cap| wanted.min(cap))
    }
}

/// Characters of text in a message `content`: a string, or an array of parts
/// whose `text` fields count.
fn content_chars(content: &serde_json::Value) -> usize {
    match content {
        serde_json::Value::String(s) => s.chars().count(),
        serde_json::Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(serde_json::Value::as_str))
            .map(|s| s.chars().count())
            .sum(),
        _ => 0,
    }
}

/// Token counts, as in OpenAI's `usage` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

impl Usage {
    pub(crate) fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens.saturating_add(completion_tokens),
        }
    }
}

/// The text of content token `i`, as streamed.
pub(crate) fn token_text(i: u64) -> String {
    format!("tok{i} ")
}

#[derive(Serialize)]
struct Completion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [Choice<'a>; 1],
    usage: Usage,
}

#[derive(Serialize)]
struct Choice<'a> {
    index: u32,
    message: Message<'a>,
    finish_reason: &'static str,
    logprobs: Option<()>,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

/// A non-streaming `chat.completion` body whose content has one `tokN ` per
/// completion token (at most 4096 of them, to bound the body).
pub(crate) fn completion_body(id: &str, created: u64, model: &str, usage: Usage) -> Bytes {
    let words = usage.completion_tokens.min(4096);
    let content: String = (0..words).map(token_text).collect();
    let body = Completion {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [Choice {
            index: 0,
            message: Message {
                role: "assistant",
                content: content.trim_end(),
            },
            finish_reason: "stop",
            logprobs: None,
        }],
        usage,
    };
    to_bytes(&body)
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
}

/// An OpenAI-shaped error body.
pub(crate) fn error_body(
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Bytes {
    to_bytes(&ErrorEnvelope {
        error: ErrorDetail {
            message,
            kind,
            param,
            code,
        },
    })
}

/// The default error body for a scripted error status, worded like OpenAI's.
pub(crate) fn status_error_body(status: u16) -> Bytes {
    let (message, kind, code) = match status {
        400 => ("Invalid request (mock).", "invalid_request_error", None),
        401 => (
            "Incorrect API key provided.",
            "invalid_request_error",
            Some("invalid_api_key"),
        ),
        403 => (
            "You are not allowed to do this (mock).",
            "permission_error",
            None,
        ),
        404 => (
            "The model does not exist or you do not have access to it.",
            "invalid_request_error",
            Some("model_not_found"),
        ),
        429 => (
            "Rate limit reached for requests (mock).",
            "requests",
            Some("rate_limit_exceeded"),
        ),
        503 => (
            "The engine is currently overloaded, please try again later.",
            "server_error",
            None,
        ),
        s if s >= 500 => (
            "The server had an error while processing your request.",
            "server_error",
            None,
        ),
        _ => ("Mock error.", "invalid_request_error", None),
    };
    error_body(message, kind, None, code)
}

#[derive(Serialize)]
struct ModelList {
    object: &'static str,
    data: Vec<ModelEntry>,
}

#[derive(Serialize)]
struct ModelEntry {
    id: &'static str,
    object: &'static str,
    created: u64,
    owned_by: &'static str,
}

/// The `GET /v1/models` body.
pub(crate) fn models_body() -> Bytes {
    to_bytes(&ModelList {
        object: "list",
        data: MODEL_IDS
            .iter()
            .map(|id| ModelEntry {
                id,
                object: "model",
                created: 1_700_000_000,
                owned_by: "portcullis-mock",
            })
            .collect(),
    })
}

fn to_bytes<T: Serialize>(v: &T) -> Bytes {
    // Serializing these plain structs into memory cannot fail; an empty body
    // would be the visible symptom if it ever did.
    serde_json::to_vec(v).map(Bytes::from).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_stream_flags_limits_and_counts_prompt_chars() {
        let r = ChatRequest::parse(
            br#"{"model":"m","stream":true,"stream_options":{"include_usage":true},
                "max_tokens":9,"max_completion_tokens":5,
                "messages":[{"role":"user","content":"12345678"},
                            {"role":"user","content":[{"type":"text","text":"abcd"}]},
                            {"role":"assistant","content":null}]}"#,
        )
        .unwrap();
        assert_eq!(
            r,
            ChatRequest {
                model: "m".into(),
                stream: true,
                include_usage: true,
                prompt_tokens: 3,
                max_tokens: Some(5),
            }
        );
        assert_eq!(r.completion_tokens(16), 5);
        assert_eq!(r.completion_tokens(2), 2);
    }

    #[test]
    fn parse_defaults_and_rejections() {
        let r = ChatRequest::parse(br#"{"model":"m","messages":[]}"#).unwrap();
        assert!(!r.stream && !r.include_usage);
        assert_eq!(r.prompt_tokens, 1);
        assert_eq!(r.max_tokens, None);
        assert!(ChatRequest::parse(b"{not json").is_err());
        assert_eq!(ChatRequest::parse(b"{}").unwrap_err().param, Some("model"));
    }

    #[test]
    fn completion_body_is_openai_shaped() {
        let v: serde_json::Value = serde_json::from_slice(&completion_body(
            "chatcmpl-mock-1",
            7,
            "m",
            Usage::new(3, 2),
        ))
        .unwrap();
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["choices"][0]["message"]["content"], "tok0 tok1");
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
        assert!(v["choices"][0]["logprobs"].is_null());
        assert_eq!(v["usage"]["total_tokens"], 5);
    }

    #[test]
    fn error_bodies_carry_type_param_and_code() {
        let v: serde_json::Value = serde_json::from_slice(&status_error_body(429)).unwrap();
        assert_eq!(v["error"]["code"], "rate_limit_exceeded");
        assert!(v["error"]["param"].is_null());
        let v: serde_json::Value = serde_json::from_slice(&status_error_body(502)).unwrap();
        assert_eq!(v["error"]["type"], "server_error");
        assert!(v["error"]["code"].is_null());
    }
}
