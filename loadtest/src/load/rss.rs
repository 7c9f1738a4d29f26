//! Resident memory of another process (the gateway under test), sampled once a second
//! from `/proc/<pid>/status` while a run goes on: the soak's evidence for "no growth".
//!
//! Linux only. The summary gives start, peak and end, and the least-squares slope over the
//! whole run and over its second half (after pools and buffers have filled), in KiB per
//! minute, so a slow leak shows as a steady positive slope rather than as noise.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Resident memory over a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RssReport {
    pub pid: u32,
    /// Seconds between samples.
    pub interval_secs: u64,
    /// VmRSS in KiB, one per interval from the start of the run.
    pub samples_kib: Vec<u64>,
    pub start_kib: u64,
    pub peak_kib: u64,
    pub end_kib: u64,
    /// Least-squares slope over all samples, KiB per minute.
    pub slope_kib_per_min: f64,
    /// The same over the second half of the samples.
    pub late_slope_kib_per_min: f64,
}

impl RssReport {
    /// The summary of `samples` taken every `interval_secs`.
    pub fn from_samples(pid: u32, interval_secs: u64, samples: Vec<u64>) -> Self {
        let per_min = 60.0 / interval_secs.max(1) as f64;
        let half = samples.len() / 2;
        Self {
            pid,
            interval_secs,
            start_kib: samples.first().copied().unwrap_or(0),
            peak_kib: samples.iter().copied().max().unwrap_or(0),
            end_kib: samples.last().copied().unwrap_or(0),
            slope_kib_per_min: slope(&samples) * per_min,
            late_slope_kib_per_min: slope(&samples[half..]) * per_min,
            samples_kib: samples,
        }
    }
}

/// Least-squares slope of `ys` against their index; 0 for fewer than two points.
pub fn slope(ys: &[u64]) -> f64 {
    let n = ys.len() as f64;
    if ys.len() < 2 {
        return 0.0;
    }
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = ys.iter().map(|&y| y as f64).sum::<f64>() / n;
    let (num, den) = ys
        .iter()
        .enumerate()
        .fold((0.0, 0.0), |(num, den), (i, &y)| {
            let dx = i as f64 - mean_x;
            (num + dx * (y as f64 - mean_y), den + dx * dx)
        });
    num / den
}

/// VmRSS of `pid` in KiB.
pub fn read_rss_kib(pid: u32) -> std::io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| std::io::Error::other("no VmRSS line"))
}

/// A running sampler; [`RssSampler::finish`] stops it and returns the summary.
#[derive(Debug)]
pub struct RssSampler {
    pid: u32,
    samples: Arc<Mutex<Vec<u64>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    /// Samples `pid` now and then every second; fails at once if it cannot be read.
    pub fn start(pid: u32) -> std::io::Result<Self> {
        let first = read_rss_kib(pid)?;
        let samples = Arc::new(Mutex::new(vec![first]));
        let sink = Arc::clone(&samples);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            loop {
                tick.tick().await;
                let Ok(kib) = read_rss_kib(pid) else { break };
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(kib);
            }
        });
        Ok(Self { pid, samples, task })
    }

    /// Stops sampling (with one last sample) and summarizes.
    pub fn finish(self) -> RssReport {
        self.task.abort();
        let mut samples =
            std::mem::take(&mut *self.samples.lock().unwrap_or_else(PoisonError::into_inner));
        if let Ok(kib) = read_rss_kib(self.pid) {
            samples.push(kib);
        }
        RssReport::from_samples(self.pid, 1, samples)
    }
}

impl fmt::Display for RssReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |k: u64| k as f64 / 1024.0;
        write!(
            f,
            "rss pid {}   start {:.1} MiB  peak {:.1} MiB  end {:.1} MiB  slope {:+.1} KiB/min (second half {:+.1})",
            self.pid,
            mib(self.start_kib),
            mib(self.peak_kib),
            mib(self.end_kib),
            self.slope_kib_per_min,
            self.late_slope_kib_per_min
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_line_is_its_gradient_and_flat_is_zero() {
        assert!((slope(&[10, 12, 14, 16]) - 2.0).abs() < 1e-9);
        assert_eq!(slope(&[5, 5, 5]), 0.0);
        assert_eq!(slope(&[5]), 0.0);
    }

    #[test]
    fn summary_reports_start_peak_end_and_per_minute_slopes() {
        let r = RssReport::from_samples(1, 1, vec![100, 300, 200, 200, 200, 200]);
        assert_eq!((r.start_kib, r.peak_kib, r.end_kib), (100, 300, 200));
        assert_eq!(r.late_slope_kib_per_min, 0.0);
        let growing = RssReport::from_samples(1, 1, (0..10).map(|i| 1000 + i).collect());
        assert!((growing.slope_kib_per_min - 60.0).abs() < 1e-9);
    }

    #[tokio::test]
    async fn samples_this_process() {
        let kib = read_rss_kib(std::process::id()).unwrap();
        assert!(kib > 0);
        let r = RssSampler::start(std::process::id()).unwrap().finish();
        assert!(r.samples_kib.len() >= 2 && r.peak_kib > 0, "{r:?}");
        assert!(RssSampler::start(u32::MAX).is_err());
    }
}
