//! The OpenAI chat-completions wire format as the mock speaks it: the
//! request fields it reads and the completion body it writes (errors and
//! model lists are in [`super::openai_error`]).
//!
//! Pure functions over bytes and small structs, so the shapes are unit-tested
//! without a server.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::tools::PlannedCall;

/// The parts of a chat-completion request that shape the mock's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChatRequest {
    pub model: String,
    pub stream: bool,
    pub include_usage: bool,
    pub prompt_tokens: u64,
    /// `max_completion_tokens`, or else `max_tokens`.
    pub max_tokens: Option<u64>,
    /// Names of the offered function tools.
    pub tools: Vec<String>,
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
    #[serde(default)]
    tools: Vec<RawTool>,
}

#[derive(Deserialize)]
struct RawTool {
    function: Option<RawFunction>,
}

#[derive(Deserialize)]
struct RawFunction {
    name: Option<String>,
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
            tools: raw
                .tools
                .into_iter()
                .filter_map(|t| t.function.and_then(|f| f.name))
                .collect(),
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
}

/// `usage.prompt_tokens_details`: only the cached count is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct PromptTokensDetails {
    pub cached_tokens: u64,
}

impl Usage {
    pub(crate) fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens.saturating_add(completion_tokens),
            prompt_tokens_details: None,
        }
    }

    /// Reports `cached` of the prompt tokens as cached, when scripted.
    pub(crate) fn with_cached(self, cached: Option<u64>) -> Self {
        Self {
            prompt_tokens_details: cached
                .map(|cached_tokens| PromptTokensDetails { cached_tokens }),
            ..self
        }
    }
}

/// The text of the first `words` content tokens, as one string.
pub(crate) fn text_of(words: u64) -> String {
    let content: String = (0..words.min(4096)).map(token_text).collect();
    content.trim_end().to_owned()
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
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<WireToolCall<'a>>,
}

#[derive(Serialize)]
struct WireToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunction<'a>,
}

#[derive(Serialize)]
struct WireFunction<'a> {
    name: &'a str,
    arguments: &'a str,
}

/// A non-streaming `chat.completion` body: `text` as the content (`None`
/// gives `null`), then `calls` as `tool_calls` (finish reason `tool_calls`
/// when there are any, else `stop`).
pub(crate) fn completion_body(
    id: &str,
    created: u64,
    model: &str,
    usage: Usage,
    text: Option<&str>,
    calls: &[PlannedCall],
) -> Bytes {
    let body = Completion {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [Choice {
            index: 0,
            message: Message {
                role: "assistant",
                content: text,
                tool_calls: calls
                    .iter()
                    .map(|c| WireToolCall {
                        id: &c.id,
                        kind: "function",
                        function: WireFunction {
                            name: &c.name,
                            arguments: &c.arguments,
                        },
                    })
                    .collect(),
            },
            finish_reason: if calls.is_empty() {
                "stop"
            } else {
                "tool_calls"
            },
            logprobs: None,
        }],
        usage,
    };
    to_bytes(&body)
}

pub(crate) fn to_bytes<T: Serialize>(v: &T) -> Bytes {
    // Serializing these plain structs into memory cannot fail; an empty body
    // would be the visible symptom if it ever did.
    serde_json::to_vec(v).map(Bytes::from).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::behaviour::ToolCall;
    use crate::mock::tools::plan;

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
                tools: Vec::new(),
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
            Some(&text_of(2)),
            &[],
        ))
        .unwrap();
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["choices"][0]["message"]["content"], "tok0 tok1");
        assert!(v["choices"][0]["message"].get("tool_calls").is_none());
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
        assert!(v["choices"][0]["logprobs"].is_null());
        assert_eq!(v["usage"]["total_tokens"], 5);
        assert!(v["usage"].get("prompt_tokens_details").is_none());
    }

    #[test]
    fn tools_are_read_and_tool_calls_answered_with_null_content() {
        let r = ChatRequest::parse(
            br#"{"model":"m","tools":[{"type":"function","function":{"name":"get_weather"}},
                                      {"type":"function","function":{"name":"get_time"}}]}"#,
        )
        .unwrap();
        assert_eq!(r.tools, ["get_weather", "get_time"]);
        let scripted = [ToolCall {
            name: None,
            arguments: serde_json::json!({"city": "Paris"}),
        }];
        let calls = plan(&scripted, &r.tools, "call_mock_1_");
        let usage = Usage::new(3, 2).with_cached(Some(2));
        let v: serde_json::Value =
            serde_json::from_slice(&completion_body("c", 1, "m", usage, None, &calls)).unwrap();
        let message = &v["choices"][0]["message"];
        assert!(message["content"].is_null());
        assert_eq!(
            message["tool_calls"],
            serde_json::json!([{"id": "call_mock_1_0", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}])
        );
        assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 2);
    }
}
