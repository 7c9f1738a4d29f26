//! `MemoryKeyStore`: keys and teams in process memory, behind one lock.
//!
//! Holds two kinds of key: config-defined ones ([`MemoryKeyStore::insert`], a ready
//! [`VirtualKey`] per hash, never listed) and stored ones (records created through the
//! [`KeyStore`] admin methods). Ids and hashes are unique across both.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::error::StorageError;
use crate::id::{KeyId, TeamId};
use crate::key::{KeyHash, VirtualKey};
use crate::key_record::{KeyRecord, KeyUpdate, Rotation};
use crate::key_store::{
    Changed, KeyQuery, KeyStore, Page, StoreFuture, TeamDeleted, TeamQuery, page_limit,
};
use crate::team::{Team, TeamUpdate};

#[derive(Debug, Default)]
struct Inner {
    config: HashMap<KeyHash, VirtualKey>,
    keys: BTreeMap<KeyId, KeyRecord>,
    /// Current and previous hashes of stored keys.
    by_hash: HashMap<KeyHash, KeyId>,
    teams: BTreeMap<TeamId, Team>,
}

impl Inner {
    fn id_taken(&self, id: &KeyId) -> bool {
        self.keys.contains_key(id) || self.config.values().any(|k| &k.id == id)
    }

    fn hash_taken(&self, hash: &KeyHash) -> bool {
        self.config.contains_key(hash) || self.by_hash.contains_key(hash)
    }

    fn key_mut(&mut self, id: &KeyId) -> Result<&mut KeyRecord, StorageError> {
        self.keys.get_mut(id).ok_or(StorageError::NotFound("key"))
    }
}

/// Keys and teams held in process memory. Nothing survives a restart.
#[derive(Debug, Default, Clone)]
pub struct MemoryKeyStore {
    inner: Arc<RwLock<Inner>>,
}

fn ready<T: Send + 'static>(value: Result<T, StorageError>) -> StoreFuture<'static, T> {
    Box::pin(std::future::ready(value))
}

fn page<K: Ord + Clone, T: Clone>(
    map: &BTreeMap<K, T>,
    after: Option<&K>,
    limit: u32,
    keep: impl Fn(&T) -> bool,
) -> Page<T, K> {
    let limit = page_limit(limit) as usize;
    let start = match after {
        Some(a) => std::ops::Bound::Excluded(a.clone()),
        None => std::ops::Bound::Unbounded,
    };
    let mut items = Vec::new();
    let mut last = None;
    let mut more = false;
    for (k, v) in map.range((start, std::ops::Bound::Unbounded)) {
        if !keep(v) {
            continue;
        }
        if items.len() == limit {
            more = true;
            break;
        }
        items.push(v.clone());
        last = Some(k.clone());
    }
    Page {
        items,
        next: if more { last } else { None },
    }
}

impl MemoryKeyStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, Inner>, StorageError> {
        self.inner
            .read()
            .map_err(|_| StorageError::Unavailable("poisoned lock"))
    }

    fn write(&self) -> Result<RwLockWriteGuard<'_, Inner>, StorageError> {
        self.inner
            .write()
            .map_err(|_| StorageError::Unavailable("poisoned lock"))
    }

    /// Adds a config-defined key; refuses a second key with the same hash or the same id.
    pub fn insert(&self, hash: KeyHash, key: VirtualKey) -> Result<(), StorageError> {
        let mut inner = self.write()?;
        if inner.hash_taken(&hash) {
            return Err(StorageError::Conflict("a key with this value"));
        }
        if inner.id_taken(&key.id) {
            return Err(StorageError::Conflict("a key with this name"));
        }
        inner.config.insert(hash, key);
        Ok(())
    }

    fn lookup(&self, hash: &KeyHash) -> Result<Option<VirtualKey>, StorageError> {
        let inner = self.read()?;
        if let Some(key) = inner.config.get(hash) {
            return Ok(Some(key.clone()));
        }
        let Some(record) = inner.by_hash.get(hash).and_then(|id| inner.keys.get(id)) else {
            return Ok(None);
        };
        let team = record.team.as_ref().and_then(|t| inner.teams.get(t));
        Ok(Some(VirtualKey::from_record(
            record,
            team,
            record.hash != *hash,
        )))
    }

    fn create_key_now(&self, record: KeyRecord) -> Result<(), StorageError> {
        let mut inner = self.write()?;
        if inner.id_taken(&record.id) {
            return Err(StorageError::Conflict("key id"));
        }
        let hashes = [Some(record.hash), record.previous.map(|p| p.hash)];
        if hashes.iter().flatten().any(|h| inner.hash_taken(h)) {
            return Err(StorageError::Conflict("key hash"));
        }
        if let Some(team) = &record.team
            && !inner.teams.contains_key(team)
        {
            return Err(StorageError::NotFound("team"));
        }
        for h in hashes.into_iter().flatten() {
            inner.by_hash.insert(h, record.id.clone());
        }
        inner.keys.insert(record.id.clone(), record);
        Ok(())
    }

    fn change_key(
        &self,
        id: &KeyId,
        change: impl FnOnce(&mut Inner, &mut KeyRecord) -> Result<(), StorageError>,
    ) -> Result<Changed<KeyRecord>, StorageError> {
        let mut inner = self.write()?;
        let before = inner.key_mut(id)?.clone();
        let mut after = before.clone();
        change(&mut inner, &mut after)?;
        *inner.key_mut(id)? = after.clone();
        Ok(Changed { before, after })
    }

    fn rotate_now(
        &self,
        id: &KeyId,
        rotation: Rotation,
        now_ms: i64,
    ) -> Result<Changed<KeyRecord>, StorageError> {
        self.change_key(id, |inner, key| {
            if key.revoked_at.is_some() {
                return Err(StorageError::Invalid("change to a revoked key"));
            }
            if inner.hash_taken(&rotation.hash) {
                return Err(StorageError::Conflict("key hash"));
            }
            if let Some(old) = key.previous {
                inner.by_hash.remove(&old.hash);
            }
            rotation.apply(key, now_ms);
            inner.by_hash.insert(rotation.hash, key.id.clone());
            Ok(())
        })
    }

    fn delete_key_now(&self, id: &KeyId) -> Result<KeyRecord, StorageError> {
        let mut inner = self.write()?;
        let record = inner.keys.remove(id).ok_or(StorageError::NotFound("key"))?;
        inner.by_hash.remove(&record.hash);
        if let Some(p) = record.previous {
            inner.by_hash.remove(&p.hash);
        }
        Ok(record)
    }

    fn create_team_now(&self, team: Team) -> Result<(), StorageError> {
        let mut inner = self.write()?;
        if inner.teams.contains_key(&team.id) {
            return Err(StorageError::Conflict("team id"));
        }
        inner.teams.insert(team.id.clone(), team);
        Ok(())
    }

    fn update_team_now(
        &self,
        id: &TeamId,
        update: TeamUpdate,
        now_ms: i64,
    ) -> Result<Changed<Team>, StorageError> {
        let mut inner = self.write()?;
        let team = inner
            .teams
            .get_mut(id)
            .ok_or(StorageError::NotFound("team"))?;
        let before = team.clone();
        update.apply(team, now_ms);
        Ok(Changed {
            before,
            after: team.clone(),
        })
    }

    fn delete_team_now(&self, id: &TeamId) -> Result<TeamDeleted, StorageError> {
        let mut inner = self.write()?;
        let team = inner
            .teams
            .remove(id)
            .ok_or(StorageError::NotFound("team"))?;
        let ids: Vec<KeyId> = inner
            .keys
            .values()
            .filter(|k| k.team.as_ref() == Some(id))
            .map(|k| k.id.clone())
            .collect();
        let mut keys = Vec::with_capacity(ids.len());
        for key_id in ids {
            if let Some(record) = inner.keys.remove(&key_id) {
                inner.by_hash.remove(&record.hash);
                if let Some(p) = record.previous {
                    inner.by_hash.remove(&p.hash);
                }
                keys.push(record);
            }
        }
        Ok(TeamDeleted { team, keys })
    }
}

impl KeyStore for MemoryKeyStore {
    fn get(&self, hash: &KeyHash) -> StoreFuture<'_, Option<VirtualKey>> {
        ready(self.lookup(hash))
    }

    fn create_key(&self, record: KeyRecord) -> StoreFuture<'_, ()> {
        ready(self.create_key_now(record))
    }

    fn get_key(&self, id: &KeyId) -> StoreFuture<'_, Option<KeyRecord>> {
        ready(self.read().map(|inner| inner.keys.get(id).cloned()))
    }

    fn list_keys(&self, query: KeyQuery) -> StoreFuture<'_, Page<KeyRecord, KeyId>> {
        ready(self.read().map(|inner| {
            page(&inner.keys, query.after.as_ref(), query.limit, |k| {
                query.team.is_none() || k.team == query.team
            })
        }))
    }

    fn update_key(
        &self,
        id: &KeyId,
        update: KeyUpdate,
        now_ms: i64,
    ) -> StoreFuture<'_, Changed<KeyRecord>> {
        ready(self.change_key(id, |_, key| {
            update.apply(key, now_ms);
            Ok(())
        }))
    }

    fn rotate_key(
        &self,
        id: &KeyId,
        rotation: Rotation,
        now_ms: i64,
    ) -> StoreFuture<'_, Changed<KeyRecord>> {
        ready(self.rotate_now(id, rotation, now_ms))
    }

    fn revoke_key(&self, id: &KeyId, now_ms: i64) -> StoreFuture<'_, Changed<KeyRecord>> {
        ready(self.change_key(id, |_, key| {
            if key.revoked_at.is_none() {
                key.revoked_at = Some(now_ms);
                key.updated_at = now_ms;
            }
            Ok(())
        }))
    }

    fn delete_key(&self, id: &KeyId) -> StoreFuture<'_, KeyRecord> {
        ready(self.delete_key_now(id))
    }

    fn create_team(&self, team: Team) -> StoreFuture<'_, ()> {
        ready(self.create_team_now(team))
    }

    fn get_team(&self, id: &TeamId) -> StoreFuture<'_, Option<Team>> {
        ready(self.read().map(|inner| inner.teams.get(id).cloned()))
    }

    fn list_teams(&self, query: TeamQuery) -> StoreFuture<'_, Page<Team, TeamId>> {
        ready(
            self.read()
                .map(|inner| page(&inner.teams, query.after.as_ref(), query.limit, |_| true)),
        )
    }

    fn update_team(
        &self,
        id: &TeamId,
        update: TeamUpdate,
        now_ms: i64,
    ) -> StoreFuture<'_, Changed<Team>> {
        ready(self.update_team_now(id, update, now_ms))
    }

    fn delete_team(&self, id: &TeamId) -> StoreFuture<'_, TeamDeleted> {
        ready(self.delete_team_now(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::ModelAccess;

    fn key(name: &str) -> VirtualKey {
        VirtualKey::new(KeyId::parse(name).unwrap(), ModelAccess::All)
    }

    #[tokio::test]
    async fn finds_config_keys_by_hash_only() {
        let store = MemoryKeyStore::new();
        store.insert(KeyHash([1; 32]), key("a")).unwrap();
        assert_eq!(store.get(&KeyHash([1; 32])).await.unwrap(), Some(key("a")));
        assert_eq!(store.get(&KeyHash([2; 32])).await.unwrap(), None);
    }

    #[test]
    fn refuses_duplicate_config_hashes_and_names() {
        let store = MemoryKeyStore::new();
        store.insert(KeyHash([1; 32]), key("a")).unwrap();
        assert!(store.insert(KeyHash([1; 32]), key("b")).is_err());
        assert!(store.insert(KeyHash([2; 32]), key("a")).is_err());
    }
}
