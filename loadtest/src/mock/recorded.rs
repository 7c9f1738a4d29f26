//! What the mock upstream saw: one [`RecordedRequest`] per request.
//!
//! Tests use these to check what the gateway actually sent upstream (the
//! rewritten model, the provider key, headers it must strip or add).

use bytes::Bytes;

/// A request as the mock received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Request path without the query, e.g. `/v1/chat/completions`.
    pub path: String,
    /// The query string without `?` (empty when there is none), e.g. `alt=sse`.
    pub query: String,
    /// Headers in arrival order; names are lower-case.
    pub headers: Vec<(String, String)>,
    /// The full request body.
    pub body: Bytes,
}

impl RecordedRequest {
    /// The first value of header `name` (matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The `model` the JSON body names, if any.
    pub fn model(&self) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct Model {
            model: Option<String>,
        }
        serde_json::from_slice::<Model>(&self.body).ok()?.model
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lookup_ignores_case_and_json_parses_body() {
        let r = RecordedRequest {
            method: "POST".into(),
            path: "/v1/chat/completions".into(),
            query: String::new(),
            headers: vec![("authorization".into(), "Bearer k".into())],
            body: Bytes::from_static(br#"{"model":"m"}"#),
        };
        assert_eq!(r.header("Authorization"), Some("Bearer k"));
        assert_eq!(r.header("x-missing"), None);
        assert_eq!(r.json().unwrap()["model"], "m");
        assert_eq!(r.model().as_deref(), Some("m"));
        let not_json = RecordedRequest {
            body: Bytes::from_static(b"nope"),
            ..r
        };
        assert!(not_json.json().is_none());
        assert!(not_json.model().is_none());
    }
}
