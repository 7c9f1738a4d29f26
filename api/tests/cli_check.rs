//! `portcullis check` and `import-litellm` as an operator runs them: the real binary, a
//! config file, the exit status and everything printed.

// Test-only crate: helpers outside #[test] fns may unwrap and panic like the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

const RISKY: &str = r#"
server:
  listen: 0.0.0.0:4000
  admin_listen: 0.0.0.0:4001
auth:
  master_key: env:CHECK_TEST_MASTER
storage:
  backend: memory
providers:
  - name: openai
    vendor: openai
    api_key: sk-proj-CANARY-inline-0123456789abcdef
models:
  - name: gpt-4o-mini
    deployments:
      - provider: openai
        model: gpt-4o-mini
"#;

fn check(text: &str, json: bool) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portcullis.yaml");
    std::fs::write(&path, text).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    command
        .arg("check")
        .arg("--config")
        .arg(&path)
        .env(
            "CHECK_TEST_MASTER",
            "master-CANARY-9f2c4e71b08a3d56e1c7f04b92a6d8e3",
        )
        .env_remove("PORTCULLIS_MODE");
    if json {
        command.arg("--json");
    }
    let output = command.output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), all)
}

#[test]
fn check_exits_nonzero_on_high_findings_and_prints_no_secret() {
    let (code, out) = check(RISKY, false);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("HIGH") && out.contains("inline_secret"),
        "{out}"
    );
    assert!(
        out.contains("admin_exposed") && out.contains("no_tls"),
        "{out}"
    );
    assert!(!out.contains("CANARY"), "{out}");
}

#[test]
fn check_json_lists_findings_and_a_safe_config_exits_zero() {
    let (code, out) = check(RISKY, true);
    assert_eq!(code, Some(1), "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"inline_secret"), "{out}");

    let safe = RISKY
        .replace("0.0.0.0:4000", "127.0.0.1:4000")
        .replace("0.0.0.0:4001", "127.0.0.1:4001")
        .replace(
            "sk-proj-CANARY-inline-0123456789abcdef",
            "env:CHECK_TEST_MASTER_ALSO",
        )
        .replace("CHECK_TEST_MASTER_ALSO", "CHECK_TEST_MASTER");
    let (code, out) = check(&safe, false);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("0 high"), "{out}");
}

#[test]
fn import_litellm_writes_references_and_never_a_secret() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/tests/fixtures/litellm/inline_keys.yaml"
    );
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("portcullis.yaml");
    let output = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("import-litellm")
        .arg(fixture)
        .arg("-o")
        .arg(&out_path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let written = std::fs::read_to_string(&out_path).unwrap();
    for text in [&*stdout, &*stderr, &*written] {
        assert!(!text.contains("CANARY"), "{text}");
    }
    assert!(stderr.contains("PORTCULLIS_GPT_4O_API_KEY"), "{stderr}");
    assert!(written.contains("env:PORTCULLIS_MASTER_KEY"), "{written}");
}
