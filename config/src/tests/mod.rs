//! Behaviour of the whole loader: YAML in, `Config` or a precise, secret-free error out.
//!
//! This file holds the shared fixture and the parse/secret/fixture tests; `rules.rs` holds
//! one test per validation rule.

mod anthropic;
mod azure;
mod bedrock;
mod gemini;
mod production;
mod resilience;
mod rules;
mod storage;
mod vertex;

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use portcullis_engine::provider::Vendor;
use secrecy::ExposeSecret;

use super::*;

pub(super) const OPENAI_KEY: &str = "sk-test-CANARY-provider-credential";
pub(super) const TEAM_KEY: &str = "team-key-CANARY-0123456789abcdef";
pub(super) const MASTER_KEY: &str = "master-key-CANARY-0123456789abcdef0123";

pub(super) fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn default_env() -> impl Fn(&str) -> Option<String> {
    env_of(&[
        ("OPENAI_API_KEY", OPENAI_KEY),
        ("TEAM_A_KEY", TEAM_KEY),
        ("MASTER", MASTER_KEY),
    ])
}

pub(super) const VALID: &str = r#"
storage:
  backend: memory
server:
  listen: 127.0.0.1:0
  max_json_depth: 32
  shutdown_timeout: 5s
auth:
  master_key: env:MASTER
providers:
  - name: openai
    vendor: openai
    api_key: env:OPENAI_API_KEY
    timeouts: { connect: 1s, total: 30s }
  - name: local
    vendor: vllm
    base_url: http://127.0.0.1:8000/v1/
    allow_private_network: true
models:
  - name: gpt-4o-mini
    deployments:
      - provider: openai
        model: gpt-4o-mini
  - name: llama
    deployments:
      - provider: local
        model: meta-llama/Llama-3.1-8B
        weight: 0
      - provider: openai
        model: gpt-4o
        weight: 3
keys:
  - name: team-a
    key: env:TEAM_A_KEY
    models: [gpt-4o-mini]
"#;

pub(super) fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_yaml_str(text, &default_env())
}

/// The rendered error, asserting it is not a successful load.
pub(super) fn error_of(text: &str) -> String {
    match load(text) {
        Ok(_) => panic!("config was accepted"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn full_valid_example_parses_into_the_right_gateway_spec() {
    let config = load(VALID).unwrap();
    assert_eq!(config.mode, Mode::Development);
    assert_eq!(config.server.listen, "127.0.0.1:0".parse().unwrap());
    assert_eq!(
        config.server.admin_listen,
        ServerConfig::DEFAULT_ADMIN_LISTEN
    );
    assert!(config.server.workers >= 1);
    assert_eq!(config.server.max_body_bytes, 10 * 1024 * 1024);
    assert_eq!(config.server.max_json_depth, 32);
    assert_eq!(config.server.shutdown_timeout, Duration::from_secs(5));
    assert_eq!(
        config.master_key.as_ref().unwrap().expose_secret(),
        MASTER_KEY
    );
    assert!(config.key_pepper.is_none());

    let [openai, local] = config.gateway.providers.as_slice() else {
        panic!("expected two providers");
    };
    assert_eq!(&*openai.name, "openai");
    assert_eq!(openai.vendor, Vendor::Openai);
    assert_eq!(openai.base_url.as_str(), "https://api.openai.com/v1");
    assert_eq!(
        openai.credential.as_ref().unwrap().expose_secret(),
        OPENAI_KEY
    );
    assert_eq!(openai.timeouts.connect, Duration::from_millis(1000));
    assert_eq!(openai.timeouts.total, Duration::from_millis(30000));
    assert_eq!(openai.timeouts.read, Duration::from_secs(60));
    assert!(!openai.allow_private_network);
    assert_eq!(openai.max_response_bytes, 32 * 1024 * 1024);
    assert_eq!(openai.max_event_bytes, 1024 * 1024);
    assert_eq!(local.base_url.as_str(), "http://127.0.0.1:8000/v1");
    assert!(local.credential.is_none());
    assert!(local.allow_private_network);

    let [mini, llama] = config.gateway.groups.as_slice() else {
        panic!("expected two model groups");
    };
    assert_eq!(&*mini.name, "gpt-4o-mini");
    assert_eq!(mini.deployments.len(), 1);
    assert_eq!(mini.deployments[0].provider.index(), 0);
    assert_eq!(mini.deployments[0].weight, 1);
    assert_eq!(
        &*llama.deployments[0].upstream_model,
        "meta-llama/Llama-3.1-8B"
    );
    assert_eq!(llama.deployments[0].provider.index(), 1);
    assert_eq!(llama.deployments[0].weight, 0);
    assert_eq!(llama.deployments[1].provider.index(), 0);
    assert_eq!(llama.deployments[1].weight, 3);

    let [key] = config.keys.as_slice() else {
        panic!("expected one key");
    };
    assert_eq!(key.name, "team-a");
    assert_eq!(key.key.expose_secret(), TEAM_KEY);
    assert_eq!(key.models, ModelAccess::Only(vec!["gpt-4o-mini".into()]));
    assert!(key.models.allows("gpt-4o-mini") && !key.models.allows("llama"));
}

#[test]
fn unknown_field_names_the_field_and_its_line() {
    let text = VALID.replace(
        "    allow_private_network: true\n",
        "    allow_private_netwrk: true\n",
    );
    let line = 1 + text
        .lines()
        .position(|l| l.contains("allow_private_netwrk"))
        .unwrap() as u64;
    let err = load(&text).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("allow_private_netwrk"), "{message}");
    assert!(message.contains(&format!("line {line}")), "{message}");
    assert!(
        matches!(err, ConfigError::Yaml { line: Some(l), .. } if l == line),
        "{err:?}"
    );
}

#[test]
fn inline_secret_is_refused_without_echoing_it() {
    let text = VALID.replace(
        "api_key: env:OPENAI_API_KEY",
        "api_key: sk-proj-CANARY-inline-9f8e7d6c5b4a",
    );
    let message = error_of(&text);
    assert!(message.contains("providers[0].api_key"), "{message}");
    assert!(
        message.contains("inline secrets are not allowed"),
        "{message}"
    );
    assert!(!message.contains("CANARY"), "{message}");
}

#[test]
fn os_environ_reference_resolves() {
    let text = VALID.replace(
        "api_key: env:OPENAI_API_KEY",
        "api_key: os.environ/OPENAI_API_KEY",
    );
    let config = load(&text).unwrap();
    let credential = config.gateway.providers[0].credential.as_ref().unwrap();
    assert_eq!(credential.expose_secret(), OPENAI_KEY);
}

#[test]
fn file_reference_resolves_with_trailing_newline_trimmed() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "from-a-file-0123456789").unwrap();
    let text = VALID.replace(
        "key: env:TEAM_A_KEY",
        &format!("key: file:{}", file.path().display()),
    );
    let config = load(&text).unwrap();
    assert_eq!(config.keys[0].key.expose_secret(), "from-a-file-0123456789");
}

#[test]
fn missing_env_var_is_named() {
    let text = VALID.replace("env:OPENAI_API_KEY", "env:OPENAI_KEY_TYPO");
    let message = error_of(&text);
    assert!(message.contains("providers[0].api_key"), "{message}");
    assert!(message.contains("OPENAI_KEY_TYPO"), "{message}");
}

#[test]
fn debug_of_config_shows_no_secret() {
    let env = env_of(&[
        ("OPENAI_API_KEY", OPENAI_KEY),
        ("TEAM_A_KEY", TEAM_KEY),
        ("MASTER", MASTER_KEY),
        ("PEPPER", "pepper-CANARY-value"),
    ]);
    let text = VALID.replace(
        "  master_key: env:MASTER\n",
        "  master_key: env:MASTER\n  key_pepper: env:PEPPER\n",
    );
    let config = Config::from_yaml_str(&text, &env).unwrap();
    let debug = format!("{config:?} {config:#?}");
    assert!(
        debug.contains("team-a"),
        "Debug should still show non-secret fields"
    );
    assert!(!debug.contains("CANARY"), "{debug}");
}

#[test]
fn example_fixture_parses() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("portcullis_key_pepper"),
        "pepper-0123456789abcdef\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("platform_key"),
        "platform-key-0123456789abcdef\n",
    )
    .unwrap();
    let text = include_str!("../../tests/fixtures/config/example.yaml").replace(
        "file:/run/secrets/",
        &format!("file:{}/", dir.path().display()),
    );
    let env = env_of(&[
        ("PORTCULLIS_MASTER_KEY", MASTER_KEY),
        ("OPENAI_API_KEY", OPENAI_KEY),
        ("GROQ_API_KEY", "gsk-test-0123456789"),
        ("TEAM_SEARCH_KEY", TEAM_KEY),
    ]);
    let config = Config::from_yaml_str(&text, &env).unwrap();
    assert_eq!(config.mode, Mode::Production);
    assert_eq!(config.gateway.providers.len(), 3);
    assert_eq!(config.gateway.groups.len(), 2);
    assert_eq!(config.keys.len(), 2);
    assert_eq!(config.keys[1].models, ModelAccess::All);
    assert_eq!(
        config.key_pepper.unwrap().expose_secret(),
        "pepper-0123456789abcdef"
    );
}

#[test]
fn load_reads_a_file_and_reports_a_missing_one_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.yaml");
    let err = Config::load(&missing).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(err.to_string().contains("absent.yaml"), "{err}");

    // Secrets come from the process env, which this test must not modify: a config whose
    // only credential is a file loads without touching the env.
    let mut key = tempfile::NamedTempFile::new().unwrap();
    writeln!(key, "file-key-0123456789abcdef").unwrap();
    let path = dir.path().join("config.yaml");
    let text = format!(
        "storage: {{ backend: memory }}\nproviders:\n  - {{ name: local, vendor: ollama, allow_private_network: true }}\n\
         models:\n  - {{ name: m, deployments: [{{ provider: local, model: llama3 }}] }}\n\
         keys:\n  - {{ name: k, key: \"file:{}\", models: [m] }}\n",
        key.path().display()
    );
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    assert_eq!(
        config.gateway.providers[0].base_url.as_str(),
        "http://127.0.0.1:11434/v1"
    );
}
