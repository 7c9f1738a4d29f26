//! The AWS event-stream framing (`application/vnd.amazon.eventstream`) that ConverseStream
//! answers in, decoded incrementally.
//!
//! A frame is: total length (u32, big-endian), headers length (u32), a CRC32 of those eight
//! bytes, the headers, the payload, and a CRC32 of everything before it. Each header is a
//! one-byte name length, the name, a one-byte type and a typed value; Bedrock's routing
//! headers (`:event-type`, `:message-type`, `:exception-type`, `:content-type`) are strings
//! (type 7), and every other type is skipped by its size.
//!
//! The decoder promises: the same frames whatever the byte split; a frame whose declared
//! length exceeds the cap is refused as soon as its first four bytes arrive, before any of it
//! is buffered past the read it came in; a bad prelude or message CRC, an impossible length or
//! a header that overruns its section is refused as malformed.

use crate::stream::StreamError;

/// Prelude (12 bytes) plus the trailing message CRC (4).
const FRAME_OVERHEAD: usize = 16;
const PRELUDE: usize = 12;

/// One decoded frame: its string headers and its payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    pub headers: Vec<(String, String)>,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The value of string header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Incremental decoder state.
#[derive(Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    max_frame_bytes: usize,
    frames: u64,
}

impl Decoder {
    /// A decoder refusing frames larger than `max_frame_bytes` (at least the 16-byte minimum).
    pub fn new(max_frame_bytes: usize) -> Self {
        Self {
            buf: Vec::new(),
            max_frame_bytes: max_frame_bytes.max(FRAME_OVERHEAD),
            frames: 0,
        }
    }

    /// Complete frames decoded so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Whether a frame is partly buffered.
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Adds `bytes` and hands every frame now complete to `on_frame`, in order.
    pub fn push(
        &mut self,
        bytes: &[u8],
        mut on_frame: impl FnMut(Frame) -> Result<(), StreamError>,
    ) -> Result<(), StreamError> {
        self.buf.extend_from_slice(bytes);
        let mut at = 0;
        let result = loop {
            match self.next_frame(at) {
                Ok(Some((frame, len))) => {
                    at += len;
                    self.frames += 1;
                    if let Err(e) = on_frame(frame) {
                        break Err(e);
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        self.buf.drain(..at);
        result
    }

    /// The frame starting at `at`, with its length, once it is complete.
    fn next_frame(&self, at: usize) -> Result<Option<(Frame, usize)>, StreamError> {
        let rest = self.buf.get(at..).unwrap_or_default();
        let Some(total) = read_u32(rest, 0) else {
            return Ok(None);
        };
        let total = total as usize;
        if total > self.max_frame_bytes {
            return Err(StreamError::EventTooLarge(self.max_frame_bytes));
        }
        if total < FRAME_OVERHEAD {
            return Err(StreamError::Malformed);
        }
        if rest.len() < PRELUDE {
            return Ok(None);
        }
        let headers_len = read_u32(rest, 4).unwrap_or(0) as usize;
        if read_u32(rest, 8) != Some(crc32fast::hash(&rest[..8])) {
            return Err(StreamError::Malformed);
        }
        if headers_len > total - FRAME_OVERHEAD {
            return Err(StreamError::Malformed);
        }
        if rest.len() < total {
            return Ok(None);
        }
        let frame = &rest[..total];
        if read_u32(frame, total - 4) != Some(crc32fast::hash(&frame[..total - 4])) {
            return Err(StreamError::Malformed);
        }
        let headers = parse_headers(&frame[PRELUDE..PRELUDE + headers_len])?;
        let payload = frame[PRELUDE + headers_len..total - 4].to_vec();
        Ok(Some((Frame { headers, payload }, total)))
    }
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

fn read_u16(bytes: &[u8], at: usize) -> Option<usize> {
    let b: [u8; 2] = bytes.get(at..at + 2)?.try_into().ok()?;
    Some(usize::from(u16::from_be_bytes(b)))
}

/// The string headers of a header section; other types are skipped by their size.
fn parse_headers(mut section: &[u8]) -> Result<Vec<(String, String)>, StreamError> {
    let mut headers = Vec::new();
    while let Some((&name_len, rest)) = section.split_first() {
        let name_len = usize::from(name_len);
        let name = rest.get(..name_len).ok_or(StreamError::Malformed)?;
        let name = std::str::from_utf8(name).map_err(|_| StreamError::Malformed)?;
        let rest = &rest[name_len..];
        let (&kind, rest) = rest.split_first().ok_or(StreamError::Malformed)?;
        let size = match kind {
            0 | 1 => 0,
            2 => 1,
            3 => 2,
            4 => 4,
            5 | 8 => 8,
            9 => 16,
            6 | 7 => 2 + read_u16(rest, 0).ok_or(StreamError::Malformed)?,
            _ => return Err(StreamError::Malformed),
        };
        let value = rest.get(..size).ok_or(StreamError::Malformed)?;
        if kind == 7 {
            let text = std::str::from_utf8(&value[2..]).map_err(|_| StreamError::Malformed)?;
            headers.push((name.to_owned(), text.to_owned()));
        }
        section = &rest[size..];
    }
    Ok(headers)
}

/// Encodes one frame with string headers (for tests, fixtures and benches).
pub fn encode(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut section = Vec::new();
    for (name, value) in headers {
        section.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        section.extend_from_slice(name.as_bytes());
        section.push(7);
        section.extend_from_slice(&u16::try_from(value.len()).unwrap_or(0).to_be_bytes());
        section.extend_from_slice(value.as_bytes());
    }
    let total = FRAME_OVERHEAD + section.len() + payload.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(&u32::try_from(section.len()).unwrap_or(0).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&section);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// A Bedrock event frame: `:event-type`, `:content-type` JSON, `:message-type` event.
pub fn event_frame(event_type: &str, payload: &[u8]) -> Vec<u8> {
    encode(
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload,
    )
}

#[cfg(test)]
mod tests;
