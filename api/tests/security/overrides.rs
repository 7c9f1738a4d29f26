//! Where requests go: no header and no model name can move a request to another host or
//! take the provider credential with it.

use portcullis_loadtest::mock::MockOptions;
use serde_json::{Value, json};

use crate::harness::hello;
use crate::support::{Suite, canaries, suite_yaml};

#[actix_web::test]
async fn header_overrides_never_change_the_upstream_or_its_credential() {
    let mut s = Suite::start().await;
    let attacker = s.attacker.url();
    let host = s.attacker.addr.to_string();
    let overrides = [
        ("x-api-base", attacker.clone()),
        ("x-base-url", attacker.clone()),
        ("openai-base-url", attacker.clone()),
        ("api-base", attacker.clone()),
        ("x-forwarded-host", host.clone()),
        ("x-forwarded-proto", "http".to_owned()),
        ("x-forwarded-for", "169.254.169.254".to_owned()),
        ("forwarded", format!("host={host};proto=http")),
        ("x-original-url", format!("{attacker}/v1/chat/completions")),
        ("x-rewrite-url", format!("{attacker}/v1/chat/completions")),
        ("x-http-method-override", "GET".to_owned()),
        ("azure-endpoint", attacker.clone()),
    ];
    let key = canaries().key_b.clone();
    for model in ["gpt-test", "claude-test"] {
        let mut request = s.h.chat(Some(&key), &hello(model));
        for (name, value) in &overrides {
            request = request.header(*name, value);
        }
        let (status, body) = s.send(request).await;
        assert_eq!(status, 200, "{model}: {body}");
    }
    let seen = s.h.mock.requests();
    assert_eq!(
        seen.len(),
        2,
        "both requests reached the configured upstream"
    );
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {}", canaries().openai).as_str())
    );
    assert_eq!(
        seen[1].header("x-api-key"),
        Some(canaries().anthropic.as_str())
    );
    for request in &seen {
        for (name, _) in &overrides {
            assert_eq!(request.header(name), None, "{name} was forwarded");
        }
    }
    // `finish` fails if the attacker listener got a connection.
    s.finish().await;
}

#[actix_web::test]
async fn hostile_model_names_are_a_400_naming_the_field_and_never_reach_an_upstream() {
    let mut s = Suite::start().await;
    let attacker = s.attacker.url();
    let long = "m".repeat(10_000);
    let names = [
        "gpt-test/../../admin",
        "gpt-test#fragment",
        "gpt-test?api-version=1",
        "user@attacker",
        "..",
        "gpt-test\r\nHost: attacker",
        "gpt-test\u{0}",
        attacker.as_str(),
        "//127.0.0.1/v1",
        "gpt-test%2F..%2F",
        long.as_str(),
    ];
    let key = canaries().key_a.clone();
    for name in names {
        let body = json!({"model": name, "messages": [{"role": "user", "content": "hi"}]});
        // Without a credential: 401 first, whatever the body says.
        let (status, _) = s.send(s.h.chat(None, &body)).await;
        assert_eq!(status, 401, "{name:?}");
        // Key A may use `gpt-test` only: the malformed name is a 400, not a 403 or 404.
        let (status, reply) = s.send(s.h.chat(Some(&key), &body)).await;
        assert_eq!(status, 400, "{name:?}: {reply}");
        let reply: Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(reply["error"]["type"], "invalid_request_error", "{reply}");
        assert_eq!(reply["error"]["code"], "invalid_model_name", "{reply}");
        assert_eq!(reply["error"]["param"], "model", "{reply}");
        let message = reply["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("`model` is not a valid model name"),
            "{message}"
        );
        let mut anthropic = body.clone();
        anthropic["max_tokens"] = json!(16);
        let (status, reply) = s.post("/v1/messages", &key, &anthropic).await;
        assert_eq!(status, 400, "/v1/messages {name:?}: {reply}");
        let reply: Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(reply["type"], "error", "{reply}");
        assert_eq!(reply["error"]["type"], "invalid_request_error", "{reply}");
        assert!(
            reply["error"]["message"]
                .as_str()
                .unwrap()
                .contains("`model` is not a valid model name"),
            "{reply}"
        );
        let embeddings = json!({"model": name, "input": "hi"});
        let (status, reply) = s.post("/v1/embeddings", &key, &embeddings).await;
        assert_eq!(status, 400, "/v1/embeddings {name:?}: {reply}");
    }
    assert_eq!(s.h.mock.total_requests(), 0);
    s.finish().await;
}

#[actix_web::test]
async fn every_name_the_config_can_define_is_reachable() {
    let mut s = Suite::start_yaml(MockOptions::default(), |url| {
        suite_yaml(url, "").replace(
            "models:\n",
            "models:\n  - { name: accounts/acme/models/gpt-test, aliases: [\"llama3.1:8b\", \"claude-3-5-sonnet-v2@20241022\", \"openai/gpt-4o\"], deployments: [{ provider: mock, model: upstream-gpt }] }\n",
        )
    })
    .await;
    let key = canaries().key_b.clone();
    let names = [
        "accounts/acme/models/gpt-test",
        "llama3.1:8b",
        "claude-3-5-sonnet-v2@20241022",
        "openai/gpt-4o",
    ];
    for name in names {
        let (status, reply) = s.send(s.h.chat(Some(&key), &hello(name))).await;
        assert_eq!(status, 200, "{name}: {reply}");
    }
    assert_eq!(
        s.h.mock.total_requests(),
        u64::try_from(names.len()).unwrap()
    );
    s.finish().await;
}
