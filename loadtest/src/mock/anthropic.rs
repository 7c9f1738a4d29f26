//! `POST /v1/messages`: the mock speaking Anthropic's Messages API. Checks
//! `x-api-key` and `anthropic-version`, takes the scripted behaviour for the
//! request's model (the same scripts as the OpenAI side), and answers as
//! Anthropic would (JSON or SSE, text or `tool_use`), or fails as scripted.

use std::sync::Arc;

use http::request::Parts;
use http::{HeaderName, HeaderValue, Response, StatusCode};

use super::DEFAULT_JSON_COMPLETION_TOKENS;
use super::anthropic_stream::AnthropicStream;
use super::anthropic_wire::{MessagesRequest, Usage, message_body, status_error_body};
use super::respond::{self, MockBody};
use super::service::fault;
use super::sse::{Timing, sse_body};
use super::state::Shared;
use super::tools::{PlannedCall, json_text, plan};

pub(crate) use super::anthropic_wire::error_body;

/// The header carrying an Anthropic API key.
const API_KEY: HeaderName = HeaderName::from_static("x-api-key");
/// The header naming the API version; Anthropic requires it.
const VERSION: HeaderName = HeaderName::from_static("anthropic-version");

/// Answers one messages request.
pub(crate) async fn messages(
    shared: &Arc<Shared>,
    parts: &Parts,
    body: &[u8],
    resume_seen: u64,
) -> Response<MockBody> {
    let key = parts.headers.get(API_KEY).map(HeaderValue::as_bytes);
    if key.is_none() || !shared.key_accepted(key) {
        let message = if key.is_none() {
            "x-api-key header is required"
        } else {
            "invalid x-api-key"
        };
        let body = error_body("authentication_error", message);
        return respond::json(StatusCode::UNAUTHORIZED, body);
    }
    if !parts.headers.contains_key(VERSION) {
        let body = error_body(
            "invalid_request_error",
            "anthropic-version: header is required",
        );
        return respond::json(StatusCode::BAD_REQUEST, body);
    }
    answer(shared, body, resume_seen).await
}

/// Answers an authenticated Messages body (also Claude on Vertex AI, whose path names the
/// model and whose caller checked the credential).
pub(crate) async fn answer(
    shared: &Arc<Shared>,
    body: &[u8],
    resume_seen: u64,
) -> Response<MockBody> {
    let req = match MessagesRequest::parse(body) {
        Ok(req) => req,
        Err(message) => {
            let body = error_body("invalid_request_error", &message);
            return respond::json(StatusCode::BAD_REQUEST, body);
        }
    };
    let behaviour = shared.behaviour_for(&req.model);
    if let Some(resp) = fault(&behaviour, status_error_body).await {
        return resp;
    }

    let n = shared.next_id();
    let id = format!("msg_mock_{n}");
    let calls = plan(
        &behaviour.tool_calls,
        &req.tools,
        &format!("toolu_mock_{n}_"),
    );
    let text_chunks = behaviour.chunk_count(!calls.is_empty());
    let default_tokens = if req.stream {
        let pieces: usize = calls.iter().map(PlannedCall::piece_count).sum();
        u64::try_from(text_chunks + pieces).unwrap_or(u64::MAX)
    } else {
        DEFAULT_JSON_COMPLETION_TOKENS
    };
    let wanted = behaviour.completion_tokens.unwrap_or(default_tokens);
    let output_tokens = wanted.min(req.max_tokens);
    let stop_reason = if output_tokens < wanted {
        "max_tokens"
    } else if calls.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    };
    let usage = Usage {
        input_tokens: req.input_tokens,
        cache_creation_input_tokens: behaviour.cache_write_tokens.unwrap_or(0),
        cache_read_input_tokens: behaviour.cache_read_tokens.unwrap_or(0),
        output_tokens,
    };
    if req.stream {
        let stream = AnthropicStream {
            id,
            model: req.model,
            text_chunks,
            calls,
            stop_reason,
            usage,
            error_type: behaviour.stream_error_type.clone(),
        };
        let timing = Timing::new(&behaviour, resume_seen);
        respond::event_stream(sse_body(Arc::clone(shared), timing, stream))
    } else {
        let text = json_text(&behaviour, &calls, output_tokens);
        let body = message_body(&id, &req.model, text.as_deref(), &calls, stop_reason, usage);
        respond::json_after(behaviour.stall, body)
    }
}
