//! Bedrock's error responses → the error the gateway acts on.
//!
//! Bedrock names the error in the `x-amzn-ErrorType` header (`ThrottlingException:http://…`;
//! the part before `:` counts) and, for some front ends, in the body's `__type`; the body's
//! `message` (or `Message`) explains it. The type decides the class: throttling and quota →
//! rate limited (with any retry-after), service unavailable → overloaded, model not ready →
//! a retryable 503, model timeout → timeout, validation → bad request (or context window
//! exceeded when it says the input is too long), access and signature problems →
//! unauthorized, resource not found → bad request 404, internal server → 500, model error →
//! 424. Only client-caused errors keep a message, scrubbed of the credentials and of anything
//! key-shaped; an unknown type falls back on the HTTP status.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;

use crate::error::UpstreamError;
use crate::provider::openai::retry_after;
use crate::upstream::scrub::{GENERIC_REJECTION, scrub};

/// The header that names a Bedrock error.
pub(crate) const ERROR_TYPE_HEADER: &str = "x-amzn-errortype";

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default, alias = "Message")]
    message: Option<String>,
    #[serde(default, rename = "__type")]
    kind: Option<String>,
}

/// Phrases by which a `ValidationException` says the prompt does not fit the model.
const CONTEXT_PHRASES: [&str; 6] = [
    "input is too long",
    "too many input tokens",
    "prompt is too long",
    "maximum context length",
    "context window",
    "too many tokens",
];

/// Classifies one Bedrock error response. `secrets` are removed from any kept message.
pub(crate) fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    secrets: &[&str],
) -> UpstreamError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let header_type = headers
        .get(ERROR_TYPE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let kind = header_type.or(parsed.kind).unwrap_or_default();
    // `com.amazon.coral.service#ThrottlingException` and `ThrottlingException:http://…`.
    let kind = kind.split(':').next().unwrap_or("");
    let kind = kind.rsplit('#').next().unwrap_or("");
    let message = || {
        let mut text = parsed.message.clone().unwrap_or_default();
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            text = text.replace(secret, "[redacted]");
        }
        let text = scrub(&text, None);
        if text.trim().is_empty() {
            GENERIC_REJECTION.to_owned()
        } else {
            text
        }
    };
    match kind {
        "ThrottlingException" | "ServiceQuotaExceededException" | "TooManyRequestsException" => {
            UpstreamError::RateLimited {
                retry_after: retry_after(headers),
            }
        }
        "ServiceUnavailableException" => UpstreamError::Overloaded,
        "ModelNotReadyException" => UpstreamError::Status(503),
        "ModelTimeoutException" => UpstreamError::Timeout,
        "ValidationException" => {
            let message = message();
            let lower = message.to_ascii_lowercase();
            if CONTEXT_PHRASES.iter().any(|p| lower.contains(p)) {
                UpstreamError::ContextWindowExceeded { message }
            } else {
                UpstreamError::BadRequest {
                    status: 400,
                    message,
                }
            }
        }
        "AccessDeniedException"
        | "UnrecognizedClientException"
        | "ExpiredTokenException"
        | "InvalidSignatureException"
        | "IncompleteSignatureException"
        | "MissingAuthenticationTokenException" => UpstreamError::Unauthorized,
        "ResourceNotFoundException" => UpstreamError::BadRequest {
            status: 404,
            message: message(),
        },
        "InternalServerException" => UpstreamError::Status(500),
        "ModelErrorException" => UpstreamError::Status(424),
        "ModelStreamErrorException" => UpstreamError::Status(424),
        _ => match status.as_u16() {
            429 => UpstreamError::RateLimited {
                retry_after: retry_after(headers),
            },
            401 | 403 => UpstreamError::Unauthorized,
            code @ 400..=499 => UpstreamError::BadRequest {
                status: code,
                message: message(),
            },
            code => UpstreamError::Status(code),
        },
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
