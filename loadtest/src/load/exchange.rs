//! One connection and one request on it, read to the end, with its times.
//!
//! Shared by both loops: the closed loop measures from the actual send, the open loop from
//! the intended send time, so [`Exchange::outcome`] takes the origin to measure from.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::recorder::{Outcome, Recorder};
use super::target::Target;

pub(crate) type Sender = SendRequest<Full<Bytes>>;

pub(crate) async fn connect(
    target: &Target,
) -> Result<Sender, Box<dyn std::error::Error + Send + Sync>> {
    let tcp = TcpStream::connect((target.host.as_str(), target.port)).await?;
    tcp.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(tcp)).await?;
    // Ends when `sender` is dropped or the peer closes.
    tokio::spawn(connection);
    Ok(sender)
}

/// One request and response, read to the end.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exchange {
    pub status: StatusCode,
    pub sent: Instant,
    /// Streams (2xx): when the first body byte arrived.
    pub first: Option<Instant>,
    pub done: Instant,
    /// False for a 2xx stream that ended without `data: [DONE]`.
    pub complete: bool,
}

impl Exchange {
    /// The exchange measured from `origin`.
    pub(crate) fn outcome(&self, origin: Instant) -> Outcome {
        Outcome {
            success: self.status.is_success(),
            latency: self.done.saturating_duration_since(origin),
            service: self.done.saturating_duration_since(self.sent),
            ttft: self.first.map(|f| f.saturating_duration_since(origin)),
            done_at: self.done,
        }
    }

    /// Records the exchange, measured from `origin`, with its chunk gaps.
    pub(crate) fn record(&self, rec: &mut Recorder, origin: Instant, gaps: &[Duration]) {
        if self.complete {
            rec.record(&self.outcome(origin), gaps);
        } else {
            rec.record_error(self.done);
        }
    }
}

/// Sends one request and reads the body to its end, noting chunk gaps into `gaps`.
pub(crate) async fn exchange(
    sender: &mut Sender,
    target: &Target,
    gaps: &mut Vec<Duration>,
) -> Result<Exchange, hyper::Error> {
    gaps.clear();
    let sent = Instant::now();
    let resp = sender.send_request(target.request()).await?;
    let status = resp.status();
    let mut body = resp.into_body();
    let mut first = None;
    let mut last = sent;
    let mut tail = Tail::default();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        if data.is_empty() {
            continue;
        }
        let now = Instant::now();
        if first.is_none() {
            first = Some(now);
        } else {
            gaps.push(now - last);
        }
        last = now;
        tail.push(&data);
    }
    let streamed = target.stream && status.is_success();
    Ok(Exchange {
        status,
        sent,
        first: if streamed { first } else { None },
        done: Instant::now(),
        complete: !streamed || tail.ends_with_done(),
    })
}

/// The last few bytes of a body, enough to see the closing `[DONE]` event.
#[derive(Debug, Default)]
struct Tail {
    buf: Vec<u8>,
}

impl Tail {
    const KEEP: usize = 32;

    fn push(&mut self, data: &[u8]) {
        let data = &data[data.len().saturating_sub(Self::KEEP)..];
        self.buf.extend_from_slice(data);
        let excess = self.buf.len().saturating_sub(Self::KEEP);
        self.buf.drain(..excess);
    }

    fn ends_with_done(&self) -> bool {
        self.buf.trim_ascii_end().ends_with(b"data: [DONE]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_sees_done_across_chunk_boundaries() {
        let mut t = Tail::default();
        t.push(&[b'x'; 100]);
        t.push(b"data: [DO");
        assert!(!t.ends_with_done());
        t.push(b"NE]\n\n");
        assert!(t.ends_with_done());
        t.push(b"data: {}\n\n");
        assert!(!t.ends_with_done());
    }

    fn exchange_at(sent: Instant, complete: bool) -> Exchange {
        Exchange {
            status: StatusCode::OK,
            sent,
            first: Some(sent + Duration::from_micros(10)),
            done: sent + Duration::from_millis(1),
            complete,
        }
    }

    #[test]
    fn incomplete_stream_counts_as_error_not_response() {
        let mut rec = Recorder::new(false, true, None, None).unwrap();
        let ex = exchange_at(Instant::now(), false);
        ex.record(&mut rec, ex.sent, &[Duration::from_micros(5)]);
        assert_eq!((rec.requests, rec.errors), (0, 1));
    }

    #[test]
    fn times_are_measured_from_the_origin_given() {
        let sent = Instant::now() + Duration::from_millis(5);
        let ex = exchange_at(sent, true);
        let intended = sent - Duration::from_millis(5);
        let o = ex.outcome(intended);
        assert_eq!(o.latency, Duration::from_millis(6));
        assert_eq!(o.service, Duration::from_millis(1));
        assert_eq!(o.ttft, Some(Duration::from_micros(5010)));
        assert_eq!(ex.outcome(sent).latency, o.service);
    }
}
