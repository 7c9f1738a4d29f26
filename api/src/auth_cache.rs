//! A per-replica cache in front of [`KeyStore::get`](portcullis_storage::KeyStore::get).
//!
//! Entries live at most [`AuthCache::TTL`], so a change made by another replica is seen
//! within that bound; a change made through this process's admin API invalidates the
//! affected entries at once (by key id, or every key of a team). Only found keys are
//! cached: a miss always asks the store, so a key created a moment ago works at once and
//! unknown keys cannot fill the cache. The cache is bounded: when full, expired entries
//! are dropped and, if that frees nothing, the whole cache is cleared (the next lookups go
//! to the store; correctness never depends on the cache).
//!
//! Whether a cached key may be used is decided per request (`VirtualKey::usable_at`), so
//! expiry and the end of a rotation's grace take effect at their instant even from cache.
//!
//! With the Redis limiter, an invalidation is also published over Redis pub/sub
//! (`storage::redis::KeyEvents`) and every replica drops the entries when it hears it —
//! well inside the TTL; a replica whose subscription was re-established (it may have missed
//! messages) clears its whole cache. The TTL stays the bound when Redis is unreachable.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use portcullis_storage::redis::{KeyEvent, KeyEvents};
use portcullis_storage::{KeyHash, KeyId, TeamId, VirtualKey};

pub(crate) struct AuthCache {
    entries: Mutex<HashMap<KeyHash, (Instant, VirtualKey)>>,
    ttl: Duration,
    capacity: usize,
    /// Where invalidations are published to the other replicas, when there are any.
    publisher: OnceLock<Arc<KeyEvents>>,
}

impl std::fmt::Debug for AuthCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthCache")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .field("publishes", &self.publisher.get().is_some())
            .finish_non_exhaustive()
    }
}

impl AuthCache {
    /// How long an entry is trusted.
    pub(crate) const TTL: Duration = Duration::from_secs(5);
    /// Most entries held.
    pub(crate) const CAPACITY: usize = 10_000;

    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            ttl: ttl.min(Self::TTL),
            capacity: capacity.max(1),
            publisher: OnceLock::new(),
        }
    }

    /// Publishes every later invalidation to the other replicas through `events`.
    pub(crate) fn publish_to(&self, events: Arc<KeyEvents>) {
        let _ = self.publisher.set(events);
    }

    /// Sends `event` to the other replicas, off the caller's path; a failure leaves the TTL
    /// as the bound.
    fn publish(&self, event: KeyEvent) {
        let (Some(events), Ok(runtime)) =
            (self.publisher.get(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let events = Arc::clone(events);
        runtime.spawn(async move {
            if let Err(e) = events.publish(&event).await {
                tracing::warn!("could not publish a key invalidation: {e}");
            }
        });
    }

    /// Applies an invalidation heard from another replica (never re-published).
    pub(crate) fn apply(&self, event: &KeyEvent) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        match event {
            KeyEvent::KeyChanged(id) => entries.retain(|_, (_, k)| k.id.as_str() != id),
            KeyEvent::TeamChanged(id) => {
                entries.retain(|_, (_, k)| k.team.as_ref().is_none_or(|t| t.as_str() != id));
            }
            KeyEvent::Reconnected => entries.clear(),
        }
    }

    pub(crate) fn get(&self, hash: &KeyHash, now: Instant) -> Option<VirtualKey> {
        let entries = self.entries.lock().ok()?;
        let (at, key) = entries.get(hash)?;
        (now.saturating_duration_since(*at) < self.ttl).then(|| key.clone())
    }

    pub(crate) fn put(&self, hash: KeyHash, key: VirtualKey, now: Instant) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.capacity && !entries.contains_key(&hash) {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| now.saturating_duration_since(*at) < ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(hash, (now, key));
    }

    /// Forgets every entry of key `id` (its current and previous hashes), here and on every
    /// replica that hears the published event.
    pub(crate) fn invalidate_key(&self, id: &KeyId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (_, k)| k.id != *id);
        }
        self.publish(KeyEvent::KeyChanged(id.as_str().to_owned()));
    }

    /// Forgets every entry of a key of team `id`, here and on every replica.
    pub(crate) fn invalidate_team(&self, id: &TeamId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (_, k)| k.team.as_ref() != Some(id));
        }
        self.publish(KeyEvent::TeamChanged(id.as_str().to_owned()));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_storage::ModelAccess;

    fn key(id: &str, team: Option<&str>) -> VirtualKey {
        let mut k = VirtualKey::new(KeyId::parse(id).unwrap(), ModelAccess::All);
        k.team = team.map(|t| TeamId::parse(t).unwrap());
        k
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = AuthCache::new(Duration::from_secs(5), 10);
        let t0 = Instant::now();
        cache.put(KeyHash([1; 32]), key("a", None), t0);
        assert!(
            cache
                .get(&KeyHash([1; 32]), t0 + Duration::from_secs(4))
                .is_some()
        );
        assert!(
            cache
                .get(&KeyHash([1; 32]), t0 + Duration::from_secs(5))
                .is_none()
        );
    }

    #[test]
    fn ttl_is_never_above_five_seconds() {
        let cache = AuthCache::new(Duration::from_secs(60), 10);
        let t0 = Instant::now();
        cache.put(KeyHash([1; 32]), key("a", None), t0);
        assert!(
            cache
                .get(&KeyHash([1; 32]), t0 + Duration::from_secs(5))
                .is_none()
        );
    }

    #[test]
    fn invalidation_by_key_and_by_team_is_immediate() {
        let cache = AuthCache::new(AuthCache::TTL, 10);
        let now = Instant::now();
        cache.put(KeyHash([1; 32]), key("a", Some("t")), now);
        cache.put(KeyHash([2; 32]), key("a", Some("t")), now);
        cache.put(KeyHash([3; 32]), key("b", Some("t")), now);
        cache.put(KeyHash([4; 32]), key("c", None), now);
        cache.invalidate_key(&KeyId::parse("a").unwrap());
        assert!(cache.get(&KeyHash([1; 32]), now).is_none());
        assert!(cache.get(&KeyHash([2; 32]), now).is_none());
        assert!(cache.get(&KeyHash([3; 32]), now).is_some());
        cache.invalidate_team(&TeamId::parse("t").unwrap());
        assert!(cache.get(&KeyHash([3; 32]), now).is_none());
        assert!(cache.get(&KeyHash([4; 32]), now).is_some());
    }

    #[test]
    fn size_stays_bounded() {
        let cache = AuthCache::new(AuthCache::TTL, 8);
        let now = Instant::now();
        for i in 0..100u8 {
            cache.put(KeyHash([i; 32]), key("k", None), now);
            assert!(cache.len() <= 8);
        }
    }
}
