//! Time and chance, injected.
//!
//! Every state machine in the engine (routing today; the breaker, retry budget and limiter
//! tomorrow) reads the time through a [`Clock`] and draws randomness through a [`Picker`], so
//! tests drive it with a [`ManualClock`] and a [`SeededPicker`] instead of sleeping or looping
//! on chance. Time is nanoseconds since the clock's own origin, so deadlines fit in atomics.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Monotonic nanoseconds since an origin fixed when the clock was made.
pub trait Clock: Send + Sync + Debug {
    fn now(&self) -> u64;
}

/// A shared clock, as state machines hold it.
pub type SharedClock = Arc<dyn Clock>;

/// The real monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }

    /// A [`SharedClock`] reading real time.
    pub fn shared() -> SharedClock {
        Arc::new(Self::new())
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A clock that moves only when told to. Starts at one second, so "zero" never means "now".
#[derive(Debug)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    pub fn new() -> Self {
        Self {
            nanos: AtomicU64::new(1_000_000_000),
        }
    }

    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(by, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.nanos.load(Ordering::SeqCst)
    }
}

/// Nanoseconds in `d`, saturating.
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Uniform random draws for weighted choices.
pub trait Picker: Send + Sync + Debug {
    /// A number in `0..bound`; `bound` is at least 1.
    fn below(&self, bound: u64) -> u64;
}

/// A shared picker, as state machines hold it.
pub type SharedPicker = Arc<dyn Picker>;

/// Fast per-thread randomness: what the request path uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadPicker;

impl ThreadPicker {
    pub fn shared() -> SharedPicker {
        Arc::new(Self)
    }
}

impl Picker for ThreadPicker {
    fn below(&self, bound: u64) -> u64 {
        fastrand::u64(0..bound.max(1))
    }
}

/// A reproducible sequence from a seed, for tests.
#[derive(Debug)]
pub struct SeededPicker {
    rng: Mutex<fastrand::Rng>,
}

impl SeededPicker {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
        }
    }
}

impl Picker for SeededPicker {
    fn below(&self, bound: u64) -> u64 {
        match self.rng.lock() {
            Ok(mut rng) => rng.u64(0..bound.max(1)),
            Err(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let clock = ManualClock::new();
        let t0 = clock.now();
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::from_millis(5));
        assert_eq!(clock.now(), t0 + 5_000_000);
    }

    #[test]
    fn seeded_pickers_repeat_their_sequence() {
        let (a, b) = (SeededPicker::new(7), SeededPicker::new(7));
        let xs: Vec<u64> = (0..16).map(|_| a.below(1000)).collect();
        let ys: Vec<u64> = (0..16).map(|_| b.below(1000)).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().all(|x| *x < 1000));
    }

    #[test]
    fn system_clock_is_monotonic() {
        let clock = SystemClock::new();
        let (a, b) = (clock.now(), clock.now());
        assert!(b >= a);
    }
}
