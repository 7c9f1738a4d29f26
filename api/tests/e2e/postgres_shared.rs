//! Two gateways sharing one PostgreSQL database write one audit chain, and a key created
//! through one works on the other. Skipped loudly without a server, unless
//! `PORTCULLIS_REQUIRE_SERVICES=1`.

use portcullis_api::Stores;
use portcullis_loadtest::mock::MockOptions;
use portcullis_storage::postgres::PostgresStorage;
use portcullis_storage::testing::postgres::TestDatabase;
use serde_json::json;

use crate::harness::Harness;
use crate::keys_harness::durable_yaml;

async fn gateway_on(db: &TestDatabase) -> Harness {
    let storage = PostgresStorage::from_config(db.config().clone(), 4)
        .await
        .unwrap();
    Harness::start_from(
        MockOptions::default(),
        |url| durable_yaml(url, "  backend: memory"),
        Some(Stores::postgres(&storage)),
    )
    .await
}

#[actix_web::test]
async fn two_gateways_sharing_postgres_write_one_valid_audit_chain() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let (a, b) = (gateway_on(&db).await, gateway_on(&db).await);
    let mut tasks = Vec::new();
    for (i, h) in [&a, &b].into_iter().enumerate() {
        for j in 0..10 {
            tasks.push(h.admin(
                "POST",
                "/admin/teams",
                Some(json!({"id": format!("t{i}-{j}")})),
            ));
        }
    }
    for (status, body) in futures_util::future::join_all(tasks).await {
        assert_eq!(status, 201, "{body}");
    }
    let (id, key) = a.create_key(json!({})).await;
    assert_eq!(
        b.chat_status(&key, "gpt-test").await,
        200,
        "key created on A works on B"
    );
    let (status, _) = b
        .admin("POST", &format!("/admin/keys/{id}/revoke"), None)
        .await;
    assert_eq!(status, 200);
    let storage = PostgresStorage::from_config(db.config().clone(), 2)
        .await
        .unwrap();
    let log = storage.audit_log();
    let checked = portcullis_storage::verify_log(&log).await.unwrap();
    assert_eq!(
        checked,
        Ok(22),
        "20 teams, one key create, one revoke, one chain"
    );
    a.stop().await;
    b.stop().await;
}

/// Two gateways on one PostgreSQL and one Redis (the limiter's, which carries key events).
async fn gateway_on_with_redis(db: &TestDatabase, redis_url_file: &std::path::Path) -> Harness {
    let storage = PostgresStorage::from_config(db.config().clone(), 4)
        .await
        .unwrap();
    let url_ref = format!("file:{}", redis_url_file.display());
    Harness::start_from(
        MockOptions::default(),
        move |url| {
            format!(
                "{}limits:\n  backend: redis\n  redis: {{ url: \"{url_ref}\" }}\n",
                durable_yaml(url, "  backend: memory")
            )
        },
        Some(Stores::postgres(&storage)),
    )
    .await
}

#[actix_web::test]
async fn a_key_revoked_on_one_replica_is_refused_by_another_within_a_second() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let Some(redis) = portcullis_storage::testing::RedisServer::start().unwrap() else {
        return;
    };
    let url_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(url_file.path(), redis.url()).unwrap();
    let (a, b) = (
        gateway_on_with_redis(&db, url_file.path()).await,
        gateway_on_with_redis(&db, url_file.path()).await,
    );
    let (id, key) = a.create_key(json!({})).await;
    // A caches the key (its TTL alone would keep it usable there for up to 5 s).
    assert_eq!(a.chat_status(&key, "gpt-test").await, 200);
    // Let both subscriptions settle before the revoke is published.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (status, _) = b
        .admin("POST", &format!("/admin/keys/{id}/revoke"), None)
        .await;
    assert_eq!(status, 200);
    let revoked_at = std::time::Instant::now();
    let mut refused = false;
    while revoked_at.elapsed() < std::time::Duration::from_secs(1) {
        if a.chat_status(&key, "gpt-test").await == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        refused,
        "replica A still accepted a key revoked on B after 1 s"
    );
    a.stop().await;
    b.stop().await;
}

#[actix_web::test]
async fn ready_reports_the_database_and_turns_503_while_it_is_unreachable() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let h = gateway_on(&db).await;
    let ready = || {
        crate::harness::send_json(
            h.http
                .get(h.admin_url("/health/ready"))
                .bearer_auth(crate::harness::MASTER),
        )
    };
    let (status, body) = ready().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["storage"], "postgres");

    db.set_reachable(false).await.unwrap();
    let (status, body) = ready().await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not_ready");
    assert_ne!(body["database"], "ok");
    let text = body.to_string();
    assert!(!text.contains(db.name()), "no connection details: {text}");

    db.set_reachable(true).await.unwrap();
    let (status, body) = ready().await;
    assert_eq!(status, 200, "recovers: {body}");
    h.stop().await;
}
