//! OpenAI chunks (from any provider) turned into Anthropic Messages events for an Anthropic
//! client, in fuzzer-sized reads: events or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_engine::ingress::anthropic::ChunkToEvents;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let mut translator = ChunkToEvents::new("claude-fuzz", 4096);
    for chunk in rest.chunks(usize::from(cut).max(1)) {
        if translator.push(chunk).is_err() {
            return;
        }
    }
    let _ = translator.finish();
    let _ = (translator.usage(), translator.is_done());
});
