//! Authentication and authorization at both listeners.

use serde_json::Value;

use crate::harness::*;

#[actix_web::test]
async fn missing_or_invalid_key_gets_401_and_nothing_goes_upstream() {
    let h = Harness::start().await;
    let (status, body) = send_json(h.chat(None, &hello("gpt-test"))).await;
    assert_eq!(status, 401);
    assert_eq!(error_type(&body), "authentication_error");
    let (status, _) =
        send_json(h.chat(Some("sk-not-a-real-key-000000000"), &hello("gpt-test"))).await;
    assert_eq!(status, 401);
    // The master key is not a data-plane credential.
    let (status, _) = send_json(h.chat(Some(MASTER), &hello("gpt-test"))).await;
    assert_eq!(status, 401);
    assert_eq!(h.mock.total_requests(), 0);
    h.stop().await;
}

#[actix_web::test]
async fn x_api_key_header_is_accepted() {
    let h = Harness::start().await;
    let request = h
        .http
        .post(h.url("/v1/chat/completions"))
        .header("x-api-key", KEY_A)
        .header("content-type", "application/json")
        .body(hello("gpt-test").to_string());
    let (status, body) = send_json(request).await;
    assert_eq!(status, 200, "{body}");
    h.stop().await;
}

#[actix_web::test]
async fn disallowed_model_gets_403_and_the_mock_sees_nothing() {
    let h = Harness::start().await;
    let (status, body) = send_json(h.chat(Some(KEY_A), &hello("other-model"))).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(error_type(&body), "permission_error");
    // A model that does not exist is also refused for a restricted key, without saying so.
    let (status, _) = send_json(h.chat(Some(KEY_A), &hello("no-such-model"))).await;
    assert_eq!(status, 403);
    assert_eq!(h.mock.total_requests(), 0);
    // A key allowed everything gets 404 for a model that does not exist.
    let (status, body) = send_json(h.chat(Some(KEY_ALL), &hello("no-such-model"))).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "model_not_found");
    assert_eq!(h.mock.total_requests(), 0);
    h.stop().await;
}

#[actix_web::test]
async fn models_list_is_filtered_per_key_and_names_no_provider() {
    let h = Harness::start().await;
    let ids = |body: &Value| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, body) = send_json(h.http.get(h.url("/v1/models")).bearer_auth(KEY_A)).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&body), ["gpt-test"]);
    let (_, body) = send_json(h.http.get(h.url("/v1/models")).bearer_auth(KEY_ALL)).await;
    assert_eq!(ids(&body), ["gpt-test", "other-model"]);
    let text = body.to_string();
    for leak in ["mock", "upstream-gpt", "127.0.0.1", "openai_compatible"] {
        assert!(!text.contains(leak), "{leak} leaked in {text}");
    }
    let (status, _) = send_json(h.http.get(h.url("/v1/models"))).await;
    assert_eq!(status, 401);
    h.stop().await;
}

#[actix_web::test]
async fn admin_routes_need_the_master_key_and_only_it() {
    let h = Harness::start().await;
    for path in ["/metrics", "/health/ready"] {
        let no_key = h.http.get(h.admin_url(path)).send().await.unwrap();
        assert_eq!(no_key.status(), 401, "{path}");
        let virtual_key = h
            .http
            .get(h.admin_url(path))
            .bearer_auth(KEY_ALL)
            .send()
            .await
            .unwrap();
        assert_eq!(virtual_key.status(), 401, "{path}");
        let master = h
            .http
            .get(h.admin_url(path))
            .bearer_auth(MASTER)
            .send()
            .await
            .unwrap();
        assert_eq!(master.status(), 200, "{path}");
    }
    // Admin routes do not exist on the public listener at all.
    let (status, body) = send_json(h.http.get(h.url("/metrics")).bearer_auth(MASTER)).await;
    assert_eq!(status, 404);
    assert_eq!(error_type(&body), "invalid_request_error");
    h.stop().await;
}

#[actix_web::test]
async fn liveness_is_public_and_says_only_ok() {
    let h = Harness::start().await;
    let response = h.http.get(h.url("/health/live")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), r#"{"status":"ok"}"#);
    let (status, body) = send_json(h.http.get(h.url("/v1/anything"))).await;
    assert_eq!(status, 404);
    error_type(&body);
    let (status, body) =
        send_json(h.http.get(h.url("/v1/chat/completions")).bearer_auth(KEY_A)).await;
    assert_eq!(status, 405);
    error_type(&body);
    h.stop().await;
}
