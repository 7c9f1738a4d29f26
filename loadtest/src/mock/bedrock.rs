//! `POST /model/{modelId}/converse` and `/converse-stream`: the mock
//! speaking AWS Bedrock's Converse API. Checks the SigV4 `Authorization`
//! (see [`super::bedrock_sigv4`]), takes the scripted behaviour for the
//! path's model id (the same scripts as the other dialects), and answers as
//! Bedrock would (JSON, or ConverseStream in real event-stream frames), or
//! fails as scripted with Bedrock's `x-amzn-ErrorType` and `{"message"}`.
//! Like Bedrock, it refuses `toolUse`/`toolResult` blocks without a
//! `toolConfig`; a turn handing back tool results is answered with text.

use std::sync::Arc;

use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderName, HeaderValue, Response, StatusCode};

use super::DEFAULT_JSON_COMPLETION_TOKENS;
use super::bedrock_sigv4::check;
use super::bedrock_stream::BedrockStream;
use super::bedrock_wire::{
    ConverseRequest, Usage, converse_body, error_body, status_error, status_error_body,
};
use super::respond::{self, MockBody};
use super::service::fault;
use super::sse::{Timing, sse_body};
use super::state::Shared;
use super::tools::{PlannedCall, json_text, plan};

/// The header naming a Bedrock error.
const ERROR_TYPE: HeaderName = HeaderName::from_static("x-amzn-errortype");
/// ConverseStream's content type.
const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";

/// The model id and whether it streams, for a Converse path.
pub(crate) fn route(path: &str) -> Option<(String, bool)> {
    let rest = path.strip_prefix("/model/")?;
    let (id, stream) = if let Some(id) = rest.strip_suffix("/converse-stream") {
        (id, true)
    } else {
        (rest.strip_suffix("/converse")?, false)
    };
    (!id.is_empty() && !id.contains('/')).then(|| (decode(id), stream))
}

pub(super) fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A Bedrock error answer.
pub(super) fn error(status: StatusCode, kind: &str, message: &str) -> Response<MockBody> {
    let mut resp = respond::json(status, error_body(message));
    with_error_type(&mut resp, kind);
    resp
}

pub(super) fn with_error_type(resp: &mut Response<MockBody>, kind: &str) {
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"
    )) {
        resp.headers_mut().insert(ERROR_TYPE, value);
    }
}

/// Bedrock's `403` when the request's SigV4 signature does not pass.
pub(super) fn check_signature(
    shared: &Shared,
    parts: &Parts,
    body: &[u8],
) -> Option<Response<MockBody>> {
    check(parts, body, shared.aws_credentials().as_ref())
        .err()
        .map(|(kind, message)| error(StatusCode::FORBIDDEN, kind, message))
}

/// Answers one Converse request for `model`.
pub(crate) async fn converse(
    shared: &Arc<Shared>,
    parts: &Parts,
    body: &[u8],
    resume_seen: u64,
    (model, stream): (String, bool),
) -> Response<MockBody> {
    if let Some(refused) = check_signature(shared, parts, body) {
        return refused;
    }
    let req = match ConverseRequest::parse(body) {
        Ok(req) => req,
        Err(message) => return error(StatusCode::BAD_REQUEST, "ValidationException", &message),
    };
    let behaviour = shared.behaviour_for(&model);
    if let Some(mut resp) = fault(&behaviour, status_error_body).await {
        let status = resp.status().as_u16();
        if status >= 400 {
            with_error_type(&mut resp, status_error(status).0);
        }
        return resp;
    }
    let n = shared.next_id();
    // Tool results are answered with text, as a model would (and a client's loop ends).
    let offered: &[String] = if req.after_tool_results {
        &[]
    } else {
        &req.tools
    };
    let calls = plan(
        &behaviour.tool_calls,
        offered,
        &format!("tooluse_mock_{n}_"),
    );
    let text_chunks = behaviour.chunk_count(!calls.is_empty());
    let default_tokens = if stream {
        let pieces: usize = calls.iter().map(PlannedCall::piece_count).sum();
        u64::try_from(text_chunks + pieces).unwrap_or(u64::MAX)
    } else {
        DEFAULT_JSON_COMPLETION_TOKENS
    };
    let wanted = behaviour.completion_tokens.unwrap_or(default_tokens);
    let output_tokens = req.max_tokens.map_or(wanted, |m| wanted.min(m));
    let stop_reason = if output_tokens < wanted {
        "max_tokens"
    } else if calls.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    };
    let usage = Usage {
        input_tokens: req.input_tokens,
        output_tokens,
        cache_read_input_tokens: behaviour.cache_read_tokens.unwrap_or(0),
        cache_write_input_tokens: behaviour.cache_write_tokens.unwrap_or(0),
    };
    if stream {
        let source = BedrockStream {
            text_chunks,
            calls,
            stop_reason,
            usage,
            error_type: behaviour.stream_error_type.clone(),
        };
        let timing = Timing::new(&behaviour, resume_seen);
        let mut resp = respond::event_stream(sse_body(Arc::clone(shared), timing, source));
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(EVENT_STREAM));
        resp
    } else {
        let text = json_text(&behaviour, &calls, output_tokens);
        let body = converse_body(text.as_deref(), &calls, stop_reason, usage);
        respond::json_after(behaviour.stall, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converse_paths_name_the_decoded_model_and_the_mode() {
        assert_eq!(
            route("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"),
            Some(("anthropic.claude-3-5-sonnet-20240620-v1:0".into(), false))
        );
        assert_eq!(
            route("/model/us.amazon.nova-pro-v1%3A0/converse-stream"),
            Some(("us.amazon.nova-pro-v1:0".into(), true))
        );
        assert_eq!(route("/model//converse"), None);
        assert_eq!(route("/model/a/b/converse"), None);
        assert_eq!(route("/v1/chat/completions"), None);
    }
}
