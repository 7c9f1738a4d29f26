//! The `KeyStore` role: virtual keys and teams.
//!
//! One lookup is on the hot path: [`KeyStore::get`], by the HMAC of the presented key, which
//! every backend answers from an index (a unique constraint), never by scanning. A key is
//! found by its current hash and, after a rotation, by its previous hash too; whether it may
//! be used is then [`crate::VirtualKey::usable_at`]'s call, so revoked, expired and
//! rotated-out keys are found and refused rather than "not found".
//!
//! Everything else is the admin side. Operations that change a record return it before and
//! after ([`Changed`]) so the caller can write the audit entry and invalidate its auth cache
//! (by key id or by the hashes in the records) without a second read. Deleting a team deletes
//! its keys in the same transaction, so all of them stop working at once.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use crate::error::StorageError;
use crate::id::{KeyId, TeamId};
use crate::key::{KeyHash, VirtualKey};
use crate::key_record::{KeyRecord, KeyUpdate, Rotation};
use crate::team::{Team, TeamUpdate};

/// A boxed future, so stores can be held as `Arc<dyn KeyStore>`.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StorageError>> + Send + 'a>>;

/// Largest page a list returns; larger limits are clamped.
pub const MAX_PAGE: u32 = 1000;

/// Which keys to list: ordered by id (byte order), starting after `after`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyQuery {
    /// Only this team's keys.
    pub team: Option<TeamId>,
    /// The `next` of the previous page; `None` for the first.
    pub after: Option<KeyId>,
    /// At most this many (1 to [`MAX_PAGE`]; 0 means [`MAX_PAGE`]).
    pub limit: u32,
}

/// Which teams to list: ordered by id (byte order), starting after `after`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamQuery {
    pub after: Option<TeamId>,
    pub limit: u32,
}

/// Clamps a requested page size to 1..=[`MAX_PAGE`].
pub fn page_limit(limit: u32) -> u32 {
    if limit == 0 {
        MAX_PAGE
    } else {
        limit.min(MAX_PAGE)
    }
}

/// One page of a list. `next` is the cursor for the following page, `None` on the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, C> {
    pub items: Vec<T>,
    pub next: Option<C>,
}

/// A page from up to `limit + 1` items read in order: the extra one only says there is more.
pub(crate) fn page_of<T, C>(mut items: Vec<T>, limit: u32, cursor: impl Fn(&T) -> C) -> Page<T, C> {
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next = if more { items.last().map(cursor) } else { None };
    Page { items, next }
}

/// A record before and after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed<T> {
    pub before: T,
    pub after: T,
}

/// What deleting a team removed: the team and every key it had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamDeleted {
    pub team: Team,
    pub keys: Vec<KeyRecord>,
}

/// Where virtual keys and teams live.
///
/// Errors: `NotFound("key"|"team")` when the named record is missing (also for a key's team
/// on create), `Conflict("key id"|"key hash"|"team id")` on a duplicate,
/// `Invalid("change to a revoked key")` when rotating a revoked key.
pub trait KeyStore: Send + Sync + Debug {
    /// The hot path: the key whose current or previous hash is `hash`, if any, with its
    /// team's scope. Check [`VirtualKey::usable_at`] before honouring it.
    fn get(&self, hash: &KeyHash) -> StoreFuture<'_, Option<VirtualKey>>;

    /// Stores a new key. Its id and hash must be new; its team, if any, must exist.
    fn create_key(&self, record: KeyRecord) -> StoreFuture<'_, ()>;

    fn get_key(&self, id: &KeyId) -> StoreFuture<'_, Option<KeyRecord>>;

    fn list_keys(&self, query: KeyQuery) -> StoreFuture<'_, Page<KeyRecord, KeyId>>;

    /// Changes name, scope, metadata or expiry.
    fn update_key(
        &self,
        id: &KeyId,
        update: KeyUpdate,
        now_ms: i64,
    ) -> StoreFuture<'_, Changed<KeyRecord>>;

    /// Gives the key a new hash; the old one keeps working until `rotation.grace_until`.
    /// A previous hash from an earlier rotation stops working at once.
    fn rotate_key(
        &self,
        id: &KeyId,
        rotation: Rotation,
        now_ms: i64,
    ) -> StoreFuture<'_, Changed<KeyRecord>>;

    /// Marks the key revoked at `now_ms` (idempotent: a second revoke keeps the first time).
    fn revoke_key(&self, id: &KeyId, now_ms: i64) -> StoreFuture<'_, Changed<KeyRecord>>;

    /// Removes the key and both its hashes; returns what was removed.
    fn delete_key(&self, id: &KeyId) -> StoreFuture<'_, KeyRecord>;

    /// Stores a new team; its id must be new.
    fn create_team(&self, team: Team) -> StoreFuture<'_, ()>;

    fn get_team(&self, id: &TeamId) -> StoreFuture<'_, Option<Team>>;

    fn list_teams(&self, query: TeamQuery) -> StoreFuture<'_, Page<Team, TeamId>>;

    fn update_team(
        &self,
        id: &TeamId,
        update: TeamUpdate,
        now_ms: i64,
    ) -> StoreFuture<'_, Changed<Team>>;

    /// Removes the team and, in the same transaction, every key of it.
    fn delete_team(&self, id: &TeamId) -> StoreFuture<'_, TeamDeleted>;

    /// Whether the store answers now: one trivial round trip to the database (`/health/ready`).
    /// In-memory stores always answer.
    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
}
