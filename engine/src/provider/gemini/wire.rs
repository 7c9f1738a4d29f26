//! Gemini `GenerateContentResponse` wire types (generateContent, and each event of
//! streamGenerateContent): serde only. Unknown part kinds and fields are skipped, as Google's
//! API adds them over time and a translator must not fail on what it does not use.

use serde::Deserialize;
use serde_json::Value;

use crate::usage::Usage;

/// One complete response, or one streamed event.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResponseIn {
    #[serde(default)]
    pub(crate) candidates: Vec<CandidateIn>,
    #[serde(default)]
    pub(crate) prompt_feedback: Option<PromptFeedbackIn>,
    #[serde(default)]
    pub(crate) usage_metadata: Option<UsageIn>,
    #[serde(default)]
    pub(crate) model_version: Option<String>,
    #[serde(default)]
    pub(crate) response_id: Option<String>,
    /// A mid-stream error object (Google's `{code, message, status}`).
    #[serde(default)]
    pub(crate) error: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CandidateIn {
    #[serde(default)]
    pub(crate) content: Option<ContentIn>,
    #[serde(default)]
    pub(crate) finish_reason: Option<String>,
    #[serde(default)]
    pub(crate) index: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ContentIn {
    #[serde(default)]
    pub(crate) parts: Vec<PartIn>,
}

/// A part: text (a thought summary when `thought`), or a function call; others are skipped.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PartIn {
    #[serde(default)]
    pub(crate) text: Option<String>,
    #[serde(default)]
    pub(crate) thought: bool,
    #[serde(default)]
    pub(crate) function_call: Option<FunctionCallIn>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FunctionCallIn {
    /// Set by newer models; the gateway generates one when absent.
    #[serde(default)]
    pub(crate) id: Option<String>,
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) args: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PromptFeedbackIn {
    #[serde(default)]
    pub(crate) block_reason: Option<String>,
}

/// `usageMetadata`. `promptTokenCount` includes the cached part; thoughts are billed as output.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageIn {
    #[serde(default)]
    pub(crate) prompt_token_count: u64,
    #[serde(default)]
    pub(crate) candidates_token_count: u64,
    #[serde(default)]
    pub(crate) thoughts_token_count: u64,
    #[serde(default)]
    pub(crate) cached_content_token_count: u64,
}

impl UsageIn {
    /// In the gateway's convention: output includes thinking tokens.
    pub(crate) fn to_usage(self) -> Usage {
        Usage {
            prompt_tokens: self.prompt_token_count,
            completion_tokens: self.candidates_token_count + self.thoughts_token_count,
            cached_tokens: self.cached_content_token_count,
            cache_write_tokens: 0,
        }
    }
}

/// A Gemini `finishReason` → OpenAI `finish_reason`. `called` says whether the candidate
/// made function calls (Gemini reports `STOP` for those).
pub(crate) fn finish_reason(reason: &str, called: bool) -> &'static str {
    match reason {
        "MAX_TOKENS" => "length",
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY"
        | "LANGUAGE" => "content_filter",
        _ if called => "tool_calls",
        _ => "stop",
    }
}

/// The tool-call id for the `n`th call of a response whose `responseId` is `response_id`,
/// when the model gave none: deterministic, and distinct across turns when Google sends a
/// response id.
pub(crate) fn call_id(given: Option<&str>, response_id: Option<&str>, n: u32) -> String {
    match (given, response_id) {
        (Some(id), _) if !id.is_empty() => id.to_owned(),
        (_, Some(r)) if !r.is_empty() => format!("call_{r}_{n}"),
        _ => format!("call_{n}"),
    }
}
