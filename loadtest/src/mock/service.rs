//! Request handling for the mock upstream: count, record, check the key,
//! route, then answer according to the chosen [`Behaviour`].
//!
//! Every answer is built here; [`super::wire`] supplies the JSON and
//! [`super::stream`] the SSE body.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;

use super::state::Shared;
use super::stream::{StreamCut, StreamPlan, sse_body};
use super::wire::{self, ChatRequest, Usage};
use super::{Behaviour, DEFAULT_JSON_COMPLETION_TOKENS, RecordedRequest};

/// Response body of every mock answer.
pub(crate) type MockBody = UnsyncBoxBody<Bytes, StreamCut>;

/// The chat-completions route.
pub const CHAT_PATH: &str = "/v1/chat/completions";
/// The model-list route.
pub const MODELS_PATH: &str = "/v1/models";
/// Largest request body the mock reads.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Answers one request. Never fails: every problem becomes an HTTP answer.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<MockBody>, Infallible> {
    let (parts, body) = req.into_parts();
    let is_chat = parts.method == Method::POST && parts.uri.path() == CHAT_PATH;
    shared.count(is_chat);
    let resume_seen = shared.resume_generation();

    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let (status, message) = if e.downcast_ref::<LengthLimitError>().is_some() {
                (StatusCode::PAYLOAD_TOO_LARGE, "Request body too large.")
            } else {
                (StatusCode::BAD_REQUEST, "Could not read the request body.")
            };
            let body = wire::error_body(message, "invalid_request_error", None, None);
            return Ok(json(status, body));
        }
    };
    if shared.records() {
        shared.push_record(record(&parts, body.clone()));
    }

    let auth = parts.headers.get(AUTHORIZATION).map(HeaderValue::as_bytes);
    if !shared.authorized(auth) {
        return Ok(json(StatusCode::UNAUTHORIZED, wire::status_error_body(401)));
    }

    let response = if is_chat {
        chat(&shared, &body, resume_seen).await
    } else if parts.method == Method::GET && parts.uri.path() == MODELS_PATH {
        json(StatusCode::OK, wire::models_body())
    } else {
        let message = format!(
            "Unknown request URL: {} {}.",
            parts.method,
            parts.uri.path()
        );
        let body = wire::error_body(&message, "invalid_request_error", None, Some("unknown_url"));
        json(StatusCode::NOT_FOUND, body)
    };
    Ok(response)
}

async fn chat(shared: &Arc<Shared>, body: &[u8], resume_seen: u64) -> Response<MockBody> {
    let req = match ChatRequest::parse(body) {
        Ok(req) => req,
        Err(bad) => {
            let body = wire::error_body(&bad.message, "invalid_request_error", bad.param, None);
            return json(StatusCode::BAD_REQUEST, body);
        }
    };
    let behaviour = shared.behaviour_for(&req.model);
    if !behaviour.latency.is_zero() {
        tokio::time::sleep(behaviour.latency).await;
    }
    if let Some(location) = &behaviour.redirect_to {
        return redirect(location);
    }
    if let Some(status) = behaviour.error_status() {
        return scripted_error(&behaviour, status);
    }

    let id = shared.next_id();
    let created = unix_now();
    if req.stream {
        let chunks = behaviour.chunk_count();
        let wanted = behaviour
            .completion_tokens
            .unwrap_or_else(|| u64::try_from(chunks).unwrap_or(u64::MAX));
        let plan = StreamPlan {
            id,
            created,
            include_usage: req.include_usage,
            chunks,
            interval: behaviour.chunk_interval,
            first_byte_delay: behaviour.first_byte_delay,
            disconnect_after: behaviour.disconnect_after,
            pause_after: behaviour.pause_after_chunks,
            usage: Usage::new(req.prompt_tokens, req.completion_tokens(wanted)),
            resume_seen,
            model: req.model,
        };
        let mut resp = Response::new(sse_body(Arc::clone(shared), plan));
        let headers = resp.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        resp
    } else {
        let wanted = behaviour
            .completion_tokens
            .unwrap_or(DEFAULT_JSON_COMPLETION_TOKENS);
        let usage = Usage::new(req.prompt_tokens, req.completion_tokens(wanted));
        let id = format!("chatcmpl-mock-{id}");
        json(
            StatusCode::OK,
            wire::completion_body(&id, created, &req.model, usage),
        )
    }
}

fn redirect(location: &str) -> Response<MockBody> {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut resp = Response::new(full(Bytes::new()));
            *resp.status_mut() = StatusCode::TEMPORARY_REDIRECT;
            resp.headers_mut().insert(LOCATION, value);
            resp
        }
        Err(_) => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            wire::error_body(
                "Scripted redirect is not a valid header value.",
                "server_error",
                None,
                None,
            ),
        ),
    }
}

fn scripted_error(behaviour: &Behaviour, status: u16) -> Response<MockBody> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match &behaviour.error_body {
        Some(raw) => Bytes::from(raw.clone()),
        None => wire::status_error_body(status.as_u16()),
    };
    let mut resp = json(status, body);
    if let Some(secs) = behaviour.retry_after {
        resp.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

fn json(status: StatusCode, body: Bytes) -> Response<MockBody> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn full(body: Bytes) -> MockBody {
    Full::new(body)
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn record(parts: &Parts, body: Bytes) -> RecordedRequest {
    RecordedRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}
