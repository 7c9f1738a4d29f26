//! Redis backends: the limiter shared by every replica, and key-change events.
//!
//! # What is atomic with what
//! One request's admission is one `admit_v1.lua` call per hash tag. Every key of an
//! admission's `tag` (the team, or the key when it has no team) is written
//! `portcullis:{<tag>}:…`, so under Redis Cluster they hash to one slot and the script takes
//! key RPM/TPM, team RPM/TPM, parallel caps and key and team budgets atomically,
//! all-or-nothing, with Redis server time (`TIME`), never the replicas' clocks.
//!
//! Buckets shared by every team (per-model limits) cannot live in each team's slot. They are
//! `global_buckets` under their own tag (`{m:<model>}`), taken by a second script call sent in
//! the same round trip. If one part is refused while the other was taken, the taken part is
//! given back (`settle_v1.lua` in refund mode, every bucket including RPM) in one more round
//! trip. In between, a global bucket can refuse a request that would have fit, never admit one
//! that does not: the bound on admitted requests stays `C + R·t / 60 000`.
//!
//! Budgets: each budget period is a hash (`spent`, `reserved`, `r:<request>` amounts) and a
//! zset of leases (request → lease end, Redis ms). `admit_v1.lua` first returns the amounts
//! of expired leases, then admits only if `spent + reserved + amount ≤ limit`, so across any
//! number of replicas `spent ≤ limit + Σ max(0, actual − reserved)` (zero overshoot when
//! reservations are worst cases). A Redis restart or flush loses `spent`: the gateway re-seeds
//! it from the durable spend log with `Limiter::set_spent`.
//!
//! TTLs on everything: a bucket lives until it would be full again (+1 s), a cap zset one lease
//! past its newest member, a budget period one day past the period's end.
//!
//! Connections: a multiplexed `ConnectionManager` on the hot path (single Redis); a
//! deadpool-redis pool for the occasional work (`set_spent`, `spent`, publishing events); a
//! cluster connection for Redis Cluster. `admit_batch` sends all admissions in one pipeline
//! (single Redis) or all at once over the cluster connection.

mod calls;
mod conn;
pub mod key_events;
pub mod keys;
mod lazy;
mod limiter;

pub use conn::ROUND_TRIPS;
pub use key_events::{KeyEvent, KeyEvents, KeySubscription};
pub use lazy::{LazyRedisLimiter, RedisTarget};
pub use limiter::{RedisLimiter, RedisOptions};
