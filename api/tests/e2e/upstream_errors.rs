//! Provider failures become OpenAI-shaped errors that say what kind of thing failed.

use portcullis_loadtest::mock::Behaviour;

use crate::harness::*;

#[actix_web::test]
async fn upstream_429_maps_to_429_with_retry_after() {
    let h = Harness::start().await;
    h.mock.script_next(Behaviour {
        status: Some(429),
        retry_after: Some(3),
        ..Behaviour::default()
    });
    let response = h
        .chat(Some(KEY_A), &hello("gpt-test"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(error_type(&body), "rate_limit_error");
    // The deployment now cools down: the next request is answered without calling upstream.
    let before = h.mock.total_requests();
    let (status, _) = send_json(h.chat(Some(KEY_A), &hello("gpt-test"))).await;
    assert_eq!(status, 429);
    assert_eq!(h.mock.total_requests(), before);
    h.stop().await;
}

#[actix_web::test]
async fn upstream_500_maps_to_502_without_echoing_the_body() {
    let h = Harness::start().await;
    let planted = format!("internal trace: db password hunter2 key {CANARY}");
    // Every attempt fails (a 500 is retried).
    h.mock.script_model(
        "upstream-gpt",
        Behaviour {
            status: Some(500),
            error_body: Some(planted),
            ..Behaviour::default()
        },
    );
    let response = h
        .chat(Some(KEY_A), &hello("gpt-test"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains("hunter2") && !text.contains(CANARY),
        "{text}"
    );
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(error_type(&body), "upstream_error");
    assert_eq!(body["error"]["code"], "upstream_status");
    h.stop().await;
}

#[actix_web::test]
async fn upstream_400_passes_the_providers_message_scrubbed_of_credentials() {
    let h = Harness::start().await;
    let body = format!(
        r#"{{"error":{{"message":"context too long for key {CANARY}","type":"invalid_request_error"}}}}"#
    );
    h.mock.script_next(Behaviour {
        status: Some(400),
        error_body: Some(body),
        ..Behaviour::default()
    });
    let (status, response) = send_json(h.chat(Some(KEY_A), &hello("gpt-test"))).await;
    assert_eq!(status, 400);
    let message = response["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("context too long"), "{message}");
    assert!(!message.contains(CANARY), "{message}");
    h.stop().await;
}

#[actix_web::test]
async fn upstream_redirects_are_never_followed() {
    let h = Harness::start().await;
    let target = format!("{}/chat/completions", h.mock.base_url());
    h.mock.script_next(Behaviour {
        redirect_to: Some(target),
        ..Behaviour::default()
    });
    let (status, body) = send_json(h.chat(Some(KEY_A), &hello("gpt-test"))).await;
    assert_eq!(status, 502);
    assert_eq!(body["error"]["code"], "upstream_redirect");
    assert_eq!(h.mock.total_requests(), 1, "the redirect was followed");
    h.stop().await;
}

#[actix_web::test]
async fn upstream_rejecting_the_credential_is_a_502_not_a_client_401() {
    let h = Harness::start().await;
    h.mock.script_next(Behaviour {
        status: Some(401),
        ..Behaviour::default()
    });
    let (status, body) = send_json(h.chat(Some(KEY_A), &hello("gpt-test"))).await;
    assert_eq!(status, 502);
    assert_eq!(body["error"]["code"], "upstream_unauthorized");
    h.stop().await;
}

#[actix_web::test]
async fn a_provider_slower_than_the_first_byte_timeout_gets_504() {
    let h = Harness::start().await;
    // The harness config sets first_byte: 1s.
    let latency = std::time::Duration::from_millis(1500);
    // Every attempt is slow (a timeout before the first byte is retried).
    h.mock.script_model(
        "upstream-gpt",
        Behaviour {
            latency,
            ..Behaviour::default()
        },
    );
    let (status, body) = send_json(h.chat(Some(KEY_A), &hello("gpt-test"))).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "upstream_timeout");
    h.stop().await;
}
