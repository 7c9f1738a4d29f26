//! A native Messages stream (`/v1/messages` to an Anthropic provider) from a hostile
//! provider, in fuzzer-sized reads: re-emitted events or a typed error, never a panic, and the
//! same result however the reads split the bytes. Input: `[read size][mode]` then the SSE
//! body (see `split.rs`).
#![no_main]

#[path = "split.rs"]
mod split;

use libfuzzer_sys::fuzz_target;
use portcullis_engine::provider::anthropic::native_relay;

fuzz_target!(|data: &[u8]| {
    let Some(input) = split::Input::read(data) else {
        return;
    };
    split::check_split(|| native_relay(input.cap), input.body, input.step);
});
