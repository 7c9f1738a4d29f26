//! SQLite-only behaviour: durability across reopening, schema versions, tamper evidence.

use portcullis_storage::sqlite::SqliteStorage;
use portcullis_storage::{
    AuditLog, BreakReason, ChainBreak, KeyDisplay, KeyHash, KeyId, KeyRecord, KeyStore, SpendScope,
    SpendSink, StorageError, Team, TeamId, verify_log,
};

use crate::audit_log::entry;

#[tokio::test]
async fn data_survives_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-yet").join("p.db");
    {
        let db = SqliteStorage::open(&path).unwrap();
        db.key_store()
            .create_team(Team::new(TeamId::parse("t").unwrap(), "t", 1))
            .await
            .unwrap();
        let mut key = KeyRecord::new(
            KeyId::parse("k").unwrap(),
            "k",
            KeyHash([7; 32]),
            KeyDisplay::of("pk-abcd"),
            1,
        );
        key.team = Some(TeamId::parse("t").unwrap());
        db.key_store().create_key(key).await.unwrap();
        db.spend_sink()
            .record_batch(vec![crate::spend_sink_record(5)])
            .await
            .unwrap();
        db.audit_log().append(entry(1)).await.unwrap();
    }
    let db = SqliteStorage::open(&path).unwrap();
    let key = db
        .key_store()
        .get(&KeyHash([7; 32]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(key.team, Some(TeamId::parse("t").unwrap()));
    let spent = db
        .spend_sink()
        .total(SpendScope::Key(KeyId::parse("k").unwrap()), 0)
        .await
        .unwrap();
    assert_eq!(spent, 5);
    db.audit_log().append(entry(2)).await.unwrap();
    assert_eq!(verify_log(&db.audit_log()).await.unwrap(), Ok(2));
}

#[tokio::test]
async fn a_schema_newer_than_the_binary_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    drop(SqliteStorage::open(&path).unwrap());
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute("INSERT INTO schema_version (version) VALUES (999)", [])
        .unwrap();
    drop(raw);
    let err = SqliteStorage::open(&path).unwrap_err();
    assert_eq!(
        err,
        StorageError::SchemaTooNew {
            found: 999,
            supported: 2
        }
    );
    let text = err.to_string();
    assert!(text.contains("999") && text.contains("(2)"), "{text}");
}

async fn chain_of_five() -> (tempfile::TempDir, SqliteStorage, rusqlite::Connection) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let db = SqliteStorage::open(&path).unwrap();
    for n in 1..=5 {
        db.audit_log().append(entry(n)).await.unwrap();
    }
    let raw = rusqlite::Connection::open(&path).unwrap();
    (dir, db, raw)
}

#[tokio::test]
async fn an_edited_audit_row_is_named_by_verify() {
    let (_dir, db, raw) = chain_of_five().await;
    raw.execute("UPDATE audit SET actor = 'someone-else' WHERE seq = 3", [])
        .unwrap();
    let result = verify_log(&db.audit_log()).await.unwrap();
    assert_eq!(
        result,
        Err(ChainBreak {
            seq: 3,
            reason: BreakReason::Altered
        })
    );
}

#[tokio::test]
async fn a_deleted_audit_row_is_named_missing() {
    let (_dir, db, raw) = chain_of_five().await;
    raw.execute("DELETE FROM audit WHERE seq = 2", []).unwrap();
    let result = verify_log(&db.audit_log()).await.unwrap();
    assert_eq!(
        result,
        Err(ChainBreak {
            seq: 2,
            reason: BreakReason::Missing
        })
    );
}

#[tokio::test]
async fn a_deleted_newest_audit_row_is_named_against_the_head() {
    let (_dir, db, raw) = chain_of_five().await;
    raw.execute("DELETE FROM audit WHERE seq = 5", []).unwrap();
    let result = verify_log(&db.audit_log()).await.unwrap();
    assert_eq!(
        result,
        Err(ChainBreak {
            seq: 5,
            reason: BreakReason::Missing
        })
    );
}

#[tokio::test]
async fn the_spend_writer_lands_every_record_in_the_file_by_shutdown() {
    use portcullis_storage::{SpendWriter, SpendWriterConfig};
    use std::sync::Arc;
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let db = SqliteStorage::open(dir.path().join("p.db")).unwrap();
    let config = SpendWriterConfig {
        capacity: 1_000,
        flush_at: 32,
        max_batch: 32,
        flush_every: Duration::from_secs(3600),
    };
    let (writer, task) = SpendWriter::spawn(Arc::new(db.spend_sink()), config);
    for _ in 0..100 {
        assert!(writer.try_record(crate::spend_sink_record(3)));
    }
    let stats = task.shutdown().await;
    assert_eq!(
        (stats.accepted, stats.written, stats.dropped, stats.failed),
        (100, 100, 0, 0)
    );
    let total = db
        .spend_sink()
        .total(SpendScope::Key(KeyId::parse("k").unwrap()), 0)
        .await
        .unwrap();
    assert_eq!(total, 300);
}
