//! Resilience settings: strategies, aliases, fallbacks, attempts, per-deployment limits and
//! timeouts, and each provider's breaker and retry settings.

use std::time::Duration;

use portcullis_engine::Strategy;

use super::*;

const RESILIENT: &str = r#"
auth:
  master_key: env:MASTER
storage:
  backend: memory
providers:
  - name: openai
    vendor: openai
    api_key: env:OPENAI_API_KEY
    breaker: { consecutive_failures: 3, failure_rate: 0.25, window: 1m, cooldown: 200ms, max_cooldown: 10s, half_open_probes: 2 }
    retry: { budget_ratio: 0.1, budget_min_per_sec: 2, budget_window: 5s, backoff_base: 50ms, backoff_max: 1s, max_retry_after: 3s }
models:
  - name: big
    deployments:
      - { provider: openai, model: gpt-4o }
  - name: small
    strategy: cheapest
    aliases: [tiny]
    fallbacks: [big]
    context_window_fallbacks: [big]
    max_attempts: 2
    queue_timeout: 250ms
    deployments:
      - provider: openai
        model: gpt-4o-mini
        rpm: 100
        tpm: 20000
        cost_per_million: "0.75"
        max_in_flight: 8
        priority: 2
        timeouts: { connect: 2s, first_byte: 3s, read: 15s, total: 20s }
keys:
  - name: team-a
    key: env:TEAM_A_KEY
    models: [tiny]
"#;

#[test]
fn resilience_settings_reach_the_gateway_spec() {
    let config = load(RESILIENT).unwrap();
    let p = &config.gateway.providers[0];
    assert_eq!(p.breaker.consecutive_failures, 3);
    assert_eq!(p.breaker.failure_rate, 0.25);
    assert_eq!(p.breaker.window, Duration::from_secs(60));
    assert_eq!(p.breaker.cooldown, Duration::from_millis(200));
    assert_eq!(p.breaker.half_open_probes, 2);
    assert_eq!(p.retry_budget.ratio, 0.1);
    assert_eq!(p.retry_budget.min_per_sec, 2);
    assert_eq!(p.backoff.base, Duration::from_millis(50));
    assert_eq!(p.backoff.max_retry_after, Duration::from_secs(3));
    let small = &config.gateway.groups[1];
    assert_eq!(small.strategy, Strategy::Cheapest);
    assert_eq!(&*small.aliases[0], "tiny");
    assert_eq!(&*small.fallbacks[0], "big");
    assert_eq!(&*small.context_window_fallbacks[0], "big");
    assert_eq!(small.max_attempts, 2);
    assert_eq!(small.queue_timeout, Duration::from_millis(250));
    let d = &small.deployments[0];
    assert_eq!(
        (d.rpm, d.tpm, d.max_in_flight, d.priority),
        (Some(100), Some(20000), Some(8), 2)
    );
    assert_eq!(d.cost, Some(750_000));
    let t = d.timeouts;
    assert_eq!(t.connect, Some(Duration::from_secs(2)));
    assert_eq!(t.first_byte, Some(Duration::from_secs(3)));
    assert_eq!(t.read, Some(Duration::from_secs(15)));
    assert_eq!(t.total, Some(Duration::from_secs(20)));
    // Defaults elsewhere.
    let big = &config.gateway.groups[0];
    assert_eq!(big.strategy, Strategy::WeightedRandom);
    assert_eq!(big.max_attempts, 3);
}

#[test]
fn bad_resilience_settings_are_each_named() {
    let text = RESILIENT
        .replace("strategy: cheapest", "strategy: fastest")
        .replace("fallbacks: [big]\n", "fallbacks: [nope, small]\n")
        .replace("aliases: [tiny]", "aliases: [big]")
        .replace("max_attempts: 2", "max_attempts: 0")
        .replace("failure_rate: 0.25", "failure_rate: 2")
        .replace("cost_per_million: \"0.75\"", "cost_per_million: \"cheap\"")
        .replace("models: [tiny]", "models: [small]");
    let error = error_of(&text);
    for path in [
        "models[1].strategy",
        "models[1].fallbacks[0]",
        "models[1].fallbacks[1]",
        "models[1].aliases[0]",
        "models[1].max_attempts",
        "providers[0].breaker.failure_rate",
        "models[1].deployments[0].cost_per_million",
    ] {
        assert!(error.contains(path), "{path} not in {error}");
    }
}

const CHECKED: &str = r#"
auth:
  master_key: env:MASTER
storage:
  backend: memory
providers:
  - name: checked
    vendor: openai
    api_key: env:OPENAI_API_KEY
    health_check: { interval: 10s, timeout: 2s }
  - name: unchecked
    vendor: openai
    api_key: env:OPENAI_API_KEY
models:
  - name: m
    deployments:
      - { provider: checked, model: inherits }
      - { provider: checked, model: faster, health_check: { interval: 3s } }
      - { provider: checked, model: quiet, health_check: { enabled: false } }
      - { provider: unchecked, model: plain }
      - { provider: unchecked, model: own, health_check: {} }
"#;

#[test]
fn health_checks_are_off_unless_configured_and_a_deployment_overrides_its_provider() {
    let config = load(CHECKED).unwrap();
    let checks: Vec<_> = config.gateway.groups[0]
        .deployments
        .iter()
        .map(|d| d.health_check.map(|c| (c.interval, c.timeout)))
        .collect();
    let s = Duration::from_secs;
    assert_eq!(
        checks,
        vec![
            Some((s(10), s(2))),
            Some((s(3), s(2))),
            None,
            None,
            Some((s(30), s(5))),
        ]
    );
    // The standard fixture configures none.
    let plain = load(RESILIENT).unwrap();
    assert!(
        plain
            .gateway
            .groups
            .iter()
            .flat_map(|g| &g.deployments)
            .all(|d| d.health_check.is_none())
    );
}

#[test]
fn bad_health_checks_are_each_named() {
    let cases = [
        (
            "interval: 10s, timeout: 2s",
            "interval: 500ms, timeout: 2s",
            "providers[0].health_check.interval: must be between 1s and 1h",
        ),
        (
            "interval: 10s, timeout: 2s",
            "interval: 10s, timeout: 50ms",
            "providers[0].health_check.timeout: must be between 100ms and 1h",
        ),
        (
            "interval: 10s, timeout: 2s",
            "interval: 10s, timeout: 10s",
            "providers[0].health_check.timeout: the timeout (10s) must be shorter than the interval (10s)",
        ),
        (
            "interval: 10s, timeout: 2s",
            "interval: 2h",
            "providers[0].health_check.interval: must be between 1s and 1h",
        ),
        (
            "interval: 10s, timeout: 2s",
            "interval: ten",
            "providers[0].health_check.interval: must be a whole number with a unit",
        ),
        // The deployment's interval against the timeout it inherits.
        (
            "health_check: { interval: 3s }",
            "health_check: { interval: 2s }",
            "models[0].deployments[1].health_check.interval: the timeout (2s) must be shorter than the interval (2s)",
        ),
        (
            "health_check: {} }",
            "health_check: { interval: 0s } }",
            "models[0].deployments[4].health_check.interval: must be greater than 0",
        ),
    ];
    for (from, to, expected) in cases {
        let text = CHECKED.replace(from, to);
        assert_ne!(text, CHECKED, "{from}");
        let error = error_of(&text);
        assert!(error.contains(expected), "{expected} not in {error}");
        assert!(error.contains("at line"), "{error}");
    }
    // A misspelt field is refused by name.
    let error = error_of(&CHECKED.replace("interval: 3s", "every: 3s"));
    assert!(error.contains("every"), "{error}");
}
