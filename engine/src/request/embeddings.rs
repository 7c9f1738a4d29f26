//! The client's embeddings request, validated at the boundary like a chat request.
//!
//! Parsed once, strictly ([`strict_json`](super::strict_json): duplicate keys, depth cap),
//! with the same refusal of override fields as chat. `input` is read into a typed view
//! ([`EmbeddingInput`]) because providers other than OpenAI's dialect rebuild it in their own
//! shape; caps on the item count and the total size keep one request from fanning out into an
//! unbounded upstream call. Other fields are kept and forwarded to OpenAI-dialect upstreams,
//! as chat does, and the upstream body is always re-serialised from this validated value.

use serde_json::{Map, Value};

use super::{model_field, refuse_override_fields, strict_json};
use crate::error::RequestError;

/// Most inputs in one request (OpenAI's own limit).
pub const MAX_EMBEDDING_INPUTS: usize = 2048;
/// Most bytes of text across all inputs of one request (OpenAI allows about 300,000 tokens).
pub const MAX_EMBEDDING_TEXT_BYTES: usize = 2 * 1024 * 1024;
/// Most token ids across all pre-tokenized inputs of one request.
pub const MAX_EMBEDDING_TOKEN_IDS: usize = 300_000;

/// How the client wants each vector written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodingFormat {
    /// A JSON array of numbers (the default).
    Float,
    /// Base64 of the little-endian `f32` bytes (the OpenAI SDKs ask for this by default).
    Base64,
}

/// What to embed: text, or text the client already tokenized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmbeddingInput {
    /// `"text"` or `["text", ...]`: one vector per string.
    Texts(Vec<String>),
    /// `[1, 2, 3]` (one input) or `[[1, 2], [3]]`: one vector per token array.
    Tokens(Vec<Vec<u32>>),
}

impl EmbeddingInput {
    /// How many vectors the answer must hold.
    pub fn len(&self) -> usize {
        match self {
            EmbeddingInput::Texts(t) => t.len(),
            EmbeddingInput::Tokens(t) => t.len(),
        }
    }

    /// Never true for a validated request; here for completeness of `len`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A validated `POST /v1/embeddings` request.
#[derive(Debug, Clone)]
pub struct EmbeddingsRequest {
    body: Map<String, Value>,
    model: String,
    input: EmbeddingInput,
    encoding: EncodingFormat,
    dimensions: Option<u32>,
    user: Option<String>,
}

impl EmbeddingsRequest {
    /// Parses and validates a request body.
    pub fn parse(bytes: &[u8], max_depth: usize) -> Result<EmbeddingsRequest, RequestError> {
        let Value::Object(body) = strict_json::parse_strict(bytes, max_depth)? else {
            return Err(RequestError::NotAnObject);
        };
        Self::from_object(body)
    }

    /// Validates an already parsed body exactly as [`parse`](Self::parse) does after parsing.
    pub fn from_object(body: Map<String, Value>) -> Result<EmbeddingsRequest, RequestError> {
        refuse_override_fields(&body)?;
        let model = model_field(&body)?;
        let input = match body.get("input") {
            None | Some(Value::Null) => return Err(RequestError::MissingField("input")),
            Some(value) => read_input(value)?,
        };
        let encoding = match body.get("encoding_format") {
            None | Some(Value::Null) => EncodingFormat::Float,
            Some(Value::String(f)) if f == "float" => EncodingFormat::Float,
            Some(Value::String(f)) if f == "base64" => EncodingFormat::Base64,
            Some(_) => return Err(invalid("encoding_format", "must be `float` or `base64`")),
        };
        let dimensions = match body.get("dimensions") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) if n > 0 => Some(n),
                _ => return Err(invalid("dimensions", "must be a positive integer")),
            },
            Some(_) => return Err(invalid("dimensions", "must be a positive integer")),
        };
        let user = match body.get("user") {
            None | Some(Value::Null) => None,
            Some(Value::String(u)) => Some(u.clone()),
            Some(_) => return Err(invalid("user", "must be a string")),
        };
        Ok(EmbeddingsRequest {
            body,
            model,
            input,
            encoding,
            dimensions,
            user,
        })
    }

    /// The public model name the client asked for.
    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn input(&self) -> &EmbeddingInput {
        &self.input
    }

    /// The input texts, or `None` when the client sent token ids (which only a provider
    /// with OpenAI's tokenizer can take).
    pub fn texts(&self) -> Option<&[String]> {
        match &self.input {
            EmbeddingInput::Texts(t) => Some(t),
            EmbeddingInput::Tokens(_) => None,
        }
    }

    pub fn encoding(&self) -> EncodingFormat {
        self.encoding
    }

    /// The vector size the client asked for, if any.
    pub fn dimensions(&self) -> Option<u32> {
        self.dimensions
    }

    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The validated request object, as an OpenAI-dialect upstream gets it (model swapped).
    pub fn body(&self) -> &Map<String, Value> {
        &self.body
    }
}

fn invalid(field: &'static str, reason: &'static str) -> RequestError {
    RequestError::InvalidField { field, reason }
}

const INPUT_SHAPE: &str = "must be a non-empty string, an array of non-empty strings, an array of token ids, or an array of non-empty token id arrays";

/// Reads `input` in any of its four shapes, within the caps.
fn read_input(value: &Value) -> Result<EmbeddingInput, RequestError> {
    let shape = || invalid("input", INPUT_SHAPE);
    let items = match value {
        Value::String(_) => return texts(std::slice::from_ref(value)).map(EmbeddingInput::Texts),
        Value::Array(items) if !items.is_empty() => items,
        _ => return Err(shape()),
    };
    if items.len() > MAX_EMBEDDING_INPUTS {
        return Err(invalid("input", "must hold at most 2048 items"));
    }
    match &items[0] {
        Value::String(_) => texts(items).map(EmbeddingInput::Texts),
        Value::Number(_) => {
            let ids = token_ids(items)?;
            Ok(EmbeddingInput::Tokens(vec![ids]))
        }
        Value::Array(_) => {
            let mut arrays = Vec::with_capacity(items.len());
            let mut total = 0usize;
            for item in items {
                let Value::Array(ids) = item else {
                    return Err(shape());
                };
                let ids = token_ids(ids)?;
                total = total.saturating_add(ids.len());
                if total > MAX_EMBEDDING_TOKEN_IDS {
                    return Err(invalid("input", "holds more than 300000 token ids in all"));
                }
                arrays.push(ids);
            }
            Ok(EmbeddingInput::Tokens(arrays))
        }
        _ => Err(shape()),
    }
}

/// Every item a non-empty string, within the total size cap.
fn texts(items: &[Value]) -> Result<Vec<String>, RequestError> {
    let mut out = Vec::with_capacity(items.len());
    let mut bytes = 0usize;
    for item in items {
        match item {
            Value::String(text) if !text.is_empty() => {
                bytes = bytes.saturating_add(text.len());
                if bytes > MAX_EMBEDDING_TEXT_BYTES {
                    return Err(invalid("input", "holds more than 2 MiB of text in all"));
                }
                out.push(text.clone());
            }
            _ => return Err(invalid("input", INPUT_SHAPE)),
        }
    }
    Ok(out)
}

/// A non-empty array of token ids (integers in `0..=u32::MAX`), within the id cap.
fn token_ids(items: &[Value]) -> Result<Vec<u32>, RequestError> {
    if items.is_empty() {
        return Err(invalid("input", INPUT_SHAPE));
    }
    if items.len() > MAX_EMBEDDING_TOKEN_IDS {
        return Err(invalid("input", "holds more than 300000 token ids in all"));
    }
    items
        .iter()
        .map(|v| {
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or(invalid("input", INPUT_SHAPE))
        })
        .collect()
}

#[cfg(test)]
#[path = "embeddings_tests.rs"]
mod tests;
