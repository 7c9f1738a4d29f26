//! Response plumbing shared by both dialects: the body type, JSON and SSE
//! responses, redirects, the retry headers of scripted errors, and a JSON
//! body held back by a stall.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use http::{HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;

use super::Behaviour;
use super::behaviour::Stall;
use super::sse::{StreamCut, stall};

/// Response body of every mock answer.
pub(crate) type MockBody = UnsyncBoxBody<Bytes, StreamCut>;

/// `retry-after-ms`, the millisecond retry hint OpenAI sends.
const RETRY_AFTER_MS: HeaderName = HeaderName::from_static("retry-after-ms");

/// A JSON response.
pub(crate) fn json(status: StatusCode, body: Bytes) -> Response<MockBody> {
    with_body(status, "application/json", full(body))
}

/// A `200` JSON answer; with a stall, the headers go out first and the
/// body after the stall.
pub(crate) fn json_after(stall_for: Option<Stall>, body: Bytes) -> Response<MockBody> {
    match stall_for {
        None => json(StatusCode::OK, body),
        Some(s) => {
            let frames = futures_util::stream::once(async move {
                stall(Some(s)).await;
                Ok::<_, StreamCut>(Frame::data(body))
            });
            with_body(
                StatusCode::OK,
                "application/json",
                StreamBody::new(frames).boxed_unsync(),
            )
        }
    }
}

/// A `200` event stream.
pub(crate) fn event_stream(body: MockBody) -> Response<MockBody> {
    let mut resp = with_body(StatusCode::OK, "text/event-stream", body);
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// A scripted error: `status` (unparseable codes become `500`) with `body`,
/// and the retry headers the behaviour asks for.
pub(crate) fn scripted_error(
    behaviour: &Behaviour,
    status: StatusCode,
    body: Bytes,
) -> Response<MockBody> {
    let mut resp = json(status, body);
    let headers = resp.headers_mut();
    if let Some(secs) = behaviour.retry_after {
        headers.insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    if let Some(ms) = behaviour.retry_after_ms {
        headers.insert(RETRY_AFTER_MS, HeaderValue::from(ms));
    }
    resp
}

/// The status of a scripted error.
pub(crate) fn error_status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// `307` to `location`, or `None` if it is not a valid header value.
pub(crate) fn redirect(location: &str) -> Option<Response<MockBody>> {
    let value = HeaderValue::from_str(location).ok()?;
    let mut resp = Response::new(full(Bytes::new()));
    *resp.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    resp.headers_mut().insert(LOCATION, value);
    Some(resp)
}

fn with_body(status: StatusCode, content_type: &'static str, body: MockBody) -> Response<MockBody> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

pub(crate) fn full(body: Bytes) -> MockBody {
    Full::new(body)
        .map_err(|never| match never {})
        .boxed_unsync()
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_error_sets_both_retry_headers() {
        let b = Behaviour::status(429).retry_after(3).retry_after_ms(2500);
        let resp = scripted_error(&b, error_status(429), Bytes::new());
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["retry-after"], "3");
        assert_eq!(resp.headers()["retry-after-ms"], "2500");
        assert_eq!(error_status(529).as_u16(), 529);
        assert_eq!(error_status(42), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
