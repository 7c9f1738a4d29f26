//! What one connection measured, merged into the whole run's figures at the end.
//!
//! Each connection task fills its own [`Recorder`], so nothing is shared on the hot path
//! except the run's [`Timeline`] (touched once a second per task) and the progress
//! counters (relaxed atomics). Times are whole microseconds in HDR histograms with three
//! significant digits, from 1 µs to one hour; longer values are clamped, never lost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use hdrhistogram::errors::{AdditionError, CreationError};

use super::progress::Progress;
use super::timeline::{Bucket, Timeline};

/// Largest time a histogram tracks exactly.
pub(crate) const MAX_TRACKED_US: u64 = 3_600_000_000;

pub(crate) fn histogram() -> Result<Histogram<u32>, CreationError> {
    Histogram::new_with_bounds(1, MAX_TRACKED_US, 3)
}

pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// One response read to its end, with its times already measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome {
    /// Status was 2xx.
    pub success: bool,
    /// From the request's origin (the intended send time in open loop, the actual send
    /// time in closed loop) to the last body byte.
    pub latency: Duration,
    /// From the actual send to the last body byte.
    pub service: Duration,
    /// Streams: from the origin to the first body byte.
    pub ttft: Option<Duration>,
    /// When the last byte arrived.
    pub done_at: Instant,
}

/// Counts and histograms of one connection, or of a whole run once merged.
#[derive(Debug)]
pub(crate) struct Recorder {
    pub latency: Histogram<u32>,
    /// Open loop only: service time, so the queueing share of `latency` shows.
    pub service: Option<Histogram<u32>>,
    /// Streams only.
    pub ttft: Option<Histogram<u32>>,
    pub gaps: Option<Histogram<u32>>,
    pub requests: u64,
    pub non_2xx: u64,
    pub errors: u64,
    /// Sent in the window but still unanswered when it closed.
    pub unfinished: u64,
    bucket: Option<Bucket>,
    timeline: Option<Arc<Timeline>>,
    progress: Option<Arc<Progress>>,
}

impl Recorder {
    /// An empty recorder; `open` adds the service-time histogram, `stream` the TTFT and
    /// gap histograms. With a timeline and progress counters it also feeds those.
    pub(crate) fn new(
        open: bool,
        stream: bool,
        timeline: Option<Arc<Timeline>>,
        progress: Option<Arc<Progress>>,
    ) -> Result<Self, CreationError> {
        let maybe = |on: bool| on.then(histogram).transpose();
        Ok(Self {
            latency: histogram()?,
            service: maybe(open)?,
            ttft: maybe(stream)?,
            gaps: maybe(stream)?,
            requests: 0,
            non_2xx: 0,
            errors: 0,
            unfinished: 0,
            bucket: None,
            timeline,
            progress,
        })
    }

    /// A complete response, with the gaps between its body chunks (streams).
    pub(crate) fn record(&mut self, o: &Outcome, gaps: &[Duration]) {
        self.requests += 1;
        if !o.success {
            self.non_2xx += 1;
        }
        let us = micros(o.latency);
        self.latency.saturating_record(us);
        if let Some(h) = &mut self.service {
            h.saturating_record(micros(o.service));
        }
        if let (Some(h), Some(t)) = (&mut self.ttft, o.ttft) {
            h.saturating_record(micros(t));
            if let Some(g) = &mut self.gaps {
                for gap in gaps {
                    g.saturating_record(micros(*gap));
                }
            }
        }
        if let Some(p) = &self.progress {
            p.count(o.success);
        }
        self.in_bucket(o.done_at, |b| b.record(us, o.success));
    }

    /// A request that got no complete response (connect or I/O failure, or a stream cut
    /// before `[DONE]`).
    pub(crate) fn record_error(&mut self, at: Instant) {
        self.errors += 1;
        if let Some(p) = &self.progress {
            p.count(false);
        }
        self.in_bucket(at, Bucket::record_error);
    }

    /// A request sent in the window and abandoned when it closed.
    pub(crate) fn record_unfinished(&mut self) {
        self.unfinished += 1;
    }

    fn in_bucket(&mut self, at: Instant, f: impl FnOnce(&mut Bucket)) {
        let Some(timeline) = &self.timeline else {
            return;
        };
        let index = timeline.index(at);
        if self.bucket.as_ref().is_some_and(|b| b.index != index)
            && let Some(done) = self.bucket.take()
        {
            timeline.absorb(done);
        }
        if self.bucket.is_none() {
            self.bucket = Bucket::new(index).ok();
        }
        if let Some(b) = &mut self.bucket {
            f(b);
        }
    }

    /// Hands the open timeline bucket to the run; call once the connection is done.
    pub(crate) fn flush(&mut self) {
        if let (Some(timeline), Some(b)) = (&self.timeline, self.bucket.take()) {
            timeline.absorb(b);
        }
    }

    /// Adds `other`'s counts and samples to this one.
    pub(crate) fn merge(&mut self, other: &Recorder) -> Result<(), AdditionError> {
        self.latency.add(&other.latency)?;
        for (mine, theirs) in [
            (&mut self.service, &other.service),
            (&mut self.ttft, &other.ttft),
            (&mut self.gaps, &other.gaps),
        ] {
            if let (Some(m), Some(t)) = (mine, theirs) {
                m.add(t)?;
            }
        }
        self.requests += other.requests;
        self.non_2xx += other.non_2xx;
        self.errors += other.errors;
        self.unfinished += other.unfinished;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(latency_us: u64, success: bool) -> Outcome {
        Outcome {
            success,
            latency: Duration::from_micros(latency_us),
            service: Duration::from_micros(latency_us / 2),
            ttft: Some(Duration::from_micros(latency_us / 4)),
            done_at: Instant::now(),
        }
    }

    #[test]
    fn merge_adds_counts_and_samples() {
        let mut a = Recorder::new(true, true, None, None).unwrap();
        let mut b = Recorder::new(true, true, None, None).unwrap();
        a.record(&outcome(100, true), &[]);
        b.record(&outcome(400, false), &[Duration::from_micros(7)]);
        b.record_error(Instant::now());
        b.record_unfinished();
        a.merge(&b).unwrap();
        assert_eq!(
            (a.requests, a.non_2xx, a.errors, a.unfinished),
            (2, 1, 1, 1)
        );
        assert_eq!(a.latency.max(), 400);
        assert_eq!(a.service.as_ref().unwrap().max(), 200);
        assert_eq!(a.ttft.as_ref().unwrap().max(), 100);
        assert_eq!(a.gaps.as_ref().unwrap().max(), 7);
    }

    #[test]
    fn closed_loop_json_recorder_keeps_only_latency() {
        let mut r = Recorder::new(false, false, None, None).unwrap();
        r.record(&outcome(100, true), &[Duration::from_micros(3)]);
        assert!(r.service.is_none() && r.ttft.is_none() && r.gaps.is_none());
        assert_eq!(r.latency.len(), 1);
    }

    #[test]
    fn huge_values_are_clamped_not_lost() {
        let mut r = Recorder::new(false, false, None, None).unwrap();
        r.record(&outcome(u64::MAX / 2, true), &[]);
        assert_eq!((r.requests, r.latency.len()), (1, 1));
    }
}
