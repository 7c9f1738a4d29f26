//! Any bytes as a chat request body: parsing returns a typed error or a request, never panics,
//! and respects the depth cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_engine::ChatRequest;

fuzz_target!(|data: &[u8]| {
    let _ = ChatRequest::parse(data, 64);
    let _ = ChatRequest::parse(data, 2);
});
