//! OpenAI chat request → Anthropic Messages request.
//!
//! Mapping decisions (each one tested):
//! - `system`/`developer` messages, wherever they appear, are hoisted into `system` (text
//!   blocks, `cache_control` kept). A message-level `cache_control` lands on its last block.
//! - `tool_calls` become `tool_use` blocks (arguments parsed; they must be a JSON object);
//!   `tool` messages become `tool_result` blocks in a user turn; consecutive same-role turns
//!   are merged, as Anthropic requires alternation. Empty text is dropped (Anthropic refuses
//!   empty text blocks). Assistant `reasoning_content` is dropped: it has no signature.
//! - Images: `data:` URLs → base64 source, `http(s)` URLs → url source (never fetched here).
//! - `max_completion_tokens`, else `max_tokens`, else [`AnthropicOptions::default_max_tokens`].
//! - `response_format`: `json_schema` → `output_config.format` (Anthropic's structured
//!   outputs; `name`/`strict` dropped); `json_object` → one system instruction to answer with a
//!   JSON object only (Anthropic has no schema-less JSON mode); `text` → nothing.
//! - `reasoning_effort` low/medium/high → `thinking.budget_tokens` from the options, capped
//!   below `max_tokens`; dropped when `max_tokens` leaves no room for the 1024-token minimum;
//!   `none`/`minimal` → no thinking. An explicit `thinking` object (Anthropic's own) wins.
//!   It is also dropped while a tool loop is under way (the last assistant turn called
//!   tools): Anthropic then demands that turn's signed thinking block back, which an OpenAI
//!   client cannot send.
//! - Dropped as harmless: `seed`, `service_tier`, `store`, `metadata`, `prompt_cache_key`,
//!   `safety_identifier`, `verbosity`, `stream_options` (Anthropic streams always carry usage),
//!   and neutral values of `n` (1), `logprobs` (false), penalties (0), `logit_bias` ({}).
//!   Anything else Anthropic cannot take (`temperature` > 1, `n` > 1, non-zero penalties,
//!   audio, legacy `functions`, unknown fields) is a [`TranslateError`] naming the field.

use serde_json::{Map, Value, json};

mod messages;
#[cfg(test)]
mod tests;

use messages::{messages, text_block};

use super::AnthropicOptions;
use super::error::TranslateError;

/// Anthropic's smallest accepted thinking budget.
const MIN_THINKING_BUDGET: u64 = 1024;
const JSON_OBJECT_INSTRUCTION: &str =
    "Respond with a single valid JSON object and nothing else: no prose, no code fences.";

/// Builds the Messages API body for `chat`, a validated OpenAI chat completions request.
pub fn build_request(
    chat: &Map<String, Value>,
    upstream_model: &str,
    opts: &AnthropicOptions,
) -> Result<Vec<u8>, TranslateError> {
    let mut out = Map::new();
    out.insert("model".into(), upstream_model.into());
    let mut system = Vec::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for (key, value) in chat {
        let v = value;
        match key.as_str() {
            "model" | "max_tokens" | "max_completion_tokens" | "tool_choice" => {}
            "parallel_tool_calls" | "response_format" | "reasoning_effort" | "thinking" => {}
            "seed" | "service_tier" | "store" | "metadata" | "prompt_cache_key" => {}
            "safety_identifier" | "verbosity" | "stream_options" => {}
            "messages" => messages(v, &mut system, &mut turns)?,
            "stream" if v.as_bool() == Some(true) => {
                out.insert("stream".into(), true.into());
            }
            "stream" => {}
            "stop" => {
                if let Some(stops) = stop_sequences(v)? {
                    out.insert("stop_sequences".into(), stops);
                }
            }
            "temperature" => match v.as_f64() {
                Some(t) if (0.0..=1.0).contains(&t) => {
                    out.insert(key.clone(), v.clone());
                }
                Some(_) => return Err(TranslateError::invalid(key, "must be between 0 and 1")),
                None if v.is_null() => {}
                None => return Err(TranslateError::invalid(key, "must be a number")),
            },
            "top_p" | "top_k" => match v {
                Value::Number(_) => {
                    out.insert(key.clone(), v.clone());
                }
                Value::Null => {}
                _ => return Err(TranslateError::invalid(key, "must be a number")),
            },
            "tools" => {
                if let Some(tools) = tools(v)? {
                    out.insert("tools".into(), tools);
                }
            }
            "user" => match v {
                Value::String(user) => {
                    out.insert("metadata".into(), json!({ "user_id": user }));
                }
                Value::Null => {}
                _ => return Err(TranslateError::invalid(key, "must be a string")),
            },
            "n" if v.is_null() || v.as_u64() == Some(1) => {}
            "logprobs" if matches!(v, Value::Null | Value::Bool(false)) => {}
            "frequency_penalty" | "presence_penalty" if v.is_null() || v.as_f64() == Some(0.0) => {}
            "logit_bias" if v.is_null() || v.as_object().is_some_and(Map::is_empty) => {}
            "modalities" if v.as_array().is_some_and(|m| m.iter().all(|x| x == "text")) => {}
            other => return Err(TranslateError::Unsupported(other.to_owned())),
        }
    }
    if turns.is_empty() {
        return Err(TranslateError::invalid(
            "messages",
            "must contain at least one user or assistant message",
        ));
    }
    let max_tokens = max_tokens(chat, opts)?;
    out.insert("max_tokens".into(), max_tokens.into());
    if let Some(choice) = tool_choice(chat)? {
        out.insert("tool_choice".into(), choice);
    }
    match response_format(chat)? {
        Some(Format::JsonObject) => system.push(text_block(JSON_OBJECT_INSTRUCTION)),
        Some(Format::Schema(schema)) => {
            out.insert(
                "output_config".into(),
                json!({ "format": { "type": "json_schema", "schema": schema } }),
            );
        }
        None => {}
    }
    let mid_tool_loop = turns
        .iter()
        .rev()
        .find(|(role, _)| *role == "assistant")
        .is_some_and(|(_, blocks)| blocks.iter().any(|b| b["type"] == "tool_use"));
    if let Some(thinking) = thinking(chat, max_tokens, opts)?
        && (!mid_tool_loop || chat.contains_key("thinking"))
    {
        out.insert("thinking".into(), thinking);
    }
    if !system.is_empty() {
        out.insert("system".into(), Value::Array(system));
    }
    let turns = turns
        .into_iter()
        .map(|(role, content)| json!({ "role": role, "content": content }))
        .collect();
    out.insert("messages".into(), Value::Array(turns));
    serde_json::to_vec(&out).map_err(|_| TranslateError::invalid("messages", "not serialisable"))
}

fn stop_sequences(v: &Value) -> Result<Option<Value>, TranslateError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(json!([s]))),
        Value::Array(a) if a.iter().all(Value::is_string) => Ok(Some(v.clone())),
        _ => Err(TranslateError::invalid(
            "stop",
            "must be a string or an array of strings",
        )),
    }
}

fn tools(v: &Value) -> Result<Option<Value>, TranslateError> {
    let list = match v {
        Value::Null => return Ok(None),
        Value::Array(list) => list,
        _ => return Err(TranslateError::invalid("tools", "must be an array")),
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, tool) in list.iter().enumerate() {
        let at = format!("tools[{i}]");
        if tool.get("type").and_then(Value::as_str) != Some("function") {
            return Err(TranslateError::Unsupported(format!("{at}.type")));
        }
        let f = tool.get("function").and_then(Value::as_object);
        let name = f.and_then(|f| f.get("name")).and_then(Value::as_str);
        let (Some(f), Some(name)) = (f, name) else {
            return Err(TranslateError::invalid(at, "needs a `function.name`"));
        };
        let mut t = Map::new();
        t.insert("name".into(), name.into());
        if let Some(d @ Value::String(_)) = f.get("description") {
            t.insert("description".into(), d.clone());
        }
        let schema = match f.get("parameters") {
            Some(p @ Value::Object(_)) => p.clone(),
            _ => json!({ "type": "object", "properties": {} }),
        };
        t.insert("input_schema".into(), schema);
        if let Some(cc) = tool.get("cache_control") {
            t.insert("cache_control".into(), cc.clone());
        }
        out.push(Value::Object(t));
    }
    Ok(Some(Value::Array(out)))
}

fn tool_choice(chat: &Map<String, Value>) -> Result<Option<Value>, TranslateError> {
    let no_parallel = chat.get("parallel_tool_calls") == Some(&Value::Bool(false));
    let has_tools = chat
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty());
    let mut choice = match chat.get("tool_choice") {
        None | Some(Value::Null) if no_parallel && has_tools => json!({ "type": "auto" }),
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => match s.as_str() {
            "auto" => json!({ "type": "auto" }),
            "none" => json!({ "type": "none" }),
            "required" => json!({ "type": "any" }),
            _ => return Err(TranslateError::invalid("tool_choice", "unknown value")),
        },
        Some(v) => match v.pointer("/function/name").and_then(Value::as_str) {
            Some(name) => json!({ "type": "tool", "name": name }),
            None => {
                return Err(TranslateError::invalid(
                    "tool_choice",
                    "needs `function.name`",
                ));
            }
        },
    };
    if let Value::Object(c) = &mut choice
        && no_parallel
        && c.get("type").and_then(Value::as_str) != Some("none")
    {
        c.insert("disable_parallel_tool_use".into(), true.into());
    }
    Ok(Some(choice))
}

fn max_tokens(chat: &Map<String, Value>, opts: &AnthropicOptions) -> Result<u64, TranslateError> {
    for key in ["max_completion_tokens", "max_tokens"] {
        match chat.get(key) {
            None | Some(Value::Null) => {}
            Some(v) => match v.as_u64() {
                Some(n) if n > 0 => return Ok(n),
                _ => return Err(TranslateError::invalid(key, "must be a positive integer")),
            },
        }
    }
    Ok(opts.default_max_tokens)
}

enum Format {
    JsonObject,
    Schema(Value),
}

fn response_format(chat: &Map<String, Value>) -> Result<Option<Format>, TranslateError> {
    let Some(rf) = chat.get("response_format").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    match rf.get("type").and_then(Value::as_str) {
        Some("text") => Ok(None),
        Some("json_object") => Ok(Some(Format::JsonObject)),
        Some("json_schema") => match rf.pointer("/json_schema/schema") {
            Some(s @ Value::Object(_)) => Ok(Some(Format::Schema(s.clone()))),
            _ => Err(TranslateError::invalid(
                "response_format.json_schema.schema",
                "must be an object",
            )),
        },
        _ => Err(TranslateError::invalid(
            "response_format.type",
            "unknown value",
        )),
    }
}

fn thinking(
    chat: &Map<String, Value>,
    max_tokens: u64,
    opts: &AnthropicOptions,
) -> Result<Option<Value>, TranslateError> {
    match chat.get("thinking") {
        Some(t @ Value::Object(_)) => return Ok(Some(t.clone())),
        None | Some(Value::Null) => {}
        Some(_) => return Err(TranslateError::invalid("thinking", "must be an object")),
    }
    let budget = match chat.get("reasoning_effort") {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => match v.as_str() {
            Some("none") | Some("minimal") => return Ok(None),
            Some("low") => opts.thinking_budgets[0],
            Some("medium") => opts.thinking_budgets[1],
            Some("high") => opts.thinking_budgets[2],
            _ => return Err(TranslateError::invalid("reasoning_effort", "unknown value")),
        },
    };
    let budget = budget.min(max_tokens.saturating_sub(1));
    if budget < MIN_THINKING_BUDGET {
        return Ok(None);
    }
    Ok(Some(json!({ "type": "enabled", "budget_tokens": budget })))
}
