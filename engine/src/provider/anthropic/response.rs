//! Anthropic Messages response → OpenAI `chat.completion`.
//!
//! Text blocks are concatenated into `message.content` (`null` when there is none, as OpenAI
//! does when only tools are called). `tool_use` blocks become `tool_calls` with the block id
//! and the input re-serialised as a JSON string. `thinking` blocks are concatenated into
//! `message.reasoning_content` (the field DeepSeek, vLLM and most gateways use); their
//! signatures, `redacted_thinking` and server-tool blocks are dropped: an OpenAI client cannot
//! send them back. Usage follows OpenAI: `prompt_tokens` includes cache reads and writes.

use super::error::MalformedUpstream;
use super::wire::{BlockIn, MessageIn, finish_reason};
use crate::provider::openai_out::{Choice, Completion, Function, Message, ToolCall};
use crate::usage::Usage;

/// Translates a complete Messages API response. `created` is the Unix time to stamp on the
/// completion (the caller's clock; translation reads none).
pub fn translate_response(
    body: &[u8],
    created: u64,
) -> Result<(Vec<u8>, Usage), MalformedUpstream> {
    let message: MessageIn = serde_json::from_slice(body)
        .map_err(|_| MalformedUpstream("not a Messages API response"))?;
    let mut text: Option<String> = None;
    let mut thinking: Option<String> = None;
    let mut tool_calls = Vec::new();
    for block in &message.content {
        match block {
            BlockIn::Text { text: t } => text.get_or_insert_with(String::new).push_str(t),
            BlockIn::Thinking { thinking: t } => {
                thinking.get_or_insert_with(String::new).push_str(t);
            }
            BlockIn::ToolUse { id, name, input } => tool_calls.push(ToolCall {
                id,
                kind: "function",
                function: Function {
                    name,
                    arguments: serde_json::to_string(input)
                        .map_err(|_| MalformedUpstream("tool input"))?,
                },
            }),
            BlockIn::Other => {}
        }
    }
    let usage = message.usage.to_usage();
    let completion = Completion {
        id: &message.id,
        object: "chat.completion",
        created,
        model: &message.model,
        choices: &[Choice {
            index: 0,
            message: Message {
                role: "assistant",
                content: text,
                reasoning_content: thinking,
                tool_calls,
            },
            logprobs: None,
            finish_reason: finish_reason(message.stop_reason.as_deref()),
        }],
        usage: usage.into(),
    };
    let bytes = serde_json::to_vec(&completion).map_err(|_| MalformedUpstream("serialise"))?;
    Ok((bytes, usage))
}
