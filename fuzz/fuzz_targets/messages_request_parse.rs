//! Any bytes as a client's `/v1/messages` body, along the api route's path: strict JSON with
//! the depth cap, the override-field refusal, the Anthropic → canonical chat translation and
//! its validation, then every provider's request translator on the canonical form. A typed
//! error or a request at each step, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_engine::ingress::anthropic::to_chat_request;
use portcullis_engine::provider::anthropic::AnthropicOptions;
use portcullis_engine::provider::{anthropic, bedrock, gemini};
use portcullis_engine::{ChatLimits, ChatRequest, OVERRIDE_FIELDS, strict_json};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(Value::Object(body)) = strict_json::parse_strict(data, 64) else {
        return;
    };
    // The route refuses override fields before translating (api/src/routes/messages.rs).
    if body
        .keys()
        .any(|k| OVERRIDE_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(k)))
    {
        return;
    }
    let Ok(canonical) = to_chat_request(&body) else {
        return;
    };
    let Ok(chat) = ChatRequest::from_object_with(canonical, &ChatLimits::default()) else {
        return;
    };
    let _ = anthropic::build_request(chat.body(), "claude-fuzz", &AnthropicOptions::default());
    let _ = gemini::build_request(chat.body());
    let _ = bedrock::build_request(chat.body());
});
