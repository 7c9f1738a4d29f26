//! The one place errors become HTTP: a status, a `Retry-After` where one applies, and the
//! caller's error shape (OpenAI's in [`openai`], Anthropic's in [`anthropic`]).
//!
//! Client faults say exactly what was wrong. Upstream and internal faults say what kind of
//! thing failed and nothing more: no provider body, URL, credential or stack detail.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use portcullis_engine::{EngineError, Fault, UpstreamError};

pub(crate) mod anthropic;
pub(crate) mod openai;

use openai::{Body, Detail};

/// Everything a request can fail with at the HTTP edge.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("missing or invalid API key")]
    Unauthorized,
    #[error("this key may not use model `{0}`")]
    ModelNotAllowed(String),
    #[error("this key may not be used from this address")]
    SourceNotAllowed,
    #[error("cross-origin requests from this origin are not allowed")]
    OriginNotAllowed,
    #[error("{message}")]
    InvalidRequest {
        message: String,
        param: Option<&'static str>,
    },
    #[error("{0} not found")]
    Missing(&'static str),
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error("no route for this path")]
    NotFound,
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("request target longer than {0} bytes")]
    UriTooLong(usize),
    #[error("request headers too many or too large")]
    HeadersTooLarge,
    #[error("the request carries more than one credential and they differ")]
    ConflictingCredentials,
    #[error("request body did not arrive in time")]
    BodyTimeout,
    #[error("request body could not be read")]
    BodyRead,
    #[error("`content-type` must be `application/json`")]
    UnsupportedMediaType,
    /// A rate limit, parallel cap or budget refused (`kind`: rpm, tpm, parallel, budget).
    #[error("{} limit reached for this key", limit_name(kind))]
    Limited {
        kind: &'static str,
        retry_after_ms: Option<u64>,
    },
    #[error("this model has no known price, so its budget cannot be reserved")]
    Unpriced,
    #[error("rate limits and budgets cannot be checked right now; retry shortly")]
    LimiterUnavailable,
    #[error("the gateway is overloaded; retry shortly")]
    Overloaded,
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("internal error")]
    Internal(&'static str),
}

impl ApiError {
    /// Low-cardinality label for metrics and logs.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::ModelNotAllowed(_) => "model_not_allowed",
            ApiError::SourceNotAllowed => "source_not_allowed",
            ApiError::OriginNotAllowed => "cors_origin_not_allowed",
            ApiError::InvalidRequest { .. } => "invalid_request",
            ApiError::Missing(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UriTooLong(_) => "uri_too_long",
            ApiError::HeadersTooLarge => "headers_too_large",
            ApiError::ConflictingCredentials => "conflicting_credentials",
            ApiError::BodyTimeout => "body_timeout",
            ApiError::BodyRead => "body_read",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Limited { kind, .. } => match *kind {
                "budget" => "budget_exceeded",
                _ => "rate_limit_exceeded",
            },
            ApiError::Unpriced => "unpriced_model",
            ApiError::LimiterUnavailable => "limiter_unavailable",
            ApiError::Overloaded => "overloaded",
            ApiError::Engine(e) => e.kind(),
            ApiError::Internal(_) => "internal",
        }
    }

    /// Whose fault it is; decides the log level.
    pub(crate) fn fault(&self) -> Fault {
        match self {
            ApiError::Engine(e) => e.fault(),
            ApiError::Internal(_) | ApiError::LimiterUnavailable | ApiError::Overloaded => {
                Fault::Internal
            }
            _ => Fault::Client,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Engine(EngineError::Upstream(UpstreamError::RateLimited { retry_after })) => {
                *retry_after
            }
            ApiError::Engine(EngineError::AllCoolingDown { retry_after }) => Some(*retry_after),
            ApiError::Limited {
                retry_after_ms: Some(ms),
                ..
            } => Some(Duration::from_millis(*ms)),
            ApiError::LimiterUnavailable | ApiError::Overloaded => Some(Duration::from_secs(1)),
            ApiError::Engine(EngineError::Unavailable { retry_after }) => *retry_after,
            _ => None,
        }
    }

    /// The OpenAI `type`, the `code`, the `param` and the client-facing message.
    fn parts(&self) -> (&'static str, Option<&str>, Option<&str>, String) {
        let kind = self.kind();
        match self {
            ApiError::Unauthorized => (
                "authentication_error",
                Some("invalid_api_key"),
                None,
                self.to_string(),
            ),
            ApiError::ModelNotAllowed(_) => (
                "permission_error",
                Some(kind),
                Some("model"),
                self.to_string(),
            ),
            ApiError::SourceNotAllowed | ApiError::OriginNotAllowed => {
                ("permission_error", Some(kind), None, self.to_string())
            }
            ApiError::InvalidRequest { param, .. } => (
                "invalid_request_error",
                Some(kind),
                *param,
                self.to_string(),
            ),
            ApiError::Missing(_) | ApiError::Conflict(_) => {
                ("invalid_request_error", Some(kind), None, self.to_string())
            }
            ApiError::NotFound | ApiError::MethodNotAllowed => {
                ("invalid_request_error", Some(kind), None, self.to_string())
            }
            ApiError::PayloadTooLarge(_)
            | ApiError::UriTooLong(_)
            | ApiError::HeadersTooLarge
            | ApiError::ConflictingCredentials
            | ApiError::BodyTimeout
            | ApiError::BodyRead
            | ApiError::UnsupportedMediaType => {
                ("invalid_request_error", Some(kind), None, self.to_string())
            }
            ApiError::Limited { kind: "budget", .. } => {
                ("insufficient_quota", Some(kind), None, self.to_string())
            }
            ApiError::Limited { kind: limit, .. } => (
                if *limit == "tpm" {
                    "tokens"
                } else {
                    "requests"
                },
                Some(kind),
                None,
                self.to_string(),
            ),
            ApiError::Unpriced => (
                "permission_error",
                Some(kind),
                Some("model"),
                self.to_string(),
            ),
            ApiError::LimiterUnavailable | ApiError::Overloaded => {
                ("api_error", Some(kind), None, self.to_string())
            }
            ApiError::Engine(EngineError::Request(e)) => (
                "invalid_request_error",
                Some(kind),
                e.param(),
                e.to_string(),
            ),
            ApiError::Engine(EngineError::UnknownModel(model)) => (
                "invalid_request_error",
                Some("model_not_found"),
                Some("model"),
                format!("The model `{}` does not exist", truncate(model, 256)),
            ),
            ApiError::Engine(EngineError::Upstream(
                UpstreamError::BadRequest { message, .. }
                | UpstreamError::ContextWindowExceeded { message }
                | UpstreamError::ContentPolicy { message },
            )) => ("invalid_request_error", Some(kind), None, message.clone()),
            ApiError::Engine(EngineError::Unavailable { .. } | EngineError::Saturated) => (
                "overloaded_error",
                Some(kind),
                None,
                "No deployment of this model can take the request now; retry later".to_owned(),
            ),
            ApiError::Engine(EngineError::Upstream(UpstreamError::RateLimited { .. }))
            | ApiError::Engine(EngineError::AllCoolingDown { .. }) => (
                "rate_limit_error",
                Some(kind),
                None,
                "The provider is rate limiting requests for this model; retry later".to_owned(),
            ),
            ApiError::Engine(EngineError::Upstream(e)) => {
                ("upstream_error", Some(kind), None, e.to_string())
            }
            ApiError::Engine(EngineError::Internal(_)) | ApiError::Internal(_) => (
                "api_error",
                Some("internal"),
                None,
                "The gateway hit an internal error".to_owned(),
            ),
        }
    }
}

/// How an error message names a limit kind.
fn limit_name(kind: &str) -> &'static str {
    match kind {
        "rpm" => "Requests-per-minute",
        "tpm" => "Tokens-per-minute",
        "parallel" => "Parallel-request",
        "budget" => "Budget",
        _ => "A",
    }
}

impl ApiError {
    /// A 400 with a message and, where one field is at fault, its name.
    pub(crate) fn invalid(message: impl Into<String>, param: Option<&'static str>) -> Self {
        ApiError::InvalidRequest {
            message: message.into(),
            param,
        }
    }
}

impl From<portcullis_storage::StorageError> for ApiError {
    /// Client faults keep their meaning; a store that failed is an internal error, logged
    /// by kind only.
    fn from(e: portcullis_storage::StorageError) -> Self {
        use portcullis_storage::StorageError as S;
        match e {
            S::NotFound(what) => ApiError::Missing(what),
            S::Conflict(what) => ApiError::Conflict(what),
            S::Invalid(why) => ApiError::invalid(why, None),
            S::InvalidId(id) => ApiError::invalid(id.to_string(), None),
            other => {
                tracing::error!(kind = other.kind(), "storage failed: {other}");
                ApiError::Internal("storage failed")
            }
        }
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::ModelNotAllowed(_)
            | ApiError::SourceNotAllowed
            | ApiError::OriginNotAllowed => StatusCode::FORBIDDEN,
            ApiError::InvalidRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Missing(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            ApiError::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::ConflictingCredentials => StatusCode::BAD_REQUEST,
            ApiError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::BodyRead => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Limited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unpriced => StatusCode::FORBIDDEN,
            ApiError::LimiterUnavailable | ApiError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Engine(e) => engine_status(e),
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (kind, code, param, message) = self.parts();
        let body = Body {
            error: Detail {
                message,
                kind,
                param,
                code,
            },
        };
        let mut response = HttpResponse::build(self.status_code());
        if let Some(wait) = self.retry_after() {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.insert_header((header::RETRY_AFTER, value));
            }
        }
        if matches!(self, ApiError::Unauthorized) {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        // The rest of an unread body may still be arriving: close rather than drain it.
        if matches!(self, ApiError::BodyTimeout | ApiError::PayloadTooLarge(_)) {
            response.force_close();
        }
        response.json(body)
    }
}

fn engine_status(e: &EngineError) -> StatusCode {
    match e {
        EngineError::Request(_) => StatusCode::BAD_REQUEST,
        EngineError::UnknownModel(_) => StatusCode::NOT_FOUND,
        EngineError::AllCoolingDown { .. } => StatusCode::TOO_MANY_REQUESTS,
        EngineError::Unavailable { .. } | EngineError::Saturated => StatusCode::SERVICE_UNAVAILABLE,
        EngineError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        EngineError::Upstream(u) => match u {
            UpstreamError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            UpstreamError::BadRequest { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST)
            }
            UpstreamError::ContextWindowExceeded { .. } | UpstreamError::ContentPolicy { .. } => {
                StatusCode::BAD_REQUEST
            }
            UpstreamError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            UpstreamError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    async fn body_of(err: ApiError) -> (u16, serde_json::Value, Option<String>) {
        let response = err.error_response();
        let status = response.status().as_u16();
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = to_bytes(response.into_body()).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap(), retry)
    }

    #[actix_web::test]
    async fn upstream_429_maps_to_openai_rate_limit_error_with_retry_after() {
        let err = ApiError::Engine(EngineError::Upstream(UpstreamError::RateLimited {
            retry_after: Some(Duration::from_millis(1500)),
        }));
        let (status, body, retry) = body_of(err).await;
        assert_eq!(status, 429);
        assert_eq!(body["error"]["type"], "rate_limit_error");
        assert_eq!(retry.as_deref(), Some("2"));
    }

    #[actix_web::test]
    async fn upstream_failures_are_502_without_detail() {
        let (status, body, _) = body_of(ApiError::Engine(UpstreamError::Status(500).into())).await;
        assert_eq!(status, 502);
        assert_eq!(body["error"]["type"], "upstream_error");
        assert_eq!(body["error"]["code"], "upstream_status");
        let (status, _, _) = body_of(ApiError::Engine(UpstreamError::Timeout.into())).await;
        assert_eq!(status, 504);
    }

    #[actix_web::test]
    async fn no_available_deployment_is_a_503_overloaded_error() {
        let err = ApiError::Engine(EngineError::Unavailable {
            retry_after: Some(Duration::from_millis(200)),
        });
        let (status, body, retry) = body_of(err).await;
        assert_eq!(status, 503);
        assert_eq!(body["error"]["type"], "overloaded_error");
        assert_eq!(body["error"]["code"], "overloaded");
        assert_eq!(retry.as_deref(), Some("1"));
        let (status, _, _) = body_of(ApiError::Engine(EngineError::Saturated)).await;
        assert_eq!(status, 503);
    }

    #[actix_web::test]
    async fn internal_errors_say_nothing_specific() {
        let (status, body, _) = body_of(ApiError::Internal("secret detail")).await;
        assert_eq!(status, 500);
        assert!(!body.to_string().contains("secret detail"));
    }

    #[actix_web::test]
    async fn request_errors_name_the_param() {
        let err = ApiError::Engine(
            portcullis_engine::RequestError::OverrideField("api_base".into()).into(),
        );
        let (status, body, _) = body_of(err).await;
        assert_eq!(status, 400);
        assert_eq!(body["error"]["param"], "api_base");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["code"], "override_field");
    }
}
