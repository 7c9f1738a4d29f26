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
    // Line by line (each `\n` or `\r` ends one), found with memchr: a byte-at-a-time split
    // was most of the relay's own work (docs/BENCHMARKS.md, "Instructions per request").
    let mut rest = event;
    loop {
        let end = memchr::memchr2(b'\n', b'\r', rest).unwrap_or(rest.len());
        if let Some(data) = rest[..end].strip_prefix(b"data:") {
            if found.is_some() {
                // Multi-line data: too unusual for the fast path; treat as opaque.
                return None;
            }
            found = Some(data.strip_prefix(b" ").unwrap_or(data));
        }
        match rest.get(end + 1..) {
            Some(next) => rest = next,
            None => return found,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition the memchr loop must keep: split on every `\n` and `\r`, one `data:`
    /// line or none.
    fn by_split(event: &[u8]) -> Option<&[u8]> {
        let mut found = None;
        for line in event.split(|b| *b == b'\n' || *b == b'\r') {
            if let Some(rest) = line.strip_prefix(b"data:") {
                if found.is_some() {
                    return None;
                }
                found = Some(rest.strip_prefix(b" ").unwrap_or(rest));
            }
        }
        found
    }

    #[test]
    fn data_payload_reads_one_data_line_whatever_the_line_endings() {
        let cases: &[&[u8]] = &[
            b"",
            b"data: {}\n\n",
            b"data:{}\r\n\r\n",
            b"data: x\r\r",
            b"event: e\ndata: [DONE]\n\n",
            b": comment\ndata: a\nid: 1\n\n",
            b"data: a\ndata: b\n\n",
            b"data: a\rdata: b\r\r",
            b"event: only\n\n",
            b"data:",
            b"data: no end",
            b"\n\ndata: late\n",
            b"xdata: not a field\n\n",
            b"data:  two spaces\n\n",
        ];
        for case in cases {
            assert_eq!(
                data_payload(case),
                by_split(case),
                "{:?}",
                String::from_utf8_lossy(case)
            );
        }
        assert_eq!(data_payload(b"data: {}\n\n"), Some(&b"{}"[..]));
        assert_eq!(data_payload(b"data: a\ndata: b\n\n"), None);
        // Every byte sequence over the separators and the field's letters agrees too.
        let alphabet = b"\n\rdat: x";
        for n in 0..=6u32 {
            for mut i in 0..alphabet.len().pow(n) {
                let mut case = Vec::new();
                for _ in 0..n {
                    case.push(alphabet[i % alphabet.len()]);
                    i /= alphabet.len();
                }
                let case = [b"data: p".as_slice(), &case].concat();
                assert_eq!(data_payload(&case), by_split(&case), "{case:?}");
            }
        }
    }
}
