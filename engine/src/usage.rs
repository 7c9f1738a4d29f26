//! Token usage as providers report it, read without building a full JSON tree.

use serde::Deserialize;
use serde::de::IgnoredAny;

/// Tokens one request consumed, in the provider-neutral form every translation produces.
///
/// `prompt_tokens` counts every input token, cached ones included (OpenAI's convention);
/// `cached_tokens` is the part of it read from the provider's prompt cache and
/// `cache_write_tokens` the part written to it (Anthropic's `cache_creation_input_tokens`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "OpenAiUsage")]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_tokens: u64,
    pub cache_write_tokens: u64,
}

impl Usage {
    /// Input and output tokens only, nothing cached.
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            ..Self::default()
        }
    }
}

/// OpenAI's `usage` object as it arrives on the wire.
#[derive(Deserialize)]
struct OpenAiUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

impl From<OpenAiUsage> for Usage {
    fn from(raw: OpenAiUsage) -> Self {
        Usage {
            prompt_tokens: raw.prompt_tokens,
            completion_tokens: raw.completion_tokens,
            cached_tokens: raw
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            cache_write_tokens: 0,
        }
    }
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
pub fn from_completion(body: &[u8]) -> Result<Option<Usage>, serde_json::Error> {
    Ok(serde_json::from_slice::<WithUsage>(body)?.usage)
}

/// What a stream chunk says about usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkUsage {
    pub usage: Usage,
    /// The chunk carries no choices: it exists only to report usage.
    pub usage_only: bool,
}

/// Reads usage from one `chat.completion.chunk` payload, if it has any.
pub fn from_chunk(payload: &[u8]) -> Option<ChunkUsage> {
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
        assert_eq!(from_completion(body).unwrap(), Some(Usage::new(3, 5)));
        let cached = br#"{"usage":{"prompt_tokens":10,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":8}}}"#;
        assert_eq!(from_completion(cached).unwrap().unwrap().cached_tokens, 8);
        assert_eq!(from_completion(br#"{"choices":[]}"#).unwrap(), None);
        assert!(from_completion(b"not json").is_err());
        assert!(from_completion(b"[1]").is_err());
    }

    #[test]
    fn tells_usage_only_chunks_from_content_chunks() {
        let only = br#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}"#;
        assert!(from_chunk(only).unwrap().usage_only);
        let last =
            br#"{"choices":[{"delta":{}}],"usage":{"prompt_tokens":1,"completion_tokens":2}}"#;
        assert!(!from_chunk(last).unwrap().usage_only);
        assert_eq!(
            from_chunk(br#"{"choices":[{"delta":{}}],"usage":null}"#),
            None
        );
    }
}
