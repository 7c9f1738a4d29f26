//! Integer-exact token bucket arithmetic, shared by the memory backend and the local fallback
//! (the Redis scripts do the same arithmetic in Lua).
//!
//! A token is [`TOKEN_UNITS`] units, so a bucket refilling R tokens a minute gains exactly R
//! units a millisecond: continuous refill with no rounding drift. The level may go negative
//! (debt) when a settlement finds more tokens used than were reserved.

/// Units per token: one minute in milliseconds.
pub const TOKEN_UNITS: i64 = 60_000;

/// A bucket's level at an instant. Capacity and rate are passed in, so a config change applies
/// at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenBucket {
    level: i64,
    at_ms: u64,
}

fn units(tokens: u64) -> i64 {
    i64::try_from(i128::from(tokens) * i128::from(TOKEN_UNITS)).unwrap_or(i64::MAX)
}

fn ceil_div(num: i128, den: i128) -> u64 {
    u64::try_from((num + den - 1) / den).unwrap_or(u64::MAX)
}

impl TokenBucket {
    /// A full bucket.
    pub fn full(capacity: u64, now_ms: u64) -> Self {
        Self {
            level: units(capacity),
            at_ms: now_ms,
        }
    }

    /// Bring the level up to `now_ms` (never above capacity; a lowered capacity clamps).
    pub fn refill(&mut self, capacity: u64, per_minute: u64, now_ms: u64) {
        let cap = units(capacity);
        let elapsed = now_ms.saturating_sub(self.at_ms);
        let gained = i128::from(elapsed) * i128::from(per_minute);
        let level = (i128::from(self.level) + gained).min(i128::from(cap));
        self.level = i64::try_from(level).unwrap_or(cap);
        self.at_ms = self.at_ms.max(now_ms);
    }

    /// Whether `take` tokens are there now (call `refill` first).
    pub fn can_take(&self, take: u64) -> bool {
        self.level >= units(take)
    }

    /// Remove `take` tokens (call `can_take` first; a settlement may drive the level negative).
    pub fn take(&mut self, take: u64) {
        self.level = self.level.saturating_sub(units(take));
    }

    /// Move the level by `estimate − actual` tokens: a refund when fewer were used, debt when
    /// more. Never above capacity.
    pub fn settle(&mut self, capacity: u64, estimate: u64, actual: u64) {
        let delta = i128::from(estimate) - i128::from(actual);
        let level = (i128::from(self.level) + delta * i128::from(TOKEN_UNITS))
            .min(i128::from(units(capacity)));
        self.level = i64::try_from(level).unwrap_or(i64::MIN);
    }

    /// Milliseconds until `take` tokens are there; `None` if never (take > capacity, or no
    /// refill).
    pub fn retry_after_ms(&self, take: u64, capacity: u64, per_minute: u64) -> Option<u64> {
        if take > capacity {
            return None;
        }
        let need = i128::from(units(take)) - i128::from(self.level);
        if need <= 0 {
            return Some(0);
        }
        if per_minute == 0 {
            return None;
        }
        Some(ceil_div(need, i128::from(per_minute)))
    }

    /// Whole tokens left, 0 in debt.
    pub fn remaining(&self) -> u64 {
        u64::try_from(self.level.max(0) / TOKEN_UNITS).unwrap_or(0)
    }

    /// Milliseconds until the bucket is full again (0 if it is, or if it never refills).
    pub fn reset_ms(&self, capacity: u64, per_minute: u64) -> u64 {
        let need = i128::from(units(capacity)) - i128::from(self.level);
        if need <= 0 || per_minute == 0 {
            return 0;
        }
        ceil_div(need, i128::from(per_minute))
    }

    /// Whether the bucket is full at `now_ms` (it can be forgotten and recreated full).
    pub fn is_full_at(&self, capacity: u64, per_minute: u64, now_ms: u64) -> bool {
        let mut b = *self;
        b.refill(capacity, per_minute, now_ms);
        b.level >= units(capacity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refills_continuously_one_token_per_refill_interval() {
        let mut b = TokenBucket::full(10, 0);
        b.take(10);
        assert!(!b.can_take(1));
        // 10 a minute = one every 6 s.
        assert_eq!(b.retry_after_ms(1, 10, 10), Some(6_000));
        b.refill(10, 10, 5_999);
        assert!(!b.can_take(1));
        b.refill(10, 10, 6_000);
        assert!(b.can_take(1));
        assert!(!b.can_take(2));
        assert_eq!(b.remaining(), 1);
        assert_eq!(b.reset_ms(10, 10), 54_000);
    }

    #[test]
    fn never_exceeds_capacity_and_reports_never_for_oversized_take() {
        let mut b = TokenBucket::full(5, 0);
        b.refill(5, 600, 1_000_000);
        assert_eq!(b.remaining(), 5);
        assert_eq!(b.retry_after_ms(6, 5, 600), None);
        let mut dry = TokenBucket::full(1, 0);
        dry.take(1);
        assert_eq!(dry.retry_after_ms(1, 1, 0), None);
    }

    #[test]
    fn settlement_goes_into_debt_and_refunds_up_to_capacity() {
        let mut b = TokenBucket::full(1_000, 0);
        b.take(100);
        b.settle(1_000, 100, 1_500);
        assert_eq!(b.remaining(), 0);
        assert!(!b.can_take(1));
        // 900 left, 1 400 more used than reserved: 500 in debt. At 1000 a minute one token
        // is back after (500 + 1) * 60 ms.
        assert_eq!(b.retry_after_ms(1, 1_000, 1_000), Some(501 * 60));
        let mut c = TokenBucket::full(1_000, 0);
        c.take(100);
        c.settle(1_000, 100, 0);
        assert_eq!(c.remaining(), 1_000);
        c.settle(1_000, 100, 0);
        assert_eq!(c.remaining(), 1_000);
    }
}
