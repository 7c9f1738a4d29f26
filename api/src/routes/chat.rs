//! `POST /v1/chat/completions`: authenticate, read and validate the body, check the key may
//! use the model, hand the request to the engine, and map the reply to JSON or SSE.
//! Metrics are recorded here and errors logged here, once.

use std::sync::Arc;
use std::time::Instant;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use portcullis_engine::{
    ChatReply, ChatRequest, EngineError, Fault, RequestId, StreamSummary, UpstreamClients,
};

use crate::body::read_json_body;
use crate::error::ApiError;
use crate::error::openai::OpenAiSse;
use crate::headers;
use crate::metrics::{self, ModelMetrics, ROUTE_CHAT};
use crate::state::AppState;

pub(crate) async fn completions(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    clients: web::Data<UpstreamClients>,
) -> HttpResponse {
    let started = Instant::now();
    let request_id = RequestId::random().to_string();
    let mut labels = Labels {
        metrics: state.chat_metrics.unrouted().clone(),
        stream: false,
    };
    let mut response = match serve(
        &req,
        payload,
        &state,
        &clients,
        started,
        &mut labels,
        &request_id,
    )
    .await
    {
        Ok(response) => response,
        Err(err) => {
            let response = err.error_response();
            let status = response.status().as_u16();
            labels
                .metrics
                .request(labels.stream, status, started.elapsed());
            metrics::error(ROUTE_CHAT, err.kind());
            log_error(&err, &request_id, status, labels.metrics.model());
            response
        }
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .insert(header::HeaderName::from_static(headers::REQUEST_ID), value);
    }
    response
}

/// Which metric handles a request records into; known once the body names its model.
struct Labels {
    metrics: Arc<ModelMetrics>,
    stream: bool,
}

async fn serve(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    clients: &UpstreamClients,
    started: Instant,
    labels: &mut Labels,
    request_id: &str,
) -> Result<HttpResponse, ApiError> {
    let key = state.auth.virtual_key(req).await?;
    let body = read_json_body(req, payload, state.limits).await?;
    let chat = ChatRequest::parse(&body, state.limits.max_json_depth).map_err(EngineError::from)?;
    labels.stream = chat.is_stream();
    if !key.models.allows(chat.model()) {
        return Err(ApiError::ModelNotAllowed(chat.model().to_owned()));
    }
    labels.metrics = state.chat_metrics.model(chat.model()).clone();
    let allows = |model: &str| key.models.allows(model);
    match portcullis_engine::chat_as(&state.router, clients, &chat, &allows).await? {
        ChatReply::Json {
            body,
            usage,
            upstream,
            lease,
        } => {
            let m = &labels.metrics;
            let total = started.elapsed();
            m.request(false, 200, total);
            m.upstream(lease.provider, &lease.provider_name, upstream);
            m.overhead(false, total.saturating_sub(upstream));
            if let Some(usage) = usage {
                m.tokens(usage.prompt_tokens, usage.completion_tokens);
            }
            Ok(HttpResponse::Ok()
                .content_type("application/json")
                .body(body))
        }
        ChatReply::Stream(mut stream) => {
            let m = labels.metrics.clone();
            let request_id = request_id.to_owned();
            stream.on_finish(move |summary| finish_stream(&m, &request_id, started, summary));
            Ok(HttpResponse::Ok()
                .content_type("text/event-stream")
                .insert_header((header::CACHE_CONTROL, "no-cache"))
                .streaming(OpenAiSse::new(stream)))
        }
    }
}

/// Records a finished stream: duration, TTFT, overhead up to the first token, tokens.
fn finish_stream(m: &ModelMetrics, request_id: &str, started: Instant, summary: StreamSummary) {
    m.request(true, 200, started.elapsed());
    m.upstream(
        summary.provider,
        &summary.provider_name,
        summary.upstream_total,
    );
    if let Some(first) = summary.first_forwarded {
        let ttft = first.saturating_duration_since(started);
        m.time_to_first_token(ttft);
        if let Some(upstream_first) = summary.upstream_first_byte {
            m.overhead(true, ttft.saturating_sub(upstream_first));
        }
    }
    if let Some(usage) = summary.usage {
        m.tokens(usage.prompt_tokens, usage.completion_tokens);
    }
    if summary.client_gone {
        m.client_disconnected();
    }
    if let Some(error) = summary.error {
        metrics::error(ROUTE_CHAT, error.kind());
        tracing::warn!(
            request_id,
            model = m.model(),
            kind = error.kind(),
            "stream ended early: {error}"
        );
    }
}

fn log_error(err: &ApiError, request_id: &str, status: u16, model: &str) {
    match err.fault() {
        Fault::Client => tracing::debug!(
            request_id,
            status,
            model,
            kind = err.kind(),
            "request refused: {err}"
        ),
        Fault::Upstream => tracing::warn!(
            request_id,
            status,
            model,
            kind = err.kind(),
            "upstream failed: {err}"
        ),
        Fault::Internal => tracing::error!(
            request_id,
            status,
            model,
            kind = err.kind(),
            "internal error: {err}"
        ),
    }
}
