//! The OpenAI embeddings answer, written from vectors a provider returned as numbers.
//!
//! OpenAI-dialect upstreams answer in the client's encoding themselves and their bodies are
//! forwarded. Providers that return floats in their own shape (Gemini, Bedrock) decode them
//! and call [`render_embeddings`], so the client gets OpenAI's `list` body in whichever
//! encoding it asked for: `float` as JSON numbers, `base64` as the little-endian `f32` bytes,
//! which is what the OpenAI SDKs decode (`numpy.frombuffer(..., dtype="float32")`). Pure.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::Serialize;

use crate::error::{EngineError, RequestError};
use crate::request::embeddings::EncodingFormat;
use crate::usage::Usage;

/// An OpenAI `{"object":"list","data":[...],"model":..,"usage":..}` body: one item per
/// vector, indexed in order. `model` is written as given (adapters pass the model the client
/// asked for); usage carries `prompt_tokens` and `total_tokens`, as OpenAI's does.
pub fn render_embeddings(
    vectors: &[Vec<f32>],
    encoding: EncodingFormat,
    model: &str,
    usage: &Usage,
) -> Bytes {
    let data = vectors
        .iter()
        .enumerate()
        .map(|(index, vector)| Item {
            object: "embedding",
            index,
            embedding: match encoding {
                EncodingFormat::Float => Vector::Float(vector),
                EncodingFormat::Base64 => Vector::Base64(base64_f32(vector)),
            },
        })
        .collect();
    let list = List {
        object: "list",
        data,
        model,
        usage: ListUsage {
            prompt_tokens: usage.prompt_tokens,
            total_tokens: usage.prompt_tokens.saturating_add(usage.completion_tokens),
        },
    };
    // Serialising plain structs of strings and finite-or-null floats cannot fail.
    Bytes::from(serde_json::to_vec(&list).unwrap_or_default())
}

/// Base64 (standard alphabet, padded) of `vector`'s little-endian `f32` bytes.
pub fn base64_f32(vector: &[f32]) -> String {
    let mut bytes = Vec::with_capacity(vector.len() * 4);
    for value in vector {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    STANDARD.encode(bytes)
}

/// The client error for a provider whose dialect has no embeddings endpoint (or none the
/// gateway speaks): `vendor` is the vendor's config spelling, never a configured name or URL.
pub fn embeddings_unsupported(vendor: &str) -> EngineError {
    RequestError::Untranslatable {
        kind: UNSUPPORTED_KIND,
        field: "model".to_owned(),
        message: format!(
            "the model is served by a provider ({vendor}) that does not serve embeddings"
        ),
    }
    .into()
}

/// `kind()` of [`embeddings_unsupported`].
pub const UNSUPPORTED_KIND: &str = "embeddings_unsupported";

#[derive(Serialize)]
struct List<'a> {
    object: &'static str,
    data: Vec<Item<'a>>,
    model: &'a str,
    usage: ListUsage,
}

#[derive(Serialize)]
struct Item<'a> {
    object: &'static str,
    index: usize,
    embedding: Vector<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Vector<'a> {
    Float(&'a [f32]),
    Base64(String),
}

#[derive(Serialize)]
struct ListUsage {
    prompt_tokens: u64,
    total_tokens: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn decode(text: &str) -> Vec<f32> {
        STANDARD
            .decode(text)
            .unwrap()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    #[test]
    fn renders_floats_in_openais_list_shape() {
        let body = render_embeddings(
            &[vec![0.5, -1.25], vec![3.0]],
            EncodingFormat::Float,
            "emb",
            &Usage::new(7, 0),
        );
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            json!({
                "object": "list",
                "data": [
                    {"object": "embedding", "index": 0, "embedding": [0.5, -1.25]},
                    {"object": "embedding", "index": 1, "embedding": [3.0]}
                ],
                "model": "emb",
                "usage": {"prompt_tokens": 7, "total_tokens": 7}
            })
        );
    }

    #[test]
    fn base64_holds_the_same_floats_little_endian() {
        let vector = vec![0.1f32, -2.5, 1e-7, 123_456.79];
        let body = render_embeddings(
            std::slice::from_ref(&vector),
            EncodingFormat::Base64,
            "emb",
            &Usage::new(1, 0),
        );
        let body: Value = serde_json::from_slice(&body).unwrap();
        let text = body["data"][0]["embedding"].as_str().unwrap();
        assert_eq!(decode(text), vector);
        // 1.0f32 is 00 00 80 3f little-endian.
        assert_eq!(base64_f32(&[1.0]), "AACAPw==");
    }

    #[test]
    fn unsupported_names_the_vendor_and_is_a_client_error() {
        let err = embeddings_unsupported("anthropic");
        assert_eq!(err.fault(), crate::error::Fault::Client);
        assert_eq!(err.kind(), UNSUPPORTED_KIND);
        assert!(err.to_string().contains("anthropic"));
    }
}
