//! Shape checks on a chat request beyond the fields the gateway reads: every message, and
//! the configurable maxima on the parameters that multiply a request's cost or size.
//!
//! Without them a body such as `{"messages": [1, 2, 3, …]}` (a million integers) is forwarded
//! to the provider, counted, logged and billed as if it were a conversation. Each message must
//! be an object with a known role and a content of the right shape — a string, or an array of
//! typed parts (`{"type": …}`; the types themselves are not listed, so new part types keep
//! working) — and `null` content only where OpenAI allows it (an assistant message that calls
//! tools or a function). Errors name the exact field (`messages[3].content[0]`) and quote no
//! request content.

use serde_json::{Map, Value};

use crate::error::RequestError;

/// Roles a chat message may have.
pub(crate) const ROLES: &[&str] = &[
    "system",
    "developer",
    "user",
    "assistant",
    "tool",
    "function",
];

/// Maxima on a chat request's size and cost multipliers (config `server.chat_limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatLimits {
    /// Messages in one request.
    pub max_messages: u64,
    /// Completions per request (`n`); each one is billed.
    pub max_n: u64,
    /// `max_tokens` / `max_completion_tokens`.
    pub max_tokens: u64,
    /// Stop sequences (`stop` as an array).
    pub max_stop: u64,
    /// Tool (and legacy function) definitions.
    pub max_tools: u64,
    /// `top_logprobs`.
    pub max_top_logprobs: u64,
}

impl Default for ChatLimits {
    /// OpenAI's own documented maxima where it has one (`stop` 4, `tools` 128,
    /// `top_logprobs` 20), generous bounds elsewhere.
    fn default() -> Self {
        Self {
            max_messages: 4_096,
            max_n: 16,
            max_tokens: 1_000_000,
            max_stop: 4,
            max_tools: 128,
            max_top_logprobs: 20,
        }
    }
}

/// Checks every message of `messages` (already known to be a non-empty array).
pub(super) fn check_messages(messages: &[Value], limits: &ChatLimits) -> Result<(), RequestError> {
    if messages.len() as u64 > limits.max_messages {
        return Err(RequestError::OverLimit {
            field: "messages",
            limit: limits.max_messages,
        });
    }
    messages
        .iter()
        .enumerate()
        .try_for_each(|(i, m)| check_message(i, m))
}

fn check_message(index: usize, message: &Value) -> Result<(), RequestError> {
    let invalid = |suffix: &str, reason| RequestError::InvalidMessage {
        param: format!("messages[{index}]{suffix}"),
        reason,
    };
    let Value::Object(message) = message else {
        return Err(invalid(
            "",
            "must be an object with a `role` and a `content`",
        ));
    };
    let role = match message.get("role") {
        Some(Value::String(role)) if ROLES.contains(&role.as_str()) => role.as_str(),
        _ => {
            return Err(invalid(
                ".role",
                "must be one of system, developer, user, assistant, tool, function",
            ));
        }
    };
    match message.get("content") {
        Some(Value::String(_)) => Ok(()),
        Some(Value::Array(parts)) => {
            for (p, part) in parts.iter().enumerate() {
                if !is_typed_part(part) {
                    return Err(invalid(
                        &format!(".content[{p}]"),
                        "must be an object with a string `type`",
                    ));
                }
            }
            Ok(())
        }
        None | Some(Value::Null) if role == "assistant" && calls_something(message) => Ok(()),
        None | Some(Value::Null) => Err(invalid(
            ".content",
            "is required (null only in an assistant message with tool_calls)",
        )),
        Some(_) => Err(invalid(
            ".content",
            "must be a string or an array of content parts",
        )),
    }
}

fn is_typed_part(part: &Value) -> bool {
    matches!(part, Value::Object(p) if matches!(p.get("type"), Some(Value::String(_))))
}

fn calls_something(message: &Map<String, Value>) -> bool {
    let present = |k| !matches!(message.get(k), None | Some(Value::Null));
    present("tool_calls") || present("function_call")
}

/// Checks the request's maxima other than the number of messages.
pub(super) fn check_limits(
    body: &Map<String, Value>,
    limits: &ChatLimits,
) -> Result<(), RequestError> {
    let scalars = [
        ("n", limits.max_n),
        ("max_tokens", limits.max_tokens),
        ("max_completion_tokens", limits.max_tokens),
        ("top_logprobs", limits.max_top_logprobs),
    ];
    for (field, limit) in scalars {
        if let Some(Value::Number(n)) = body.get(field)
            && n.as_u64().is_none_or(|n| n > limit)
        {
            return Err(over_or_negative(field, n.as_u64().is_some(), limit));
        }
    }
    let counted = [
        ("stop", limits.max_stop),
        ("tools", limits.max_tools),
        ("functions", limits.max_tools),
    ];
    for (field, limit) in counted {
        if let Some(Value::Array(items)) = body.get(field)
            && items.len() as u64 > limit
        {
            return Err(RequestError::OverLimit { field, limit });
        }
    }
    Ok(())
}

fn over_or_negative(field: &'static str, non_negative: bool, limit: u64) -> RequestError {
    if non_negative {
        RequestError::OverLimit { field, limit }
    } else {
        RequestError::InvalidField {
            field,
            reason: "must be a non-negative integer",
        }
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
