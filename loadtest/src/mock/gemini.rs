//! `POST …/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`: the mock
//! speaking Gemini. AI Studio paths (`/v1beta/models/…`) need `x-goog-api-key`; the same
//! answers serve Vertex AI's publisher paths, whose credential check the caller made. The
//! model comes from the path; the scripted behaviours are the same as the other dialects'.

use std::sync::Arc;

use http::request::Parts;
use http::{HeaderName, HeaderValue, Response, StatusCode};

use super::DEFAULT_JSON_COMPLETION_TOKENS;
use super::gemini_embeddings;
use super::gemini_stream::GeminiStream;
use super::gemini_wire::{GenerateRequest, Usage, error_body, response_body, status_error_body};
use super::respond::{self, MockBody};
use super::service::fault;
use super::sse::{Timing, sse_body};
use super::state::Shared;
use super::tools::{json_text, plan};

/// The header carrying an AI Studio API key.
const API_KEY: HeaderName = HeaderName::from_static("x-goog-api-key");

/// A Gemini model method named by a request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModelCall {
    pub model: String,
    pub stream: bool,
}

/// `…/models/{model}:generateContent` or `:streamGenerateContent` → the call, else `None`.
pub(crate) fn model_call(path: &str, collection: &str) -> Option<ModelCall> {
    let rest = path.strip_prefix(collection)?;
    let (model, method) = rest.rsplit_once(':')?;
    if model.is_empty() || model.contains('/') {
        return None;
    }
    let stream = match method {
        "generateContent" => false,
        "streamGenerateContent" => true,
        _ => return None,
    };
    Some(ModelCall {
        model: model.to_owned(),
        stream,
    })
}

/// Answers an AI Studio request: checks `x-goog-api-key`, then [`generate`].
pub(crate) async fn ai_studio(
    shared: &Arc<Shared>,
    parts: &Parts,
    call: ModelCall,
    body: &[u8],
    resume_seen: u64,
) -> Response<MockBody> {
    if let Some(refused) = refuse_key(shared, parts) {
        return refused;
    }
    generate(shared, parts, call, body, resume_seen).await
}

/// Answers an AI Studio `batchEmbedContents`: checks `x-goog-api-key`, then embeds.
pub(crate) async fn ai_studio_embed(
    shared: &Arc<Shared>,
    parts: &Parts,
    model: &str,
    body: &[u8],
) -> Response<MockBody> {
    if let Some(refused) = refuse_key(shared, parts) {
        return refused;
    }
    gemini_embeddings::batch_embed(shared, model, body).await
}

/// AI Studio's answer to a missing or wrong `x-goog-api-key`, or `None` to go on.
fn refuse_key(shared: &Shared, parts: &Parts) -> Option<Response<MockBody>> {
    let key = parts.headers.get(API_KEY).map(HeaderValue::as_bytes);
    if key.is_some() && shared.key_accepted(key) {
        return None;
    }
    let body = error_body(400, "API key not valid. Please pass a valid API key.", None);
    Some(respond::json(StatusCode::BAD_REQUEST, body))
}

/// Answers one authenticated generateContent request.
pub(crate) async fn generate(
    shared: &Arc<Shared>,
    parts: &Parts,
    call: ModelCall,
    body: &[u8],
    resume_seen: u64,
) -> Response<MockBody> {
    if call.stream && parts.uri.query() != Some("alt=sse") {
        let body = error_body(400, "this mock streams only with alt=sse", None);
        return respond::json(StatusCode::BAD_REQUEST, body);
    }
    let req = match GenerateRequest::parse(body) {
        Ok(req) => req,
        Err(message) => {
            return respond::json(StatusCode::BAD_REQUEST, error_body(400, &message, None));
        }
    };
    let behaviour = shared.behaviour_for(&call.model);
    let retry_after = behaviour.retry_after;
    if let Some(resp) = fault(&behaviour, |code| status_error_body(code, retry_after)).await {
        return resp;
    }

    let id = format!("mock-resp-{}", shared.next_id());
    let calls = plan(&behaviour.tool_calls, &req.tools, "");
    let text_chunks = behaviour.chunk_count(!calls.is_empty());
    let default_tokens = if call.stream {
        u64::try_from(text_chunks + calls.len()).unwrap_or(u64::MAX)
    } else {
        DEFAULT_JSON_COMPLETION_TOKENS
    };
    let wanted = behaviour.completion_tokens.unwrap_or(default_tokens);
    let output = req.max_tokens.map_or(wanted, |max| wanted.min(max));
    let finish_reason = if output < wanted {
        "MAX_TOKENS"
    } else {
        "STOP"
    };
    let usage = Usage {
        prompt: req.input_tokens + behaviour.cache_read_tokens.unwrap_or(0),
        candidates: output,
        cached: behaviour.cache_read_tokens.unwrap_or(0),
    };
    if call.stream {
        let stream = GeminiStream {
            id,
            model: call.model,
            text_chunks,
            calls,
            finish_reason,
            usage,
            error_status: behaviour.stream_error_type.clone(),
        };
        let timing = Timing::new(&behaviour, resume_seen);
        respond::event_stream(sse_body(Arc::clone(shared), timing, stream))
    } else {
        let text = json_text(&behaviour, &calls, output);
        let body = response_body(
            &id,
            &call.model,
            text.as_deref(),
            &calls,
            finish_reason,
            usage,
        );
        respond::json_after(behaviour.stall, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_model_and_method_from_the_path() {
        let c = model_call(
            "/v1beta/models/gemini-2.5-flash:generateContent",
            "/v1beta/models/",
        );
        assert_eq!(
            c,
            Some(ModelCall {
                model: "gemini-2.5-flash".into(),
                stream: false
            })
        );
        let s = model_call("/v1beta/models/g:streamGenerateContent", "/v1beta/models/").unwrap();
        assert!(s.stream);
        assert_eq!(
            model_call("/v1beta/models/g:countTokens", "/v1beta/models/"),
            None
        );
        assert_eq!(
            model_call("/v1beta/models/a/b:generateContent", "/v1beta/models/"),
            None
        );
        assert_eq!(model_call("/v1/chat/completions", "/v1beta/models/"), None);
    }
}
