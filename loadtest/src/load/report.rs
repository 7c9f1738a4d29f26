//! The result of a load run: one value that prints as a table or serializes as JSON, and
//! from which the plots are drawn.
//!
//! Everything a plot needs (the latency distribution, the per-second timeline) is in the
//! JSON, so plots and docs can be redrawn from a saved run without re-running it.

use std::fmt;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::Mode;
use super::rss::RssReport;
use super::timeline::TimePoint;

/// The result of a load run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The URL loaded.
    pub url: String,
    /// Open (constant arrival rate) or closed (fixed concurrency) loop.
    pub mode: Mode,
    /// Requests asked for a stream.
    pub stream: bool,
    /// Responses read to their end, whatever their status.
    pub requests: u64,
    /// Of `requests`, those whose status was not 2xx.
    pub non_2xx: u64,
    /// Requests with no complete response (connect or I/O failure, stream cut).
    pub errors: u64,
    /// Open loop: requests due in the window that were never sent (the queue left when it
    /// closed). Always 0 in closed loop.
    pub unsent: u64,
    /// Requests sent in the window and still unanswered when it closed (not failures).
    pub unfinished: u64,
    /// Length of the measured window.
    pub elapsed_secs: f64,
    /// `requests / elapsed_secs`: achieved throughput.
    pub rps: f64,
    /// Full response (for streams: time to last byte). Open loop: from the intended send
    /// time, queueing included (from the timer's wake-up when a connection was idle at its
    /// slot); closed loop: from the actual send.
    pub latency_us: Latency,
    /// Open loop only: from the actual send to the last byte (latency without queueing).
    pub service_us: Option<Latency>,
    /// Streams only: to the first body byte, from the same origin as `latency_us`.
    pub ttft_us: Option<Latency>,
    /// Streams only: gaps between body chunks.
    pub inter_chunk_us: Option<Latency>,
    /// The latency distribution as (quantile, latency) points, for plotting.
    pub distribution: Vec<Quantile>,
    /// Width of one timeline bucket in seconds.
    pub timeline_bucket_secs: u64,
    /// Latency and throughput over the measured window.
    pub timeline: Vec<TimePoint>,
    /// Resident memory of a watched process, when one was named.
    pub rss: Option<RssReport>,
}

/// Latency percentiles in microseconds (0 when nothing was recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p99_9: u64,
    pub max: u64,
}

impl Latency {
    pub(crate) fn of(h: &Histogram<u32>) -> Self {
        Self {
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p99_9: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

/// One point of a latency distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quantile {
    pub quantile: f64,
    pub latency_us: u64,
}

/// Points at 0, 0.5, 0.75, 0.9, … (ten per decade of `1 / (1 - q)`), up to the last
/// quantile the sample count can tell apart, then the maximum.
pub(crate) fn distribution(h: &Histogram<u32>) -> Vec<Quantile> {
    let n = h.len();
    if n == 0 {
        return Vec::new();
    }
    let top = 1.0 - 1.0 / n as f64;
    let mut out: Vec<Quantile> = (0..=60)
        .map(|i| 1.0 - 10f64.powf(-f64::from(i) / 10.0))
        .take_while(|q| *q <= top)
        .map(|q| Quantile {
            quantile: q,
            latency_us: h.value_at_quantile(q),
        })
        .collect();
    out.push(Quantile {
        quantile: 1.0,
        latency_us: h.max(),
    });
    out
}

impl Report {
    /// Failed requests over all the window owed: non-2xx answers, errors and unsent
    /// requests. Unfinished ones are left out of both sides: every connection has one in
    /// flight when the window closes, and cutting it off says nothing about the target (a
    /// target that stalls shows in latency, errors and `unsent`).
    pub fn failure_ratio(&self) -> f64 {
        let owed = self.requests + self.errors + self.unsent;
        if owed == 0 {
            return 0.0;
        }
        (self.non_2xx + self.errors + self.unsent) as f64 / owed as f64
    }
}

/// `850µs`, `1.23ms`, `2.50s`.
pub fn human_us(us: u64) -> String {
    match us {
        0..1_000 => format!("{us}µs"),
        1_000..1_000_000 => format!("{:.2}ms", us as f64 / 1e3),
        _ => format!("{:.2}s", us as f64 / 1e6),
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Closed { concurrency } => write!(f, "closed loop, concurrency {concurrency}"),
            Mode::Open { rate, connections } => {
                write!(f, "open loop, {rate} req/s over {connections} connections")
            }
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.stream { "streams" } else { "JSON" };
        writeln!(
            f,
            "{} — {}, {kind}, {:.2}s",
            self.url, self.mode, self.elapsed_secs
        )?;
        writeln!(
            f,
            "requests   {} in {:.2}s = {:.1} req/s   non-2xx {}  errors {}  unsent {}  unfinished {}",
            self.requests,
            self.elapsed_secs,
            self.rps,
            self.non_2xx,
            self.errors,
            self.unsent,
            self.unfinished,
        )?;
        write!(
            f,
            "{:<18}{:>9}{:>9}{:>9}{:>9}{:>9}",
            "", "p50", "p90", "p99", "p99.9", "max"
        )?;
        let latency_name = if self.stream {
            "time to last byte"
        } else {
            "latency"
        };
        let rows = [
            (latency_name, Some(&self.latency_us)),
            ("service time", self.service_us.as_ref()),
            ("time to 1st token", self.ttft_us.as_ref()),
            ("chunk gap", self.inter_chunk_us.as_ref()),
        ];
        for (name, l) in rows {
            let Some(l) = l else { continue };
            write!(
                f,
                "\n{name:<18}{:>9}{:>9}{:>9}{:>9}{:>9}",
                human_us(l.p50),
                human_us(l.p90),
                human_us(l.p99),
                human_us(l.p99_9),
                human_us(l.max)
            )?;
        }
        if let Some(r) = &self.rss {
            write!(f, "\n{r}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::recorder::histogram;

    #[test]
    fn percentiles_follow_the_recorded_distribution() {
        let mut h = histogram().unwrap();
        for ms in 1..=1000 {
            h.record(ms * 1000).unwrap();
        }
        let l = Latency::of(&h);
        let close = |a: u64, e: u64| a.abs_diff(e) * 1000 <= e;
        assert!(close(l.p50, 500_000) && close(l.p90, 900_000), "{l:?}");
        assert!(close(l.p99, 990_000) && close(l.p99_9, 999_000), "{l:?}");
        assert!(close(l.max, 1_000_000), "{l:?}");
    }

    #[test]
    fn distribution_rises_to_the_max_and_stops_where_samples_run_out() {
        let mut h = histogram().unwrap();
        for us in 1..=100 {
            h.record(us).unwrap();
        }
        let d = distribution(&h);
        assert_eq!(d[0].quantile, 0.0);
        assert!(d.windows(2).all(|w| w[0].quantile < w[1].quantile));
        assert!(d.windows(2).all(|w| w[0].latency_us <= w[1].latency_us));
        // 100 samples tell quantiles apart up to 0.99; then the max.
        assert!(d[d.len() - 2].quantile <= 0.99);
        assert_eq!(
            d.last().map(|q| (q.quantile, q.latency_us)),
            Some((1.0, 100))
        );
        assert!(distribution(&histogram().unwrap()).is_empty());
    }

    #[test]
    fn human_units_switch_at_thousands() {
        assert_eq!(human_us(999), "999µs");
        assert_eq!(human_us(1_234), "1.23ms");
        assert_eq!(human_us(2_500_000), "2.50s");
    }
}
