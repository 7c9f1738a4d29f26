//! The plots of a run, drawn from its report and written as SVG next to its JSON.
//!
//! For a run `out/name.json`: `name.latency-over-time.svg` (p50, p99 and max per timeline
//! bucket), `name.latency-distribution.svg` (latency against percentile on the usual
//! `1 / (1 - q)` axis, with TTFT and service time where measured) and, with a watched
//! process, `name.rss.svg`. For a rate sweep: `name.throughput-vs-p99.svg` and one
//! distribution series per rate.

mod chart;

use std::path::{Path, PathBuf};

pub use chart::{Axis, Chart, Series, escape};

use super::report::{Latency, Quantile, Report};
use super::rss::RssReport;
use super::sweep::SweepReport;

/// The x position of quantile `q` on a percentile axis: `log10(1 / (1 - q))`, with `q = 1`
/// (the maximum) placed at `cap`.
fn percentile_x(q: f64, cap: f64) -> f64 {
    if q >= 1.0 {
        cap
    } else {
        (1.0 / (1.0 - q)).log10().min(cap)
    }
}

/// Ticks at 0%, 90%, 99%, … up to `decades` nines, and `max` half a decade further.
fn percentile_axis(decades: u32) -> Axis {
    let labels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"];
    let mut ticks: Vec<(f64, String)> = (0..=decades.min(6))
        .map(|d| (f64::from(d), labels[d as usize].to_owned()))
        .collect();
    ticks.push((max_x(decades), "max".to_owned()));
    Axis {
        label: "percentile".into(),
        log: false,
        ticks: Some(ticks),
    }
}

/// Where the maximum sits on a percentile axis of `decades` decades.
fn max_x(decades: u32) -> f64 {
    f64::from(decades) + 0.5
}

/// Decades a distribution spans on the percentile axis (at least 2).
fn decades(d: &[Quantile]) -> u32 {
    let finite = d
        .iter()
        .filter(|q| q.quantile < 1.0)
        .map(|q| percentile_x(q.quantile, 9.0));
    (finite.fold(0.0, f64::max).ceil() as u32).clamp(2, 6)
}

fn distribution_series(name: &str, d: &[Quantile], cap: f64) -> Series {
    Series::new(
        name,
        d.iter()
            .map(|q| (percentile_x(q.quantile, cap), q.latency_us as f64))
            .collect(),
    )
}

fn summary_series(name: &str, l: &Latency, cap: f64) -> Series {
    let qs = [
        (0.5, l.p50),
        (0.9, l.p90),
        (0.99, l.p99),
        (0.999, l.p99_9),
        (1.0, l.max),
    ];
    let mut s = Series::new(
        name,
        qs.iter()
            .map(|(q, v)| (percentile_x(*q, cap), *v as f64))
            .filter(|(x, _)| *x <= cap)
            .collect(),
    );
    s.markers = true;
    s
}

/// p50, p99 and max per timeline bucket.
pub fn latency_over_time(r: &Report) -> Chart {
    let half = r.timeline_bucket_secs as f64 / 2.0;
    let pick = |name: &str, f: fn(&super::TimePoint) -> Option<u64>| {
        Series::new(
            name,
            r.timeline
                .iter()
                .filter_map(|p| f(p).map(|v| (p.t_s + half, v as f64)))
                .collect(),
        )
    };
    Chart {
        title: format!("Latency over time — {}", r.mode),
        x: Axis::linear("seconds into the measured window"),
        y: Axis::log("latency (µs)"),
        series: vec![
            pick("p50", |p| p.p50_us),
            pick("p99", |p| p.p99_us),
            pick("max", |p| p.max_us),
        ],
    }
}

/// Latency against percentile, plus TTFT and service time where measured.
pub fn latency_distribution(r: &Report) -> Chart {
    let decades = decades(&r.distribution);
    let cap = max_x(decades);
    let mut series = vec![distribution_series("latency", &r.distribution, cap)];
    if let Some(s) = &r.service_us {
        series.push(summary_series("service time", s, cap));
    }
    if let Some(t) = &r.ttft_us {
        series.push(summary_series("time to first token", t, cap));
    }
    Chart {
        title: format!("Latency distribution — {}", r.mode),
        x: percentile_axis(decades),
        y: Axis::log("latency (µs)"),
        series,
    }
}

/// Resident memory of the watched process over the run.
pub fn rss(r: &RssReport) -> Chart {
    let step = r.interval_secs as f64;
    Chart {
        title: format!("Resident memory of pid {}", r.pid),
        x: Axis::linear("seconds"),
        y: Axis::linear("RSS (MiB)"),
        series: vec![Series::new(
            "rss",
            r.samples_kib
                .iter()
                .enumerate()
                .map(|(i, k)| (i as f64 * step, *k as f64 / 1024.0))
                .collect(),
        )],
    }
}

/// Achieved throughput against p99 (and p50) across a sweep, with the 1 ms and 10 ms lines.
pub fn throughput_vs_p99(s: &SweepReport) -> Chart {
    let at = |f: fn(&Latency) -> u64| -> Vec<(f64, f64)> {
        s.points
            .iter()
            .map(|p| (p.rps, f(&p.latency_us) as f64))
            .collect()
    };
    let mut p99 = Series::new("p99", at(|l| l.p99));
    p99.markers = true;
    let mut p50 = Series::new("p50", at(|l| l.p50));
    p50.markers = true;
    let xmax = s.points.iter().map(|p| p.rps).fold(0.0, f64::max);
    let line = |name: &str, us: f64| Series::new(name, vec![(0.0, us), (xmax, us)]);
    Chart {
        title: "Throughput vs latency across a rate sweep".into(),
        x: Axis::linear("achieved throughput (req/s)"),
        y: Axis::log("latency (µs)"),
        series: vec![p99, p50, line("1 ms", 1e3), line("10 ms", 1e4)],
    }
}

/// One distribution series per sweep rate.
pub fn sweep_distributions(s: &SweepReport) -> Chart {
    let decades = s
        .points
        .iter()
        .map(|p| decades(&p.distribution))
        .max()
        .unwrap_or(2);
    let cap = f64::from(decades);
    Chart {
        title: "Latency distribution per offered rate".into(),
        x: percentile_axis(decades),
        y: Axis::log("latency (µs)"),
        series: s
            .points
            .iter()
            .map(|p| {
                let name = match p.mode {
                    super::Mode::Open { rate, .. } => format!("{rate} req/s"),
                    super::Mode::Closed { concurrency } => format!("c={concurrency}"),
                };
                distribution_series(&name, &p.distribution, cap)
            })
            .collect(),
    }
}

/// `dir/name.json` → `dir/name.<suffix>.svg`.
pub fn beside(json: &Path, suffix: &str) -> PathBuf {
    let stem = json
        .file_stem()
        .map_or_else(|| "run".into(), |s| s.to_string_lossy());
    json.with_file_name(format!("{stem}.{suffix}.svg"))
}

/// Writes a run's plots next to `json`; returns their paths.
pub fn write_run(json: &Path, r: &Report) -> std::io::Result<Vec<PathBuf>> {
    let mut charts = vec![
        ("latency-over-time", latency_over_time(r)),
        ("latency-distribution", latency_distribution(r)),
    ];
    if let Some(m) = &r.rss {
        charts.push(("rss", rss(m)));
    }
    write_all(json, charts)
}

/// Writes a sweep's plots next to `json`; returns their paths.
pub fn write_sweep(json: &Path, s: &SweepReport) -> std::io::Result<Vec<PathBuf>> {
    write_all(
        json,
        vec![
            ("throughput-vs-p99", throughput_vs_p99(s)),
            ("latency-distribution", sweep_distributions(s)),
        ],
    )
}

fn write_all(json: &Path, charts: Vec<(&str, Chart)>) -> std::io::Result<Vec<PathBuf>> {
    charts
        .into_iter()
        .map(|(suffix, chart)| {
            let path = beside(json, suffix);
            std::fs::write(&path, chart.render())?;
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_sit_one_decade_apart() {
        assert_eq!(percentile_x(0.0, 5.0), 0.0);
        assert!((percentile_x(0.9, 5.0) - 1.0).abs() < 1e-9);
        assert!((percentile_x(0.999, 5.0) - 3.0).abs() < 1e-9);
        assert_eq!(percentile_x(1.0, 5.0), 5.0);
    }

    #[test]
    fn the_maximum_has_its_own_tick_past_the_last_decade() {
        let ticks = percentile_axis(3).ticks.unwrap();
        let labels: Vec<&str> = ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%", "max"]);
        assert_eq!(ticks[4].0, 3.5);
    }

    #[test]
    fn plot_files_sit_beside_the_json() {
        let p = beside(Path::new("/tmp/x/overhead.json"), "rss");
        assert_eq!(p, Path::new("/tmp/x/overhead.rss.svg"));
    }
}
