//! `POST /v1/embeddings`: the shared [`Edge`] (authenticate, read, validate, authorize the
//! model, admit its input tokens against rate limits and budgets), the engine's embeddings
//! dispatch (the same retry and fallback loop as chat), and the OpenAI `list` body with its
//! cost header and spend record. Errors are OpenAI-shaped, recorded and logged by the edge.

use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use portcullis_engine::{EmbeddingsReply, EmbeddingsRequest, EngineError, UpstreamClients};

use super::edge::{Admitted, Edge};
use crate::error::ApiError;
use crate::governance::Admissible;
use crate::metrics::ROUTE_EMBEDDINGS;
use crate::state::AppState;

impl Admitted for EmbeddingsRequest {
    fn model(&self) -> &str {
        EmbeddingsRequest::model(self)
    }

    fn is_stream(&self) -> bool {
        false
    }

    fn admissible(&mut self) -> &mut dyn Admissible {
        self
    }
}

pub(crate) async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    clients: web::Data<UpstreamClients>,
) -> HttpResponse {
    let mut edge = Edge::start(ROUTE_EMBEDDINGS, &state, &req);
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
    let request = edge
        .admit(req, payload, state, |body, depth| {
            EmbeddingsRequest::parse(body, depth).map_err(|e| EngineError::from(e).into())
        })
        .await?;
    let models = edge.models();
    let allows = |model: &str| models.allows(model);
    let EmbeddingsReply {
        body,
        usage,
        upstream,
        lease,
    } = portcullis_engine::embeddings_as(&state.router, clients, &request, &allows).await?;
    Ok(edge.json(body, usage, upstream, &lease))
}
