//! One test per validation rule: each names the field path and says why.

use super::*;

#[test]
fn duplicate_provider_names_are_refused() {
    let text = VALID.replace("- name: local", "- name: openai");
    let message = error_of(&text);
    assert!(
        message.contains("providers[1].name: duplicate provider name \"openai\""),
        "{message}"
    );
}

#[test]
fn unknown_provider_in_a_deployment_is_named_with_its_path() {
    let text = VALID.replace("      - provider: local\n", "      - provider: opneai\n");
    let message = error_of(&text);
    assert!(
        message.contains("models[1].deployments[0].provider: no provider named \"opneai\" at line"),
        "{message}"
    );
}

#[test]
fn unknown_model_in_a_key_is_refused() {
    let text = VALID.replace("models: [gpt-4o-mini]", "models: [gpt-4o-mini, gpt-5]");
    let message = error_of(&text);
    assert!(
        message.contains("keys[0].models[1]: no model named \"gpt-5\""),
        "{message}"
    );
}

#[test]
fn star_grants_every_model_and_must_stand_alone() {
    let text = VALID.replace("models: [gpt-4o-mini]", "models: [\"*\"]");
    assert_eq!(load(&text).unwrap().keys[0].models, ModelAccess::All);
    let text = VALID.replace("models: [gpt-4o-mini]", "models: [\"*\", llama]");
    assert!(error_of(&text).contains("keys[0].models"));
}

#[test]
fn short_virtual_key_is_refused() {
    let env = env_of(&[
        ("OPENAI_API_KEY", OPENAI_KEY),
        ("TEAM_A_KEY", "short"),
        ("MASTER", MASTER_KEY),
    ]);
    let err = Config::from_yaml_str(VALID, &env).unwrap_err();
    assert!(
        err.to_string()
            .contains("keys[0].key: must be at least 16 characters"),
        "{err}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = VALID
        .replace("- name: local", "- name: openai")
        .replace("models: [gpt-4o-mini]", "models: [gpt-5]");
    let err = load(&text).unwrap_err();
    let paths: Vec<&str> = err.problems().iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "providers[1].name",
            "models[1].deployments[0].provider",
            "keys[0].models[0]"
        ],
        "{err}"
    );
}

#[test]
fn zero_weights_everywhere_are_refused() {
    let text = VALID.replace("weight: 3", "weight: 0");
    assert!(error_of(&text).contains("models[1].deployments: every deployment has weight 0"));
}

#[test]
fn production_requires_master_key_loopback_admin_and_https() {
    let production = format!("mode: production\n{VALID}");
    load(&production).unwrap();

    let no_master = production.replace("  master_key: env:MASTER\n", "");
    assert!(error_of(&no_master).contains("auth.master_key: is required in production"));

    let weak = env_of(&[
        ("OPENAI_API_KEY", OPENAI_KEY),
        ("TEAM_A_KEY", TEAM_KEY),
        ("MASTER", "only-twenty-chars-xx"),
    ]);
    let err = Config::from_yaml_str(&production, &weak)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("auth.master_key: must be at least 32 characters"),
        "{err}"
    );
    assert!(!err.contains("only-twenty"), "{err}");

    let public_admin = production.replace(
        "  listen: 127.0.0.1:0\n",
        "  listen: 127.0.0.1:0\n  admin_listen: 0.0.0.0:4001\n",
    );
    assert!(error_of(&public_admin).contains("server.admin_listen: must be a loopback address"));
    // The same admin bind is accepted in development.
    load(&public_admin.replace("mode: production\n", "")).unwrap();

    let plain_http = production.replace(
        "    vendor: openai\n",
        "    vendor: openai\n    base_url: http://api.example.com/v1\n",
    );
    assert!(error_of(&plain_http).contains("providers[0].base_url: must use https in production"));
}

#[test]
fn private_literal_ip_is_refused_unless_allowed() {
    let text = VALID.replace("    allow_private_network: true\n", "");
    let message = error_of(&text);
    assert!(
        message.contains("providers[1].base_url: host 127.0.0.1 is a loopback address"),
        "{message}"
    );

    let metadata = VALID
        .replace("http://127.0.0.1:8000/v1/", "http://169.254.169.254/latest")
        .replace("    allow_private_network: true\n", "");
    assert!(error_of(&metadata).contains("cloud metadata"));
}

#[test]
fn vendor_without_default_base_url_requires_one() {
    let text = VALID.replace("    base_url: http://127.0.0.1:8000/v1/\n", "");
    assert!(
        error_of(&text)
            .contains("providers[1].base_url: is required: vendor vllm has no default base URL")
    );
}

#[test]
fn renamed_fields_are_refused_naming_their_replacement() {
    let text = VALID
        .replace("shutdown_timeout: 5s", "shutdown_timeout_secs: 5")
        .replace(
            "{ connect: 1s, total: 30s }",
            "{ connect_ms: 1000, total: 30s }",
        );
    let err = error_of(&text);
    assert!(
        err.contains("server.shutdown_timeout_secs") && err.contains("`server.shutdown_timeout`"),
        "{err}"
    );
    assert!(
        err.contains("providers[0].timeouts.connect_ms")
            && err.contains("`providers[0].timeouts.connect`"),
        "{err}"
    );
}

#[test]
fn durations_need_a_unit_and_must_be_positive() {
    for bad in ["5", "0s", "1.5s", "5 minutes"] {
        let text = VALID.replace(
            "shutdown_timeout: 5s",
            &format!("shutdown_timeout: {bad:?}"),
        );
        let err = error_of(&text);
        assert!(err.contains("server.shutdown_timeout"), "{bad}: {err}");
    }
    let config = load(&VALID.replace("total: 30s", "total: 250ms")).unwrap();
    assert_eq!(
        config.gateway.providers[0].timeouts.total,
        std::time::Duration::from_millis(250)
    );
}

#[test]
fn limits_section_reads_backend_policy_and_model_limits() {
    let text = format!(
        "{VALID}limits:\n  backend: redis\n  redis: {{ url: env:MASTER, timeout: 20ms }}\n  on_redis_failure: {{ budgets: closed, rate_limits: local, replicas: 3 }}\n  missing_max_tokens: clamp\n  unpriced: {{ input: \"1.00\", output: \"2.00\" }}\n  lease: 5m\n  models:\n    gpt-4o-mini: {{ rpm: 10, budget_usd: \"250.00\", budget_reset: weekly }}\n"
    );
    let config = load(&text).unwrap();
    let limits = &config.limits;
    match &limits.backend {
        LimiterBackend::Redis(r) => assert_eq!(r.timeout, Duration::from_millis(20)),
        other => panic!("{other:?}"),
    }
    assert_eq!(limits.failure.replicas, 3);
    assert!(!limits.failure.budgets_fail_open);
    assert_eq!(limits.policy.lease, Duration::from_secs(300));
    assert_eq!(limits.policy.models["gpt-4o-mini"].rpm, Some(10));
    assert_eq!(
        limits.policy.exact_token_bytes,
        portcullis_engine::cost::EXACT_BYTES_PER_REQUEST
    );
    let off = load(&format!("{VALID}limits:\n  exact_token_bytes: 0\n")).unwrap();
    assert_eq!(off.limits.policy.exact_token_bytes, 0);
    let err = error_of(&format!("{VALID}limits:\n  exact_token_bytes: 70000\n"));
    assert!(err.contains("limits.exact_token_bytes"), "{err}");
    assert_eq!(
        limits.policy.models["gpt-4o-mini"].budget,
        Some(portcullis_storage::Budget {
            max_micro_usd: 250_000_000,
            reset: portcullis_storage::ResetPeriod::Weekly,
        })
    );
    assert!(format!("{config:?}").find("CANARY").is_none());
}

#[test]
fn limits_errors_name_their_field() {
    let err = error_of(&format!(
        "{VALID}limits:\n  backend: redis\n  models:\n    nope: {{ rpm: 1 }}\n    gpt-4o-mini: {{ budget_usd: lots }}\n  missing_max_tokens: sometimes\n"
    ));
    assert!(
        err.contains("limits.models.gpt-4o-mini.budget_usd"),
        "{err}"
    );
    assert!(err.contains("limits.redis"), "{err}");
    assert!(err.contains("limits.models.nope"), "{err}");
    assert!(err.contains("limits.missing_max_tokens"), "{err}");
}

#[test]
fn config_keys_carry_rate_limits_and_a_budget() {
    let text = VALID.replace(
        "    models: [gpt-4o-mini]\n",
        "    models: [gpt-4o-mini]\n    limits: { rpm: 10, tpm: 1000, max_parallel: 2, budget_usd: \"0.10\", budget_reset: daily }\n",
    );
    let config = load(&text).unwrap();
    let limits = config.keys[0].limits;
    assert_eq!(
        (limits.rpm, limits.tpm, limits.max_parallel),
        (Some(10), Some(1000), Some(2))
    );
    let budget = limits.budget.unwrap();
    assert_eq!(budget.max_micro_usd, 100_000);
    assert_eq!(budget.reset, portcullis_storage::ResetPeriod::Daily);
    let bad = error_of(&text.replace("\"0.10\"", "\"ten\""));
    assert!(bad.contains("keys[0].limits.budget_usd"), "{bad}");
}

#[test]
fn http_limits_are_explicit_settings_with_bounds() {
    let config = load(VALID).unwrap();
    assert_eq!(
        config.server.header_timeout,
        ServerConfig::DEFAULT_HEADER_TIMEOUT
    );
    assert_eq!(config.server.max_headers, ServerConfig::DEFAULT_MAX_HEADERS);
    let text = VALID.replace(
        "  shutdown_timeout: 5s\n",
        "  shutdown_timeout: 5s\n  header_timeout: 300ms\n  body_timeout: 2s\n  keep_alive: 10s\n  max_connections: 4\n  max_url_bytes: 1024\n  max_headers: 20\n  max_header_bytes: 4096\n",
    );
    let server = load(&text).unwrap().server;
    assert_eq!(server.header_timeout, Duration::from_millis(300));
    assert_eq!(server.body_timeout, Duration::from_secs(2));
    assert_eq!(server.keep_alive, Duration::from_secs(10));
    assert_eq!(
        (
            server.max_connections,
            server.max_url_bytes,
            server.max_headers,
            server.max_header_bytes
        ),
        (4, 1024, 20, 4096)
    );
    let text = VALID.replace("  shutdown_timeout: 5s\n", "  max_headers: 97\n");
    assert!(error_of(&text).contains("server.max_headers: must be between 1 and 96"));
    let text = VALID.replace("  shutdown_timeout: 5s\n", "  header_timeout: 0s\n");
    assert!(error_of(&text).contains("server.header_timeout"));
}

#[test]
fn chat_limits_default_to_openais_maxima_and_are_configurable_within_bounds() {
    let config = load(VALID).unwrap();
    assert_eq!(
        config.server.chat_limits,
        portcullis_engine::ChatLimits::default()
    );
    let tuned = VALID.replace(
        "  shutdown_timeout: 5s\n",
        "  shutdown_timeout: 5s\n  chat_limits: { max_messages: 100, max_n: 2, max_tokens: 8192, max_stop: 2, max_tools: 10, max_top_logprobs: 5 }\n",
    );
    let limits = load(&tuned).unwrap().server.chat_limits;
    assert_eq!(
        (limits.max_messages, limits.max_n, limits.max_tokens),
        (100, 2, 8192)
    );
    assert_eq!(
        (limits.max_stop, limits.max_tools, limits.max_top_logprobs),
        (2, 10, 5)
    );
    let zero = VALID.replace(
        "  shutdown_timeout: 5s\n",
        "  shutdown_timeout: 5s\n  chat_limits: { max_n: 0 }\n",
    );
    assert!(error_of(&zero).contains("server.chat_limits.max_n"));
    let over = VALID.replace(
        "  shutdown_timeout: 5s\n",
        "  shutdown_timeout: 5s\n  chat_limits: { max_top_logprobs: 21 }\n",
    );
    assert!(error_of(&over).contains("must be between 1 and 20"));
    let unknown = VALID.replace(
        "  shutdown_timeout: 5s\n",
        "  shutdown_timeout: 5s\n  chat_limits: { max_choices: 3 }\n",
    );
    assert!(error_of(&unknown).contains("max_choices"));
}

#[test]
fn public_model_names_are_names_clients_can_ask_for() {
    // Real names with `/`, `:`, `.`, an `@version` suffix: accepted, as group and alias, and
    // any upstream model stays free-form.
    let real = VALID
        .replace(
            "  - name: gpt-4o-mini\n",
            "  - name: accounts/fireworks/models/llama-v3p1-8b\n    aliases: [\"llama3.1:8b\", \"claude-3-5-sonnet-v2@20241022\"]\n",
        )
        .replace("models: [gpt-4o-mini]", "models: [\"*\"]");
    let config = load(&real).unwrap();
    let group = &config.gateway.groups[0];
    assert_eq!(&*group.name, "accounts/fireworks/models/llama-v3p1-8b");
    for name in std::iter::once(&group.name).chain(&group.aliases) {
        assert_eq!(portcullis_engine::model_name_problem(name), None, "{name}");
    }
    // Names a request would refuse as malformed are refused here too, so none is configured
    // and unreachable.
    for (bad, why) in [
        ("gpt#1", "`#`"),
        ("a/../b", "`..`"),
        ("https://x.example/v1", "URL"),
        ("user@attacker", "`@`"),
    ] {
        let as_group = VALID.replace("  - name: gpt-4o-mini\n", &format!("  - name: \"{bad}\"\n"));
        let err = error_of(&as_group);
        assert!(
            err.contains("models[0].name: is not a name clients can ask for"),
            "{err}"
        );
        assert!(err.contains(why), "{bad}: {err}");
        let as_alias = VALID.replace(
            "  - name: gpt-4o-mini\n",
            &format!("  - name: gpt-4o-mini\n    aliases: [\"{bad}\"]\n"),
        );
        assert!(
            error_of(&as_alias).contains("models[0].aliases[0]"),
            "{bad}"
        );
    }
}
