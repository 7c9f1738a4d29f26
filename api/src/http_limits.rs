//! Limits on the request head that the gateway enforces itself, before routing: the
//! request target (414), the number and total size of headers (431), and unambiguous body
//! framing (400 and the connection closed).
//!
//! actix-http refuses only what overflows its fixed buffers (a 128 KiB head, 96 headers),
//! and answers a long URL with 431 rather than 414. These limits are the operator's
//! (`server.max_url_bytes`, `server.max_headers`, `server.max_header_bytes`), well below
//! those caps so the gateway's own answer is the one a client sees. actix-http refuses a
//! duplicate or malformed `Content-Length` itself, but given both `Content-Length` and
//! `Transfer-Encoding` it follows the latter (RFC 9112 allows that); a proxy in front that
//! follows the former would read a second, smuggled request in the body, so the gateway
//! refuses such a request and closes the connection. Every refusal is counted
//! in `portcullis_malformed_requests_total` and never logged above DEBUG.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::http::Uri;
use actix_web::http::header::{self, HeaderMap};
use actix_web::middleware::Next;
use actix_web::web;

use crate::error::ApiError;
use crate::metrics;
use crate::state::AppState;

/// The head limits of one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeadLimits {
    pub max_url_bytes: usize,
    pub max_headers: usize,
    pub max_header_bytes: usize,
}

/// Refuses a head over `limits`: 414 for the target, 431 for the headers.
pub(crate) fn check(uri: &Uri, headers: &HeaderMap, limits: HeadLimits) -> Result<(), ApiError> {
    let target = uri.authority().map_or(0, |a| a.as_str().len())
        + uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > limits.max_url_bytes {
        return Err(ApiError::UriTooLong(limits.max_url_bytes));
    }
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > limits.max_headers || bytes > limits.max_header_bytes {
        return Err(ApiError::HeadersTooLarge);
    }
    Ok(())
}

/// Whether the body's length is given twice over (`Content-Length` and `Transfer-Encoding`).
pub(crate) fn framing_is_ambiguous(headers: &HeaderMap) -> bool {
    headers.contains_key(header::CONTENT_LENGTH) && headers.contains_key(header::TRANSFER_ENCODING)
}

/// Middleware: checks the head against the listener's [`HeadLimits`] before any route runs.
pub(crate) async fn enforce(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if framing_is_ambiguous(req.headers()) {
        metrics::malformed_request("ambiguous_framing");
        let err = ApiError::invalid(
            "a request may not carry both Content-Length and Transfer-Encoding",
            None,
        );
        let mut res = req.error_response(err);
        res.response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
        return Ok(res.map_into_right_body());
    }
    let limits = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.limits.head);
    if let Some(limits) = limits
        && let Err(err) = check(req.uri(), req.headers(), limits)
    {
        metrics::malformed_request(err.kind());
        return Ok(req.error_response(err).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    const LIMITS: HeadLimits = HeadLimits {
        max_url_bytes: 32,
        max_headers: 3,
        max_header_bytes: 40,
    };

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::try_from(*name).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn a_target_over_the_limit_is_414_and_at_it_passes() {
        let at: Uri = format!("/{}", "a".repeat(31)).parse().unwrap();
        assert!(check(&at, &HeaderMap::new(), LIMITS).is_ok());
        let over: Uri = format!("/{}?q", "a".repeat(31)).parse().unwrap();
        assert!(matches!(
            check(&over, &HeaderMap::new(), LIMITS),
            Err(ApiError::UriTooLong(32))
        ));
    }

    #[test]
    fn content_length_with_transfer_encoding_is_ambiguous_and_either_alone_is_not() {
        assert!(framing_is_ambiguous(&headers(&[
            ("content-length", "5"),
            ("transfer-encoding", "chunked")
        ])));
        assert!(!framing_is_ambiguous(&headers(&[("content-length", "5")])));
        assert!(!framing_is_ambiguous(&headers(&[(
            "transfer-encoding",
            "chunked"
        )])));
    }

    #[test]
    fn too_many_or_too_large_headers_are_431_counting_repeated_values() {
        let uri: Uri = "/".parse().unwrap();
        assert!(
            check(
                &uri,
                &headers(&[("a", "1"), ("a", "2"), ("b", "3")]),
                LIMITS
            )
            .is_ok()
        );
        let many = headers(&[("a", "1"), ("a", "2"), ("a", "3"), ("a", "4")]);
        assert!(matches!(
            check(&uri, &many, LIMITS),
            Err(ApiError::HeadersTooLarge)
        ));
        let large = headers(&[("x-big", &"v".repeat(36))]);
        assert!(matches!(
            check(&uri, &large, LIMITS),
            Err(ApiError::HeadersTooLarge)
        ));
    }
}
