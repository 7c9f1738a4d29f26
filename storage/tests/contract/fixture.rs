//! Fresh stores for one contract case, per backend.

use std::sync::Arc;

use portcullis_storage::postgres::PostgresStorage;
use portcullis_storage::sqlite::SqliteStorage;
use portcullis_storage::testing::postgres::TestDatabase;

use portcullis_storage::{
    AuditLog, KeyStore, MemoryAuditLog, MemoryKeyStore, MemorySpendSink, SpendSink,
};

/// The stores of one backend, plus whatever keeps them alive (a temp dir, a database).
pub(crate) struct Fixture {
    pub keys: Arc<dyn KeyStore>,
    pub spend: Arc<dyn SpendSink>,
    pub audit: Arc<dyn AuditLog>,
    _guard: Box<dyn std::any::Any + Send + Sync>,
}

pub(crate) async fn memory() -> Option<Fixture> {
    Some(Fixture {
        keys: Arc::new(MemoryKeyStore::new()),
        spend: Arc::new(MemorySpendSink::new()),
        audit: Arc::new(MemoryAuditLog::new()),
        _guard: Box::new(()),
    })
}

pub(crate) async fn sqlite() -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteStorage::open(dir.path().join("portcullis.db")).unwrap();
    Some(Fixture {
        keys: Arc::new(db.key_store()),
        spend: Arc::new(db.spend_sink()),
        audit: Arc::new(db.audit_log()),
        _guard: Box::new(dir),
    })
}

pub(crate) async fn postgres() -> Option<Fixture> {
    let db = TestDatabase::create().await?;
    let store = PostgresStorage::from_config(db.config().clone(), 4)
        .await
        .unwrap();
    Some(Fixture {
        keys: Arc::new(store.key_store()),
        spend: Arc::new(store.spend_sink()),
        audit: Arc::new(store.audit_log()),
        _guard: Box::new(db),
    })
}
