//! Google's error responses (`{"error": {"code", "message", "status", "details"}}`, the same
//! shape for AI Studio and Vertex AI) → [`UpstreamError`].
//!
//! - `RESOURCE_EXHAUSTED` / 429 → rate limited, retry after `RetryInfo.retryDelay` ("7s"),
//!   else the `Retry-After` header.
//! - `UNAUTHENTICATED`, `PERMISSION_DENIED`, 401/403, and AI Studio's 400 for an invalid key
//!   (`API_KEY_INVALID`) → unauthorized: the gateway's credential, never the client's fault.
//! - Other 4xx: token-limit text → context window exceeded; safety/blocked text → content
//!   policy; else a bad request. Their message is scrubbed (the credential and key-like words
//!   removed) before a client may see it.
//! - `UNAVAILABLE` / 503 → overloaded; other 5xx → their status.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use crate::error::UpstreamError;
use crate::provider::openai::retry_after;
use crate::upstream::scrub;

pub use crate::provider::anthropic::TranslateError;

#[derive(Debug, Default, Deserialize)]
struct Envelope {
    #[serde(default)]
    error: ErrorIn,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorIn {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<Value>,
}

/// Classifies a non-success, non-redirect response from Gemini or Vertex AI.
pub(crate) fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    credential: Option<&str>,
) -> UpstreamError {
    // Vertex AI sometimes wraps the error in a one-element array.
    let parsed: Envelope = serde_json::from_slice(body)
        .or_else(|_| {
            serde_json::from_slice::<Vec<Envelope>>(body)
                .map(|v| v.into_iter().next().unwrap_or_default())
        })
        .unwrap_or_default();
    let error = parsed.error;
    let code = status.as_u16();
    let reason_is = |r: &str| {
        error
            .details
            .iter()
            .any(|d| d.get("reason").and_then(Value::as_str) == Some(r))
    };
    if code == 429 || error.status == "RESOURCE_EXHAUSTED" {
        return UpstreamError::RateLimited {
            retry_after: retry_delay(&error.details).or_else(|| retry_after(headers)),
        };
    }
    if matches!(code, 401 | 403)
        || matches!(
            error.status.as_str(),
            "UNAUTHENTICATED" | "PERMISSION_DENIED"
        )
        || reason_is("API_KEY_INVALID")
    {
        return UpstreamError::Unauthorized;
    }
    if code == 503 || error.status == "UNAVAILABLE" {
        return UpstreamError::Overloaded;
    }
    if !status.is_client_error() {
        return UpstreamError::Status(code);
    }
    let message = if error.message.is_empty() {
        scrub::GENERIC_REJECTION.to_owned()
    } else {
        scrub::scrub(&error.message, credential)
    };
    let lower = error.message.to_ascii_lowercase();
    if lower.contains("token count")
        || lower.contains("maximum number of tokens")
        || lower.contains("context window")
        || lower.contains("too many tokens")
        || lower.contains("exceeds the maximum")
    {
        UpstreamError::ContextWindowExceeded { message }
    } else if lower.contains("safety") || lower.contains("prohibited content") {
        UpstreamError::ContentPolicy { message }
    } else {
        UpstreamError::BadRequest {
            status: code,
            message,
        }
    }
}

/// `RetryInfo.retryDelay` of the error details: a protobuf Duration in JSON ("7s", "1.5s").
fn retry_delay(details: &[Value]) -> Option<Duration> {
    let delay = details.iter().find_map(|d| {
        let is_retry_info = d
            .get("@type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.ends_with("google.rpc.RetryInfo"));
        is_retry_info
            .then(|| d.get("retryDelay").and_then(Value::as_str))
            .flatten()
    })?;
    let secs: f64 = delay.strip_suffix('s')?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// The `status` word of a mid-stream error object, as a low-cardinality label.
pub(crate) fn stream_error_kind(error: &Value) -> &'static str {
    match error
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default()
    {
        "RESOURCE_EXHAUSTED" => "rate_limited",
        "UNAVAILABLE" => "overloaded",
        "INVALID_ARGUMENT" => "invalid_argument",
        "INTERNAL" => "internal",
        "DEADLINE_EXCEEDED" => "deadline_exceeded",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn resource_exhausted_retries_after_the_documented_retry_delay() {
        let body = br#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"7s"}]}}"#;
        let e = classify(status(429), &HeaderMap::new(), body, None);
        assert_eq!(
            e,
            UpstreamError::RateLimited {
                retry_after: Some(Duration::from_secs(7))
            }
        );
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("3"));
        let bare = br#"{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}"#;
        assert_eq!(
            classify(status(429), &headers, bare, None),
            UpstreamError::RateLimited {
                retry_after: Some(Duration::from_secs(3))
            }
        );
    }

    #[test]
    fn an_invalid_api_key_is_the_gateways_problem_and_never_echoed() {
        let body = br#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key. AIzaSyCanaryCanaryCanary","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#;
        assert_eq!(
            classify(status(400), &HeaderMap::new(), body, None),
            UpstreamError::Unauthorized
        );
        for (code, word) in [(401, "UNAUTHENTICATED"), (403, "PERMISSION_DENIED")] {
            let body = format!(r#"{{"error":{{"code":{code},"message":"no","status":"{word}"}}}}"#);
            assert_eq!(
                classify(status(code), &HeaderMap::new(), body.as_bytes(), None),
                UpstreamError::Unauthorized
            );
        }
    }

    #[test]
    fn bad_requests_are_scrubbed_and_token_limits_and_safety_are_told_apart() {
        let body = br#"{"error":{"code":400,"message":"Invalid value at 'generation_config.temperature' for key canary-gemini-key-1 and AIzaSyAbcdefghijklmnop","status":"INVALID_ARGUMENT"}}"#;
        let UpstreamError::BadRequest {
            status: 400,
            message,
        } = classify(
            status(400),
            &HeaderMap::new(),
            body,
            Some("canary-gemini-key-1"),
        )
        else {
            panic!("not a bad request")
        };
        assert!(message.starts_with("Invalid value at"), "{message}");
        assert!(!message.contains("canary-gemini-key-1"));
        assert!(!message.contains("AIzaSyAbcdefghijklmnop"));
        let long = br#"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#;
        assert!(matches!(
            classify(status(400), &HeaderMap::new(), long, None),
            UpstreamError::ContextWindowExceeded { .. }
        ));
        let unsafe_ = br#"{"error":{"code":400,"message":"The request was blocked by safety filters.","status":"INVALID_ARGUMENT"}}"#;
        assert!(matches!(
            classify(status(400), &HeaderMap::new(), unsafe_, None),
            UpstreamError::ContentPolicy { .. }
        ));
        assert_eq!(
            classify(status(404), &HeaderMap::new(), b"<html>nope</html>", None),
            UpstreamError::BadRequest {
                status: 404,
                message: scrub::GENERIC_REJECTION.to_owned()
            }
        );
    }

    #[test]
    fn server_errors_keep_their_class() {
        let unavailable = br#"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#;
        assert_eq!(
            classify(status(503), &HeaderMap::new(), unavailable, None),
            UpstreamError::Overloaded
        );
        let internal = br#"[{"error":{"code":500,"message":"Internal error encountered.","status":"INTERNAL"}}]"#;
        assert_eq!(
            classify(status(500), &HeaderMap::new(), internal, None),
            UpstreamError::Status(500)
        );
        assert_eq!(
            classify(status(504), &HeaderMap::new(), b"", None),
            UpstreamError::Status(504)
        );
    }
}
