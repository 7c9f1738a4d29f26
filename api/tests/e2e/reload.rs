//! Reloading the config in place: the new config serves at once, requests and streams in
//! flight finish on the old one, rate limits carry over, and a config that does not load (or
//! changes what takes a restart) is refused while the running one goes on serving.

use portcullis_api::ConfigSource;
use portcullis_loadtest::mock::{Behaviour, MockOptions};
use serde_json::Value;

use crate::harness::*;

/// The standard config with `key_a_models` for team-a and an rpm of 3 on it.
fn yaml(mock: &str, key_a_models: &str) -> String {
    config_yaml(mock)
        .replace(
            "    models: [gpt-test]\n",
            &format!("    models: {key_a_models}\n    limits: {{ rpm: 3 }}\n"),
        )
        .replace(
            "  - name: other-model\n",
            "  - name: other-model\n    aliases: [renamed]\n",
        )
}

struct Reloadable {
    h: Harness,
    file: tempfile::NamedTempFile,
}

impl Reloadable {
    async fn start() -> Reloadable {
        let h =
            Harness::start_config(MockOptions::default(), |mock| yaml(mock, "[gpt-test]")).await;
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), yaml(&h.mock.base_url(), "[gpt-test]")).unwrap();
        h.gateway
            .reload_from(ConfigSource::file_with_env(file.path(), fake_env), None);
        Reloadable { h, file }
    }

    fn write(&self, text: &str) {
        std::fs::write(self.file.path(), text).unwrap();
    }

    async fn reload(&self) -> (u16, Value) {
        send_json(
            self.h
                .http
                .post(self.h.admin_url("/admin/config/reload"))
                .bearer_auth(MASTER),
        )
        .await
    }

    async fn status(&self) -> Value {
        let (status, body) = send_json(
            self.h
                .http
                .get(self.h.admin_url("/admin/config"))
                .bearer_auth(MASTER),
        )
        .await;
        assert_eq!(status, 200);
        body
    }
}

fn stream(model: &str) -> Value {
    serde_json::json!({ "model": model, "stream": true, "messages": [{ "role": "user", "content": "hi" }] })
}

#[actix_web::test]
async fn a_reload_serves_the_new_config_while_a_running_stream_finishes_on_the_old() {
    let r = Reloadable::start().await;
    let h = &r.h;
    assert_eq!(
        send_json(h.chat(Some(KEY_A), &hello("other-model")))
            .await
            .0,
        403
    );
    // A stream in flight across the reload.
    h.mock.script_model(
        "upstream-gpt",
        Behaviour::ok().chunks(4).pause_after_chunks(2),
    );
    let mut running = h
        .chat(Some(KEY_A), &stream("gpt-test"))
        .send()
        .await
        .unwrap();
    assert_eq!(running.status(), 200);
    let mut streamed =
        String::from_utf8_lossy(&running.chunk().await.unwrap().unwrap()).into_owned();

    r.write(&yaml(&h.mock.base_url(), "[gpt-test, renamed]"));
    let (status, body) = r.reload().await;
    assert_eq!(status, 200, "{body}");
    let version = body["version"].as_str().unwrap().to_owned();
    assert!(
        version.starts_with("sha256:") && version.len() == 23,
        "{version}"
    );
    assert_eq!(body["reloads"], 1);
    let status = r.status().await;
    assert_eq!(status["version"], version.as_str());
    assert_eq!(status["reloadable"], true);

    // The new config serves at once: the key may use the other model by its new alias.
    let (status, body) = send_json(h.chat(Some(KEY_A), &hello("renamed"))).await;
    assert_eq!(status, 200, "{body}");
    // The stream that started before the reload finishes.
    h.mock.resume();
    while let Some(chunk) = running.chunk().await.unwrap() {
        streamed.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(streamed.contains("[DONE]"), "{streamed}");
    r.h.stop().await;
}

#[actix_web::test]
async fn rate_limits_carry_across_a_reload() {
    let r = Reloadable::start().await;
    let h = &r.h;
    for _ in 0..3 {
        assert_eq!(
            send_json(h.chat(Some(KEY_A), &hello("gpt-test"))).await.0,
            200
        );
    }
    let (status, body) = r.reload().await;
    assert_eq!(status, 200, "{body}");
    // Same limits, same minute: the fourth request is still over the key's rpm of 3.
    let (status, body) = send_json(h.chat(Some(KEY_A), &hello("gpt-test"))).await;
    assert_eq!(status, 429, "{body}");
    r.h.stop().await;
}

#[actix_web::test]
async fn a_config_that_does_not_load_is_refused_and_the_running_one_keeps_serving() {
    let r = Reloadable::start().await;
    let h = &r.h;
    let good = yaml(&h.mock.base_url(), "[gpt-test]");
    r.write(&good.replace("  workers: 1\n", "  workers: 1\n  wrokers: 2\n"));
    let (status, body) = r.reload().await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("wrokers"), "{message}");
    assert!(!message.contains(CANARY), "{message}");
    // What takes a restart is refused by name.
    r.write(&good.replace("  listen: 127.0.0.1:0", "  listen: 127.0.0.1:1"));
    let (status, body) = r.reload().await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("server.listen changed")
    );
    r.write(&good.replace("backend: memory", "backend: sqlite"));
    let (status, body) = r.reload().await;
    assert_eq!(status, 400, "{body}");
    // A secret reference that does not resolve.
    r.write(&good.replace("env:PROVIDER_KEY", "env:NOT_SET_ANYWHERE"));
    assert_eq!(r.reload().await.0, 400);
    let status = r.status().await;
    assert_eq!(status["reloads"], 0);
    assert_eq!(status["version"], Value::Null);
    assert_eq!(
        send_json(h.chat(Some(KEY_A), &hello("gpt-test"))).await.0,
        200
    );
    // Unknown fields in the request body are refused too.
    let (status, _) = send_json(
        h.http
            .post(h.admin_url("/admin/config/reload"))
            .bearer_auth(MASTER)
            .header("content-type", "application/json")
            .body(r#"{"path": "/etc/shadow"}"#),
    )
    .await;
    assert_eq!(status, 400);
    // Without the master key: 401, like every admin route.
    let (status, _) = send_json(h.http.post(h.admin_url("/admin/config/reload"))).await;
    assert_eq!(status, 401);
    r.h.stop().await;
}

#[actix_web::test]
async fn a_gateway_started_from_memory_has_nothing_to_reload() {
    let h = Harness::start().await;
    let (status, body) = send_json(
        h.http
            .post(h.admin_url("/admin/config/reload"))
            .bearer_auth(MASTER),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not started from a config file"),
        "{body}"
    );
    h.stop().await;
}
