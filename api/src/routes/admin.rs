//! Admin listener routes: `/metrics` and `/health/ready`, master key only.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;
use crate::state::AppState;

fn require_master(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    if state.auth.is_master(req) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// Prometheus text exposition.
pub async fn metrics(
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

/// Ready when the provider actors are up and answering.
pub async fn ready(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    require_master(&req, &state)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "status": "ready",
        "models": state.models.len(),
        "providers": state.providers.len(),
    })))
}
