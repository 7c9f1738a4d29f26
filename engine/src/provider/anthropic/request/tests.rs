use serde_json::{Map, Value, json};

use super::build_request;
use crate::provider::anthropic::{AnthropicOptions, TranslateError};

fn chat(extra: Value) -> Map<String, Value> {
    let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    match body {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn build(extra: Value) -> Result<Value, TranslateError> {
    let bytes = build_request(&chat(extra), "claude-x", &AnthropicOptions::default())?;
    Ok(serde_json::from_slice(&bytes).unwrap())
}

#[test]
fn max_tokens_defaults_and_max_completion_tokens_wins() {
    assert_eq!(build(json!({})).unwrap()["max_tokens"], 4096);
    let both = json!({"max_tokens": 10, "max_completion_tokens": 20});
    assert_eq!(build(both).unwrap()["max_tokens"], 20);
    let zero = build(json!({"max_tokens": 0})).unwrap_err();
    assert_eq!(
        zero.to_string(),
        "invalid field `max_tokens`: must be a positive integer"
    );
}

#[test]
fn json_object_mode_becomes_a_system_instruction() {
    let out = build(json!({"response_format": {"type": "json_object"}})).unwrap();
    let system = out["system"][0]["text"].as_str().unwrap();
    assert!(system.contains("JSON object"), "{system}");
    assert!(out.get("output_config").is_none());
    assert!(
        build(json!({"response_format": {"type": "text"}}))
            .unwrap()
            .get("system")
            .is_none()
    );
}

#[test]
fn reasoning_effort_maps_to_a_budget_that_fits_max_tokens() {
    let low = build(json!({"reasoning_effort": "low"})).unwrap();
    assert_eq!(
        low["thinking"],
        json!({"type": "enabled", "budget_tokens": 1024})
    );
    let high = build(json!({"reasoning_effort": "high", "max_tokens": 8000})).unwrap();
    assert_eq!(high["thinking"]["budget_tokens"], 7999);
    let no_room = build(json!({"reasoning_effort": "high", "max_tokens": 1000})).unwrap();
    assert!(no_room.get("thinking").is_none());
    assert!(
        build(json!({"reasoning_effort": "minimal"}))
            .unwrap()
            .get("thinking")
            .is_none()
    );
    let own = json!({"type": "enabled", "budget_tokens": 2000});
    let explicit = build(json!({"reasoning_effort": "high", "thinking": own.clone()})).unwrap();
    assert_eq!(explicit["thinking"], own);
}

#[test]
fn harmful_parameters_are_refused_by_name_and_harmless_ones_dropped() {
    let refused = [
        (json!({"n": 2}), "n"),
        (json!({"presence_penalty": 0.5}), "presence_penalty"),
        (json!({"functions": []}), "functions"),
        (json!({"modalities": ["text", "audio"]}), "modalities"),
        (json!({"logprobs": true}), "logprobs"),
        (json!({"frobnicate": 1}), "frobnicate"),
    ];
    for (extra, field) in refused {
        assert_eq!(build(extra), Err(TranslateError::Unsupported(field.into())));
    }
    let hot = build(json!({"temperature": 1.5})).unwrap_err();
    assert_eq!(
        hot.to_string(),
        "invalid field `temperature`: must be between 0 and 1"
    );
    let harmless = json!({"n": 1, "seed": 3, "presence_penalty": 0, "logprobs": false,
        "store": false, "metadata": {"a": "b"}, "logit_bias": {}, "service_tier": "auto"});
    let out = build(harmless).unwrap();
    for field in [
        "n",
        "seed",
        "presence_penalty",
        "logprobs",
        "store",
        "metadata",
        "service_tier",
    ] {
        assert!(out.get(field).is_none(), "{field} should be dropped");
    }
}

#[test]
fn bad_images_and_tool_arguments_name_their_field() {
    let file = json!({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]}]});
    assert_eq!(
        build(file).unwrap_err().to_string(),
        "invalid field `messages[0].content[0].image_url.url`: must be a data: or http(s) URL"
    );
    let args = json!({"messages": [{"role": "user", "content": "x"}, {"role": "assistant",
        "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]});
    assert_eq!(
        build(args).unwrap_err().to_string(),
        "invalid field `messages[1].tool_calls[0].function.arguments`: must be a JSON object"
    );
    let audio = json!({"messages": [{"role": "user", "content": [{"type": "input_audio"}]}]});
    assert_eq!(
        build(audio),
        Err(TranslateError::Unsupported(
            "messages[0].content[0].type: input_audio".into()
        ))
    );
}

#[test]
fn parallel_tool_calls_false_disables_parallel_use_except_with_none() {
    let tools = json!([{"type": "function", "function": {"name": "f"}}]);
    let implicit = build(json!({"tools": tools.clone(), "parallel_tool_calls": false})).unwrap();
    assert_eq!(
        implicit["tool_choice"],
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );
    let none =
        build(json!({"tools": tools.clone(), "tool_choice": "none", "parallel_tool_calls": false}));
    assert_eq!(none.unwrap()["tool_choice"], json!({"type": "none"}));
    let plain = build(json!({"tools": tools, "parallel_tool_calls": true})).unwrap();
    assert!(plain.get("tool_choice").is_none());
    assert_eq!(
        plain["tools"][0]["input_schema"],
        json!({"type": "object", "properties": {}})
    );
}

#[test]
fn same_role_turns_merge_and_system_only_conversations_are_refused() {
    let msgs = json!({"messages": [
        {"role": "user", "content": "a"}, {"role": "user", "content": "b"},
        {"role": "assistant", "content": ""}, {"role": "user", "content": "c"}]});
    let out = build(msgs).unwrap();
    assert_eq!(out["messages"].as_array().unwrap().len(), 1);
    assert_eq!(out["messages"][0]["content"].as_array().unwrap().len(), 3);
    let only_system = json!({"messages": [{"role": "system", "content": "s"}]});
    assert_eq!(
        build(only_system).unwrap_err().to_string(),
        "invalid field `messages`: must contain at least one user or assistant message"
    );
}

#[test]
fn reasoning_is_not_requested_mid_tool_loop_without_signed_thinking() {
    let loop_turns = json!({"reasoning_effort": "low", "messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [{"id": "c", "type": "function",
            "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c", "content": "ok"}]});
    assert!(build(loop_turns).unwrap().get("thinking").is_none());
    assert!(
        build(json!({"reasoning_effort": "low"}))
            .unwrap()
            .get("thinking")
            .is_some()
    );
}
