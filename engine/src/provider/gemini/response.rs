//! Gemini `GenerateContentResponse` → OpenAI `chat.completion`.
//!
//! One choice per candidate (`n` > 1 asks for several). Text parts are concatenated into
//! `message.content` (`null` when there is none), thought parts into `reasoning_content`,
//! `functionCall` parts become `tool_calls` (arguments re-serialised; ids from the model when
//! it sends them, else `call_{responseId}_{n}`, deterministic). Finish reasons map as in
//! [`finish_reason`]. A prompt Gemini blocked (`promptFeedback.blockReason`, no candidates)
//! is a [`Blocked`] error, which the adapter turns into a content-policy refusal, so a
//! group's content-policy fallbacks apply; the reason word (e.g. `SAFETY`) is kept, no text.
//! Usage: `prompt_tokens` = `promptTokenCount` (cached part included), `completion_tokens` =
//! candidates + thoughts, `cached_tokens` = `cachedContentTokenCount`.

use super::wire::{CandidateIn, ResponseIn, call_id, finish_reason};
use crate::provider::openai_out::{Choice, Completion, Function, Message, ToolCall};
use crate::usage::Usage;

/// Why a response could not be translated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("the provider's response was malformed: {0}")]
    Malformed(&'static str),
    /// Gemini refused the prompt; `0` is its block reason word.
    #[error("the provider blocked the prompt ({0})")]
    Blocked(String),
}

/// A block reason word, kept only if it is one (upper-case letters and `_`).
pub(crate) fn block_reason(reason: &str) -> String {
    if !reason.is_empty() && reason.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
        reason.to_owned()
    } else {
        "BLOCKED".to_owned()
    }
}

/// Translates a complete generateContent response. `model` names the deployment's model
/// when Gemini sends no `modelVersion`; `created` is the caller's Unix time.
pub fn translate_response(
    body: &[u8],
    model: &str,
    created: u64,
) -> Result<(Vec<u8>, Usage), ResponseError> {
    let response: ResponseIn = serde_json::from_slice(body)
        .map_err(|_| ResponseError::Malformed("not a GenerateContentResponse"))?;
    if response.candidates.is_empty() {
        let reason = response
            .prompt_feedback
            .and_then(|f| f.block_reason)
            .ok_or(ResponseError::Malformed("no candidates"))?;
        return Err(ResponseError::Blocked(block_reason(&reason)));
    }
    let response_id = response.response_id.as_deref();
    let mut ids = Vec::new();
    let mut calls_seen = 0u32;
    for candidate in &response.candidates {
        for part in candidate.content.iter().flat_map(|c| &c.parts) {
            if let Some(call) = &part.function_call {
                ids.push(call_id(call.id.as_deref(), response_id, calls_seen));
                calls_seen += 1;
            }
        }
    }
    let mut ids = ids.iter();
    let mut choices = Vec::with_capacity(response.candidates.len());
    for (i, candidate) in response.candidates.iter().enumerate() {
        let index = candidate
            .index
            .unwrap_or(u32::try_from(i).unwrap_or(u32::MAX));
        choices.push(choice(candidate, index, &mut ids)?);
    }
    let usage = response.usage_metadata.unwrap_or_default().to_usage();
    let id = format!("chatcmpl-{}", response_id.unwrap_or("gemini"));
    let completion = Completion {
        id: &id,
        object: "chat.completion",
        created,
        model: response.model_version.as_deref().unwrap_or(model),
        choices: &choices,
        usage: usage.into(),
    };
    let bytes =
        serde_json::to_vec(&completion).map_err(|_| ResponseError::Malformed("serialise"))?;
    Ok((bytes, usage))
}

fn choice<'a>(
    candidate: &'a CandidateIn,
    index: u32,
    ids: &mut std::slice::Iter<'a, String>,
) -> Result<Choice<'a>, ResponseError> {
    let mut text: Option<String> = None;
    let mut thinking: Option<String> = None;
    let mut tool_calls = Vec::new();
    for part in candidate.content.iter().flat_map(|c| &c.parts) {
        if let Some(call) = &part.function_call {
            let args = call.args.clone().unwrap_or_else(|| serde_json::json!({}));
            tool_calls.push(ToolCall {
                id: ids.next().map_or("", String::as_str),
                kind: "function",
                function: Function {
                    name: &call.name,
                    arguments: serde_json::to_string(&args)
                        .map_err(|_| ResponseError::Malformed("function args"))?,
                },
            });
        } else if let Some(t) = &part.text {
            let into = if part.thought {
                &mut thinking
            } else {
                &mut text
            };
            into.get_or_insert_with(String::new).push_str(t);
        }
    }
    let reason = candidate.finish_reason.as_deref().unwrap_or("STOP");
    Ok(Choice {
        index,
        finish_reason: finish_reason(reason, !tool_calls.is_empty()),
        message: Message {
            role: "assistant",
            content: text,
            reasoning_content: thinking,
            tool_calls,
        },
        logprobs: None,
    })
}
