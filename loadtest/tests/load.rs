//! The closed-loop load generator against the mock upstream: bounded by request count and
//! by time, counting non-2xx answers, and measuring streams.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::time::Duration;

use portcullis_loadtest::load::{self, LoadConfig, Mode};
use portcullis_loadtest::{Behaviour, MockOptions, MockUpstream};

async fn mock(default: Behaviour) -> MockUpstream {
    MockUpstream::start(MockOptions {
        default,
        record: false,
        ..MockOptions::default()
    })
    .await
    .unwrap()
}

fn config(mock: &MockUpstream, requests: u64) -> LoadConfig {
    LoadConfig {
        mode: Mode::Closed { concurrency: 4 },
        duration: Duration::from_secs(30),
        max_requests: Some(requests),
        warmup: Duration::ZERO,
        ..LoadConfig::new(format!("{}/chat/completions", mock.base_url()))
    }
}

#[tokio::test]
async fn stops_after_the_requested_count() {
    let mock = mock(Behaviour::default()).await;
    let report = load::run(&config(&mock, 200)).await.unwrap();
    assert_eq!(
        (report.requests, report.non_2xx, report.errors),
        (200, 0, 0)
    );
    assert_eq!(mock.request_count(), 200);
    assert!(report.rps > 0.0);
    assert!(report.latency_us.max >= report.latency_us.p50);
    assert!(report.ttft_us.is_none());
}

#[tokio::test]
async fn counts_non_2xx_answers() {
    let mock = mock(Behaviour {
        status: Some(500),
        ..Behaviour::default()
    })
    .await;
    let report = load::run(&config(&mock, 20)).await.unwrap();
    assert_eq!((report.requests, report.non_2xx), (20, 20));
}

#[tokio::test]
async fn streams_report_ttft_and_gaps_and_count_cuts_as_errors() {
    let mock = mock(Behaviour {
        chunks: Some(4),
        chunk_interval: Duration::from_millis(2),
        ..Behaviour::default()
    })
    .await;
    let cfg = LoadConfig {
        stream: true,
        ..config(&mock, 12)
    };
    let report = load::run(&cfg).await.unwrap();
    assert_eq!((report.requests, report.errors), (12, 0));
    let ttft = report.ttft_us.unwrap();
    let gaps = report.inter_chunk_us.unwrap();
    assert!(ttft.p50 > 0 && gaps.p99 > 0, "{report:?}");
    assert!(report.latency_us.p50 >= 8_000, "{report:?}");

    mock.script_model(
        "cut",
        Behaviour {
            disconnect_after: Some(1),
            ..Behaviour::default()
        },
    );
    let cut = LoadConfig {
        model: "cut".into(),
        ..cfg
    };
    let report = load::run(&cut).await.unwrap();
    assert_eq!((report.requests, report.errors), (0, 12));
}

#[tokio::test]
async fn duration_bounds_a_run_against_a_stalled_server() {
    let mock = mock(Behaviour {
        latency: Duration::from_secs(60),
        ..Behaviour::default()
    })
    .await;
    let cfg = LoadConfig {
        duration: Duration::from_millis(300),
        max_requests: None,
        ..config(&mock, 0)
    };
    let report = within_secs(10, load::run(&cfg)).await.unwrap();
    assert_eq!((report.requests, report.errors), (0, 0));
    // Each of the four connections had one request in flight when the window closed.
    assert_eq!(report.unfinished, 4);
}

async fn within_secs<F: std::future::Future>(secs: u64, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .unwrap()
}
