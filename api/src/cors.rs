//! CORS on the public listener, for browser clients, only when `server.cors` lists origins;
//! the admin listener never has it.
//!
//! A preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered here, before
//! authentication — browsers send preflights without credentials: 204 with the allowed
//! methods and the requested headers the gateway accepts, or 403 for an origin not listed.
//! Any other request is served as usual; its answer (errors included, so a browser can read a
//! 401 or a 429) carries `Access-Control-Allow-Origin` only for a listed origin. No
//! `Access-Control-Allow-Credentials`: keys travel in `Authorization` or `x-api-key`, never in
//! cookies. A request without `Origin` passes untouched.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};
use portcullis_config::CorsConfig;

use crate::error::ApiError;

/// Request headers the OpenAI and Anthropic SDKs send from a browser, always allowed.
const SDK_HEADERS: [&str; 10] = [
    "authorization",
    "content-type",
    "x-api-key",
    "x-request-id",
    "anthropic-version",
    "anthropic-beta",
    "anthropic-dangerous-direct-browser-access",
    "openai-beta",
    "openai-organization",
    "openai-project",
];
/// The OpenAI SDK's telemetry headers (`x-stainless-os`, `x-stainless-retry-count`, …).
const SDK_HEADER_PREFIX: &str = "x-stainless-";
/// Response headers a browser client may read.
const EXPOSED: &str = "x-request-id, retry-after, x-portcullis-cost-usd, \
    x-ratelimit-limit-requests, x-ratelimit-remaining-requests, x-ratelimit-reset-requests, \
    x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens, x-ratelimit-reset-tokens";
const METHODS: &str = "GET, POST";
const PREFLIGHT_VARY: &str =
    "origin, access-control-request-method, access-control-request-headers";

/// The public listener's CORS policy, with its fixed header values built once.
#[derive(Debug)]
pub(crate) struct Cors {
    config: CorsConfig,
    max_age: HeaderValue,
}

impl Cors {
    pub(crate) fn new(config: CorsConfig) -> Self {
        let max_age = HeaderValue::from(config.max_age.as_secs());
        Self { config, max_age }
    }

    fn allows_header(&self, name: &str) -> bool {
        SDK_HEADERS.contains(&name)
            || name.starts_with(SDK_HEADER_PREFIX)
            || self.config.allowed_headers.iter().any(|h| h == name)
    }

    /// The origin to answer with, if `origin` may read answers.
    fn allow_origin(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        if self.config.any_origin {
            return Some(HeaderValue::from_static("*"));
        }
        let text = origin.to_str().ok()?;
        self.config.allows(text).then(|| origin.clone())
    }

    /// The answer to a preflight.
    fn preflight(&self, req: &ServiceRequest, origin: &HeaderValue) -> HttpResponse {
        let Some(allow_origin) = self.allow_origin(origin) else {
            let err = ApiError::OriginNotAllowed;
            let mut res = if req.path().starts_with("/v1/messages") {
                crate::error::anthropic::error_response(&err)
            } else {
                err.error_response()
            };
            vary(res.headers_mut(), PREFLIGHT_VARY);
            return res;
        };
        // Only the requested headers the gateway accepts are echoed: a browser refuses the
        // request if one it needs is missing.
        let requested = req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let allowed: Vec<String> = requested
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty() && self.allows_header(h))
            .collect();
        let mut res = HttpResponse::build(StatusCode::NO_CONTENT);
        res.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, METHODS))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone()))
            .insert_header((header::VARY, PREFLIGHT_VARY));
        if !allowed.is_empty()
            && let Ok(value) = HeaderValue::try_from(allowed.join(", "))
        {
            res.insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, value));
        }
        res.finish()
    }
}

/// Middleware: applies the listener's [`Cors`] (installed only when `server.cors` is set).
pub(crate) async fn apply(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let cors = req.app_data::<web::Data<Cors>>().cloned();
    let (Some(origin), Some(cors)) = (origin, cors) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    if req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        let res = cors.preflight(&req, &origin);
        return Ok(req.into_response(res).map_into_right_body());
    }
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    vary(headers, "origin");
    if let Some(allow_origin) = cors.allow_origin(&origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED),
        );
    }
    Ok(res.map_into_left_body())
}

/// Adds `value` to the answer's `Vary` (an answer may already vary on something else).
fn vary(headers: &mut HeaderMap, value: &'static str) {
    headers.append(header::VARY, HeaderValue::from_static(value));
}
