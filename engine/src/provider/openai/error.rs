//! OpenAI error responses → [`UpstreamError`].
//!
//! The status decides the class; the body is read (bounded, by `upstream`) only so a
//! client-caused 4xx can carry the provider's own message, scrubbed of credentials.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::error::UpstreamError;
use crate::upstream::scrub;

/// Classifies a non-success, non-redirect response.
pub(crate) fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    credential: Option<&str>,
) -> UpstreamError {
    match status {
        StatusCode::TOO_MANY_REQUESTS => UpstreamError::RateLimited {
            retry_after: retry_after(headers),
        },
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => UpstreamError::Unauthorized,
        StatusCode::BAD_REQUEST
        | StatusCode::NOT_FOUND
        | StatusCode::CONFLICT
        | StatusCode::PAYLOAD_TOO_LARGE
        | StatusCode::UNPROCESSABLE_ENTITY => {
            let message = scrub::error_message(body, credential);
            match refusal(body) {
                Some(Refusal::ContextWindow) => UpstreamError::ContextWindowExceeded { message },
                Some(Refusal::ContentPolicy) => UpstreamError::ContentPolicy { message },
                None => UpstreamError::BadRequest {
                    status: status.as_u16(),
                    message,
                },
            }
        }
        s if s.as_u16() == 529 => UpstreamError::Overloaded,
        s => UpstreamError::Status(s.as_u16()),
    }
}

/// A client error that a fallback group may fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    ContextWindow,
    ContentPolicy,
}

/// Reads OpenAI's `error.code` (and, for servers that set none, the message) to tell a
/// context-window or content-policy refusal from other bad requests.
fn refusal(body: &[u8]) -> Option<Refusal> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    let error = json.get("error")?;
    let text = |key: &str| {
        error
            .get(key)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let (code, message) = (text("code"), text("message"));
    // Azure OpenAI names the filter that refused in `innererror.code`.
    let inner = error
        .get("innererror")
        .and_then(|inner| inner.get("code"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    if code == "context_length_exceeded"
        || message.contains("maximum context length")
        || message.contains("context window")
        || message.contains("context length")
    {
        Some(Refusal::ContextWindow)
    } else if code == "content_policy_violation"
        || code == "content_filter"
        || inner == "ResponsibleAIPolicyViolation"
        || message.contains("content policy")
        || message.contains("content management policy")
    {
        Some(Refusal::ContentPolicy)
    } else {
        None
    }
}

/// `Retry-After` in seconds (the HTTP-date form is treated as absent), or `retry-after-ms`.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return (ms.is_finite() && ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1000.0));
    }
    let secs = text("retry-after")?.parse::<f64>().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn reads_retry_after_in_seconds_and_ms() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        // Azure sends both; the finer `retry-after-ms` wins.
        headers.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
        assert_eq!(
            classify(StatusCode::TOO_MANY_REQUESTS, &headers, b"{}", None),
            UpstreamError::RateLimited {
                retry_after: Some(Duration::from_millis(1500))
            }
        );
        let mut date = HeaderMap::new();
        date.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&date), None);
    }

    #[test]
    fn classifies_by_status_and_scrubs_client_errors() {
        let none = HeaderMap::new();
        let body = br#"{"error":{"message":"bad key secret-1 here"}}"#;
        assert_eq!(
            classify(StatusCode::BAD_REQUEST, &none, body, Some("secret-1")),
            UpstreamError::BadRequest {
                status: 400,
                message: "bad key [redacted] here".to_owned()
            }
        );
        assert_eq!(
            classify(StatusCode::UNAUTHORIZED, &none, body, None),
            UpstreamError::Unauthorized
        );
        assert_eq!(
            classify(StatusCode::BAD_GATEWAY, &none, body, None),
            UpstreamError::Status(502)
        );
        let overloaded = StatusCode::from_u16(529).unwrap();
        assert_eq!(
            classify(overloaded, &none, b"", None),
            UpstreamError::Overloaded
        );
        assert_eq!(
            classify(StatusCode::REQUEST_TIMEOUT, &none, b"", None),
            UpstreamError::Status(408)
        );
    }

    #[test]
    fn tells_context_window_and_content_policy_refusals_apart() {
        let none = HeaderMap::new();
        let context = br#"{"error":{"message":"This model's maximum context length is 8192 tokens","code":"context_length_exceeded"}}"#;
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, &none, context, None),
            UpstreamError::ContextWindowExceeded { .. }
        ));
        let policy = br#"{"error":{"message":"refused","code":"content_policy_violation"}}"#;
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, &none, policy, None),
            UpstreamError::ContentPolicy { .. }
        ));
        // Azure OpenAI's content filter, on the prompt (chat) and as the bare inner code.
        let azure = br#"{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":true,"severity":"high"}}}}}"#;
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, &none, azure, None),
            UpstreamError::ContentPolicy { .. }
        ));
        let inner_only = br#"{"error":{"message":"refused","code":"BadRequest","innererror":{"code":"ResponsibleAIPolicyViolation"}}}"#;
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, &none, inner_only, None),
            UpstreamError::ContentPolicy { .. }
        ));
        let other = br#"{"error":{"message":"bad temperature","code":"invalid_value"}}"#;
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, &none, other, None),
            UpstreamError::BadRequest { status: 400, .. }
        ));
    }
}
