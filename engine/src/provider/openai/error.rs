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
        | StatusCode::UNPROCESSABLE_ENTITY => UpstreamError::BadRequest {
            status: status.as_u16(),
            message: scrub::error_message(body, credential),
        },
        s => UpstreamError::Status(s.as_u16()),
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
        headers.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
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
    }
}
