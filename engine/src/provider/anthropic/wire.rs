//! Anthropic Messages API wire types: serde only, no logic beyond unit conversion.
//!
//! What the provider side reads (responses, stream events) is `*In`; what the ingress side
//! writes for Anthropic-speaking clients is `*Out`. Unknown block and event types decode as
//! `Other`/`Unknown`: Anthropic's versioning policy allows new ones at any time, and a
//! translator skips what it does not know rather than failing the request.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::ErrorBody;
use crate::usage::Usage;

/// A complete Messages API response (`"type": "message"`).
#[derive(Debug, Deserialize)]
pub(crate) struct MessageIn {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) model: String,
    pub(crate) content: Vec<BlockIn>,
    #[serde(default)]
    pub(crate) stop_reason: Option<String>,
    #[serde(default)]
    pub(crate) usage: UsageIn,
}

/// A content block, in a response or a `content_block_start` event.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum BlockIn {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
    },
    /// `redacted_thinking`, server tool blocks, and anything newer.
    #[serde(other)]
    Other,
}

/// Anthropic's usage: `input_tokens` excludes cache reads and writes.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub(crate) struct UsageIn {
    #[serde(default)]
    pub(crate) input_tokens: Option<u64>,
    #[serde(default)]
    pub(crate) output_tokens: Option<u64>,
    #[serde(default)]
    pub(crate) cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    pub(crate) cache_creation_input_tokens: Option<u64>,
}

impl UsageIn {
    /// Overwrites each count this report carries (a `message_delta` repeats some, cumulative).
    pub(crate) fn merge(&mut self, later: &UsageIn) {
        let pairs = [
            (&mut self.input_tokens, later.input_tokens),
            (&mut self.output_tokens, later.output_tokens),
            (
                &mut self.cache_read_input_tokens,
                later.cache_read_input_tokens,
            ),
            (
                &mut self.cache_creation_input_tokens,
                later.cache_creation_input_tokens,
            ),
        ];
        for (slot, value) in pairs {
            if value.is_some() {
                *slot = value;
            }
        }
    }

    /// In the gateway's convention: `prompt_tokens` counts cached and cache-written input too.
    pub(crate) fn to_usage(self) -> Usage {
        let read = self.cache_read_input_tokens.unwrap_or(0);
        let write = self.cache_creation_input_tokens.unwrap_or(0);
        Usage {
            prompt_tokens: self.input_tokens.unwrap_or(0) + read + write,
            completion_tokens: self.output_tokens.unwrap_or(0),
            cached_tokens: read,
            cache_write_tokens: write,
        }
    }
}

/// One streaming event's `data`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum EventIn {
    MessageStart {
        message: MessageStartIn,
    },
    ContentBlockStart {
        index: u64,
        content_block: BlockIn,
    },
    ContentBlockDelta {
        index: u64,
        delta: DeltaIn,
    },
    /// `content_block_stop` (its `index` needs no action: a block ends when the next starts).
    ContentBlockStop {},
    MessageDelta {
        delta: MessageDeltaIn,
        #[serde(default)]
        usage: Option<UsageIn>,
    },
    MessageStop,
    Ping,
    Error {
        error: ErrorBody,
    },
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MessageStartIn {
    #[serde(default)]
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) model: String,
    #[serde(default)]
    pub(crate) usage: UsageIn,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum DeltaIn {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    ThinkingDelta {
        thinking: String,
    },
    /// `signature_delta`, `citations_delta`, and anything newer.
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MessageDeltaIn {
    #[serde(default)]
    pub(crate) stop_reason: Option<String>,
}

/// A Messages API response, as the ingress writes it.
#[derive(Debug, Serialize)]
pub(crate) struct MessageOut<'a> {
    pub(crate) id: &'a str,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) role: &'static str,
    pub(crate) model: &'a str,
    pub(crate) content: Vec<BlockOut<'a>>,
    pub(crate) stop_reason: Option<&'static str>,
    pub(crate) stop_sequence: Option<&'a str>,
    pub(crate) usage: UsageOut,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum BlockOut<'a> {
    Text {
        text: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: Value,
    },
}

/// Usage as Anthropic reports it: `input_tokens` without the cached parts.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct UsageOut {
    pub(crate) input_tokens: u64,
    pub(crate) cache_creation_input_tokens: u64,
    pub(crate) cache_read_input_tokens: u64,
    pub(crate) output_tokens: u64,
}

impl From<Usage> for UsageOut {
    fn from(u: Usage) -> Self {
        UsageOut {
            input_tokens: u
                .prompt_tokens
                .saturating_sub(u.cached_tokens)
                .saturating_sub(u.cache_write_tokens),
            cache_creation_input_tokens: u.cache_write_tokens,
            cache_read_input_tokens: u.cached_tokens,
            output_tokens: u.completion_tokens,
        }
    }
}

/// Anthropic's stop reason → OpenAI's finish reason. `pause_turn` (a server-tool loop paused;
/// the caller may continue it) has no OpenAI counterpart and reads as `stop`.
pub(crate) fn finish_reason(stop_reason: Option<&str>) -> &'static str {
    match stop_reason {
        Some("max_tokens") | Some("model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        _ => "stop",
    }
}

/// OpenAI's finish reason → Anthropic's stop reason.
pub(crate) fn stop_reason(finish_reason: Option<&str>) -> &'static str {
    match finish_reason {
        Some("length") => "max_tokens",
        Some("tool_calls") | Some("function_call") => "tool_use",
        Some("content_filter") => "refusal",
        _ => "end_turn",
    }
}
