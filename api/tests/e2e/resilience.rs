//! Retries, failover, fallbacks, timeouts, the circuit breaker and the retry budget, against the mock's scripted sequences. Upstream attempts are counted at the mock;
//! waits are bounded polls on observable state, never bare sleeps.

use std::time::{Duration, Instant};

use portcullis_loadtest::mock::{Behaviour, MockOptions};
use serde_json::{Value, json};

use crate::harness::*;

pub(crate) fn yaml(mock: &str) -> String {
    format!(
        r#"
server:
  listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  workers: 1
  shutdown_timeout: 5s
auth:
  master_key: env:MASTER
storage:
  backend: memory
providers:
  - name: mock
    vendor: openai_compatible
    base_url: {mock}
    api_key: env:PROVIDER_KEY
    allow_private_network: true
    timeouts: {{ first_byte: 2s, read: 2s }}
    retry: {{ backoff_base: 10ms, backoff_max: 50ms }}
  - name: brk
    vendor: openai_compatible
    base_url: {mock}
    api_key: env:PROVIDER_KEY
    allow_private_network: true
    breaker: {{ consecutive_failures: 2, cooldown: 300ms }}
  - name: stingy
    vendor: openai_compatible
    base_url: {mock}
    api_key: env:PROVIDER_KEY
    allow_private_network: true
    breaker: {{ consecutive_failures: 0, failure_rate: 0 }}
    retry: {{ budget_ratio: 0.5, budget_min_per_sec: 0, backoff_base: 1ms, backoff_max: 1ms }}
  - name: idle
    vendor: openai_compatible
    base_url: {mock}
    api_key: env:PROVIDER_KEY
    allow_private_network: true
    timeouts: {{ first_byte: 2s, read: 300ms }}
models:
  - name: pair
    strategy: priority
    deployments:
      - {{ provider: mock, model: r-a }}
      - {{ provider: mock, model: r-b }}
  - name: solo
    aliases: [solo-alias]
    deployments:
      - {{ provider: mock, model: solo-up }}
  - name: ttfb
    strategy: priority
    deployments:
      - {{ provider: mock, model: slow-up, timeouts: {{ first_byte: 300ms }} }}
      - {{ provider: mock, model: quick-up }}
  - name: ttfb-only
    max_attempts: 1
    deployments:
      - {{ provider: mock, model: slow-only, timeouts: {{ first_byte: 300ms }} }}
  - name: brk
    max_attempts: 1
    deployments:
      - {{ provider: brk, model: brk-up }}
  - name: storm
    deployments:
      - {{ provider: stingy, model: storm-up }}
  - name: idle
    deployments:
      - {{ provider: idle, model: idle-up }}
  - name: idle-dep
    deployments:
      - {{ provider: mock, model: idle-dep-up, timeouts: {{ read: 300ms }} }}
  - name: fb-primary
    max_attempts: 1
    fallbacks: [fb-secret, fb-ok]
    deployments:
      - {{ provider: mock, model: fbp }}
  - name: fb-closed
    max_attempts: 1
    fallbacks: [fb-secret]
    deployments:
      - {{ provider: mock, model: fbc }}
  - name: fb-secret
    deployments:
      - {{ provider: mock, model: fbs }}
  - name: fb-ok
    deployments:
      - {{ provider: mock, model: fbo }}
keys:
  - name: team-a
    key: env:KEY_A
    models: [pair, solo, solo-alias, ttfb, ttfb-only, brk, storm, idle, idle-dep, fb-primary, fb-closed, fb-ok]
"#
    )
}

pub(crate) async fn start() -> Harness {
    Harness::start_config(MockOptions::default(), yaml).await
}

pub(crate) fn stream(model: &str) -> Value {
    json!({ "model": model, "stream": true, "messages": [{ "role": "user", "content": "hi" }] })
}

/// Status and body of a chat request as team-a.
async fn ask(h: &Harness, body: &Value) -> (u16, String) {
    let response = h.chat(Some(KEY_A), body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The admin view of the deployment serving `upstream_model`.
async fn deployment(h: &Harness, upstream_model: &str) -> Value {
    let (status, body) = send_json(
        h.http
            .get(h.admin_url("/admin/deployments"))
            .bearer_auth(MASTER),
    )
    .await;
    assert_eq!(status, 200);
    body["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["upstream_model"] == upstream_model)
        .cloned()
        .unwrap()
}

/// Polls the admin view (at most 3 s) until the deployment's breaker is `state`.
async fn await_breaker(h: &Harness, upstream_model: &str, state: &str) {
    await_breaker_within(h, upstream_model, state, Duration::from_secs(3)).await;
}

/// Polls the admin view (at most `bound`) until the deployment's breaker is `state`.
async fn await_breaker_within(h: &Harness, upstream_model: &str, state: &str, bound: Duration) {
    let deadline = Instant::now() + bound;
    while Instant::now() < deadline {
        if deployment(h, upstream_model).await["breaker"] == state {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("breaker of {upstream_model} never became {state}");
}

#[actix_web::test]
async fn fails_over_to_the_next_deployment_on_429_and_on_500() {
    let h = start().await;
    h.mock
        .script("r-a", [Behaviour::status(429).retry_after(30)]);
    let (status, body) = ask(&h, &hello("pair")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            h.mock.model_request_count("r-a"),
            h.mock.model_request_count("r-b")
        ),
        (1, 1)
    );
    // r-a cools down for its Retry-After: the next request goes straight to r-b.
    let (status, _) = ask(&h, &hello("pair")).await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            h.mock.model_request_count("r-a"),
            h.mock.model_request_count("r-b")
        ),
        (1, 2)
    );
    assert!(deployment(&h, "r-a").await["cooldown_ms"].as_f64().unwrap() > 20_000.0);

    let h2 = start().await;
    h2.mock.script("r-a", [Behaviour::status(500)]);
    let (status, _) = ask(&h2, &hello("pair")).await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            h2.mock.model_request_count("r-a"),
            h2.mock.model_request_count("r-b")
        ),
        (1, 1)
    );
    h2.stop().await;
    h.stop().await;
}

#[actix_web::test]
async fn honours_retry_after_before_retrying_the_only_deployment() {
    let h = start().await;
    h.mock.script(
        "solo-up",
        [Behaviour::status(429).retry_after(1), Behaviour::ok()],
    );
    let started = Instant::now();
    // Through the alias, which reaches the same group.
    let (status, body) = ask(&h, &hello("solo-alias")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(h.mock.model_request_count("solo-up"), 2);
    h.stop().await;
}

#[actix_web::test]
async fn does_not_retry_a_400() {
    let h = start().await;
    h.mock.script("r-a", [Behaviour::status(400)]);
    let (status, _) = ask(&h, &hello("pair")).await;
    assert_eq!(status, 400);
    assert_eq!(
        h.mock.model_request_count("r-a") + h.mock.model_request_count("r-b"),
        1
    );
    h.stop().await;
}

#[actix_web::test]
async fn does_not_retry_after_the_stream_started() {
    let h = start().await;
    h.mock
        .script("r-a", [Behaviour::ok().chunks(6).disconnect_after(3)]);
    let (status, body) = ask(&h, &stream("pair")).await;
    assert_eq!(status, 200);
    assert!(body.contains("upstream_stream_interrupted"), "{body}");
    assert!(!body.contains("[DONE]"), "{body}");
    assert_eq!(
        h.mock.model_request_count("r-a") + h.mock.model_request_count("r-b"),
        1
    );
    h.stop().await;
}

#[actix_web::test]
async fn a_stream_failing_before_its_first_byte_fails_over_or_gets_an_http_error() {
    let h = start().await;
    let slow = Behaviour::ok().first_byte_delay(Duration::from_secs(2));
    h.mock.script_model("slow-up", slow.clone());
    let (status, body) = ask(&h, &stream("ttfb")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("[DONE]"), "{body}");
    assert_eq!(h.mock.model_request_count("quick-up"), 1);
    // With nowhere else to go: a plain HTTP error, not 200 and an error event.
    h.mock.script_model("slow-only", slow);
    let (status, body) = ask(&h, &stream("ttfb-only")).await;
    assert_eq!(status, 504, "{body}");
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["error"]["code"], "upstream_timeout");
    h.stop().await;
}

#[actix_web::test]
async fn the_breaker_opens_fails_fast_half_opens_and_closes_on_success() {
    let h = start().await;
    h.mock
        .script("brk-up", [Behaviour::status(500), Behaviour::status(500)]);
    for _ in 0..2 {
        assert_eq!(ask(&h, &hello("brk")).await.0, 502);
    }
    await_breaker(&h, "brk-up", "open").await;
    // Open: a fast 503 that never reaches the provider.
    let started = Instant::now();
    let (status, body) = ask(&h, &hello("brk")).await;
    assert_eq!(status, 503, "{body}");
    assert!(started.elapsed() < Duration::from_millis(250));
    assert!(body.contains("overloaded"), "{body}");
    assert_eq!(h.mock.model_request_count("brk-up"), 2);
    // After the 300ms cool-down one probe goes through; its success closes the breaker.
    let mut served = false;
    for _ in 0..100 {
        if ask(&h, &hello("brk")).await.0 == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(served, "no probe was let through");
    assert_eq!(h.mock.model_request_count("brk-up"), 3);
    await_breaker(&h, "brk-up", "closed").await;
    let scrape = h.scrape().await;
    let opened = sample(
        &scrape,
        "portcullis_breaker_transitions_total",
        &[("provider", "brk"), ("to", "open")],
    );
    assert!(opened >= 1.0, "{scrape}");
    h.stop().await;
}

#[actix_web::test]
async fn falls_back_to_another_group_but_never_to_one_the_key_may_not_use() {
    let h = start().await;
    h.mock.script("fbp", [Behaviour::status(503)]);
    let (status, body) = ask(&h, &hello("fb-primary")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        h.mock.model_request_count("fbs"),
        0,
        "reached a group the key may not use"
    );
    assert_eq!(h.mock.model_request_count("fbo"), 1);
    h.mock.script("fbc", [Behaviour::status(503)]);
    let (status, _) = ask(&h, &hello("fb-closed")).await;
    assert_eq!(status, 502);
    assert_eq!(h.mock.model_request_count("fbs"), 0);
    h.stop().await;
}

#[actix_web::test]
async fn first_byte_and_idle_timeouts_fire() {
    let h = start().await;
    h.mock
        .script_model("slow-only", Behaviour::ok().latency(Duration::from_secs(2)));
    let started = Instant::now();
    let (status, _) = ask(&h, &hello("ttfb-only")).await;
    assert_eq!(status, 504);
    assert!(started.elapsed() < Duration::from_millis(1500));
    // After the first byte, a stall ends the stream with one error event, never a hang.
    h.mock
        .script("idle-up", [Behaviour::ok().chunks(6).pause_after_chunks(2)]);
    let (status, body) = ask(&h, &stream("idle")).await;
    assert_eq!(status, 200);
    assert_eq!(body.matches("upstream_timeout").count(), 1, "{body}");
    assert!(!body.contains("[DONE]"), "{body}");
    h.mock.resume();
    h.stop().await;
}

#[actix_web::test]
async fn a_deployment_overrides_its_providers_idle_timeout_and_only_its_own() {
    let h = start().await;
    // Provider `mock` waits 2s between chunks; its deployment `idle-dep-up` only 300ms.
    h.mock.script(
        "idle-dep-up",
        [Behaviour::ok().chunks(6).pause_after_chunks(2)],
    );
    let started = Instant::now();
    let (status, body) = ask(&h, &stream("idle-dep")).await;
    assert_eq!(status, 200);
    assert_eq!(body.matches("upstream_timeout").count(), 1, "{body}");
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the deployment's read timeout did not apply: {:?}",
        started.elapsed()
    );
    h.mock.resume();
    // Another deployment of the same provider keeps the provider's 2s: a 700ms pause passes.
    h.mock
        .script("solo-up", [Behaviour::ok().chunks(6).pause_after_chunks(2)]);
    let resume = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        h.mock.resume();
    };
    let body = stream("solo");
    let ((status, body), ()) = tokio::join!(ask(&h, &body), resume);
    assert_eq!(status, 200);
    assert!(body.contains("[DONE]"), "{body}");
    assert!(!body.contains("upstream_timeout"), "{body}");
    h.stop().await;
}

#[actix_web::test]
async fn a_deployment_overrides_its_providers_connect_timeout() {
    // A listener whose accept queue (backlog 0) is already full: a connect to it hangs.
    let hole = tokio::net::TcpSocket::new_v4().unwrap();
    hole.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let hole = hole.listen(0).unwrap();
    let addr = hole.local_addr().unwrap();
    let _queued = std::net::TcpStream::connect(addr).unwrap();
    assert!(
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err(),
        "a connect to the full listener should hang"
    );
    let h = Harness::start_config(MockOptions::default(), |mock| {
        yaml(mock)
            .replace(
                "models:\n",
                &format!(
                    r#"  - name: hole
    vendor: openai_compatible
    base_url: http://{addr}/v1
    api_key: env:PROVIDER_KEY
    allow_private_network: true
    timeouts: {{ connect: 1500ms }}
    breaker: {{ consecutive_failures: 0, failure_rate: 0 }}
models:
  - name: hole-own
    max_attempts: 1
    deployments:
      - {{ provider: hole, model: own }}
  - name: hole-quick
    max_attempts: 1
    deployments:
      - {{ provider: hole, model: quick, timeouts: {{ connect: 150ms }} }}
"#
                ),
            )
            .replace(
                "idle-dep, fb-primary",
                "idle-dep, hole-own, hole-quick, fb-primary",
            )
    })
    .await;
    let started = Instant::now();
    let (status, body) = ask(&h, &hello("hole-quick")).await;
    let quick = started.elapsed();
    assert_eq!(status, 504, "{body}");
    assert!(body.contains("upstream_timeout"), "{body}");
    let started = Instant::now();
    let (status, body) = ask(&h, &hello("hole-own")).await;
    let own = started.elapsed();
    assert_eq!(status, 504, "{body}");
    assert!(
        quick < Duration::from_millis(1000) && own >= Duration::from_millis(1400),
        "connect timeouts: deployment {quick:?}, provider {own:?}"
    );
    h.stop().await;
}

#[actix_web::test]
async fn the_retry_budget_stops_a_retry_storm() {
    let h = start().await;
    h.mock.script_model("storm-up", Behaviour::status(500));
    for _ in 0..20 {
        assert_eq!(ask(&h, &hello("storm")).await.0, 502);
    }
    // Three attempts each would be 60; the budget allows half a retry per request.
    let attempts = h.mock.model_request_count("storm-up");
    assert!(
        (20..=31).contains(&attempts),
        "{attempts} upstream attempts"
    );
    h.stop().await;
}

/// The standard config plus a provider `hc` whose deployment is checked every second; no
/// other provider has health checks.
fn checked_yaml(mock: &str) -> String {
    yaml(mock).replace(
        "models:\n",
        &format!(
            r#"  - name: hc
    vendor: openai_compatible
    base_url: {mock}
    api_key: env:PROVIDER_KEY
    allow_private_network: true
    breaker: {{ consecutive_failures: 2, cooldown: 1s }}
    health_check: {{ interval: 1s, timeout: 500ms }}
models:
  - name: hc
    deployments:
      - {{ provider: hc, model: hc-up }}
"#
        ),
    )
}

#[actix_web::test]
async fn health_checks_open_and_close_the_breaker_with_no_client_traffic() {
    let h = Harness::start_config(MockOptions::default(), checked_yaml).await;
    h.mock.script_model("hc-up", Behaviour::status(500));
    // Two failed checks (one a second) open the breaker; no client sent anything.
    await_breaker_within(&h, "hc-up", "open", Duration::from_secs(6)).await;
    let failed_checks = h.mock.model_request_count("hc-up");
    assert!(failed_checks >= 2, "{failed_checks} checks");
    // The upstream recovers: once the 1s cool-down has passed, a check closes the breaker.
    h.mock.script_model("hc-up", Behaviour::ok());
    await_breaker_within(&h, "hc-up", "closed", Duration::from_secs(6)).await;
    assert!(h.mock.model_request_count("hc-up") > failed_checks);
    fn checks(result: &str) -> [(&str, &str); 3] {
        [("provider", "hc"), ("deployment", "0"), ("result", result)]
    }
    let scrape = h
        .scrape_until_above("portcullis_health_checks_total", &checks("ok"), 0.0)
        .await;
    let failed = sample(&scrape, "portcullis_health_checks_total", &checks("failed"));
    assert!(failed >= 2.0, "{scrape}");
    assert!(
        sample(&scrape, "portcullis_health_checks_total", &checks("ok")) >= 1.0,
        "{scrape}"
    );
    // Deployments without `health_check` were never sent one: the checks are all the mock saw
    // (polled, bounded, in case one is being received as the two counters are read).
    let only_checks = || h.mock.total_requests() == h.mock.model_request_count("hc-up");
    let deadline = Instant::now() + Duration::from_secs(1);
    while !only_checks() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        only_checks(),
        "{} requests, {} checks",
        h.mock.total_requests(),
        h.mock.model_request_count("hc-up")
    );
    let all = sample(&scrape, "portcullis_health_checks_total", &[]);
    let hc = sample(
        &scrape,
        "portcullis_health_checks_total",
        &[("provider", "hc")],
    );
    assert_eq!(all, hc, "{scrape}");
    h.stop().await;
}
