//! Answers for paths and methods nobody routes: 404 and 405, in the path's dialect. A 405 is given
//! only to a caller with a valid credential for the listener; anyone else gets the 401 the
//! route itself would give, so methods do not reveal which paths exist.

use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::error::ApiError;
use crate::state::AppState;

pub(crate) async fn not_found() -> HttpResponse {
    ApiError::NotFound.error_response()
}

/// Another method on a known data-plane path.
pub(crate) async fn method_not_allowed_public(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> HttpResponse {
    let err = match state.auth.virtual_key(&req).await {
        Ok(_) => ApiError::MethodNotAllowed,
        Err(err) => err,
    };
    // In the dialect of the path: Anthropic clients read Anthropic's error shape.
    if req.path().starts_with("/v1/messages") {
        crate::error::anthropic::error_response(&err)
    } else {
        err.error_response()
    }
}

/// Another method on a known admin path.
pub(crate) async fn method_not_allowed_admin(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> HttpResponse {
    match state.auth.require_master(&req) {
        Ok(()) => ApiError::MethodNotAllowed.error_response(),
        Err(err) => err.error_response(),
    }
}
