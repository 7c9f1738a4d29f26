//! Strategies: which of a group's available deployments takes the next request.
//!
//! Every strategy chooses among deployments already known to be available (not cooling down,
//! breaker admitting, below `max_in_flight`, under their declared RPM/TPM), reads only
//! atomics, and draws chance from the injected [`Picker`], so each is tested with a seeded
//! picker. Ties in the ordered strategies are broken by weight, at random.

use std::sync::atomic::{AtomicU64, Ordering};

use super::deployment::Deployment;
use crate::clock::Picker;

/// How a group chooses a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// At random, in proportion to weight.
    #[default]
    WeightedRandom,
    /// In turn.
    RoundRobin,
    /// Power of two choices: two at random, the one with fewer requests in flight.
    LeastInFlight,
    /// Lowest peak-EWMA latency times (in-flight + 1); unmeasured deployments first.
    LowestLatency,
    /// Most headroom left under the declared RPM/TPM this minute.
    UsageAware,
    /// Lowest price per token (configured, else the price catalogue).
    Cheapest,
    /// Lowest `priority` first (config order by default).
    Priority,
}

impl Strategy {
    pub const ALL: [Strategy; 7] = [
        Strategy::WeightedRandom,
        Strategy::RoundRobin,
        Strategy::LeastInFlight,
        Strategy::LowestLatency,
        Strategy::UsageAware,
        Strategy::Cheapest,
        Strategy::Priority,
    ];

    /// The name used in config.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::WeightedRandom => "weighted_random",
            Strategy::RoundRobin => "round_robin",
            Strategy::LeastInFlight => "least_in_flight",
            Strategy::LowestLatency => "lowest_latency",
            Strategy::UsageAware => "usage_aware",
            Strategy::Cheapest => "cheapest",
            Strategy::Priority => "priority",
        }
    }

    pub fn parse(name: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// Picks one of `candidates` (not empty); returns its index.
pub(super) fn pick(
    strategy: Strategy,
    candidates: &[&Deployment],
    now: u64,
    picker: &dyn Picker,
    turn: &AtomicU64,
) -> usize {
    let n = candidates.len();
    if n <= 1 {
        return 0;
    }
    match strategy {
        Strategy::WeightedRandom => weighted(candidates, 0..n, picker),
        Strategy::RoundRobin => (turn.fetch_add(1, Ordering::Relaxed) % n as u64) as usize,
        Strategy::LeastInFlight => {
            let a = picker.below(n as u64) as usize;
            let mut b = picker.below(n as u64 - 1) as usize;
            if b >= a {
                b += 1;
            }
            if candidates[b].in_flight() < candidates[a].in_flight() {
                b
            } else {
                a
            }
        }
        Strategy::LowestLatency => lowest(candidates, picker, |d| {
            let ewma = d.ewma().map_or(0, |l| l.as_micros());
            ewma.saturating_mul(u128::from(d.in_flight()) + 1)
        }),
        Strategy::UsageAware => lowest(candidates, picker, |d| {
            // Less headroom sorts later; a millionth is fine enough to rank by.
            ((1.0 - d.headroom(now)).clamp(0.0, 1.0) * 1_000_000.0) as u128
        }),
        Strategy::Cheapest => lowest(candidates, picker, |d| u128::from(d.facts.cost)),
        Strategy::Priority => lowest(candidates, picker, |d| u128::from(d.facts.priority)),
    }
}

/// The candidate with the lowest `key`; ties by weight at random.
fn lowest(
    candidates: &[&Deployment],
    picker: &dyn Picker,
    key: impl Fn(&Deployment) -> u128,
) -> usize {
    let best = candidates.iter().map(|d| key(d)).min().unwrap_or(0);
    let ties = (0..candidates.len()).filter(|&i| key(candidates[i]) == best);
    weighted(candidates, ties, picker)
}

/// One of the candidates at `indices`, at random in proportion to weight.
fn weighted(
    candidates: &[&Deployment],
    indices: impl Iterator<Item = usize> + Clone,
    picker: &dyn Picker,
) -> usize {
    let total: u64 = indices
        .clone()
        .map(|i| u64::from(candidates[i].facts.weight.max(1)))
        .sum();
    let mut draw = picker.below(total.max(1));
    let mut last = 0;
    for i in indices {
        let w = u64::from(candidates[i].facts.weight.max(1));
        if draw < w {
            return i;
        }
        draw -= w;
        last = i;
    }
    last
}

#[cfg(test)]
#[path = "pick_tests.rs"]
mod tests;
