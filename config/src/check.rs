//! The walk's toolkit: a [`Checker`] collects every problem with its field path and location
//! and keeps going, so one run shows everything to fix. Each section file (`server`, `auth`,
//! `providers`, `models`, `keys`) adds its own checks to it; the shared ones live here:
//! secrets (resolved through the injected environment, inline values refused by path without
//! being echoed), labels, sizes, durations, unique names and renamed fields.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use serde_saphyr::Spanned;

use crate::duration::{format_duration, parse_duration};
use crate::error::Problem;
use crate::secret::SecretRef;

/// Longest name for providers and keys (they appear in logs and metric labels).
pub(crate) const MAX_LABEL_CHARS: usize = 64;

/// Collects problems while walking the raw config.
pub(crate) struct Checker<'e> {
    pub(crate) problems: Vec<Problem>,
    pub(crate) env: &'e dyn Fn(&str) -> Option<String>,
}

impl Checker<'_> {
    /// Records a problem at the location of `at`, if any.
    pub(crate) fn problem<T>(
        &mut self,
        path: impl Into<String>,
        at: Option<&Spanned<T>>,
        reason: impl Into<String>,
    ) {
        let location = at.map(|spanned| spanned.referenced);
        self.problems.push(Problem {
            path: path.into(),
            reason: reason.into(),
            line: location.map(|l| l.line()).filter(|&n| n > 0),
            column: location.map(|l| l.column()).filter(|&n| n > 0),
        });
    }

    /// Parses and resolves a secret reference; records a problem (without the value) on failure.
    pub(crate) fn secret(&mut self, path: &str, raw: &Spanned<String>) -> Option<SecretString> {
        let resolved = SecretRef::parse(&raw.value).and_then(|r| r.resolve_with(self.env));
        match resolved {
            Ok(secret) => Some(secret),
            Err(err) => {
                self.problem(path, Some(raw), err.to_string());
                None
            }
        }
    }

    /// Checks an operator-chosen label: `[A-Za-z0-9_.-]{1,64}`.
    pub(crate) fn label(&mut self, path: &str, raw: &Spanned<String>) -> bool {
        let name = raw.value.as_str();
        let ok = !name.is_empty()
            && name.chars().count() <= MAX_LABEL_CHARS
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !ok {
            self.problem(
                path,
                Some(raw),
                format!("must be 1 to {MAX_LABEL_CHARS} characters of A-Z a-z 0-9 _ . -"),
            );
        }
        ok
    }

    pub(crate) fn socket_addr(
        &mut self,
        path: &str,
        raw: Option<&Spanned<String>>,
        default: SocketAddr,
    ) -> SocketAddr {
        let Some(raw) = raw else { return default };
        raw.value.trim().parse().unwrap_or_else(|_| {
            self.problem(
                path,
                Some(raw),
                "must be an IP address and port, e.g. 127.0.0.1:4000 or [::1]:4000",
            );
            default
        })
    }

    /// A size in `1..=max`, defaulting to `default`.
    pub(crate) fn bounded(
        &mut self,
        path: &str,
        raw: Option<&Spanned<usize>>,
        default: usize,
        max: usize,
    ) -> usize {
        let Some(raw) = raw else { return default };
        if raw.value == 0 || raw.value > max {
            self.problem(path, Some(raw), format!("must be between 1 and {max}"));
            return default;
        }
        raw.value
    }

    /// A duration in the config's one format, defaulting to `default`; zero is refused.
    pub(crate) fn duration(
        &mut self,
        path: &str,
        raw: Option<&Spanned<String>>,
        default: Duration,
    ) -> Duration {
        let Some(raw) = raw else { return default };
        match parse_duration(&raw.value) {
            Ok(d) if d.is_zero() => {
                self.problem(path, Some(raw), "must be greater than 0");
                default
            }
            Ok(d) => d,
            Err(why) => {
                self.problem(path, Some(raw), why);
                default
            }
        }
    }

    /// A duration in `bounds` (inclusive), defaulting to `default`.
    pub(crate) fn duration_within(
        &mut self,
        path: &str,
        raw: Option<&Spanned<String>>,
        default: Duration,
        (min, max): (Duration, Duration),
    ) -> Duration {
        let Some(raw) = raw else { return default };
        let before = self.problems.len();
        let d = self.duration(path, Some(raw), default);
        if self.problems.len() == before && !(min..=max).contains(&d) {
            let why = format!(
                "must be between {} and {}",
                format_duration(min),
                format_duration(max)
            );
            self.problem(path, Some(raw), why);
            return default;
        }
        d
    }

    /// Records that `name` at `list[i].name` repeats an earlier entry of `list`.
    /// `seen` maps names to the index where each first appeared.
    pub(crate) fn unique(
        &mut self,
        seen: &mut HashMap<String, usize>,
        list: &str,
        i: usize,
        name: &Spanned<String>,
    ) {
        if let Some(first) = seen.get(&name.value) {
            let what = list.trim_end_matches('s');
            self.problem(
                format!("{list}[{i}].name"),
                Some(name),
                format!(
                    "duplicate {what} name {:?} (first at {list}[{first}])",
                    name.value
                ),
            );
        } else {
            seen.insert(name.value.clone(), i);
        }
    }

    /// Records a field this version renamed, naming its replacement.
    pub(crate) fn renamed<T>(&mut self, old: &str, present: Option<&T>, new: &str, hint: &str) {
        if present.is_some() {
            self.problem::<()>(old, None, format!("was renamed to `{new}` ({hint})"));
        }
    }
}
