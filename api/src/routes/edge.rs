//! The edge every model route shares: request id, authenticate, read the body, parse it in
//! the route's dialect, authorize the model, admit it against rate limits and budgets; then
//! (after the route called the engine) settle the admission, price the answer
//! (`x-portcullis-cost-usd`), leave one spend record (failures included), record metrics, log
//! an error once, and render it in the route's wire shape.
//!
//! A route supplies only what differs: how its body becomes a request ([`Admitted`]), which
//! engine call serves it, and how its replies and errors are written. No route that reaches a
//! provider can skip admission: it is part of [`Edge::admit`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use futures_util::Stream;
use portcullis_engine::cost::MicroUsd;
use portcullis_engine::{Fault, Lease, RelayStream, RequestId, StreamSummary, Usage};
use portcullis_storage::ModelAccess;

use crate::body::read_json_body;
use crate::error::ApiError;
use crate::governance::{self, Admissible, Governed};
use crate::headers;
use crate::metrics::{self, ChatMetrics, ModelMetrics};
use crate::spend::{Caller, Outcome};
use crate::state::AppState;

/// Longest model name kept in a spend record for a request that named no configured model.
const MAX_RECORDED_MODEL_CHARS: usize = 256;

/// A parsed, validated request: what the edge needs to authorize, admit and label it.
pub(crate) trait Admitted {
    /// The public model name asked for.
    fn model(&self) -> &str;
    fn is_stream(&self) -> bool;
    /// What admission reads: it estimates the tokens and may bound the completion.
    fn admissible(&mut self) -> &mut dyn Admissible;
}

/// One request's passage through the edge.
pub(crate) struct Edge {
    route: &'static str,
    started: Instant,
    request_id: String,
    /// The request id is the client's `x-request-id`: admission must not use it as the
    /// limiter's reservation id (see [`Edge::admit`]).
    client_chose_id: bool,
    metrics: Arc<ModelMetrics>,
    stream: bool,
    state: web::Data<AppState>,
    /// Known once the key is accepted: every later exit leaves a spend record.
    caller: Option<Caller>,
    model: Option<String>,
    /// The admission; settled with the answer, or released when the edge is dropped.
    governed: Option<Governed>,
    /// The models the key may use (fallbacks must be among them).
    models: ModelAccess,
}

impl std::fmt::Debug for Edge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Edge")
            .field("route", &self.route)
            .field("request_id", &self.request_id)
            .finish_non_exhaustive()
    }
}

impl Edge {
    /// Starts the edge of one request. Its id is the client's `x-request-id` when that is a
    /// plain token (see [`client_request_id`]), else a fresh one; either way it is returned in
    /// the response, recorded in the spend log and logs, and never sent upstream.
    pub(crate) fn start(
        route: &'static str,
        state: &web::Data<AppState>,
        req: &HttpRequest,
    ) -> Self {
        let client_id = client_request_id(req);
        Self {
            route,
            started: Instant::now(),
            client_chose_id: client_id.is_some(),
            request_id: client_id.map_or_else(|| RequestId::random().to_string(), str::to_owned),
            metrics: route_metrics(state, route).unrouted().clone(),
            stream: false,
            state: state.clone(),
            caller: None,
            model: None,
            governed: None,
            models: ModelAccess::Only(Vec::new()),
        }
    }

    /// The models the admitted key may use.
    pub(crate) fn models(&self) -> ModelAccess {
        self.models.clone()
    }

    /// Authenticates, reads the body, parses it with `parse` (given the body and the JSON
    /// depth cap), checks the key may use the model, and admits it against every rate limit,
    /// parallel cap and budget that applies.
    pub(crate) async fn admit<R: Admitted>(
        &mut self,
        req: &HttpRequest,
        payload: web::Payload,
        state: &AppState,
        parse: impl FnOnce(&[u8], usize) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let key = state.auth.virtual_key(req).await?;
        self.caller = Some(Caller {
            key: key.id.clone(),
            team: key.team.clone(),
        });
        let body = read_json_body(req, payload, state.limits).await?;
        let mut request = parse(&body, state.limits.max_json_depth)?;
        self.stream = request.is_stream();
        self.model = Some(
            request
                .model()
                .chars()
                .take(MAX_RECORDED_MODEL_CHARS)
                .collect(),
        );
        crate::telemetry::span_request(
            self.route,
            self.model.as_deref().unwrap_or_default(),
            &self.request_id,
        );
        if !key.models.allows(request.model()) {
            return Err(ApiError::ModelNotAllowed(request.model().to_owned()));
        }
        self.models = key.models.clone();
        self.metrics = route_metrics(state, self.route)
            .model(request.model())
            .clone();
        // The limiter keys a reservation (its budget amounts, parallel slots and lease) by
        // this id, and admitting an id again replaces its reservation: a client reusing one
        // `x-request-id` across concurrent requests would share one reservation among them.
        // So a client-chosen id is never the reservation's; a gateway-made one is unique.
        let fresh;
        let reservation_id = if self.client_chose_id {
            fresh = RequestId::random().to_string();
            &fresh
        } else {
            &self.request_id
        };
        self.governed = governance::admit(
            &state.governance,
            &key,
            request.admissible(),
            reservation_id,
            unix_ms(),
        )
        .await?;
        Ok(request)
    }

    /// A complete JSON answer: admission settled, cost header, spend record, metrics.
    pub(crate) fn json(
        &mut self,
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
            crate::telemetry::span_tokens(usage.prompt_tokens, usage.completion_tokens);
        }
        let mut response = HttpResponse::Ok();
        response.content_type("application/json");
        let spend = &self.state.spend;
        let cost = usage.and_then(|u| spend.cost(lease.deployment, &u));
        if let Some(cost) = cost {
            response.insert_header((headers::COST_USD, cost.to_string()));
        }
        let mut charged = None;
        if let Some(governed) = self.governed.take() {
            governance::rate_limit_headers(&mut response, governed.buckets());
            charged = governed.settle(usage, 0, cost);
        }
        if let Some(caller) = &self.caller {
            spend.record(
                caller,
                Outcome {
                    request_id: &self.request_id,
                    model_group: self.model.as_deref().unwrap_or_default(),
                    deployment: Some((lease.deployment, &lease.upstream_model)),
                    usage,
                    charged,
                    latency: total,
                    status: 200,
                },
            );
        }
        response.body(body.into())
    }

    /// An SSE answer over `stream`, whose metrics are recorded when it ends. `render` turns
    /// the engine's stream into the client's wire bytes.
    pub(crate) fn stream<S>(
        &mut self,
        mut stream: RelayStream,
        render: impl FnOnce(RelayStream) -> S,
    ) -> HttpResponse
    where
        S: Stream<Item = Result<Bytes, std::convert::Infallible>> + 'static,
    {
        let m = self.metrics.clone();
        let (route, request_id, started) = (self.route, self.request_id.clone(), self.started);
        let mut response = HttpResponse::Ok();
        let governed = self.governed.take();
        if let Some(governed) = &governed {
            governance::rate_limit_headers(&mut response, governed.buckets());
        }
        let state = self.state.clone();
        let caller = self.caller.clone();
        let model = self.model.clone().unwrap_or_default();
        let lease = stream.lease().clone();
        stream.on_finish(move |summary| {
            let cost = summary
                .usage
                .and_then(|u| state.spend.cost(lease.deployment, &u));
            let charged = governed.and_then(|g| settle_stream(g, &summary, cost));
            if let Some(caller) = &caller {
                state.spend.record(
                    caller,
                    Outcome {
                        request_id: &request_id,
                        model_group: &model,
                        deployment: Some((lease.deployment, &lease.upstream_model)),
                        usage: summary.usage,
                        charged,
                        latency: started.elapsed(),
                        status: 200,
                    },
                );
            }
            finish_stream(&m, route, &request_id, started, summary);
        });
        response
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
                crate::telemetry::span_error(err.kind());
                log_error(&err, &self.request_id, status, self.metrics.model());
                if let Some(caller) = &self.caller {
                    self.state.spend.record(
                        caller,
                        Outcome {
                            request_id: &self.request_id,
                            model_group: self.model.as_deref().unwrap_or_default(),
                            deployment: None,
                            usage: None,
                            charged: None,
                            latency: self.started.elapsed(),
                            status,
                        },
                    );
                }
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

/// Settles a finished stream with its true usage; a stream that failed before anything reached
/// the client releases its reservation; one cut after that is charged its prompt estimate and
/// one token per event relayed.
fn settle_stream(
    governed: Governed,
    summary: &StreamSummary,
    cost: Option<MicroUsd>,
) -> Option<MicroUsd> {
    if summary.usage.is_none() && summary.first_forwarded.is_none() {
        drop(governed);
        None
    } else {
        governed.settle(summary.usage, summary.events, cost)
    }
}

/// The metric handles of `route`: embeddings have their own; chat completions and the
/// Messages ingress, which serve the same models, share theirs.
fn route_metrics<'a>(state: &'a AppState, route: &'static str) -> &'a ChatMetrics {
    if route == metrics::ROUTE_EMBEDDINGS {
        &state.embedding_metrics
    } else {
        &state.chat_metrics
    }
}

/// Longest client-chosen request id accepted.
const MAX_REQUEST_ID_CHARS: usize = 64;

/// The client's `x-request-id`, if it is one header of 1 to [`MAX_REQUEST_ID_CHARS`] letters,
/// digits, `-`, `_`, `.` or `:` (a UUID, a ULID, a trace id): nothing that could split a log
/// line or a header, or be mistaken for another field. Anything else is replaced.
fn client_request_id(req: &HttpRequest) -> Option<&str> {
    let mut values = req.headers().get_all(headers::REQUEST_ID);
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let id = value.to_str().ok()?;
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    (!id.is_empty() && id.len() <= MAX_REQUEST_ID_CHARS && id.chars().all(plain)).then_some(id)
}

/// Unix time in milliseconds (budget periods follow the calendar).
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
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
