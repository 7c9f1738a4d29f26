//! Measurements of a load run and the report made from them.
//!
//! Each worker fills its own [`Recorder`] (no sharing on the hot path); the
//! run merges them and turns the sum into a [`Report`], which prints as text
//! or serializes as one JSON object. Times are whole microseconds in HDR
//! histograms with three significant digits, from 1 µs to one hour.

use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use hdrhistogram::errors::{AdditionError, CreationError};
use serde::Serialize;

/// Largest time a histogram tracks exactly; longer values are clamped.
const MAX_TRACKED_US: u64 = 3_600_000_000;

/// Counts and histograms of one worker, or of a whole run once merged.
#[derive(Debug, Clone)]
pub struct Recorder {
    latency: Histogram<u64>,
    ttft: Histogram<u64>,
    gaps: Histogram<u64>,
    requests: u64,
    non_2xx: u64,
    errors: u64,
}

fn histogram() -> Result<Histogram<u64>, CreationError> {
    Histogram::new_with_bounds(1, MAX_TRACKED_US, 3)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Result<Self, CreationError> {
        Ok(Self {
            latency: histogram()?,
            ttft: histogram()?,
            gaps: histogram()?,
            requests: 0,
            non_2xx: 0,
            errors: 0,
        })
    }

    /// A response that was read to its end, `success` if its status was 2xx.
    pub fn record_response(&mut self, success: bool, latency: Duration) {
        self.requests += 1;
        if !success {
            self.non_2xx += 1;
        }
        self.latency.saturating_record(micros(latency));
    }

    /// Time from sending a request to the first body byte of a stream.
    pub fn record_ttft(&mut self, d: Duration) {
        self.ttft.saturating_record(micros(d));
    }

    /// Time between two body chunks of a stream.
    pub fn record_gap(&mut self, d: Duration) {
        self.gaps.saturating_record(micros(d));
    }

    /// A request that got no complete response (connect or I/O failure, or a
    /// stream cut before `[DONE]`).
    pub fn record_error(&mut self) {
        self.errors += 1;
    }

    /// Adds `other`'s counts and samples to this one.
    pub fn merge(&mut self, other: &Recorder) -> Result<(), AdditionError> {
        self.latency.add(&other.latency)?;
        self.ttft.add(&other.ttft)?;
        self.gaps.add(&other.gaps)?;
        self.requests += other.requests;
        self.non_2xx += other.non_2xx;
        self.errors += other.errors;
        Ok(())
    }

    /// The report for a measured window of `elapsed`; stream figures are
    /// included when `stream` is set.
    pub fn report(&self, elapsed: Duration, stream: bool) -> Report {
        let secs = elapsed.as_secs_f64();
        Report {
            requests: self.requests,
            non_2xx: self.non_2xx,
            errors: self.errors,
            elapsed_secs: secs,
            rps: if secs > 0.0 {
                self.requests as f64 / secs
            } else {
                0.0
            },
            latency_us: Latency {
                p50: self.latency.value_at_quantile(0.5),
                p90: self.latency.value_at_quantile(0.9),
                p99: self.latency.value_at_quantile(0.99),
                p99_9: self.latency.value_at_quantile(0.999),
                max: self.latency.max(),
            },
            ttft_us: stream.then(|| Spread::of(&self.ttft)),
            inter_chunk_us: stream.then(|| Spread::of(&self.gaps)),
        }
    }
}

/// The result of a load run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Responses read to their end, whatever their status.
    pub requests: u64,
    /// Of `requests`, those whose status was not 2xx.
    pub non_2xx: u64,
    /// Requests with no complete response.
    pub errors: u64,
    /// Length of the measured window.
    pub elapsed_secs: f64,
    /// `requests / elapsed_secs`.
    pub rps: f64,
    /// Full-response latency.
    pub latency_us: Latency,
    /// Streams only: time to the first body byte.
    pub ttft_us: Option<Spread>,
    /// Streams only: gaps between body chunks.
    pub inter_chunk_us: Option<Spread>,
}

/// Latency percentiles in microseconds (0 when nothing was recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p99_9: u64,
    pub max: u64,
}

/// Median and tail in microseconds (0 when nothing was recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Spread {
    pub p50: u64,
    pub p99: u64,
}

impl Spread {
    fn of(h: &Histogram<u64>) -> Self {
        Self {
            p50: h.value_at_quantile(0.5),
            p99: h.value_at_quantile(0.99),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "requests      {} (non-2xx {}, errors {}) in {:.2}s = {:.1} req/s",
            self.requests, self.non_2xx, self.errors, self.elapsed_secs, self.rps
        )?;
        let l = &self.latency_us;
        write!(
            f,
            "latency us    p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
            l.p50, l.p90, l.p99, l.p99_9, l.max
        )?;
        if let Some(t) = &self.ttft_us {
            write!(f, "\nttft us       p50 {}  p99 {}", t.p50, t.p99)?;
        }
        if let Some(g) = &self.inter_chunk_us {
            write!(f, "\nchunk gap us  p50 {}  p99 {}", g.p50, g.p99)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HDR with 3 significant digits is within 0.1% of the true value.
    fn close(actual: u64, expected: u64) -> bool {
        actual.abs_diff(expected) * 1000 <= expected
    }

    #[test]
    fn percentiles_follow_the_recorded_distribution() {
        let mut r = Recorder::new().unwrap();
        for ms in 1..=1000 {
            r.record_response(true, Duration::from_millis(ms));
        }
        let rep = r.report(Duration::from_secs(2), false);
        assert_eq!(rep.requests, 1000);
        assert_eq!(rep.rps, 500.0);
        assert!(close(rep.latency_us.p50, 500_000), "{:?}", rep.latency_us);
        assert!(close(rep.latency_us.p90, 900_000), "{:?}", rep.latency_us);
        assert!(close(rep.latency_us.p99, 990_000), "{:?}", rep.latency_us);
        assert!(close(rep.latency_us.p99_9, 999_000), "{:?}", rep.latency_us);
        assert!(close(rep.latency_us.max, 1_000_000), "{:?}", rep.latency_us);
        assert_eq!(rep.ttft_us, None);
        assert_eq!(rep.inter_chunk_us, None);
    }

    #[test]
    fn merge_adds_counts_and_samples() {
        let mut a = Recorder::new().unwrap();
        let mut b = Recorder::new().unwrap();
        a.record_response(true, Duration::from_micros(100));
        b.record_response(false, Duration::from_micros(300));
        b.record_error();
        b.record_ttft(Duration::from_micros(40));
        b.record_gap(Duration::from_micros(7));
        a.merge(&b).unwrap();
        let rep = a.report(Duration::from_secs(1), true);
        assert_eq!((rep.requests, rep.non_2xx, rep.errors), (2, 1, 1));
        assert_eq!(rep.latency_us.max, 300);
        assert_eq!(rep.ttft_us, Some(Spread { p50: 40, p99: 40 }));
        assert_eq!(rep.inter_chunk_us, Some(Spread { p50: 7, p99: 7 }));
    }

    #[test]
    fn empty_run_reports_zeros_not_nan() {
        let rep = Recorder::new().unwrap().report(Duration::ZERO, true);
        assert_eq!(rep.rps, 0.0);
        assert_eq!(rep.latency_us.p99, 0);
        assert_eq!(rep.ttft_us, Some(Spread { p50: 0, p99: 0 }));
    }

    #[test]
    fn huge_values_are_clamped_not_lost() {
        let mut r = Recorder::new().unwrap();
        r.record_response(true, Duration::from_secs(100_000));
        assert_eq!(r.report(Duration::from_secs(1), false).requests, 1);
    }

    #[test]
    fn report_prints_text_and_json() {
        let mut r = Recorder::new().unwrap();
        r.record_response(true, Duration::from_micros(250));
        let rep = r.report(Duration::from_secs(1), true);
        let text = rep.to_string();
        assert!(text.contains("1.0 req/s"), "{text}");
        assert!(text.contains("p99.9 250"), "{text}");
        assert!(text.contains("ttft us"), "{text}");
        let json = serde_json::to_value(&rep).unwrap();
        assert_eq!(json["latency_us"]["p99_9"], 250);
        assert_eq!(json["requests"], 1);
        let plain = serde_json::to_value(r.report(Duration::from_secs(1), false)).unwrap();
        assert!(plain["ttft_us"].is_null());
    }
}
