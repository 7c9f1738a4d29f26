//! OpenTelemetry: traces — a span per request and per upstream attempt — and the GenAI
//! semantic-convention metrics (`gen_ai.client.token.usage`, `gen_ai.server.request.duration`,
//! `gen_ai.server.time_to_first_token`) beside the `portcullis_*` Prometheus ones, exported
//! over OTLP/HTTP (JSON). Compiled with the `otel` cargo feature, on when `telemetry.otlp` is
//! configured; otherwise every hook here is a disabled tracing callsite or an empty
//! `OnceLock`.
//!
//! Spans use the tracing target [`TRACE_TARGET`], which the log output leaves off; only the
//! OpenTelemetry layer turns it on. Span fields carry ids, model names, statuses and token
//! counts — never a body, a key or a URL.

use std::sync::OnceLock;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
#[cfg(not(feature = "otel"))]
use portcullis_config::OtlpConfig;
pub use portcullis_engine::TRACE_TARGET;
use tracing::Instrument;

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error(
        "telemetry.otlp is configured but this build has no OpenTelemetry support (cargo feature `otel`)"
    )]
    NotBuilt,
    #[error("could not build the OTLP {0} exporter: {1}")]
    Exporter(&'static str, String),
}

/// The GenAI operation a route performs.
fn operation(route: &str) -> &'static str {
    match route {
        crate::metrics::ROUTE_EMBEDDINGS => "embeddings",
        _ => "chat",
    }
}

/// Middleware (public listener): one server span per request, the current span while the
/// handler runs, so the edge and the upstream attempts record into it.
pub(crate) async fn trace(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let span = tracing::info_span!(
        target: TRACE_TARGET,
        "request",
        otel.kind = "server",
        http.request.method = %req.method(),
        http.response.status_code = tracing::field::Empty,
        gen_ai.operation.name = tracing::field::Empty,
        gen_ai.request.model = tracing::field::Empty,
        gen_ai.usage.input_tokens = tracing::field::Empty,
        gen_ai.usage.output_tokens = tracing::field::Empty,
        portcullis.request_id = tracing::field::Empty,
        error.type = tracing::field::Empty,
    );
    if span.is_disabled() {
        return next.call(req).await;
    }
    let response = next.call(req).instrument(span.clone()).await?;
    span.record("http.response.status_code", response.status().as_u16());
    Ok(response)
}

/// Records what the request is on the current (request) span.
pub(crate) fn span_request(route: &str, model: &str, request_id: &str) {
    let span = tracing::Span::current();
    if span.is_disabled() {
        return;
    }
    let op = operation(route);
    // The GenAI span name, `{operation} {model}`: the span started before the model was
    // known, so it is renamed on the OpenTelemetry side (`otel.name` only names new spans).
    #[cfg(feature = "otel")]
    {
        use opentelemetry::trace::TraceContextExt as _;
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        span.context().span().update_name(format!("{op} {model}"));
    }
    span.record("gen_ai.operation.name", op);
    span.record("gen_ai.request.model", model);
    span.record("portcullis.request_id", request_id);
}

/// Records a failure's kind on the current span.
pub(crate) fn span_error(kind: &str) {
    tracing::Span::current().record("error.type", kind);
}

/// Records token usage on the current span.
pub(crate) fn span_tokens(input: u64, output: u64) {
    let span = tracing::Span::current();
    span.record("gen_ai.usage.input_tokens", input);
    span.record("gen_ai.usage.output_tokens", output);
}

/// The GenAI instruments, once telemetry is installed.
static GENAI: OnceLock<GenAi> = OnceLock::new();

/// Records a finished request's duration (`status` ≠ 200 sets `error.type`).
pub(crate) fn genai_request(route: &str, model: &str, status: u16, total: Duration) {
    if let Some(g) = GENAI.get() {
        g.request(operation(route), model, status, total);
    }
}

/// Records a request's input and output tokens.
pub(crate) fn genai_tokens(route: &str, model: &str, input: u64, output: u64) {
    if let Some(g) = GENAI.get() {
        g.tokens(operation(route), model, input, output);
    }
}

/// Records a stream's time to first token.
pub(crate) fn genai_ttft(route: &str, model: &str, ttft: Duration) {
    if let Some(g) = GENAI.get() {
        g.ttft(operation(route), model, ttft);
    }
}

#[cfg(feature = "otel")]
pub use otel::{Telemetry, layer};

/// Without the `otel` feature: configured telemetry is refused at start-up.
#[cfg(not(feature = "otel"))]
pub fn refuse_without_feature(config: Option<&OtlpConfig>) -> Result<(), TelemetryError> {
    match config {
        Some(_) => Err(TelemetryError::NotBuilt),
        None => Ok(()),
    }
}

/// Without the `otel` feature there is nothing to flush or stop.
#[cfg(not(feature = "otel"))]
#[derive(Debug)]
pub struct Telemetry;

#[cfg(not(feature = "otel"))]
struct GenAi;

#[cfg(not(feature = "otel"))]
impl GenAi {
    fn request(&self, _: &str, _: &str, _: u16, _: Duration) {}
    fn tokens(&self, _: &str, _: &str, _: u64, _: u64) {}
    fn ttft(&self, _: &str, _: &str, _: Duration) {}
}

#[cfg(feature = "otel")]
use otel::GenAi;

#[cfg(feature = "otel")]
mod otel {
    use std::time::Duration;

    use opentelemetry::metrics::{Histogram, MeterProvider as _};
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry::{KeyValue, global};
    use opentelemetry_otlp::{MetricExporter, Protocol, SpanExporter, WithExportConfig};
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
    use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
    use portcullis_config::OtlpConfig;
    use tracing::Subscriber;
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::registry::LookupSpan;

    use super::{GENAI, TRACE_TARGET, TelemetryError};

    /// Token-count bucket boundaries the GenAI semantic conventions recommend.
    const TOKEN_BOUNDARIES: [f64; 14] = [
        1.0,
        4.0,
        16.0,
        64.0,
        256.0,
        1024.0,
        4096.0,
        16384.0,
        65536.0,
        262_144.0,
        1_048_576.0,
        4_194_304.0,
        16_777_216.0,
        67_108_864.0,
    ];
    /// Duration bucket boundaries (seconds) the GenAI semantic conventions recommend.
    const SECONDS_BOUNDARIES: [f64; 14] = [
        0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
    ];

    /// The running exporters; flushed and shut down when dropped.
    #[derive(Debug)]
    pub struct Telemetry {
        traces: SdkTracerProvider,
        metrics: SdkMeterProvider,
    }

    impl Telemetry {
        /// Exports what is pending now (spans and metrics), e.g. before a test reads them.
        pub fn flush(&self) {
            if let Err(e) = self.traces.force_flush() {
                tracing::warn!("could not flush traces: {e}");
            }
            if let Err(e) = self.metrics.force_flush() {
                tracing::warn!("could not flush metrics: {e}");
            }
        }
    }

    impl Drop for Telemetry {
        fn drop(&mut self) {
            let _ = self.traces.shutdown();
            let _ = self.metrics.shutdown();
        }
    }

    /// Starts the exporters for `config` and returns the tracing layer that feeds them (only
    /// [`TRACE_TARGET`] spans) with the guard that owns them. The GenAI instruments are
    /// installed once per process; a second call keeps the first's.
    pub fn layer<S>(
        config: &OtlpConfig,
    ) -> Result<(Box<dyn Layer<S> + Send + Sync>, Telemetry), TelemetryError>
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        let resource = Resource::builder()
            .with_service_name(config.service_name.clone())
            .build();
        let spans = SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpJson)
            .with_endpoint(config.signal_url("traces"))
            .build()
            .map_err(|e| TelemetryError::Exporter("trace", e.to_string()))?;
        let traces = SdkTracerProvider::builder()
            .with_batch_exporter(spans)
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                config.sample_ratio,
            ))))
            .with_resource(resource.clone())
            .build();
        let exporter = MetricExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpJson)
            .with_endpoint(config.signal_url("metrics"))
            .build()
            .map_err(|e| TelemetryError::Exporter("metric", e.to_string()))?;
        let reader = PeriodicReader::builder(exporter)
            .with_interval(config.metrics_interval)
            .build();
        let metrics = SdkMeterProvider::builder()
            .with_reader(reader)
            .with_resource(resource)
            .build();
        let meter = metrics.meter("portcullis");
        let _ = GENAI.set(GenAi {
            tokens: meter
                .u64_histogram("gen_ai.client.token.usage")
                .with_unit("{token}")
                .with_description("Tokens per request, by type (input or output)")
                .with_boundaries(TOKEN_BOUNDARIES.to_vec())
                .build(),
            duration: meter
                .f64_histogram("gen_ai.server.request.duration")
                .with_unit("s")
                .with_description(
                    "Time from the request's arrival to its answer (streams: to the end)",
                )
                .with_boundaries(SECONDS_BOUNDARIES.to_vec())
                .build(),
            ttft: meter
                .f64_histogram("gen_ai.server.time_to_first_token")
                .with_unit("s")
                .with_description("Time from the request's arrival to its first token (streams)")
                .with_boundaries(SECONDS_BOUNDARIES.to_vec())
                .build(),
        });
        global::set_meter_provider(metrics.clone());
        let tracer = traces.tracer("portcullis");
        let layer = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(Targets::new().with_target(TRACE_TARGET, tracing::Level::INFO))
            .boxed();
        Ok((layer, Telemetry { traces, metrics }))
    }

    pub(super) struct GenAi {
        tokens: Histogram<u64>,
        duration: Histogram<f64>,
        ttft: Histogram<f64>,
    }

    fn attributes(operation: &'static str, model: &str) -> Vec<KeyValue> {
        vec![
            KeyValue::new("gen_ai.operation.name", operation),
            KeyValue::new("gen_ai.request.model", model.to_owned()),
        ]
    }

    impl GenAi {
        pub(super) fn request(
            &self,
            operation: &'static str,
            model: &str,
            status: u16,
            total: Duration,
        ) {
            let mut attrs = attributes(operation, model);
            if status != 200 {
                attrs.push(KeyValue::new("error.type", status.to_string()));
            }
            self.duration.record(total.as_secs_f64(), &attrs);
        }

        pub(super) fn tokens(&self, operation: &'static str, model: &str, input: u64, output: u64) {
            let mut attrs = attributes(operation, model);
            attrs.push(KeyValue::new("gen_ai.token.type", "input"));
            self.tokens.record(input, &attrs);
            if let Some(last) = attrs.last_mut() {
                *last = KeyValue::new("gen_ai.token.type", "output");
            }
            self.tokens.record(output, &attrs);
        }

        pub(super) fn ttft(&self, operation: &'static str, model: &str, ttft: Duration) {
            self.ttft
                .record(ttft.as_secs_f64(), &attributes(operation, model));
        }
    }
}
