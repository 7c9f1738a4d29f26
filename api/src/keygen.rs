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
}
