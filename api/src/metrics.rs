//! Prometheus metrics: every name in one place, label sets bounded by config.
//!
//! Labels carry only operator-defined values (model group names, provider names, routes)
//! or fixed vocabularies (error kinds, status codes, `true`/`false`). A model name a client
//! made up is recorded as [`UNROUTED`], so clients cannot grow the label space.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use portcullis_engine::ProviderId;

pub const REQUESTS_TOTAL: &str = "portcullis_requests_total";
pub const REQUEST_DURATION: &str = "portcullis_request_duration_seconds";
pub const UPSTREAM_DURATION: &str = "portcullis_upstream_duration_seconds";
pub const OVERHEAD: &str = "portcullis_overhead_seconds";
pub const TIME_TO_FIRST_TOKEN: &str = "portcullis_time_to_first_token_seconds";
pub const TOKENS_TOTAL: &str = "portcullis_tokens_total";
pub const ERRORS_TOTAL: &str = "portcullis_errors_total";
/// Spend records dropped because the spend writer's queue was full or closed.
/// Spend in micro-USD by team (`""` for keys without one) and model group: what the
/// dashboards and the spend-spike alert read. Keys are not a label (unbounded); the spend log
/// has them.
pub const SPEND_MICRO_USD_TOTAL: &str = "portcullis_spend_micro_usd_total";
pub const SPEND_DROPPED_TOTAL: &str = "portcullis_spend_records_dropped_total";
pub const STREAMS_INTERRUPTED_TOTAL: &str = "portcullis_streams_client_disconnected_total";
pub const LIMIT_REJECTIONS_TOTAL: &str = "portcullis_limit_rejections_total";
pub const LIMITER_MODE: &str = "portcullis_limiter_mode";
/// Requests refused for their form (over-long target, too many or too large headers,
/// conflicting credentials), by `reason`.
/// Config reloads by result (`ok`, `error`).
pub const CONFIG_RELOADS_TOTAL: &str = "portcullis_config_reloads_total";
/// Certificate reloads by listener and result (`ok`, `error`).
pub const TLS_RELOADS_TOTAL: &str = "portcullis_tls_reloads_total";
pub const MALFORMED_REQUESTS_TOTAL: &str = "portcullis_malformed_requests_total";

/// Route label of chat completions.
pub const ROUTE_CHAT: &str = "chat_completions";
/// Route label of the Anthropic Messages ingress (errors; per-model handles are shared with
/// chat completions, which serve the same models).
pub const ROUTE_MESSAGES: &str = "messages";

/// Route label of embeddings (its own per-model handles).
pub const ROUTE_EMBEDDINGS: &str = "embeddings";

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

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once and returns its handle. Every call, from any
/// thread, gets the same handle (several gateways in one test process share one registry);
/// `None` only if another recorder was installed first.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE.get_or_init(build_and_install).clone()
}

fn build_and_install() -> Option<PrometheusHandle> {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
        .ok()?;
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        tracing::warn!("another metrics recorder is installed; /metrics will be empty");
        return None;
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
    Some(handle)
}

/// Metric handles for one model group, registered once at start-up so the request path
/// records into them directly instead of looking labels up in the registry each time.
#[derive(Debug)]
pub struct ModelMetrics {
    route: &'static str,
    model: Arc<str>,
    ok: [Counter; 2],
    duration: [Histogram; 2],
    overhead: [Histogram; 2],
    ttft: Histogram,
    tokens_in: Counter,
    tokens_out: Counter,
    disconnected: Counter,
    /// By provider id; registered on first use (not every provider serves every model).
    upstream: Vec<OnceLock<Histogram>>,
}

const STREAM: [&str; 2] = ["false", "true"];

impl ModelMetrics {
    fn new(route: &'static str, model: Arc<str>, providers: usize) -> Self {
        let m = || model.to_string();
        let by_stream = |f: &dyn Fn(&'static str) -> Histogram| [f(STREAM[0]), f(STREAM[1])];
        Self {
            ok: [false, true].map(|s| {
                metrics::counter!(REQUESTS_TOTAL, "route" => route, "model" => m(), "status" => "200", "stream" => STREAM[usize::from(s)])
            }),
            duration: by_stream(&|s| metrics::histogram!(REQUEST_DURATION, "route" => route, "model" => m(), "stream" => s)),
            overhead: by_stream(&|s| metrics::histogram!(OVERHEAD, "route" => route, "stream" => s)),
            ttft: metrics::histogram!(TIME_TO_FIRST_TOKEN, "model" => m()),
            tokens_in: metrics::counter!(TOKENS_TOTAL, "model" => m(), "direction" => "in"),
            tokens_out: metrics::counter!(TOKENS_TOTAL, "model" => m(), "direction" => "out"),
            disconnected: metrics::counter!(STREAMS_INTERRUPTED_TOTAL, "model" => m()),
            upstream: (0..providers).map(|_| OnceLock::new()).collect(),
            route,
            model,
        }
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// Counts a finished request and its duration.
    pub fn request(&self, stream: bool, status: u16, total: Duration) {
        let s = usize::from(stream);
        if status == 200 {
            self.ok[s].increment(1);
        } else {
            metrics::counter!(REQUESTS_TOTAL, "route" => self.route, "model" => self.model.to_string(), "status" => status.to_string(), "stream" => STREAM[s]).increment(1);
        }
        self.duration[s].record(total);
        crate::telemetry::genai_request(self.route, &self.model, status, total);
    }

    pub fn upstream(&self, provider: ProviderId, provider_name: &str, upstream: Duration) {
        if let Some(slot) = self.upstream.get(provider.index()) {
            slot.get_or_init(|| {
                metrics::histogram!(UPSTREAM_DURATION, "provider" => provider_name.to_owned(), "model" => self.model.to_string())
            })
            .record(upstream);
        }
    }

    pub fn overhead(&self, stream: bool, overhead: Duration) {
        self.overhead[usize::from(stream)].record(overhead);
    }

    pub fn time_to_first_token(&self, ttft: Duration) {
        self.ttft.record(ttft);
        crate::telemetry::genai_ttft(self.route, &self.model, ttft);
    }

    pub fn tokens(&self, prompt: u64, completion: u64) {
        self.tokens_in.increment(prompt);
        self.tokens_out.increment(completion);
        crate::telemetry::genai_tokens(self.route, &self.model, prompt, completion);
    }

    pub fn client_disconnected(&self) {
        self.disconnected.increment(1);
    }
}

/// Handles for every configured model group, plus [`UNROUTED`].
#[derive(Debug)]
pub struct ChatMetrics {
    models: HashMap<Arc<str>, Arc<ModelMetrics>>,
    unrouted: Arc<ModelMetrics>,
}

impl ChatMetrics {
    /// Registers `route`'s handles; call after [`install`] so they bind to the real recorder.
    pub fn new(route: &'static str, models: &[Arc<str>], providers: usize) -> Self {
        Self {
            models: models
                .iter()
                .map(|m| {
                    let handles = ModelMetrics::new(route, m.clone(), providers);
                    (m.clone(), Arc::new(handles))
                })
                .collect(),
            unrouted: Arc::new(ModelMetrics::new(route, UNROUTED.into(), providers)),
        }
    }

    /// The handles for `model`, or the unrouted ones for a name nobody configured.
    pub fn model(&self, model: &str) -> &Arc<ModelMetrics> {
        self.models.get(model).unwrap_or(&self.unrouted)
    }

    pub fn unrouted(&self) -> &Arc<ModelMetrics> {
        &self.unrouted
    }
}

/// Counts a request refused for its form and logs it at DEBUG, at most once a second: anyone
/// can send malformed requests, so they must not be able to flood the logs.
pub fn malformed_request(reason: &'static str) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST_LOGGED_SEC: AtomicU64 = AtomicU64::new(0);
    metrics::counter!(MALFORMED_REQUESTS_TOTAL, "reason" => reason).increment(1);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last = LAST_LOGGED_SEC.load(Ordering::Relaxed);
    if now != last
        && LAST_LOGGED_SEC
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::debug!(
            reason,
            "malformed request refused (logged at most once a second; every one is counted in {MALFORMED_REQUESTS_TOTAL})"
        );
    }
}

/// Counts a request refused by a limit (`kind`: rpm, tpm, parallel, budget).
pub fn limit_rejected(kind: &'static str) {
    metrics::counter!(LIMIT_REJECTIONS_TOTAL, "kind" => kind).increment(1);
}

/// Publishes which limiter mode is active: 1 for it, 0 for the others.
pub fn limiter_mode(active: &'static str) {
    for mode in ["memory", "redis", "fallback"] {
        metrics::gauge!(LIMITER_MODE, "mode" => mode).set(if mode == active { 1.0 } else { 0.0 });
    }
}

/// Counts a config reload.
pub fn config_reload(ok: bool) {
    let result = if ok { "ok" } else { "error" };
    metrics::counter!(CONFIG_RELOADS_TOTAL, "result" => result).increment(1);
}

/// Counts a certificate reload of `listener`.
pub fn tls_reload(listener: &'static str, ok: bool) {
    let result = if ok { "ok" } else { "error" };
    metrics::counter!(TLS_RELOADS_TOTAL, "listener" => listener, "result" => result).increment(1);
}

/// Counts one error by kind.
pub fn error(route: &'static str, kind: &'static str) {
    metrics::counter!(ERRORS_TOTAL, "route" => route, "kind" => kind).increment(1);
}

/// Counts a request on a route other than chat completions.
pub fn simple_request(route: &'static str, status: u16) {
    metrics::counter!(REQUESTS_TOTAL, "route" => route, "model" => "", "status" => status.to_string(), "stream" => "false").increment(1);
}
