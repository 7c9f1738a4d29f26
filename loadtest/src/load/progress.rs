//! The live progress line: once a second, on stderr, what the run has done so far.
//!
//! Connections bump two relaxed counters; a separate task reads them each second. On a
//! terminal the line rewrites itself; piped to a file it is one line per second, so a log
//! of a long soak shows the whole run.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Counters the connections bump.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    done: AtomicU64,
    failed: AtomicU64,
}

impl Progress {
    pub(crate) fn count(&self, success: bool) {
        self.done.fetch_add(1, Ordering::Relaxed);
        if !success {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn read(&self) -> (u64, u64) {
        (
            self.done.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

/// The text of one progress line.
pub(crate) fn line(
    label: &str,
    elapsed: Duration,
    total: Duration,
    done: u64,
    rate: u64,
    failed: u64,
) -> String {
    format!(
        "{label} {:>5.1}s/{:.0}s  {done} done  {rate}/s  {failed} failed",
        elapsed.as_secs_f64(),
        total.as_secs_f64(),
    )
}

/// Prints the progress line every second until `until`; returns the task's handle so the
/// run can stop it early.
pub(crate) fn spawn(
    progress: Arc<Progress>,
    label: String,
    start: Instant,
    until: Instant,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let tty = std::io::stderr().is_terminal();
        let total = until.saturating_duration_since(start);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        let mut last = 0;
        loop {
            tick.tick().await;
            let now = Instant::now();
            if now >= until {
                break;
            }
            let (done, failed) = progress.read();
            let text = line(
                &label,
                now - start,
                total,
                done,
                done.saturating_sub(last),
                failed,
            );
            last = done;
            let mut err = std::io::stderr().lock();
            let _ = if tty {
                write!(err, "\r\x1b[K{text}")
            } else {
                writeln!(err, "{text}")
            };
        }
        if tty {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_elapsed_counts_rate_and_failures() {
        let p = Progress::default();
        p.count(true);
        p.count(false);
        assert_eq!(p.read(), (2, 1));
        let l = line(
            "open 100/s",
            Duration::from_millis(2500),
            Duration::from_secs(10),
            2,
            1,
            1,
        );
        assert_eq!(l, "open 100/s   2.5s/10s  2 done  1/s  1 failed");
    }
}
