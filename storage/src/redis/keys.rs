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

/// Unix ms at which a budget period's counters may go.
pub(crate) fn budget_expire_at(p: &BudgetPeriod) -> u64 {
    p.period_end_ms.saturating_add(BUDGET_GRACE_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

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
