//! Answers for paths and methods nobody routes: OpenAI-shaped 404 and 405.

use actix_web::HttpResponse;
use actix_web::ResponseError;

use crate::error::ApiError;

pub(crate) async fn not_found() -> HttpResponse {
    ApiError::NotFound.error_response()
}

pub(crate) async fn method_not_allowed() -> HttpResponse {
    ApiError::MethodNotAllowed.error_response()
}
