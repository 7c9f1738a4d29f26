//! OpenAI responses: bodies are forwarded as received; only `usage` is read, without building
//! a full JSON tree.

use bytes::Bytes;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::error::UpstreamError;
use crate::usage::Usage;

/// A complete `chat.completion` body: forwarded byte for byte, with its usage.
pub(crate) fn chat_response(body: Bytes) -> Result<(Bytes, Option<Usage>), UpstreamError> {
    let usage = usage_from_completion(&body).map_err(|_| UpstreamError::Malformed)?;
    Ok((body, usage))
}

#[derive(Deserialize)]
struct WithUsage {
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct ChunkShape {
    #[serde(default)]
    choices: Option<Vec<IgnoredAny>>,
    #[serde(default)]
    usage: Option<Usage>,
}

/// Reads `usage` from a complete chat completion body. `Err` if the body is not a JSON
/// object at all (the provider's answer is malformed); `Ok(None)` if it carries no usage.
pub(super) fn usage_from_completion(body: &[u8]) -> Result<Option<Usage>, serde_json::Error> {
    Ok(serde_json::from_slice::<WithUsage>(body)?.usage)
}

/// What a stream chunk says about usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ChunkUsage {
    pub usage: Usage,
    /// The chunk carries no choices: it exists only to report usage.
    pub usage_only: bool,
}

/// Reads usage from one `chat.completion.chunk` payload, if it has any.
pub(super) fn usage_from_chunk(payload: &[u8]) -> Option<ChunkUsage> {
    let chunk: ChunkShape = serde_json::from_slice(payload).ok()?;
    let usage = chunk.usage?;
    Some(ChunkUsage {
        usage,
        usage_only: chunk.choices.is_none_or(|c| c.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_usage_from_a_completion() {
        let body = br#"{"id":"x","choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}"#;
        assert_eq!(usage_from_completion(body).unwrap(), Some(Usage::new(3, 5)));
        let cached = br#"{"usage":{"prompt_tokens":10,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":8}}}"#;
        assert_eq!(
            usage_from_completion(cached)
                .unwrap()
                .unwrap()
                .cached_tokens,
            8
        );
        assert_eq!(usage_from_completion(br#"{"choices":[]}"#).unwrap(), None);
        assert!(usage_from_completion(b"not json").is_err());
        assert!(usage_from_completion(b"[1]").is_err());
    }

    #[test]
    fn tells_usage_only_chunks_from_content_chunks() {
        let only = br#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}"#;
        assert!(usage_from_chunk(only).unwrap().usage_only);
        let last =
            br#"{"choices":[{"delta":{}}],"usage":{"prompt_tokens":1,"completion_tokens":2}}"#;
        assert!(!usage_from_chunk(last).unwrap().usage_only);
        assert_eq!(
            usage_from_chunk(br#"{"choices":[{"delta":{}}],"usage":null}"#),
            None
        );
    }
}
