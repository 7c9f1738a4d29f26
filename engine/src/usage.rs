//! Token usage in the provider-neutral form. Every provider translation produces a [`Usage`];
//! it deserialises from OpenAI's `usage` object, the canonical wire form.

use serde::Deserialize;

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
