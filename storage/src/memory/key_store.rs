//! `MemoryKeyStore`: virtual keys in a hash map, keyed by key hash.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::error::StorageError;
use crate::key::{KeyHash, VirtualKey};
use crate::key_store::{KeyStore, StoreFuture};

/// Keys held in process memory.
#[derive(Debug, Default, Clone)]
pub struct MemoryKeyStore {
    keys: Arc<RwLock<HashMap<KeyHash, VirtualKey>>>,
}

impl MemoryKeyStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key; refuses a second key with the same hash or the same id.
    pub fn insert(&self, hash: KeyHash, key: VirtualKey) -> Result<(), StorageError> {
        let mut keys = self
            .keys
            .write()
            .map_err(|_| StorageError::Unavailable("poisoned lock"))?;
        if keys.contains_key(&hash) {
            return Err(StorageError::Conflict("a key with this value"));
        }
        if keys.values().any(|k| k.id == key.id) {
            return Err(StorageError::Conflict("a key with this name"));
        }
        keys.insert(hash, key);
        Ok(())
    }

    fn lookup(&self, hash: &KeyHash) -> Result<Option<VirtualKey>, StorageError> {
        let keys = self
            .keys
            .read()
            .map_err(|_| StorageError::Unavailable("poisoned lock"))?;
        Ok(keys.get(hash).cloned())
    }
}

impl KeyStore for MemoryKeyStore {
    fn get(&self, hash: &KeyHash) -> StoreFuture<'_, Option<VirtualKey>> {
        let found = self.lookup(hash);
        Box::pin(std::future::ready(found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::KeyId;
    use crate::scope::ModelAccess;

    fn key(name: &str) -> VirtualKey {
        VirtualKey::new(KeyId::parse(name).unwrap(), ModelAccess::All)
    }

    #[tokio::test]
    async fn finds_keys_by_hash_only() {
        let store = MemoryKeyStore::new();
        store.insert(KeyHash([1; 32]), key("a")).unwrap();
        assert_eq!(store.get(&KeyHash([1; 32])).await.unwrap(), Some(key("a")));
        assert_eq!(store.get(&KeyHash([2; 32])).await.unwrap(), None);
    }

    #[test]
    fn refuses_duplicate_hashes_and_names() {
        let store = MemoryKeyStore::new();
        store.insert(KeyHash([1; 32]), key("a")).unwrap();
        assert!(store.insert(KeyHash([1; 32]), key("b")).is_err());
        assert!(store.insert(KeyHash([2; 32]), key("a")).is_err());
    }
}
