//! "Denied until T": refusals remembered locally, so a key that is over its limit costs no
//! Redis round trip until the bucket could pass again.
//!
//! Bucket refusals are remembered until their retry-after; cap and budget refusals (which
//! clear when another request finishes, not with time) for a short fixed window. The map is
//! bounded: past [`MAX_ENTRIES`] expired entries are swept, and if that is not enough the map
//! is cleared (losing a cache entry costs one Redis call, never correctness).

use std::collections::HashMap;
use std::sync::Mutex;

use portcullis_storage::limiter::{Admission, LimitKind, Limited};

/// Largest number of remembered refusals.
pub(crate) const MAX_ENTRIES: usize = 100_000;
/// How long a cap or budget refusal is remembered, in ms.
pub(crate) const CAP_DENIAL_MS: u64 = 100;

#[derive(Debug, Default)]
pub(crate) struct DeniedCache {
    /// Bucket or cap name → (kind, monotonic ms until which it refuses).
    entries: Mutex<HashMap<String, (LimitKind, u64)>>,
}

impl DeniedCache {
    /// A refusal for `admission` known without asking the limiter, if any.
    pub(crate) fn check(&self, admission: &Admission, now_ms: u64) -> Option<Limited> {
        let entries = self.entries.lock().ok()?;
        if entries.is_empty() {
            return None;
        }
        let names = admission
            .buckets
            .iter()
            .chain(&admission.global_buckets)
            .map(|b| b.name.as_str())
            .chain(admission.parallel.iter().map(|p| p.name.as_str()))
            .chain(admission.all_budgets().map(|b| b.period.name.as_str()));
        for name in names {
            if let Some(&(kind, until)) = entries.get(name)
                && until > now_ms
            {
                return Some(Limited {
                    kind,
                    name: name.to_owned(),
                    retry_after_ms: Some(until - now_ms),
                });
            }
        }
        None
    }

    /// Remembers a refusal the limiter gave.
    pub(crate) fn record(&self, limited: &Limited, now_ms: u64) {
        let until = match (limited.kind, limited.retry_after_ms) {
            (LimitKind::Rpm | LimitKind::Tpm, Some(ms)) => now_ms.saturating_add(ms),
            (LimitKind::Rpm | LimitKind::Tpm, None) => return,
            (LimitKind::Parallel | LimitKind::Budget, _) => now_ms + CAP_DENIAL_MS,
        };
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (_, t)| *t > now_ms);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(limited.name.clone(), (limited.kind, until));
    }

    /// Forgets everything about names under `prefix` (a key or team changed).
    pub(crate) fn forget_prefix(&self, prefix: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|name, _| !name.starts_with(prefix));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_storage::limiter::{BucketKind, BucketTake};

    fn admission() -> Admission {
        Admission {
            buckets: vec![BucketTake {
                name: "k:a:rpm".into(),
                kind: BucketKind::Rpm,
                capacity: 1,
                refill_per_minute: 1,
                take: 1,
            }],
            ..Admission::default()
        }
    }

    #[test]
    fn a_bucket_refusal_is_remembered_until_its_retry_after() {
        let cache = DeniedCache::default();
        assert!(cache.check(&admission(), 0).is_none());
        let limited = Limited {
            kind: LimitKind::Rpm,
            name: "k:a:rpm".into(),
            retry_after_ms: Some(500),
        };
        cache.record(&limited, 1000);
        let hit = cache.check(&admission(), 1200).unwrap();
        assert_eq!(hit.retry_after_ms, Some(300));
        assert!(cache.check(&admission(), 1500).is_none());
        cache.record(&limited, 2000);
        cache.forget_prefix("k:a:");
        assert!(cache.check(&admission(), 2001).is_none());
    }
}
