//! Who is calling: virtual keys on the public listener, the master key on the admin one.
//!
//! A presented key is hashed (HMAC-SHA256 with the pepper) and looked up by hash; the
//! plaintext is never stored or logged. The master key is compared in constant time and
//! is never accepted on the public listener, nor a virtual key on the admin listener.
//!
//! Keys from the config file are looked up first (in memory), stored keys second, through a
//! per-replica [`AuthCache`]. A found key must still be usable now (not revoked, expired or
//! rotated out: 401) and allow the caller's address (403).

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use actix_web::HttpRequest;
use actix_web::http::header;
use portcullis_storage::{KeyHash, KeyHasher, KeyStore, MAX_KEY_BYTES, VirtualKey};

use crate::auth_cache::AuthCache;
use crate::error::ApiError;
use crate::headers;

/// Checks credentials for both listeners.
#[derive(Debug, Clone)]
pub(crate) struct Authenticator {
    hasher: KeyHasher,
    store: Arc<dyn KeyStore>,
    master: Option<KeyHash>,
    stored: Option<Arc<dyn KeyStore>>,
    cache: Arc<AuthCache>,
}

impl Authenticator {
    pub(crate) fn new(
        hasher: KeyHasher,
        store: Arc<dyn KeyStore>,
        master_key: Option<&str>,
    ) -> Self {
        let master = master_key.map(|k| hasher.hash(k));
        Self {
            hasher,
            store,
            master,
            stored: None,
            cache: Arc::new(AuthCache::new(AuthCache::TTL, AuthCache::CAPACITY)),
        }
    }

    /// Also accepts keys from `stored` (after the config keys), cached per replica.
    pub(crate) fn with_stored(mut self, stored: Arc<dyn KeyStore>) -> Self {
        self.stored = Some(stored);
        self
    }

    pub(crate) fn hasher(&self) -> &KeyHasher {
        &self.hasher
    }

    /// The auth cache, for the admin API to invalidate.
    pub(crate) fn cache(&self) -> &AuthCache {
        &self.cache
    }

    /// The auth cache, shared (for the task that applies other replicas' invalidations).
    pub(crate) fn shared_cache(&self) -> Arc<AuthCache> {
        Arc::clone(&self.cache)
    }

    /// The virtual key presented with `req` if it may be used now from the caller's
    /// address: 401 when unknown, revoked, expired or rotated out; 403 for a refused address.
    pub(crate) async fn virtual_key(&self, req: &HttpRequest) -> Result<VirtualKey, ApiError> {
        let presented = presented_key(req)?.ok_or(ApiError::Unauthorized)?;
        let hash = self.hasher.hash(presented);
        let key = self.find(&hash).await?.ok_or(ApiError::Unauthorized)?;
        key.usable_at(now_ms())
            .map_err(|_| ApiError::Unauthorized)?;
        let allowed = req
            .peer_addr()
            .is_some_and(|peer| key.allows_source(peer.ip()));
        if !allowed {
            return Err(ApiError::SourceNotAllowed);
        }
        Ok(key)
    }

    async fn find(&self, hash: &KeyHash) -> Result<Option<VirtualKey>, ApiError> {
        let unavailable = |_| ApiError::Internal("key store unavailable");
        if let Some(key) = self.store.get(hash).await.map_err(unavailable)? {
            return Ok(Some(key));
        }
        let Some(stored) = &self.stored else {
            return Ok(None);
        };
        if let Some(key) = self.cache.get(hash, Instant::now()) {
            return Ok(Some(key));
        }
        let found = stored.get(hash).await.map_err(unavailable)?;
        if let Some(key) = &found {
            self.cache.put(*hash, key.clone(), Instant::now());
        }
        Ok(found)
    }

    /// Whether `req` carries the master key. Always false when none is configured.
    #[cfg(test)]
    pub(crate) fn is_master(&self, req: &HttpRequest) -> bool {
        self.require_master(req).is_ok()
    }

    /// `Ok` when `req` carries the master key: 400 for conflicting credentials, else 401.
    pub(crate) fn require_master(&self, req: &HttpRequest) -> Result<(), ApiError> {
        let presented = presented_key(req)?;
        match (&self.master, presented) {
            (Some(master), Some(presented)) if self.hasher.matches(presented, master) => Ok(()),
            _ => Err(ApiError::Unauthorized),
        }
    }
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The credential from `Authorization: Bearer <key>` or `x-api-key`; `None` when there is
/// none usable (missing, empty, another scheme, or longer than any key). Two `Authorization`
/// or two `x-api-key` headers, or a Bearer token and an `x-api-key` that differ, are a 400:
/// a proxy in front and the gateway must never read different credentials from one request.
pub(crate) fn presented_key(req: &HttpRequest) -> Result<Option<&str>, ApiError> {
    let single = |name| {
        let mut values = req.headers().get_all(name);
        match (values.next(), values.next()) {
            (_, Some(_)) => {
                crate::metrics::malformed_request("duplicate_credentials");
                Err(ApiError::ConflictingCredentials)
            }
            (value, None) => Ok(value.and_then(|v| v.to_str().ok())),
        }
    };
    let bearer = single(header::AUTHORIZATION.as_str())?.and_then(|v| {
        let (scheme, token) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    let api_key = single(headers::API_KEY)?.map(str::trim);
    let key = match (bearer, api_key) {
        (Some(a), Some(b)) if a != b => {
            crate::metrics::malformed_request("conflicting_credentials");
            return Err(ApiError::ConflictingCredentials);
        }
        (Some(key), _) | (None, Some(key)) => key,
        (None, None) => return Ok(None),
    };
    Ok((!key.is_empty() && key.len() <= MAX_KEY_BYTES).then_some(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use portcullis_storage::{KeyId, MemoryKeyStore, ModelAccess};

    fn authenticator() -> Authenticator {
        let hasher = KeyHasher::new(b"pepper");
        let store = MemoryKeyStore::new();
        let key = VirtualKey::new(KeyId::parse("team").unwrap(), ModelAccess::All);
        store
            .insert(hasher.hash("sk-virtual-key-0001"), key)
            .unwrap();
        Authenticator::new(
            hasher,
            Arc::new(store),
            Some("master-key-master-key-master-key-1"),
        )
    }

    #[actix_web::test]
    async fn accepts_bearer_and_x_api_key() {
        let auth = authenticator();
        let req = TestRequest::default()
            .peer_addr("127.0.0.1:1234".parse().unwrap())
            .insert_header(("authorization", "Bearer sk-virtual-key-0001"))
            .to_http_request();
        assert_eq!(auth.virtual_key(&req).await.unwrap().id.as_str(), "team");
        let req = TestRequest::default()
            .peer_addr("127.0.0.1:1234".parse().unwrap())
            .insert_header(("x-api-key", "sk-virtual-key-0001"))
            .to_http_request();
        assert!(auth.virtual_key(&req).await.is_ok());
    }

    #[actix_web::test]
    async fn rejects_missing_wrong_and_oversized_keys() {
        let auth = authenticator();
        let req = TestRequest::default().to_http_request();
        assert!(matches!(
            auth.virtual_key(&req).await,
            Err(ApiError::Unauthorized)
        ));
        let req = TestRequest::default()
            .peer_addr("127.0.0.1:1234".parse().unwrap())
            .insert_header(("authorization", "Bearer nope"))
            .to_http_request();
        assert!(matches!(
            auth.virtual_key(&req).await,
            Err(ApiError::Unauthorized)
        ));
        let req = TestRequest::default()
            .peer_addr("127.0.0.1:1234".parse().unwrap())
            .insert_header(("authorization", "Basic sk-virtual-key-0001"))
            .to_http_request();
        assert!(matches!(
            auth.virtual_key(&req).await,
            Err(ApiError::Unauthorized)
        ));
        let long = format!("Bearer {}", "a".repeat(600));
        let req = TestRequest::default()
            .peer_addr("127.0.0.1:1234".parse().unwrap())
            .insert_header(("authorization", long))
            .to_http_request();
        assert!(presented_key(&req).unwrap().is_none());
    }

    #[actix_web::test]
    async fn conflicting_or_duplicate_credentials_are_a_400_and_agreeing_ones_pass() {
        let auth = authenticator();
        let peer = "127.0.0.1:1234".parse().unwrap();
        let conflicting = [
            vec![
                ("authorization", "Bearer sk-virtual-key-0001"),
                ("x-api-key", "sk-other"),
            ],
            vec![
                ("authorization", "Bearer sk-virtual-key-0001"),
                ("authorization", "Bearer sk-virtual-key-0001"),
            ],
            vec![("x-api-key", "a"), ("x-api-key", "b")],
        ];
        for headers in conflicting {
            let mut req = TestRequest::default().peer_addr(peer);
            for h in &headers {
                req = req.append_header(*h);
            }
            let req = req.to_http_request();
            assert!(
                matches!(
                    auth.virtual_key(&req).await,
                    Err(ApiError::ConflictingCredentials)
                ),
                "{headers:?}"
            );
            assert!(matches!(
                auth.require_master(&req),
                Err(ApiError::ConflictingCredentials)
            ));
        }
        let agreeing = TestRequest::default()
            .peer_addr(peer)
            .append_header(("authorization", "Bearer sk-virtual-key-0001"))
            .append_header(("x-api-key", "sk-virtual-key-0001"))
            .to_http_request();
        assert!(auth.virtual_key(&agreeing).await.is_ok());
    }

    #[actix_web::test]
    async fn master_and_virtual_keys_are_disjoint() {
        let auth = authenticator();
        let master = TestRequest::default()
            .peer_addr("127.0.0.1:1234".parse().unwrap())
            .insert_header(("authorization", "Bearer master-key-master-key-master-key-1"))
            .to_http_request();
        assert!(auth.is_master(&master));
        assert!(auth.virtual_key(&master).await.is_err());
        let virt = TestRequest::default()
            .peer_addr("127.0.0.1:1234".parse().unwrap())
            .insert_header(("authorization", "Bearer sk-virtual-key-0001"))
            .to_http_request();
        assert!(!auth.is_master(&virt));
        let none = Authenticator::new(KeyHasher::new(b"p"), Arc::new(MemoryKeyStore::new()), None);
        assert!(!none.is_master(&master));
    }
}
