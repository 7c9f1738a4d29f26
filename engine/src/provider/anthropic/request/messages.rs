//! OpenAI `messages` → Anthropic `system` and alternating user/assistant turns.
//!
//! See the parent module for the mapping; this file holds the per-message conversion.

use serde_json::{Map, Value, json};

use crate::provider::anthropic::error::TranslateError;
use crate::provider::tool_calls::assistant_tool_calls;

pub(super) fn messages(
    list: &Value,
    system: &mut Vec<Value>,
    turns: &mut Vec<(&'static str, Vec<Value>)>,
) -> Result<(), TranslateError> {
    let list = list
        .as_array()
        .ok_or_else(|| TranslateError::invalid("messages", "must be an array"))?;
    for (i, message) in list.iter().enumerate() {
        let at = format!("messages[{i}]");
        let m = message
            .as_object()
            .ok_or_else(|| TranslateError::invalid(at.clone(), "must be an object"))?;
        let content = m.get("content").unwrap_or(&Value::Null);
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        let (role, mut blocks) = match role {
            "system" | "developer" => {
                let mut blocks = content_blocks(content, &at, false)?;
                mark_cache(m, &mut blocks);
                system.extend(blocks);
                continue;
            }
            "user" => ("user", content_blocks(content, &at, true)?),
            "assistant" => ("assistant", assistant_blocks(m, content, &at)?),
            "tool" => ("user", vec![tool_result(m, content, &at)?]),
            "function" => return Err(TranslateError::Unsupported(format!("{at}.role: function"))),
            _ => {
                return Err(TranslateError::invalid(
                    format!("{at}.role"),
                    "unknown role",
                ));
            }
        };
        mark_cache(m, &mut blocks);
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

/// A message-level `cache_control` applies to the message's last block.
fn mark_cache(message: &Map<String, Value>, blocks: &mut [Value]) {
    if let (Some(cc), Some(Value::Object(last))) = (message.get("cache_control"), blocks.last_mut())
    {
        last.insert("cache_control".into(), cc.clone());
    }
}

pub(super) fn text_block(text: &str) -> Value {
    json!({ "type": "text", "text": text })
}

/// A string or an array of parts → Anthropic blocks (images only where `images` allows).
fn content_blocks(content: &Value, at: &str, images: bool) -> Result<Vec<Value>, TranslateError> {
    let parts = match content {
        Value::Null => return Ok(Vec::new()),
        Value::String(s) if s.is_empty() => return Ok(Vec::new()),
        Value::String(s) => return Ok(vec![text_block(s)]),
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
        let kind = part.get("type").and_then(Value::as_str).unwrap_or("");
        let mut block = match kind {
            "text" | "refusal" => {
                let text = part.get(kind).and_then(Value::as_str).ok_or_else(|| {
                    TranslateError::invalid(format!("{at}.{kind}"), "must be a string")
                })?;
                if text.is_empty() {
                    continue;
                }
                text_block(text)
            }
            "image_url" if images => image_block(part, &at)?,
            _ => return Err(TranslateError::Unsupported(format!("{at}.type: {kind}"))),
        };
        if let (Some(cc), Value::Object(b)) = (part.get("cache_control"), &mut block) {
            b.insert("cache_control".into(), cc.clone());
        }
        blocks.push(block);
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
    if let Some(rest) = url.strip_prefix("data:") {
        let (media_type, data) = rest
            .split_once(";base64,")
            .filter(|(m, d)| !m.is_empty() && !d.is_empty())
            .ok_or_else(|| TranslateError::invalid(field, "data URLs must be base64"))?;
        return Ok(json!({
            "type": "image",
            "source": { "type": "base64", "media_type": media_type, "data": data }
        }));
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(json!({ "type": "image", "source": { "type": "url", "url": url } }));
    }
    Err(TranslateError::invalid(
        field,
        "must be a data: or http(s) URL",
    ))
}

fn assistant_blocks(
    m: &Map<String, Value>,
    content: &Value,
    at: &str,
) -> Result<Vec<Value>, TranslateError> {
    let mut blocks = content_blocks(content, at, false)?;
    for call in assistant_tool_calls(m.get("tool_calls"), at)? {
        let (id, name, input) = (call.id, call.name, call.input);
        blocks.push(json!({ "type": "tool_use", "id": id, "name": name, "input": input }));
    }
    Ok(blocks)
}

fn tool_result(m: &Map<String, Value>, content: &Value, at: &str) -> Result<Value, TranslateError> {
    let id = m
        .get("tool_call_id")
        .and_then(Value::as_str)
        .ok_or_else(|| TranslateError::MissingField(format!("{at}.tool_call_id")))?;
    let content = match content {
        Value::String(s) => Value::String(s.clone()),
        Value::Null => Value::String(String::new()),
        _ => Value::Array(content_blocks(content, at, true)?),
    };
    Ok(json!({ "type": "tool_result", "tool_use_id": id, "content": content }))
}
