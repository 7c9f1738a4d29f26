//! The admin API's keys: shown once, stored as a hash, rotated with grace, revoked, expired,
//! restricted by address, and never reachable by a virtual key.

use std::time::{Duration, Instant};

use portcullis_storage::KeyHasher;
use serde_json::{Value, json};

use crate::harness::{KEY_ALL, PEPPER, error_type};
use crate::keys_harness::start_memory;

#[actix_web::test]
async fn secret_is_returned_once_and_never_again_by_any_route() {
    let h = start_memory().await;
    let (id, secret) = h.create_key(json!({ "name": "ci" })).await;
    assert!(
        secret.starts_with("pk-") && secret.len() >= 3 + 43,
        "{secret}"
    );
    assert_eq!(h.chat_status(&secret, "gpt-test").await, 200);
    let last4 = &secret[secret.len() - 4..];
    let mut seen = Vec::new();
    for path in [
        format!("/admin/keys/{id}"),
        "/admin/keys".to_owned(),
        "/admin/spend".to_owned(),
    ] {
        let (status, body) = h.admin("GET", &path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        seen.push(body.to_string());
    }
    let (_, updated) = h
        .admin(
            "PATCH",
            &format!("/admin/keys/{id}"),
            Some(json!({"name": "ci2"})),
        )
        .await;
    seen.push(updated.to_string());
    let (_, revoked) = h
        .admin("POST", &format!("/admin/keys/{id}/revoke"), None)
        .await;
    seen.push(revoked.to_string());
    let (_, doc) = h.admin("GET", "/admin/openapi.json", None).await;
    seen.push(doc.to_string());
    for text in &seen {
        assert!(!text.contains(&secret), "secret leaked: {text}");
        assert!(!text.contains(&secret[3..20]), "secret part leaked: {text}");
    }
    assert!(
        seen[0].contains(last4) && seen[0].contains("\"prefix\":\"pk-\""),
        "{}",
        seen[0]
    );
    h.stop().await;
}

#[actix_web::test]
async fn the_stored_hash_presented_as_a_key_is_refused() {
    let h = start_memory().await;
    let (_, secret) = h.create_key(json!({})).await;
    let hash = KeyHasher::new(PEPPER.as_bytes()).hash(&secret);
    let hex: String = hash.0.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(h.chat_status(&hex, "gpt-test").await, 401);
    assert_eq!(h.chat_status(&secret, "gpt-test").await, 200);
    h.stop().await;
}

#[actix_web::test]
async fn rotation_keeps_the_old_key_for_the_grace_period_then_refuses_it() {
    let h = start_memory().await;
    let (id, old) = h.create_key(json!({})).await;
    assert_eq!(h.chat_status(&old, "gpt-test").await, 200);
    let (status, rotated) = h
        .admin(
            "POST",
            &format!("/admin/keys/{id}/rotate"),
            Some(json!({"grace_period": "1s"})),
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["key"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(h.chat_status(&new, "gpt-test").await, 200);
    assert_eq!(
        h.chat_status(&old, "gpt-test").await,
        200,
        "old key inside its grace"
    );
    let until = rotated["previous_key_valid_until"].as_i64().unwrap();
    // Bounded poll for the end of the grace period (1 s, plus slack).
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut status = 200;
    while Instant::now() < deadline {
        status = h.chat_status(&old, "gpt-test").await;
        if status == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, 401, "old key still works after grace_until={until}");
    assert_eq!(h.chat_status(&new, "gpt-test").await, 200);
    // A rotation without grace stops the old key at once.
    let (_, again) = h
        .admin("POST", &format!("/admin/keys/{id}/rotate"), None)
        .await;
    assert_eq!(h.chat_status(&new, "gpt-test").await, 401);
    assert_eq!(
        h.chat_status(again["key"].as_str().unwrap(), "gpt-test")
            .await,
        200
    );
    h.stop().await;
}

#[actix_web::test]
async fn revoke_refuses_the_key_at_once_even_when_cached() {
    let h = start_memory().await;
    let (id, secret) = h.create_key(json!({})).await;
    // Twice, so the key is in the auth cache.
    assert_eq!(h.chat_status(&secret, "gpt-test").await, 200);
    assert_eq!(h.chat_status(&secret, "gpt-test").await, 200);
    let (status, body) = h
        .admin("POST", &format!("/admin/keys/{id}/revoke"), None)
        .await;
    assert_eq!(status, 200);
    assert!(body["revoked_at"].is_i64(), "{body}");
    assert_eq!(h.chat_status(&secret, "gpt-test").await, 401);
    let (status, _) = h.admin("DELETE", &format!("/admin/keys/{id}"), None).await;
    assert_eq!(status, 200);
    let (status, body) = h.admin("GET", &format!("/admin/keys/{id}"), None).await;
    assert_eq!(status, 404);
    assert_eq!(error_type(&body), "invalid_request_error");
    h.stop().await;
}

#[actix_web::test]
async fn deleting_a_team_disables_every_key_of_it() {
    let h = start_memory().await;
    let (status, team) = h
        .admin(
            "POST",
            "/admin/teams",
            Some(json!({"id": "t1", "scope": {"models": {"only": ["gpt-test"]}}})),
        )
        .await;
    assert_eq!(status, 201, "{team}");
    assert_eq!(team["limits_enforced"], true);
    let (_, a) = h.create_key(json!({"team": "t1"})).await;
    let (_, b) = h.create_key(json!({"team": "t1"})).await;
    assert_eq!(h.chat_status(&a, "gpt-test").await, 200);
    assert_eq!(
        h.chat_status(&b, "other-model").await,
        403,
        "team scope narrows the key"
    );
    let (status, deleted) = h.admin("DELETE", "/admin/teams/t1", None).await;
    assert_eq!(status, 200);
    assert_eq!(deleted["deleted_keys"].as_array().unwrap().len(), 2);
    assert_eq!(h.chat_status(&a, "gpt-test").await, 401);
    assert_eq!(h.chat_status(&b, "gpt-test").await, 401);
    h.stop().await;
}

#[actix_web::test]
async fn a_virtual_key_can_neither_read_change_nor_delete_another_key() {
    let h = start_memory().await;
    let (id_b, key_b) = h.create_key(json!({"name": "b"})).await;
    let (_, key_a) = h.create_key(json!({"name": "a"})).await;
    for auth in [key_a.as_str(), KEY_ALL] {
        for (method, path, body) in [
            ("GET", format!("/admin/keys/{id_b}"), None),
            ("GET", "/admin/keys".to_owned(), None),
            (
                "PATCH",
                format!("/admin/keys/{id_b}"),
                Some(json!({"name": "x"})),
            ),
            ("POST", format!("/admin/keys/{id_b}/rotate"), None),
            ("POST", format!("/admin/keys/{id_b}/revoke"), None),
            ("DELETE", format!("/admin/keys/{id_b}"), None),
            ("GET", "/admin/spend".to_owned(), None),
        ] {
            let (status, reply) = h.admin_as(Some(auth), method, &path, body).await;
            assert_eq!(status, 401, "{method} {path}: {reply}");
            assert_eq!(error_type(&reply), "authentication_error");
        }
    }
    // The admin routes do not exist on the public listener.
    let public = h
        .http
        .get(h.url(&format!("/admin/keys/{id_b}")))
        .bearer_auth(&key_a)
        .send()
        .await
        .unwrap();
    assert_eq!(public.status().as_u16(), 404);
    let public = h
        .http
        .delete(h.url(&format!("/admin/keys/{id_b}")))
        .bearer_auth(&key_a)
        .send()
        .await
        .unwrap();
    assert_eq!(public.status().as_u16(), 404);
    assert_eq!(h.chat_status(&key_b, "gpt-test").await, 200, "B untouched");
    h.stop().await;
}

#[actix_web::test]
async fn mass_assignment_fields_and_bad_ids_are_refused() {
    let h = start_memory().await;
    for body in [
        json!({"name": "x", "hash": "00"}),
        json!({"name": "x", "revoked_at": 1}),
        json!({"name": "x", "created_at": 1}),
        json!({"name": "x", "key": "pk-chosen-by-client-0000000000000000"}),
        json!({"name": "x", "scope": {"admin": true}}),
    ] {
        let (status, reply) = h.admin("POST", "/admin/keys", Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {reply}");
        assert_eq!(error_type(&reply), "invalid_request_error");
    }
    let (id, _) = h.create_key(json!({})).await;
    let (status, _) = h
        .admin(
            "PATCH",
            &format!("/admin/keys/{id}"),
            Some(json!({"team": "t"})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = h
        .admin("POST", "/admin/teams", Some(json!({"id": "t", "keys": []})))
        .await;
    assert_eq!(status, 400);
    let (status, _) = h.admin("GET", "/admin/keys/bad%20id", None).await;
    assert_eq!(status, 400);
    let (status, _) = h.admin("GET", "/admin/keys/absent", None).await;
    assert_eq!(status, 404);
    let (status, _) = h
        .admin("POST", "/admin/keys", Some(json!({"team": "absent"})))
        .await;
    assert_eq!(status, 404);
    h.stop().await;
}

#[actix_web::test]
async fn an_expired_key_is_refused() {
    let h = start_memory().await;
    let (_, expired) = h.create_key(json!({"expires_at": 1_000})).await;
    assert_eq!(h.chat_status(&expired, "gpt-test").await, 401);
    let far = 4_102_444_800_000i64; // 2100-01-01
    let (id, live) = h.create_key(json!({"expires_at": far})).await;
    assert_eq!(h.chat_status(&live, "gpt-test").await, 200);
    let (status, _) = h
        .admin(
            "PATCH",
            &format!("/admin/keys/{id}"),
            Some(json!({"expires_at": 1_000})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(h.chat_status(&live, "gpt-test").await, 401);
    h.stop().await;
}

#[actix_web::test]
async fn a_cidr_restricted_key_works_only_from_its_networks() {
    let h = start_memory().await;
    let (_, outside) = h
        .create_key(json!({"scope": {"sources": {"only": ["10.0.0.0/8"]}}}))
        .await;
    let (status, body): (u16, Value) =
        crate::harness::send_json(h.chat(Some(&outside), &crate::harness::hello("gpt-test"))).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(error_type(&body), "permission_error");
    let (_, inside) = h
        .create_key(json!({"scope": {"sources": {"only": ["127.0.0.0/8"]}}}))
        .await;
    assert_eq!(h.chat_status(&inside, "gpt-test").await, 200);
    h.stop().await;
}

#[actix_web::test]
async fn model_scope_of_a_stored_key_is_enforced() {
    let h = start_memory().await;
    let (_, key) = h
        .create_key(json!({"scope": {"models": {"only": ["gpt-test"]}}}))
        .await;
    assert_eq!(h.chat_status(&key, "gpt-test").await, 200);
    assert_eq!(h.chat_status(&key, "other-model").await, 403);
    h.stop().await;
}
