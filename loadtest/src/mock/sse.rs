//! The mock's server-sent-event driver, shared by both dialects.
//!
//! A dialect supplies its events through [`EventSource`] (an opening, the
//! content events, a finish, and an error event), generated lazily by index
//! so a long stream costs no memory up front. The driver owns the timing and
//! the faults: first-byte delay and stall, the interval before each content
//! event, pause/resume, a mid-stream error event and a cut connection. Each
//! event is produced, counted and handed to hyper as its own frame only when
//! hyper asks for the next one, so delays, pauses and cuts happen exactly
//! between events, and a client sees every event as it is sent.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;

use super::Behaviour;
use super::behaviour::Stall;
use super::respond::MockBody;
use super::state::Shared;

/// The body error that makes hyper abort the connection mid-stream
/// ([`Behaviour::disconnect_after`](crate::Behaviour::disconnect_after)).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamCut;

impl std::fmt::Display for StreamCut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("mock upstream cut the stream on purpose")
    }
}

impl std::error::Error for StreamCut {}

/// One dialect's events for one answer; `None` past the end of a section.
pub(crate) trait EventSource: Send + 'static {
    /// The opening events, sent together after the first-byte wait.
    fn head(&self, i: usize) -> Option<Bytes>;
    /// Content event `i` (see [`Behaviour`] for what counts as content).
    fn content(&self, i: usize) -> Option<Bytes>;
    /// The finishing events, after the last content event.
    fn tail(&self, i: usize) -> Option<Bytes>;
    /// The mid-stream error event.
    fn error(&self) -> Bytes;
}

/// The timing and faults of one stream, fixed when the request arrives.
#[derive(Debug, Clone)]
pub(crate) struct Timing {
    pub first_byte_delay: Duration,
    pub stall: Option<Stall>,
    pub interval: Duration,
    pub disconnect_after: Option<usize>,
    pub error_after: Option<usize>,
    pub pause_after: Option<usize>,
    /// The resume generation when the request arrived.
    pub resume_seen: u64,
}

impl Timing {
    pub(crate) fn new(b: &Behaviour, resume_seen: u64) -> Self {
        Self {
            first_byte_delay: b.first_byte_delay,
            stall: b.stall,
            interval: b.chunk_interval,
            disconnect_after: b.disconnect_after,
            error_after: b.error_after_chunks,
            pause_after: b.pause_after_chunks,
            resume_seen,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Head(usize),
    /// `n` content events sent so far.
    Content(usize),
    Tail(usize),
    End,
}

struct Sse<S> {
    shared: Arc<Shared>,
    timing: Timing,
    source: S,
    phase: Phase,
}

/// The streaming response body for `source`, shaped by `timing`.
pub(crate) fn sse_body<S: EventSource>(shared: Arc<Shared>, timing: Timing, source: S) -> MockBody {
    let state = Sse {
        shared,
        timing,
        source,
        phase: Phase::Head(0),
    };
    StreamBody::new(futures_util::stream::unfold(state, step)).boxed_unsync()
}

async fn step<S: EventSource>(mut st: Sse<S>) -> Option<(Result<Frame<Bytes>, StreamCut>, Sse<S>)> {
    let event = loop {
        match st.phase {
            Phase::Head(i) => {
                if i == 0 {
                    pause(st.timing.first_byte_delay).await;
                    stall(st.timing.stall).await;
                }
                match st.source.head(i) {
                    Some(ev) => {
                        st.phase = Phase::Head(i + 1);
                        break ev;
                    }
                    None => st.phase = Phase::Content(0),
                }
            }
            Phase::Content(sent) => {
                if st.timing.disconnect_after == Some(sent) {
                    // Hand control back once so hyper flushes what it
                    // buffered, then fail the body: hyper drops the
                    // connection.
                    tokio::task::yield_now().await;
                    st.phase = Phase::End;
                    return Some((Err(StreamCut), st));
                }
                if st.timing.error_after == Some(sent) {
                    st.phase = Phase::End;
                    break st.source.error();
                }
                if st.timing.pause_after == Some(sent) {
                    st.shared.resumed_since(st.timing.resume_seen).await;
                }
                pause(st.timing.interval).await;
                match st.source.content(sent) {
                    Some(ev) => {
                        st.phase = Phase::Content(sent + 1);
                        break ev;
                    }
                    None => st.phase = Phase::Tail(0),
                }
            }
            Phase::Tail(i) => match st.source.tail(i) {
                Some(ev) => {
                    st.phase = Phase::Tail(i + 1);
                    break ev;
                }
                None => st.phase = Phase::End,
            },
            Phase::End => return None,
        }
    };
    st.shared.count_chunk();
    Some((Ok(Frame::data(event)), st))
}

async fn pause(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

/// Waits out a [`Stall`]; `Forever` never returns (the task ends when hyper
/// drops the body or the mock aborts the connection).
pub(crate) async fn stall(s: Option<Stall>) {
    match s {
        None => {}
        Some(Stall::ForMs(ms)) => pause(Duration::from_millis(ms)).await,
        Some(Stall::Forever) => std::future::pending::<()>().await,
    }
}

/// Collects a body's frames: the data events and whether it was cut.
#[cfg(test)]
pub(crate) async fn collect(mut body: MockBody) -> (Vec<String>, bool) {
    let mut out = Vec::new();
    let mut cut = false;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => out.push(String::from_utf8(f.into_data().unwrap().to_vec()).unwrap()),
            Err(StreamCut) => cut = true,
        }
    }
    (out, cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MockOptions;

    /// Head "h", content "c0".."c2", tail "t", error "e".
    struct Letters;

    impl EventSource for Letters {
        fn head(&self, i: usize) -> Option<Bytes> {
            (i == 0).then(|| Bytes::from_static(b"h"))
        }
        fn content(&self, i: usize) -> Option<Bytes> {
            (i < 3).then(|| Bytes::from(format!("c{i}")))
        }
        fn tail(&self, i: usize) -> Option<Bytes> {
            (i == 0).then(|| Bytes::from_static(b"t"))
        }
        fn error(&self) -> Bytes {
            Bytes::from_static(b"e")
        }
    }

    async fn run(b: Behaviour) -> (Vec<String>, bool, u64) {
        let shared = Arc::new(Shared::new(&MockOptions::default()));
        let body = sse_body(Arc::clone(&shared), Timing::new(&b, 0), Letters);
        let (events, cut) = collect(body).await;
        (events, cut, shared.chunks())
    }

    #[tokio::test]
    async fn sends_head_content_then_tail_and_counts_each() {
        let (ev, cut, counted) = run(Behaviour::ok()).await;
        assert_eq!(ev, ["h", "c0", "c1", "c2", "t"]);
        assert!(!cut);
        assert_eq!(counted, 5);
    }

    #[tokio::test]
    async fn error_after_sends_the_error_event_and_ends_cleanly() {
        let (ev, cut, _) = run(Behaviour::ok().error_after_chunks(2)).await;
        assert_eq!(ev, ["h", "c0", "c1", "e"]);
        assert!(!cut);
    }

    #[tokio::test]
    async fn disconnect_after_fails_the_body_before_the_tail() {
        let (ev, cut, _) = run(Behaviour::ok().disconnect_after(3)).await;
        assert_eq!(ev, ["h", "c0", "c1", "c2"]);
        assert!(cut);
    }

    #[tokio::test]
    async fn finite_stall_delays_the_first_event() {
        let started = std::time::Instant::now();
        let (ev, _, _) = run(Behaviour::ok().stall(Duration::from_millis(60))).await;
        assert_eq!(ev.len(), 5);
        assert!(started.elapsed() >= Duration::from_millis(60));
    }
}
