//! A bounded load generator for chat-completion endpoints: what users run to size a
//! deployment, and what the benchmark scenarios in `loadtest/bench/` are built on.
//!
//! Two ways to load a target:
//! - [`Mode::Closed`]: `concurrency` connections, each sending its next request when the
//!   last one ended. Latency is from the actual send: the cost of one request.
//! - [`Mode::Open`]: requests arrive at a constant `rate` over a pool of `connections`,
//!   and latency is measured from each request's *intended* send time, so queueing behind
//!   a slow server is counted (no coordinated omission; see [`open`]).
//!
//! Each run has an unmeasured warm-up, then a measured window that ends at `duration` or
//! after `max_requests` measured requests, whichever comes first. Requests still in flight
//! when the window closes are abandoned and counted as `unfinished`, so a run never
//! outlives `warmup + duration`. The [`Report`] prints as a table, serializes as JSON and
//! is drawn as SVG by [`plot`]; [`sweep()`] runs a series of open-loop rates.
//!
//! Plain `http://` only: the generator targets a gateway or mock on the benchmark host,
//! where TLS would measure the wrong thing.

mod closed;
mod exchange;
mod open;
pub mod plot;
mod progress;
mod recorder;
mod report;
pub mod rss;
mod sweep;
mod target;
mod timeline;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

pub use report::{Latency, Quantile, Report, human_us};
pub use sweep::{LIMITS, MAX_FAILURE_RATIO, Passing, SweepReport, passes, summarize, sweep};
pub use timeline::{MAX_BUCKETS, TimePoint};

use recorder::Recorder;
use target::Target;
use timeline::Timeline;

/// Most connections a run opens.
pub const MAX_CONNECTIONS: usize = 10_000;

/// How requests are paced.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mode {
    /// `concurrency` connections, one request at a time each, back to back.
    Closed { concurrency: usize },
    /// `rate` requests per second arriving on schedule over a pool of `connections`.
    Open { rate: f64, connections: usize },
}

/// What to load and for how long.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Full URL of the chat-completions endpoint (`http://host:port/path`).
    pub url: String,
    /// Sent as `Authorization: Bearer <key>`.
    pub key: Option<String>,
    /// The `model` of every request.
    pub model: String,
    pub mode: Mode,
    /// Length of the measured window.
    pub duration: Duration,
    /// Stop after this many measured requests.
    pub max_requests: Option<u64>,
    /// Unmeasured time before the window.
    pub warmup: Duration,
    /// Send `"stream": true` and measure TTFT and inter-chunk gaps.
    pub stream: bool,
    /// Sent as `max_tokens`.
    pub max_tokens: Option<u64>,
    /// Print a progress line on stderr every second.
    pub progress: bool,
}

impl LoadConfig {
    /// One closed-loop connection for ten seconds after a one-second warm-up, model
    /// `mock-model`, not streaming, no progress line.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            key: None,
            model: "mock-model".to_owned(),
            mode: Mode::Closed { concurrency: 1 },
            duration: Duration::from_secs(10),
            max_requests: None,
            warmup: Duration::from_secs(1),
            stream: false,
            max_tokens: None,
            progress: false,
        }
    }
}

/// Why a run could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The URL is not a usable `http://` URL.
    #[error("invalid url {url:?}: {reason}")]
    InvalidUrl { url: String, reason: &'static str },
    /// The key cannot be sent as a header value.
    #[error("the API key is not a valid header value")]
    InvalidKey,
    /// Zero or too many connections, or a rate that is not a positive number.
    #[error("invalid mode: {0}")]
    InvalidMode(&'static str),
    /// A histogram could not be created or merged.
    #[error("histogram: {0}")]
    Histogram(String),
    /// A worker task panicked or was cancelled.
    #[error("worker failed: {0}")]
    Worker(#[from] tokio::task::JoinError),
}

/// When the run measures and when it stops.
#[derive(Debug)]
pub(crate) struct Clock {
    pub measure_from: Instant,
    pub deadline: Instant,
    pub budget: Budget,
}

/// The measured requests still allowed; unlimited when `None`.
#[derive(Debug)]
pub(crate) struct Budget(Option<AtomicU64>);

impl Budget {
    pub(crate) fn new(max: Option<u64>) -> Self {
        Self(max.map(AtomicU64::new))
    }

    /// Claims one request; `false` once the budget is spent.
    pub(crate) fn take(&self) -> bool {
        match &self.0 {
            None => true,
            Some(left) => left
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                .is_ok(),
        }
    }
}

fn check(mode: Mode) -> Result<usize, LoadError> {
    let n = match mode {
        Mode::Closed { concurrency } => concurrency,
        Mode::Open { rate, connections } => {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(LoadError::InvalidMode("rate must be a positive number"));
            }
            connections
        }
    };
    if n == 0 || n > MAX_CONNECTIONS {
        return Err(LoadError::InvalidMode("connections must be 1 to 10000"));
    }
    Ok(n)
}

fn histogram_error(e: impl std::fmt::Display) -> LoadError {
    LoadError::Histogram(e.to_string())
}

/// Runs the load described by `cfg` and reports the measured window.
pub async fn run(cfg: &LoadConfig) -> Result<Report, LoadError> {
    let connections = check(cfg.mode)?;
    let target = Arc::new(Target::new(cfg)?);
    let start = Instant::now();
    let measure_from = start + cfg.warmup;
    let clock = Arc::new(Clock {
        measure_from,
        deadline: measure_from + cfg.duration,
        budget: Budget::new(cfg.max_requests),
    });
    let timeline = Arc::new(Timeline::new(measure_from, cfg.duration));
    let counters = cfg
        .progress
        .then(|| Arc::new(progress::Progress::default()));
    let ticker = counters.as_ref().map(|c| {
        let label = format!("{}", cfg.mode);
        progress::spawn(Arc::clone(c), label, start, clock.deadline)
    });
    let open = matches!(cfg.mode, Mode::Open { .. });
    let schedule = match cfg.mode {
        Mode::Open { rate, .. } => Some(Arc::new(open::Schedule::new(start, rate))),
        Mode::Closed { .. } => None,
    };
    let mut workers = JoinSet::new();
    for _ in 0..connections {
        let rec = Recorder::new(
            open,
            cfg.stream,
            Some(Arc::clone(&timeline)),
            counters.clone(),
        )
        .map_err(histogram_error)?;
        let (target, clock) = (Arc::clone(&target), Arc::clone(&clock));
        match &schedule {
            Some(s) => workers.spawn(open::run(target, clock, Arc::clone(s), rec)),
            None => workers.spawn(closed::run(target, clock, rec)),
        };
    }
    let mut total = Recorder::new(open, cfg.stream, None, None).map_err(histogram_error)?;
    while let Some(done) = workers.join_next().await {
        total.merge(&done?).map_err(histogram_error)?;
    }
    if let Some(t) = ticker {
        t.abort();
    }
    let elapsed = Instant::now()
        .min(clock.deadline)
        .saturating_duration_since(measure_from);
    let unsent = schedule.map_or(0, |s| {
        let due = s.due_between(measure_from, clock.deadline);
        let due = cfg.max_requests.map_or(due, |m| due.min(m));
        due.saturating_sub(s.started())
    });
    Ok(report(cfg, &total, &timeline, elapsed, unsent))
}

fn report(
    cfg: &LoadConfig,
    total: &Recorder,
    timeline: &Timeline,
    elapsed: Duration,
    unsent: u64,
) -> Report {
    let secs = elapsed.as_secs_f64();
    Report {
        url: cfg.url.clone(),
        mode: cfg.mode,
        stream: cfg.stream,
        requests: total.requests,
        non_2xx: total.non_2xx,
        errors: total.errors,
        unsent,
        unfinished: total.unfinished,
        elapsed_secs: secs,
        rps: if secs > 0.0 {
            total.requests as f64 / secs
        } else {
            0.0
        },
        latency_us: Latency::of(&total.latency),
        service_us: total.service.as_ref().map(Latency::of),
        ttft_us: total.ttft.as_ref().map(Latency::of),
        inter_chunk_us: total.gaps.as_ref().map(Latency::of),
        distribution: report::distribution(&total.latency),
        timeline_bucket_secs: timeline.width_secs(),
        timeline: timeline.points(),
        rss: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_allows_exactly_max_requests() {
        let b = Budget::new(Some(2));
        assert!(b.take() && b.take());
        assert!(!b.take());
        assert!(!b.take());
        let unlimited = Budget::new(None);
        assert!((0..1000).all(|_| unlimited.take()));
    }

    #[tokio::test]
    async fn bad_modes_are_rejected() {
        let url = "http://127.0.0.1:1/v1/chat/completions";
        for mode in [
            Mode::Closed { concurrency: 0 },
            Mode::Closed {
                concurrency: MAX_CONNECTIONS + 1,
            },
            Mode::Open {
                rate: 0.0,
                connections: 1,
            },
            Mode::Open {
                rate: f64::NAN,
                connections: 1,
            },
            Mode::Open {
                rate: 10.0,
                connections: 0,
            },
        ] {
            let cfg = LoadConfig {
                mode,
                ..LoadConfig::new(url)
            };
            assert!(
                matches!(run(&cfg).await, Err(LoadError::InvalidMode(_))),
                "{mode:?}"
            );
        }
    }
}
