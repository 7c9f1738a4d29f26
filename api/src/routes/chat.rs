//! `POST /v1/chat/completions`: the shared [`Edge`] (authenticate, read, validate, authorize),
//! the engine's chat completion, and the reply as OpenAI JSON or SSE. Metrics are recorded
//! and errors logged by the edge, once.

use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use portcullis_engine::{ChatReply, ChatRequest, EngineError, UpstreamClients};

use super::edge::{Admitted, Edge};
use crate::error::ApiError;
use crate::error::openai::OpenAiSse;
use crate::governance::Admissible;
use crate::metrics::ROUTE_CHAT;
use crate::state::AppState;

impl Admitted for ChatRequest {
    fn model(&self) -> &str {
        ChatRequest::model(self)
    }

    fn is_stream(&self) -> bool {
        ChatRequest::is_stream(self)
    }

    fn admissible(&mut self) -> &mut dyn Admissible {
        self
    }
}

pub(crate) async fn completions(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    clients: web::Data<UpstreamClients>,
) -> HttpResponse {
    let mut edge = Edge::start(ROUTE_CHAT, &state, &req);
    let result = serve(&req, payload, &state, &clients, &mut edge).await;
    edge.respond(result, ApiError::error_response)
}

async fn serve(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    clients: &UpstreamClients,
    edge: &mut Edge,
) -> Result<HttpResponse, ApiError> {
    let limits = state.limits.chat;
    let chat = edge
        .admit(req, payload, state, |body, depth| {
            ChatRequest::parse_with(body, depth, &limits).map_err(|e| EngineError::from(e).into())
        })
        .await?;
    // A fallback group is reached only if the key may use it too.
    let models = edge.models();
    let allows = |model: &str| models.allows(model);
    match portcullis_engine::chat_as(&state.router, clients, &chat, &allows).await? {
        ChatReply::Json {
            body,
            usage,
            upstream,
            lease,
        } => Ok(edge.json(body, usage, upstream, &lease)),
        ChatReply::Stream(stream) => Ok(edge.stream(stream, OpenAiSse::new)),
    }
}
