//! Anthropic's event stream (upstream side) from a hostile provider, in fuzzer-sized reads:
//! translated to OpenAI chunks or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_engine::provider::anthropic::{StreamOptions, StreamTranslator};

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let mut translator = StreamTranslator::new(StreamOptions {
        include_usage: cut & 1 == 1,
        created: 0,
        max_event_bytes: 4096,
    });
    for chunk in rest.chunks(usize::from(cut).max(1)) {
        if translator.push(chunk).is_err() {
            return;
        }
    }
    let _ = translator.finish();
    let _ = (translator.usage(), translator.is_done());
});
