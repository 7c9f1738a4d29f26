//! In-memory backends: the default, needing no service. Nothing here survives a restart.

mod key_store;

pub use key_store::MemoryKeyStore;
