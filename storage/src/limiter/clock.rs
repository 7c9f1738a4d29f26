//! The limiter's clock: injected, so tests drive time by hand and never sleep.

use std::sync::Arc;
use std::time::Instant;

/// Milliseconds from a monotonic origin. Tests pass a closure over an `AtomicU64`.
pub type MillisClock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Milliseconds since this clock was made, from `Instant` (monotonic).
pub fn monotonic_clock() -> MillisClock {
    let origin = Instant::now();
    Arc::new(move || u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX))
}
