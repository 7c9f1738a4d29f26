//! `portcullis check`: a deployment audit. Where `Config::from_yaml_str` answers "will this
//! start?", the audit answers "is this safe to expose?" — it reports risks by severity, and
//! keeps going where the loader would stop (an inline secret is a finding, not the end).
//!
//! Pure: text, an environment lookup and today's date in; findings out. Findings name fields
//! and lines, never values: the file may hold the very secrets the audit is warning about,
//! and a resolved master key is only ever measured (length, estimated entropy), not shown.

mod loaded;
mod raw;
#[cfg(test)]
mod tests;

use std::fmt;

use serde::Serialize;
use serde_saphyr::Spanned;

use crate::document::{RawConfig, validate};
use crate::error::ConfigError;
use crate::yaml;

/// Built-in prices older than this many days are reported as stale.
pub const MAX_PRICE_AGE_DAYS: u32 = 90;

/// How much a finding matters. `High` fails `portcullis check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    High,
    Medium,
    Low,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One risk found in a config. Never contains a secret value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Stable, low-cardinality identifier (`inline_secret`, `admin_exposed`, …).
    pub id: &'static str,
    /// Field path in the config (`providers[0].api_key`), or `-` for the whole deployment.
    pub path: String,
    /// 1-based line in the file, where known.
    pub line: Option<u64>,
    pub message: String,
}

/// The audit of one config: findings sorted by severity, most severe first.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Audit {
    pub findings: Vec<Finding>,
}

impl Audit {
    /// Whether any finding is [`Severity::High`] (`portcullis check` exits non-zero).
    pub fn has_high(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::High)
    }

    /// How many findings have `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// Audits the config `text`, resolving references through `env`, on `today_days` (days
/// since 1970-01-01, UTC; used for the price catalogue's age).
pub fn audit(text: &str, env: &dyn Fn(&str) -> Option<String>, today_days: i64) -> Audit {
    let mut findings = Findings::default();
    let parsed: Result<RawConfig, ConfigError> = yaml::parse(text);
    let raw = match parsed {
        Ok(raw) => raw,
        Err(err) => {
            findings.push(
                Severity::High,
                "config_invalid",
                "-",
                None,
                format!("the config does not load: {err}"),
            );
            return findings.finish();
        }
    };
    let inline = raw::audit_raw(&raw, env, &mut findings);
    match validate(raw, env) {
        Ok(config) => loaded::audit_loaded(&config, today_days, &mut findings),
        Err(err) => {
            for problem in err.problems() {
                // Inline secrets are already findings of their own.
                if inline.contains(&problem.path) {
                    continue;
                }
                findings.push(
                    Severity::High,
                    "config_invalid",
                    &problem.path,
                    problem.line,
                    format!("the loader refuses this: {}", problem.reason),
                );
            }
            if err.problems().is_empty() {
                findings.push(Severity::High, "config_invalid", "-", None, err.to_string());
            }
        }
    }
    findings.finish()
}

/// Findings being collected.
#[derive(Default)]
pub(crate) struct Findings(Vec<Finding>);

impl Findings {
    pub(crate) fn push(
        &mut self,
        severity: Severity,
        id: &'static str,
        path: &str,
        line: Option<u64>,
        message: impl Into<String>,
    ) {
        self.0.push(Finding {
            severity,
            id,
            path: path.to_owned(),
            line,
            message: message.into(),
        });
    }

    fn finish(mut self) -> Audit {
        // Stable: within a severity, findings stay in file order.
        self.0.sort_by_key(|f| f.severity);
        Audit { findings: self.0 }
    }
}

/// The 1-based line of a spanned value, where known.
pub(crate) fn line_of<T>(at: &Spanned<T>) -> Option<u64> {
    Some(at.referenced.line()).filter(|&n| n > 0)
}
