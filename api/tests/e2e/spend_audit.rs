//! Cost and spend on the request path, the audit chain, and what survives a restart on
//! SQLite.

use std::process::Command;
use std::time::Duration;

use portcullis_engine::Usage;
use portcullis_engine::cost::{Catalogue, cost};
use serde_json::{Value, json};

use portcullis_api::StartOptions;

use crate::harness::{Harness, hello, sample};
use crate::keys_harness::{PRICED, PRICED_UPSTREAM, durable_yaml, start_memory, start_sqlite};

#[actix_web::test]
async fn a_known_model_costs_what_the_catalogue_says_to_the_micro_dollar() {
    let h = start_memory().await;
    let (_, key) = h.create_key(json!({})).await;
    let response = h.chat(Some(&key), &hello(PRICED)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let header = response
        .headers()
        .get("x-portcullis-cost-usd")
        .expect("cost header")
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    let usage: Usage = serde_json::from_value(body["usage"].clone()).unwrap();
    assert!(
        usage.prompt_tokens > 0 && usage.completion_tokens > 0,
        "{body}"
    );
    let price = *Catalogue::builtin()
        .unwrap()
        .price(PRICED_UPSTREAM)
        .unwrap();
    assert_eq!(header, cost(&price, &usage).to_string());
    // The dashboards' spend counter moved by at least this request's cost (other tests of
    // the binary share the recorder).
    let micros = cost(&price, &usage).as_micros() as f64;
    let spend = sample(
        &h.scrape().await,
        portcullis_api::metrics::SPEND_MICRO_USD_TOTAL,
        &[("team", ""), ("model", PRICED)],
    );
    assert!(spend >= micros, "{spend} < {micros}");
    // An unpriced model has no header, but its request is still recorded, flagged.
    let response = h.chat(Some(&key), &hello("gpt-test")).send().await.unwrap();
    assert!(response.headers().get("x-portcullis-cost-usd").is_none());
    h.stop().await;
}

/// Polls the spend report until `pred` holds (the writer flushes every 200 ms); bounded.
async fn spend_until(h: &Harness, query: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..50 {
        let (status, body) = h.admin("GET", &format!("/admin/spend?{query}"), None).await;
        assert_eq!(status, 200, "{body}");
        if pred(&body) {
            return body;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("spend report never matched: {last}");
}

#[actix_web::test]
async fn every_request_is_recorded_including_failures_and_reports_as_csv() {
    let h = start_memory().await;
    let (id, key) = h.create_key(json!({})).await;
    assert_eq!(h.chat_status(&key, PRICED).await, 200);
    assert_eq!(h.chat_status(&key, "gpt-test").await, 200);
    assert_eq!(h.chat_status(&key, "no-such-model").await, 404);
    let body = spend_until(&h, &format!("group_by=model&key={id}"), |b| {
        b["data"].as_array().is_some_and(|d| d.len() == 3)
    })
    .await;
    let rows = body["data"].as_array().unwrap();
    let row = |m: &str| rows.iter().find(|r| r["group"] == m).unwrap().clone();
    assert!(row(PRICED)["cost_micro_usd"].as_i64().unwrap() > 0);
    assert_eq!(row("gpt-test")["unpriced_requests"], 1);
    assert_eq!(row("no-such-model")["requests"], 1);
    let csv = h
        .http
        .get(h.admin_url("/admin/spend?group_by=key"))
        .bearer_auth(crate::harness::MASTER)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("group,requests,"), "{csv}");
    assert!(csv.contains(&format!("\"{id}\",3,")), "{csv}");
    let (status, _) = h.admin("GET", "/admin/spend?from=2020-13-01", None).await;
    assert_eq!(status, 400);
    let (status, _) = h
        .admin("GET", "/admin/spend?from=2020-01-01&to=2020-01-31", None)
        .await;
    assert_eq!(status, 200);
    h.stop().await;
}

fn sqlite_config_file(dir: &std::path::Path, mock_url: &str) -> std::path::PathBuf {
    let db = dir.join("db").join("portcullis.db");
    let text = durable_yaml(
        mock_url,
        &format!("  backend: sqlite\n  path: {}", db.display()),
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn audit_verify(config: &std::path::Path) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["audit", "verify", "--config"])
        .arg(config)
        .env("MASTER", crate::harness::MASTER)
        .env("PEPPER", crate::harness::PEPPER)
        .env("PROVIDER_KEY", crate::harness::CANARY)
        .env("KEY_A", crate::harness::KEY_A)
        .env("KEY_ALL", crate::harness::KEY_ALL)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[actix_web::test]
async fn keys_spend_and_audit_survive_a_restart_and_audit_verify_names_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db").join("portcullis.db");
    let h = start_sqlite(&db).await;
    let config_file = sqlite_config_file(dir.path(), &h.mock.base_url());
    let (id, key) = h.create_key(json!({"name": "durable"})).await;
    let (_, team) = h
        .admin("POST", "/admin/teams", Some(json!({"id": "t"})))
        .await;
    assert_eq!(team["id"], "t");
    assert_eq!(h.chat_status(&key, PRICED).await, 200);
    spend_until(&h, &format!("key={id}"), |b| {
        b["data"].as_array().is_some_and(|d| !d.is_empty())
    })
    .await;
    let Harness {
        mock,
        gateway,
        config,
        http,
    } = h;
    gateway.stop(false).await;

    let gateway = portcullis_api::start(
        &config,
        StartOptions {
            handle_signals: false,
        },
    )
    .unwrap();
    let h = Harness {
        mock,
        gateway,
        config,
        http,
    };
    assert_eq!(h.chat_status(&key, PRICED).await, 200, "key survived");
    let (status, got) = h.admin("GET", &format!("/admin/keys/{id}"), None).await;
    assert_eq!((status, got["name"].as_str()), (200, Some("durable")));
    spend_until(&h, &format!("key={id}"), |b| b["data"][0]["requests"] == 2).await;
    h.stop().await;

    let (ok, text) = audit_verify(&config_file);
    assert!(ok, "{text}");
    assert!(text.contains("2 records"), "{text}");

    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 2", [])
        .unwrap();
    let (ok, text) = audit_verify(&config_file);
    assert!(
        !ok && text.contains("record 2") && text.contains("altered"),
        "{text}"
    );
    conn.execute("UPDATE audit SET actor = 'master' WHERE seq = 2", [])
        .unwrap();
    conn.execute("DELETE FROM audit WHERE seq = 1", []).unwrap();
    let (ok, text) = audit_verify(&config_file);
    assert!(
        !ok && text.contains("record 1") && text.contains("missing"),
        "{text}"
    );
}

#[actix_web::test]
async fn audit_entries_name_master_and_hold_no_secret_or_hash() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let h = start_sqlite(&db).await;
    let (id, secret) = h.create_key(json!({})).await;
    let (_, rotated) = h
        .admin("POST", &format!("/admin/keys/{id}/rotate"), None)
        .await;
    let new_secret = rotated["key"].as_str().unwrap().to_owned();
    h.stop().await;
    let storage = portcullis_storage::sqlite::SqliteStorage::open(&db).unwrap();
    let log = storage.audit_log();
    use portcullis_storage::AuditLog;
    let records = log.list(1, 100).await.unwrap();
    let actions: Vec<&str> = records.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["key.create", "key.rotate"]);
    for r in &records {
        assert_eq!(r.actor, "master");
        assert_eq!(r.target, format!("key:{id}"));
        let text = format!("{:?}{:?}", r.before, r.after);
        assert!(
            !text.contains(&secret) && !text.contains(&new_secret),
            "{text}"
        );
        assert!(!text.contains("hash"), "{text}");
    }
    assert!(portcullis_storage::verify_log(&log).await.unwrap().is_ok());
}

#[actix_web::test]
async fn no_storage_section_means_sqlite_at_the_default_path_and_needs_a_pepper() {
    let dir = tempfile::tempdir().unwrap();
    let mock = portcullis_loadtest::mock::MockUpstream::start(Default::default())
        .await
        .unwrap();
    let yaml = durable_yaml(&mock.base_url(), "  backend: memory")
        .replace("storage:\n  backend: memory\n", "");
    let refused =
        crate::harness::config_yaml(&mock.base_url()).replace("storage:\n  backend: memory\n", "");
    let env = crate::harness::fake_env;
    let err = portcullis_api::Config::from_yaml_str(&refused, &env).unwrap_err();
    assert!(err.to_string().contains("auth.key_pepper"), "{err}");
    let config = portcullis_api::Config::from_yaml_str(&yaml, &env).unwrap();
    // The default path is relative to the working folder; check it without changing it.
    match &config.storage {
        portcullis_config::StorageConfig::Sqlite { path } => {
            assert_eq!(path.to_str(), Some("./data/portcullis.db"));
            let here = dir.path().join(path);
            let db = portcullis_storage::sqlite::SqliteStorage::open(&here);
            assert!(db.is_ok() && here.exists());
        }
        other => panic!("default storage is {other:?}"),
    }
    mock.shutdown().await;
}

#[actix_web::test]
async fn portcullis_serve_with_no_storage_section_creates_the_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = durable_yaml("http://127.0.0.1:9/v1", "  backend: memory")
        .replace("storage:\n  backend: memory\n", "");
    std::fs::write(dir.path().join("config.yaml"), yaml).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["serve", "--config", "config.yaml"])
        .current_dir(dir.path())
        .env("MASTER", crate::harness::MASTER)
        .env("PEPPER", crate::harness::PEPPER)
        .env("PROVIDER_KEY", crate::harness::CANARY)
        .env("KEY_A", crate::harness::KEY_A)
        .env("KEY_ALL", crate::harness::KEY_ALL)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let db = dir.path().join("data").join("portcullis.db");
    let mut found = false;
    for _ in 0..100 {
        if db.exists() {
            found = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(found, "serve did not create {}", db.display());
}
