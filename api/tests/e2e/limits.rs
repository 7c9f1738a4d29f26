//! Rate limits and budgets on one replica (the memory limiter): exact counts under
//! concurrency, refill, reserve-then-settle, and no phantom reservation on any exit path.

use std::time::Duration;

use portcullis_loadtest::mock::{Behaviour, MockOptions};
use serde_json::json;

use crate::harness::*;

/// The standard config with `key_limits` on key team-a, and a price for the mock's models
/// ($1 per million input tokens, $2 per million output).
fn with_limits(key_limits: &'static str) -> impl FnOnce(String) -> String {
    move |yaml| {
        let yaml = yaml.replace(
            "    models: [gpt-test]\n",
            &format!("    models: [gpt-test]\n    limits: {key_limits}\n"),
        );
        format!("{yaml}limits:\n  unpriced: {{ input: \"1.00\", output: \"2.00\" }}\n")
    }
}

async fn statuses(h: &Harness, n: usize, body: serde_json::Value) -> Vec<u16> {
    let sends = (0..n).map(|_| {
        let request = h.chat(Some(KEY_A), &body);
        async move { request.send().await.unwrap().status().as_u16() }
    });
    futures_util::future::join_all(sends).await
}

#[actix_web::test]
async fn rpm_10_admits_exactly_10_of_100_concurrent_requests() {
    let h = Harness::start_configured(MockOptions::default(), with_limits("{ rpm: 10 }")).await;
    let got = statuses(&h, 100, hello("gpt-test")).await;
    assert_eq!(got.iter().filter(|s| **s == 200).count(), 10, "{got:?}");
    assert_eq!(got.iter().filter(|s| **s == 429).count(), 90);
    assert_eq!(h.mock.request_count(), 10);
    h.stop().await;
}

#[actix_web::test]
async fn a_refused_request_names_the_limit_and_says_when_to_retry() {
    let h = Harness::start_configured(MockOptions::default(), with_limits("{ rpm: 1 }")).await;
    let first = h
        .chat(Some(KEY_A), &hello("gpt-test"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["x-ratelimit-limit-requests"], "1");
    assert_eq!(first.headers()["x-ratelimit-remaining-requests"], "0");
    assert!(first.headers().contains_key("x-ratelimit-reset-requests"));
    let second = h
        .chat(Some(KEY_A), &hello("gpt-test"))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 429);
    let retry: u64 = second.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: serde_json::Value = serde_json::from_str(&second.text().await.unwrap()).unwrap();
    assert_eq!(body["error"]["type"], "requests");
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Requests-per-minute")
    );
    h.stop().await;
}

/// A $0.10 daily budget on key team-a, and a mock that answers after 300 ms (under the 1 s
/// first-byte timeout), so concurrent requests' reservations are all open at once.
async fn budget_of_ten_cents_against_a_slow_mock() -> Harness {
    let h = Harness::start_configured(
        MockOptions::default(),
        with_limits("{ budget_usd: \"0.10\", budget_reset: daily }"),
    )
    .await;
    h.mock.script_model(
        "upstream-gpt",
        Behaviour::ok().latency(Duration::from_millis(300)),
    );
    h
}

#[actix_web::test]
async fn a_budget_admits_only_what_its_worst_cases_fit() {
    // Worst case of one request: ~7 prompt tokens at $1/M + 25 000 at $2/M = $0.05.
    let h = budget_of_ten_cents_against_a_slow_mock().await;
    let mut body = hello("gpt-test");
    body["max_tokens"] = json!(24_990);
    let got = statuses(&h, 200, body).await;
    // Admitted = not refused (a loaded machine may push a slow answer past its timeout).
    let ok = got.iter().filter(|s| **s != 429).count();
    assert!((1..=2).contains(&ok), "{ok} admitted: {got:?}");
    assert_eq!(h.mock.request_count() as usize, ok);
    let big = json!({"model": "gpt-test", "max_tokens": 50_000, "messages": [{"role": "user", "content": "x"}]});
    let (status, refused) = send_json(h.chat(Some(KEY_A), &big)).await;
    assert_eq!(status, 429);
    assert_eq!(refused["error"]["type"], "insufficient_quota");
    h.stop().await;
}

/// The limiter keys each reservation by an id, and admitting an id again replaces its
/// reservation. If that id were the client's `x-request-id`, concurrent requests sending the
/// same one would share one reservation: each would find only one worst case reserved, and a
/// budget that fits two would admit them all.
#[actix_web::test]
async fn a_reused_client_request_id_cannot_share_one_reservation() {
    // Worst case of one request a little over $0.02 (the prompt estimate plus 10 000 output
    // tokens at $2/M), budget $0.10: four fit.
    let h = budget_of_ten_cents_against_a_slow_mock().await;
    let mut body = hello("gpt-test");
    body["max_tokens"] = json!(10_000);
    let sends = (0..20).map(|_| {
        let request = h
            .chat(Some(KEY_A), &body)
            .header("x-request-id", "the-same-id");
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let got = futures_util::future::join_all(sends).await;
    let admitted = got.iter().filter(|s| **s != 429).count();
    assert!((1..=4).contains(&admitted), "{admitted} admitted: {got:?}");
    assert_eq!(h.mock.request_count() as usize, admitted);
    h.stop().await;
}

#[actix_web::test]
async fn reservation_released_on_upstream_500_leaves_no_phantom_limit() {
    let h =
        Harness::start_configured(MockOptions::default(), with_limits("{ max_parallel: 1 }")).await;
    // Every attempt (retries included) fails: the client gets 502, twice.
    h.mock.script_model("upstream-gpt", Behaviour::status(500));
    for _ in 0..2 {
        let status = h
            .chat(Some(KEY_A), &hello("gpt-test"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 502);
    }
    h.mock.clear_scripts();
    // The slot is free again: whatever answers next (the breaker may have opened after so
    // many failures, a 503), it is never the parallel cap's 429.
    let status = h
        .chat(Some(KEY_A), &hello("gpt-test"))
        .send()
        .await
        .unwrap()
        .status();
    assert_ne!(status, 429);
    h.stop().await;
}

#[actix_web::test]
async fn reservation_released_on_timeout_and_on_client_disconnect() {
    let h =
        Harness::start_configured(MockOptions::default(), with_limits("{ max_parallel: 1 }")).await;
    // A provider slower than the 1 s first-byte timeout: 504, and the slot comes back.
    h.mock.script_model(
        "upstream-gpt",
        Behaviour::ok().latency(Duration::from_millis(1500)),
    );
    let status = h
        .chat(Some(KEY_A), &hello("gpt-test"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 504);
    h.mock.clear_scripts();
    // A client that gives up while the provider is still thinking.
    h.mock.script(
        "upstream-gpt",
        [Behaviour::ok().latency(Duration::from_millis(800))],
    );
    let gave_up = tokio::time::timeout(
        Duration::from_millis(200),
        h.chat(Some(KEY_A), &hello("gpt-test")).send(),
    )
    .await;
    assert!(gave_up.is_err());
    // The gateway notices the departed client when the provider answers (at most 800 ms),
    // then the parallel slot is free again: poll for it, bounded.
    let mut freed = false;
    for _ in 0..40 {
        let status = h
            .chat(Some(KEY_A), &hello("gpt-test"))
            .send()
            .await
            .unwrap()
            .status();
        if status == 200 {
            freed = true;
            break;
        }
        assert_eq!(status, 429);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(freed, "the disconnected request kept its parallel slot");
    h.stop().await;
}

#[actix_web::test]
async fn a_stream_settles_and_frees_its_slot_when_it_ends() {
    let h =
        Harness::start_configured(MockOptions::default(), with_limits("{ max_parallel: 1 }")).await;
    for _ in 0..3 {
        let mut body = hello("gpt-test");
        body["stream"] = json!(true);
        let text = send_text(h.chat(Some(KEY_A), &body)).await;
        assert!(text.contains("[DONE]"), "{text}");
    }
    h.stop().await;
}

#[actix_web::test]
async fn keys_without_limits_are_never_counted() {
    let h = Harness::start_configured(MockOptions::default(), with_limits("{ rpm: 1 }")).await;
    for _ in 0..5 {
        let status = h
            .chat(Some(KEY_ALL), &hello("gpt-test"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }
    h.stop().await;
}

/// A gateway on the SQLite file `path` whose key team-all has a budget of 50 micro-dollars.
async fn budgeted_on_sqlite(path: &std::path::Path) -> Harness {
    let storage = format!("  backend: sqlite\n  path: {}", path.display());
    Harness::start_from(
        MockOptions::default(),
        |url| {
            crate::keys_harness::durable_yaml(url, &storage).replace(
                "    models: [\"*\"]\n",
                "    models: [\"*\"]\n    limits: { budget_usd: \"0.000050\", budget_reset: never }\n",
            )
        },
        None,
    )
    .await
}

#[actix_web::test]
async fn spend_recorded_before_a_restart_still_counts_against_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portcullis.db");
    let mut body = hello(crate::keys_harness::PRICED);
    body["max_tokens"] = json!(16);
    let admitted = |h: &Harness| {
        let request = h.chat(Some(KEY_ALL), &body);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let h = budgeted_on_sqlite(&path).await;
    let mut before = 0;
    while admitted(&h).await == 200 {
        before += 1;
        assert!(before < 20, "the budget never ran out");
    }
    assert!(before >= 2, "{before}");
    // The spend writer flushes on stop; the limiter's memory is gone with the process.
    h.stop().await;
    let h = budgeted_on_sqlite(&path).await;
    let after = admitted(&h).await;
    assert_eq!(after, 429, "a restart reset the budget's spend");
    h.stop().await;
}
