//! Admin listener routes: `/metrics` and `/health/ready`, master key only.

use std::time::Duration;

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

/// How long `/health/ready` waits for the database to answer.
const DATABASE_PING_TIMEOUT: Duration = Duration::from_secs(1);

/// Ready when every provider actor is alive and the key store's database answers; 503 naming
/// what is not otherwise. The limiter's mode (`redis`, `local_fallback`, `memory`) is reported:
/// a replica whose Redis is down still serves (rate limits fall back to local buckets; budgets
/// fail closed as configured), so it stays in the balancer's rotation, and the mode says so.
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
    let database = match tokio::time::timeout(DATABASE_PING_TIMEOUT, state.stores.keys.ping()).await
    {
        Ok(Ok(())) => "ok",
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the key store's database did not answer");
            "unreachable"
        }
        Err(_) => "timeout",
    };
    let ready = stopped.is_empty() && database == "ok";
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "not_ready" },
        "models": state.models.len(),
        "providers": state.providers.len(),
        "stopped_providers": stopped,
        "storage": state.stores.backend,
        "database": database,
        "limiter": state.governance.limiter.mode().as_str(),
    });
    Ok(if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    })
}
