//! The audit on safe and risky deployments; findings never carry a secret.

use super::*;
use crate::tests::env_of;

const MASTER: &str = "master-key-CANARY-9f2c4e71b08a3d56e1c7f04b";
const PROVIDER_KEY: &str = "sk-proj-CANARY-inline-provider-key-123456";
/// 2026-12-01: the day after the built-in catalogue's date.
const TODAY: i64 = 20_788;

const SAFE: &str = r#"
mode: production
server:
  listen: 127.0.0.1:4000
  admin_listen: 127.0.0.1:4001
auth:
  master_key: env:MASTER
  key_pepper: env:PEPPER
providers:
  - name: openai
    vendor: openai
    api_key: env:OPENAI_API_KEY
models:
  - name: gpt-4o-mini
    deployments:
      - provider: openai
        model: gpt-4o-mini
keys:
  - name: team-a
    key: env:TEAM_A_KEY
    models: [gpt-4o-mini]
"#;

fn env() -> impl Fn(&str) -> Option<String> {
    env_of(&[
        ("MASTER", MASTER),
        ("PEPPER", "pepper-CANARY-0123456789abcdef"),
        ("OPENAI_API_KEY", "sk-test-CANARY-env-provider"),
        ("TEAM_A_KEY", "team-key-CANARY-0123456789abcdef"),
    ])
}

fn ids(audit: &Audit) -> Vec<&'static str> {
    audit.findings.iter().map(|f| f.id).collect()
}

fn assert_no_canary(audit: &Audit) {
    let json = serde_json::to_string(audit).unwrap();
    assert!(!json.contains("CANARY"), "{json}");
}

#[test]
fn safe_deployment_has_no_high_or_medium_findings() {
    let audit = audit(SAFE, &env(), TODAY);
    assert!(!audit.has_high(), "{audit:#?}");
    assert_eq!(audit.count(Severity::Medium), 0, "{audit:#?}");
    // What is not enforced yet is still said.
    assert!(ids(&audit).contains(&"unenforced_limits"), "{audit:#?}");
    assert_no_canary(&audit);
}

#[test]
fn risky_deployment_reports_each_risk_and_no_secret() {
    let risky = SAFE
        .replace("mode: production\n", "")
        .replace("127.0.0.1:4000", "0.0.0.0:4000")
        .replace("127.0.0.1:4001", "0.0.0.0:4001")
        .replace("api_key: env:OPENAI_API_KEY", &format!("api_key: {PROVIDER_KEY}"))
        .replace(
            "    vendor: openai\n",
            "    vendor: openai\n    base_url: http://gpu.example.com/v1\n    allow_private_network: true\n",
        )
        .replace("models: [gpt-4o-mini]", "models: [\"*\"]");
    let audit = audit(&risky, &env(), TODAY);
    let found = ids(&audit);
    for id in [
        "inline_secret",
        "admin_exposed",
        "public_bind",
        "no_tls",
        "development_mode",
        "private_egress",
        "http_upstream",
        "key_all_models",
    ] {
        assert!(found.contains(&id), "{id} missing: {audit:#?}");
    }
    assert!(audit.has_high());
    // The loader's refusal of the inline key is not reported a second time.
    assert!(!found.contains(&"config_invalid"), "{audit:#?}");
    let inline = audit
        .findings
        .iter()
        .find(|f| f.id == "inline_secret")
        .unwrap();
    assert_eq!(inline.path, "providers[0].api_key");
    assert_eq!(inline.line, Some(13));
    // Most severe first.
    assert!(
        audit
            .findings
            .windows(2)
            .all(|w| w[0].severity <= w[1].severity)
    );
    assert_no_canary(&audit);
}

#[test]
fn short_or_predictable_master_keys_are_high() {
    for (weak, why) in [
        ("short-CANARY-key", "characters"),
        ("CANARY-abababababababababababababababab", "predictable"),
    ] {
        let env = env_of(&[
            ("MASTER", weak),
            ("PEPPER", "pepper-CANARY-0123456789abcdef"),
            ("OPENAI_API_KEY", "sk-test-CANARY-env-provider"),
            ("TEAM_A_KEY", "team-key-CANARY-0123456789abcdef"),
        ]);
        let development = SAFE.replace("mode: production\n", "");
        let audit = audit(&development, &env, TODAY);
        let finding = audit.findings.iter().find(|f| f.id == "weak_master_key");
        let finding = finding.unwrap_or_else(|| panic!("{weak}: {audit:#?}"));
        assert_eq!(finding.severity, Severity::High);
        assert!(finding.message.contains(why), "{}", finding.message);
        assert_no_canary(&audit);
    }
}

#[test]
fn inline_master_key_is_reported_and_measured_without_echo() {
    let text = SAFE.replace("master_key: env:MASTER", "master_key: sk-1234");
    let audit = audit(&text, &env(), TODAY);
    let found: Vec<_> = audit
        .findings
        .iter()
        .filter(|f| f.path == "auth.master_key")
        .map(|f| f.id)
        .collect();
    assert_eq!(found, ["inline_secret", "weak_master_key"], "{audit:#?}");
    assert!(!serde_json::to_string(&audit).unwrap().contains("sk-1234"));
}

#[test]
fn stale_catalogue_and_unpriced_models_are_reported() {
    let text = SAFE.replace("model: gpt-4o-mini", "model: in-house-model-7");
    let years_later = TODAY + 2 * 365;
    let audit = audit(&text, &env(), years_later);
    let found = ids(&audit);
    assert!(found.contains(&"stale_prices"), "{audit:#?}");
    let unpriced = audit
        .findings
        .iter()
        .find(|f| f.id == "unpriced_deployment")
        .unwrap();
    assert_eq!(unpriced.path, "models[0].deployments[0].model");
    assert!(!ids(&super::audit(SAFE, &env(), TODAY)).contains(&"stale_prices"));
}

#[test]
fn unloadable_config_is_high_with_the_loaders_reason() {
    let audit = audit("providers: [\n", &env(), TODAY);
    assert_eq!(ids(&audit), ["config_invalid"]);
    assert!(audit.has_high());

    let missing_env = audit_with_missing_env();
    let finding = missing_env
        .findings
        .iter()
        .find(|f| f.id == "config_invalid" && f.path == "providers[0].api_key")
        .unwrap();
    assert!(
        finding.message.contains("OPENAI_API_KEY"),
        "{}",
        finding.message
    );
}

fn audit_with_missing_env() -> Audit {
    let env = env_of(&[
        ("MASTER", MASTER),
        ("TEAM_A_KEY", "team-key-CANARY-0123456789abcdef"),
    ]);
    audit(SAFE, &env, TODAY)
}

#[test]
fn portcullis_mode_env_is_taken_into_account() {
    let text = SAFE
        .replace("mode: production\n", "")
        .replace("127.0.0.1:4000", "0.0.0.0:4000");
    assert!(ids(&audit(&text, &env(), TODAY)).contains(&"development_mode"));
    let env = env_of(&[
        ("MASTER", MASTER),
        ("PEPPER", "pepper-CANARY-0123456789abcdef"),
        ("OPENAI_API_KEY", "sk-test-CANARY-env-provider"),
        ("TEAM_A_KEY", "team-key-CANARY-0123456789abcdef"),
        ("PORTCULLIS_MODE", "production"),
    ]);
    assert!(!ids(&audit(&text, &env, TODAY)).contains(&"development_mode"));
}

#[test]
fn tls_on_both_listeners_turns_exposure_findings_down_and_cors_star_is_high() {
    let public = SAFE
        .replace("mode: production\n", "")
        .replace("127.0.0.1:4000", "0.0.0.0:4000")
        .replace("127.0.0.1:4001", "0.0.0.0:4001");
    let with_tls = public.replace(
        "  admin_listen: 0.0.0.0:4001\n",
        "  admin_listen: 0.0.0.0:4001\n  tls: { cert: /etc/p/tls.crt, key: /etc/p/tls.key }\n  admin_tls: { cert: /etc/p/admin.crt, key: /etc/p/admin.key }\n  cors: { allowed_origins: [\"*\"] }\n",
    );
    let plain = audit(&public, &env(), TODAY);
    let tls = audit(&with_tls, &env(), TODAY);
    let admin = |a: &Audit| {
        a.findings
            .iter()
            .find(|f| f.id == "admin_exposed")
            .map(|f| f.severity)
    };
    assert_eq!(admin(&plain), Some(Severity::High));
    assert_eq!(admin(&tls), Some(Severity::Medium));
    assert!(ids(&plain).contains(&"no_tls"));
    assert!(!ids(&tls).contains(&"no_tls"), "{tls:#?}");
    let cors = tls.findings.iter().find(|f| f.id == "permissive_cors");
    assert_eq!(cors.map(|f| f.severity), Some(Severity::High), "{tls:#?}");
    assert!(!ids(&plain).contains(&"permissive_cors"));
}
