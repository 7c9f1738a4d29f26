//! Errors of the Anthropic translation layer, and the classification of Anthropic's own errors.
//!
//! Three kinds of failure meet here, each with a different owner:
//! - [`TranslateError`]: the client's request cannot be expressed in the other dialect. Its
//!   message names the field and is safe to show the client (it quotes no request content).
//! - [`MalformedUpstream`]: the provider answered with something that is not the documented
//!   wire format. The provider's fault; never shown verbatim.
//! - [`AnthropicError`]: an error Anthropic reported (HTTP status + `{"type":"error",...}`),
//!   classified for routing (retryable? context window? content policy?) with a message kept
//!   only for client-caused errors, scrubbed of anything that looks like a credential.

use serde::Deserialize;

/// Longest provider message passed on to a client, in characters.
const MAX_SAFE_MESSAGE_CHARS: usize = 512;

/// A request that cannot be translated: the client's fault, safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    #[error("missing required field `{0}`")]
    MissingField(String),
    #[error("invalid field `{field}`: {reason}")]
    InvalidField { field: String, reason: &'static str },
    #[error("`{0}` is not supported by this model's API")]
    Unsupported(String),
    #[error("unknown field `{0}`")]
    UnknownField(String),
}

impl TranslateError {
    pub(crate) fn invalid(field: impl Into<String>, reason: &'static str) -> Self {
        TranslateError::InvalidField {
            field: field.into(),
            reason,
        }
    }

    /// A low-cardinality label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            TranslateError::MissingField(_) => "missing_field",
            TranslateError::InvalidField { .. } => "invalid_field",
            TranslateError::Unsupported(_) => "unsupported_field",
            TranslateError::UnknownField(_) => "unknown_field",
        }
    }
}

/// The provider's answer does not follow the documented wire format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the provider's response was malformed: {0}")]
pub struct MalformedUpstream(pub &'static str);

/// Why a translated stream had to stop.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// One SSE event grew past the configured cap.
    #[error("an SSE event exceeded {0} bytes")]
    EventTooLarge(usize),
    /// The provider sent an `error` event mid-stream. `message` is scrubbed and truncated;
    /// render it only for client-caused kinds (see [`ErrorKind::is_client_fault`]).
    #[error("the provider reported a mid-stream {kind:?} error")]
    Upstream { kind: ErrorKind, message: String },
    /// An event that does not follow the documented format (bad JSON, an unknown block).
    #[error("the provider's stream was malformed: {0}")]
    Malformed(&'static str),
    /// The upstream stream ended before its terminating event.
    #[error("the provider's stream ended before it was complete")]
    Truncated,
}

impl StreamError {
    /// A low-cardinality label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            StreamError::EventTooLarge(_) => "event_too_large",
            StreamError::Upstream { kind, .. } => kind.label(),
            StreamError::Malformed(_) => "malformed",
            StreamError::Truncated => "truncated",
        }
    }
}

/// Anthropic's error types, plus the two situations routing must tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    InvalidRequest,
    Authentication,
    Permission,
    NotFound,
    RequestTooLarge,
    RateLimited,
    /// HTTP 529 `overloaded_error`.
    Overloaded,
    Api,
    /// An `invalid_request_error` saying the prompt does not fit the model's context.
    ContextWindowExceeded,
    /// A refusal on content-policy grounds.
    ContentPolicy,
    Unknown,
}

impl ErrorKind {
    /// From the wire `error.type`, if it is one Anthropic documents.
    pub fn from_wire(error_type: &str) -> Option<ErrorKind> {
        Some(match error_type {
            "invalid_request_error" => ErrorKind::InvalidRequest,
            "authentication_error" => ErrorKind::Authentication,
            "permission_error" => ErrorKind::Permission,
            "not_found_error" => ErrorKind::NotFound,
            "request_too_large" => ErrorKind::RequestTooLarge,
            "rate_limit_error" => ErrorKind::RateLimited,
            "overloaded_error" => ErrorKind::Overloaded,
            "api_error" => ErrorKind::Api,
            _ => return None,
        })
    }

    /// From the HTTP status alone, as Anthropic's error documentation assigns them.
    pub fn from_status(status: u16) -> ErrorKind {
        match status {
            400 => ErrorKind::InvalidRequest,
            401 => ErrorKind::Authentication,
            403 => ErrorKind::Permission,
            404 => ErrorKind::NotFound,
            413 => ErrorKind::RequestTooLarge,
            429 => ErrorKind::RateLimited,
            529 => ErrorKind::Overloaded,
            500..=599 => ErrorKind::Api,
            _ => ErrorKind::Unknown,
        }
    }

    /// The wire `error.type` an Anthropic-speaking client expects for this kind.
    pub fn wire_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest
            | ErrorKind::ContextWindowExceeded
            | ErrorKind::ContentPolicy => "invalid_request_error",
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::Permission => "permission_error",
            ErrorKind::NotFound => "not_found_error",
            ErrorKind::RequestTooLarge => "request_too_large",
            ErrorKind::RateLimited => "rate_limit_error",
            ErrorKind::Overloaded => "overloaded_error",
            ErrorKind::Api | ErrorKind::Unknown => "api_error",
        }
    }

    /// Caused by what the client sent (so its message may be shown, and retrying elsewhere
    /// with the same body would not help, except for the two fallback-worthy kinds).
    pub fn is_client_fault(self) -> bool {
        matches!(
            self,
            ErrorKind::InvalidRequest
                | ErrorKind::NotFound
                | ErrorKind::RequestTooLarge
                | ErrorKind::ContextWindowExceeded
                | ErrorKind::ContentPolicy
        )
    }

    /// A low-cardinality label for metrics.
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::ContextWindowExceeded => "context_window_exceeded",
            ErrorKind::ContentPolicy => "content_policy",
            ErrorKind::Unknown => "unknown",
            other => other.wire_type(),
        }
    }
}

/// An Anthropic error response, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnthropicError {
    pub kind: ErrorKind,
    /// Trying again (here or on another deployment) may succeed: 429, 529, 5xx, 408, 409.
    pub retryable: bool,
    /// The provider's message, only for client-caused kinds; scrubbed and truncated.
    pub safe_message: Option<String>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(rename = "type", default)]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) message: String,
}

/// Classifies an Anthropic error response from its status and body. Never echoes a body that
/// is not the documented error shape.
pub fn classify_error(status: u16, body: &[u8]) -> AnthropicError {
    let parsed = serde_json::from_slice::<ErrorEnvelope>(body).ok();
    let (kind, message) = match parsed {
        Some(e) => (classify_body(status, &e.error), Some(e.error.message)),
        None => (ErrorKind::from_status(status), None),
    };
    let retryable = match kind {
        ErrorKind::RateLimited | ErrorKind::Overloaded | ErrorKind::Api => true,
        ErrorKind::Unknown => matches!(status, 408 | 409 | 500..=599),
        _ => false,
    };
    let safe_message = message
        .filter(|_| kind.is_client_fault())
        .map(|m| scrub(&m));
    AnthropicError {
        kind,
        retryable,
        safe_message,
    }
}

/// The kind an error body names, refined by what its message says.
pub(crate) fn classify_body(status: u16, error: &ErrorBody) -> ErrorKind {
    let kind = ErrorKind::from_wire(&error.kind).unwrap_or_else(|| ErrorKind::from_status(status));
    if kind != ErrorKind::InvalidRequest {
        return kind;
    }
    let message = error.message.to_ascii_lowercase();
    let context = [
        "prompt is too long",
        "context window",
        "context length",
        "exceed context limit",
        "too many tokens",
    ];
    if context.iter().any(|p| message.contains(p)) {
        ErrorKind::ContextWindowExceeded
    } else if message.contains("content filtering") || message.contains("usage policy") {
        ErrorKind::ContentPolicy
    } else {
        kind
    }
}

/// Removes key-like words (`sk-ant-…`, `sk-…`, bearer tokens, long opaque tokens) and
/// truncates. Applied to every provider message before anyone may see it.
pub fn scrub(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_SAFE_MESSAGE_CHARS));
    for (i, word) in message.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if looks_like_secret(word) {
            out.push_str("[redacted]");
        } else {
            out.push_str(word);
        }
    }
    out.chars().take(MAX_SAFE_MESSAGE_CHARS).collect()
}

fn looks_like_secret(word: &str) -> bool {
    let w = word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_');
    let w = w.trim_matches(|c: char| c == '-' || c == '_');
    let prefixed = [
        "sk-", "sk_", "pk-", "key-", "AKIA", "AIza", "Bearer", "xai-", "gsk_",
    ]
    .iter()
    .any(|p| w.starts_with(p))
        && w.len() >= 12;
    // A long run of token characters with both letters and digits: an opaque credential.
    let opaque = w.len() >= 24
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && w.chars().any(|c| c.is_ascii_digit())
        && w.chars().any(|c| c.is_ascii_alphabetic());
    prefixed || opaque
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_documented_error_types_and_statuses() {
        let body =
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        let e = classify_error(529, body);
        assert_eq!(e.kind, ErrorKind::Overloaded);
        assert!(e.retryable);
        assert_eq!(e.safe_message, None);
        let e = classify_error(
            429,
            br#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#,
        );
        assert_eq!((e.kind, e.retryable), (ErrorKind::RateLimited, true));
        let e = classify_error(401, br#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key sk-ant-api03-abcdefghijklmnop"}}"#);
        assert_eq!(
            (e.kind, e.retryable, e.safe_message),
            (ErrorKind::Authentication, false, None)
        );
        assert_eq!(
            classify_error(502, b"<html>bad gateway</html>").kind,
            ErrorKind::Api
        );
        assert!(classify_error(502, b"<html>").retryable);
        assert_eq!(classify_error(418, b"").kind, ErrorKind::Unknown);
        assert!(!classify_error(418, b"").retryable);
        assert!(classify_error(409, b"").retryable);
    }

    #[test]
    fn tells_context_window_and_content_policy_from_other_bad_requests() {
        let long = br#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}}"#;
        let e = classify_error(400, long);
        assert_eq!(e.kind, ErrorKind::ContextWindowExceeded);
        assert_eq!(
            e.safe_message.as_deref(),
            Some("prompt is too long: 208310 tokens > 200000 maximum")
        );
        let policy = br#"{"type":"error","error":{"type":"invalid_request_error","message":"Output blocked by content filtering policy"}}"#;
        assert_eq!(classify_error(400, policy).kind, ErrorKind::ContentPolicy);
        let plain = br#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: field required"}}"#;
        let e = classify_error(400, plain);
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        assert!(!e.retryable);
        assert_eq!(
            e.safe_message.as_deref(),
            Some("max_tokens: field required")
        );
    }

    #[test]
    fn client_visible_messages_never_carry_key_like_tokens() {
        let body = br#"{"type":"error","error":{"type":"invalid_request_error","message":"key sk-ant-api03-AbCdEf0123456789xyz and (sk-proj-0123456789abcdef) and token a1b2c3d4e5f6a7b8c9d0e1f2a3b4 ok"}}"#;
        let m = classify_error(400, body).safe_message.unwrap();
        assert!(!m.contains("sk-ant"), "{m}");
        assert!(!m.contains("sk-proj"), "{m}");
        assert!(!m.contains("a1b2c3d4e5f6"), "{m}");
        assert!(
            m.starts_with("key [redacted] and [redacted] and token [redacted] ok"),
            "{m}"
        );
        let long = format!(
            r#"{{"type":"error","error":{{"type":"invalid_request_error","message":"{}"}}}}"#,
            "word ".repeat(400)
        );
        let m = classify_error(400, long.as_bytes()).safe_message.unwrap();
        assert_eq!(m.chars().count(), MAX_SAFE_MESSAGE_CHARS);
    }
}
