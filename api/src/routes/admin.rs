//! Admin listener routes: `/metrics` and `/health/ready`, master key only.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;
use crate::state::AppState;

fn require_master(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    state.auth.require_master(req)
}

/// Prometheus text exposition.
pub(crate) async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_master(&req, &state)?;
    let handle = state
        .metrics
        .as_ref()
        .ok_or(ApiError::Internal("metrics recorder not installed"))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle.render()))
}

/// Ready when every provider actor is alive; 503 naming the stopped ones otherwise.
pub(crate) async fn ready(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_master(&req, &state)?;
    let stopped: Vec<&str> = state
        .router
        .stopped_providers()
        .into_iter()
        .filter_map(|id| state.providers.get(id).map(|p| &*p.spec.name))
        .collect();
    let body = serde_json::json!({
        "status": if stopped.is_empty() { "ready" } else { "not_ready" },
        "models": state.models.len(),
        "providers": state.providers.len(),
        "stopped_providers": stopped,
        "limiter": state.governance.limiter.mode().as_str(),
    });
    Ok(if stopped.is_empty() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    })
}
