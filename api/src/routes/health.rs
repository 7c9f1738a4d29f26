//! `GET /health/live`: the only unauthenticated route. It says the process answers
//! HTTP and nothing else — no versions, providers or counts.

use actix_web::HttpResponse;

pub(crate) async fn live() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}
