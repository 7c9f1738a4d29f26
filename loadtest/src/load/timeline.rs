//! Latency over time: the measured window cut into equal buckets (one second, or wider
//! for runs over ten minutes so a run never holds more than [`MAX_BUCKETS`]).
//!
//! A connection keeps the bucket it is filling and hands it over when it moves on to the
//! next one, so the shared lock is taken about once a second per connection, not per
//! request. Bucket histograms keep two significant digits: enough for a plot.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use hdrhistogram::errors::CreationError;
use serde::{Deserialize, Serialize};

use super::recorder::MAX_TRACKED_US;

/// Most buckets a run keeps.
pub const MAX_BUCKETS: u64 = 600;

/// One bucket being filled by one connection.
#[derive(Debug)]
pub(crate) struct Bucket {
    pub index: u64,
    latency: Histogram<u32>,
    failures: u64,
}

impl Bucket {
    pub(crate) fn new(index: u64) -> Result<Self, CreationError> {
        Ok(Self {
            index,
            latency: Histogram::new_with_bounds(1, MAX_TRACKED_US, 2)?,
            failures: 0,
        })
    }

    pub(crate) fn record(&mut self, us: u64, success: bool) {
        self.latency.saturating_record(us);
        if !success {
            self.failures += 1;
        }
    }

    pub(crate) fn record_error(&mut self) {
        self.failures += 1;
    }
}

/// The run's buckets.
#[derive(Debug)]
pub(crate) struct Timeline {
    origin: Instant,
    width: Duration,
    buckets: Mutex<BTreeMap<u64, Bucket>>,
}

/// One bucket of the measured window, as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimePoint {
    /// Start of the bucket, seconds into the measured window.
    pub t_s: f64,
    /// Complete responses (any status) that ended in the bucket.
    pub requests: u64,
    /// Of those, non-2xx answers, plus requests that failed outright.
    pub failures: u64,
    /// Latency of the responses that ended in the bucket; `None` when there were none.
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
    pub max_us: Option<u64>,
}

impl Timeline {
    /// Buckets from `origin` covering `window`.
    pub(crate) fn new(origin: Instant, window: Duration) -> Self {
        let secs = window.as_secs().div_ceil(MAX_BUCKETS).max(1);
        Self {
            origin,
            width: Duration::from_secs(secs),
            buckets: Mutex::new(BTreeMap::new()),
        }
    }

    /// Bucket width in seconds.
    pub(crate) fn width_secs(&self) -> u64 {
        self.width.as_secs()
    }

    /// The bucket an event at `at` falls in.
    pub(crate) fn index(&self, at: Instant) -> u64 {
        let since = at.saturating_duration_since(self.origin);
        since.as_secs() / self.width.as_secs().max(1)
    }

    /// Adds a connection's finished bucket.
    pub(crate) fn absorb(&self, b: Bucket) {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        match buckets.get_mut(&b.index) {
            Some(mine) => {
                // Same bounds on both sides: adding cannot fail.
                let _ = mine.latency.add(&b.latency);
                mine.failures += b.failures;
            }
            None => {
                buckets.insert(b.index, b);
            }
        }
    }

    /// Every bucket up to the last one with data, empty ones included.
    pub(crate) fn points(&self) -> Vec<TimePoint> {
        let buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(last) = buckets.keys().next_back().copied() else {
            return Vec::new();
        };
        let width = self.width.as_secs_f64();
        (0..=last)
            .map(|i| {
                let t_s = i as f64 * width;
                match buckets.get(&i) {
                    Some(b) if !b.latency.is_empty() => TimePoint {
                        t_s,
                        requests: b.latency.len(),
                        failures: b.failures,
                        p50_us: Some(b.latency.value_at_quantile(0.5)),
                        p99_us: Some(b.latency.value_at_quantile(0.99)),
                        max_us: Some(b.latency.max()),
                    },
                    other => TimePoint {
                        t_s,
                        requests: 0,
                        failures: other.map_or(0, |b| b.failures),
                        p50_us: None,
                        p99_us: None,
                        max_us: None,
                    },
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_widen_for_long_runs() {
        let now = Instant::now();
        assert_eq!(Timeline::new(now, Duration::from_secs(10)).width_secs(), 1);
        assert_eq!(Timeline::new(now, Duration::from_secs(600)).width_secs(), 1);
        assert_eq!(
            Timeline::new(now, Duration::from_secs(3600)).width_secs(),
            6
        );
    }

    #[test]
    fn buckets_from_several_connections_add_up_and_gaps_are_empty_points() {
        let origin = Instant::now();
        let t = Timeline::new(origin, Duration::from_secs(10));
        assert_eq!(t.index(origin + Duration::from_millis(2500)), 2);
        let mut a = Bucket::new(0).unwrap();
        a.record(100, true);
        let mut b = Bucket::new(0).unwrap();
        b.record(200, false);
        b.record_error();
        let mut c = Bucket::new(2).unwrap();
        c.record(50, true);
        t.absorb(a);
        t.absorb(b);
        t.absorb(c);
        let p = t.points();
        assert_eq!(p.len(), 3);
        assert_eq!(
            (p[0].requests, p[0].failures, p[0].max_us),
            (2, 2, Some(200))
        );
        assert_eq!((p[1].requests, p[1].p99_us), (0, None));
        assert_eq!((p[2].t_s, p[2].p50_us), (2.0, Some(50)));
    }
}
