//! A planted provider credential never shows up anywhere a client or an operator's log
//! pipeline could see it.

use portcullis_loadtest::mock::Behaviour;
use serde_json::json;

use crate::harness::*;

#[actix_web::test]
async fn canary_credential_never_appears_in_responses_logs_or_debug_output() {
    let h = Harness::start().await;
    let mut seen = String::new();
    let scripts = [
        Behaviour::default(),
        Behaviour {
            status: Some(401),
            error_body: Some(format!(r#"{{"error":{{"message":"bad key {CANARY}"}}}}"#)),
            ..Behaviour::default()
        },
        Behaviour {
            status: Some(400),
            error_body: Some(format!(
                r#"{{"error":{{"message":"key {CANARY} invalid"}}}}"#
            )),
            ..Behaviour::default()
        },
        Behaviour {
            status: Some(500),
            error_body: Some(CANARY.to_owned()),
            ..Behaviour::default()
        },
        Behaviour {
            status: Some(429),
            error_body: Some(CANARY.to_owned()),
            retry_after: Some(0),
            ..Behaviour::default()
        },
    ];
    for script in scripts {
        h.mock.script_next(script);
        let response = h
            .chat(Some(KEY_ALL), &hello("other-model"))
            .send()
            .await
            .unwrap();
        seen.push_str(&format!("{:?}", response.headers()));
        seen.push_str(&response.text().await.unwrap());
    }
    let mut stream = hello("gpt-test");
    stream["stream"] = json!(true);
    seen.push_str(&send_text(h.chat(Some(KEY_A), &stream)).await);
    seen.push_str(&send_text(h.http.get(h.url("/v1/models")).bearer_auth(KEY_ALL)).await);
    for path in ["/metrics", "/health/ready"] {
        seen.push_str(&send_text(h.http.get(h.admin_url(path)).bearer_auth(MASTER)).await);
    }
    assert!(!seen.contains(CANARY), "canary in a response");
    let debug = format!("{:?}", h.config);
    assert!(!debug.contains(CANARY), "canary in Debug of the config");
    assert!(
        !debug.contains(KEY_A) && !debug.contains(MASTER),
        "a key in Debug of the config"
    );
    let logs = captured_logs();
    assert!(!logs.is_empty(), "log capture is not working");
    assert!(!logs.contains(CANARY), "canary in a log line");
    assert!(!logs.contains(KEY_A), "a virtual key in a log line");
    h.stop().await;
}
