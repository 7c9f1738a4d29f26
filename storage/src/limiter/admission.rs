//! What an admission asks for and what it gets back: plain data, no backend types.

/// Whether a bucket counts requests or tokens; it names the limit in a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BucketKind {
    /// Requests per minute: takes 1.
    Rpm,
    /// Tokens per minute: takes the token estimate, settled to the actual count.
    Tpm,
}

/// One token bucket to take from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketTake {
    /// Already-prefixed id, unique per limit: `"k:<key>:rpm"`, `"t:<team>:tpm"`.
    pub name: String,
    /// Requests or tokens.
    pub kind: BucketKind,
    /// Largest burst, in requests or tokens.
    pub capacity: u64,
    /// Refill rate, in requests or tokens a minute (continuous).
    pub refill_per_minute: u64,
    /// How much this request takes: 1 for RPM, the token estimate for TPM.
    pub take: u64,
}

/// A cap on requests in flight at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParallelCap {
    /// Already-prefixed id: `"k:<key>:parallel"`.
    pub name: String,
    /// Most requests in flight.
    pub max: u64,
}

/// One budget period: where spend is counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BudgetPeriod {
    /// The hash tag it lives under (the admission's `tag`).
    pub tag: String,
    /// Already-prefixed id: `"k:<key>:budget"`, `"t:<team>:budget"`.
    pub name: String,
    /// Which period (any number that grows: the period's start in unix seconds is a good one).
    /// A newer period starts from zero spend.
    pub period: u64,
    /// Unix ms when the period ends; backends keep its counters at least until then.
    pub period_end_ms: u64,
}

/// A reservation against one budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetTake {
    /// Which budget and period. Its `tag` must equal the admission's `tag`.
    pub period: BudgetPeriod,
    /// The budget, micro-USD.
    pub limit_micro_usd: u64,
    /// The worst-case cost of this request, micro-USD.
    pub amount_micro_usd: u64,
}

/// Everything one request must take, all-or-nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Admission {
    /// Unique per request (across replicas): it identifies the reservation and its lease.
    /// Admitting the same id again replaces the earlier reservation's budget amounts.
    pub request_id: String,
    /// The atomic scope: the team id, or the key id when the key has no team. Everything below
    /// lives under it (one Redis Cluster slot).
    pub tag: String,
    /// Key and team buckets, under `tag`.
    pub buckets: Vec<BucketTake>,
    /// Parallel-request caps, under `tag`.
    pub parallel: Vec<ParallelCap>,
    /// Budget reservations, under `tag`.
    pub budgets: Vec<BudgetTake>,
    /// The tag of `global_buckets` (e.g. `"m:<model>"`); must be non-empty when they are.
    /// Tags must not contain `{` or `}` (they become Redis Cluster hash tags).
    pub global_tag: String,
    /// Taken before the rest and given back if the rest is refused.
    pub global_buckets: Vec<BucketTake>,
    /// Budget reservations under `global_tag` (per-model-group budgets, shared by every key),
    /// taken with `global_buckets`. Their periods' `tag` must be `global_tag`.
    pub global_budgets: Vec<BudgetTake>,
    /// How long the reservation holds its slots and budget without a settle or release.
    pub lease_ms: u64,
}

impl Admission {
    /// Whether any budget (the key's, the team's or a model group's) is reserved.
    pub fn has_budgets(&self) -> bool {
        !(self.budgets.is_empty() && self.global_budgets.is_empty())
    }

    /// Every budget reservation: under `tag`, then under `global_tag`.
    pub fn all_budgets(&self) -> impl Iterator<Item = &BudgetTake> {
        self.budgets.iter().chain(&self.global_budgets)
    }
}

/// Which kind of limit refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKind {
    /// Requests per minute.
    Rpm,
    /// Tokens per minute.
    Tpm,
    /// Requests in flight.
    Parallel,
    /// Spend.
    Budget,
}

impl LimitKind {
    /// Low-cardinality label, as OpenAI-shaped errors and metrics name it.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::Rpm => "rpm",
            LimitKind::Tpm => "tpm",
            LimitKind::Parallel => "parallel",
            LimitKind::Budget => "budget",
        }
    }
}

impl From<BucketKind> for LimitKind {
    fn from(kind: BucketKind) -> Self {
        match kind {
            BucketKind::Rpm => LimitKind::Rpm,
            BucketKind::Tpm => LimitKind::Tpm,
        }
    }
}

/// A refusal: nothing was taken. Names the first limit that refused, in the order `buckets`,
/// `parallel`, `budgets`, then `global_buckets` and `global_budgets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    /// Which kind of limit.
    pub kind: LimitKind,
    /// Its name, as given in the admission.
    pub name: String,
    /// When the same admission could pass (buckets), if ever; `None` for caps and budgets,
    /// and for a take larger than the bucket or a bucket that does not refill.
    pub retry_after_ms: Option<u64>,
}

/// A bucket's state after an admission, for the `x-ratelimit-*` headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketStatus {
    /// As given in the admission.
    pub name: String,
    /// Requests or tokens.
    pub kind: BucketKind,
    /// The bucket's capacity (`x-ratelimit-limit-*`).
    pub limit: u64,
    /// Whole requests or tokens left (`x-ratelimit-remaining-*`), 0 when in debt.
    pub remaining: u64,
    /// Milliseconds until the bucket is full again (`x-ratelimit-reset-*`).
    pub reset_ms: u64,
}

/// What an admission holds until it is settled or released. Settle or release it exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub(crate) admission: Admission,
}

impl Reservation {
    /// The request id the reservation was made for.
    pub fn request_id(&self) -> &str {
        &self.admission.request_id
    }

    /// Total budget reserved, micro-USD, summed over budgets (global ones included).
    pub fn reserved_micro_usd(&self) -> u64 {
        self.admission
            .budgets
            .iter()
            .chain(&self.admission.global_budgets)
            .map(|b| b.amount_micro_usd)
            .fold(0, u64::saturating_add)
    }

    /// TPM buckets taken (local and global) with their estimates.
    pub(crate) fn tpm_buckets(&self) -> impl Iterator<Item = (bool, &BucketTake)> {
        let local = self.admission.buckets.iter().map(|b| (false, b));
        let global = self.admission.global_buckets.iter().map(|b| (true, b));
        local
            .chain(global)
            .filter(|(_, b)| b.kind == BucketKind::Tpm)
    }
}

/// A successful admission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    /// Settle or release it exactly once.
    pub reservation: Reservation,
    /// Every bucket taken (local then global), in admission order.
    pub buckets: Vec<BucketStatus>,
}

/// Actual token usage for one TPM bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketUsage {
    /// The bucket's name, as admitted.
    pub name: String,
    /// Tokens actually used.
    pub tokens: u64,
}

/// What a finished request really used.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settlement {
    /// Actual tokens per TPM bucket; a TPM bucket not listed keeps its estimate.
    pub tokens: Vec<BucketUsage>,
    /// Actual cost, micro-USD, added to every budget of the reservation.
    pub cost_micro_usd: u64,
}

impl Settlement {
    /// The same actual token count for every TPM bucket of `reservation`.
    pub fn uniform(reservation: &Reservation, tokens: u64, cost_micro_usd: u64) -> Self {
        let tokens = reservation
            .tpm_buckets()
            .map(|(_, b)| BucketUsage {
                name: b.name.clone(),
                tokens,
            })
            .collect();
        Self {
            tokens,
            cost_micro_usd,
        }
    }

    /// The actual token count for bucket `name`, if given.
    pub(crate) fn tokens_for(&self, name: &str) -> Option<u64> {
        self.tokens
            .iter()
            .find(|u| u.name == name)
            .map(|u| u.tokens)
    }
}
