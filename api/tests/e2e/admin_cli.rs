//! `portcullis keys|teams` drive the admin API of a running gateway over HTTP.

use std::process::Command;

use serde_json::{Value, json};

use crate::harness::{MASTER, hello};
use crate::keys_harness::{PRICED, start_memory};

fn cli(admin_url: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .env("PORTCULLIS_ADMIN_URL", admin_url)
        .env("PORTCULLIS_MASTER_KEY", MASTER)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn run(admin_url: String, args: &'static [&'static str]) -> (bool, String, String) {
    tokio::task::spawn_blocking(move || cli(&admin_url, args))
        .await
        .unwrap()
}

#[actix_web::test]
async fn cli_creates_lists_rotates_and_revokes_keys_and_manages_teams() {
    let h = start_memory().await;
    let base = h.admin_url("");
    let (ok, out, err) = run(
        base.clone(),
        &[
            "teams", "create", "--id", "cli-team", "--models", "gpt-test",
        ],
    )
    .await;
    assert!(ok, "{out}{err}");
    let (ok, out, err) = run(
        base.clone(),
        &["keys", "create", "--id", "cli-key", "--team", "cli-team"],
    )
    .await;
    assert!(ok, "{out}{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    let secret = created["key"].as_str().unwrap().to_owned();
    assert_eq!(h.chat_status(&secret, "gpt-test").await, 200);
    let (ok, out, _) = run(base.clone(), &["keys", "list"]).await;
    assert!(
        ok && out.contains("cli-key") && !out.contains(&secret),
        "{out}"
    );
    let (ok, out, _) = run(base.clone(), &["teams", "list"]).await;
    assert!(ok && out.contains("cli-team"), "{out}");
    let (ok, out, err) = run(base.clone(), &["keys", "rotate", "cli-key"]).await;
    assert!(ok, "{out}{err}");
    let rotated: Value = serde_json::from_str(&out).unwrap();
    let new = rotated["key"].as_str().unwrap().to_owned();
    assert_eq!(h.chat_status(&secret, "gpt-test").await, 401);
    assert_eq!(h.chat_status(&new, "gpt-test").await, 200);
    let (ok, _, _) = run(base.clone(), &["keys", "revoke", "cli-key"]).await;
    assert!(ok);
    assert_eq!(h.chat_status(&new, "gpt-test").await, 401);
    let (ok, _, err) = run(base.clone(), &["keys", "revoke", "no-such-key"]).await;
    assert!(!ok && err.contains("404"), "{err}");
    let (ok, out, err) = run(base, &["teams", "delete", "cli-team"]).await;
    assert!(ok && out.contains("cli-key"), "{out}{err}");
    h.stop().await;
}

#[actix_web::test]
async fn a_stream_is_priced_and_recorded_without_a_header() {
    let h = start_memory().await;
    let (id, key) = h.create_key(json!({})).await;
    let mut body = hello(PRICED);
    body["stream"] = json!(true);
    let response = h.chat(Some(&key), &body).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers().get("x-portcullis-cost-usd").is_none());
    let _ = response.text().await.unwrap();
    let mut last = Value::Null;
    for _ in 0..50 {
        let (_, report) = h
            .admin("GET", &format!("/admin/spend?key={id}"), None)
            .await;
        if report["data"][0]["cost_micro_usd"].as_i64().unwrap_or(0) > 0 {
            assert_eq!(report["data"][0]["unpriced_requests"], 0);
            h.stop().await;
            return;
        }
        last = report;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("stream never recorded with a cost: {last}");
}
