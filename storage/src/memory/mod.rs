//! In-memory backends: the default, needing no service. Nothing here survives a restart.

mod key_store;
mod limiter;

pub use key_store::MemoryKeyStore;
pub use limiter::MemoryLimiter;
