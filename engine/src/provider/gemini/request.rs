//! OpenAI chat request → Gemini `GenerateContentRequest` (the same body serves AI Studio and
//! Vertex AI; the model travels in the URL, never in the body).
//!
//! Mapping decisions (each one tested):
//! - `system`/`developer` messages, wherever they appear, become `systemInstruction` parts.
//! - `user` → role `user`; `assistant` → role `model`; consecutive turns of one role are
//!   merged (parallel function responses then share one turn, as Gemini expects).
//! - Assistant `tool_calls` → `functionCall` parts (arguments parsed; they must be a JSON
//!   object). `tool` messages → `functionResponse` parts in a `user` turn, the function name
//!   taken from the earlier call with the same id (unknown id: refused). A tool result that is
//!   a JSON object is sent as the response; any other text as `{"result": text}`.
//! - Images: `data:` URLs → `inlineData`. Remote `http(s)` URLs are refused: the gateway never
//!   fetches client-supplied URLs, and Gemini would need the bytes inline.
//! - `tools` → one `functionDeclarations` tool; `tool_choice` → `toolConfig`
//!   (`none`/`auto`/`required` → NONE/AUTO/ANY, a named function → ANY + allowedFunctionNames).
//! - `generationConfig`: `max_completion_tokens` (else `max_tokens`) → `maxOutputTokens`,
//!   `temperature`, `top_p`, `stop`, `n` → `candidateCount`, `seed`, presence and frequency
//!   penalties, `response_format` json_object / json_schema → `responseMimeType`
//!   (+ `responseSchema`).
//! - Dropped as harmless: `stream`, `stream_options` (Gemini streams always carry usage),
//!   `parallel_tool_calls`, `user`, `metadata`, `store`, `service_tier`, `prompt_cache_key`,
//!   `safety_identifier`, `reasoning_effort`, and neutral `logprobs` (false) / `logit_bias`
//!   ({}). Anything else (audio, legacy `functions`, unknown fields) is refused, naming the field.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::error::TranslateError;
use crate::provider::tool_calls::tool_arguments;

/// Builds the Gemini body for `chat`, a validated OpenAI chat completions request.
pub fn build_request(chat: &Map<String, Value>) -> Result<Vec<u8>, TranslateError> {
    let mut out = Map::new();
    let mut config = Map::new();
    let mut system = Vec::new();
    let mut contents: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for (key, v) in chat {
        match key.as_str() {
            "model" | "stream" | "stream_options" | "parallel_tool_calls" | "user" => {}
            "metadata" | "store" | "service_tier" | "prompt_cache_key" => {}
            "safety_identifier" | "reasoning_effort" | "max_tokens" => {}
            "messages" => messages(v, &mut system, &mut contents)?,
            "max_completion_tokens" => {}
            "temperature" | "top_p" | "seed" | "presence_penalty" | "frequency_penalty" => {
                if v.is_null() {
                    continue;
                }
                if !v.is_number() {
                    return Err(TranslateError::invalid(key, "must be a number"));
                }
                let name = match key.as_str() {
                    "temperature" => "temperature",
                    "top_p" => "topP",
                    "seed" => "seed",
                    "presence_penalty" => "presencePenalty",
                    _ => "frequencyPenalty",
                };
                config.insert(name.into(), v.clone());
            }
            "n" => match v.as_u64() {
                Some(n) if n >= 1 => {
                    if n > 1 {
                        config.insert("candidateCount".into(), n.into());
                    }
                }
                _ if v.is_null() => {}
                _ => return Err(TranslateError::invalid(key, "must be a positive integer")),
            },
            "stop" => {
                if let Some(stops) = stop_sequences(v)? {
                    config.insert("stopSequences".into(), stops);
                }
            }
            "response_format" => response_format(v, &mut config)?,
            "tools" => {
                if let Some(tools) = tools(v)? {
                    out.insert("tools".into(), tools);
                }
            }
            "tool_choice" => {
                if let Some(choice) = tool_choice(v)? {
                    out.insert("toolConfig".into(), choice);
                }
            }
            "logprobs" if v.as_bool() != Some(true) => {}
            "logit_bias" if v.as_object().is_none_or(Map::is_empty) => {}
            "logprobs" | "logit_bias" | "top_logprobs" | "audio" | "modalities" | "functions"
            | "function_call" | "prediction" | "web_search_options" => {
                return Err(TranslateError::Unsupported(key.clone()));
            }
            _ => return Err(TranslateError::UnknownField(key.clone())),
        }
    }
    let max = chat
        .get("max_completion_tokens")
        .filter(|v| !v.is_null())
        .or_else(|| chat.get("max_tokens").filter(|v| !v.is_null()));
    if let Some(max) = max {
        let n = max
            .as_u64()
            .ok_or_else(|| TranslateError::invalid("max_tokens", "must be a positive integer"))?;
        config.insert("maxOutputTokens".into(), n.into());
    }
    if contents.is_empty() {
        return Err(TranslateError::MissingField("messages".into()));
    }
    let contents: Vec<Value> = contents
        .into_iter()
        .map(|(role, parts)| json!({"role": role, "parts": parts}))
        .collect();
    out.insert("contents".into(), contents.into());
    if !system.is_empty() {
        out.insert("systemInstruction".into(), json!({ "parts": system }));
    }
    if !config.is_empty() {
        out.insert("generationConfig".into(), config.into());
    }
    serde_json::to_vec(&Value::Object(out))
        .map_err(|_| TranslateError::invalid("messages", "cannot be serialised"))
}

fn messages(
    v: &Value,
    system: &mut Vec<Value>,
    contents: &mut Vec<(&'static str, Vec<Value>)>,
) -> Result<(), TranslateError> {
    let list = v
        .as_array()
        .ok_or_else(|| TranslateError::invalid("messages", "must be an array"))?;
    // Tool-call id → function name, the latest call with that id winning.
    let mut names: HashMap<String, String> = HashMap::new();
    for (i, message) in list.iter().enumerate() {
        let field = |f: &str| format!("messages[{i}].{f}");
        let role = message
            .get("role")
            .and_then(Value::as_str)
            .ok_or_else(|| TranslateError::MissingField(field("role")))?;
        let content = message.get("content").unwrap_or(&Value::Null);
        match role {
            "system" | "developer" => system.extend(parts(content, &field("content"), false)?),
            "user" => push(contents, "user", parts(content, &field("content"), true)?),
            "assistant" => {
                let mut out = parts(content, &field("content"), false)?;
                if let Some(calls) = message.get("tool_calls").filter(|c| !c.is_null()) {
                    out.extend(function_calls(calls, &field("tool_calls"), &mut names)?);
                }
                push(contents, "model", out);
            }
            "tool" => {
                let id = message
                    .get("tool_call_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| TranslateError::MissingField(field("tool_call_id")))?;
                let name = names.get(id).ok_or_else(|| {
                    TranslateError::invalid(
                        field("tool_call_id"),
                        "names no earlier assistant tool call",
                    )
                })?;
                let text = text_of(content, &field("content"))?;
                let response = match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(m)) => Value::Object(m),
                    _ => json!({ "result": text }),
                };
                let part = json!({"functionResponse": {"name": name, "response": response}});
                push(contents, "user", vec![part]);
            }
            _ => return Err(TranslateError::invalid(field("role"), "is not supported")),
        }
    }
    Ok(())
}

/// Appends `parts` as a turn of `role`, merged into the previous turn when it has that role.
fn push(contents: &mut Vec<(&'static str, Vec<Value>)>, role: &'static str, parts: Vec<Value>) {
    if parts.is_empty() {
        return;
    }
    match contents.last_mut() {
        Some((last, existing)) if *last == role => existing.extend(parts),
        _ => contents.push((role, parts)),
    }
}

/// A message's `content` (string or array of parts) → Gemini parts; images only if `images`.
fn parts(content: &Value, field: &str, images: bool) -> Result<Vec<Value>, TranslateError> {
    match content {
        Value::Null => Ok(Vec::new()),
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::String(s) => Ok(vec![json!({ "text": s })]),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (j, item) in items.iter().enumerate() {
                let at = format!("{field}[{j}]");
                match item.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        let text = item
                            .get("text")
                            .and_then(Value::as_str)
                            .ok_or_else(|| TranslateError::MissingField(format!("{at}.text")))?;
                        if !text.is_empty() {
                            out.push(json!({ "text": text }));
                        }
                    }
                    Some("image_url") if images => out.push(image(item, &at)?),
                    _ => return Err(TranslateError::Unsupported(format!("{at}.type"))),
                }
            }
            Ok(out)
        }
        _ => Err(TranslateError::invalid(
            field,
            "must be a string or an array",
        )),
    }
}

/// A `data:` image URL → `inlineData`; anything else is refused (never fetched).
fn image(item: &Value, at: &str) -> Result<Value, TranslateError> {
    let url = item
        .pointer("/image_url/url")
        .and_then(Value::as_str)
        .ok_or_else(|| TranslateError::MissingField(format!("{at}.image_url.url")))?;
    let Some(rest) = url.strip_prefix("data:") else {
        return Err(TranslateError::invalid(
            format!("{at}.image_url.url"),
            "must be a data: URL: the gateway does not fetch remote images for Gemini",
        ));
    };
    let (mime, data) = rest
        .split_once(";base64,")
        .filter(|(mime, data)| !mime.is_empty() && !data.is_empty())
        .ok_or_else(|| {
            TranslateError::invalid(format!("{at}.image_url.url"), "must be a base64 data: URL")
        })?;
    Ok(json!({"inlineData": {"mimeType": mime, "data": data}}))
}

/// Text of a `tool` message's content (string or text parts joined).
fn text_of(content: &Value, field: &str) -> Result<String, TranslateError> {
    match content {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.get("text")
                    .and_then(Value::as_str)
                    .ok_or_else(|| TranslateError::invalid(field, "must hold text parts only"))
            })
            .collect(),
        _ => Err(TranslateError::invalid(
            field,
            "must be a string or an array",
        )),
    }
}

fn function_calls(
    calls: &Value,
    field: &str,
    names: &mut HashMap<String, String>,
) -> Result<Vec<Value>, TranslateError> {
    let calls = calls
        .as_array()
        .ok_or_else(|| TranslateError::invalid(field, "must be an array"))?;
    let mut out = Vec::with_capacity(calls.len());
    for (j, call) in calls.iter().enumerate() {
        let at = format!("{field}[{j}]");
        let name = call
            .pointer("/function/name")
            .and_then(Value::as_str)
            .ok_or_else(|| TranslateError::MissingField(format!("{at}.function.name")))?;
        let args = tool_arguments(call, &at)?;
        if let Some(id) = call.get("id").and_then(Value::as_str) {
            names.insert(id.to_owned(), name.to_owned());
        }
        out.push(json!({"functionCall": {"name": name, "args": args}}));
    }
    Ok(out)
}

fn stop_sequences(v: &Value) -> Result<Option<Value>, TranslateError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(json!([s]))),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            Ok((!items.is_empty()).then(|| v.clone()))
        }
        _ => Err(TranslateError::invalid(
            "stop",
            "must be a string or an array of strings",
        )),
    }
}

fn response_format(v: &Value, config: &mut Map<String, Value>) -> Result<(), TranslateError> {
    match v.get("type").and_then(Value::as_str) {
        None if v.is_null() => {}
        Some("text") => {}
        Some("json_object") => {
            config.insert("responseMimeType".into(), "application/json".into());
        }
        Some("json_schema") => {
            let schema = v.pointer("/json_schema/schema").ok_or_else(|| {
                TranslateError::MissingField("response_format.json_schema.schema".into())
            })?;
            config.insert("responseMimeType".into(), "application/json".into());
            config.insert("responseSchema".into(), schema.clone());
        }
        _ => {
            return Err(TranslateError::invalid(
                "response_format.type",
                "must be text, json_object or json_schema",
            ));
        }
    }
    Ok(())
}

fn tools(v: &Value) -> Result<Option<Value>, TranslateError> {
    let list = match v {
        Value::Null => return Ok(None),
        Value::Array(list) => list,
        _ => return Err(TranslateError::invalid("tools", "must be an array")),
    };
    let mut declarations = Vec::with_capacity(list.len());
    for (i, tool) in list.iter().enumerate() {
        if tool.get("type").and_then(Value::as_str) != Some("function") {
            return Err(TranslateError::Unsupported(format!("tools[{i}].type")));
        }
        let function = tool
            .get("function")
            .and_then(Value::as_object)
            .ok_or_else(|| TranslateError::MissingField(format!("tools[{i}].function")))?;
        let name = function
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| TranslateError::MissingField(format!("tools[{i}].function.name")))?;
        let mut declaration = Map::new();
        declaration.insert("name".into(), name.into());
        if let Some(d) = function.get("description").filter(|d| d.is_string()) {
            declaration.insert("description".into(), d.clone());
        }
        if let Some(p) = function.get("parameters").filter(|p| p.is_object()) {
            declaration.insert("parameters".into(), p.clone());
        }
        declarations.push(Value::Object(declaration));
    }
    Ok((!declarations.is_empty()).then(|| json!([{ "functionDeclarations": declarations }])))
}

fn tool_choice(v: &Value) -> Result<Option<Value>, TranslateError> {
    let config = match v {
        Value::Null => return Ok(None),
        Value::String(s) => match s.as_str() {
            "none" => json!({"mode": "NONE"}),
            "auto" => json!({"mode": "AUTO"}),
            "required" => json!({"mode": "ANY"}),
            _ => {
                return Err(TranslateError::invalid(
                    "tool_choice",
                    "must be none, auto, required or a function",
                ));
            }
        },
        Value::Object(_) => {
            let name = v
                .pointer("/function/name")
                .and_then(Value::as_str)
                .ok_or_else(|| TranslateError::MissingField("tool_choice.function.name".into()))?;
            json!({"mode": "ANY", "allowedFunctionNames": [name]})
        }
        _ => {
            return Err(TranslateError::invalid(
                "tool_choice",
                "must be a string or an object",
            ));
        }
    };
    Ok(Some(json!({ "functionCallingConfig": config })))
}
