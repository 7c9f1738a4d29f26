//! Bedrock's ConverseStream from a hostile provider, in fuzzer-sized reads: OpenAI chunks or
//! a typed error, never a panic, and the same result however the reads split the bytes.
//!
//! Input: `[read size][mode]` then the body (see `split.rs`). Mode bit 0 set: the body is raw
//! event-stream bytes. Clear: the body is a script, one frame per line, `MESSAGE-TYPE TYPE PAYLOAD`
//! (`event contentBlockDelta {"contentBlockIndex":0,"delta":{"text":"hi"}}`,
//! `exception throttlingException {}`), encoded with correct lengths and CRCs so the fuzzer
//! reaches the translator rather than the checksums.
#![no_main]

#[path = "split.rs"]
mod split;

use libfuzzer_sys::fuzz_target;
use portcullis_engine::StreamTranslate;
use portcullis_engine::provider::bedrock::eventstream::encode;
use portcullis_engine::provider::bedrock::{StreamOptions, StreamTranslator};

fuzz_target!(|data: &[u8]| {
    let Some(input) = split::Input::read(data) else {
        return;
    };
    let wire = if input.flag {
        input.body.to_vec()
    } else {
        input.body.split(|&b| b == b'\n').flat_map(frame).collect()
    };
    let make = || {
        let t: Box<dyn StreamTranslate> = Box::new(StreamTranslator::new(StreamOptions {
            include_usage: input.include_usage,
            created: 0,
            id: "chatcmpl-fuzz".into(),
            model: "bedrock-fuzz".into(),
            max_event_bytes: input.cap,
        }));
        t
    };
    split::check_split(make, &wire, input.step);
});

/// One script line as a frame.
fn frame(line: &[u8]) -> Vec<u8> {
    let mut parts = line.splitn(3, |&b| b == b' ');
    let kind = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let name = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let payload = parts.next().unwrap_or_default();
    let json = ":content-type";
    match &*kind {
        "event" => encode(
            &[
                (":event-type", &name),
                (json, "application/json"),
                (":message-type", "event"),
            ],
            payload,
        ),
        "exception" => encode(
            &[
                (":exception-type", &name),
                (json, "application/json"),
                (":message-type", "exception"),
            ],
            payload,
        ),
        _ => encode(&[(":message-type", &kind), (":event-type", &name)], payload),
    }
}
