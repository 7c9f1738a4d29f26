//! The open-loop (constant arrival rate) generator against the mock upstream: latency is
//! measured from each request's intended send time, so a slow server's queueing delay is
//! counted, and every slot the window owed is accounted for.

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

fn open(mock: &MockUpstream, rate: f64, connections: usize, window_ms: u64) -> LoadConfig {
    LoadConfig {
        mode: Mode::Open { rate, connections },
        duration: Duration::from_millis(window_ms),
        warmup: Duration::ZERO,
        ..LoadConfig::new(format!("{}/chat/completions", mock.base_url()))
    }
}

async fn within_secs<F: std::future::Future>(secs: u64, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .unwrap()
}

#[tokio::test]
async fn queueing_behind_a_slow_server_is_counted_from_the_intended_send_time() {
    // 20 ms per request on one connection serves 50/s; 200/s arrive.
    let mock = mock(Behaviour {
        latency: Duration::from_millis(20),
        ..Behaviour::default()
    })
    .await;
    let cfg = open(&mock, 200.0, 1, 500);
    let report = within_secs(10, load::run(&cfg)).await.unwrap();
    let service = report.service_us.unwrap();
    assert!(report.requests >= 5, "{report:?}");
    assert!(service.p50 >= 20_000, "{service:?}");
    // Request k was due at 5k ms and answered near 20(k+1) ms: its latency grows with k.
    assert!(
        report.latency_us.p50 >= 3 * service.p50,
        "open-loop latency must include the queue: {:?} vs service {:?}",
        report.latency_us,
        service
    );
    assert!(report.latency_us.max >= 150_000, "{:?}", report.latency_us);
    // The window owed 100 slots: each was answered, failed, cut off, or never sent.
    assert_eq!(
        report.requests + report.errors + report.unfinished + report.unsent,
        100,
        "{report:?}"
    );
    assert!(report.unsent >= 50, "{report:?}");

    // The closed loop on the same server sees only the service time.
    let closed = LoadConfig {
        mode: Mode::Closed { concurrency: 1 },
        max_requests: Some(5),
        ..cfg
    };
    let closed = within_secs(10, load::run(&closed)).await.unwrap();
    assert_eq!(closed.requests, 5);
    assert!(closed.latency_us.p99 < report.latency_us.p50, "{closed:?}");
    assert!(closed.service_us.is_none() && closed.unsent == 0);
}

#[tokio::test]
async fn a_fast_server_is_sent_the_offered_rate() {
    let mock = mock(Behaviour::default()).await;
    let report = within_secs(10, load::run(&open(&mock, 200.0, 4, 500)))
        .await
        .unwrap();
    assert_eq!(
        report.requests + report.errors + report.unfinished + report.unsent,
        100,
        "{report:?}"
    );
    assert_eq!((report.non_2xx, report.errors), (0, 0), "{report:?}");
    assert!(report.requests >= 90, "{report:?}");
    assert_eq!(mock.request_count(), report.requests + report.unfinished);
}

#[tokio::test]
async fn max_requests_bounds_an_open_loop_run() {
    let mock = mock(Behaviour::default()).await;
    let cfg = LoadConfig {
        max_requests: Some(10),
        ..open(&mock, 1000.0, 2, 5_000)
    };
    let report = within_secs(10, load::run(&cfg)).await.unwrap();
    assert_eq!((report.requests, report.unsent), (10, 0), "{report:?}");
    assert_eq!(mock.request_count(), 10);
}

#[tokio::test]
async fn open_loop_streams_report_ttft_gaps_and_time_to_last_byte() {
    let mock = mock(Behaviour {
        first_byte_delay: Duration::from_millis(10),
        chunks: Some(4),
        chunk_interval: Duration::from_millis(5),
        ..Behaviour::default()
    })
    .await;
    let cfg = LoadConfig {
        stream: true,
        max_requests: Some(6),
        ..open(&mock, 50.0, 4, 5_000)
    };
    let report = within_secs(10, load::run(&cfg)).await.unwrap();
    assert_eq!((report.requests, report.errors), (6, 0), "{report:?}");
    let ttft = report.ttft_us.unwrap();
    let gaps = report.inter_chunk_us.unwrap();
    assert!(ttft.p50 >= 10_000, "{ttft:?}");
    assert!(gaps.p50 >= 4_000 && gaps.max < 1_000_000, "{gaps:?}");
    // Last byte: the first-byte delay plus five paced events (four chunks, the finish).
    assert!(report.latency_us.p50 >= 35_000, "{:?}", report.latency_us);
    assert!(report.latency_us.p50 > ttft.p50);
}
