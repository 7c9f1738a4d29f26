//! `auth:` — the admin master key and the pepper virtual-key hashes are made with. Both are
//! secret references; production requires a master key of real strength: at least 32
//! characters and not predictable by [`crate::entropy`]'s estimate.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::Mode;
use crate::check::Checker;
use crate::entropy::{MIN_MASTER_KEY_ENTROPY_BITS, is_low_entropy};

/// Shortest acceptable master key in production, in characters.
pub(crate) const MIN_PRODUCTION_MASTER_KEY_CHARS: usize = 32;

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuth {
    /// Secret reference.
    #[serde(default)]
    pub(crate) master_key: Option<Spanned<String>>,
    /// Secret reference.
    #[serde(default)]
    pub(crate) key_pepper: Option<Spanned<String>>,
}

impl Checker<'_> {
    pub(crate) fn auth(
        &mut self,
        raw: RawAuth,
        mode: Mode,
    ) -> (Option<SecretString>, Option<SecretString>) {
        let master_key = raw
            .master_key
            .as_ref()
            .and_then(|r| self.secret("auth.master_key", r));
        if mode == Mode::Production {
            match (&raw.master_key, &master_key) {
                (None, _) => {
                    self.problem::<()>("auth.master_key", None, "is required in production")
                }
                (Some(at), Some(key))
                    if key.expose_secret().chars().count() < MIN_PRODUCTION_MASTER_KEY_CHARS =>
                {
                    self.problem(
                        "auth.master_key",
                        Some(at),
                        format!("must be at least {MIN_PRODUCTION_MASTER_KEY_CHARS} characters in production"),
                    );
                }
                (Some(at), Some(key)) if is_low_entropy(key.expose_secret()) => {
                    self.problem(
                        "auth.master_key",
                        Some(at),
                        format!(
                            "is too predictable for production (estimated under {MIN_MASTER_KEY_ENTROPY_BITS} bits: repeated or sequential characters); generate one with `portcullis gen-key`"
                        ),
                    );
                }
                _ => {}
            }
        }
        let key_pepper = raw
            .key_pepper
            .as_ref()
            .and_then(|r| self.secret("auth.key_pepper", r));
        (master_key, key_pepper)
    }
}
