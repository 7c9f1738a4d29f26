//! Reading the tool calls of an OpenAI assistant message, for the translators that turn them
//! into their own blocks (Anthropic `tool_use`, Bedrock `toolUse`, Gemini `functionCall`):
//! one definition of what a well-formed call is and how its `arguments` string is read.

use serde_json::{Map, Value};

use crate::provider::anthropic::TranslateError;

/// One tool call the assistant made: its id, the function's name and its parsed arguments.
pub(crate) struct ToolCallIn<'a> {
    pub(crate) id: &'a str,
    pub(crate) name: &'a str,
    pub(crate) input: Value,
}

/// The message's `tool_calls` (none when absent or `null`); each needs an `id` and a
/// `function.name`. `at` names the message for errors.
pub(crate) fn assistant_tool_calls<'a>(
    tool_calls: Option<&'a Value>,
    at: &str,
) -> Result<Vec<ToolCallIn<'a>>, TranslateError> {
    let calls = match tool_calls {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(calls)) => calls,
        Some(_) => {
            return Err(TranslateError::invalid(
                format!("{at}.tool_calls"),
                "must be an array",
            ));
        }
    };
    let mut out = Vec::with_capacity(calls.len());
    for (j, call) in calls.iter().enumerate() {
        let at = format!("{at}.tool_calls[{j}]");
        let id = call.get("id").and_then(Value::as_str);
        let name = call.pointer("/function/name").and_then(Value::as_str);
        let (Some(id), Some(name)) = (id, name) else {
            return Err(TranslateError::invalid(
                at,
                "needs an `id` and a `function.name`",
            ));
        };
        let input = tool_arguments(call, &at)?;
        out.push(ToolCallIn { id, name, input });
    }
    Ok(out)
}

/// A call's `function.arguments` — a JSON string — as the object it encodes: empty (or not a
/// string) is `{}`, anything but an object is refused naming `<at>.function.arguments`.
pub(crate) fn tool_arguments(call: &Value, at: &str) -> Result<Value, TranslateError> {
    let arguments = call
        .pointer("/function/arguments")
        .and_then(Value::as_str)
        .unwrap_or("");
    if arguments.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(TranslateError::invalid(
            format!("{at}.function.arguments"),
            "must be a JSON object",
        )),
    }
}
