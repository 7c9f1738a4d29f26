//! The Gemini `generateContent` wire format as the mock speaks it (AI Studio and Vertex AI
//! share it): the request fields it reads, the response body, `usageMetadata`, stream events
//! and Google's error shape `{"error": {"code", "message", "status", "details"}}`.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::openai_wire::to_bytes;
use super::tools::PlannedCall;

/// The parts of a generateContent request that shape the mock's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GenerateRequest {
    /// `generationConfig.maxOutputTokens`, if set.
    pub max_tokens: Option<u64>,
    /// Characters of text in `systemInstruction` and `contents`, divided by four.
    pub input_tokens: u64,
    /// Names of the declared functions the model may call: none when
    /// `toolConfig.functionCallingConfig.mode` is `NONE`, as Gemini does.
    pub tools: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRequest {
    contents: Vec<RawContent>,
    #[serde(default)]
    system_instruction: Option<RawContent>,
    #[serde(default)]
    tools: Vec<RawTool>,
    #[serde(default)]
    generation_config: Option<RawConfig>,
    #[serde(default)]
    tool_config: Option<Value>,
}

#[derive(Deserialize)]
struct RawContent {
    #[serde(default)]
    parts: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTool {
    #[serde(default)]
    function_declarations: Vec<RawDeclaration>,
}

#[derive(Deserialize)]
struct RawDeclaration {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    #[serde(default)]
    max_output_tokens: Option<u64>,
}

impl GenerateRequest {
    /// Parses a body; the error is the message of an `INVALID_ARGUMENT`.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, String> {
        let raw: RawRequest = serde_json::from_slice(body)
            .map_err(|e| format!("Invalid JSON payload received. {e}"))?;
        if raw.contents.is_empty() {
            return Err("* GenerateContentRequest.contents: contents is not specified".into());
        }
        let chars: usize = raw
            .contents
            .iter()
            .chain(raw.system_instruction.as_ref())
            .flat_map(|c| &c.parts)
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .map(|t| t.chars().count())
            .sum();
        let calls_off = raw
            .tool_config
            .as_ref()
            .and_then(|c| c.pointer("/functionCallingConfig/mode"))
            .and_then(Value::as_str)
            == Some("NONE");
        Ok(Self {
            max_tokens: raw.generation_config.and_then(|c| c.max_output_tokens),
            input_tokens: u64::try_from(chars / 4).unwrap_or(u64::MAX).max(1),
            tools: raw
                .tools
                .into_iter()
                .filter(|_| !calls_off)
                .flat_map(|t| t.function_declarations)
                .map(|d| d.name)
                .collect(),
        })
    }
}

/// Token counts, as in Gemini's `usageMetadata`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    pub prompt: u64,
    pub candidates: u64,
    pub cached: u64,
}

impl Usage {
    pub(crate) fn to_json(self) -> Value {
        let mut usage = json!({
            "promptTokenCount": self.prompt,
            "candidatesTokenCount": self.candidates,
            "totalTokenCount": self.prompt + self.candidates,
        });
        if self.cached > 0 {
            usage["cachedContentTokenCount"] = self.cached.into();
        }
        usage
    }
}

/// A `functionCall` part.
pub(crate) fn call_part(call: &PlannedCall) -> Value {
    json!({"functionCall": {"name": call.name, "args": call.input}})
}

/// A complete response: a text part if `text` is given, then a `functionCall` per call.
pub(crate) fn response_body(
    id: &str,
    model: &str,
    text: Option<&str>,
    calls: &[PlannedCall],
    finish_reason: &str,
    usage: Usage,
) -> Bytes {
    let mut parts: Vec<Value> = text.map(|t| json!({ "text": t })).into_iter().collect();
    parts.extend(calls.iter().map(call_part));
    to_bytes(&json!({
        "candidates": [{
            "content": {"role": "model", "parts": parts},
            "finishReason": finish_reason,
            "index": 0,
        }],
        "usageMetadata": usage.to_json(),
        "modelVersion": model,
        "responseId": id,
    }))
}

/// One stream event (`data: {GenerateContentResponse}`).
pub(crate) fn event(
    id: &str,
    model: &str,
    parts: Vec<Value>,
    finish: Option<&str>,
    usage: Option<Usage>,
) -> Bytes {
    let mut candidate = json!({"content": {"role": "model", "parts": parts}, "index": 0});
    if let Some(f) = finish {
        candidate["finishReason"] = f.into();
    }
    let mut body = json!({"candidates": [candidate], "modelVersion": model, "responseId": id});
    if let Some(u) = usage {
        body["usageMetadata"] = u.to_json();
    }
    let mut out = b"data: ".to_vec();
    out.extend_from_slice(&to_bytes(&body));
    out.extend_from_slice(b"\r\n\r\n");
    out.into()
}

/// Google's status word for an HTTP status.
pub(crate) fn status_word(code: u16) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    }
}

/// A Google-shaped error body; a 429 carries `RetryInfo` when `retry_after` is given.
pub(crate) fn error_body(code: u16, message: &str, retry_after: Option<u64>) -> Bytes {
    let mut details = Vec::new();
    if code == 429
        && let Some(secs) = retry_after
    {
        details.push(json!({
            "@type": "type.googleapis.com/google.rpc.RetryInfo",
            "retryDelay": format!("{secs}s"),
        }));
    }
    to_bytes(&json!({"error": {
        "code": code, "message": message, "status": status_word(code), "details": details,
    }}))
}

/// The default error body for a scripted status.
pub(crate) fn status_error_body(code: u16, retry_after: Option<u64>) -> Bytes {
    let message = match code {
        429 => "Resource has been exhausted (e.g. check quota).",
        400 => "Request contains an invalid argument.",
        401 => "Request had invalid authentication credentials.",
        403 => "The caller does not have permission.",
        503 => "The model is overloaded. Please try again later.",
        _ => "An internal error has occurred.",
    };
    error_body(code, message, retry_after)
}

/// The mid-stream error event.
pub(crate) fn stream_error_event(status: Option<&str>) -> Bytes {
    let status = status.unwrap_or("INTERNAL");
    let code = match status {
        "RESOURCE_EXHAUSTED" => 429,
        "UNAVAILABLE" => 503,
        _ => 500,
    };
    let body = json!({"error": {"code": code, "message": "mock stream error", "status": status}});
    let mut out = b"data: ".to_vec();
    out.extend_from_slice(&to_bytes(&body));
    out.extend_from_slice(b"\r\n\r\n");
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_tools_and_the_output_cap() {
        let body = br#"{"contents":[{"role":"user","parts":[{"text":"abcdefgh"},{"inlineData":{"mimeType":"image/png","data":"AA=="}}]}],
            "systemInstruction":{"parts":[{"text":"abcd"}]},
            "tools":[{"functionDeclarations":[{"name":"f"},{"name":"g"}]}],
            "generationConfig":{"maxOutputTokens":5}}"#;
        let r = GenerateRequest::parse(body).unwrap();
        assert_eq!(r.input_tokens, 3);
        assert_eq!(r.tools, vec!["f", "g"]);
        assert_eq!(r.max_tokens, Some(5));
        assert!(GenerateRequest::parse(br#"{"contents":[]}"#).is_err());
        let none = br#"{"contents":[{"parts":[{"text":"a"}]}],"tools":[{"functionDeclarations":[{"name":"f"}]}],
            "toolConfig":{"functionCallingConfig":{"mode":"NONE"}}}"#;
        assert!(GenerateRequest::parse(none).unwrap().tools.is_empty());
    }

    #[test]
    fn a_429_carries_retry_info() {
        let v: Value = serde_json::from_slice(&status_error_body(429, Some(7))).unwrap();
        assert_eq!(v["error"]["status"], "RESOURCE_EXHAUSTED");
        assert_eq!(v["error"]["details"][0]["retryDelay"], "7s");
        let v: Value = serde_json::from_slice(&status_error_body(500, Some(7))).unwrap();
        assert_eq!(v["error"]["details"], json!([]));
    }
}
