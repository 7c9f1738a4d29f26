//! In-memory backends: the default, needing no service. Nothing here survives a restart.

mod audit_log;
mod key_store;
mod limiter;
mod spend_sink;

pub use audit_log::MemoryAuditLog;
pub use key_store::MemoryKeyStore;
pub use limiter::MemoryLimiter;
pub use spend_sink::MemorySpendSink;
