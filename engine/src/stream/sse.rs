//! Server-sent events framing, shared by every stream translator.
//!
//! Finds event boundaries (a blank line; lines end in `\n`, `\r\n` or `\r`) without copying,
//! and reads an event's `data:` payload. Pure functions, so every translator that uses them
//! keeps the "any byte split gives the same output" guarantee.

/// End (exclusive) of the last complete event in `buf`, searching from `from`.
pub(crate) fn last_boundary(buf: &[u8], from: usize) -> Option<usize> {
    let mut last = None;
    let mut at = from;
    while let Some(end) = next_boundary(buf, at) {
        last = Some(end);
        at = end;
    }
    last
}

/// End (exclusive) of the first event boundary (blank line) at or after `from`.
/// SSE lines end in `\n`, `\r\n` or `\r`; an event ends at an empty line.
pub(crate) fn next_boundary(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < buf.len() {
        i += memchr::memchr2(b'\n', b'\r', &buf[i..])?;
        match buf[i] {
            b'\n' => {
                if buf.get(i + 1) == Some(&b'\n') {
                    return Some(i + 2);
                }
                if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') {
                    return Some(i + 3);
                }
            }
            b'\r' => {
                if buf.get(i + 1) == Some(&b'\n') {
                    if buf.get(i + 2) == Some(&b'\r') && buf.get(i + 3) == Some(&b'\n') {
                        return Some(i + 4);
                    }
                } else if buf.get(i + 1) == Some(&b'\r') {
                    return Some(i + 2);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The payload of an event's `data:` line(s), joined by `\n`; `None` if it has none.
/// OpenAI sends one `data:` line per event; multi-line data is joined per the SSE spec
/// only for inspection — the event itself is forwarded byte for byte.
pub(crate) fn data_payload(event: &[u8]) -> Option<&[u8]> {
    let mut found = None;
    for line in event.split(|b| *b == b'\n' || *b == b'\r') {
        if let Some(rest) = line.strip_prefix(b"data:") {
            if found.is_some() {
                // Multi-line data: too unusual for the fast path; treat as opaque.
                return None;
            }
            found = Some(rest.strip_prefix(b" ").unwrap_or(rest));
        }
    }
    found
}
