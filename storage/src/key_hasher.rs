//! Turning a presented key into its stored form.
//!
//! Keys are stored as HMAC-SHA256(pepper, key): a leaked store does not reveal keys, and
//! without the pepper a leaked store cannot even be brute-forced offline. Lookups go by
//! hash, so no comparison of secret material happens in a data-dependent loop; where two
//! secrets must be compared directly (the master key), [`KeyHasher::matches`] is constant-time.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::key::KeyHash;

/// Computes key hashes with a secret pepper.
#[derive(Clone)]
pub struct KeyHasher {
    pepper: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyHasher(..)")
    }
}

impl KeyHasher {
    pub fn new(pepper: &[u8]) -> Self {
        Self {
            pepper: Zeroizing::new(pepper.to_vec()),
        }
    }

    /// HMAC-SHA256(pepper, key).
    pub fn hash(&self, key: &str) -> KeyHash {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.pepper) else {
            return KeyHash([0; 32]);
        };
        mac.update(key.as_bytes());
        KeyHash(mac.finalize().into_bytes().into())
    }

    /// Whether `presented` hashes to `expected`, compared in constant time.
    pub fn matches(&self, presented: &str, expected: &KeyHash) -> bool {
        self.hash(presented).0.ct_eq(&expected.0).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_same_hash_different_pepper_different_hash() {
        let a = KeyHasher::new(b"pepper-one");
        let b = KeyHasher::new(b"pepper-two");
        assert_eq!(a.hash("sk-1"), a.hash("sk-1"));
        assert_ne!(a.hash("sk-1"), a.hash("sk-2"));
        assert_ne!(a.hash("sk-1"), b.hash("sk-1"));
    }

    #[test]
    fn matches_only_the_right_key() {
        let h = KeyHasher::new(b"p");
        let stored = h.hash("right");
        assert!(h.matches("right", &stored));
        assert!(!h.matches("wrong", &stored));
        assert!(!format!("{h:?}").contains('p'));
    }

    #[test]
    fn agrees_with_rfc_4231_test_case_2() {
        let h = KeyHasher::new(b"Jefe");
        let hash = h.hash("what do ya want for nothing?");
        let hex: String = hash.0.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
