//! Every Redis key the limiter writes, in one place. All start with [`PREFIX`]; the part in
//! braces is the Redis Cluster hash tag, so all keys of one tag share a slot.

use crate::limiter::BudgetPeriod;

/// The prefix of every key Portcullis writes.
pub const PREFIX: &str = "portcullis:";

/// How long a budget period's counters outlive the period's end (clock skew between the
/// gateway and Redis, late settlements).
pub(crate) const BUDGET_GRACE_MS: u64 = 86_400_000;

/// `portcullis:{<tag>}:<name>`: a bucket hash or a parallel-cap zset.
pub(crate) fn scoped(tag: &str, name: &str) -> String {
    format!("{PREFIX}{{{tag}}}:{name}")
}

/// The budget period's hash (`spent`, `reserved`, `r:<request id>`).
pub(crate) fn budget(p: &BudgetPeriod) -> String {
    format!("{PREFIX}{{{}}}:{}:{}", p.tag, p.name, p.period)
}

/// The budget period's lease zset (request id → lease end, Redis ms).
pub(crate) fn budget_leases(p: &BudgetPeriod) -> String {
    format!("{PREFIX}{{{}}}:{}:{}:leases", p.tag, p.name, p.period)
}

/// The latest expiry written: 9999-12-31T23:59:59Z. Redis refuses an expiry past `i64::MAX`
/// ms, and a period that never ends (`budget_reset: never`) ends at `u64::MAX`.
pub(crate) const LATEST_EXPIRE_AT_MS: u64 = 253_402_300_799_000;

/// Unix ms at which a budget period's counters may go (for a budget that never resets: not
/// before the year 10000).
pub(crate) fn budget_expire_at(p: &BudgetPeriod) -> u64 {
    p.period_end_ms
        .saturating_add(BUDGET_GRACE_MS)
        .min(LATEST_EXPIRE_AT_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_that_never_ends_expires_at_a_time_redis_accepts() {
        let p = BudgetPeriod {
            tag: "t".into(),
            name: "k:a:budget".into(),
            period: 0,
            period_end_ms: u64::MAX,
        };
        assert_eq!(budget_expire_at(&p), LATEST_EXPIRE_AT_MS);
        assert!(i64::try_from(budget_expire_at(&p)).is_ok());
        let daily = BudgetPeriod {
            period_end_ms: 1_000,
            ..p
        };
        assert_eq!(budget_expire_at(&daily), 1_000 + BUDGET_GRACE_MS);
    }

    #[test]
    fn keys_of_one_tag_share_one_hash_tag() {
        let p = BudgetPeriod {
            tag: "t:team1".into(),
            name: "k:key1:budget".into(),
            period: 7,
            period_end_ms: 0,
        };
        assert_eq!(
            scoped("t:team1", "k:key1:rpm"),
            "portcullis:{t:team1}:k:key1:rpm"
        );
        assert_eq!(budget(&p), "portcullis:{t:team1}:k:key1:budget:7");
        assert_eq!(
            budget_leases(&p),
            "portcullis:{t:team1}:k:key1:budget:7:leases"
        );
    }
}
