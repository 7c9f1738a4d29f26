//! OpenAI embeddings: the validated request re-serialised with the deployment's model, the
//! answer forwarded as received. The upstream writes the encoding the client asked for itself
//! (`encoding_format` passes through, so the SDKs' default `base64` costs no re-encoding); only
//! `usage` is read from the body.

use bytes::Bytes;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::response::usage_from_completion;
use crate::error::UpstreamError;
use crate::request::embeddings::EmbeddingsRequest;
use crate::usage::Usage;

/// The body to send upstream: the validated request with the deployment's model name.
pub(crate) fn upstream_body(request: &EmbeddingsRequest, upstream_model: &str) -> Vec<u8> {
    let body = WithModel {
        body: request.body(),
        model: upstream_model,
    };
    // Serialising borrowed JSON values cannot fail: keys are strings, numbers finite.
    serde_json::to_vec(&body).unwrap_or_default()
}

/// A complete embeddings `list` body: forwarded byte for byte, with its usage.
pub(crate) fn response(body: Bytes) -> Result<(Bytes, Option<Usage>), UpstreamError> {
    let usage = usage_from_completion(&body).map_err(|_| UpstreamError::Malformed)?;
    Ok((body, usage))
}

/// The request object with `model` substituted while serialising (no clone of the tree).
struct WithModel<'a> {
    body: &'a Map<String, Value>,
    model: &'a str,
}

impl Serialize for WithModel<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.body.len()))?;
        for (key, value) in self.body {
            if key == "model" {
                map.serialize_entry(key, self.model)?;
            } else {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_body_swaps_the_model_and_keeps_the_encoding_asked() {
        let req = EmbeddingsRequest::parse(
            br#"{"model":"public","input":["a","b"],"encoding_format":"base64","dimensions":8,"x":1}"#,
            64,
        )
        .unwrap();
        let body: Value =
            serde_json::from_slice(&upstream_body(&req, "text-embedding-3-small")).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"model":"text-embedding-3-small","input":["a","b"],"encoding_format":"base64","dimensions":8,"x":1})
        );
    }

    #[test]
    fn reads_usage_and_forwards_the_body() {
        let raw = Bytes::from_static(
            br#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":"AACAPw=="}],"model":"m","usage":{"prompt_tokens":5,"total_tokens":5}}"#,
        );
        let (body, usage) = response(raw.clone()).unwrap();
        assert_eq!(body, raw);
        assert_eq!(usage, Some(Usage::new(5, 0)));
        assert_eq!(
            response(Bytes::from_static(b"nope")).unwrap_err(),
            UpstreamError::Malformed
        );
    }
}
