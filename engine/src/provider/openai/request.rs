//! OpenAI requests: the validated request, re-serialised with the deployment's model name.
//!
//! The client's raw bytes are never forwarded. Unknown OpenAI parameters pass through, so new
//! API features work without a gateway release.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::provider::StreamUsage;
use crate::request::ChatRequest;

/// The body to send upstream: the validated request with the deployment's model name.
/// On streams, a vendor that reports usage only when asked gets
/// `stream_options.include_usage = true` so the gateway can account tokens; a vendor that
/// always reports it (and may reject `stream_options`) gets no `stream_options` at all.
pub fn upstream_body(
    request: &ChatRequest,
    upstream_model: &str,
    stream_usage: StreamUsage,
) -> Vec<u8> {
    let options = match stream_usage {
        StreamUsage::Always => StreamOptions::Drop,
        StreamUsage::OnRequest if request.is_stream() => StreamOptions::AskUsage,
        StreamUsage::OnRequest => StreamOptions::Keep,
    };
    let body = UpstreamBody {
        body: request.body(),
        model: upstream_model,
        options,
    };
    // Serialising borrowed JSON values cannot fail: keys are strings, numbers finite.
    serde_json::to_vec(&body).unwrap_or_default()
}

/// What happens to the client's `stream_options` on the way upstream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StreamOptions {
    Keep,
    Drop,
    /// Keep the client's other options, with `include_usage: true`.
    AskUsage,
}

/// The upstream body, written straight from the validated request: the two changed fields
/// are substituted while serialising, so the request's JSON tree is never cloned.
struct UpstreamBody<'a> {
    body: &'a Map<String, Value>,
    model: &'a str,
    options: StreamOptions,
}

impl Serialize for UpstreamBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        let mut wrote_options = false;
        for (key, value) in self.body {
            match key.as_str() {
                "model" => map.serialize_entry(key, self.model)?,
                "stream_options" => match self.options {
                    StreamOptions::Keep => map.serialize_entry(key, value)?,
                    StreamOptions::Drop => {}
                    StreamOptions::AskUsage => {
                        map.serialize_entry(key, &with_usage(value))?;
                        wrote_options = true;
                    }
                },
                _ => map.serialize_entry(key, value)?,
            }
        }
        if self.options == StreamOptions::AskUsage && !wrote_options {
            map.serialize_entry(
                "stream_options",
                &serde_json::json!({ "include_usage": true }),
            )?;
        }
        map.end()
    }
}

/// The client's `stream_options` object (or a fresh one) with `include_usage: true`.
fn with_usage(options: &Value) -> Value {
    let mut options = match options {
        Value::Object(o) => o.clone(),
        _ => Map::new(),
    };
    options.insert("include_usage".to_owned(), Value::Bool(true));
    Value::Object(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> ChatRequest {
        ChatRequest::parse(body.as_bytes(), 64).unwrap()
    }

    const OK: &str = r#"{"model":"gpt","messages":[{"role":"user","content":"hi"}]}"#;

    #[test]
    fn upstream_body_swaps_model_keeps_unknown_params_and_asks_for_usage() {
        let req = parse(
            r#"{"model":"public","messages":[{"role":"user","content":"x"}],"stream":true,"new_openai_param":{"a":1}}"#,
        );
        let body: Value =
            serde_json::from_slice(&upstream_body(&req, "upstream-7b", StreamUsage::OnRequest))
                .unwrap();
        assert_eq!(body["model"], "upstream-7b");
        assert_eq!(body["new_openai_param"]["a"], 1);
        assert_eq!(body["stream_options"]["include_usage"], true);
        let always: Value =
            serde_json::from_slice(&upstream_body(&req, "u", StreamUsage::Always)).unwrap();
        assert!(always.get("stream_options").is_none());
    }

    #[test]
    fn upstream_body_drops_client_stream_options_for_vendors_that_reject_them() {
        let req = parse(
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true}}"#,
        );
        let body: Value =
            serde_json::from_slice(&upstream_body(&req, "u", StreamUsage::Always)).unwrap();
        assert!(body.get("stream_options").is_none());
        assert_eq!(body["stream"], true);
    }

    #[test]
    fn upstream_body_keeps_the_clients_other_stream_options() {
        let req = parse(
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":false,"x":1}}"#,
        );
        let body: Value =
            serde_json::from_slice(&upstream_body(&req, "u", StreamUsage::OnRequest)).unwrap();
        assert_eq!(
            body["stream_options"],
            serde_json::json!({ "include_usage": true, "x": 1 })
        );
        assert_eq!(body["model"], "u");
    }

    #[test]
    fn upstream_body_leaves_non_streams_alone() {
        let req = parse(OK);
        let body: Value =
            serde_json::from_slice(&upstream_body(&req, "u", StreamUsage::OnRequest)).unwrap();
        assert!(body.get("stream_options").is_none());
        assert_eq!(body["messages"][0]["content"], "hi");
    }
}
