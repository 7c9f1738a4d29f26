//! CORS on the public listener: preflights answered before authentication, only listed
//! origins may read answers, never on the admin listener, nothing when `server.cors` is unset.

use portcullis_loadtest::mock::MockOptions;
use reqwest::Method;
use reqwest::header::HeaderMap;

use crate::harness::*;

const APP: &str = "https://app.example.com";
const EVIL: &str = "https://evil.example.net";

async fn start() -> Harness {
    Harness::start_configured(MockOptions::default(), |yaml| {
        yaml.replace(
            "  workers: 1\n",
            "  workers: 1\n  cors:\n    allowed_origins: [\"https://App.example.com\"]\n    allowed_headers: [x-team-trace]\n    max_age: 5m\n",
        )
    })
    .await
}

fn preflight(h: &Harness, url: String, origin: &str, headers: &str) -> reqwest::RequestBuilder {
    h.http
        .request(Method::OPTIONS, url)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", headers)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[actix_web::test]
async fn a_listed_origin_gets_its_preflight_answered_without_a_key() {
    let h = start().await;
    let response = preflight(
        &h,
        h.url("/v1/chat/completions"),
        APP,
        "authorization, content-type, x-stainless-os, x-team-trace, x-evil",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 204);
    let headers = response.headers();
    assert_eq!(header(headers, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(headers, "access-control-allow-methods"),
        Some("GET, POST")
    );
    assert_eq!(
        header(headers, "access-control-allow-headers"),
        Some("authorization, content-type, x-stainless-os, x-team-trace")
    );
    assert_eq!(header(headers, "access-control-max-age"), Some("300"));
    assert!(header(headers, "access-control-allow-credentials").is_none());
    assert_eq!(h.mock.total_requests(), 0);
    h.stop().await;
}

#[actix_web::test]
async fn an_unlisted_origin_is_refused_in_the_paths_dialect_and_reads_nothing() {
    let h = start().await;
    let (status, body) = send_json(preflight(
        &h,
        h.url("/v1/chat/completions"),
        EVIL,
        "authorization",
    ))
    .await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "cors_origin_not_allowed");
    let (status, body) = send_json(preflight(&h, h.url("/v1/messages"), EVIL, "x-api-key")).await;
    assert_eq!(status, 403);
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], "permission_error", "{body}");
    // A simple request from it is still served (the key is what authorizes), but a browser
    // may not read the answer.
    let response = h
        .chat(Some(KEY_A), &hello("gpt-test"))
        .header("origin", EVIL)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(header(response.headers(), "access-control-allow-origin").is_none());
    assert_eq!(header(response.headers(), "vary"), Some("origin"));
    h.stop().await;
}

#[actix_web::test]
async fn answers_to_a_listed_origin_are_readable_errors_included() {
    let h = start().await;
    let response = h
        .chat(Some(KEY_A), &hello("gpt-test"))
        .header("origin", APP)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(header(headers, "access-control-allow-origin"), Some(APP));
    let exposed = header(headers, "access-control-expose-headers").unwrap();
    assert!(exposed.contains("x-request-id") && exposed.contains("retry-after"));
    let response = h
        .chat(None, &hello("gpt-test"))
        .header("origin", APP)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        header(response.headers(), "access-control-allow-origin"),
        Some(APP)
    );
    h.stop().await;
}

#[actix_web::test]
async fn the_admin_listener_and_a_gateway_without_cors_answer_no_preflight() {
    let h = start().await;
    let response = preflight(&h, h.admin_url("/admin/keys"), APP, "authorization")
        .send()
        .await
        .unwrap();
    assert_ne!(response.status(), 204);
    assert!(header(response.headers(), "access-control-allow-origin").is_none());
    h.stop().await;

    let h = Harness::start().await;
    let response = preflight(&h, h.url("/v1/chat/completions"), APP, "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(header(response.headers(), "access-control-allow-origin").is_none());
    let response = h
        .chat(Some(KEY_A), &hello("gpt-test"))
        .header("origin", APP)
        .send()
        .await
        .unwrap();
    assert!(header(response.headers(), "access-control-allow-origin").is_none());
    h.stop().await;
}
