//! PostgreSQL-only behaviour: one chain from several processes, tamper evidence, schema
//! versions. Each test skips loudly when no server is reachable.

use std::sync::Arc;

use portcullis_storage::postgres::PostgresStorage;
use portcullis_storage::testing::postgres::TestDatabase;
use portcullis_storage::{AuditLog, BreakReason, ChainBreak, StorageError, verify_log};
use tokio_postgres::NoTls;

use crate::audit_log::entry;

async fn raw(db: &TestDatabase) -> tokio_postgres::Client {
    let (client, connection) = db.config().connect(NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_independent_stores_appending_at_once_write_one_valid_chain() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    // Two pools, as two gateway processes would have.
    let a = PostgresStorage::from_config(db.config().clone(), 4)
        .await
        .unwrap()
        .audit_log();
    let b = PostgresStorage::from_config(db.config().clone(), 4)
        .await
        .unwrap()
        .audit_log();
    let logs: [Arc<dyn AuditLog>; 2] = [Arc::new(a), Arc::new(b)];
    let mut tasks = Vec::new();
    for n in 0..40u64 {
        let log = Arc::clone(&logs[(n % 2) as usize]);
        tasks.push(tokio::spawn(async move {
            log.append(entry(n)).await.unwrap().seq
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>());
    assert_eq!(verify_log(logs[0].as_ref()).await.unwrap(), Ok(40));
    assert_eq!(verify_log(logs[1].as_ref()).await.unwrap(), Ok(40));
}

async fn chain_of_five(db: &TestDatabase) -> Arc<dyn AuditLog> {
    let log = PostgresStorage::from_config(db.config().clone(), 2)
        .await
        .unwrap()
        .audit_log();
    for n in 1..=5 {
        log.append(entry(n)).await.unwrap();
    }
    Arc::new(log)
}

#[tokio::test]
async fn an_edited_audit_row_is_named_by_verify() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let log = chain_of_five(&db).await;
    raw(&db)
        .await
        .execute("UPDATE audit SET after = '{\"rpm\":1}' WHERE seq = 4", &[])
        .await
        .unwrap();
    let result = verify_log(log.as_ref()).await.unwrap();
    assert_eq!(
        result,
        Err(ChainBreak {
            seq: 4,
            reason: BreakReason::Altered
        })
    );
}

#[tokio::test]
async fn a_deleted_audit_row_is_named_missing() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let log = chain_of_five(&db).await;
    raw(&db)
        .await
        .execute("DELETE FROM audit WHERE seq = 3", &[])
        .await
        .unwrap();
    let result = verify_log(log.as_ref()).await.unwrap();
    assert_eq!(
        result,
        Err(ChainBreak {
            seq: 3,
            reason: BreakReason::Missing
        })
    );
}

#[tokio::test]
async fn a_schema_newer_than_the_binary_is_refused_naming_both_versions() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    drop(
        PostgresStorage::from_config(db.config().clone(), 1)
            .await
            .unwrap(),
    );
    raw(&db)
        .await
        .execute("INSERT INTO schema_version (version) VALUES (42)", &[])
        .await
        .unwrap();
    let err = PostgresStorage::from_config(db.config().clone(), 1)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StorageError::SchemaTooNew {
            found: 42,
            supported: 2
        }
    );
}

#[tokio::test]
async fn reconnecting_applies_no_migration_twice() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    for _ in 0..3 {
        drop(
            PostgresStorage::from_config(db.config().clone(), 1)
                .await
                .unwrap(),
        );
    }
    let rows = raw(&db)
        .await
        .query("SELECT version FROM schema_version ORDER BY version", &[])
        .await
        .unwrap();
    let versions: Vec<i64> = rows.iter().map(|r| r.get::<_, i64>(0)).collect();
    assert_eq!(versions, vec![1, 2], "each migration applied once");
}

#[tokio::test]
async fn a_refused_login_names_its_sqlstate_and_no_secret() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let mut config = db.config().clone();
    config
        .user("portcullis_no_such_user")
        .password("s3cret-canary");
    let err = PostgresStorage::from_config(config, 1).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StorageError::Backend { .. }), "{err:?}");
    assert!(!text.contains("s3cret-canary") && !format!("{err:?}").contains("s3cret-canary"));
}
