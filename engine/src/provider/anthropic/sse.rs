//! A server-sent-events decoder that both stream translators share.
//!
//! Fed bytes as they arrive, it hands back each complete event (`event:` name and joined
//! `data:` lines) as soon as its terminating blank line is seen. Lines end in LF or CRLF; a
//! CRLF split across two reads is handled because a line is only read once its LF arrives.
//! The result is the same event sequence however the bytes are split. An event (its data so
//! far plus the unfinished line) larger than the cap is refused, so a hostile upstream cannot
//! make the gateway buffer without bound.

use super::error::StreamError;

/// One complete SSE event.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    pub(crate) name: String,
    pub(crate) data: Vec<u8>,
}

/// The decoder's state between reads.
#[derive(Debug)]
pub(crate) struct SseDecoder {
    /// The unfinished line.
    line: Vec<u8>,
    current: SseEvent,
    has_data: bool,
    max_event_bytes: usize,
    /// Complete events handed out so far.
    events: u64,
    /// The first error of [`Self::push`], returned again by every later call.
    failed: Option<StreamError>,
}

impl SseDecoder {
    pub(crate) fn new(max_event_bytes: usize) -> Self {
        Self {
            line: Vec::new(),
            current: SseEvent::default(),
            has_data: false,
            max_event_bytes,
            events: 0,
            failed: None,
        }
    }

    /// One upstream read through `on_event`, for a stateful translator whose stream is over
    /// once `done`: returns the bytes `on_event` wrote. An error after some output is
    /// deferred — that output goes out now, the error on the next call or [`Self::finish`] —
    /// and every later call returns it again, unless the stream is done: an error after the
    /// end (bytes after it in the same read) is ignored, as a later read would be.
    pub(crate) fn push(
        &mut self,
        bytes: &[u8],
        done: bool,
        mut on_event: impl FnMut(&SseEvent, &mut Vec<u8>) -> Result<(), StreamError>,
    ) -> Result<bytes::Bytes, StreamError> {
        if done {
            return Ok(bytes::Bytes::new());
        }
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let mut out = Vec::new();
        match self.feed(bytes, |e| on_event(&e, &mut out)) {
            Ok(()) => Ok(out.into()),
            Err(e) if !out.is_empty() => {
                self.failed = Some(e);
                Ok(out.into())
            }
            Err(e) => {
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// The upstream body ended: `Ok` if the stream completed (`done`), whatever came after.
    /// Else the error [`Self::push`] deferred, or [`StreamError::Truncated`].
    pub(crate) fn finish(&self, done: bool) -> Result<(), StreamError> {
        match &self.failed {
            _ if done => Ok(()),
            Some(e) => Err(e.clone()),
            None => Err(StreamError::Truncated),
        }
    }

    /// Complete events decoded so far.
    pub(crate) fn events(&self) -> u64 {
        self.events
    }

    /// Feeds bytes; calls `on_event` for every event they complete, in order, stopping at the
    /// first error `on_event` returns.
    pub(crate) fn feed(
        &mut self,
        mut bytes: &[u8],
        mut on_event: impl FnMut(SseEvent) -> Result<(), StreamError>,
    ) -> Result<(), StreamError> {
        while let Some(nl) = memchr::memchr(b'\n', bytes) {
            let (head, rest) = bytes.split_at(nl);
            bytes = &rest[1..];
            let event = if self.line.is_empty() {
                self.take_line(head)?
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(head);
                let event = self.take_line(&line)?;
                line.clear();
                self.line = line;
                event
            };
            if let Some(event) = event {
                self.events += 1;
                on_event(event)?;
            }
        }
        self.line.extend_from_slice(bytes);
        self.check_size()
    }

    /// Handles one complete line (without its LF); returns the event a blank line completes.
    fn take_line(&mut self, line: &[u8]) -> Result<Option<SseEvent>, StreamError> {
        // The whole line (field name, CR and all) counts, as it does while unfinished between
        // reads: otherwise the cap would depend on where the reads split it.
        if line.len() + self.current.data.len() + self.current.name.len() > self.max_event_bytes {
            return Err(StreamError::EventTooLarge(self.max_event_bytes));
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            if !self.has_data && self.current.name.is_empty() {
                return Ok(None);
            }
            self.has_data = false;
            return Ok(Some(std::mem::take(&mut self.current)));
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(0) => return Ok(None), // a comment
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.current.data.push(b'\n');
                }
                self.current.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => {
                self.current.name = String::from_utf8_lossy(value).into_owned();
            }
            _ => {} // id, retry and unknown fields carry nothing a translator needs
        }
        self.check_size()?;
        Ok(None)
    }

    fn check_size(&self) -> Result<(), StreamError> {
        let size = self.line.len() + self.current.data.len() + self.current.name.len();
        if size > self.max_event_bytes {
            return Err(StreamError::EventTooLarge(self.max_event_bytes));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn decode(parts: &[&[u8]]) -> Vec<SseEvent> {
        let mut d = SseDecoder::new(1024);
        let mut out = Vec::new();
        for p in parts {
            d.feed(p, |e| {
                out.push(e);
                Ok(())
            })
            .unwrap();
        }
        out
    }

    #[test]
    fn decodes_named_events_with_lf_or_crlf_however_split() {
        let lf = b"event: a\ndata: {\"x\":1}\n\n: comment\n\nevent: b\ndata: one\ndata: two\n\n";
        let crlf = b"event: a\r\ndata: {\"x\":1}\r\n\r\n: comment\r\n\r\nevent: b\r\ndata: one\r\ndata: two\r\n\r\n";
        let want = decode(&[lf]);
        assert_eq!(want.len(), 2);
        assert_eq!(want[0].name, "a");
        assert_eq!(want[1].data, b"one\ntwo");
        for t in [&lf[..], &crlf[..]] {
            for cut in 0..t.len() {
                assert_eq!(decode(&[&t[..cut], &t[cut..]]), want, "cut at {cut}");
            }
            let bytes: Vec<&[u8]> = t.chunks(1).collect();
            assert_eq!(decode(&bytes), want);
        }
    }

    #[test]
    fn refuses_an_event_past_the_cap_even_without_a_newline() {
        let mut d = SseDecoder::new(16);
        let r = d.feed(b"data: 0123456789abcdef", |_| Ok(()));
        assert_eq!(r, Err(StreamError::EventTooLarge(16)));
        let mut d = SseDecoder::new(16);
        let r = d.feed(b"data: 0123456789\ndata: 0123456789\n", |_| Ok(()));
        assert_eq!(r, Err(StreamError::EventTooLarge(16)));
    }

    /// Bytes after the event that ended the stream do not fail it, even an oversized line in
    /// the same read: the relay stops reading at the end, so a later read is never made.
    #[test]
    fn an_error_after_the_end_in_the_same_read_is_ignored() {
        let mut d = SseDecoder::new(32);
        let mut done = false;
        let bytes = b"event: stop\ndata: {}\n\n: 0123456789012345678901234567890123456789\n";
        let out = d.push(bytes, done, |e, out| {
            done |= e.name == "stop";
            out.extend_from_slice(b"ok");
            Ok(())
        });
        assert_eq!(out.as_deref(), Ok(&b"ok"[..]));
        assert!(done);
        assert_eq!(
            d.push(b"data: more\n\n", done, |_, _| Ok(())),
            Ok(Bytes::new())
        );
        assert_eq!(d.finish(done), Ok(()));
    }

    /// Found by the `gemini_stream_translator` fuzz target: a line past the cap was refused
    /// only when it spanned reads (the unfinished line is measured whole, field name and all),
    /// while in one read a comment or ignored field was skipped unmeasured and a data line was
    /// measured without its `data: ` prefix. Every split must give the one answer.
    #[test]
    fn a_line_past_the_cap_is_refused_however_it_is_split() {
        let lines: [&[u8]; 4] = [
            b": 0123456789abcdef\n\n",
            b"id: 0123456789abcdef\n\n",
            b"data: 0123456789ab\n\n",
            b"data: 0123456789ab\r\n\r\n",
        ];
        for bytes in lines {
            for at in 0..=bytes.len() {
                let mut d = SseDecoder::new(16);
                let r = d
                    .feed(&bytes[..at], |_| Ok(()))
                    .and_then(|()| d.feed(&bytes[at..], |_| Ok(())));
                let line = String::from_utf8_lossy(bytes);
                assert_eq!(
                    r,
                    Err(StreamError::EventTooLarge(16)),
                    "{line:?} split at {at}"
                );
            }
        }
    }
}
