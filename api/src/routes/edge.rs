//! The edge every model route shares: request id, authenticate, read the body, parse it in
//! the route's dialect, authorize the model, then (after the route called the engine) record
//! metrics, log an error once, and render it in the route's wire shape.
//!
//! A route supplies only what differs: how its body becomes a request ([`Admitted`]), which
//! engine call serves it, and how its replies and errors are written.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use futures_util::Stream;
use portcullis_engine::{Fault, Lease, RelayStream, RequestId, StreamSummary, Usage};

use crate::body::read_json_body;
use crate::error::ApiError;
use crate::headers;
use crate::metrics::{self, ModelMetrics};
use crate::state::AppState;

/// A parsed, validated request: what the edge needs to authorize and label it.
pub(crate) trait Admitted {
    /// The public model name asked for.
    fn model(&self) -> &str;
    fn is_stream(&self) -> bool;
}

/// One request's passage through the edge.
pub(crate) struct Edge {
    route: &'static str,
    started: Instant,
    request_id: String,
    metrics: Arc<ModelMetrics>,
    stream: bool,
}

impl Edge {
    pub(crate) fn start(route: &'static str, state: &AppState) -> Self {
        Self {
            route,
            started: Instant::now(),
            request_id: RequestId::random().to_string(),
            metrics: state.chat_metrics.unrouted().clone(),
            stream: false,
        }
    }

    /// Authenticates, reads the body, parses it with `parse` (given the body and the JSON
    /// depth cap) and checks the key may use the model.
    pub(crate) async fn admit<R: Admitted>(
        &mut self,
        req: &HttpRequest,
        payload: web::Payload,
        state: &AppState,
        parse: impl FnOnce(&[u8], usize) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let key = state.auth.virtual_key(req).await?;
        let body = read_json_body(req, payload, state.limits).await?;
        let request = parse(&body, state.limits.max_json_depth)?;
        self.stream = request.is_stream();
        if !key.models.allows(request.model()) {
            return Err(ApiError::ModelNotAllowed(request.model().to_owned()));
        }
        self.metrics = state.chat_metrics.model(request.model()).clone();
        Ok(request)
    }

    /// A complete JSON answer, with its metrics recorded.
    pub(crate) fn json(
        &self,
        body: impl Into<Bytes>,
        usage: Option<Usage>,
        upstream: Duration,
        lease: &Lease,
    ) -> HttpResponse {
        let m = &self.metrics;
        let total = self.started.elapsed();
        m.request(false, 200, total);
        m.upstream(lease.provider, &lease.provider_name, upstream);
        m.overhead(false, total.saturating_sub(upstream));
        if let Some(usage) = usage {
            m.tokens(usage.prompt_tokens, usage.completion_tokens);
        }
        HttpResponse::Ok()
            .content_type("application/json")
            .body(body.into())
    }

    /// An SSE answer over `stream`, whose metrics are recorded when it ends. `render` turns
    /// the engine's stream into the client's wire bytes.
    pub(crate) fn stream<S>(
        &self,
        mut stream: RelayStream,
        render: impl FnOnce(RelayStream) -> S,
    ) -> HttpResponse
    where
        S: Stream<Item = Result<Bytes, std::convert::Infallible>> + 'static,
    {
        let m = self.metrics.clone();
        let (route, request_id, started) = (self.route, self.request_id.clone(), self.started);
        stream.on_finish(move |summary| finish_stream(&m, route, &request_id, started, summary));
        HttpResponse::Ok()
            .content_type("text/event-stream")
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .streaming(render(stream))
    }

    /// The response to send: `result`, or its error rendered by `render_error` (counted and
    /// logged once here), with the request id set.
    pub(crate) fn respond(
        self,
        result: Result<HttpResponse, ApiError>,
        render_error: impl FnOnce(&ApiError) -> HttpResponse,
    ) -> HttpResponse {
        let mut response = match result {
            Ok(response) => response,
            Err(err) => {
                let response = render_error(&err);
                let status = response.status().as_u16();
                self.metrics
                    .request(self.stream, status, self.started.elapsed());
                metrics::error(self.route, err.kind());
                log_error(&err, &self.request_id, status, self.metrics.model());
                response
            }
        };
        if let Ok(value) = HeaderValue::from_str(&self.request_id) {
            response
                .headers_mut()
                .insert(header::HeaderName::from_static(headers::REQUEST_ID), value);
        }
        response
    }
}

/// Records a finished stream: duration, TTFT, overhead up to the first token, tokens.
fn finish_stream(
    m: &ModelMetrics,
    route: &'static str,
    request_id: &str,
    started: Instant,
    summary: StreamSummary,
) {
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
        metrics::error(route, error.kind());
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
