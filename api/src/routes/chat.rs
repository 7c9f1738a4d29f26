//! `POST /v1/chat/completions`: authenticate, read and validate the body, check the key may
//! use the model, hand the request to the engine, and map the reply to JSON or SSE.
//! Metrics are recorded here and errors logged here, once. Every request that got past
//! authentication leaves one spend record (failures included); a JSON answer carries its
//! cost in `x-portcullis-cost-usd`.

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
use crate::governance::{self, Governed};
use crate::headers;
use crate::metrics::{self, ModelMetrics, ROUTE_CHAT};
use crate::spend::{Caller, Outcome};
use crate::state::AppState;
use portcullis_engine::cost::MicroUsd;

/// Longest model name kept in a spend record for a request that named no configured model.
const MAX_RECORDED_MODEL_CHARS: usize = 256;

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
        caller: None,
        model: None,
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
            if let Some(caller) = &labels.caller {
                state.spend.record(
                    caller,
                    Outcome {
                        request_id: &request_id,
                        model_group: labels.model.as_deref().unwrap_or_default(),
                        deployment: None,
                        usage: None,
                        latency: started.elapsed(),
                        status,
                    },
                );
            }
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
    /// Known once the key is accepted.
    caller: Option<Caller>,
    /// The model the body asked for.
    model: Option<String>,
}

async fn serve(
    req: &HttpRequest,
    payload: web::Payload,
    state: &web::Data<AppState>,
    clients: &UpstreamClients,
    started: Instant,
    labels: &mut Labels,
    request_id: &str,
) -> Result<HttpResponse, ApiError> {
    let key = state.auth.virtual_key(req).await?;
    labels.caller = Some(Caller {
        key: key.id.clone(),
        team: key.team.clone(),
    });
    let body = read_json_body(req, payload, state.limits).await?;
    let mut chat =
        ChatRequest::parse(&body, state.limits.max_json_depth).map_err(EngineError::from)?;
    labels.stream = chat.is_stream();
    labels.model = Some(
        chat.model()
            .chars()
            .take(MAX_RECORDED_MODEL_CHARS)
            .collect(),
    );
    if !key.models.allows(chat.model()) {
        return Err(ApiError::ModelNotAllowed(chat.model().to_owned()));
    }
    labels.metrics = state.chat_metrics.model(chat.model()).clone();
    let governed =
        governance::admit(&state.governance, &key, &mut chat, request_id, unix_ms()).await?;
    // From here every exit settles `governed` or drops it (which releases the reservation).
    match portcullis_engine::chat(&state.router, clients, &chat).await? {
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
            let mut response = HttpResponse::Ok();
            response.content_type("application/json");
            let cost = usage.and_then(|u| state.spend.cost(lease.deployment, &u));
            if let Some(cost) = cost {
                response.insert_header((headers::COST_USD, cost.to_string()));
            }
            if let Some(governed) = governed {
                governance::rate_limit_headers(&mut response, governed.buckets());
                governed.settle(usage, 0, cost);
            }
            if let Some(caller) = &labels.caller {
                state.spend.record(
                    caller,
                    Outcome {
                        request_id,
                        model_group: chat.model(),
                        deployment: Some((lease.deployment, &lease.upstream_model)),
                        usage,
                        latency: total,
                        status: 200,
                    },
                );
            }
            Ok(response.body(body))
        }
        ChatReply::Stream(mut stream) => {
            let m = labels.metrics.clone();
            let request_id = request_id.to_owned();
            let mut response = HttpResponse::Ok();
            if let Some(governed) = &governed {
                governance::rate_limit_headers(&mut response, governed.buckets());
            }
            let lease = stream.lease().clone();
            let spend_state = state.clone();
            let caller = labels.caller.clone();
            let model = chat.model().to_owned();
            stream.on_finish(move |summary| {
                if let Some(governed) = governed {
                    let cost = summary
                        .usage
                        .and_then(|u| spend_state.spend.cost(lease.deployment, &u));
                    settle_stream(governed, &summary, cost);
                }
                if let Some(caller) = &caller {
                    spend_state.spend.record(
                        caller,
                        Outcome {
                            request_id: &request_id,
                            model_group: &model,
                            deployment: Some((lease.deployment, &lease.upstream_model)),
                            usage: summary.usage,
                            latency: started.elapsed(),
                            status: 200,
                        },
                    );
                }
                finish_stream(&m, &request_id, started, summary);
            });
            Ok(response
                .content_type("text/event-stream")
                .insert_header((header::CACHE_CONTROL, "no-cache"))
                .streaming(OpenAiSse::new(stream)))
        }
    }
}

/// Settles a finished stream with its true usage; a stream that failed before anything reached
/// the client releases its reservation; one cut after that is charged its prompt estimate and
/// one token per event relayed.
fn settle_stream(governed: Governed, summary: &StreamSummary, cost: Option<MicroUsd>) {
    if summary.usage.is_none() && summary.first_forwarded.is_none() {
        drop(governed);
    } else {
        governed.settle(summary.usage, summary.events, cost);
    }
}

/// Unix time in milliseconds (budget periods follow the calendar).
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
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
