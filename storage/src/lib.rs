//! Portcullis storage: small traits, one per role, and their backends.
//!
//! The engine and api hold these as `Arc<dyn _>` chosen once at start-up. Storage knows
//! nothing of the engine's types. Backends: `memory` (the default, no services needed);
//! durable and shared backends arrive with the issues that need them.

pub mod error;
pub mod key;
pub mod key_hasher;
pub mod key_store;
pub mod limiter;
pub mod memory;
pub mod redis;
#[doc(hidden)]
pub mod testing;

pub use error::StorageError;
pub use key::{KeyHash, KeyId, MAX_KEY_BYTES, ModelAccess, VirtualKey};
pub use key_hasher::KeyHasher;
pub use key_store::{KeyStore, StoreFuture};
pub use limiter::{Limiter, LimiterFuture};
pub use memory::{MemoryKeyStore, MemoryLimiter};
pub use redis::RedisLimiter;
