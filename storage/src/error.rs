//! Storage errors. None of them carries a key, a hash, a credential or a value a client sent:
//! backend failures keep only a static context and the database's error code.

use crate::id::InvalidId;

/// A storage backend failed, or refused an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The backend could not be reached or timed out; the caller applies its failure policy.
    #[error("storage backend unavailable: {0}")]
    Unavailable(&'static str),
    /// A record could not be written because one with the same identity exists.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The record an operation names does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// An argument was refused before reaching the backend.
    #[error("invalid {0}")]
    Invalid(&'static str),
    /// An id did not validate.
    #[error(transparent)]
    InvalidId(#[from] InvalidId),
    /// The database was migrated by a newer Portcullis; this binary refuses to touch it.
    #[error(
        "database schema version {found} is newer than this binary supports ({supported}); \
         upgrade Portcullis or point it at another database"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    /// Stored data could not be decoded (corrupt or written by something else).
    #[error("stored {0} could not be decoded")]
    Corrupt(&'static str),
    /// The backend reported an error; `code` is its error code (SQLSTATE or SQLite's name).
    #[error("{backend} error while {context} (code {code})")]
    Backend {
        backend: &'static str,
        context: &'static str,
        code: String,
    },
}

impl StorageError {
    /// Low-cardinality label.
    pub fn kind(&self) -> &'static str {
        match self {
            StorageError::Unavailable(_) => "storage_unavailable",
            StorageError::Conflict(_) => "storage_conflict",
            StorageError::NotFound(_) => "storage_not_found",
            StorageError::Invalid(_) | StorageError::InvalidId(_) => "storage_invalid",
            StorageError::SchemaTooNew { .. } => "storage_schema_too_new",
            StorageError::Corrupt(_) => "storage_corrupt",
            StorageError::Backend { .. } => "storage_backend",
        }
    }

    /// Whether the caller asked for something impossible (conflict, not found, invalid), as
    /// opposed to the store failing.
    pub fn is_client_fault(&self) -> bool {
        matches!(
            self,
            StorageError::Conflict(_)
                | StorageError::NotFound(_)
                | StorageError::Invalid(_)
                | StorageError::InvalidId(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_too_new_names_both_versions() {
        let text = StorageError::SchemaTooNew {
            found: 7,
            supported: 3,
        }
        .to_string();
        assert!(text.contains('7') && text.contains('3'), "{text}");
    }
}
