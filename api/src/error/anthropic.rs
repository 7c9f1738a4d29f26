//! Anthropic's error wire shapes, for the `/v1/messages` ingress: the JSON body
//! `{"type":"error","error":{"type","message"}}` with Anthropic's statuses (529 for an
//! overloaded provider) and `retry-after`, and the SSE `error` event that ends a stream early.
//! Messages are the same safe text the OpenAI shape carries: no upstream detail.
//!
//! [`AnthropicSse`] renders an engine stream for Anthropic clients: a native Messages stream
//! passes through; a canonical (OpenAI chunk) stream goes through [`ChunkToEvents`].

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use bytes::Bytes;
use futures_util::Stream;
use portcullis_engine::ingress::anthropic::{ChunkToEvents, error_body, error_event};
use portcullis_engine::provider::anthropic::{ErrorKind, StreamError};
use portcullis_engine::{EngineError, RelayStream, UpstreamError};

use super::ApiError;

/// Anthropic's status for an overloaded provider.
const OVERLOADED: u16 = 529;

/// The Anthropic error type for `err`.
fn kind_of(err: &ApiError) -> ErrorKind {
    match err {
        ApiError::Unauthorized => ErrorKind::Authentication,
        ApiError::ModelNotAllowed(_)
        | ApiError::SourceNotAllowed
        | ApiError::OriginNotAllowed
        | ApiError::Unpriced => ErrorKind::Permission,
        ApiError::NotFound
        | ApiError::Missing(_)
        | ApiError::Engine(EngineError::UnknownModel(_)) => ErrorKind::NotFound,
        ApiError::Limited { .. } => ErrorKind::RateLimited,
        ApiError::LimiterUnavailable
        | ApiError::Overloaded
        | ApiError::Engine(EngineError::Unavailable { .. } | EngineError::Saturated) => {
            ErrorKind::Overloaded
        }
        ApiError::InvalidRequest { .. } | ApiError::Conflict(_) => ErrorKind::InvalidRequest,
        ApiError::PayloadTooLarge(_) => ErrorKind::RequestTooLarge,
        ApiError::MethodNotAllowed
        | ApiError::UriTooLong(_)
        | ApiError::HeadersTooLarge
        | ApiError::ConflictingCredentials
        | ApiError::BodyTimeout
        | ApiError::BodyRead
        | ApiError::UnsupportedMediaType
        | ApiError::Engine(EngineError::Request(_)) => ErrorKind::InvalidRequest,
        ApiError::Engine(EngineError::AllCoolingDown { .. }) => ErrorKind::RateLimited,
        ApiError::Engine(EngineError::Upstream(u)) => upstream_kind(u),
        ApiError::Engine(EngineError::Internal(_)) | ApiError::Internal(_) => ErrorKind::Api,
    }
}

fn upstream_kind(e: &UpstreamError) -> ErrorKind {
    match e {
        UpstreamError::RateLimited { .. } => ErrorKind::RateLimited,
        UpstreamError::BadRequest { status, .. } => match ErrorKind::from_status(*status) {
            ErrorKind::Unknown => ErrorKind::InvalidRequest,
            kind => kind,
        },
        UpstreamError::Status(OVERLOADED) | UpstreamError::Overloaded => ErrorKind::Overloaded,
        UpstreamError::ContextWindowExceeded { .. } => ErrorKind::InvalidRequest,
        UpstreamError::ContentPolicy { .. } => ErrorKind::InvalidRequest,
        _ => ErrorKind::Api,
    }
}

/// The error as an Anthropic client expects it.
pub(crate) fn error_response(err: &ApiError) -> HttpResponse {
    let (_, _, _, message) = err.parts();
    let kind = kind_of(err);
    let status = match kind {
        ErrorKind::Overloaded => {
            StatusCode::from_u16(OVERLOADED).unwrap_or(StatusCode::BAD_GATEWAY)
        }
        _ => err.status_code(),
    };
    let mut response = HttpResponse::build(status);
    if let Some(wait) = err.retry_after() {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
            response.insert_header((header::RETRY_AFTER, value));
        }
    }
    if matches!(err, ApiError::BodyTimeout | ApiError::PayloadTooLarge(_)) {
        response.force_close();
    }
    response
        .content_type("application/json")
        .body(error_body(kind, &message))
}

/// The event that ends a stream early, for an engine error.
fn upstream_event(e: &UpstreamError) -> Bytes {
    error_event(upstream_kind(e), &e.to_string()).into()
}

/// The event that ends a stream early, for a translation failure.
fn translate_event(e: &StreamError) -> Bytes {
    match e {
        StreamError::Upstream { kind, message } if kind.is_client_fault() => {
            error_event(*kind, message).into()
        }
        StreamError::Upstream { kind, .. } => {
            error_event(*kind, "the provider reported an error mid-stream").into()
        }
        StreamError::EventTooLarge(_) | StreamError::Malformed(_) => {
            upstream_event(&UpstreamError::Malformed)
        }
        StreamError::Truncated => upstream_event(&UpstreamError::StreamInterrupted),
    }
}

/// An engine stream rendered for Anthropic clients: Messages events out, and a final error
/// as one `event: error` and the end of the stream.
#[derive(Debug)]
pub(crate) struct AnthropicSse {
    inner: RelayStream,
    /// `Some` when the provider answered in OpenAI chunks.
    events: Option<ChunkToEvents>,
    done: bool,
}

impl AnthropicSse {
    /// A stream already in the Messages dialect.
    pub(crate) fn native(inner: RelayStream) -> Self {
        Self {
            inner,
            events: None,
            done: false,
        }
    }

    /// A chat completion stream, translated for a client that asked for `public_model`.
    pub(crate) fn translated(inner: RelayStream, events: ChunkToEvents) -> Self {
        Self {
            inner,
            events: Some(events),
            done: false,
        }
    }

    fn end(&mut self, event: Bytes) -> Poll<Option<Result<Bytes, std::convert::Infallible>>> {
        self.done = true;
        Poll::Ready(Some(Ok(event)))
    }
}

impl Stream for AnthropicSse {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(bytes))) => {
                    let Some(events) = &mut this.events else {
                        return Poll::Ready(Some(Ok(bytes)));
                    };
                    match events.push(&bytes) {
                        Ok(out) if out.is_empty() => {}
                        Ok(out) => return Poll::Ready(Some(Ok(out))),
                        Err(e) => return this.end(translate_event(&e)),
                    }
                }
                Poll::Ready(Some(Err(e))) => return this.end(upstream_event(&e)),
                Poll::Ready(None) => {
                    let result = this.events.as_mut().map_or(Ok(()), ChunkToEvents::finish);
                    if let Err(e) = result {
                        return this.end(translate_event(&e));
                    }
                    this.done = true;
                    return Poll::Ready(None);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;
    use std::time::Duration;

    async fn render(err: ApiError) -> (u16, serde_json::Value, Option<String>) {
        let response = error_response(&err);
        let status = response.status().as_u16();
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = to_bytes(response.into_body()).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap(), retry)
    }

    #[actix_web::test]
    async fn errors_take_anthropics_shape_types_and_statuses() {
        let cases = [
            (ApiError::Unauthorized, 401, "authentication_error"),
            (
                ApiError::ModelNotAllowed("m".into()),
                403,
                "permission_error",
            ),
            (
                ApiError::Engine(EngineError::UnknownModel("m".into())),
                404,
                "not_found_error",
            ),
            (ApiError::PayloadTooLarge(10), 413, "request_too_large"),
            (
                ApiError::Engine(UpstreamError::Status(529).into()),
                529,
                "overloaded_error",
            ),
            (
                ApiError::Engine(UpstreamError::Status(500).into()),
                502,
                "api_error",
            ),
            (ApiError::Internal("secret detail"), 500, "api_error"),
        ];
        for (err, status, kind) in cases {
            let (got, body, _) = render(err).await;
            assert_eq!(got, status, "{body}");
            assert_eq!(body["type"], "error");
            assert_eq!(body["error"]["type"], kind, "{body}");
            assert!(body["error"]["message"].is_string());
            assert!(!body.to_string().contains("secret detail"));
        }
    }

    #[actix_web::test]
    async fn rate_limits_carry_retry_after() {
        let err = ApiError::Engine(EngineError::Upstream(UpstreamError::RateLimited {
            retry_after: Some(Duration::from_millis(2500)),
        }));
        let (status, body, retry) = render(err).await;
        assert_eq!((status, retry.as_deref()), (429, Some("3")));
        assert_eq!(body["error"]["type"], "rate_limit_error");
    }
}
