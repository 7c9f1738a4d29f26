//! Bedrock embeddings through InvokeModel (`POST /model/{id}/invoke`), whose body is the model
//! family's own: Amazon Titan (`amazon.titan-embed-text-v2:0`: `{inputText, dimensions,
//! normalize}`, one text per call) and Cohere (`cohere.embed-english-v3`, `…-multilingual-v3`:
//! `{texts, input_type}`, up to 96 texts). The seam sends one upstream request per client
//! request, so a Titan model takes exactly one input (more is a 400 saying so); Cohere takes
//! the list. Token-id input is refused (neither family takes it), as is `dimensions` for
//! Cohere. The answer's family is read from its shape (`embedding` or `embeddings`), since the
//! response side does not see the model; vectors are written by [`render_embeddings`] in the
//! client's encoding. Titan reports `inputTextTokenCount`; Cohere's count travels only in a
//! response header the seam does not pass, so its usage is left unknown.

use serde::Deserialize;
use serde_json::json;

use crate::error::{RequestError, UpstreamError};
use crate::provider::render_embeddings;
use crate::request::embeddings::EmbeddingsRequest;
use crate::usage::Usage;

/// Most texts Cohere's embed models take in one call.
const COHERE_MAX_TEXTS: usize = 96;

fn refuse(field: &str, message: &str) -> RequestError {
    RequestError::Untranslatable {
        kind: "unsupported_field",
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

/// The InvokeModel body for `request` on `model`.
pub(super) fn embeddings_body(
    request: &EmbeddingsRequest,
    model: &str,
) -> Result<Vec<u8>, RequestError> {
    let Some(texts) = request.texts() else {
        return Err(refuse(
            "input",
            "Bedrock embedding models take text, not token ids",
        ));
    };
    let lower = model.to_ascii_lowercase();
    let body = if lower.contains("titan-embed") {
        let [text] = texts else {
            return Err(refuse(
                "input",
                "Amazon Titan embeddings take one input per request",
            ));
        };
        let mut body = json!({ "inputText": text, "normalize": true });
        if let Some(d) = request.dimensions() {
            body["dimensions"] = d.into();
        }
        body
    } else if lower.contains("cohere.embed") {
        if texts.len() > COHERE_MAX_TEXTS {
            return Err(refuse(
                "input",
                "Cohere embeddings on Bedrock take at most 96 inputs per request",
            ));
        }
        if request.dimensions().is_some() {
            return Err(refuse(
                "dimensions",
                "Cohere embeddings on Bedrock have a fixed size",
            ));
        }
        json!({ "texts": texts, "input_type": "search_document" })
    } else {
        return Err(refuse(
            "model",
            "the model is served by Bedrock, which serves embeddings only for Amazon Titan and Cohere models",
        ));
    };
    serde_json::to_vec(&body).map_err(|_| refuse("input", "not serialisable"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InvokeOut {
    /// Titan.
    #[serde(default)]
    embedding: Option<Vec<f32>>,
    #[serde(default)]
    input_text_token_count: Option<u64>,
    /// Cohere.
    #[serde(default)]
    embeddings: Option<Vec<Vec<f32>>>,
}

/// An InvokeModel embeddings answer → OpenAI's `list` body and its usage.
pub(super) fn embeddings_answer(
    body: &[u8],
    request: &EmbeddingsRequest,
) -> Result<(Vec<u8>, Option<Usage>), UpstreamError> {
    let out: InvokeOut = serde_json::from_slice(body).map_err(|_| UpstreamError::Malformed)?;
    let (vectors, usage) = match (out.embedding, out.embeddings) {
        (Some(one), None) => (
            vec![one],
            out.input_text_token_count.map(|n| Usage::new(n, 0)),
        ),
        (None, Some(many)) => (many, None),
        _ => return Err(UpstreamError::Malformed),
    };
    if vectors.len() != request.input().len() {
        return Err(UpstreamError::Malformed);
    }
    let rendered = render_embeddings(
        &vectors,
        request.encoding(),
        request.model(),
        &usage.unwrap_or_default(),
    );
    Ok((rendered.to_vec(), usage))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn req(body: Value) -> EmbeddingsRequest {
        EmbeddingsRequest::parse(body.to_string().as_bytes(), 16).unwrap()
    }

    fn body_of(r: &EmbeddingsRequest, model: &str) -> Value {
        serde_json::from_slice(&embeddings_body(r, model).unwrap()).unwrap()
    }

    #[test]
    fn titan_takes_one_text_with_dimensions_and_cohere_a_list() {
        let one = req(json!({"model": "e", "input": "hello", "dimensions": 256}));
        assert_eq!(
            body_of(&one, "amazon.titan-embed-text-v2:0"),
            json!({"inputText": "hello", "dimensions": 256, "normalize": true})
        );
        let two = req(json!({"model": "e", "input": ["a", "b"]}));
        assert!(embeddings_body(&two, "amazon.titan-embed-text-v2:0").is_err());
        assert_eq!(
            body_of(&two, "cohere.embed-english-v3"),
            json!({"texts": ["a", "b"], "input_type": "search_document"})
        );
        assert!(embeddings_body(&one, "cohere.embed-english-v3").is_err());
        assert!(embeddings_body(&two, "anthropic.claude-3-5-sonnet-20240620-v1:0").is_err());
        let tokens = req(json!({"model": "e", "input": [1, 2, 3]}));
        assert!(embeddings_body(&tokens, "cohere.embed-english-v3").is_err());
    }

    #[test]
    fn answers_of_either_family_render_as_an_openai_list() {
        let one = req(json!({"model": "emb", "input": "hello", "encoding_format": "float"}));
        let titan = json!({"embedding": [0.5, -0.25], "inputTextTokenCount": 3});
        let (out, usage) = embeddings_answer(titan.to_string().as_bytes(), &one).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["data"][0]["embedding"], json!([0.5, -0.25]));
        assert_eq!(v["model"], "emb");
        assert_eq!(usage, Some(Usage::new(3, 0)));

        let two = req(json!({"model": "emb", "input": ["a", "b"], "encoding_format": "base64"}));
        let cohere = json!({"id": "x", "embeddings": [[1.0], [2.0]], "texts": ["a", "b"],
                            "response_type": "embeddings_floats"});
        let (out, usage) = embeddings_answer(cohere.to_string().as_bytes(), &two).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["data"][1]["index"], 1);
        assert!(
            v["data"][1]["embedding"].is_string(),
            "base64 as asked: {v}"
        );
        assert_eq!(usage, None);
        assert!(embeddings_answer(cohere.to_string().as_bytes(), &one).is_err());
        assert!(embeddings_answer(b"{}", &one).is_err());
    }
}
