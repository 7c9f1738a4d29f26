//! Shared by the stream targets: drive a translator over the input in reads of a
//! fuzzer-chosen size, and check the promise every translator documents — the output, the
//! end result and the usage depend only on the bytes, never on how the reads split them
//! (bytes after the stream's end included: the relay stops reading there).

use bytes::Bytes;
use portcullis_engine::{StreamError, StreamTranslate, Usage};

/// Event-size caps a stream target picks from (mode bits 1–2): small ones put the cap's
/// boundary within the fuzzer's reach.
pub const CAPS: [usize; 4] = [128, 512, 4096, 65536];

/// A stream target's input: `[read size][mode]` then the upstream body.
#[allow(dead_code)] // not every target reads every field
pub struct Input<'a> {
    /// Bytes per read (0 counts as 1).
    pub step: usize,
    /// Bit 0 of the read size: the client asked for usage.
    pub include_usage: bool,
    /// Bit 0 of the mode byte, for the target to use.
    pub flag: bool,
    /// The upstream's largest accepted event or frame.
    pub cap: usize,
    pub body: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn read(data: &'a [u8]) -> Option<Self> {
        let [cut, mode, body @ ..] = data else {
            return None;
        };
        Some(Input {
            step: usize::from(*cut),
            include_usage: cut & 1 == 1,
            flag: mode & 1 == 1,
            cap: CAPS[usize::from((mode >> 1) & 3)],
            body,
        })
    }
}

/// What one pass over the input produced.
#[derive(Debug, PartialEq, Eq)]
pub struct Run {
    pub out: Vec<u8>,
    pub end: Result<(), StreamError>,
    pub usage: Option<Usage>,
    pub done: bool,
}

/// Pushes `bytes` in reads of `step` bytes (the last one shorter), then finishes. Like the
/// relay (`engine/src/stream/relay.rs`), it reads nothing more once the translator is done.
pub fn drive(t: &mut dyn StreamTranslate, bytes: &[u8], step: usize) -> Run {
    let mut out = Vec::new();
    let mut end = None;
    for read in bytes.chunks(step.max(1)) {
        if t.is_done() {
            break;
        }
        match t.push(Bytes::copy_from_slice(read)) {
            Ok(chunk) => out.extend_from_slice(&chunk),
            Err(e) => {
                end = Some(Err(e));
                break;
            }
        }
    }
    let end = end.unwrap_or_else(|| t.finish());
    let _ = t.events();
    Run {
        out,
        end,
        usage: t.usage(),
        done: t.is_done(),
    }
}

/// `bytes` in reads of `step` bytes and in one read: both runs must agree.
pub fn check_split(make: impl Fn() -> Box<dyn StreamTranslate>, bytes: &[u8], step: usize) {
    let split = drive(make().as_mut(), bytes, step);
    let whole = drive(make().as_mut(), bytes, bytes.len());
    assert_eq!(split, whole, "output depends on the read size {step}");
}
