//! `GET /admin/deployments` (admin listener, master key): every provider's deployments with
//! their breaker state, in-flight count, latency average and cool-down — read from the shared
//! table, so the answer costs no actor round trip. Names only: never a base URL or a
//! credential (the table holds neither).

use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_engine::{BreakerState, DeploymentStatus};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

pub(crate) async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.auth.require_master(&req)?;
    let deployments: Vec<Value> = state.router.statuses().iter().map(view).collect();
    Ok(HttpResponse::Ok().json(json!({ "deployments": deployments })))
}

fn view(d: &DeploymentStatus) -> Value {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let trips = match d.breaker {
        BreakerState::Open { trips, .. } | BreakerState::HalfOpen { trips } => trips,
        BreakerState::Closed => 0,
    };
    json!({
        "id": d.id.0,
        "provider": &*d.provider_name,
        "model": d.group.as_deref(),
        "upstream_model": &*d.upstream_model,
        "breaker": d.breaker.as_str(),
        "breaker_trips": trips,
        "breaker_open_for_ms": d.breaker_open_for.map(ms),
        "in_flight": d.in_flight,
        "ewma_latency_ms": d.ewma_latency.map(ms),
        "cooldown_ms": d.cooldown.map(ms),
        "cooldowns": d.cooldowns,
    })
}
