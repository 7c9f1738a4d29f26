//! The closed loop: each connection sends its next request as soon as the previous one
//! ended, until the clock or the budget says stop.
//!
//! Latency is measured from the actual send. That is what a fixed number of users who wait
//! for each answer see, and it is the right mode for "what does one request cost" at a
//! given concurrency — but it hides queueing (coordinated omission): use the open loop to
//! ask what a given arrival rate does to latency. Every wait is bounded by the run's
//! deadline, so a stalled server ends the run on time instead of hanging it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::time::timeout_at;

use super::Clock;
use super::exchange::{Sender, connect, exchange};
use super::recorder::Recorder;
use super::target::Target;

/// Pause after a failed connect, so a dead target is not hammered in a loop.
pub(crate) const CONNECT_BACKOFF: Duration = Duration::from_millis(10);

/// Runs requests until the deadline or the budget ends the run; returns what it measured.
pub(crate) async fn run(target: Arc<Target>, clock: Arc<Clock>, mut rec: Recorder) -> Recorder {
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
                        rec.record_error(Instant::now());
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
            // In flight when the window closed: abandoned, counted apart.
            Err(_) => {
                if measured {
                    rec.record_unfinished();
                }
                break;
            }
            Ok(Ok(ex)) => {
                if measured {
                    ex.record(&mut rec, ex.sent, &gaps);
                }
            }
            Ok(Err(_)) => {
                if measured {
                    rec.record_error(Instant::now());
                }
                conn = None;
            }
        }
    }
    rec.flush();
    rec
}
