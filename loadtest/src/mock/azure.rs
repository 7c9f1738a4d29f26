//! Azure OpenAI's paths: `/openai/deployments/{deployment}/chat/completions` and
//! `.../embeddings`, each with an `api-version` query. The credential is the `api-key`
//! header, or an Entra ID token as `Authorization: Bearer`; with an expected key set, either
//! must carry it, and a request with neither is refused as Azure refuses it. Bodies are
//! answered by the OpenAI handlers (Azure speaks the same dialect), with the same scripted
//! behaviours, looked up by the body's `model` (the gateway sends the deployment name).

use std::sync::Arc;

use http::header::AUTHORIZATION;
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode};

use super::openai_error::error_body;
use super::respond::{self, MockBody};
use super::state::{Route, Shared};
use super::{embeddings, openai};

/// The prefix of every Azure OpenAI data-plane path the mock serves.
pub const AZURE_PREFIX: &str = "/openai/deployments/";

/// Which Azure operation `path` names, if it is an Azure deployment path.
pub(crate) fn route(path: &str) -> Option<Route> {
    let rest = path.strip_prefix(AZURE_PREFIX)?;
    let (deployment, op) = rest.split_once('/')?;
    if deployment.is_empty() {
        return None;
    }
    match op {
        "chat/completions" => Some(Route::Chat),
        "embeddings" => Some(Route::Embeddings),
        _ => None,
    }
}

/// Answers an Azure request on `route` (from [`route`]).
pub(crate) async fn answer(
    shared: &Arc<Shared>,
    parts: &Parts,
    body: &[u8],
    route: Route,
    resume_seen: u64,
) -> Response<MockBody> {
    let api_key = parts.headers.get("api-key").map(HeaderValue::as_bytes);
    let bearer = parts.headers.get(AUTHORIZATION).map(HeaderValue::as_bytes);
    let accepted = match (api_key, bearer) {
        (Some(key), None) => shared.key_accepted(Some(key)),
        (None, Some(bearer)) => shared.authorized(Some(bearer)),
        _ => false,
    };
    if !accepted {
        let body = error_body(
            "Access denied due to invalid subscription key or wrong API endpoint.",
            "invalid_request_error",
            None,
            Some("401"),
        );
        return respond::json(StatusCode::UNAUTHORIZED, body);
    }
    let has_version = parts.uri.query().is_some_and(|q| {
        q.split('&').any(|pair| {
            pair.strip_prefix("api-version=")
                .is_some_and(|v| !v.is_empty())
        })
    });
    if !has_version {
        let body = error_body(
            "Missing API version.",
            "invalid_request_error",
            None,
            Some("MissingApiVersionParameter"),
        );
        return respond::json(StatusCode::BAD_REQUEST, body);
    }
    match route {
        Route::Embeddings => embeddings::embeddings(shared, body).await,
        _ => openai::chat(shared, body, resume_seen).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_deployment_paths_only() {
        assert_eq!(
            route("/openai/deployments/gpt-4o/chat/completions"),
            Some(Route::Chat)
        );
        assert_eq!(
            route("/openai/deployments/emb/embeddings"),
            Some(Route::Embeddings)
        );
        assert_eq!(route("/openai/deployments//embeddings"), None);
        assert_eq!(route("/openai/deployments/x/completions"), None);
        assert_eq!(route("/v1/chat/completions"), None);
    }
}
