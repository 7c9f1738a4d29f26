//! Gemini's `streamGenerateContent?alt=sse` stream from a hostile provider, in fuzzer-sized
//! reads: OpenAI chunks or a typed error, never a panic, and the same result however the
//! reads split the bytes. Input: `[read size][mode]` then the SSE body (see `split.rs`); mode
//! bit 0 asks for two candidates (the stream completes only when both finished).
#![no_main]

#[path = "split.rs"]
mod split;

use libfuzzer_sys::fuzz_target;
use portcullis_engine::StreamTranslate;
use portcullis_engine::provider::gemini::{StreamOptions, StreamTranslator};

fuzz_target!(|data: &[u8]| {
    let Some(input) = split::Input::read(data) else {
        return;
    };
    let make = || {
        let t: Box<dyn StreamTranslate> = Box::new(StreamTranslator::new(StreamOptions {
            include_usage: input.include_usage,
            created: 0,
            max_event_bytes: input.cap,
            choices: u32::from(input.flag) + 1,
            model: "gemini-fuzz".into(),
        }));
        t
    };
    split::check_split(make, input.body, input.step);
});
