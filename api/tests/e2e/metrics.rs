//! `/metrics` serves the named series after traffic.

use portcullis_api::metrics as names;
use serde_json::json;

use crate::harness::*;

#[actix_web::test]
async fn metrics_cover_requests_latency_overhead_ttft_tokens_and_errors() {
    let h = Harness::start().await;
    let (status, _) = send_json(h.chat(Some(KEY_A), &hello("gpt-test"))).await;
    assert_eq!(status, 200);
    let mut stream = hello("gpt-test");
    stream["stream"] = json!(true);
    let text = h
        .chat(Some(KEY_A), &stream)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));
    let (status, _) = send_json(h.chat(None, &hello("gpt-test"))).await;
    assert_eq!(status, 401);
    // Stream metrics are recorded when the stream ends; the server side may finish a moment
    // after the client read [DONE], so poll the scrape (bounded) instead of sleeping blindly.
    let mut scrape = String::new();
    for _ in 0..100 {
        scrape = h
            .http
            .get(h.admin_url("/metrics"))
            .bearer_auth(MASTER)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if scrape.contains(names::TIME_TO_FIRST_TOKEN) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for name in [
        names::REQUESTS_TOTAL,
        names::REQUEST_DURATION,
        names::UPSTREAM_DURATION,
        names::OVERHEAD,
        names::TIME_TO_FIRST_TOKEN,
        names::TOKENS_TOTAL,
        names::ERRORS_TOTAL,
    ] {
        assert!(scrape.contains(name), "{name} missing from:\n{scrape}");
    }
    assert!(scrape.contains(r#"direction="out""#));
    assert!(scrape.contains(r#"kind="unauthorized""#));
    assert!(!scrape.contains(CANARY));
    h.stop().await;
}
