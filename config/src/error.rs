//! Config errors: what is wrong, in which field, on which line — and never a secret.
//!
//! Three stages can fail: reading the file, parsing the YAML, and validating what was
//! parsed. Validation collects every [`Problem`] it finds, so an operator fixes a config in
//! one pass instead of one error per restart. Messages name fields by their path in the file
//! (`models[1].deployments[0].provider`) and give the line and column where known.

use std::fmt;
use std::path::PathBuf;

/// Why a config could not be loaded. All of it is the operator's to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The config text is larger than [`super::MAX_CONFIG_BYTES`].
    #[error("config is larger than the {limit}-byte limit")]
    TooLarge { limit: usize },
    /// The text is not valid YAML, or does not have the config's shape (an unknown field,
    /// a wrong type, a budget limit). `message` ends with the location when one is known and
    /// never contains a snippet of the document.
    #[error("invalid config YAML: {message}")]
    Yaml {
        message: String,
        line: Option<u64>,
        column: Option<u64>,
    },
    /// The YAML parsed but the config is not acceptable.
    #[error("{0}")]
    Invalid(Problems),
}

impl ConfigError {
    /// Low-cardinality label.
    pub fn kind(&self) -> &'static str {
        match self {
            ConfigError::Read { .. } => "read",
            ConfigError::TooLarge { .. } => "too_large",
            ConfigError::Yaml { .. } => "yaml",
            ConfigError::Invalid(_) => "invalid",
        }
    }

    /// The validation problems, if this is a validation failure.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid(problems) => &problems.0,
            _ => &[],
        }
    }
}

/// One thing wrong with a parsed config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the document, e.g. `providers[0].api_key`.
    pub path: String,
    /// Why it is wrong. Never contains a secret value.
    pub reason: String,
    /// 1-based line and column of the offending value, where known.
    pub line: Option<u64>,
    pub column: Option<u64>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)?;
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, " at line {line}, column {column}"),
            (Some(line), None) => write!(f, " at line {line}"),
            _ => Ok(()),
        }
    }
}

/// Every problem validation found, in document order of discovery. Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [only] => write!(f, "invalid config: {only}"),
            all => {
                write!(f, "invalid config ({} problems):", all.len())?;
                for problem in all {
                    write!(f, "\n  - {problem}")?;
                }
                Ok(())
            }
        }
    }
}
