//! `POST /v1/embeddings` (and Azure's deployment path): deterministic vectors as OpenAI would
//! send them, in `float` or `base64`, or a scripted failure.
//!
//! Each vector depends only on its input (text or token ids) and the requested size, so a
//! test can compare a float answer with a base64 one, or a gateway's answer with what the
//! mock would say. Components are multiples of 1/1024 in `[-1, 1)`, exact in `f32` and in
//! decimal. Usage counts whitespace-separated words of text (at least one per input) and one
//! token per id.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{Response, StatusCode};
use serde::Serialize;
use serde_json::Value;

use super::openai_error::{error_body, status_error_body};
use super::openai_wire::to_bytes;
use super::respond::{self, MockBody};
use super::service::fault;
use super::state::Shared;

/// Vector size when the request names no `dimensions`.
pub const DEFAULT_EMBEDDING_DIMENSIONS: usize = 8;
/// Largest `dimensions` the mock answers.
const MAX_DIMENSIONS: usize = 4096;

/// Answers one embeddings request whose body is `body`.
pub(crate) async fn embeddings(shared: &Arc<Shared>, body: &[u8]) -> Response<MockBody> {
    let req = match Parsed::from(body) {
        Ok(req) => req,
        Err(message) => {
            let body = error_body(message, "invalid_request_error", None, None);
            return respond::json(StatusCode::BAD_REQUEST, body);
        }
    };
    let behaviour = shared.behaviour_for(&req.model);
    if let Some(resp) = fault(&behaviour, status_error_body).await {
        return resp;
    }
    let data = req
        .inputs
        .iter()
        .enumerate()
        .map(|(index, input)| {
            let vector = mock_embedding(input, req.dimensions);
            Item {
                object: "embedding",
                index,
                embedding: if req.base64 {
                    Vector::Base64(base64_f32(&vector))
                } else {
                    Vector::Float(vector)
                },
            }
        })
        .collect();
    let tokens = req.inputs.iter().map(Input::tokens).sum();
    let list = List {
        object: "list",
        data,
        model: &req.model,
        usage: ListUsage {
            prompt_tokens: tokens,
            total_tokens: tokens,
        },
    };
    respond::json_after(behaviour.stall, to_bytes(&list))
}

/// One input: text or token ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Text(String),
    Tokens(Vec<u64>),
}

impl Input {
    fn tokens(&self) -> u64 {
        let n = match self {
            Input::Text(t) => t.split_whitespace().count().max(1),
            Input::Tokens(ids) => ids.len(),
        };
        u64::try_from(n).unwrap_or(u64::MAX)
    }
}

/// The vector the mock answers for `input` at `dimensions`.
pub fn mock_embedding(input: &Input, dimensions: usize) -> Vec<f32> {
    // FNV-1a over the input, then a xorshift per component.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    match input {
        Input::Text(t) => feed(t.as_bytes()),
        Input::Tokens(ids) => ids.iter().for_each(|id| feed(&id.to_le_bytes())),
    }
    (0..dimensions)
        .map(|_| {
            hash ^= hash << 13;
            hash ^= hash >> 7;
            hash ^= hash << 17;
            let step = i16::try_from(hash % 2048).unwrap_or(0) - 1024;
            f32::from(step) / 1024.0
        })
        .collect()
}

fn base64_f32(vector: &[f32]) -> String {
    let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
    STANDARD.encode(bytes)
}

struct Parsed {
    model: String,
    inputs: Vec<Input>,
    dimensions: usize,
    base64: bool,
}

impl Parsed {
    fn from(body: &[u8]) -> Result<Parsed, &'static str> {
        let json: Value = serde_json::from_slice(body).map_err(|_| "Invalid JSON body.")?;
        let model = json
            .get("model")
            .and_then(Value::as_str)
            .ok_or("'model' is required.")?
            .to_owned();
        let shape = "'input' must be a string, an array of strings, or token arrays.";
        let inputs = match json.get("input") {
            Some(Value::String(s)) => vec![Input::Text(s.clone())],
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(Value::as_str)
                .map(|s| Input::Text(s.to_owned()))
                .collect(),
            Some(Value::Array(items)) if items.iter().all(Value::is_u64) => {
                vec![Input::Tokens(
                    items.iter().filter_map(Value::as_u64).collect(),
                )]
            }
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::Array(ids) => Ok(Input::Tokens(
                        ids.iter().filter_map(Value::as_u64).collect(),
                    )),
                    _ => Err(shape),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(shape),
        };
        if inputs.is_empty() {
            return Err(shape);
        }
        let dimensions = match json.get("dimensions") {
            None | Some(Value::Null) => DEFAULT_EMBEDDING_DIMENSIONS,
            Some(d) => d
                .as_u64()
                .and_then(|d| usize::try_from(d).ok())
                .filter(|d| (1..=MAX_DIMENSIONS).contains(d))
                .ok_or("'dimensions' must be between 1 and 4096.")?,
        };
        let base64 = match json.get("encoding_format").and_then(Value::as_str) {
            None | Some("float") => false,
            Some("base64") => true,
            Some(_) => return Err("'encoding_format' must be 'float' or 'base64'."),
        };
        Ok(Parsed {
            model,
            inputs,
            dimensions,
            base64,
        })
    }
}

#[derive(Serialize)]
struct List<'a> {
    object: &'static str,
    data: Vec<Item>,
    model: &'a str,
    usage: ListUsage,
}

#[derive(Serialize)]
struct Item {
    object: &'static str,
    index: usize,
    embedding: Vector,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Vector {
    Float(Vec<f32>),
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

    #[test]
    fn vectors_depend_only_on_the_input_and_size() {
        let a = mock_embedding(&Input::Text("hello".into()), 8);
        assert_eq!(a, mock_embedding(&Input::Text("hello".into()), 8));
        assert_ne!(a, mock_embedding(&Input::Text("hellp".into()), 8));
        assert_eq!(mock_embedding(&Input::Tokens(vec![1, 2]), 3).len(), 3);
        assert!(a.iter().all(|v| (-1.0..1.0).contains(v)));
    }

    #[test]
    fn parses_every_input_shape_and_refuses_others() {
        let p = Parsed::from(
            br#"{"model":"m","input":[[1,2],[3]],"encoding_format":"base64","dimensions":4}"#,
        )
        .unwrap();
        assert_eq!(p.inputs.len(), 2);
        assert!(p.base64);
        assert_eq!(p.dimensions, 4);
        assert!(Parsed::from(br#"{"model":"m","input":[1,2]}"#).is_ok());
        assert!(Parsed::from(br#"{"model":"m","input":[]}"#).is_err());
        assert!(Parsed::from(br#"{"model":"m","input":"a","encoding_format":"int8"}"#).is_err());
        assert!(Parsed::from(br#"{"input":"a"}"#).is_err());
    }
}
