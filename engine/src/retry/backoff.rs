//! Exponential backoff with full jitter (a uniform draw in `0..min(cap, base·2^n)`), raised to
//! the provider's `Retry-After` when it named one. A `Retry-After` beyond `max_retry_after`
//! means "not on this deployment": the caller moves on instead of waiting that long.

use std::time::Duration;

use crate::clock::Picker;

/// Backoff settings of one provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffSpec {
    /// Scale of the first retry's wait.
    pub base: Duration,
    /// Largest drawn wait.
    pub max: Duration,
    /// Longest `Retry-After` the gateway waits out before retrying the same deployment.
    pub max_retry_after: Duration,
}

impl Default for BackoffSpec {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(100),
            max: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(2),
        }
    }
}

/// What to do before the next attempt on the same deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    For(Duration),
    /// The provider asked for a longer pause than the gateway waits out.
    TooLong,
}

/// The wait before retry number `retry` (1 for the first retry).
pub fn backoff(
    spec: &BackoffSpec,
    retry: u32,
    retry_after: Option<Duration>,
    picker: &dyn Picker,
) -> Wait {
    if let Some(after) = retry_after
        && after > spec.max_retry_after
    {
        return Wait::TooLong;
    }
    let factor = 1u32
        .checked_shl(retry.saturating_sub(1).min(30))
        .unwrap_or(u32::MAX);
    let ceiling = spec.base.saturating_mul(factor).min(spec.max);
    let ceiling_us = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
    let drawn = Duration::from_micros(picker.below(ceiling_us.saturating_add(1)));
    Wait::For(drawn.max(retry_after.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SeededPicker;

    #[test]
    fn draws_below_a_doubling_ceiling_capped_at_max() {
        let spec = BackoffSpec::default();
        let picker = SeededPicker::new(3);
        for (retry, ceiling_ms) in [(1, 100), (2, 200), (3, 400), (6, 2000), (30, 2000)] {
            for _ in 0..20 {
                let Wait::For(d) = backoff(&spec, retry, None, &picker) else {
                    panic!("no wait")
                };
                assert!(d <= Duration::from_millis(ceiling_ms), "{retry}: {d:?}");
            }
        }
    }

    #[test]
    fn honours_retry_after_up_to_the_cap() {
        let spec = BackoffSpec::default();
        let picker = SeededPicker::new(3);
        let after = Some(Duration::from_millis(1500));
        let Wait::For(d) = backoff(&spec, 1, after, &picker) else {
            panic!("no wait")
        };
        assert_eq!(d, Duration::from_millis(1500));
        let long = Some(Duration::from_secs(3));
        assert_eq!(backoff(&spec, 1, long, &picker), Wait::TooLong);
    }
}
