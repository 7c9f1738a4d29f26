//! The AWS event-stream decoder (Bedrock's ConverseStream framing) on hostile bytes, in
//! fuzzer-sized reads: frames or a typed error, never a panic, and the same frames and error
//! however the reads split the bytes.
//!
//! Input: `[read size][mode]` then the body. Mode bit 0 clear: the body is raw wire bytes (bad
//! lengths and CRCs). Set: the body is records `[headers len: u8][payload len: u16 BE]
//! [headers][payload]`, each framed with correct lengths and CRCs, so the header parser sees
//! fuzzer-chosen header sections; each decoded frame must carry its record's payload. Mode
//! bits 1–2 pick the frame-size cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_engine::StreamError;
use portcullis_engine::provider::bedrock::eventstream::{Decoder, Frame};

const CAPS: [usize; 4] = [64, 512, 4096, 65536];

fuzz_target!(|data: &[u8]| {
    let [cut, mode, body @ ..] = data else {
        return;
    };
    let cap = CAPS[usize::from((mode >> 1) & 3)];
    let (wire, payloads) = if mode & 1 == 1 {
        framed(body)
    } else {
        (body.to_vec(), Vec::new())
    };
    let split = decode(&wire, usize::from(*cut), cap);
    let whole = decode(&wire, wire.len(), cap);
    assert_eq!(split, whole, "frames depend on the read size {cut}");
    if mode & 1 == 1 {
        for (frame, payload) in split.0.iter().zip(&payloads) {
            assert_eq!(&frame.payload, payload);
        }
    }
});

/// Every frame and the first error, reading `wire` in `step`-byte reads.
fn decode(wire: &[u8], step: usize, cap: usize) -> (Vec<Frame>, Result<(), StreamError>) {
    let mut decoder = Decoder::new(cap);
    let mut frames = Vec::new();
    for read in wire.chunks(step.max(1)) {
        let pushed = decoder.push(read, |frame| {
            frames.push(frame);
            Ok(())
        });
        if let Err(e) = pushed {
            return (frames, Err(e));
        }
    }
    assert_eq!(decoder.frames(), frames.len() as u64);
    let _ = decoder.has_partial();
    (frames, Ok(()))
}

/// The records of `body` as well-formed frames, and each frame's payload.
fn framed(mut body: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut wire = Vec::new();
    let mut payloads = Vec::new();
    while let [hlen, p0, p1, rest @ ..] = body {
        let hlen = usize::from(*hlen).min(rest.len());
        let (headers, rest) = rest.split_at(hlen);
        let plen = usize::from(u16::from_be_bytes([*p0, *p1])).min(rest.len());
        let (payload, rest) = rest.split_at(plen);
        body = rest;
        let total = 16 + headers.len() + payload.len();
        let start = wire.len();
        wire.extend_from_slice(&(total as u32).to_be_bytes());
        wire.extend_from_slice(&(headers.len() as u32).to_be_bytes());
        let prelude_crc = crc32fast::hash(&wire[start..]);
        wire.extend_from_slice(&prelude_crc.to_be_bytes());
        wire.extend_from_slice(headers);
        wire.extend_from_slice(payload);
        let crc = crc32fast::hash(&wire[start..]);
        wire.extend_from_slice(&crc.to_be_bytes());
        payloads.push(payload.to_vec());
    }
    (wire, payloads)
}
