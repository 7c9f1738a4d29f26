//! One load worker: one connection, one request at a time, until the clock
//! or the budget says stop.
//!
//! Every wait is bounded by the run's deadline, so a stalled server ends the
//! run on time instead of hanging it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::timeout_at;

use super::target::Target;
use super::{Clock, Recorder};

/// Pause after a failed connect, so a dead target is not hammered in a loop.
const CONNECT_BACKOFF: Duration = Duration::from_millis(10);

type Sender = SendRequest<Full<Bytes>>;

/// Runs requests until the deadline or the budget ends the run; returns
/// what it measured.
pub(super) async fn run(target: Arc<Target>, clock: Arc<Clock>, mut rec: Recorder) -> Recorder {
    let deadline = tokio::time::Instant::from_std(clock.deadline);
    let mut conn: Option<Sender> = None;
    let mut gaps = Vec::new();
    loop {
        let now = Instant::now();
        if now >= clock.deadline {
            break;
        }
        let measured = now >= clock.measure_from;
        if measured && !clock.budget.take() {
            break;
        }
        // A connection the server closed between requests is not a failure.
        if let Some(sender) = conn.as_mut()
            && !matches!(timeout_at(deadline, sender.ready()).await, Ok(Ok(())))
        {
            conn = None;
        }
        if conn.is_none() {
            match timeout_at(deadline, connect(&target)).await {
                Ok(Ok(sender)) => conn = Some(sender),
                Ok(Err(_)) => {
                    if measured {
                        rec.record_error();
                    }
                    let _ = timeout_at(deadline, tokio::time::sleep(CONNECT_BACKOFF)).await;
                    continue;
                }
                Err(_) => break,
            }
        }
        let Some(sender) = conn.as_mut() else {
            continue;
        };
        match timeout_at(deadline, exchange(sender, &target, &mut gaps)).await {
            // In flight when the window closed: abandoned, not counted.
            Err(_) => break,
            Ok(Ok(ex)) => {
                if measured {
                    ex.record(&mut rec, &gaps);
                }
            }
            Ok(Err(_)) => {
                if measured {
                    rec.record_error();
                }
                conn = None;
            }
        }
    }
    rec
}

async fn connect(target: &Target) -> Result<Sender, Box<dyn std::error::Error + Send + Sync>> {
    let tcp = TcpStream::connect((target.host.as_str(), target.port)).await?;
    tcp.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(tcp)).await?;
    // Ends when `sender` is dropped or the peer closes.
    tokio::spawn(connection);
    Ok(sender)
}

/// One request and response, read to the end.
#[derive(Debug, Clone, Copy)]
struct Exchange {
    status: StatusCode,
    latency: Duration,
    ttft: Option<Duration>,
    /// False for a 2xx stream that ended without `data: [DONE]`.
    complete: bool,
}

impl Exchange {
    fn record(&self, rec: &mut Recorder, gaps: &[Duration]) {
        if !self.complete {
            rec.record_error();
            return;
        }
        rec.record_response(self.status.is_success(), self.latency);
        if let Some(ttft) = self.ttft {
            rec.record_ttft(ttft);
            for gap in gaps {
                rec.record_gap(*gap);
            }
        }
    }
}

async fn exchange(
    sender: &mut Sender,
    target: &Target,
    gaps: &mut Vec<Duration>,
) -> Result<Exchange, hyper::Error> {
    gaps.clear();
    let started = Instant::now();
    let resp = sender.send_request(target.request()).await?;
    let status = resp.status();
    let mut body = resp.into_body();
    let mut first = None;
    let mut last = started;
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
            first = Some(now - started);
        } else {
            gaps.push(now - last);
        }
        last = now;
        tail.push(&data);
    }
    let streamed = target.stream && status.is_success();
    Ok(Exchange {
        status,
        latency: started.elapsed(),
        ttft: if streamed { first } else { None },
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

    #[test]
    fn incomplete_stream_counts_as_error_not_response() {
        let mut rec = Recorder::new().unwrap();
        let ex = Exchange {
            status: StatusCode::OK,
            latency: Duration::from_millis(1),
            ttft: Some(Duration::from_micros(10)),
            complete: false,
        };
        ex.record(&mut rec, &[Duration::from_micros(5)]);
        let rep = rec.report(Duration::from_secs(1), true);
        assert_eq!((rep.requests, rep.errors), (0, 1));
    }
}
