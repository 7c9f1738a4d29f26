//! `/metrics` serves the named series, with values that only traffic can produce.
//!
//! Handles are registered at start-up, so a name being present proves nothing: every check
//! reads a value. The registry is process-wide and other tests run in parallel, so values
//! are checked as "at least", never as exact counts.

use portcullis_api::metrics as names;
use serde_json::json;

use crate::harness::*;

#[actix_web::test]
async fn metrics_cover_requests_latency_overhead_ttft_tokens_and_errors() {
    let h = Harness::start().await;
    let model = [("model", "gpt-test")];
    let ttft_count = format!("{}_count", names::TIME_TO_FIRST_TOKEN);
    let before = h.scrape().await;
    let ttft_before = sample(&before, &ttft_count, &model);

    let (status, _) = send_json(h.chat(Some(KEY_A), &hello("gpt-test"))).await;
    assert_eq!(status, 200);
    let mut stream = hello("gpt-test");
    stream["stream"] = json!(true);
    assert!(
        send_text(h.chat(Some(KEY_A), &stream))
            .await
            .ends_with("data: [DONE]\n\n")
    );
    let (status, _) = send_json(h.chat(None, &hello("gpt-test"))).await;
    assert_eq!(status, 401);

    // Stream metrics are recorded when the relay ends, a moment after the client read [DONE].
    let after = h.scrape_until_above(&ttft_count, &model, ttft_before).await;
    let ok_json = [
        ("model", "gpt-test"),
        ("status", "200"),
        ("stream", "false"),
    ];
    let ok_stream = [("model", "gpt-test"), ("status", "200"), ("stream", "true")];
    assert!(
        sample(&after, names::REQUESTS_TOTAL, &ok_json) >= 1.0,
        "{after}"
    );
    assert!(sample(&after, names::REQUESTS_TOTAL, &ok_stream) >= 1.0);
    assert!(
        sample(
            &after,
            &format!("{}_count", names::REQUEST_DURATION),
            &model
        ) >= 2.0
    );
    assert!(
        sample(
            &after,
            &format!("{}_count", names::UPSTREAM_DURATION),
            &[("provider", "mock")]
        ) >= 2.0
    );
    assert!(
        sample(
            &after,
            &format!("{}_count", names::OVERHEAD),
            &[("stream", "false")]
        ) >= 1.0
    );
    assert!(
        sample(
            &after,
            &format!("{}_count", names::OVERHEAD),
            &[("stream", "true")]
        ) >= 1.0
    );
    assert!(sample(&after, &ttft_count, &model) > ttft_before);
    assert!(
        sample(
            &after,
            names::TOKENS_TOTAL,
            &[("model", "gpt-test"), ("direction", "out")]
        ) >= 1.0
    );
    assert!(
        sample(
            &after,
            names::TOKENS_TOTAL,
            &[("model", "gpt-test"), ("direction", "in")]
        ) >= 1.0
    );
    assert!(sample(&after, names::ERRORS_TOTAL, &[("kind", "unauthorized")]) >= 1.0);
    assert!(sample(&after, names::REQUESTS_TOTAL, &[("status", "401")]) >= 1.0);
    assert!(!after.contains(CANARY));
    h.stop().await;
}
