//! What a load run leaves behind: the JSON report's shape, the SVG plots written beside it
//! (well-formed XML with the expected series), a rate sweep's summary and plots, and the
//! `portcullis-load` binary writing all of it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use portcullis_loadtest::load::{self, LoadConfig, Mode, Report, plot};
use portcullis_loadtest::{Behaviour, MockOptions, MockUpstream};
use serde_json::Value;

async fn mock(default: Behaviour) -> MockUpstream {
    MockUpstream::start(MockOptions {
        default,
        record: false,
        ..MockOptions::default()
    })
    .await
    .unwrap()
}

fn url(mock: &MockUpstream) -> String {
    format!("{}/chat/completions", mock.base_url())
}

async fn streaming_open_run(mock: &MockUpstream) -> Report {
    let cfg = LoadConfig {
        mode: Mode::Open {
            rate: 100.0,
            connections: 4,
        },
        duration: Duration::from_millis(400),
        warmup: Duration::ZERO,
        stream: true,
        ..LoadConfig::new(url(mock))
    };
    tokio::time::timeout(Duration::from_secs(10), load::run(&cfg))
        .await
        .unwrap()
        .unwrap()
}

/// Parses an SVG file and returns the names of its series (polylines' `data-series`).
fn series_of(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("{} is not well-formed XML: {e}", path.display()));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    root.descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .map(|n| {
            let name = n.attribute("data-series").unwrap().to_owned();
            let points = n.attribute("points").unwrap();
            for xy in points.split_whitespace() {
                let (x, y) = xy.split_once(',').unwrap();
                assert!(x.parse::<f64>().unwrap().is_finite(), "{name}: {xy}");
                assert!(y.parse::<f64>().unwrap().is_finite(), "{name}: {xy}");
            }
            name
        })
        .collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn json_report_has_every_figure_and_round_trips() {
    let mock = mock(Behaviour {
        chunks: Some(3),
        ..Behaviour::default()
    })
    .await;
    let report = streaming_open_run(&mock).await;
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["mode"],
        serde_json::json!({"kind": "open", "rate": 100.0, "connections": 4})
    );
    assert_eq!(json["stream"], true);
    assert_eq!(json["url"], url(&mock));
    for key in ["requests", "non_2xx", "errors", "unsent", "unfinished"] {
        assert!(json[key].is_u64(), "{key}: {json}");
    }
    assert!(json["rps"].as_f64().unwrap() > 0.0);
    for figure in ["latency_us", "service_us", "ttft_us", "inter_chunk_us"] {
        for p in ["p50", "p90", "p99", "p99_9", "max"] {
            assert!(json[figure][p].is_u64(), "{figure}.{p}: {json}");
        }
    }
    let dist = json["distribution"].as_array().unwrap();
    assert_eq!(dist[0]["quantile"], 0.0);
    assert_eq!(dist.last().unwrap()["quantile"], 1.0);
    assert!(dist.iter().all(|q| q["latency_us"].is_u64()));
    let timeline = json["timeline"].as_array().unwrap();
    assert!(!timeline.is_empty());
    assert_eq!(json["timeline_bucket_secs"], 1);
    let first = &timeline[0];
    for key in ["t_s", "requests", "failures", "p50_us", "p99_us", "max_us"] {
        assert!(!first[key].is_null(), "{key}: {first}");
    }
    let total: u64 = timeline
        .iter()
        .map(|p| p["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(total, report.requests);
    assert!(json["rss"].is_null());
    let back: Report = serde_json::from_value(json).unwrap();
    assert_eq!(back, report);

    let table = report.to_string();
    for row in [
        "time to last byte",
        "service time",
        "time to 1st token",
        "chunk gap",
        "p99.9",
    ] {
        assert!(table.contains(row), "{row}: {table}");
    }
}

#[tokio::test]
async fn plots_beside_the_json_are_well_formed_svg_with_the_expected_series() {
    let mock = mock(Behaviour {
        chunks: Some(3),
        ..Behaviour::default()
    })
    .await;
    let report = streaming_open_run(&mock).await;
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    let written = plot::write_run(&json, &report).unwrap();
    assert_eq!(written.len(), 2);
    assert_eq!(
        series_of(&dir.path().join("run.latency-over-time.svg")),
        names(&["p50", "p99", "max"])
    );
    assert_eq!(
        series_of(&dir.path().join("run.latency-distribution.svg")),
        names(&["latency", "service time", "time to first token"])
    );
}

#[tokio::test]
async fn a_sweep_stops_at_the_first_saturated_rate_and_plots_throughput_against_p99() {
    // 15 ms a request: no rate can reach p99 under 10 ms.
    let mock = mock(Behaviour {
        latency: Duration::from_millis(15),
        ..Behaviour::default()
    })
    .await;
    let base = LoadConfig {
        duration: Duration::from_millis(300),
        warmup: Duration::ZERO,
        ..LoadConfig::new(url(&mock))
    };
    let sweep = tokio::time::timeout(
        Duration::from_secs(10),
        load::sweep(&base, &[20.0, 200.0, 400.0], 2),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(sweep.points.len(), 1);
    assert_eq!(sweep.skipped_rates, [200.0, 400.0]);
    assert_eq!((sweep.p99_under_1ms, sweep.p99_under_10ms), (None, None));
    assert!(
        sweep.to_string().contains("no rate had p99 < 10 ms"),
        "{sweep}"
    );

    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("sweep.json");
    plot::write_sweep(&json, &sweep).unwrap();
    assert_eq!(
        series_of(&dir.path().join("sweep.throughput-vs-p99.svg")),
        names(&["p99", "p50", "1 ms", "10 ms"])
    );
    assert_eq!(
        series_of(&dir.path().join("sweep.latency-distribution.svg")),
        names(&["20 req/s"])
    );
}

#[tokio::test]
async fn a_sweep_reports_the_highest_rate_under_each_limit_with_few_failures() {
    let mock = mock(Behaviour::default()).await;
    let real = streaming_open_run(&mock).await;
    // Figures set by hand: how fast this machine is must not decide the test.
    let at = |rate: f64, p99: u64, unsent: u64| Report {
        mode: Mode::Open {
            rate,
            connections: 4,
        },
        requests: 1000 - unsent,
        non_2xx: 0,
        errors: 0,
        unsent,
        unfinished: 0,
        rps: rate,
        latency_us: load::Latency {
            p99,
            ..real.latency_us
        },
        ..real.clone()
    };
    let points = vec![
        at(100.0, 400, 0),
        at(200.0, 900, 0),
        // Requests cut off by the window's end are not failures.
        Report {
            unfinished: 500,
            ..at(250.0, 950, 0)
        },
        at(300.0, 800, 2),
        at(400.0, 9_000, 0),
        at(500.0, 9_500, 1),
        at(600.0, 30_000, 0),
    ];
    let sweep = load::summarize("http://x/v1", false, points, vec![700.0]);
    let best = |p: Option<load::Passing>| p.map(|p| (p.rate, p.p99_us));
    // Of 1000 requests owed, 300/s lost 0.2% and 500/s exactly 0.1%: neither passes.
    assert_eq!(best(sweep.p99_under_1ms), Some((250.0, 950)));
    assert_eq!(best(sweep.p99_under_10ms), Some((400.0, 9_000)));
    let json = serde_json::to_value(&sweep).unwrap();
    assert_eq!(json["points"].as_array().unwrap().len(), 7);
    assert_eq!(json["p99_under_10ms"]["rate"], 400.0);
    assert_eq!(json["skipped_rates"], serde_json::json!([700.0]));
    let table = sweep.to_string();
    assert!(
        table.contains("p99 < 1 ms and < 0.1% failures: 250 req/s"),
        "{table}"
    );
}

#[tokio::test]
async fn the_binary_writes_json_and_plots_and_watches_a_pid() {
    let mock = mock(Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested/run.json");
    let args = vec![
        "--url".to_owned(),
        url(&mock),
        "--rate".into(),
        "50".into(),
        "--connections".into(),
        "2".into(),
        "--duration-secs".into(),
        "1.2".into(),
        "--warmup-secs".into(),
        "0".into(),
        "--json".into(),
        "--quiet".into(),
        "--watch-pid".into(),
        std::process::id().to_string(),
        "--out".into(),
        out.display().to_string(),
    ];
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_portcullis-load"))
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let saved: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(printed, saved);
    assert_eq!(saved["mode"]["kind"], "open");
    assert!(saved["requests"].as_u64().unwrap() >= 40, "{saved}");
    assert!(saved["rss"]["peak_kib"].as_u64().unwrap() > 0, "{saved}");
    assert_eq!(
        series_of(&dir.path().join("nested/run.rss.svg")),
        names(&["rss"])
    );
    assert_eq!(
        series_of(&dir.path().join("nested/run.latency-over-time.svg")),
        names(&["p50", "p99", "max"])
    );
}
