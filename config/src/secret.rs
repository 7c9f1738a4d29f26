//! Secret references: how the config names a credential without containing it.
//!
//! A config file is read by many eyes (code review, tickets, backups), so it never holds a
//! secret itself. It holds a reference — `env:NAME`, `file:PATH`, or LiteLLM's
//! `os.environ/NAME` for migration — that is resolved once, at load time, into a
//! [`SecretString`]. Anything else is taken to be an inline secret and refused.
//!
//! Errors from this module name the variable or path, never a value: an invalid reference
//! may itself be a pasted secret, so it is not echoed either.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use zeroize::Zeroizing;

/// Largest secret file accepted. Credentials are short; this stops `file:/dev/zero`.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// Longest environment variable name accepted in a reference.
const MAX_ENV_NAME_LEN: usize = 256;

/// Where a secret comes from. Holds names and paths only, so `Debug` is safe to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// An environment variable (`env:NAME` or `os.environ/NAME`).
    Env(String),
    /// A file whose contents, minus trailing line breaks, are the secret (`file:PATH`).
    /// A relative path is relative to the process working directory.
    File(PathBuf),
}

/// Why a reference could not be parsed or resolved. Never carries a secret value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "inline secrets are not allowed; reference the secret as env:NAME, file:PATH or os.environ/NAME"
    )]
    Inline,
    #[error("the environment variable name is empty")]
    EmptyEnvName,
    #[error(
        "the environment variable name is not valid (letters, digits and `_`, not starting with a digit, at most {MAX_ENV_NAME_LEN} characters)"
    )]
    InvalidEnvName,
    #[error("the file path is empty")]
    EmptyPath,
    #[error("environment variable {0} is not set or is not valid UTF-8")]
    EnvNotSet(String),
    #[error("environment variable {0} is empty")]
    EnvEmpty(String),
    #[error("cannot read secret file {}: {source}", path.display())]
    FileRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("secret file {} is larger than {MAX_SECRET_FILE_BYTES} bytes", path.display())]
    FileTooLarge { path: PathBuf },
    #[error("secret file {} is not valid UTF-8", path.display())]
    FileNotUtf8 { path: PathBuf },
    #[error("secret file {} is empty", path.display())]
    FileEmpty { path: PathBuf },
}

impl SecretError {
    /// Low-cardinality label.
    pub fn kind(&self) -> &'static str {
        match self {
            SecretError::Inline => "inline_secret",
            SecretError::EmptyEnvName | SecretError::InvalidEnvName | SecretError::EmptyPath => {
                "invalid_reference"
            }
            SecretError::EnvNotSet(_) => "env_not_set",
            SecretError::EnvEmpty(_) | SecretError::FileEmpty { .. } => "empty_secret",
            SecretError::FileRead { .. }
            | SecretError::FileTooLarge { .. }
            | SecretError::FileNotUtf8 { .. } => "file_unreadable",
        }
    }
}

impl SecretRef {
    /// Parses a reference. Anything that is not `env:`, `file:` or `os.environ/` is an
    /// inline secret and refused.
    pub fn parse(text: &str) -> Result<SecretRef, SecretError> {
        let text = text.trim();
        if let Some(name) = text
            .strip_prefix("env:")
            .or_else(|| text.strip_prefix("os.environ/"))
        {
            return parse_env_name(name).map(|name| SecretRef::Env(name.to_owned()));
        }
        if let Some(path) = text.strip_prefix("file:") {
            if path.is_empty() {
                return Err(SecretError::EmptyPath);
            }
            return Ok(SecretRef::File(PathBuf::from(path)));
        }
        Err(SecretError::Inline)
    }

    /// Resolves against the real process environment and file system.
    pub fn resolve(&self) -> Result<SecretString, SecretError> {
        self.resolve_with(&process_env)
    }

    /// Resolves with an injected environment lookup (tests use a map, not the process env).
    pub fn resolve_with(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<SecretString, SecretError> {
        match self {
            SecretRef::Env(name) => {
                let value =
                    Zeroizing::new(env(name).ok_or_else(|| SecretError::EnvNotSet(name.clone()))?);
                if value.is_empty() {
                    return Err(SecretError::EnvEmpty(name.clone()));
                }
                Ok(SecretString::from(value.as_str()))
            }
            SecretRef::File(path) => read_secret_file(path),
        }
    }
}

/// The real environment lookup used by [`SecretRef::resolve`] and `Config::load`.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn parse_env_name(name: &str) -> Result<&str, SecretError> {
    if name.is_empty() {
        return Err(SecretError::EmptyEnvName);
    }
    let mut chars = name.chars();
    let starts_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !starts_ok || !rest_ok || name.len() > MAX_ENV_NAME_LEN {
        return Err(SecretError::InvalidEnvName);
    }
    Ok(name)
}

fn read_secret_file(path: &Path) -> Result<SecretString, SecretError> {
    let file_error = |source| SecretError::FileRead {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(file_error)?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(file_error)?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(SecretError::FileTooLarge {
            path: path.to_owned(),
        });
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| SecretError::FileNotUtf8 {
        path: path.to_owned(),
    })?;
    let secret = text.trim_end_matches(['\n', '\r']);
    if secret.is_empty() {
        return Err(SecretError::FileEmpty {
            path: path.to_owned(),
        });
    }
    Ok(SecretString::from(secret))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use secrecy::ExposeSecret;

    use super::*;

    fn env_with(name: &'static str, value: &'static str) -> impl Fn(&str) -> Option<String> {
        move |asked| (asked == name).then(|| value.to_owned())
    }

    #[test]
    fn parses_the_three_reference_forms() {
        assert_eq!(
            SecretRef::parse("env:OPENAI_API_KEY").unwrap(),
            SecretRef::Env("OPENAI_API_KEY".into())
        );
        assert_eq!(
            SecretRef::parse("os.environ/OPENAI_API_KEY").unwrap(),
            SecretRef::Env("OPENAI_API_KEY".into())
        );
        assert_eq!(
            SecretRef::parse("file:/run/secrets/openai").unwrap(),
            SecretRef::File("/run/secrets/openai".into())
        );
    }

    #[test]
    fn refuses_inline_secret_without_echoing_it() {
        let err = SecretRef::parse("sk-live-CANARY1234567890").unwrap_err();
        assert!(matches!(err, SecretError::Inline));
        assert!(!err.to_string().contains("CANARY"), "{err}");
    }

    #[test]
    fn refuses_invalid_env_name_without_echoing_it() {
        let err = SecretRef::parse("env:sk-CANARY-123").unwrap_err();
        assert!(matches!(err, SecretError::InvalidEnvName));
        assert!(!err.to_string().contains("CANARY"), "{err}");
        assert!(matches!(
            SecretRef::parse("env:").unwrap_err(),
            SecretError::EmptyEnvName
        ));
        assert!(matches!(
            SecretRef::parse("file:").unwrap_err(),
            SecretError::EmptyPath
        ));
    }

    #[test]
    fn os_environ_form_resolves_through_the_injected_env() {
        let env = env_with("LEGACY_KEY", "value-from-env");
        let secret = SecretRef::parse("os.environ/LEGACY_KEY")
            .unwrap()
            .resolve_with(&env)
            .unwrap();
        assert_eq!(secret.expose_secret(), "value-from-env");
    }

    #[test]
    fn missing_env_var_is_named() {
        let env = env_with("OTHER", "x");
        let err = SecretRef::Env("OPENAI_API_KEY".into())
            .resolve_with(&env)
            .unwrap_err();
        assert!(err.to_string().contains("OPENAI_API_KEY"), "{err}");
    }

    #[test]
    fn empty_env_var_is_an_error() {
        let env = env_with("EMPTY", "");
        let err = SecretRef::Env("EMPTY".into())
            .resolve_with(&env)
            .unwrap_err();
        assert!(matches!(err, SecretError::EnvEmpty(_)));
    }

    #[test]
    fn file_secret_is_read_and_trailing_newline_trimmed() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(b"file-secret-value\n").unwrap();
        let reference = SecretRef::parse(&format!("file:{}", file.path().display())).unwrap();
        let secret = reference.resolve_with(&|_| None).unwrap();
        assert_eq!(secret.expose_secret(), "file-secret-value");
    }

    #[test]
    fn empty_or_oversized_or_missing_file_is_an_error_naming_the_path() {
        let empty = tempfile::NamedTempFile::new().unwrap();
        let err = SecretRef::File(empty.path().into())
            .resolve_with(&|_| None)
            .unwrap_err();
        assert!(matches!(err, SecretError::FileEmpty { .. }));

        let mut big = tempfile::NamedTempFile::new().unwrap();
        big.write_all(&vec![b'a'; MAX_SECRET_FILE_BYTES as usize + 1])
            .unwrap();
        let err = SecretRef::File(big.path().into())
            .resolve_with(&|_| None)
            .unwrap_err();
        assert!(matches!(err, SecretError::FileTooLarge { .. }));

        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = SecretRef::File(missing.clone())
            .resolve_with(&|_| None)
            .unwrap_err();
        assert!(
            err.to_string().contains(&missing.display().to_string()),
            "{err}"
        );
    }
}
