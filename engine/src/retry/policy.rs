//! Which failures another attempt may fix, and which send a request to a fallback group.
//!
//! Retryable: connect errors, timeouts before anything reached the client, 408, 429, 500,
//! 502, 503, 504 and 529 (overloaded). Not retryable: 400, 401, 403, 404, 422 and everything
//! else the client caused. A context-window or content-policy refusal is not retried in the
//! same group but may move to that kind of fallback group. Once a byte reached the client
//! nothing is retried; the dispatcher never asks then.

use crate::error::{EngineError, UpstreamError};

/// What a failed attempt allows next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryClass {
    /// Another attempt (another deployment, or the same after a backoff) may succeed.
    Retry,
    /// The prompt is too long for this model: try a context-window fallback group.
    ContextWindow,
    /// The provider refused the content: try a content-policy fallback group.
    ContentPolicy,
    /// Answer the client with this error.
    Stop,
}

/// Classifies a failed attempt that sent nothing to the client yet.
pub fn classify(error: &EngineError) -> RetryClass {
    match error {
        EngineError::Upstream(e) => match e {
            UpstreamError::ContextWindowExceeded { .. } => RetryClass::ContextWindow,
            UpstreamError::ContentPolicy { .. } => RetryClass::ContentPolicy,
            // Before the first byte reached the client, a broken stream is a failed attempt.
            UpstreamError::StreamInterrupted => RetryClass::Retry,
            e if e.is_retryable() => RetryClass::Retry,
            _ => RetryClass::Stop,
        },
        _ => RetryClass::Stop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(e: UpstreamError) -> RetryClass {
        classify(&EngineError::Upstream(e))
    }

    #[test]
    fn retries_transient_failures_only() {
        for status in [408, 500, 502, 503, 504] {
            assert_eq!(
                class(UpstreamError::Status(status)),
                RetryClass::Retry,
                "{status}"
            );
        }
        assert_eq!(class(UpstreamError::Overloaded), RetryClass::Retry);
        assert_eq!(class(UpstreamError::Connect), RetryClass::Retry);
        assert_eq!(class(UpstreamError::Timeout), RetryClass::Retry);
        let limited = UpstreamError::RateLimited { retry_after: None };
        assert_eq!(class(limited), RetryClass::Retry);
        for status in [400, 404, 422] {
            let e = UpstreamError::BadRequest {
                status,
                message: String::new(),
            };
            assert_eq!(class(e), RetryClass::Stop, "{status}");
        }
        assert_eq!(class(UpstreamError::Unauthorized), RetryClass::Stop);
        assert_eq!(class(UpstreamError::Status(501)), RetryClass::Stop);
        assert_eq!(class(UpstreamError::Redirect), RetryClass::Stop);
    }

    #[test]
    fn context_and_policy_refusals_go_to_their_fallbacks() {
        let e = UpstreamError::ContextWindowExceeded {
            message: String::new(),
        };
        assert_eq!(class(e), RetryClass::ContextWindow);
        let e = UpstreamError::ContentPolicy {
            message: String::new(),
        };
        assert_eq!(class(e), RetryClass::ContentPolicy);
        assert_eq!(
            classify(&EngineError::UnknownModel("x".into())),
            RetryClass::Stop
        );
    }
}
