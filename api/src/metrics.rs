//! Prometheus metrics: every name in one place, label sets bounded by config.
//!
//! Labels carry only operator-defined values (model group names, provider names, routes)
//! or fixed vocabularies (error kinds, status codes, `true`/`false`). A model name a client
//! made up is recorded as [`UNROUTED`], so clients cannot grow the label space.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const REQUESTS_TOTAL: &str = "portcullis_requests_total";
pub const REQUEST_DURATION: &str = "portcullis_request_duration_seconds";
pub const UPSTREAM_DURATION: &str = "portcullis_upstream_duration_seconds";
pub const OVERHEAD: &str = "portcullis_overhead_seconds";
pub const TIME_TO_FIRST_TOKEN: &str = "portcullis_time_to_first_token_seconds";
pub const TOKENS_TOTAL: &str = "portcullis_tokens_total";
pub const ERRORS_TOTAL: &str = "portcullis_errors_total";
pub const STREAMS_INTERRUPTED_TOTAL: &str = "portcullis_streams_client_disconnected_total";

/// Model label for requests that named no configured model.
pub const UNROUTED: &str = "_unrouted";

/// Histogram buckets for latencies, 50 µs to 5 min: overhead lives at the bottom,
/// LLM responses at the top.
const LATENCY_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// How often histogram buffers are folded in when nobody scrapes (keeps memory flat).
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once and returns its handle. Later calls return the
/// same handle (several gateways in one test process share one registry).
pub fn install() -> Option<PrometheusHandle> {
    if let Some(handle) = HANDLE.get() {
        return Some(handle.clone());
    }
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
        .ok()?;
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        // Another thread won the race; use its handle.
        return HANDLE.get().cloned();
    }
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                upkeep.run_upkeep();
            }
        });
    if spawned.is_err() {
        tracing::warn!("could not start the metrics upkeep thread");
    }
    Some(HANDLE.get_or_init(|| handle).clone())
}

/// Metric labels for one chat request.
#[derive(Debug, Clone)]
pub struct ChatLabels {
    pub model: String,
    pub stream: bool,
}

impl ChatLabels {
    fn stream_label(&self) -> &'static str {
        if self.stream { "true" } else { "false" }
    }

    pub fn request(&self, status: u16, total: Duration) {
        let stream = self.stream_label();
        metrics::counter!(REQUESTS_TOTAL, "route" => "chat_completions", "model" => self.model.clone(), "status" => status.to_string(), "stream" => stream).increment(1);
        metrics::histogram!(REQUEST_DURATION, "route" => "chat_completions", "model" => self.model.clone(), "stream" => stream).record(total);
    }

    pub fn upstream(&self, provider: &str, upstream: Duration) {
        metrics::histogram!(UPSTREAM_DURATION, "provider" => provider.to_owned(), "model" => self.model.clone()).record(upstream);
    }

    pub fn overhead(&self, overhead: Duration) {
        metrics::histogram!(OVERHEAD, "route" => "chat_completions", "stream" => self.stream_label()).record(overhead);
    }

    pub fn time_to_first_token(&self, ttft: Duration) {
        metrics::histogram!(TIME_TO_FIRST_TOKEN, "model" => self.model.clone()).record(ttft);
    }

    pub fn tokens(&self, prompt: u64, completion: u64) {
        metrics::counter!(TOKENS_TOTAL, "model" => self.model.clone(), "direction" => "in")
            .increment(prompt);
        metrics::counter!(TOKENS_TOTAL, "model" => self.model.clone(), "direction" => "out")
            .increment(completion);
    }

    pub fn client_disconnected(&self) {
        metrics::counter!(STREAMS_INTERRUPTED_TOTAL, "model" => self.model.clone()).increment(1);
    }
}

/// Counts one error by kind.
pub fn error(route: &'static str, kind: &'static str) {
    metrics::counter!(ERRORS_TOTAL, "route" => route, "kind" => kind).increment(1);
}

/// Counts a request on a route other than chat completions.
pub fn simple_request(route: &'static str, status: u16) {
    metrics::counter!(REQUESTS_TOTAL, "route" => route, "model" => "", "status" => status.to_string(), "stream" => "false").increment(1);
}
