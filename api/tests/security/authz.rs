//! Authorization: a key acts only as itself. It cannot use another key's models, name
//! another key or team to be billed or scoped as, or reach the admin API; admin bodies
//! refuse fields a caller may not set (mass assignment), on every route that takes a body.

use std::time::Duration;

use portcullis_storage::{GroupBy, SpendGroup, SpendQuery};
use serde_json::{Value, json};

use crate::harness::hello;
use crate::support::{Suite, canaries};

#[actix_web::test]
async fn a_key_cannot_use_another_keys_models_or_be_billed_as_another_key_or_team() {
    let mut s = Suite::start().await;
    let c = canaries();
    let (status, _) = s
        .admin_call("POST", "/admin/teams", Some(json!({"id": "team-x"})))
        .await;
    assert_eq!(status, 201);
    // Key A may use gpt-test only: B's models are refused before anything goes upstream.
    for model in ["claude-test", "gpt-4o-mini"] {
        let (status, _) = s.send(s.h.chat(Some(&c.key_a), &hello(model))).await;
        assert_eq!(status, 403, "{model}");
    }
    assert_eq!(s.h.mock.total_requests(), 0);
    // Every way a body or header might name someone else: ignored or refused, never obeyed.
    let mut body = hello("gpt-test");
    body["user"] = json!("team-b");
    body["metadata"] = json!({"key": "team-b", "team": "team-x", "user_api_key": c.key_b});
    let request =
        s.h.chat(Some(&c.key_a), &body)
            .header("openai-organization", "team-x")
            .header("openai-project", "team-b")
            .header("x-portcullis-key", "team-b")
            .header("x-portcullis-team", "team-x")
            .header("anthropic-workspace", "team-x");
    let (status, _) = s.send(request).await;
    assert!(matches!(status, 200 | 400), "{status}");
    let (status, _) = s.send(s.h.chat(Some(&c.key_a), &hello("gpt-test"))).await;
    assert_eq!(status, 200);
    // Spend lands on key A alone, with no team; neither B nor team-x was billed.
    let query = SpendQuery {
        from_ms: 0,
        to_ms: i64::MAX,
        group_by: GroupBy::Key,
        key: None,
        team: None,
    };
    let mut rows = Vec::new();
    for _ in 0..150 {
        rows = s.stores.spend.report(query.clone()).await.unwrap();
        if rows.iter().map(|r| r.requests).sum::<u64>() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!rows.is_empty());
    for row in &rows {
        assert!(
            matches!(&row.group, SpendGroup::Key(id) if id.as_str() == "team-a"),
            "spend outside key A: {row:?}"
        );
    }
    let teams = s
        .stores
        .spend
        .report(SpendQuery {
            group_by: GroupBy::Team,
            ..query
        })
        .await
        .unwrap();
    assert!(
        teams.iter().all(|r| r.group == SpendGroup::Team(None)),
        "{teams:?}"
    );
    // The model list is the caller's own.
    let (status, models) = s
        .send(s.h.http.get(s.h.url("/v1/models")).bearer_auth(&c.key_a))
        .await;
    assert_eq!(status, 200);
    let models: Value = serde_json::from_str(&models).unwrap();
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, ["gpt-test"]);
    s.finish().await;
}

/// Fields no admin body may carry: state the gateway owns.
const OWNED_FIELDS: &[&str] = &[
    "spend",
    "id",
    "created_at",
    "updated_at",
    "revoked_at",
    "hash",
    "key_hash",
    "key",
    "team",
    "keys",
    "rotated_at",
    "previous_hash",
    "__proto__",
    "constructor",
    "Name",
];

#[actix_web::test]
async fn every_admin_body_refuses_fields_it_does_not_document() {
    let mut s = Suite::start().await;
    let (status, _) = s
        .admin_call("POST", "/admin/teams", Some(json!({"id": "t1"})))
        .await;
    assert_eq!(status, 201);
    let (status, key) = s
        .admin_call("POST", "/admin/keys", Some(json!({"id": "k1"})))
        .await;
    assert_eq!(status, 201, "{key}");
    let (_, openapi) = s.admin_call("GET", "/admin/openapi.json", None).await;
    let audit_before = s.stores.audit.list(0, 10_000).await.unwrap().len();
    let mut tried = 0;
    for (path, item) in openapi["paths"].as_object().unwrap() {
        let path = path.replace("{id}", if path.contains("teams") { "t1" } else { "k1" });
        for (method, operation) in item.as_object().unwrap() {
            let Some(schema) = operation.pointer("/requestBody/content/application~1json/schema")
            else {
                continue;
            };
            let documented = schema["properties"].as_object().unwrap();
            for field in OWNED_FIELDS
                .iter()
                .filter(|f| !documented.contains_key(**f))
            {
                let body = json!({ *field: 1 });
                let (status, reply) = s
                    .admin_call(&method.to_ascii_uppercase(), &path, Some(body))
                    .await;
                assert_eq!(status, 400, "{method} {path} with `{field}`: {reply}");
                tried += 1;
            }
        }
    }
    assert!(
        tried >= 30,
        "only {tried} attempts: the OpenAPI document lost its bodies?"
    );
    let audit_after = s.stores.audit.list(0, 10_000).await.unwrap().len();
    assert_eq!(
        audit_before, audit_after,
        "a refused body changed something"
    );
    s.finish().await;
}
