//! In-memory backends: the default, needing no service. Nothing here survives a restart.

mod key_store;
mod spend_sink;

pub use key_store::MemoryKeyStore;
pub use spend_sink::MemorySpendSink;
