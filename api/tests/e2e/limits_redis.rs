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
