//! `/admin/config`: the running config's version, and reloading it from its file.
//!
//! A reload that fails (the file does not load, or changes what takes a restart) is a 400
//! saying why; the running config goes on serving. A successful one is audited with the
//! versions before and after.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{audit, parse_body, require_master};
use crate::error::ApiError;
use crate::reload::{ReloadError, Reloader};
use crate::state::AppState;

/// `POST /admin/config/reload` takes no fields (an empty body or `{}`).
pub(crate) const RELOAD_FIELDS: &[&str] = &[];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reload {}

pub(crate) async fn status(
    req: HttpRequest,
    state: web::Data<AppState>,
    reloader: web::Data<Reloader>,
) -> Result<HttpResponse, ApiError> {
    require_master(&req, &state)?;
    Ok(HttpResponse::Ok().json(reloader.status()))
}

pub(crate) async fn reload(
    req: HttpRequest,
    state: web::Data<AppState>,
    reloader: web::Data<Reloader>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_master(&req, &state)?;
    let Reload {} = parse_body(&body)?;
    let before = reloader.status().version;
    let after = Reloader::reload(&reloader).await.map_err(|e| match e {
        ReloadError::Stopping => ApiError::Overloaded,
        other => ApiError::invalid(other.to_string(), None),
    })?;
    audit(
        &state,
        "config.reload",
        "config".to_owned(),
        Some(json!({ "version": before })),
        Some(json!({ "version": after.version })),
    )
    .await?;
    Ok(HttpResponse::Ok().json(after))
}
