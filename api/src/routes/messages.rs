//! `POST /v1/messages`: the Anthropic Messages API on the public listener, for Anthropic's
//! SDKs and the tools built on them. Same edge as chat completions (virtual key as `x-api-key`
//! or Bearer, body caps, model scoping, metrics), errors in Anthropic's shape.
//!
//! The body is validated twice over: strictly as a Messages request (every field known, no
//! override field), and its canonical chat form through [`ChatRequest`] like any chat
//! completion. An Anthropic provider then gets the validated Messages body itself; any other
//! provider the canonical request, its answer translated back (streams included).
//!
//! `POST /v1/messages/count_tokens` answers 501: counts depend on each provider's tokenizer,
//! which the gateway cannot reproduce, and a guess would be dishonest.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_engine::ingress::anthropic::{
    ChunkToEvents, error_body, to_chat_request, to_messages_response,
};
use portcullis_engine::provider::anthropic::ErrorKind;
use portcullis_engine::{
    ChatLimits, ChatReply, ChatRequest, EngineError, MessagesReply, OVERRIDE_FIELDS, ProviderSpec,
    RequestError, UpstreamClients, UpstreamError, strict_json,
};
use serde_json::{Map, Value};

use super::edge::{Admitted, Edge};
use crate::error::ApiError;
use crate::error::anthropic::{AnthropicSse, error_response};
use crate::governance::Admissible;
use crate::metrics::{self, ROUTE_MESSAGES};
use crate::state::AppState;

/// A validated Messages request and its canonical form.
struct MessagesCall {
    body: Map<String, Value>,
    chat: ChatRequest,
}

impl Admitted for MessagesCall {
    fn model(&self) -> &str {
        self.chat.model()
    }

    fn is_stream(&self) -> bool {
        self.chat.is_stream()
    }

    fn admissible(&mut self) -> &mut dyn Admissible {
        &mut self.chat
    }
}

fn parse(
    bytes: &[u8],
    max_depth: usize,
    limits: &ChatLimits,
) -> Result<MessagesCall, RequestError> {
    let Value::Object(body) = strict_json::parse_strict(bytes, max_depth)? else {
        return Err(RequestError::NotAnObject);
    };
    if let Some(field) = body
        .keys()
        .find(|k| OVERRIDE_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(k)))
    {
        return Err(RequestError::OverrideField(field.clone()));
    }
    let canonical = to_chat_request(&body)?;
    let chat = ChatRequest::from_object_with(canonical, limits)?;
    Ok(MessagesCall { body, chat })
}

pub(crate) async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    clients: web::Data<UpstreamClients>,
) -> HttpResponse {
    let mut edge = Edge::start(ROUTE_MESSAGES, &state, &req);
    let result = serve(&req, payload, &state, &clients, &mut edge).await;
    edge.respond(result, error_response)
}

async fn serve(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    clients: &UpstreamClients,
    edge: &mut Edge,
) -> Result<HttpResponse, ApiError> {
    let limits = state.limits.chat;
    let call = edge
        .admit(req, payload, state, |body, depth| {
            parse(body, depth, &limits).map_err(|e| EngineError::from(e).into())
        })
        .await?;
    // A fallback group is reached only if the key may use it too.
    let models = edge.models();
    let allows = |model: &str| models.allows(model);
    let reply =
        portcullis_engine::messages(&state.router, clients, &call.body, &call.chat, &allows)
            .await?;
    match reply {
        MessagesReply::Native(ChatReply::Json {
            body,
            usage,
            upstream,
            lease,
        }) => Ok(edge.json(body, usage, upstream, &lease)),
        MessagesReply::Native(ChatReply::Stream(stream)) => {
            Ok(edge.stream(stream, AnthropicSse::native))
        }
        MessagesReply::Canonical(ChatReply::Json {
            body,
            usage,
            upstream,
            lease,
        }) => {
            let (body, translated_usage) = to_messages_response(&body, call.chat.model())
                .map_err(|_| EngineError::from(UpstreamError::Malformed))?;
            let usage = usage.or(Some(translated_usage));
            Ok(edge.json(body, usage, upstream, &lease))
        }
        MessagesReply::Canonical(ChatReply::Stream(stream)) => {
            let max_event_bytes = clients
                .provider(stream.lease().provider)
                .map_or(ProviderSpec::DEFAULT_MAX_EVENT_BYTES, |p| {
                    p.spec.max_event_bytes
                });
            let events = ChunkToEvents::new(call.chat.model(), max_event_bytes);
            Ok(edge.stream(stream, |s| AnthropicSse::translated(s, events)))
        }
    }
}

/// `POST /v1/messages/count_tokens`: authenticated, then an honest 501.
pub(crate) async fn count_tokens(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Err(err) = state.auth.virtual_key(&req).await {
        metrics::error(ROUTE_MESSAGES, err.kind());
        return error_response(&err);
    }
    metrics::simple_request(ROUTE_MESSAGES, StatusCode::NOT_IMPLEMENTED.as_u16());
    let message = "count_tokens is not available through this gateway: token counts depend on \
                   each provider's tokenizer, which the gateway cannot reproduce exactly";
    HttpResponse::build(StatusCode::NOT_IMPLEMENTED)
        .content_type("application/json")
        .body(error_body(ErrorKind::InvalidRequest, message))
}
