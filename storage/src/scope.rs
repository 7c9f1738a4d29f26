//! What a key or a team may do: models, budget, rate limits, source addresses.
//!
//! A `Scope` is set on a key and on its team; the effective permission is the tighter of the
//! two (see [`crate::VirtualKey`]). Budgets and rate limits are stored and returned here and
//! enforced by the limiter, which needs both levels separately (a key bucket and a team
//! bucket), so they are never merged into one number. Money is integer micro-USD.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Which model groups (names or aliases) may be used.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelAccess {
    /// Every model.
    #[default]
    All,
    /// Only these; an empty list allows none.
    Only(Vec<Arc<str>>),
}

impl ModelAccess {
    pub fn allows(&self, model: &str) -> bool {
        match self {
            ModelAccess::All => true,
            ModelAccess::Only(models) => models.iter().any(|m| &**m == model),
        }
    }

    /// The models both allow (order follows `self`).
    pub fn intersect(&self, other: &ModelAccess) -> ModelAccess {
        match (self, other) {
            (ModelAccess::All, o) => o.clone(),
            (s, ModelAccess::All) => s.clone(),
            (ModelAccess::Only(a), b) => {
                ModelAccess::Only(a.iter().filter(|m| b.allows(m)).cloned().collect())
            }
        }
    }
}

/// Which client addresses may present the key.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceAccess {
    /// Any address.
    #[default]
    Any,
    /// Only addresses inside one of these networks; an empty list allows none.
    Only(Vec<IpNet>),
}

impl SourceAccess {
    pub fn allows(&self, addr: IpAddr) -> bool {
        match self {
            SourceAccess::Any => true,
            SourceAccess::Only(nets) => nets.iter().any(|n| n.contains(&addr)),
        }
    }
}

/// When a budget's spend starts again from zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetPeriod {
    Daily,
    Weekly,
    Monthly,
    Never,
}

/// A spending cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// The cap, in micro-USD (1 USD = 1,000,000).
    pub max_micro_usd: u64,
    pub reset: ResetPeriod,
}

/// Permissions and limits of one level (a key or a team). `None` means "no limit at this
/// level"; the default scope allows everything.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scope {
    pub models: ModelAccess,
    pub budget: Option<Budget>,
    /// Requests per minute.
    pub rpm: Option<u32>,
    /// Tokens per minute.
    pub tpm: Option<u64>,
    /// Requests in flight at once.
    pub max_parallel: Option<u32>,
    pub sources: SourceAccess,
}

/// The rate limits of both levels folded into one: the smaller of each. Budgets are not
/// folded (their periods may differ); read them per level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TightestLimits {
    pub rpm: Option<u32>,
    pub tpm: Option<u64>,
    pub max_parallel: Option<u32>,
}

fn min_opt<T: Ord + Copy>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

impl TightestLimits {
    /// The tighter of `key` and, when present, `team`.
    pub fn of(key: &Scope, team: Option<&Scope>) -> Self {
        let own = Self {
            rpm: key.rpm,
            tpm: key.tpm,
            max_parallel: key.max_parallel,
        };
        match team {
            None => own,
            Some(t) => Self {
                rpm: min_opt(own.rpm, t.rpm),
                tpm: min_opt(own.tpm, t.tpm),
                max_parallel: min_opt(own.max_parallel, t.max_parallel),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(names: &[&str]) -> ModelAccess {
        ModelAccess::Only(names.iter().map(|n| Arc::from(*n)).collect())
    }

    #[test]
    fn model_access_allows_only_listed_models() {
        assert!(only(&["a", "b"]).allows("a"));
        assert!(!only(&["a", "b"]).allows("c"));
        assert!(ModelAccess::All.allows("anything"));
        assert!(!only(&[]).allows("a"));
    }

    #[test]
    fn model_intersection_keeps_what_both_allow() {
        assert_eq!(
            only(&["a", "b"]).intersect(&only(&["b", "c"])),
            only(&["b"])
        );
        assert_eq!(ModelAccess::All.intersect(&only(&["x"])), only(&["x"]));
        assert_eq!(only(&["x"]).intersect(&ModelAccess::All), only(&["x"]));
        assert_eq!(
            ModelAccess::All.intersect(&ModelAccess::All),
            ModelAccess::All
        );
        assert_eq!(only(&["a"]).intersect(&only(&["b"])), only(&[]));
    }

    #[test]
    fn sources_match_networks() {
        let s = SourceAccess::Only(vec![
            "10.0.0.0/8".parse().unwrap(),
            "::1/128".parse().unwrap(),
        ]);
        assert!(s.allows("10.1.2.3".parse().unwrap()));
        assert!(s.allows("::1".parse().unwrap()));
        assert!(!s.allows("11.0.0.1".parse().unwrap()));
        assert!(!SourceAccess::Only(vec![]).allows("10.0.0.1".parse().unwrap()));
        assert!(SourceAccess::Any.allows("8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn tightest_limits_take_the_smaller_of_each() {
        let key = Scope {
            rpm: Some(10),
            tpm: None,
            max_parallel: Some(5),
            ..Scope::default()
        };
        let team = Scope {
            rpm: Some(20),
            tpm: Some(1000),
            max_parallel: Some(2),
            ..Scope::default()
        };
        let t = TightestLimits::of(&key, Some(&team));
        assert_eq!(
            (t.rpm, t.tpm, t.max_parallel),
            (Some(10), Some(1000), Some(2))
        );
        assert_eq!(TightestLimits::of(&key, None).tpm, None);
    }

    #[test]
    fn scope_json_round_trips_and_refuses_unknown_fields() {
        let scope = Scope {
            models: only(&["gpt"]),
            budget: Some(Budget {
                max_micro_usd: 5_000_000,
                reset: ResetPeriod::Monthly,
            }),
            sources: SourceAccess::Only(vec!["192.168.0.0/16".parse().unwrap()]),
            ..Scope::default()
        };
        let text = serde_json::to_string(&scope).unwrap();
        assert_eq!(serde_json::from_str::<Scope>(&text).unwrap(), scope);
        assert!(serde_json::from_str::<Scope>(r#"{"admin":true}"#).is_err());
        assert_eq!(
            serde_json::from_str::<Scope>("{}").unwrap(),
            Scope::default()
        );
    }
}
