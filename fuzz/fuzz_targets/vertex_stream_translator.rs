//! Vertex AI's stream from a hostile provider: the dialect (Gemini or Anthropic) is sniffed
//! from the first line, then translated, in fuzzer-sized reads. OpenAI chunks or a typed
//! error, never a panic, and the same result however the reads split the bytes. Input:
//! `[read size][mode]` then the SSE body (see `split.rs`); mode bit 0 asks Gemini for two
//! candidates.
#![no_main]

#[path = "split.rs"]
mod split;

use libfuzzer_sys::fuzz_target;
use portcullis_engine::provider::anthropic::StreamOptions as AnthropicOptions;
use portcullis_engine::provider::gemini::vertex::sniffing_stream;
use portcullis_engine::provider::gemini::{StreamOptions, StreamTranslator};

fuzz_target!(|data: &[u8]| {
    let Some(input) = split::Input::read(data) else {
        return;
    };
    let make = || {
        let gemini = StreamTranslator::new(StreamOptions {
            include_usage: input.include_usage,
            created: 0,
            max_event_bytes: input.cap,
            choices: u32::from(input.flag) + 1,
            model: "gemini-fuzz".into(),
        });
        let claude = AnthropicOptions {
            include_usage: input.include_usage,
            created: 0,
            max_event_bytes: input.cap,
        };
        sniffing_stream(gemini, claude)
    };
    split::check_split(make, input.body, input.step);
});
