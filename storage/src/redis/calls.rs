//! Admissions and reservations as script calls (keys and arguments), and the replies decoded.
//! Pure: no I/O, so the encoding is tested without a server.

use std::sync::LazyLock;

use redis::Script;

use crate::limiter::{Admission, BucketStatus, BucketTake, LimitKind, Limited, Settlement};
use crate::redis::keys;

/// `lua/admit_v1.lua`: check and take one tag's buckets, caps and budgets.
pub(crate) static ADMIT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/admit_v1.lua")));
/// `lua/settle_v1.lua`: settle, release or refund one tag's part of a reservation.
pub(crate) static SETTLE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/settle_v1.lua")));

/// One script call: which script, its KEYS and ARGV.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) script: &'static Script,
    pub(crate) keys: Vec<String>,
    pub(crate) args: Vec<String>,
}

impl Call {
    fn new(script: &'static Script) -> Self {
        Self {
            script,
            keys: Vec::new(),
            args: Vec::new(),
        }
    }

    fn arg(&mut self, v: impl ToString) {
        self.args.push(v.to_string());
    }

    /// The invocation to send.
    pub(crate) fn invocation(&self) -> redis::ScriptInvocation<'static> {
        let mut inv = self.script.prepare_invoke();
        for k in &self.keys {
            inv.key(k);
        }
        for a in &self.args {
            inv.arg(a);
        }
        inv
    }
}

/// Which part of an admission a call takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// Buckets, caps and budgets under `tag`.
    Local,
    /// `global_buckets` under `global_tag`.
    Global,
}

/// Whether an admission has anything in that part.
pub(crate) fn has_part(a: &Admission, part: Part) -> bool {
    match part {
        Part::Local => !(a.buckets.is_empty() && a.parallel.is_empty() && a.budgets.is_empty()),
        Part::Global => !(a.global_buckets.is_empty() && a.global_budgets.is_empty()),
    }
}

/// The admit call for one part.
pub(crate) fn admit(a: &Admission, part: Part) -> Call {
    let mut c = Call::new(&ADMIT);
    let (tag, buckets, local) = match part {
        Part::Local => (&a.tag, &a.buckets, true),
        Part::Global => (&a.global_tag, &a.global_buckets, false),
    };
    let budgets = budgets_of(a, part);
    c.keys
        .extend(buckets.iter().map(|b| keys::scoped(tag, &b.name)));
    c.arg(&a.request_id);
    c.arg(a.lease_ms);
    c.arg(buckets.len());
    c.arg(if local { a.parallel.len() } else { 0 });
    c.arg(budgets.len());
    for b in buckets {
        c.arg(b.capacity);
        c.arg(b.refill_per_minute);
        c.arg(b.take);
    }
    if local {
        for cap in &a.parallel {
            c.keys.push(keys::scoped(tag, &cap.name));
            c.arg(cap.max);
        }
    }
    for b in budgets {
        c.keys.push(keys::budget(&b.period));
        c.keys.push(keys::budget_leases(&b.period));
        c.arg(b.limit_micro_usd);
        c.arg(b.amount_micro_usd);
        c.arg(keys::budget_expire_at(&b.period));
    }
    c
}

/// The budget reservations of one part.
fn budgets_of(a: &Admission, part: Part) -> &[crate::limiter::BudgetTake] {
    match part {
        Part::Local => &a.budgets,
        Part::Global => &a.global_budgets,
    }
}

/// How a finish call treats buckets.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Finish<'a> {
    /// Settle: TPM buckets to actual usage, cost to spend.
    Settle(&'a Settlement),
    /// Release: TPM estimates refunded, nothing spent.
    Release,
    /// Undo a refused admission's taken part: every bucket refunded (RPM too).
    Refund,
}

/// The settle-script call finishing one part of an admission's reservation.
pub(crate) fn finish(a: &Admission, part: Part, how: Finish<'_>) -> Call {
    let mut c = Call::new(&SETTLE);
    let (tag, all, local) = match part {
        Part::Local => (&a.tag, &a.buckets, true),
        Part::Global => (&a.global_tag, &a.global_buckets, false),
    };
    let refund_all = matches!(how, Finish::Refund);
    let buckets: Vec<&BucketTake> = all
        .iter()
        .filter(|b| refund_all || b.kind == crate::limiter::BucketKind::Tpm)
        .collect();
    c.keys
        .extend(buckets.iter().map(|b| keys::scoped(tag, &b.name)));
    let budgets = budgets_of(a, part);
    c.arg(&a.request_id);
    c.arg(buckets.len());
    c.arg(if local { a.parallel.len() } else { 0 });
    c.arg(budgets.len());
    c.arg(match how {
        Finish::Settle(s) => s.cost_micro_usd,
        Finish::Release | Finish::Refund => 0,
    });
    for b in buckets {
        let actual = match how {
            Finish::Settle(s) => s.tokens_for(&b.name).unwrap_or(b.take),
            Finish::Release | Finish::Refund => 0,
        };
        c.arg(b.capacity);
        c.arg(b.refill_per_minute);
        c.arg(b.take);
        c.arg(actual);
    }
    if local {
        c.keys
            .extend(a.parallel.iter().map(|cap| keys::scoped(tag, &cap.name)));
    }
    for b in budgets {
        c.keys.push(keys::budget(&b.period));
        c.keys.push(keys::budget_leases(&b.period));
        c.arg(keys::budget_expire_at(&b.period));
    }
    c
}

/// A decoded admit reply for one part.
#[derive(Debug)]
pub(crate) enum PartReply {
    /// Taken; bucket statuses in admission order.
    Taken(Vec<BucketStatus>),
    /// Refused by this limit.
    Refused(Limited),
}

/// Decode the admit script's reply; `None` if it is not what the script returns.
pub(crate) fn decode_admit(a: &Admission, part: Part, reply: &[i64]) -> Option<PartReply> {
    let buckets = match part {
        Part::Local => &a.buckets,
        Part::Global => &a.global_buckets,
    };
    match reply.first()? {
        1 => {
            let mut out = Vec::with_capacity(buckets.len());
            for (i, b) in buckets.iter().enumerate() {
                out.push(BucketStatus {
                    name: b.name.clone(),
                    kind: b.kind,
                    limit: b.capacity,
                    remaining: u64::try_from(*reply.get(1 + 2 * i)?).unwrap_or(0),
                    reset_ms: u64::try_from(*reply.get(2 + 2 * i)?).unwrap_or(0),
                });
            }
            Some(PartReply::Taken(out))
        }
        0 => {
            let idx = usize::try_from(*reply.get(1)?).ok()?.checked_sub(1)?;
            let retry_after_ms = u64::try_from(*reply.get(2)?).ok();
            let nb = buckets.len();
            let parallel: &[crate::limiter::ParallelCap] = match part {
                Part::Local => &a.parallel,
                Part::Global => &[],
            };
            let (kind, name) = if idx < nb {
                (buckets[idx].kind.into(), &buckets[idx].name)
            } else if idx < nb + parallel.len() {
                (LimitKind::Parallel, &parallel[idx - nb].name)
            } else {
                let j = (idx - nb - parallel.len()) / 2;
                (LimitKind::Budget, &budgets_of(a, part).get(j)?.period.name)
            };
            Some(PartReply::Refused(Limited {
                kind,
                name: name.clone(),
                retry_after_ms,
            }))
        }
        _ => None,
    }
}
