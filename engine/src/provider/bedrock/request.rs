//! OpenAI chat request → Bedrock Converse request body. The model id and streaming are not in
//! the body: they choose the path (`/model/{id}/converse` or `/converse-stream`).
//!
//! Mapping decisions (each one tested):
//! - `system`/`developer` messages, wherever they appear, become `system: [{text}]`.
//! - Content parts become blocks: text → `{text}` (empty text dropped: Bedrock refuses blank
//!   blocks); `image_url` with a `data:image/{png|jpeg|gif|webp};base64,` URL →
//!   `{image: {format, source: {bytes}}}`. Remote image URLs are refused: Converse takes only
//!   bytes (or S3 locations), and the gateway does not fetch URLs on a client's behalf.
//! - `tool_calls` → `{toolUse: {toolUseId, name, input}}` (arguments must be a JSON object);
//!   `tool` messages → `{toolResult: {toolUseId, content: [{text}]}}` in a user turn (text is
//!   the one result type every Converse model accepts). Consecutive same-role turns are merged,
//!   as Converse requires alternation.
//! - `max_completion_tokens`/`max_tokens`, `temperature`, `top_p`, `stop` → `inferenceConfig`.
//! - `tools` → `toolConfig.tools[].toolSpec {name, description, inputSchema.json}`;
//!   `tool_choice` `auto` → `{auto:{}}`, `required` → `{any:{}}`, a named function →
//!   `{tool:{name}}`. `none` has no Converse equivalent: the tools are left out, unless the
//!   conversation already holds tool blocks (Converse then requires `toolConfig`), in which
//!   case they are sent without a choice. A conversation with tool blocks but no `tools`
//!   (an OpenAI client may drop them after the calls) gets a `toolConfig` naming the tools it
//!   used, each with an open object schema, for the same reason.
//! - `response_format` `json_object` → a system instruction (Converse has no JSON mode);
//!   `json_schema` is refused.
//! - Dropped as harmless: `seed`, `user`, `store`, `metadata`, `service_tier`,
//!   `stream_options` (ConverseStream always reports usage), `parallel_tool_calls`,
//!   `prompt_cache_key`, `safety_identifier`, and neutral values of `n`, `logprobs`,
//!   penalties and `logit_bias`. Anything else is a [`TranslateError`] naming the field.

use serde_json::{Map, Value, json};

use crate::provider::anthropic::TranslateError;
use crate::provider::tool_calls::assistant_tool_calls;

const JSON_OBJECT_INSTRUCTION: &str =
    "Respond with a single valid JSON object and nothing else: no prose, no code fences.";

/// Builds the Converse body for `chat`, a validated OpenAI chat completions request.
pub fn build_request(chat: &Map<String, Value>) -> Result<Vec<u8>, TranslateError> {
    let mut system: Vec<Value> = Vec::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let mut inference = Map::new();
    for (key, v) in chat {
        match key.as_str() {
            "model" | "stream" | "tools" | "tool_choice" | "response_format" => {}
            "seed" | "user" | "store" | "metadata" | "service_tier" | "stream_options" => {}
            "parallel_tool_calls" | "prompt_cache_key" | "safety_identifier" => {}
            "messages" => messages(v, &mut system, &mut turns)?,
            "max_tokens" | "max_completion_tokens" => {}
            "temperature" | "top_p" => match v {
                Value::Number(_) => {
                    let name = if key == "top_p" {
                        "topP"
                    } else {
                        "temperature"
                    };
                    inference.insert(name.into(), v.clone());
                }
                Value::Null => {}
                _ => return Err(TranslateError::invalid(key, "must be a number")),
            },
            "stop" => match v {
                Value::Null => {}
                Value::String(s) => {
                    inference.insert("stopSequences".into(), json!([s]));
                }
                Value::Array(a) if a.iter().all(Value::is_string) => {
                    inference.insert("stopSequences".into(), v.clone());
                }
                _ => {
                    return Err(TranslateError::invalid(
                        "stop",
                        "must be a string or strings",
                    ));
                }
            },
            "n" if v.is_null() || v.as_u64() == Some(1) => {}
            "logprobs" if matches!(v, Value::Null | Value::Bool(false)) => {}
            "frequency_penalty" | "presence_penalty" if v.is_null() || v.as_f64() == Some(0.0) => {}
            "logit_bias" if v.is_null() || v.as_object().is_some_and(Map::is_empty) => {}
            "reasoning_effort" if v.is_null() || v == "none" => {}
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
    for key in ["max_completion_tokens", "max_tokens"] {
        match chat.get(key) {
            None | Some(Value::Null) => {}
            Some(v) => match v.as_u64() {
                Some(n) if n > 0 => {
                    inference.insert("maxTokens".into(), n.into());
                    break;
                }
                _ => return Err(TranslateError::invalid(key, "must be a positive integer")),
            },
        }
    }
    match chat
        .get("response_format")
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
    {
        None | Some("text") => {}
        Some("json_object") => system.push(json!({ "text": JSON_OBJECT_INSTRUCTION })),
        Some("json_schema") => {
            return Err(TranslateError::Unsupported(
                "response_format.json_schema".into(),
            ));
        }
        Some(_) => {
            return Err(TranslateError::invalid(
                "response_format.type",
                "unknown value",
            ));
        }
    }
    let mut out = Map::new();
    let mut used_tools: Vec<String> = Vec::new();
    let mut history_has_tools = false;
    for block in turns.iter().flat_map(|(_, b)| b) {
        history_has_tools |= block.get("toolUse").is_some() || block.get("toolResult").is_some();
        if let Some(name) = block.pointer("/toolUse/name").and_then(Value::as_str)
            && !used_tools.iter().any(|n| n == name)
        {
            used_tools.push(name.to_owned());
        }
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(role, content)| json!({ "role": role, "content": content }))
        .collect();
    out.insert("messages".into(), Value::Array(messages));
    if !system.is_empty() {
        out.insert("system".into(), Value::Array(system));
    }
    if !inference.is_empty() {
        out.insert("inferenceConfig".into(), Value::Object(inference));
    }
    match tool_config(chat, history_has_tools)? {
        Some(config) => {
            out.insert("toolConfig".into(), config);
        }
        None if history_has_tools => {
            out.insert("toolConfig".into(), history_tool_config(&used_tools));
        }
        None => {}
    }
    serde_json::to_vec(&out).map_err(|_| TranslateError::invalid("messages", "not serialisable"))
}

fn messages(
    list: &Value,
    system: &mut Vec<Value>,
    turns: &mut Vec<(&'static str, Vec<Value>)>,
) -> Result<(), TranslateError> {
    let list = list
        .as_array()
        .ok_or_else(|| TranslateError::invalid("messages", "must be an array"))?;
    for (i, m) in list.iter().enumerate() {
        let at = format!("messages[{i}]");
        let content = m.get("content").unwrap_or(&Value::Null);
        let (role, blocks) = match m.get("role").and_then(Value::as_str).unwrap_or("") {
            "system" | "developer" => {
                system.extend(content_blocks(content, &at, false)?);
                continue;
            }
            "user" => ("user", content_blocks(content, &at, true)?),
            "assistant" => ("assistant", assistant_blocks(m, content, &at)?),
            "tool" => ("user", vec![tool_result(m, content, &at)?]),
            _ => {
                return Err(TranslateError::invalid(
                    format!("{at}.role"),
                    "unknown role",
                ));
            }
        };
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    Ok(())
}

fn content_blocks(content: &Value, at: &str, images: bool) -> Result<Vec<Value>, TranslateError> {
    let parts = match content {
        Value::Null => return Ok(Vec::new()),
        Value::String(s) if s.is_empty() => return Ok(Vec::new()),
        Value::String(s) => return Ok(vec![json!({ "text": s })]),
        Value::Array(parts) => parts,
        _ => {
            return Err(TranslateError::invalid(
                format!("{at}.content"),
                "must be a string or an array of content parts",
            ));
        }
    };
    let mut blocks = Vec::with_capacity(parts.len());
    for (j, part) in parts.iter().enumerate() {
        let at = format!("{at}.content[{j}]");
        match part.get("type").and_then(Value::as_str).unwrap_or("") {
            kind @ ("text" | "refusal") => {
                let text = part.get(kind).and_then(Value::as_str).ok_or_else(|| {
                    TranslateError::invalid(format!("{at}.{kind}"), "must be a string")
                })?;
                if !text.is_empty() {
                    blocks.push(json!({ "text": text }));
                }
            }
            "image_url" if images => blocks.push(image_block(part, &at)?),
            kind => return Err(TranslateError::Unsupported(format!("{at}.type: {kind}"))),
        }
    }
    Ok(blocks)
}

fn image_block(part: &Value, at: &str) -> Result<Value, TranslateError> {
    let field = format!("{at}.image_url.url");
    let url = match part.get("image_url") {
        Some(Value::String(url)) => url.as_str(),
        Some(Value::Object(o)) => o.get("url").and_then(Value::as_str).unwrap_or(""),
        _ => "",
    };
    let Some(rest) = url.strip_prefix("data:") else {
        return Err(TranslateError::invalid(
            field,
            "must be a data: URL (Bedrock takes image bytes, not remote URLs)",
        ));
    };
    let (media_type, data) = rest
        .split_once(";base64,")
        .filter(|(_, d)| !d.is_empty())
        .ok_or_else(|| TranslateError::invalid(field.clone(), "data URLs must be base64"))?;
    let format = match media_type {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpeg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        _ => {
            return Err(TranslateError::invalid(
                field,
                "must be png, jpeg, gif or webp",
            ));
        }
    };
    Ok(json!({ "image": { "format": format, "source": { "bytes": data } } }))
}

fn assistant_blocks(m: &Value, content: &Value, at: &str) -> Result<Vec<Value>, TranslateError> {
    let mut blocks = content_blocks(content, at, false)?;
    for call in assistant_tool_calls(m.get("tool_calls"), at)? {
        let (id, name, input) = (call.id, call.name, call.input);
        blocks.push(json!({ "toolUse": { "toolUseId": id, "name": name, "input": input } }));
    }
    Ok(blocks)
}

fn tool_result(m: &Value, content: &Value, at: &str) -> Result<Value, TranslateError> {
    let id = m
        .get("tool_call_id")
        .and_then(Value::as_str)
        .ok_or_else(|| TranslateError::MissingField(format!("{at}.tool_call_id")))?;
    let mut parts = content_blocks(content, at, false)?;
    if parts.is_empty() {
        // Converse refuses an empty result; an empty string is what the tool returned.
        parts.push(json!({ "text": " " }));
    }
    Ok(json!({ "toolResult": { "toolUseId": id, "content": parts } }))
}

/// A `toolConfig` for a conversation that used `names` but offers no tools now.
fn history_tool_config(names: &[String]) -> Value {
    let tools: Vec<Value> = names
        .iter()
        .map(|name| {
            json!({ "toolSpec": { "name": name, "inputSchema": { "json": { "type": "object" } } } })
        })
        .collect();
    json!({ "tools": tools })
}

fn tool_config(
    chat: &Map<String, Value>,
    history_has_tools: bool,
) -> Result<Option<Value>, TranslateError> {
    let list = match chat.get("tools") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(list)) if list.is_empty() => return Ok(None),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(TranslateError::invalid("tools", "must be an array")),
    };
    let mut tools = Vec::with_capacity(list.len());
    for (i, tool) in list.iter().enumerate() {
        let at = format!("tools[{i}]");
        if tool.get("type").and_then(Value::as_str) != Some("function") {
            return Err(TranslateError::Unsupported(format!("{at}.type")));
        }
        let Some(name) = tool.pointer("/function/name").and_then(Value::as_str) else {
            return Err(TranslateError::invalid(at, "needs a `function.name`"));
        };
        let schema = match tool.pointer("/function/parameters") {
            Some(p @ Value::Object(_)) => p.clone(),
            _ => json!({ "type": "object", "properties": {} }),
        };
        let mut spec = Map::new();
        spec.insert("name".into(), name.into());
        if let Some(d @ Value::String(_)) = tool.pointer("/function/description") {
            spec.insert("description".into(), d.clone());
        }
        spec.insert("inputSchema".into(), json!({ "json": schema }));
        tools.push(json!({ "toolSpec": spec }));
    }
    let choice = match chat.get("tool_choice") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match s.as_str() {
            "auto" => Some(json!({ "auto": {} })),
            "required" => Some(json!({ "any": {} })),
            "none" if history_has_tools => None,
            "none" => return Ok(None),
            _ => return Err(TranslateError::invalid("tool_choice", "unknown value")),
        },
        Some(v) => match v.pointer("/function/name").and_then(Value::as_str) {
            Some(name) => Some(json!({ "tool": { "name": name } })),
            None => {
                return Err(TranslateError::invalid(
                    "tool_choice",
                    "needs `function.name`",
                ));
            }
        },
    };
    let mut config = Map::new();
    config.insert("tools".into(), Value::Array(tools));
    if let Some(choice) = choice {
        config.insert("toolChoice".into(), choice);
    }
    Ok(Some(Value::Object(config)))
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
