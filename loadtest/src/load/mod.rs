//! A bounded load generator for chat-completion endpoints.
//!
//! [`run`] starts `concurrency` workers; each keeps one keep-alive HTTP/1.1
//! connection (reconnecting only after a failure) and sends one request at a
//! time. The run has a warm-up phase whose requests are not measured, then a
//! measured window that ends at `duration` or after `max_requests` measured
//! requests, whichever comes first. Requests still in flight when the window
//! closes are abandoned and not counted, so a run never outlives
//! `warmup + duration`.
//!
//! Plain `http://` only: the generator targets a gateway or mock on the
//! benchmark host, where TLS would measure the wrong thing.

mod report;
mod target;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

pub use report::{Latency, Recorder, Report, Spread};

use target::Target;

/// What to load and for how long.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Full URL of the chat-completions endpoint (`http://host:port/path`).
    pub url: String,
    /// Sent as `Authorization: Bearer <key>`.
    pub key: Option<String>,
    /// The `model` of every request.
    pub model: String,
    /// Concurrent workers, one connection each.
    pub concurrency: usize,
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
}

impl LoadConfig {
    /// One worker for ten seconds after a one-second warm-up, model
    /// `mock-model`, not streaming.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            key: None,
            model: "mock-model".to_owned(),
            concurrency: 1,
            duration: Duration::from_secs(10),
            max_requests: None,
            warmup: Duration::from_secs(1),
            stream: false,
            max_tokens: None,
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
    /// `concurrency` was zero.
    #[error("concurrency must be at least 1")]
    NoWorkers,
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

/// Runs the load described by `cfg` and reports the measured window.
pub async fn run(cfg: &LoadConfig) -> Result<Report, LoadError> {
    if cfg.concurrency == 0 {
        return Err(LoadError::NoWorkers);
    }
    let target = Arc::new(Target::new(cfg)?);
    let start = Instant::now();
    let measure_from = start + cfg.warmup;
    let clock = Arc::new(Clock {
        measure_from,
        deadline: measure_from + cfg.duration,
        budget: Budget::new(cfg.max_requests),
    });

    let mut workers = JoinSet::new();
    for _ in 0..cfg.concurrency {
        let rec = Recorder::new().map_err(|e| LoadError::Histogram(e.to_string()))?;
        workers.spawn(worker::run(Arc::clone(&target), Arc::clone(&clock), rec));
    }
    let mut total = Recorder::new().map_err(|e| LoadError::Histogram(e.to_string()))?;
    while let Some(done) = workers.join_next().await {
        total
            .merge(&done?)
            .map_err(|e| LoadError::Histogram(e.to_string()))?;
    }
    let elapsed = Instant::now().saturating_duration_since(measure_from);
    Ok(total.report(elapsed, cfg.stream))
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
    async fn zero_concurrency_is_rejected() {
        let cfg = LoadConfig {
            concurrency: 0,
            ..LoadConfig::new("http://127.0.0.1:1/v1/chat/completions")
        };
        assert!(matches!(run(&cfg).await, Err(LoadError::NoWorkers)));
    }
}
