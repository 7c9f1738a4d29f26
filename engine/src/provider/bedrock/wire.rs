//! Bedrock Converse wire types (serde only, no logic beyond field mapping): the response
//! body, the ConverseStream event payloads, and the OpenAI shapes they become.

use serde::Deserialize;
use serde_json::Value;

use crate::usage::Usage;

/// A Converse response body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConverseOut {
    pub(crate) output: OutputIn,
    #[serde(default)]
    pub(crate) stop_reason: Option<String>,
    #[serde(default)]
    pub(crate) usage: Option<UsageIn>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct OutputIn {
    pub(crate) message: MessageIn,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MessageIn {
    #[serde(default)]
    pub(crate) content: Vec<BlockIn>,
}

/// One content block of a response: exactly one member is set.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlockIn {
    #[serde(default)]
    pub(crate) text: Option<String>,
    #[serde(default)]
    pub(crate) tool_use: Option<ToolUseIn>,
    #[serde(default)]
    pub(crate) reasoning_content: Option<ReasoningIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolUseIn {
    pub(crate) tool_use_id: String,
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) input: Value,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReasoningIn {
    #[serde(default)]
    pub(crate) reasoning_text: Option<ReasoningText>,
    /// Stream deltas carry the text directly.
    #[serde(default)]
    pub(crate) text: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReasoningText {
    #[serde(default)]
    pub(crate) text: String,
}

/// Bedrock's usage object.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageIn {
    #[serde(default)]
    pub(crate) input_tokens: u64,
    #[serde(default)]
    pub(crate) output_tokens: u64,
    #[serde(default)]
    pub(crate) cache_read_input_tokens: u64,
    #[serde(default)]
    pub(crate) cache_write_input_tokens: u64,
}

impl UsageIn {
    /// In the gateway's convention: prompt tokens include cache reads and writes (Bedrock's
    /// `inputTokens` counts only the uncached part, as Anthropic's does).
    pub(crate) fn to_usage(self) -> Usage {
        Usage {
            prompt_tokens: self.input_tokens
                + self.cache_read_input_tokens
                + self.cache_write_input_tokens,
            completion_tokens: self.output_tokens,
            cached_tokens: self.cache_read_input_tokens,
            cache_write_tokens: self.cache_write_input_tokens,
        }
    }
}

/// `contentBlockStart`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlockStartIn {
    pub(crate) content_block_index: u64,
    #[serde(default)]
    pub(crate) start: BlockStartBody,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlockStartBody {
    #[serde(default)]
    pub(crate) tool_use: Option<ToolStartIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolStartIn {
    pub(crate) tool_use_id: String,
    pub(crate) name: String,
}

/// `contentBlockDelta`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlockDeltaIn {
    pub(crate) content_block_index: u64,
    pub(crate) delta: DeltaBody,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeltaBody {
    #[serde(default)]
    pub(crate) text: Option<String>,
    #[serde(default)]
    pub(crate) tool_use: Option<ToolDeltaIn>,
    #[serde(default)]
    pub(crate) reasoning_content: Option<ReasoningIn>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ToolDeltaIn {
    #[serde(default)]
    pub(crate) input: String,
}

/// `messageStop`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MessageStopIn {
    #[serde(default)]
    pub(crate) stop_reason: Option<String>,
}

/// `metadata`.
#[derive(Debug, Deserialize)]
pub(crate) struct MetadataIn {
    #[serde(default)]
    pub(crate) usage: Option<UsageIn>,
}

/// Bedrock's stop reason → OpenAI's finish reason.
pub(crate) fn finish_reason(stop_reason: Option<&str>) -> &'static str {
    match stop_reason {
        Some("max_tokens") | Some("model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("guardrail_intervened") | Some("content_filtered") => "content_filter",
        _ => "stop",
    }
}
