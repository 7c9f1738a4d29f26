//! Generating virtual keys and master keys: 256 bits from the OS CSPRNG, URL-safe text.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Prefix of every key Portcullis generates, so leaked keys are easy to scan for.
pub const KEY_PREFIX: &str = "sk-pc-";

/// A fresh key: `sk-pc-` followed by 43 characters encoding 32 random bytes.
pub fn generate_key() -> Result<String, getrandom::Error> {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut())?;
    Ok(format!(
        "{KEY_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(bytes.as_ref())
    ))
}

/// Prefix of virtual keys created through the admin API.
pub const VIRTUAL_KEY_PREFIX: &str = "pk-";

/// A fresh stored virtual key: `pk-` followed by 43 characters encoding 32 random bytes.
pub fn generate_virtual_key() -> Result<zeroize::Zeroizing<String>, getrandom::Error> {
    let bytes = random_bytes()?;
    Ok(zeroize::Zeroizing::new(format!(
        "{VIRTUAL_KEY_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(bytes.as_ref())
    )))
}

/// A random id suffix: 16 hex characters (64 bits; ids are not secret, only unique).
pub fn random_id(prefix: &str) -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{prefix}{hex}"))
}

/// 32 random bytes, for a per-process pepper when none is configured.
pub fn random_bytes() -> Result<zeroize::Zeroizing<[u8; 32]>, getrandom::Error> {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut())?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_256_bits_and_differ() {
        let a = generate_key().unwrap();
        let b = generate_key().unwrap();
        assert_ne!(a, b);
        let body = a.strip_prefix(KEY_PREFIX).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
    }

    #[test]
    fn virtual_keys_have_the_pk_prefix_and_256_bits() {
        let a = generate_virtual_key().unwrap();
        let body = a.strip_prefix(VIRTUAL_KEY_PREFIX).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
        assert_ne!(*a, *generate_virtual_key().unwrap());
        assert_eq!(random_id("key-").unwrap().len(), 20);
    }
}
