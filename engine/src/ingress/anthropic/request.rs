//! Anthropic Messages request → the canonical OpenAI chat request, validated strictly.
//!
//! Every top-level field is known or refused by name, so a typo or an unsupported feature
//! fails loudly instead of being ignored (and no override field can slip through). Mapping:
//! - `system` (string or text blocks) → a leading `system` message (blocks keep
//!   `cache_control` as text parts); `stop_sequences` → `stop`; `metadata.user_id` → `user`;
//!   `stream: true` → `stream` plus `stream_options.include_usage` (Anthropic clients always
//!   get usage).
//! - `tool_use` blocks → assistant `tool_calls` (input serialised as the arguments string);
//!   `tool_result` blocks → `tool` messages, placed before the rest of their user turn;
//!   `is_error` is dropped (OpenAI has no such flag). Images → `image_url` parts (base64 as
//!   `data:` URLs, URLs as given). Assistant `thinking` blocks are dropped.
//! - `tool_choice` auto/any/tool/none → auto/required/named/none;
//!   `disable_parallel_tool_use` → `parallel_tool_calls: false`.
//! - `thinking.budget_tokens` → `reasoning_effort` (< 4096 low, < 16384 medium, else high;
//!   `adaptive` → medium; `disabled` → none).
//! - `top_k` and `service_tier` are dropped: OpenAI-dialect providers have no equivalent and
//!   both only tune sampling or scheduling.
//! - Refused: documents, server tools (`web_search_…`, `bash_…`), `container`,
//!   `mcp_servers`, images inside tool results, and any unknown field.

use serde_json::{Map, Value, json};

use crate::provider::anthropic::TranslateError;

/// Validates `body` as a Messages API request and returns the canonical chat request.
pub fn to_chat_request(body: &Map<String, Value>) -> Result<Map<String, Value>, TranslateError> {
    let mut out = Map::new();
    match body.get("model") {
        Some(Value::String(m)) if !m.is_empty() => out.insert("model".into(), m.as_str().into()),
        Some(_) => {
            return Err(TranslateError::invalid(
                "model",
                "must be a non-empty string",
            ));
        }
        None => return Err(TranslateError::MissingField("model".into())),
    };
    match body.get("max_tokens") {
        Some(v) if v.as_u64().is_some_and(|n| n > 0) => out.insert("max_tokens".into(), v.clone()),
        Some(_) => {
            return Err(TranslateError::invalid(
                "max_tokens",
                "must be a positive integer",
            ));
        }
        None => return Err(TranslateError::MissingField("max_tokens".into())),
    };
    let mut messages = Vec::new();
    if let Some(system) = body.get("system") {
        messages.push(json!({ "role": "system", "content": system_content(system)? }));
    }
    match body.get("messages") {
        Some(Value::Array(list)) if !list.is_empty() => {
            for (i, m) in list.iter().enumerate() {
                message(m, i, &mut messages)?;
            }
        }
        Some(_) => {
            return Err(TranslateError::invalid(
                "messages",
                "must be a non-empty array",
            ));
        }
        None => return Err(TranslateError::MissingField("messages".into())),
    }
    out.insert("messages".into(), Value::Array(messages));
    for (key, v) in body {
        match key.as_str() {
            "model" | "max_tokens" | "messages" | "system" | "top_k" | "service_tier" => {}
            "stream" => match v {
                Value::Bool(true) => {
                    out.insert("stream".into(), true.into());
                    out.insert("stream_options".into(), json!({ "include_usage": true }));
                }
                Value::Bool(false) => {}
                _ => return Err(TranslateError::invalid(key, "must be a boolean")),
            },
            "stop_sequences" => match v {
                Value::Array(a) if a.iter().all(Value::is_string) => {
                    out.insert("stop".into(), v.clone());
                }
                _ => return Err(TranslateError::invalid(key, "must be an array of strings")),
            },
            "temperature" => match v.as_f64() {
                Some(t) if (0.0..=1.0).contains(&t) => {
                    out.insert(key.clone(), v.clone());
                }
                _ => return Err(TranslateError::invalid(key, "must be a number from 0 to 1")),
            },
            "top_p" => match v.as_f64() {
                Some(p) if (0.0..=1.0).contains(&p) => {
                    out.insert(key.clone(), v.clone());
                }
                _ => return Err(TranslateError::invalid(key, "must be a number from 0 to 1")),
            },
            "metadata" => metadata(v, &mut out)?,
            "tools" => {
                out.insert("tools".into(), tools(v)?);
            }
            "tool_choice" => tool_choice(v, &mut out)?,
            "thinking" => {
                if let Some(effort) = reasoning_effort(v)? {
                    out.insert("reasoning_effort".into(), effort.into());
                }
            }
            other => return Err(TranslateError::UnknownField(other.to_owned())),
        }
    }
    Ok(out)
}

fn system_content(system: &Value) -> Result<Value, TranslateError> {
    match system {
        Value::String(_) => Ok(system.clone()),
        Value::Array(blocks) => {
            let mut parts = Vec::with_capacity(blocks.len());
            for (i, b) in blocks.iter().enumerate() {
                parts.push(text_part(b, &format!("system[{i}]"))?);
            }
            Ok(Value::Array(parts))
        }
        _ => Err(TranslateError::invalid(
            "system",
            "must be a string or text blocks",
        )),
    }
}

fn text_part(block: &Value, at: &str) -> Result<Value, TranslateError> {
    if block.get("type").and_then(Value::as_str) != Some("text") {
        return Err(TranslateError::invalid(
            format!("{at}.type"),
            "must be `text`",
        ));
    }
    let text = block
        .get("text")
        .and_then(Value::as_str)
        .ok_or_else(|| TranslateError::invalid(format!("{at}.text"), "must be a string"))?;
    let mut part = json!({ "type": "text", "text": text });
    keep_cache_control(block, &mut part);
    Ok(part)
}

fn keep_cache_control(from: &Value, to: &mut Value) {
    if let (Some(cc), Value::Object(o)) = (from.get("cache_control"), to) {
        o.insert("cache_control".into(), cc.clone());
    }
}

fn message(m: &Value, i: usize, out: &mut Vec<Value>) -> Result<(), TranslateError> {
    let at = format!("messages[{i}]");
    let role = m.get("role").and_then(Value::as_str).unwrap_or("");
    let content = m
        .get("content")
        .ok_or_else(|| TranslateError::MissingField(format!("{at}.content")))?;
    let blocks = match content {
        Value::String(_) => {
            if role != "user" && role != "assistant" {
                return Err(TranslateError::invalid(
                    format!("{at}.role"),
                    "must be user or assistant",
                ));
            }
            out.push(json!({ "role": role, "content": content }));
            return Ok(());
        }
        Value::Array(blocks) => blocks,
        _ => {
            return Err(TranslateError::invalid(
                format!("{at}.content"),
                "must be a string or blocks",
            ));
        }
    };
    match role {
        "user" => user_blocks(blocks, &at, out),
        "assistant" => assistant_blocks(blocks, &at, out),
        _ => Err(TranslateError::invalid(
            format!("{at}.role"),
            "must be user or assistant",
        )),
    }
}

fn user_blocks(blocks: &[Value], at: &str, out: &mut Vec<Value>) -> Result<(), TranslateError> {
    let mut parts = Vec::new();
    for (j, b) in blocks.iter().enumerate() {
        let at = format!("{at}.content[{j}]");
        match b.get("type").and_then(Value::as_str).unwrap_or("") {
            "text" => parts.push(text_part(b, &at)?),
            "image" => parts.push(image_part(b, &at)?),
            "tool_result" => out.push(tool_message(b, &at)?),
            other => return Err(TranslateError::Unsupported(format!("{at}.type: {other}"))),
        }
    }
    if !parts.is_empty() {
        out.push(json!({ "role": "user", "content": parts }));
    }
    Ok(())
}

fn image_part(b: &Value, at: &str) -> Result<Value, TranslateError> {
    let source = b.get("source");
    let url = match source.and_then(|s| s.get("type")).and_then(Value::as_str) {
        Some("base64") => {
            let media = source
                .and_then(|s| s.get("media_type"))
                .and_then(Value::as_str);
            let data = source.and_then(|s| s.get("data")).and_then(Value::as_str);
            match (media, data) {
                (Some(m), Some(d)) => format!("data:{m};base64,{d}"),
                _ => {
                    return Err(TranslateError::invalid(
                        format!("{at}.source"),
                        "needs media_type and data",
                    ));
                }
            }
        }
        Some("url") => match source.and_then(|s| s.get("url")).and_then(Value::as_str) {
            Some(u) if u.starts_with("https://") || u.starts_with("http://") => u.to_owned(),
            _ => {
                return Err(TranslateError::invalid(
                    format!("{at}.source.url"),
                    "must be an http(s) URL",
                ));
            }
        },
        _ => return Err(TranslateError::Unsupported(format!("{at}.source.type"))),
    };
    let mut part = json!({ "type": "image_url", "image_url": { "url": url } });
    keep_cache_control(b, &mut part);
    Ok(part)
}

fn tool_message(b: &Value, at: &str) -> Result<Value, TranslateError> {
    let id = b
        .get("tool_use_id")
        .and_then(Value::as_str)
        .ok_or_else(|| TranslateError::MissingField(format!("{at}.tool_use_id")))?;
    let content = match b.get("content") {
        None | Some(Value::Null) => Value::String(String::new()),
        Some(s @ Value::String(_)) => s.clone(),
        Some(Value::Array(inner)) => {
            let mut parts = Vec::with_capacity(inner.len());
            for (k, p) in inner.iter().enumerate() {
                parts.push(text_part(p, &format!("{at}.content[{k}]"))?);
            }
            Value::Array(parts)
        }
        Some(_) => {
            return Err(TranslateError::invalid(
                format!("{at}.content"),
                "must be a string or blocks",
            ));
        }
    };
    Ok(json!({ "role": "tool", "tool_call_id": id, "content": content }))
}

fn assistant_blocks(
    blocks: &[Value],
    at: &str,
    out: &mut Vec<Value>,
) -> Result<(), TranslateError> {
    let mut parts = Vec::new();
    let mut calls = Vec::new();
    for (j, b) in blocks.iter().enumerate() {
        let at = format!("{at}.content[{j}]");
        match b.get("type").and_then(Value::as_str).unwrap_or("") {
            "text" => parts.push(text_part(b, &at)?),
            "tool_use" => {
                let id = b.get("id").and_then(Value::as_str);
                let name = b.get("name").and_then(Value::as_str);
                let input = b.get("input").filter(|i| i.is_object());
                let (Some(id), Some(name), Some(input)) = (id, name, input) else {
                    return Err(TranslateError::invalid(
                        at,
                        "tool_use needs id, name and an object input",
                    ));
                };
                calls.push(json!({
                    "id": id, "type": "function",
                    "function": { "name": name, "arguments": input.to_string() }
                }));
            }
            "thinking" | "redacted_thinking" => {}
            other => return Err(TranslateError::Unsupported(format!("{at}.type: {other}"))),
        }
    }
    let cached = parts.iter().any(|p| p.get("cache_control").is_some());
    let content = if cached {
        Value::Array(parts)
    } else if parts.is_empty() {
        Value::Null
    } else {
        Value::String(parts.iter().filter_map(|p| p["text"].as_str()).collect())
    };
    let mut m = json!({ "role": "assistant", "content": content });
    if !calls.is_empty() {
        m["tool_calls"] = Value::Array(calls);
    }
    out.push(m);
    Ok(())
}

fn metadata(v: &Value, out: &mut Map<String, Value>) -> Result<(), TranslateError> {
    let Value::Object(meta) = v else {
        return Err(TranslateError::invalid("metadata", "must be an object"));
    };
    for (k, value) in meta {
        match (k.as_str(), value) {
            ("user_id", Value::String(user)) => {
                out.insert("user".into(), user.as_str().into());
            }
            ("user_id", Value::Null) => {}
            ("user_id", _) => {
                return Err(TranslateError::invalid(
                    "metadata.user_id",
                    "must be a string",
                ));
            }
            (other, _) => return Err(TranslateError::UnknownField(format!("metadata.{other}"))),
        }
    }
    Ok(())
}

fn tools(v: &Value) -> Result<Value, TranslateError> {
    let Value::Array(list) = v else {
        return Err(TranslateError::invalid("tools", "must be an array"));
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, t) in list.iter().enumerate() {
        let at = format!("tools[{i}]");
        match t.get("type").and_then(Value::as_str) {
            None | Some("custom") => {}
            Some(other) => return Err(TranslateError::Unsupported(format!("{at}.type: {other}"))),
        }
        let name = t.get("name").and_then(Value::as_str);
        let schema = t.get("input_schema").filter(|s| s.is_object());
        let (Some(name), Some(schema)) = (name, schema) else {
            return Err(TranslateError::invalid(
                at,
                "needs a name and an object input_schema",
            ));
        };
        let mut function = json!({ "name": name, "parameters": schema });
        if let Some(d @ Value::String(_)) = t.get("description") {
            function["description"] = d.clone();
        }
        let mut tool = json!({ "type": "function", "function": function });
        keep_cache_control(t, &mut tool);
        out.push(tool);
    }
    Ok(Value::Array(out))
}

fn tool_choice(v: &Value, out: &mut Map<String, Value>) -> Result<(), TranslateError> {
    let choice = match v.get("type").and_then(Value::as_str) {
        Some("auto") => json!("auto"),
        Some("any") => json!("required"),
        Some("none") => json!("none"),
        Some("tool") => match v.get("name").and_then(Value::as_str) {
            Some(name) => json!({ "type": "function", "function": { "name": name } }),
            None => return Err(TranslateError::MissingField("tool_choice.name".into())),
        },
        _ => {
            return Err(TranslateError::invalid(
                "tool_choice.type",
                "must be auto, any, tool or none",
            ));
        }
    };
    out.insert("tool_choice".into(), choice);
    if v.get("disable_parallel_tool_use") == Some(&Value::Bool(true)) {
        out.insert("parallel_tool_calls".into(), false.into());
    }
    Ok(())
}

fn reasoning_effort(v: &Value) -> Result<Option<&'static str>, TranslateError> {
    match v.get("type").and_then(Value::as_str) {
        Some("disabled") => Ok(None),
        Some("adaptive") => Ok(Some("medium")),
        Some("enabled") => match v.get("budget_tokens").and_then(Value::as_u64) {
            Some(b) if b < 4096 => Ok(Some("low")),
            Some(b) if b < 16384 => Ok(Some("medium")),
            Some(_) => Ok(Some("high")),
            None => Err(TranslateError::invalid(
                "thinking.budget_tokens",
                "must be a positive integer",
            )),
        },
        _ => Err(TranslateError::invalid(
            "thinking.type",
            "must be enabled, disabled or adaptive",
        )),
    }
}
