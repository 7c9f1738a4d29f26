//! A hostile upstream SSE stream, cut into reads at fuzzer-chosen offsets: the relay returns
//! bytes or a typed error, never panics, and forwards no more than it was given per read
//! plus its bounded buffer.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use portcullis_engine::provider::openai::SseRelay;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let mut relay = SseRelay::new(4096, cut & 1 == 1);
    let step = usize::from(cut).max(1);
    for chunk in rest.chunks(step) {
        if relay.push(Bytes::copy_from_slice(chunk)).is_err() {
            break;
        }
    }
    let _ = (relay.usage(), relay.is_done(), relay.events());
});
