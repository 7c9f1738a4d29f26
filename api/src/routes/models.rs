//! `GET /v1/models`: the models the caller's key may use, and nothing about where they run.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use crate::error::ApiError;
use crate::metrics;
use crate::state::AppState;

#[derive(Serialize)]
struct ModelList<'a> {
    object: &'static str,
    data: Vec<Model<'a>>,
}

#[derive(Serialize)]
struct Model<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    owned_by: &'static str,
}

pub(crate) async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let key = match state.auth.virtual_key(&req).await {
        Ok(key) => key,
        Err(e) => {
            metrics::simple_request("models", 401);
            return Err(e);
        }
    };
    let data = state
        .models
        .iter()
        .filter(|m| key.models.allows(m))
        .map(|m| Model {
            id: m,
            object: "model",
            created: state.started_unix,
            owned_by: "portcullis",
        })
        .collect();
    metrics::simple_request("models", 200);
    Ok(HttpResponse::Ok().json(ModelList {
        object: "list",
        data,
    }))
}
