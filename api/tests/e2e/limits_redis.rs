//! Rate limits and budgets across replicas: three gateways in front of one redis-server that
//! the test spawns on a free port (skipped loudly without redis-server, failed instead when
//! PORTCULLIS_REQUIRE_SERVICES=1).

use std::io::Write;
use std::time::Duration;

use portcullis_loadtest::mock::{Behaviour, MockOptions};
use portcullis_storage::testing::{RedisCluster, RedisServer};
use serde_json::json;

use crate::harness::*;

/// Three gateways sharing `redis`, each with `key_limits` on team-a and a price for the
/// mock's models ($1/M input, $2/M output).
async fn replicas(
    redis: &RedisServer,
    key_limits: &'static str,
) -> (Vec<Harness>, tempfile::NamedTempFile) {
    replicas_with(redis, key_limits, "{}").await
}

/// As [`replicas`], with `all_limits` on key team-all too.
async fn replicas_with(
    redis: &RedisServer,
    key_limits: &'static str,
    all_limits: &'static str,
) -> (Vec<Harness>, tempfile::NamedTempFile) {
    on_redis(&redis.url(), false, key_limits, all_limits).await
}

/// Three gateways on the Redis at `url` (a comma-separated node list when `cluster`).
async fn on_redis(
    url: &str,
    cluster: bool,
    key_limits: &'static str,
    all_limits: &'static str,
) -> (Vec<Harness>, tempfile::NamedTempFile) {
    // The Redis URL is a secret reference like any other: a file here.
    let mut url_file = tempfile::NamedTempFile::new().unwrap();
    write!(url_file, "{url}").unwrap();
    let url_ref = format!("file:{}", url_file.path().display());
    let mut out = Vec::new();
    for _ in 0..3 {
        let url_ref = url_ref.clone();
        let h = Harness::start_configured(MockOptions::default(), move |yaml| {
            let yaml = yaml
                .replace(
                    "    models: [gpt-test]\n",
                    &format!("    models: [gpt-test]\n    limits: {key_limits}\n"),
                )
                .replace(
                    "    models: [\"*\"]\n",
                    &format!("    models: [\"*\"]\n    limits: {all_limits}\n"),
                );
            format!(
                "{yaml}limits:\n  backend: redis\n  redis: {{ url: \"{url_ref}\", cluster: {cluster}, timeout: 500ms }}\n  on_redis_failure: {{ replicas: 3 }}\n  unpriced: {{ input: \"1.00\", output: \"2.00\" }}\n"
            )
        })
        .await;
        out.push(h);
    }
    (out, url_file)
}

/// Sends `n` requests spread over the replicas at once; returns their statuses.
async fn spread(hs: &[Harness], n: usize, body: serde_json::Value) -> Vec<u16> {
    let sends = (0..n).map(|i| {
        let request = hs[i % hs.len()].chat(Some(KEY_A), &body);
        async move { request.send().await.unwrap().status().as_u16() }
    });
    futures_util::future::join_all(sends).await
}

async fn stop_all(hs: Vec<Harness>) {
    for h in hs {
        h.stop().await;
    }
}

#[actix_web::test]
async fn rpm_10_across_three_replicas_admits_exactly_10_of_100() {
    let Some(redis) = RedisServer::start().unwrap() else {
        return;
    };
    let (hs, _url) = replicas(&redis, "{ rpm: 10 }").await;
    let got = spread(&hs, 100, hello("gpt-test")).await;
    assert_eq!(got.iter().filter(|s| **s == 200).count(), 10, "{got:?}");
    assert_eq!(got.iter().filter(|s| **s == 429).count(), 90, "{got:?}");
    stop_all(hs).await;
}

#[actix_web::test]
async fn a_budget_holds_across_three_replicas_against_a_slow_mock() {
    let Some(redis) = RedisServer::start().unwrap() else {
        return;
    };
    let (hs, _url) = replicas(&redis, "{ budget_usd: \"0.10\", budget_reset: daily }").await;
    for h in &hs {
        h.mock.script_model(
            "upstream-gpt",
            Behaviour::ok().latency(Duration::from_millis(300)),
        );
    }
    // Worst case ≈ $0.05 a request: at most two fit in $0.10, whichever replica takes them.
    let mut body = hello("gpt-test");
    body["max_tokens"] = json!(24_990);
    let got = spread(&hs, 200, body).await;
    // Admitted = not refused (a loaded machine may push a slow answer past its timeout).
    let ok = got.iter().filter(|s| **s != 429).count();
    assert!((1..=2).contains(&ok), "{ok} admitted: {got:?}");
    let upstream: u64 = hs.iter().map(|h| h.mock.request_count()).sum();
    assert_eq!(upstream as usize, ok);
    stop_all(hs).await;
}

#[actix_web::test]
async fn a_budget_holds_across_three_replicas_on_a_redis_cluster() {
    let Some(cluster) = RedisCluster::start().unwrap() else {
        return;
    };
    let urls = cluster.urls().join(",");
    let (hs, _url) = on_redis(&urls, true, "{ budget_usd: \"0.10\" }", "{}").await;
    for h in &hs {
        h.mock.script_model(
            "upstream-gpt",
            Behaviour::ok().latency(Duration::from_millis(300)),
        );
    }
    let mut body = hello("gpt-test");
    body["max_tokens"] = json!(24_990);
    let got = spread(&hs, 200, body).await;
    let ok = got.iter().filter(|s| **s != 429).count();
    assert!((1..=2).contains(&ok), "{ok} admitted: {got:?}");
    stop_all(hs).await;
}

#[actix_web::test]
async fn redis_down_fails_budgets_closed_and_rate_limits_over_to_local_buckets() {
    let Some(mut redis) = RedisServer::start().unwrap() else {
        return;
    };
    let (hs, _url) = replicas_with(&redis, "{ budget_usd: \"1.00\" }", "{ rpm: 30 }").await;
    let h = &hs[0];
    assert_eq!(
        h.chat(Some(KEY_A), &hello("gpt-test"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    redis.stop();
    // Budgets fail closed: a budget that cannot be reserved is never admitted.
    let (status, body) = send_json(h.chat(Some(KEY_A), &hello("gpt-test"))).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "limiter_unavailable");
    // A key with only a rate limit is served by the local bucket (30 ÷ 3 replicas = 10).
    let (status, ready) =
        send_json(h.http.get(h.admin_url("/health/ready")).bearer_auth(MASTER)).await;
    assert_eq!(status, 200);
    assert_eq!(ready["limiter"], "fallback");
    let sends = (0..20).map(|_| {
        let request = h.chat(Some(KEY_ALL), &hello("other-model"));
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let got = futures_util::future::join_all(sends).await;
    assert_eq!(got.iter().filter(|s| **s == 200).count(), 10, "{got:?}");
    assert_eq!(got.iter().filter(|s| **s == 429).count(), 10, "{got:?}");
    redis.restart().unwrap();
    // Normal mode resumes once Redis answers again (tried at most a second later).
    let mut resumed = false;
    for _ in 0..40 {
        if h.chat(Some(KEY_A), &hello("gpt-test"))
            .send()
            .await
            .unwrap()
            .status()
            == 200
        {
            resumed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(resumed, "the budget never came back after Redis did");
    stop_all(hs).await;
}

#[actix_web::test]
async fn a_model_budget_holds_across_three_replicas_and_every_key() {
    let Some(redis) = RedisServer::start().unwrap() else {
        return;
    };
    let mut url_file = tempfile::NamedTempFile::new().unwrap();
    write!(url_file, "{}", redis.url()).unwrap();
    let url_ref = format!("file:{}", url_file.path().display());
    let mut hs = Vec::new();
    for _ in 0..3 {
        let url_ref = url_ref.clone();
        // No key has a budget of its own: only the model group's $0.10 applies.
        hs.push(
            Harness::start_configured(MockOptions::default(), move |yaml| {
                format!(
                    "{yaml}limits:\n  backend: redis\n  redis: {{ url: \"{url_ref}\", timeout: 500ms }}\n  unpriced: {{ input: \"1.00\", output: \"2.00\" }}\n  models:\n    gpt-test: {{ budget_usd: \"0.10\", budget_reset: daily }}\n"
                )
            })
            .await,
        );
    }
    for h in &hs {
        h.mock.script_model(
            "upstream-gpt",
            Behaviour::ok().latency(Duration::from_millis(300)),
        );
    }
    // Worst case ≈ $0.05 a request from either key, on any replica: two fit in the group's
    // $0.10, whoever sends them.
    let mut body = hello("gpt-test");
    body["max_tokens"] = json!(24_990);
    let sends = (0..120).map(|i| {
        let key = if i % 2 == 0 { KEY_A } else { KEY_ALL };
        let request = hs[i % hs.len()].chat(Some(key), &body);
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let got = futures_util::future::join_all(sends).await;
    let ok = got.iter().filter(|s| **s != 429).count();
    assert!((1..=2).contains(&ok), "{ok} admitted: {got:?}");
    let upstream: u64 = hs.iter().map(|h| h.mock.request_count()).sum();
    assert_eq!(upstream as usize, ok);
    // Another model group is not under that budget.
    let (status, body) = send_json(hs[0].chat(Some(KEY_ALL), &hello("other-model"))).await;
    assert_eq!(status, 200, "{body}");
    stop_all(hs).await;
}

#[actix_web::test]
async fn redis_killed_mid_load_degrades_without_errors_and_spend_before_it_still_counts() {
    let Some(mut redis) = RedisServer::start().unwrap() else {
        return;
    };
    // KEY_A: a $1.00 budget; KEY_ALL: only a rate limit (600 rpm, 200 per replica locally).
    let (hs, _url) = replicas_with(
        &redis,
        "{ budget_usd: \"1.00\", budget_reset: daily }",
        "{ rpm: 600 }",
    )
    .await;
    // Every gpt-test answer really costs ≈ $0.04 (20 000 completion tokens at $2/M); its
    // worst case is the same, so the budget holds 24 of them.
    for h in &hs {
        h.mock
            .script_model("upstream-gpt", Behaviour::ok().completion_tokens(20_000));
        h.mock.script_model(
            "upstream-other",
            Behaviour::ok().latency(Duration::from_millis(5)),
        );
    }
    let mut dear = hello("gpt-test");
    dear["max_tokens"] = json!(20_000);
    let h0 = &hs[0];
    for _ in 0..10 {
        let (status, body) = send_json(h0.chat(Some(KEY_A), &dear)).await;
        assert_eq!(status, 200, "{body}");
    }
    // Load on every replica; Redis is killed a third of the way through.
    let done = std::sync::atomic::AtomicUsize::new(0);
    let load = futures_util::future::join_all((0..3 * hs.len()).map(|lane| {
        let (h, done) = (&hs[lane % hs.len()], &done);
        async move {
            let mut statuses = Vec::new();
            for _ in 0..20 {
                let response = h
                    .chat(Some(KEY_ALL), &hello("other-model"))
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let body = response.text().await.unwrap();
                statuses.push((status, body));
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            statuses
        }
    }));
    let killer = async {
        while done.load(std::sync::atomic::Ordering::Relaxed) < 60 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        redis.stop();
        // The budgeted key is refused while its budget cannot be reserved: closed, not open.
        let (status, body) = send_json(h0.chat(Some(KEY_A), &dear)).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"]["code"], "limiter_unavailable");
    };
    let (lanes, ()) = tokio::join!(load, killer);
    for (status, body) in lanes.iter().flatten() {
        assert!(
            *status == 200 || *status == 429,
            "rate-limited traffic got {status} while Redis died: {body}"
        );
    }
    let served = lanes.iter().flatten().filter(|(s, _)| *s == 200).count();
    assert!(served >= 60, "only {served} of 180 served");

    redis.restart().unwrap();
    // Redis is back, empty. Normal mode resumes within about a second, and the $0.40 spent
    // before the outage is reconciled from the spend log: 14 more fit ($0.96), not 24.
    let mut admitted = 0;
    let mut resumed = false;
    for _ in 0..80 {
        let (status, body) = send_json(h0.chat(Some(KEY_A), &dear)).await;
        match status {
            200 => {
                resumed = true;
                admitted += 1;
            }
            503 if !resumed => tokio::time::sleep(Duration::from_millis(50)).await,
            429 => break,
            _ => panic!("{status}: {body}"),
        }
    }
    assert!(resumed, "the budget never came back after Redis did");
    assert_eq!(admitted, 14, "spend before the outage must still count");
    let (status, ready) = send_json(
        h0.http
            .get(h0.admin_url("/health/ready"))
            .bearer_auth(MASTER),
    )
    .await;
    assert_eq!((status, ready["limiter"].as_str()), (200, Some("redis")));
    stop_all(hs).await;
}
