//! OpenAI-shaped errors and the model list: the error bodies of scripted
//! failures, the mid-stream error event, and `GET /v1/models`.

use bytes::Bytes;
use serde::Serialize;

use super::openai_wire::to_bytes;

/// Model ids listed by `GET /v1/models`.
pub const MODEL_IDS: [&str; 3] = ["mock-model", "mock-model-mini", "mock-model-large"];

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
}

/// An OpenAI-shaped error body.
pub(crate) fn error_body(
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Bytes {
    to_bytes(&ErrorEnvelope {
        error: ErrorDetail {
            message,
            kind,
            param,
            code,
        },
    })
}

/// The default error body for a scripted error status, worded like OpenAI's.
pub(crate) fn status_error_body(status: u16) -> Bytes {
    let (message, kind, code) = match status {
        400 => ("Invalid request (mock).", "invalid_request_error", None),
        401 => (
            "Incorrect API key provided.",
            "invalid_request_error",
            Some("invalid_api_key"),
        ),
        403 => (
            "You are not allowed to do this (mock).",
            "permission_error",
            None,
        ),
        404 => (
            "The model does not exist or you do not have access to it.",
            "invalid_request_error",
            Some("model_not_found"),
        ),
        429 => (
            "Rate limit reached for requests (mock).",
            "requests",
            Some("rate_limit_exceeded"),
        ),
        503 | 529 => (
            "The engine is currently overloaded, please try again later.",
            "server_error",
            None,
        ),
        s if s >= 500 => (
            "The server had an error while processing your request.",
            "server_error",
            None,
        ),
        _ => ("Mock error.", "invalid_request_error", None),
    };
    error_body(message, kind, None, code)
}

#[derive(Serialize)]
struct ModelList {
    object: &'static str,
    data: Vec<ModelEntry>,
}

#[derive(Serialize)]
struct ModelEntry {
    id: &'static str,
    object: &'static str,
    created: u64,
    owned_by: &'static str,
}

/// The `GET /v1/models` body.
pub(crate) fn models_body() -> Bytes {
    to_bytes(&ModelList {
        object: "list",
        data: MODEL_IDS
            .iter()
            .map(|id| ModelEntry {
                id,
                object: "model",
                created: 1_700_000_000,
                owned_by: "portcullis-mock",
            })
            .collect(),
    })
}

/// The SSE event a stream sends when it fails midway: `data:` with an
/// OpenAI error object (`kind` defaults to `server_error`), as OpenAI's
/// clients expect it.
pub(crate) fn stream_error_event(kind: Option<&str>) -> Bytes {
    let body = error_body(
        "The server had an error while processing your request.",
        kind.unwrap_or("server_error"),
        None,
        None,
    );
    let mut event = Vec::with_capacity(body.len() + 8);
    event.extend_from_slice(b"data: ");
    event.extend_from_slice(&body);
    event.extend_from_slice(b"\n\n");
    Bytes::from(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_carry_type_param_and_code() {
        let v: serde_json::Value = serde_json::from_slice(&status_error_body(429)).unwrap();
        assert_eq!(v["error"]["code"], "rate_limit_exceeded");
        assert!(v["error"]["param"].is_null());
        let v: serde_json::Value = serde_json::from_slice(&status_error_body(502)).unwrap();
        assert_eq!(v["error"]["type"], "server_error");
        assert!(v["error"]["code"].is_null());
    }

    #[test]
    fn overloaded_529_and_the_stream_error_event_are_server_errors() {
        let v: serde_json::Value = serde_json::from_slice(&status_error_body(529)).unwrap();
        assert_eq!(v["error"]["type"], "server_error");
        let event = stream_error_event(None);
        let text = std::str::from_utf8(&event).unwrap();
        let payload = text
            .strip_prefix("data: ")
            .unwrap()
            .strip_suffix("\n\n")
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(payload).unwrap();
        assert_eq!(v["error"]["type"], "server_error");
        let custom = stream_error_event(Some("rate_limit_exceeded"));
        assert!(
            std::str::from_utf8(&custom)
                .unwrap()
                .contains("rate_limit_exceeded")
        );
    }
}
