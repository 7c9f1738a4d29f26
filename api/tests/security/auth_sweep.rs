//! Authentication, swept over every route of both listeners (from the gateway's own route
//! table, so a new route is covered without being listed here): no credential, path
//! variants, garbage and injection strings, conflicting credentials, the wrong listener's
//! credential, and unknown, revoked and expired keys answered alike.

use std::net::SocketAddr;
use std::time::Duration;

use portcullis_api::{RouteEntry, route_inventory};
use serde_json::json;

use crate::support::{RawReply, Suite, canaries, raw};

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
const WITHIN: Duration = Duration::from_secs(3);

/// A concrete path for a route pattern.
fn concrete(path: &str) -> String {
    path.replace("{id}", "team-a")
}

/// A raw request with `Connection: close`, an empty body and `extra` header lines.
fn request(method: &str, path: &str, extra: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\nContent-Length: 0\r\n{extra}\r\n"
    )
    .into_bytes()
}

fn body_of(reply: &RawReply) -> String {
    let text = String::from_utf8_lossy(&reply.bytes).into_owned();
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

/// No answer may list routes: the body of a refusal names no path of either listener.
fn assert_no_inventory(body: &str, context: &str) {
    let (public, admin) = route_inventory();
    for entry in public.iter().chain(&admin) {
        assert!(
            !body.contains(entry.path),
            "{context}: the answer names the route {}: {body}",
            entry.path
        );
    }
}

async fn sweep_status(addr: SocketAddr, method: &str, path: &str, extra: &str) -> RawReply {
    let reply = raw(addr, &request(method, path, extra), WITHIN).await;
    assert!(reply.status().is_some(), "{method} {path}: no answer");
    reply
}

#[actix_web::test]
async fn every_route_and_method_without_credentials_is_401_and_unknown_paths_404() {
    let mut s = Suite::start().await;
    let (public, admin) = route_inventory();
    let listeners: [(SocketAddr, &[RouteEntry]); 2] = [(s.public(), &public), (s.admin(), &admin)];
    let mut unauthorized: [Option<String>; 2] = [None, None];
    for (addr, entries) in listeners {
        for entry in entries {
            let path = concrete(entry.path);
            for method in METHODS {
                let reply = sweep_status(addr, method, &path, "").await;
                let status = reply.status().unwrap();
                s.saw(&reply.bytes);
                if !entry.needs_credential {
                    assert!(matches!(status, 200 | 401), "{method} {path}: {status}");
                    continue;
                }
                assert_eq!(status, 401, "{method} {path}");
                if *method != "HEAD" {
                    let body = body_of(&reply);
                    assert_no_inventory(&body, &path);
                    // The same refusal, word for word, whatever the route (in the
                    // route's dialect: Anthropic's shape on /v1/messages).
                    let dialect = usize::from(path.starts_with("/v1/messages"));
                    let first = unauthorized[dialect].get_or_insert_with(|| body.clone());
                    assert_eq!(&body, first, "{method} {path}");
                    assert!(body.contains("authentication_error"), "{body}");
                }
            }
        }
    }
    for (addr, path) in [
        (s.public(), "/v1/nope"),
        (s.public(), "/admin/keys"),
        (s.public(), "/metrics"),
        (s.admin(), "/v1/chat/completions"),
        (s.admin(), "/admin/nope"),
        (s.admin(), "/"),
    ] {
        let reply = sweep_status(addr, "GET", path, "").await;
        assert_eq!(reply.status(), Some(404), "{path}");
        assert_no_inventory(&body_of(&reply), path);
        s.saw(&reply.bytes);
    }
    s.finish().await;
}

/// Spellings of `path` that a lax router might map to it or a proxy might treat differently.
fn variants(path: &str) -> Vec<String> {
    let mut out = vec![
        format!("{path}/"),
        format!("/{path}"),
        path.replace('/', "//"),
        path.to_ascii_uppercase(),
        format!("{path};param=1"),
        format!("{path}/."),
        format!("{path}/../{}", path.rsplit('/').next().unwrap_or_default()),
        format!("{path}%00"),
        format!("{path}%2F"),
        path.replacen('/', "%2F", 2),
        format!("/x/..{path}"),
        format!("/.{path}"),
    ];
    // Percent-encode the first letter after the leading slash (`/v1` → `/%76` + `1`).
    if let Some(c) = path.chars().nth(1) {
        out.push(format!("/%{:02X}{}", c as u32, &path[2..]));
        out.push(format!("/%{:02x}{}", c as u32, &path[2..]));
    }
    out
}

#[actix_web::test]
async fn path_variants_never_bypass_authentication() {
    let mut s = Suite::start().await;
    let (public, admin) = route_inventory();
    let listeners: [(SocketAddr, &[RouteEntry]); 2] = [(s.public(), &public), (s.admin(), &admin)];
    for (addr, entries) in listeners {
        for entry in entries.iter().filter(|e| e.needs_credential) {
            for path in variants(&concrete(entry.path)) {
                let reply = sweep_status(addr, entry.method, &path, "").await;
                let status = reply.status().unwrap();
                assert!(
                    matches!(status, 400 | 401 | 404),
                    "{} {path}: {status}",
                    entry.method
                );
                assert_no_inventory(&body_of(&reply), &path);
                s.saw(&reply.bytes);
            }
        }
    }
    assert_eq!(s.h.mock.total_requests(), 0);
    s.finish().await;
}

/// Credential header lines no key matches, some that the HTTP layer itself refuses.
fn garbage_credentials() -> Vec<String> {
    let big = "A".repeat(8 * 1024);
    let mut lines = vec![
        "Authorization: \r\n".to_owned(),
        "Authorization: Bearer\r\n".to_owned(),
        "Authorization: Bearer \r\n".to_owned(),
        "Authorization: Basic Zm9vOmJhcg==\r\n".to_owned(),
        "Authorization: Bearer x\r\n".to_owned(),
        format!("Authorization: Bearer {big}\r\n"),
        format!("x-api-key: {big}\r\n"),
        "Authorization: Bearer ' OR '1'='1\r\n".to_owned(),
        "Authorization: Bearer \" OR 1=1; DROP TABLE keys; --\r\n".to_owned(),
        "Authorization: Bearer sk-1' UNION SELECT hash FROM keys--\r\n".to_owned(),
        "x-api-key: ') OR 1=1 --\r\n".to_owned(),
        "Authorization: Bearer ${jndi:ldap://127.0.0.1/a}\r\n".to_owned(),
        "Authorization: Bearer %00%0d%0a\r\n".to_owned(),
        "Authorization: Bearer a\0b\r\n".to_owned(),
        "Authorization: Bearer a\rb\r\n".to_owned(),
        "Authorization: Bearer a\r\nX-Injected: 1\r\n".to_owned(),
        "Authorization: Bearer \u{202e}\u{fe0f}sk\r\n".to_owned(),
        "Authorization: Bearer \t\r\n".to_owned(),
    ];
    // The stored form of a key is not a key.
    lines.push(format!("Authorization: Bearer {}\r\n", "0".repeat(64)));
    lines
}

#[actix_web::test]
async fn garbage_oversized_and_injection_credentials_get_the_same_401_never_5xx() {
    let mut s = Suite::start().await;
    let targets = [
        (s.public(), "GET", "/v1/models"),
        (s.public(), "POST", "/v1/chat/completions"),
        (s.public(), "POST", "/v1/messages"),
        (s.admin(), "GET", "/admin/keys"),
        (s.admin(), "GET", "/metrics"),
    ];
    for (addr, method, path) in targets {
        let reference = body_of(&sweep_status(addr, method, path, "").await);
        for line in garbage_credentials() {
            let reply = sweep_status(addr, method, path, &line).await;
            let status = reply.status().unwrap();
            let shown = line.escape_debug().to_string();
            let shown = &shown[..shown.len().min(60)];
            assert!(
                matches!(status, 400 | 401 | 431),
                "{method} {path} with {shown}: {status}"
            );
            if status == 401 {
                assert_eq!(body_of(&reply), reference, "{path} with {shown}");
            }
            assert!(
                !reply.head().contains("x-injected"),
                "{path}: a header was injected"
            );
            s.saw(&reply.bytes);
        }
    }
    assert_eq!(s.h.mock.total_requests(), 0);
    s.finish().await;
}

#[actix_web::test]
async fn conflicting_or_duplicate_credentials_are_a_400_and_nothing_goes_upstream() {
    let mut s = Suite::start().await;
    let c = canaries();
    let (a, b, master) = (&c.key_a, &c.key_b, &c.master);
    let cases = [
        format!("Authorization: Bearer {a}\r\nx-api-key: {b}\r\n"),
        format!("Authorization: Bearer {a}\r\nAuthorization: Bearer {b}\r\n"),
        format!("Authorization: Bearer {a}\r\nAuthorization: Bearer {a}\r\n"),
        format!("x-api-key: {a}\r\nx-api-key: {b}\r\n"),
        format!("Authorization: Bearer {a}\r\nx-api-key: nope\r\n"),
    ];
    let body =
        json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]}).to_string();
    for case in &cases {
        for (method, path) in [("GET", "/v1/models"), ("POST", "/v1/chat/completions")] {
            let head = format!(
                "{method} {path} HTTP/1.1\r\nHost: g\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{case}\r\n{body}",
                body.len()
            );
            let reply = raw(s.public(), head.as_bytes(), WITHIN).await;
            assert_eq!(reply.status(), Some(400), "{path}: {}", case.escape_debug());
            s.saw(&reply.bytes);
        }
    }
    for case in [
        format!("Authorization: Bearer {master}\r\nx-api-key: {a}\r\n"),
        format!("Authorization: Bearer {master}\r\nAuthorization: Bearer {master}\r\n"),
    ] {
        let reply = sweep_status(s.admin(), "GET", "/admin/keys", &case).await;
        assert_eq!(reply.status(), Some(400));
        s.saw(&reply.bytes);
    }
    // Agreeing credentials are one credential.
    let agree = format!("Authorization: Bearer {a}\r\nx-api-key: {a}\r\n");
    let reply = sweep_status(s.public(), "GET", "/v1/models", &agree).await;
    assert_eq!(reply.status(), Some(200));
    s.saw(&reply.bytes);
    assert_eq!(s.h.mock.total_requests(), 0);
    let scrape =
        crate::harness::send_text(s.h.http.get(s.h.admin_url("/metrics")).bearer_auth(master))
            .await;
    let counted = crate::harness::sample(
        &scrape,
        "portcullis_malformed_requests_total",
        &[("reason", "conflicting_credentials")],
    );
    assert!(counted >= 1.0, "conflicts are counted: {counted}");
    s.finish().await;
}

#[actix_web::test]
async fn each_listener_refuses_the_other_listeners_credential_on_every_route() {
    let mut s = Suite::start().await;
    let c = canaries();
    let (public, admin) = route_inventory();
    for entry in public.iter().filter(|e| e.needs_credential) {
        let line = format!("Authorization: Bearer {}\r\n", c.master);
        let reply = sweep_status(s.public(), entry.method, entry.path, &line).await;
        assert_eq!(reply.status(), Some(401), "master key on {}", entry.path);
        s.saw(&reply.bytes);
    }
    for entry in &admin {
        for key in [&c.key_a, &c.key_b] {
            let line = format!("Authorization: Bearer {key}\r\n");
            let path = concrete(entry.path);
            let reply = sweep_status(s.admin(), entry.method, &path, &line).await;
            assert_eq!(reply.status(), Some(401), "virtual key on {path}");
            s.saw(&reply.bytes);
        }
    }
    assert_eq!(s.h.mock.total_requests(), 0);
    s.finish().await;
}

/// Status, body and header names of an answer, without the per-request id and date.
async fn shape(s: &mut Suite, key: &str, path: &str) -> (u16, Vec<String>, String) {
    let request = if path == "/v1/models" {
        s.h.http.get(s.h.url(path))
    } else {
        s.h.http
            .post(s.h.url(path))
            .header("content-type", "application/json")
            .body(crate::harness::hello("gpt-test").to_string())
    };
    let response = request.bearer_auth(key).send().await.unwrap();
    let status = response.status().as_u16();
    let mut names: Vec<String> = response
        .headers()
        .keys()
        .map(|n| n.as_str().to_owned())
        .filter(|n| n != "date" && n != "x-request-id")
        .collect();
    names.sort();
    let body = response.text().await.unwrap();
    s.seen.push_str(&body);
    (status, names, body)
}

#[actix_web::test]
async fn unknown_revoked_and_expired_keys_get_identical_answers() {
    let mut s = Suite::start().await;
    let (status, created) = s
        .admin_call("POST", "/admin/keys", Some(json!({"name": "revoked"})))
        .await;
    assert_eq!(status, 201);
    let revoked = created["key"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, _) = s
        .admin_call("POST", &format!("/admin/keys/{id}/revoke"), None)
        .await;
    assert_eq!(status, 200);
    let (status, created) = s
        .admin_call(
            "POST",
            "/admin/keys",
            Some(json!({"name": "expired", "expires_at": 1_000})),
        )
        .await;
    assert_eq!(status, 201);
    let expired = created["key"].as_str().unwrap().to_owned();
    let unknown = format!("pk-{}", "Q".repeat(43));
    for path in ["/v1/models", "/v1/chat/completions"] {
        let reference = shape(&mut s, &unknown, path).await;
        assert_eq!(reference.0, 401);
        for key in [&revoked, &expired] {
            assert_eq!(shape(&mut s, key, path).await, reference, "{path}");
        }
    }
    assert_eq!(s.h.mock.total_requests(), 0);
    s.finish().await;
}
