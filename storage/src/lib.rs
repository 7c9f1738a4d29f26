//! Portcullis storage: small traits, one per role, and their backends.
//!
//! The engine and api hold these as `Arc<dyn _>` chosen once at start-up. Storage knows
//! nothing of the engine's types and never reads the clock: every time is unix milliseconds
//! passed in by the caller. Roles: [`KeyStore`] (virtual keys and teams).
//! Backends: `memory` (the default, no services needed).

pub mod error;
pub mod id;
pub mod key;
pub mod key_hasher;
pub mod key_record;
pub mod key_store;
pub mod memory;
pub mod scope;
pub mod team;

pub use error::StorageError;
pub use id::{InvalidId, KeyId, TeamId};
pub use key::{KeyHash, MAX_KEY_BYTES, Unusable, VirtualKey};
pub use key_hasher::KeyHasher;
pub use key_record::{KeyDisplay, KeyRecord, KeyUpdate, Metadata, PreviousHash, Rotation};
pub use key_store::{
    Changed, KeyQuery, KeyStore, MAX_PAGE, Page, StoreFuture, TeamDeleted, TeamQuery,
};
pub use memory::MemoryKeyStore;
pub use scope::{Budget, ModelAccess, ResetPeriod, Scope, SourceAccess, TightestLimits};
pub use team::{Team, TeamUpdate};
