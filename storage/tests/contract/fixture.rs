//! Fresh stores for one contract case, per backend.

use std::sync::Arc;

use portcullis_storage::{KeyStore, MemoryKeyStore, MemorySpendSink, SpendSink};

/// The stores of one backend, plus whatever keeps them alive (a temp dir, a database).
pub struct Fixture {
    pub keys: Arc<dyn KeyStore>,
    pub spend: Arc<dyn SpendSink>,
    _guard: Box<dyn std::any::Any + Send + Sync>,
}

pub async fn memory() -> Option<Fixture> {
    Some(Fixture {
        keys: Arc::new(MemoryKeyStore::new()),
        spend: Arc::new(MemorySpendSink::new()),
        _guard: Box::new(()),
    })
}
