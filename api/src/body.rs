//! Reading a request body under the gateway's limits: a size cap enforced from the
//! `Content-Length` header before reading and again while reading, and a deadline for the
//! whole body, so slow or oversized uploads cost a bounded amount of memory and time.

use actix_web::HttpRequest;
use actix_web::http::header;
use actix_web::web::{self, BytesMut};
use futures_util::StreamExt;

use crate::error::ApiError;
use crate::state::RequestLimits;

/// Reads the whole body, or fails with 413 / 408 / 400.
pub(crate) async fn read_json_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limits: RequestLimits,
) -> Result<web::Bytes, ApiError> {
    if let Some(content_type) = req.headers().get(header::CONTENT_TYPE) {
        let is_json = content_type
            .to_str()
            .ok()
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limits.max_body_bytes) {
        return Err(ApiError::PayloadTooLarge(limits.max_body_bytes));
    }
    let read = async {
        let mut body = BytesMut::with_capacity(declared.unwrap_or(1024).min(limits.max_body_bytes));
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| ApiError::BodyRead)?;
            if body.len() + chunk.len() > limits.max_body_bytes {
                return Err(ApiError::PayloadTooLarge(limits.max_body_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    tokio::time::timeout(limits.body_timeout, read)
        .await
        .map_err(|_| ApiError::BodyTimeout)?
}
