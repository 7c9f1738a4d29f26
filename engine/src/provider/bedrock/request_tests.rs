use serde_json::{Value, json};

use super::*;

fn build(chat: Value) -> Result<Value, TranslateError> {
    let Value::Object(chat) = chat else {
        panic!("not an object")
    };
    build_request(&chat).map(|b| serde_json::from_slice(&b).unwrap())
}

#[test]
fn system_messages_hoist_and_inference_config_maps() {
    let out = build(json!({
        "model": "m", "stream": true,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "developer", "content": [{"type": "text", "text": "No emoji."}]}
        ],
        "max_completion_tokens": 300, "temperature": 0.5, "top_p": 0.9, "stop": "END",
        "seed": 7, "user": "u1", "n": 1
    }))
    .unwrap();
    assert_eq!(
        out,
        json!({
            "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
            "system": [{"text": "Be brief."}, {"text": "No emoji."}],
            "inferenceConfig": {"maxTokens": 300, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]}
        })
    );
}

#[test]
fn tool_round_trip_becomes_tool_use_and_merged_tool_results() {
    let out = build(json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "t2", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "t1", "content": "18C"},
            {"role": "tool", "tool_call_id": "t2", "content": "24C"},
            {"role": "user", "content": "Thanks"}
        ],
        "tools": [{"type": "function", "function": {"name": "weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "tool_choice": "required"
    }))
    .unwrap();
    let messages = out["messages"].as_array().unwrap();
    assert_eq!(
        messages.len(),
        3,
        "tool results and the next user text merge: {out}"
    );
    assert_eq!(
        messages[1]["content"][1],
        json!({"toolUse": {"toolUseId": "t2", "name": "weather", "input": {"city": "Rome"}}})
    );
    assert_eq!(
        messages[2]["content"],
        json!([
            {"toolResult": {"toolUseId": "t1", "content": [{"text": "18C"}]}},
            {"toolResult": {"toolUseId": "t2", "content": [{"text": "24C"}]}},
            {"text": "Thanks"}
        ])
    );
    assert_eq!(
        out["toolConfig"],
        json!({
            "tools": [{"toolSpec": {"name": "weather", "description": "Weather",
                "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}}}}],
            "toolChoice": {"any": {}}
        })
    );
}

#[test]
fn a_tool_history_without_tools_still_gets_the_tool_config_converse_requires() {
    let out = build(json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "t1", "content": "18C"}
        ]
    }))
    .unwrap();
    assert_eq!(
        out["toolConfig"],
        json!({"tools": [{"toolSpec": {"name": "weather", "inputSchema": {"json": {"type": "object"}}}}]})
    );
    let plain =
        build(json!({"model": "m", "messages": [{"role": "user", "content": "x"}]})).unwrap();
    assert!(plain.get("toolConfig").is_none());
}

#[test]
fn tool_choice_maps_auto_named_and_none() {
    let tools = json!([{"type": "function", "function": {"name": "f"}}]);
    let with = |choice: Value| {
        build(
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
                     "tools": tools.clone(), "tool_choice": choice}),
        )
        .unwrap()
    };
    assert_eq!(
        with(json!("auto"))["toolConfig"]["toolChoice"],
        json!({"auto": {}})
    );
    assert_eq!(
        with(json!({"type": "function", "function": {"name": "f"}}))["toolConfig"]["toolChoice"],
        json!({"tool": {"name": "f"}})
    );
    assert!(with(json!("none")).get("toolConfig").is_none());
}

#[test]
fn data_url_images_become_bytes_and_remote_urls_are_refused() {
    let out = build(
        json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
        ]}]}),
    )
    .unwrap();
    assert_eq!(
        out["messages"][0]["content"][1],
        json!({"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}})
    );
    let err = build(
        json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
        ]}]}),
    )
    .unwrap_err();
    assert!(err.to_string().contains("not remote URLs"), "{err}");
}

#[test]
fn fields_converse_cannot_express_are_refused_by_name() {
    for (field, value) in [
        ("n", json!(2)),
        ("logprobs", json!(true)),
        ("frequency_penalty", json!(0.5)),
        ("audio", json!({})),
    ] {
        let mut chat = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
        chat[field] = value;
        assert_eq!(
            build(chat).unwrap_err(),
            TranslateError::Unsupported(field.to_owned())
        );
    }
    let err = build(json!({"model": "m", "messages": [{"role": "system", "content": "x"}]}));
    assert!(err.is_err());
}

#[test]
fn json_object_mode_becomes_a_system_instruction() {
    let out = build(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
                           "response_format": {"type": "json_object"}}),
    )
    .unwrap();
    assert!(
        out["system"][0]["text"]
            .as_str()
            .unwrap()
            .contains("JSON object")
    );
}
