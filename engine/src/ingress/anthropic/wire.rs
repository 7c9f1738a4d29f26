//! OpenAI chat completion wire types the Anthropic ingress reads: serde only.
//!
//! These are what any OpenAI-compatible provider answers with. Fields the ingress does not
//! translate are ignored; `null` and absent read the same.

use serde::Deserialize;
use serde_json::Value;

use crate::usage::Usage;

#[derive(Debug, Deserialize)]
pub(crate) struct CompletionIn {
    #[serde(default)]
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) choices: Option<Vec<ChoiceIn>>,
    #[serde(default)]
    pub(crate) usage: Option<Usage>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChoiceIn {
    pub(crate) message: MessageIn,
    #[serde(default)]
    pub(crate) finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MessageIn {
    #[serde(default)]
    pub(crate) content: Option<Value>,
    #[serde(default)]
    pub(crate) refusal: Option<String>,
    #[serde(default)]
    pub(crate) tool_calls: Option<Vec<ToolCallIn>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ToolCallIn {
    pub(crate) id: String,
    pub(crate) function: FunctionIn,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FunctionIn {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) arguments: String,
}

/// One `chat.completion.chunk`, or an error object some servers send mid-stream.
#[derive(Debug, Deserialize)]
pub(crate) struct ChunkIn {
    #[serde(default)]
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) choices: Option<Vec<ChunkChoiceIn>>,
    #[serde(default)]
    pub(crate) usage: Option<Usage>,
    #[serde(default)]
    pub(crate) error: Option<ErrorIn>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChunkChoiceIn {
    #[serde(default)]
    pub(crate) index: u32,
    #[serde(default)]
    pub(crate) delta: Option<DeltaIn>,
    #[serde(default)]
    pub(crate) finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DeltaIn {
    #[serde(default)]
    pub(crate) content: Option<String>,
    #[serde(default)]
    pub(crate) tool_calls: Option<Vec<ToolCallChunkIn>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ToolCallChunkIn {
    #[serde(default)]
    pub(crate) index: u32,
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(default)]
    pub(crate) function: Option<FunctionChunkIn>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FunctionChunkIn {
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) arguments: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorIn {
    #[serde(default)]
    pub(crate) message: Option<String>,
}

/// The text of an OpenAI `content`: a string, or the text parts of an array.
pub(crate) fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}
