//! OpenAI's output shapes as the translating providers (Anthropic, Gemini, Vertex AI, Bedrock)
//! write them: one definition of the `chat.completion` answer, the `chat.completion.chunk`
//! event, their parts and the `usage` object, so every translator's answer and stream read the
//! same to an OpenAI client.

use serde::Serialize;

use crate::usage::Usage;

/// A complete `chat.completion` answer.
#[derive(Serialize)]
pub(crate) struct Completion<'a> {
    pub(crate) id: &'a str,
    /// Always `chat.completion`.
    pub(crate) object: &'static str,
    pub(crate) created: u64,
    pub(crate) model: &'a str,
    pub(crate) choices: &'a [Choice<'a>],
    pub(crate) usage: UsageOut,
}

/// One choice of an answer.
#[derive(Serialize)]
pub(crate) struct Choice<'a> {
    pub(crate) index: u32,
    pub(crate) message: Message<'a>,
    pub(crate) logprobs: Option<()>,
    pub(crate) finish_reason: &'static str,
}

/// The assistant's message in an answer.
#[derive(Serialize)]
pub(crate) struct Message<'a> {
    pub(crate) role: &'static str,
    pub(crate) content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reasoning_content: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) tool_calls: Vec<ToolCall<'a>>,
}

/// A complete tool call in an answer.
#[derive(Serialize)]
pub(crate) struct ToolCall<'a> {
    pub(crate) id: &'a str,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) function: Function<'a>,
}

#[derive(Serialize)]
pub(crate) struct Function<'a> {
    pub(crate) name: &'a str,
    pub(crate) arguments: String,
}

/// Writes one `data: {chat.completion.chunk}\n\n` SSE event to `out`.
pub(crate) fn write_chunk(
    out: &mut Vec<u8>,
    id: &str,
    created: u64,
    model: &str,
    choices: &[ChoiceDelta<'_>],
    usage: Option<UsageOut>,
) {
    let chunk = Chunk {
        id,
        object: "chat.completion.chunk",
        created,
        model,
        choices,
        usage,
    };
    out.extend_from_slice(b"data: ");
    // Serialising plain structs of strings and integers into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &chunk);
    out.extend_from_slice(b"\n\n");
}

#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: &'a [ChoiceDelta<'a>],
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<UsageOut>,
}

/// One choice of a chunk.
#[derive(Serialize)]
pub(crate) struct ChoiceDelta<'a> {
    pub(crate) index: u32,
    pub(crate) delta: Delta<'a>,
    pub(crate) finish_reason: Option<&'static str>,
}

/// What a chunk adds to the message.
#[derive(Default, Serialize)]
pub(crate) struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reasoning_content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool_calls: Option<[ToolCallDelta<'a>; 1]>,
}

/// A piece of one tool call: its id, type and name come with the first piece only.
#[derive(Serialize)]
pub(crate) struct ToolCallDelta<'a> {
    pub(crate) index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub(crate) kind: Option<&'static str>,
    pub(crate) function: FunctionDelta<'a>,
}

#[derive(Serialize)]
pub(crate) struct FunctionDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<&'a str>,
    pub(crate) arguments: &'a str,
}

/// OpenAI's `usage` object.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct UsageOut {
    pub(crate) prompt_tokens: u64,
    pub(crate) completion_tokens: u64,
    pub(crate) total_tokens: u64,
    pub(crate) prompt_tokens_details: CachedDetails,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct CachedDetails {
    pub(crate) cached_tokens: u64,
}

impl From<Usage> for UsageOut {
    fn from(u: Usage) -> Self {
        UsageOut {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            // Saturating: a provider's absurd counts must not overflow (security suite).
            total_tokens: u.prompt_tokens.saturating_add(u.completion_tokens),
            prompt_tokens_details: CachedDetails {
                cached_tokens: u.cached_tokens,
            },
        }
    }
}
