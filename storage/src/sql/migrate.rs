//! Migration bookkeeping shared by the SQL backends.
//!
//! Each backend embeds its migrations (`include_str!`) as an ordered list and records every
//! applied version in a `schema_version` table. At start-up it applies what is missing, in
//! one transaction; a database at a version newer than the binary knows is refused, since
//! this binary cannot know what the newer schema means.

use crate::error::StorageError;

/// One schema step.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

/// The migrations still to apply to a database at `current`, or an error if the database is
/// newer than `all` knows. `all` is ordered by version, starting at 1, without gaps.
pub(crate) fn pending(
    current: i64,
    all: &'static [Migration],
) -> Result<&'static [Migration], StorageError> {
    let supported = all.last().map_or(0, |m| m.version);
    if current > supported {
        return Err(StorageError::SchemaTooNew {
            found: current,
            supported,
        });
    }
    let done = all.iter().take_while(|m| m.version <= current).count();
    Ok(&all[done..])
}

#[cfg(test)]
mod tests {
    use super::*;

    static ALL: [Migration; 2] = [
        Migration {
            version: 1,
            sql: "a",
        },
        Migration {
            version: 2,
            sql: "b",
        },
    ];

    #[test]
    fn applies_only_what_is_missing_and_refuses_newer_schemas() {
        assert_eq!(pending(0, &ALL).unwrap().len(), 2);
        assert_eq!(pending(1, &ALL).unwrap()[0].sql, "b");
        assert!(pending(2, &ALL).unwrap().is_empty());
        assert_eq!(
            pending(3, &ALL).unwrap_err(),
            StorageError::SchemaTooNew {
                found: 3,
                supported: 2
            }
        );
    }
}
