//! `storage:` — where virtual keys, teams, spend and the audit log are kept.
//!
//! The default is SQLite in a file at [`StorageConfig::DEFAULT_SQLITE_PATH`], so a gateway
//! started with no storage section keeps keys created through the admin API across restarts.
//! `memory` keeps nothing; `postgres` is shared by several replicas, its URL a secret
//! reference (it carries a password). Durable backends need `auth.key_pepper`: keys are
//! stored as HMAC(pepper, key), and a pepper drawn at random per start would orphan them.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::check::Checker;

/// The chosen storage backend.
#[derive(Debug, Clone)]
pub enum StorageConfig {
    /// Nothing survives a restart.
    Memory,
    /// One file (created with its folder when missing).
    Sqlite { path: PathBuf },
    /// A PostgreSQL server shared by replicas.
    Postgres {
        /// libpq-style conninfo or `postgres://` URL, from a secret reference.
        url: SecretString,
        /// Connections in the pool.
        pool_size: usize,
    },
}

impl StorageConfig {
    /// Where the SQLite file goes when the config names none (relative to the working folder).
    pub const DEFAULT_SQLITE_PATH: &'static str = "./data/portcullis.db";
    pub const DEFAULT_POOL_SIZE: usize = 16;
    pub const MAX_POOL_SIZE: usize = 1024;

    /// Whether keys outlive the process (and so need a fixed pepper).
    pub fn is_durable(&self) -> bool {
        !matches!(self, StorageConfig::Memory)
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig::Sqlite {
            path: PathBuf::from(Self::DEFAULT_SQLITE_PATH),
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStorage {
    /// `sqlite` (default), `postgres` or `memory`.
    #[serde(default)]
    pub(crate) backend: Option<Spanned<String>>,
    /// SQLite file path.
    #[serde(default)]
    pub(crate) path: Option<Spanned<String>>,
    /// PostgreSQL conninfo, as a secret reference.
    #[serde(default)]
    pub(crate) url: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) pool_size: Option<Spanned<usize>>,
}

impl Checker<'_> {
    pub(crate) fn storage(&mut self, raw: RawStorage) -> StorageConfig {
        let backend = raw.backend.as_ref().map_or("sqlite", |b| b.value.as_str());
        let refuse = |check: &mut Self, field: &str, present: bool| {
            if present {
                check.problem::<()>(
                    format!("storage.{field}"),
                    None,
                    format!("does not apply to the {backend} backend"),
                );
            }
        };
        match backend {
            "memory" => {
                refuse(self, "path", raw.path.is_some());
                refuse(self, "url", raw.url.is_some());
                refuse(self, "pool_size", raw.pool_size.is_some());
                StorageConfig::Memory
            }
            "sqlite" => {
                refuse(self, "url", raw.url.is_some());
                refuse(self, "pool_size", raw.pool_size.is_some());
                let path = match &raw.path {
                    Some(p) if p.value.trim().is_empty() => {
                        self.problem("storage.path", Some(p), "must not be empty");
                        PathBuf::from(StorageConfig::DEFAULT_SQLITE_PATH)
                    }
                    Some(p) => PathBuf::from(&p.value),
                    None => PathBuf::from(StorageConfig::DEFAULT_SQLITE_PATH),
                };
                StorageConfig::Sqlite { path }
            }
            "postgres" => {
                refuse(self, "path", raw.path.is_some());
                let pool_size = self.bounded(
                    "storage.pool_size",
                    raw.pool_size.as_ref(),
                    StorageConfig::DEFAULT_POOL_SIZE,
                    StorageConfig::MAX_POOL_SIZE,
                );
                let url = match &raw.url {
                    Some(r) => self.secret("storage.url", r),
                    None => {
                        self.problem::<()>(
                            "storage.url",
                            None,
                            "is required for the postgres backend (a secret reference: env:NAME or file:PATH)",
                        );
                        None
                    }
                };
                match url {
                    Some(url) => StorageConfig::Postgres { url, pool_size },
                    None => StorageConfig::Memory,
                }
            }
            _ => {
                self.problem(
                    "storage.backend",
                    raw.backend.as_ref(),
                    "must be one of sqlite, postgres, memory",
                );
                StorageConfig::Memory
            }
        }
    }
}
