//! Request handling for the mock upstream: count, read, record, route, check
//! the dialect's credential, then hand over to the dialect
//! ([`super::openai`], [`super::embeddings`], [`super::anthropic`], [`super::azure`],
//! [`super::gemini`], [`super::gemini_embeddings`], [`super::bedrock`]).
//!
//! [`fault`] is the precedence both dialects share before success:
//! latency, then a redirect, then a scripted error.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;

use super::openai_error::{error_body, models_body, status_error_body};
use super::respond::{self, MockBody};
use super::state::{Route, Shared};
use super::vertex_token::TOKEN_PATH;
use super::{
    Behaviour, RecordedRequest, anthropic, azure, bedrock, bedrock_invoke, embeddings, gemini,
    gemini_embeddings, gemini_wire, openai, vertex,
};

/// The chat-completions route.
pub const CHAT_PATH: &str = "/v1/chat/completions";
/// The embeddings route.
pub const EMBEDDINGS_PATH: &str = "/v1/embeddings";
/// The Anthropic messages route.
pub const MESSAGES_PATH: &str = "/v1/messages";
/// The model-list route.
pub const MODELS_PATH: &str = "/v1/models";
/// AI Studio's model collection: `{GEMINI_MODELS}{model}:generateContent`,
/// `:streamGenerateContent?alt=sse` and `:batchEmbedContents`.
pub const GEMINI_MODELS: &str = "/v1beta/models/";
/// Largest request body the mock reads.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Answers one request. Never fails: every problem becomes an HTTP answer.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<MockBody>, Infallible> {
    let (parts, body) = req.into_parts();
    let post = parts.method == Method::POST;
    let azure = post.then(|| azure::route(parts.uri.path())).flatten();
    let gemini_call = post
        .then(|| gemini::model_call(parts.uri.path(), GEMINI_MODELS))
        .flatten();
    let gemini_embed = post
        .then(|| {
            gemini_embeddings::embed_model(parts.uri.path(), GEMINI_MODELS, "batchEmbedContents")
        })
        .flatten();
    let vertex_call = post
        .then(|| vertex::vertex_call(parts.uri.path()))
        .flatten();
    let converse = post.then(|| bedrock::route(parts.uri.path())).flatten();
    let invoke = post
        .then(|| bedrock_invoke::route(parts.uri.path()))
        .flatten();
    let vertex_embed = matches!(vertex_call, Some(vertex::VertexCall::Embed { .. }));
    let route = azure.unwrap_or(match (&parts.method, parts.uri.path()) {
        _ if gemini_embed.is_some() || vertex_embed => Route::Embeddings,
        _ if gemini_call.is_some() || vertex_call.is_some() => Route::Gemini,
        (&Method::POST, CHAT_PATH) => Route::Chat,
        (&Method::POST, EMBEDDINGS_PATH) => Route::Embeddings,
        (&Method::POST, MESSAGES_PATH) => Route::Messages,
        _ if converse.is_some() => Route::Converse,
        _ if invoke.is_some() => Route::Embeddings,
        _ => Route::Other,
    });
    shared.count(route);
    let resume_seen = shared.resume_generation();

    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let too_large = e.downcast_ref::<LengthLimitError>().is_some();
            return Ok(unreadable(route, too_large));
        }
    };
    if shared.records() {
        shared.push_record(record(&parts, body.clone()));
    }

    if let Some(call) = gemini_call {
        return Ok(gemini::ai_studio(&shared, &parts, call, &body, resume_seen).await);
    }
    if let Some(model) = gemini_embed {
        return Ok(gemini::ai_studio_embed(&shared, &parts, &model, &body).await);
    }
    if let Some(call) = vertex_call {
        return Ok(vertex::handle(&shared, &parts, call, &body, resume_seen).await);
    }
    if post && parts.uri.path() == TOKEN_PATH {
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let audience = format!("http://{host}{TOKEN_PATH}");
        if let Some((status, body)) = shared.grant_token(&audience, &body) {
            return Ok(respond::json(respond::error_status(status), body));
        }
    }
    if let Some(converse) = converse {
        return Ok(bedrock::converse(&shared, &parts, &body, resume_seen, converse).await);
    }
    if let Some(model) = invoke {
        return Ok(bedrock_invoke::invoke(&shared, &parts, &body, model).await);
    }
    if route == Route::Messages {
        return Ok(anthropic::messages(&shared, &parts, &body, resume_seen).await);
    }
    if azure.is_some() {
        return Ok(azure::answer(&shared, &parts, &body, route, resume_seen).await);
    }
    let auth = parts.headers.get(AUTHORIZATION).map(HeaderValue::as_bytes);
    if !shared.authorized(auth) {
        return Ok(respond::json(
            StatusCode::UNAUTHORIZED,
            status_error_body(401),
        ));
    }
    let response = if route == Route::Chat {
        openai::chat(&shared, &body, resume_seen).await
    } else if route == Route::Embeddings {
        embeddings::embeddings(&shared, &body).await
    } else if parts.method == Method::GET && parts.uri.path() == MODELS_PATH {
        respond::json(StatusCode::OK, models_body())
    } else {
        let message = format!(
            "Unknown request URL: {} {}.",
            parts.method,
            parts.uri.path()
        );
        let body = error_body(&message, "invalid_request_error", None, Some("unknown_url"));
        respond::json(StatusCode::NOT_FOUND, body)
    };
    Ok(response)
}

/// The answer to a body that could not be read, in the route's dialect.
fn unreadable(route: Route, too_large: bool) -> Response<MockBody> {
    let (status, message) = if too_large {
        (StatusCode::PAYLOAD_TOO_LARGE, "Request body too large.")
    } else {
        (StatusCode::BAD_REQUEST, "Could not read the request body.")
    };
    if route == Route::Gemini {
        return respond::json(
            status,
            gemini_wire::error_body(status.as_u16(), message, None),
        );
    }
    let body = if route == Route::Messages {
        let kind = if too_large {
            "request_too_large"
        } else {
            "invalid_request_error"
        };
        anthropic::error_body(kind, message)
    } else {
        error_body(message, "invalid_request_error", None, None)
    };
    respond::json(status, body)
}

/// Waits out the behaviour's latency, then answers its redirect or its
/// error (with `error_body(status)` unless a raw body is scripted). `None`
/// means: go on and succeed.
pub(crate) async fn fault(
    behaviour: &Behaviour,
    error_body: impl Fn(u16) -> Bytes,
) -> Option<Response<MockBody>> {
    if !behaviour.latency.is_zero() {
        tokio::time::sleep(behaviour.latency).await;
    }
    if let Some(location) = &behaviour.redirect_to {
        let invalid = || respond::json(StatusCode::INTERNAL_SERVER_ERROR, error_body(500));
        return Some(respond::redirect(location).unwrap_or_else(invalid));
    }
    let code = behaviour.error_status()?;
    let status = respond::error_status(code);
    let body = match &behaviour.error_body {
        Some(raw) => Bytes::from(raw.clone()),
        None => error_body(status.as_u16()),
    };
    Some(respond::scripted_error(behaviour, status, body))
}

fn record(parts: &Parts, body: Bytes) -> RecordedRequest {
    RecordedRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
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
