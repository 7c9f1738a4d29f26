//! Fixtures for the hot-path benchmarks in `benches/`: realistic request bodies and
//! stream transcripts, built once so the benches measure the gateway's work, not setup.

/// A typical chat request: system + user message, a few parameters.
pub fn chat_body() -> Vec<u8> {
    serde_json::json!({
        "model": "gpt-4o-mini",
        "messages": [
            { "role": "system", "content": "You are a helpful assistant that answers briefly." },
            { "role": "user", "content": "Explain in two sentences why the sky is blue, for a ten year old." }
        ],
        "temperature": 0.2,
        "max_tokens": 256,
        "stream": false
    })
    .to_string()
    .into_bytes()
}

/// A 784-byte `chat.completion` answer: a short paragraph of text and usage.
pub fn completion_body() -> Vec<u8> {
    let text = "The sky looks blue because air scatters sunlight. Sunlight holds every colour, \
        and the tiny molecules of air scatter short blue waves much more than long red ones, \
        so blue light reaches your eyes from every part of the sky. At sunset the light \
        crosses more air, the blue is scattered away before it reaches you, and the sky \
        turns orange and red. Clouds are white because their droplets scatter all colours \
        alike, so their light stays white.";
    let mut body = serde_json::json!({
        "id": "chatcmpl-AbC123xYz",
        "object": "chat.completion",
        "created": 1_733_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": text, "refusal": null },
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": { "prompt_tokens": 32, "completion_tokens": 98, "total_tokens": 130 },
        "system_fingerprint": "fp_0123456789"
    })
    .to_string()
    .into_bytes();
    // Padded with spaces (valid JSON) to the documented size.
    body.resize(body.len().max(784), b' ');
    body
}

/// An OpenAI-style stream of `chunks` content chunks, a usage chunk and `[DONE]`.
pub fn stream_transcript(chunks: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..chunks {
        out.push_str(&format!(
            "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"tok{i} \"}},\"finish_reason\":null}}],\"usage\":null}}\n\n"
        ));
    }
    out.push_str("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":24,\"total_tokens\":44}}\n\n");
    out.push_str("data: [DONE]\n\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_are_what_the_engine_accepts() {
        assert!(portcullis_engine::ChatRequest::parse(&chat_body(), 64).is_ok());
        assert_eq!(completion_body().len(), 784);
        assert!(serde_json::from_slice::<serde_json::Value>(&completion_body()).is_ok());
        let mut relay = portcullis_engine::provider::openai::SseRelay::new(1 << 20, true);
        relay.push(stream_transcript(24).into()).unwrap();
        assert!(relay.is_done());
        assert_eq!(relay.usage().unwrap().completion_tokens, 24);
    }
}
