//! OpenAI `chat.completion` → Anthropic Messages response, for Anthropic-speaking clients.
//!
//! The message text (or, failing that, a refusal) becomes one `text` block; each tool call a
//! `tool_use` block whose `input` is the parsed arguments (they must be a JSON object, as
//! Anthropic's clients read `input` as one). `reasoning_content` is dropped: an Anthropic
//! `thinking` block needs a signature no other provider can produce. `stop_sequence` is
//! always `null`: OpenAI does not say which stop sequence matched. Usage is split the
//! Anthropic way: `input_tokens` excludes `cache_read_input_tokens`.

use serde_json::Value;

use super::wire::{CompletionIn, content_text};
use crate::provider::anthropic::MalformedUpstream;
use crate::provider::anthropic::wire::{BlockOut, MessageOut, stop_reason};
use crate::usage::Usage;

/// Translates a complete chat completion; `public_model` is the name the client asked for.
/// Returns the body and the usage it reports (zero if the provider reported none).
pub fn to_messages_response(
    openai_body: &[u8],
    public_model: &str,
) -> Result<(Vec<u8>, Usage), MalformedUpstream> {
    let completion: CompletionIn = serde_json::from_slice(openai_body)
        .map_err(|_| MalformedUpstream("not a chat completion"))?;
    let choice = completion
        .choices
        .as_ref()
        .and_then(|c| c.first())
        .ok_or(MalformedUpstream("a chat completion without choices"))?;
    let message = &choice.message;
    let mut text = content_text(message.content.as_ref());
    if text.is_empty() {
        text = message.refusal.clone().unwrap_or_default();
    }
    let calls = message.tool_calls.as_deref().unwrap_or_default();
    let mut inputs = Vec::with_capacity(calls.len());
    for call in calls {
        let input = if call.function.arguments.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            match serde_json::from_str::<Value>(&call.function.arguments) {
                Ok(v @ Value::Object(_)) => v,
                _ => {
                    return Err(MalformedUpstream(
                        "tool call arguments are not a JSON object",
                    ));
                }
            }
        };
        inputs.push(input);
    }
    let mut content = Vec::with_capacity(1 + calls.len());
    if !text.is_empty() {
        content.push(BlockOut::Text { text: &text });
    }
    for (call, input) in calls.iter().zip(inputs) {
        content.push(BlockOut::ToolUse {
            id: &call.id,
            name: &call.function.name,
            input,
        });
    }
    let usage = completion.usage.unwrap_or_default();
    let out = MessageOut {
        id: &completion.id,
        kind: "message",
        role: "assistant",
        model: public_model,
        content,
        stop_reason: Some(stop_reason(choice.finish_reason.as_deref())),
        stop_sequence: None,
        usage: usage.into(),
    };
    let bytes = serde_json::to_vec(&out).map_err(|_| MalformedUpstream("serialise"))?;
    Ok((bytes, usage))
}
