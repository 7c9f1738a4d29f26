//! A rate sweep: open-loop runs at rising rates, to find the highest arrival rate a target
//! serves with p99 under 1 ms and under 10 ms and under 0.1% failures.
//!
//! Rates run in the order given. Once a rate misses the loosest limit (p99 over 10 ms or
//! too many failures), higher rates cannot pass and are skipped, so a sweep past the
//! saturation point costs one run, not the rest of the list.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{LoadConfig, LoadError, Mode, Report, run};

/// Largest failure ratio a passing rate may show.
pub const MAX_FAILURE_RATIO: f64 = 0.001;

/// The p99 limits a sweep looks for.
pub const LIMITS: [Duration; 2] = [Duration::from_millis(1), Duration::from_millis(10)];

/// The highest rate that met one limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Passing {
    /// Offered arrival rate, requests per second.
    pub rate: f64,
    /// Achieved throughput at that rate.
    pub rps: f64,
    pub p99_us: u64,
}

/// Every run of a sweep and what it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    pub url: String,
    pub stream: bool,
    /// One open-loop run per rate actually run, in order.
    pub points: Vec<Report>,
    /// Highest rate with p99 under 1 ms and failures under 0.1%.
    pub p99_under_1ms: Option<Passing>,
    /// Highest rate with p99 under 10 ms and failures under 0.1%.
    pub p99_under_10ms: Option<Passing>,
    /// Rates skipped after one missed the 10 ms limit.
    pub skipped_rates: Vec<f64>,
}

/// Whether `r` meets a p99 limit with few enough failures.
pub fn passes(r: &Report, limit: Duration) -> bool {
    let limit_us = u64::try_from(limit.as_micros()).unwrap_or(u64::MAX);
    r.requests > 0 && r.latency_us.p99 < limit_us && r.failure_ratio() < MAX_FAILURE_RATIO
}

fn best(points: &[Report], limit: Duration) -> Option<Passing> {
    points
        .iter()
        .filter(|r| passes(r, limit))
        .filter_map(|r| match r.mode {
            Mode::Open { rate, .. } => Some(Passing {
                rate,
                rps: r.rps,
                p99_us: r.latency_us.p99,
            }),
            Mode::Closed { .. } => None,
        })
        .max_by(|a, b| a.rate.total_cmp(&b.rate))
}

/// The summary of sweep `points`, with `skipped` rates not run.
pub fn summarize(url: &str, stream: bool, points: Vec<Report>, skipped: Vec<f64>) -> SweepReport {
    SweepReport {
        url: url.to_owned(),
        stream,
        p99_under_1ms: best(&points, LIMITS[0]),
        p99_under_10ms: best(&points, LIMITS[1]),
        points,
        skipped_rates: skipped,
    }
}

/// Runs `base` (its mode replaced) once per rate over `connections` connections.
pub async fn sweep(
    base: &LoadConfig,
    rates: &[f64],
    connections: usize,
) -> Result<SweepReport, LoadError> {
    let mut points = Vec::with_capacity(rates.len());
    let mut skipped = Vec::new();
    for (i, &rate) in rates.iter().enumerate() {
        let cfg = LoadConfig {
            mode: Mode::Open { rate, connections },
            ..base.clone()
        };
        let report = run(&cfg).await?;
        let saturated = !passes(&report, LIMITS[1]);
        points.push(report);
        if saturated {
            skipped = rates[i + 1..].to_vec();
            break;
        }
    }
    Ok(summarize(&base.url, base.stream, points, skipped))
}

impl std::fmt::Display for SweepReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use super::human_us;
        let kind = if self.stream { "streams" } else { "JSON" };
        writeln!(f, "{} — rate sweep, {kind}", self.url)?;
        write!(
            f,
            "{:>10}{:>12}{:>9}{:>9}{:>9}{:>9}{:>10}",
            "rate/s", "achieved/s", "p50", "p99", "p99.9", "max", "failures"
        )?;
        for p in &self.points {
            let rate = match p.mode {
                Mode::Open { rate, .. } => rate,
                Mode::Closed { .. } => 0.0,
            };
            let l = &p.latency_us;
            write!(
                f,
                "\n{rate:>10}{:>12.1}{:>9}{:>9}{:>9}{:>9}{:>9.3}%",
                p.rps,
                human_us(l.p50),
                human_us(l.p99),
                human_us(l.p99_9),
                human_us(l.max),
                p.failure_ratio() * 100.0
            )?;
        }
        if !self.skipped_rates.is_empty() {
            write!(
                f,
                "\nskipped after p99 passed 10 ms: {:?}",
                self.skipped_rates
            )?;
        }
        for (name, best) in [
            ("1 ms", &self.p99_under_1ms),
            ("10 ms", &self.p99_under_10ms),
        ] {
            match best {
                Some(b) => write!(
                    f,
                    "\nhighest rate with p99 < {name} and < 0.1% failures: {} req/s (achieved {:.1}, p99 {})",
                    b.rate,
                    b.rps,
                    human_us(b.p99_us)
                )?,
                None => write!(f, "\nno rate had p99 < {name} with < 0.1% failures")?,
            }
        }
        Ok(())
    }
}
