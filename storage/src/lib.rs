//! Portcullis storage: small traits, one per role, and their backends.
//!
//! The engine and api hold these as `Arc<dyn _>` chosen once at start-up. Storage knows
//! nothing of the engine's types and never reads the clock: every time is unix milliseconds
//! passed in by the caller.
//!
//! Roles:
//! - [`KeyStore`]: virtual keys and teams; `get` by [`KeyHash`] is the hot path.
//! - [`SpendSink`]: append-only spend records, fed off the request path by [`SpendWriter`].
//! - [`Limiter`]: token buckets, parallel caps and budget reservations, all-or-nothing
//!   ([`MemoryLimiter`], [`RedisLimiter`] across replicas, `LimiterFallback` when Redis is down).
//! - [`AuditLog`]: every admin change, hash-chained ([`audit_chain`]), checked by [`verify_log`].
//!
//! Backends, each implementing all three roles and passing the same contract suites
//! (`tests/contract/`):
//! - [`memory`]: the default, no services; nothing survives a restart.
//! - [`sqlite`]: the embedded durable default, one file: `SqliteStorage::open(path)?`.
//! - [`postgres`]: shared by several replicas: `PostgresStorage::connect(conninfo, pool).await?`.
//!
//! The SQL backends apply their embedded migrations when opened and refuse a database whose
//! schema is newer than the binary ([`StorageError::SchemaTooNew`]).

pub mod audit;
pub mod audit_chain;
pub mod audit_log;
pub mod error;
pub mod id;
pub mod key;
pub mod key_hasher;
pub mod key_record;
pub mod key_store;
pub mod limiter;
pub mod memory;
pub mod postgres;
pub mod redis;
pub mod scope;
pub mod spend;
pub mod spend_sink;
pub mod spend_writer;
mod sql;
pub mod sqlite;
pub mod team;
#[doc(hidden)]
pub mod testing;

pub use audit::{AuditEntry, AuditRecord, ChainHead};
pub use audit_chain::{BreakReason, ChainBreak, ChainVerifier, verify, verify_with_head};
pub use audit_log::{AuditLog, verify_log};
pub use error::StorageError;
pub use id::{InvalidId, KeyId, TeamId};
pub use key::{KeyHash, MAX_KEY_BYTES, Unusable, VirtualKey};
pub use key_hasher::KeyHasher;
pub use key_record::{KeyDisplay, KeyRecord, KeyUpdate, Metadata, PreviousHash, Rotation};
pub use key_store::{
    Changed, KeyQuery, KeyStore, MAX_PAGE, Page, StoreFuture, TeamDeleted, TeamQuery,
};
pub use limiter::{Limiter, LimiterFuture};
pub use memory::{MemoryAuditLog, MemoryKeyStore, MemoryLimiter, MemorySpendSink};
pub use redis::RedisLimiter;
pub use scope::{Budget, ModelAccess, ResetPeriod, Scope, SourceAccess, TightestLimits};
pub use spend::{GroupBy, SpendGroup, SpendQuery, SpendRecord, SpendRow, SpendScope};
pub use spend_sink::SpendSink;
pub use spend_writer::{SpendWriter, SpendWriterConfig, SpendWriterStats, SpendWriterTask};
pub use team::{Team, TeamUpdate};
