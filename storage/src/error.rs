//! Storage errors. None of them carries a key, a hash or a credential.

/// A storage backend failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The backend could not be reached or timed out; the caller applies its failure policy.
    #[error("storage backend unavailable: {0}")]
    Unavailable(&'static str),
    /// A record could not be written because one with the same identity exists.
    #[error("{0} already exists")]
    Conflict(&'static str),
}

impl StorageError {
    /// Low-cardinality label.
    pub fn kind(&self) -> &'static str {
        match self {
            StorageError::Unavailable(_) => "storage_unavailable",
            StorageError::Conflict(_) => "storage_conflict",
        }
    }
}
