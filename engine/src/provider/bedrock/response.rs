//! Converse response → OpenAI `chat.completion`.
//!
//! Text blocks are concatenated into `message.content` (`null` when there is none, as OpenAI
//! does when only tools are called); `toolUse` blocks become `tool_calls` in order (parallel
//! calls kept), the input re-serialised as a JSON string; `reasoningContent` text becomes
//! `reasoning_content`. Converse answers carry no id or model name: the caller supplies both
//! (and the time), so the translation stays pure.

use super::wire::{ConverseOut, finish_reason};
use crate::provider::anthropic::MalformedUpstream;
use crate::provider::openai_out::{Choice, Completion, Function, Message, ToolCall};
use crate::usage::Usage;

/// What the caller stamps on a translated completion.
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    pub id: &'a str,
    pub model: &'a str,
    pub created: u64,
}

/// Translates a complete Converse response.
pub fn translate_response(
    body: &[u8],
    stamp: Stamp<'_>,
) -> Result<(Vec<u8>, Usage), MalformedUpstream> {
    let out: ConverseOut =
        serde_json::from_slice(body).map_err(|_| MalformedUpstream("not a Converse response"))?;
    let mut text: Option<String> = None;
    let mut reasoning: Option<String> = None;
    let mut tool_calls = Vec::new();
    for block in &out.output.message.content {
        if let Some(t) = &block.text {
            text.get_or_insert_with(String::new).push_str(t);
        }
        if let Some(r) = block
            .reasoning_content
            .as_ref()
            .and_then(|r| r.reasoning_text.as_ref())
        {
            reasoning.get_or_insert_with(String::new).push_str(&r.text);
        }
        if let Some(call) = &block.tool_use {
            tool_calls.push(ToolCall {
                id: &call.tool_use_id,
                kind: "function",
                function: Function {
                    name: &call.name,
                    arguments: serde_json::to_string(&call.input)
                        .map_err(|_| MalformedUpstream("tool input"))?,
                },
            });
        }
    }
    let usage = out.usage.unwrap_or_default().to_usage();
    let completion = Completion {
        id: stamp.id,
        object: "chat.completion",
        created: stamp.created,
        model: stamp.model,
        choices: &[Choice {
            index: 0,
            message: Message {
                role: "assistant",
                content: text,
                reasoning_content: reasoning,
                tool_calls,
            },
            logprobs: None,
            finish_reason: finish_reason(out.stop_reason.as_deref()),
        }],
        usage: usage.into(),
    };
    let bytes = serde_json::to_vec(&completion).map_err(|_| MalformedUpstream("serialise"))?;
    Ok((bytes, usage))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    const STAMP: Stamp<'static> = Stamp {
        id: "chatcmpl-1",
        model: "m",
        created: 1,
    };

    #[test]
    fn reasoning_blocks_become_reasoning_content_and_guardrails_content_filter() {
        let body = br#"{"output":{"message":{"role":"assistant","content":[
            {"reasoningContent":{"reasoningText":{"text":"Let me think.","signature":"sig"}}},
            {"text":"Blocked."}]}},"stopReason":"guardrail_intervened",
            "usage":{"inputTokens":3,"outputTokens":2}}"#;
        let (out, usage) = translate_response(body, STAMP).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["choices"][0]["message"]["reasoning_content"],
            "Let me think."
        );
        assert_eq!(v["choices"][0]["message"]["content"], "Blocked.");
        assert_eq!(v["choices"][0]["finish_reason"], "content_filter");
        assert!(!String::from_utf8_lossy(&out).contains("sig"));
        assert_eq!(usage, Usage::new(3, 2));
    }

    #[test]
    fn a_body_that_is_not_a_converse_response_is_malformed() {
        assert!(translate_response(br#"{"message":"hi"}"#, STAMP).is_err());
        assert!(translate_response(b"<html>", STAMP).is_err());
    }
}
