//! `POST /v1/chat/completions`: parse the request, take the scripted
//! behaviour for its model, and answer as OpenAI would (JSON or SSE, text or
//! tool calls), or fail as scripted.

use std::sync::Arc;

use http::{Response, StatusCode};

use super::DEFAULT_JSON_COMPLETION_TOKENS;
use super::openai_error::{error_body, status_error_body};
use super::openai_stream::{OpenAiStream, OpenAiStreamPlan};
use super::openai_wire::{ChatRequest, Usage, completion_body};
use super::respond::{self, MockBody};
use super::service::fault;
use super::sse::{Timing, sse_body};
use super::state::Shared;
use super::tools::{PlannedCall, json_text, plan};

/// Answers one chat-completion request whose body is `body`.
pub(crate) async fn chat(
    shared: &Arc<Shared>,
    body: &[u8],
    resume_seen: u64,
) -> Response<MockBody> {
    let req = match ChatRequest::parse(body) {
        Ok(req) => req,
        Err(bad) => {
            let body = error_body(&bad.message, "invalid_request_error", bad.param, None);
            return respond::json(StatusCode::BAD_REQUEST, body);
        }
    };
    let behaviour = shared.behaviour_for(&req.model);
    if let Some(resp) = fault(&behaviour, status_error_body).await {
        return resp;
    }

    let id = shared.next_id();
    let created = respond::unix_now();
    let calls = plan(
        &behaviour.tool_calls,
        &req.tools,
        &format!("call_mock_{id}_"),
    );
    let usage = |wanted| {
        Usage::new(req.prompt_tokens, req.completion_tokens(wanted))
            .with_cached(behaviour.cache_read_tokens)
    };
    if req.stream {
        let text_chunks = behaviour.chunk_count(!calls.is_empty());
        let default_tokens =
            text_chunks + calls.iter().map(PlannedCall::piece_count).sum::<usize>();
        let wanted = behaviour
            .completion_tokens
            .unwrap_or_else(|| u64::try_from(default_tokens).unwrap_or(u64::MAX));
        let stream = OpenAiStream::new(OpenAiStreamPlan {
            id,
            created,
            include_usage: req.include_usage,
            text_chunks,
            usage: usage(wanted),
            error_type: behaviour.stream_error_type.clone(),
            model: req.model.clone(),
            calls,
        });
        let timing = Timing::new(&behaviour, resume_seen);
        respond::event_stream(sse_body(Arc::clone(shared), timing, stream))
    } else {
        let wanted = behaviour
            .completion_tokens
            .unwrap_or(DEFAULT_JSON_COMPLETION_TOKENS);
        let usage = usage(wanted);
        let text = json_text(&behaviour, &calls, usage.completion_tokens);
        let id = format!("chatcmpl-mock-{id}");
        let body = completion_body(&id, created, &req.model, usage, text.as_deref(), &calls);
        respond::json_after(behaviour.stall, body)
    }
}
