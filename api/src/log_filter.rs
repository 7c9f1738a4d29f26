//! Keeps malformed requests from the network out of the ERROR log.
//!
//! actix-http logs every request it cannot parse at ERROR ("stream error: request parse
//! error: …"): anyone who can open a connection could fill the error log and page an
//! operator. [`MalformedRequestFilter`] drops exactly those events; each is counted in
//! `portcullis_malformed_requests_total{reason="http_parse"}` instead, with a DEBUG line
//! at most once a second. The client still gets its 400 (or 431) and a closed connection
//! from actix-http; nothing else actix logs is touched.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use crate::metrics;

/// Where actix-http's HTTP/1 dispatcher logs.
const TARGET_PREFIX: &str = "actix_http::h1";
/// How its parse failures begin.
const PARSE_ERROR: &str = "stream error: request parse error";

/// A layer that turns actix-http's per-request parse errors into a metric.
#[derive(Debug, Clone, Copy, Default)]
pub struct MalformedRequestFilter;

impl<S: Subscriber> Layer<S> for MalformedRequestFilter {
    fn event_enabled(&self, event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        let meta = event.metadata();
        if *meta.level() > Level::WARN || !meta.target().starts_with(TARGET_PREFIX) {
            return true;
        }
        let mut message = ParseErrorMessage(false);
        event.record(&mut message);
        if message.0 {
            metrics::malformed_request("http_parse");
            return false;
        }
        true
    }
}

/// Whether an event's message is a request parse error.
struct ParseErrorMessage(bool);

impl Visit for ParseErrorMessage {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}").starts_with(PARSE_ERROR);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.starts_with(PARSE_ERROR);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    struct Count(Arc<AtomicUsize>);

    impl<S: Subscriber> Layer<S> for Count {
        fn on_event(&self, _event: &Event<'_>, _ctx: Context<'_, S>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn only_actix_parse_errors_are_dropped() {
        let seen = Arc::new(AtomicUsize::new(0));
        let subscriber = tracing_subscriber::registry()
            .with(MalformedRequestFilter)
            .with(Count(Arc::clone(&seen)));
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(
                target: "actix_http::h1::dispatcher",
                "stream error: request parse error: invalid Header provided"
            );
            tracing::error!(
                target: "actix_http::h1::dispatcher",
                "stream error: {}",
                "request parse error: message head is too large"
            );
            assert_eq!(seen.load(Ordering::SeqCst), 0);
            tracing::error!(target: "actix_http::h1::dispatcher", "write zero; closing");
            tracing::error!(target: "portcullis_api::edge", "stream error: request parse error");
            tracing::info!(target: "actix_http::h1::dispatcher", "stream error: request parse error");
        });
        assert_eq!(seen.load(Ordering::SeqCst), 3);
    }
}
