//! Helpers for the key, team, spend and audit tests: a config on durable storage with a
//! priced model, and admin API calls.

use portcullis_loadtest::mock::MockOptions;
use serde_json::Value;

use crate::harness::{Harness, MASTER, config_yaml, hello};

/// The model group served by `gpt-4o-mini`, which the built-in catalogue prices.
pub(crate) const PRICED: &str = "priced";
pub(crate) const PRICED_UPSTREAM: &str = "gpt-4o-mini";

/// The e2e config with a priced group, the pepper, and `storage` (a YAML mapping body,
/// e.g. `backend: memory`).
pub(crate) fn durable_yaml(mock_url: &str, storage: &str) -> String {
    config_yaml(mock_url)
        .replace("storage:\n  backend: memory\n", &format!("storage:\n{storage}\n"))
        .replace(
            "  master_key: env:MASTER\n",
            "  master_key: env:MASTER\n  key_pepper: env:PEPPER\n",
        )
        .replace(
            "models:\n",
            &format!(
                "models:\n  - name: {PRICED}\n    deployments:\n      - provider: mock\n        model: {PRICED_UPSTREAM}\n"
            ),
        )
}

/// A gateway on memory storage with the pepper and the priced group.
pub(crate) async fn start_memory() -> Harness {
    Harness::start_from(
        MockOptions::default(),
        |url| durable_yaml(url, "  backend: memory"),
        None,
    )
    .await
}

/// A gateway on a SQLite file.
pub(crate) async fn start_sqlite(path: &std::path::Path) -> Harness {
    let storage = format!("  backend: sqlite\n  path: {}", path.display());
    Harness::start_from(
        MockOptions::default(),
        |url| durable_yaml(url, &storage),
        None,
    )
    .await
}

impl Harness {
    /// An admin API call with `auth` as Bearer; returns status and JSON (or `Null`).
    pub(crate) async fn admin_as(
        &self,
        auth: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, self.admin_url(path));
        if let Some(auth) = auth {
            request = request.bearer_auth(auth);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// An admin call with the master key.
    pub(crate) async fn admin(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.admin_as(Some(MASTER), method, path, body).await
    }

    /// Creates a key through the admin API; returns (id, secret).
    pub(crate) async fn create_key(&self, body: Value) -> (String, String) {
        let (status, created) = self.admin("POST", "/admin/keys", Some(body)).await;
        assert_eq!(status, 201, "{created}");
        (
            created["id"].as_str().unwrap().to_owned(),
            created["key"].as_str().unwrap().to_owned(),
        )
    }

    /// Status of one chat completion on `model` with `key`.
    pub(crate) async fn chat_status(&self, key: &str, model: &str) -> u16 {
        self.chat(Some(key), &hello(model))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}
