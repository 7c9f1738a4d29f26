//! The open loop: requests arrive at a constant rate whatever the server does, and each
//! one's latency is measured from when it *should* have been sent.
//!
//! Arrival slots are `start + k / rate`. A fixed pool of connections takes slots in order
//! from one shared counter: a free connection claims the next slot and waits for its time;
//! when every connection is busy the slot waits for the first one to free up, and that wait
//! is counted in the slot's latency. So a server that stalls shows its queueing delay, as a
//! user arriving at that moment would have seen it (no coordinated omission; wrk2 and
//! Gil Tene's HdrHistogram work describe the problem). A connection that was idle when its
//! slot came due measures from when its timer woke instead, so the runtime's millisecond
//! timer tick is not charged to the target. Slots due in the window but never started — the
//! queue left when the window closed — are reported as `unsent`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::time::{sleep_until, timeout_at};

use super::Clock;
use super::closed::CONNECT_BACKOFF;
use super::exchange::{Sender, connect, exchange};
use super::recorder::Recorder;
use super::target::Target;

/// The arrival schedule and how much of it was served.
#[derive(Debug)]
pub(crate) struct Schedule {
    start: Instant,
    rate: f64,
    next: AtomicU64,
    /// Measured slots actually sent.
    started: AtomicU64,
}

impl Schedule {
    pub(crate) fn new(start: Instant, rate: f64) -> Self {
        Self {
            start,
            rate,
            next: AtomicU64::new(0),
            started: AtomicU64::new(0),
        }
    }

    /// Intended send time of slot `k`.
    pub(crate) fn at(&self, k: u64) -> Instant {
        self.start + Duration::from_secs_f64(k as f64 / self.rate)
    }

    /// Slots whose intended time falls in `[from, to)`.
    pub(crate) fn due_between(&self, from: Instant, to: Instant) -> u64 {
        let slots_before = |t: Instant| {
            let secs = t.saturating_duration_since(self.start).as_secs_f64();
            (secs * self.rate).ceil() as u64
        };
        slots_before(to).saturating_sub(slots_before(from))
    }

    /// Measured slots that were sent.
    pub(crate) fn started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }
}

/// One connection of the pool; returns what it measured.
pub(crate) async fn run(
    target: Arc<Target>,
    clock: Arc<Clock>,
    schedule: Arc<Schedule>,
    mut rec: Recorder,
) -> Recorder {
    let deadline = tokio::time::Instant::from_std(clock.deadline);
    let mut conn: Option<Sender> = None;
    let mut gaps = Vec::new();
    loop {
        let intended = schedule.at(schedule.next.fetch_add(1, Ordering::Relaxed));
        if intended >= clock.deadline {
            break;
        }
        let measured = intended >= clock.measure_from;
        if measured && !clock.budget.take() {
            break;
        }
        // A connection that was free before its slot came due waits on the runtime's timer,
        // which fires on a millisecond tick: that lateness is the generator's, not the
        // target's, so it measures from when it woke. A connection that claims a slot already
        // past due was busy: the target kept it, and the wait since the slot's time counts.
        let early = Instant::now() < intended;
        sleep_until(tokio::time::Instant::from_std(intended)).await;
        let origin = if early { Instant::now() } else { intended };
        if measured {
            schedule.started.fetch_add(1, Ordering::Relaxed);
        }
        // The slot is taken: from here on, running out of time leaves it unfinished.
        let unfinished = |rec: &mut Recorder| {
            if measured {
                rec.record_unfinished();
            }
        };
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
                Err(_) => {
                    unfinished(&mut rec);
                    break;
                }
            }
        }
        let Some(sender) = conn.as_mut() else {
            continue;
        };
        match timeout_at(deadline, exchange(sender, &target, &mut gaps)).await {
            Err(_) => {
                unfinished(&mut rec);
                break;
            }
            Ok(Ok(ex)) => {
                if measured {
                    ex.record(&mut rec, origin, &gaps);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_evenly_spaced_from_the_start() {
        let start = Instant::now();
        let s = Schedule::new(start, 4.0);
        assert_eq!(s.at(0), start);
        assert_eq!(s.at(3), start + Duration::from_millis(750));
    }

    #[test]
    fn due_counts_slots_in_a_half_open_window() {
        let start = Instant::now();
        let s = Schedule::new(start, 10.0);
        let ms = |n| start + Duration::from_millis(n);
        // Slots at 0, 100, …, 900 ms: [0, 1000) holds ten, [250, 1000) seven.
        assert_eq!(s.due_between(start, ms(1000)), 10);
        assert_eq!(s.due_between(ms(250), ms(1000)), 7);
        assert_eq!(s.due_between(ms(1000), ms(1000)), 0);
    }
}
