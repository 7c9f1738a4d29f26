use serde_json::{Value, json};

use crate::ChatRequest;
use crate::error::RequestError;

use super::ChatLimits;

fn parse(body: Value) -> Result<ChatRequest, RequestError> {
    ChatRequest::parse(body.to_string().as_bytes(), 64)
}

fn chat(messages: Value) -> Value {
    json!({"model": "gpt", "messages": messages})
}

fn param(result: Result<ChatRequest, RequestError>) -> String {
    match result {
        Err(e) => e.param().unwrap_or("").to_owned(),
        Ok(_) => "accepted".to_owned(),
    }
}

#[test]
fn messages_that_are_not_objects_are_refused_naming_the_index() {
    let million = Value::Array((0..1_000).map(Value::from).collect());
    let err = parse(chat(million)).unwrap_err();
    assert_eq!(err.kind(), "invalid_message");
    assert_eq!(err.param(), Some("messages[0]"));
    assert_eq!(
        param(parse(chat(
            json!([{"role": "user", "content": "hi"}, "hi"])
        ))),
        "messages[1]"
    );
}

#[test]
fn a_message_needs_a_known_role() {
    for role in [json!("root"), json!(1), Value::Null] {
        let body = chat(json!([{"role": role, "content": "hi"}]));
        assert_eq!(param(parse(body)), "messages[0].role");
    }
    for role in super::ROLES {
        let body = chat(json!([{"role": role, "content": "hi"}]));
        assert_eq!(param(parse(body)), "accepted", "{role}");
    }
}

#[test]
fn content_is_a_string_or_an_array_of_typed_parts() {
    let ok = [
        json!("hi"),
        json!([]),
        json!([{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "x"}}]),
    ];
    for content in ok {
        let body = chat(json!([{"role": "user", "content": content}]));
        assert_eq!(param(parse(body)), "accepted");
    }
    let body = chat(json!([{"role": "user", "content": [{"type": "text", "text": "a"}, 7]}]));
    assert_eq!(param(parse(body)), "messages[0].content[1]");
    let body = chat(json!([{"role": "user", "content": [{"text": "no type"}]}]));
    assert_eq!(param(parse(body)), "messages[0].content[0]");
    for content in [json!(5), json!({"text": "hi"}), json!(true)] {
        let body = chat(json!([{"role": "user", "content": content}]));
        assert_eq!(param(parse(body)), "messages[0].content");
    }
}

#[test]
fn null_content_only_for_an_assistant_calling_tools() {
    let call =
        json!([{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]);
    let body = chat(json!([{"role": "assistant", "content": null, "tool_calls": call}]));
    assert_eq!(param(parse(body)), "accepted");
    let body = chat(json!([{"role": "assistant", "tool_calls": call}]));
    assert_eq!(param(parse(body)), "accepted");
    let body = chat(json!([{"role": "assistant", "content": null}]));
    assert_eq!(param(parse(body)), "messages[0].content");
    let body = chat(json!([{"role": "user", "content": null, "tool_calls": call}]));
    assert_eq!(param(parse(body)), "messages[0].content");
    let body = chat(json!([{"role": "user"}]));
    assert_eq!(param(parse(body)), "messages[0].content");
}

#[test]
fn each_maximum_refuses_one_over_and_accepts_the_limit() {
    let limits = ChatLimits {
        max_messages: 2,
        max_n: 3,
        max_tokens: 100,
        max_stop: 2,
        max_tools: 1,
        max_top_logprobs: 5,
    };
    let tool = json!({"type": "function", "function": {"name": "f"}});
    let message = json!({"role": "user", "content": "hi"});
    let cases = [
        (
            "messages",
            json!([message, message]),
            json!([message, message, message]),
        ),
        ("n", json!(3), json!(4)),
        ("max_tokens", json!(100), json!(101)),
        ("max_completion_tokens", json!(100), json!(101)),
        ("stop", json!(["a", "b"]), json!(["a", "b", "c"])),
        ("tools", json!([tool]), json!([tool, tool])),
        ("top_logprobs", json!(5), json!(6)),
    ];
    for (field, at_limit, over) in cases {
        for (value, accepted) in [(at_limit, true), (over, false)] {
            let mut body = chat(json!([message]));
            body[field] = value;
            let got = ChatRequest::parse_with(body.to_string().as_bytes(), 64, &limits);
            match got {
                Ok(_) => assert!(accepted, "{field} over the limit was accepted"),
                Err(e) => {
                    assert!(!accepted, "{field} at the limit was refused: {e}");
                    assert_eq!(e.kind(), "over_limit");
                    assert_eq!(e.param(), Some(field));
                }
            }
        }
    }
}

#[test]
fn negative_and_fractional_maxima_are_invalid_not_over_the_limit() {
    let body = json!({"model": "gpt", "messages": [{"role": "user", "content": "hi"}], "n": -1});
    let err = parse(body).unwrap_err();
    assert_eq!((err.kind(), err.param()), ("invalid_field", Some("n")));
    let body = json!({"model": "gpt", "messages": [{"role": "user", "content": "hi"}], "top_logprobs": 1.5});
    assert_eq!(parse(body).unwrap_err().param(), Some("top_logprobs"));
}

#[test]
fn the_default_limits_follow_openais_documented_maxima() {
    let d = ChatLimits::default();
    assert_eq!((d.max_stop, d.max_tools, d.max_top_logprobs), (4, 128, 20));
}
