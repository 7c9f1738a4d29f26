//! `SpendWriter`: takes spend records off the request path and writes them in batches.
//!
//! The request path calls [`SpendWriter::try_record`], which never waits: it puts the record
//! in a bounded queue or, when the queue is full, drops it and counts the drop. One tokio
//! task drains the queue and calls [`SpendSink::record_batch`] when `flush_at` records are
//! waiting or `flush_every` has passed since the oldest waiting record arrived, whichever
//! comes first. A write takes, besides those, whatever else is already queued (up to
//! `max_batch`): batches stay small while the sink keeps up — short bursts of work beside the
//! request path — and grow into group commits when it falls behind.
//! [`SpendWriterTask::shutdown`] writes whatever is queued before returning.
//!
//! Loss bound: a crash loses the records not yet written, which with a sink that keeps up is
//! at most one batch window (`flush_every`, or `flush_at` records). A sink slower than the
//! request rate lets the queue fill (up to `capacity`, all lost on a crash); past that new
//! records are dropped and counted in `dropped`. A batch the sink refuses is counted in
//! `failed` and not retried.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use crate::spend::SpendRecord;
use crate::spend_sink::SpendSink;

/// Queue and batch sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpendWriterConfig {
    /// Records that may wait in the queue; more are dropped.
    pub capacity: usize,
    /// Records waiting that start a write at once.
    pub flush_at: usize,
    /// Most records per `record_batch` call (reached only when the sink fell behind).
    pub max_batch: usize,
    /// Longest a record waits before its batch is written.
    pub flush_every: Duration,
}

impl Default for SpendWriterConfig {
    fn default() -> Self {
        Self {
            capacity: 65_536,
            // Measured with loadtest/bench/spend.sh (docs/BENCHMARKS.md): batches of up to
            // 512 every 200 ms put a p99 step on requests sharing the writer's core; 64 every
            // 50 ms at most does not, for the same CPU per request.
            flush_at: 64,
            max_batch: 4096,
            flush_every: Duration::from_millis(50),
        }
    }
}

/// Counters, for metrics. Each only grows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpendWriterStats {
    /// Records taken into the queue.
    pub accepted: u64,
    /// Records refused because the queue was full or the writer had stopped.
    pub dropped: u64,
    /// Records the sink stored.
    pub written: u64,
    /// Records in batches the sink refused.
    pub failed: u64,
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    dropped: AtomicU64,
    written: AtomicU64,
    failed: AtomicU64,
}

/// The request path's side: cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub struct SpendWriter {
    tx: mpsc::Sender<SpendRecord>,
    counters: Arc<Counters>,
}

/// The writing task; keep it to shut it down.
#[derive(Debug)]
pub struct SpendWriterTask {
    stop: oneshot::Sender<()>,
    handle: JoinHandle<()>,
    counters: Arc<Counters>,
}

impl SpendWriter {
    /// Starts the writing task on the current tokio runtime.
    pub fn spawn(sink: Arc<dyn SpendSink>, config: SpendWriterConfig) -> (Self, SpendWriterTask) {
        let (tx, rx) = mpsc::channel(config.capacity.max(1));
        let (stop, stopped) = oneshot::channel();
        let counters = Arc::new(Counters::default());
        let max_batch = config.max_batch.max(1);
        let flusher = Flusher {
            sink,
            counters: Arc::clone(&counters),
            flush_at: config.flush_at.clamp(1, max_batch),
            max_batch,
        };
        let handle = tokio::spawn(flusher.run(rx, stopped, config.flush_every));
        let writer = Self {
            tx,
            counters: Arc::clone(&counters),
        };
        (
            writer,
            SpendWriterTask {
                stop,
                handle,
                counters,
            },
        )
    }

    /// Queues `record`; `false` (and a counted drop) when the queue is full or closed.
    pub fn try_record(&self, record: SpendRecord) -> bool {
        let ok = self.tx.try_send(record).is_ok();
        let counter = if ok {
            &self.counters.accepted
        } else {
            &self.counters.dropped
        };
        counter.fetch_add(1, Ordering::Relaxed);
        ok
    }

    pub fn stats(&self) -> SpendWriterStats {
        stats(&self.counters)
    }
}

fn stats(c: &Counters) -> SpendWriterStats {
    SpendWriterStats {
        accepted: c.accepted.load(Ordering::Relaxed),
        dropped: c.dropped.load(Ordering::Relaxed),
        written: c.written.load(Ordering::Relaxed),
        failed: c.failed.load(Ordering::Relaxed),
    }
}

impl SpendWriterTask {
    /// Stops taking records, writes everything queued, and returns the final counters.
    pub async fn shutdown(self) -> SpendWriterStats {
        // The task may already have ended (every writer dropped); then the send fails harmlessly.
        let _ = self.stop.send(());
        let _ = self.handle.await;
        stats(&self.counters)
    }
}

struct Flusher {
    sink: Arc<dyn SpendSink>,
    counters: Arc<Counters>,
    flush_at: usize,
    max_batch: usize,
}

impl Flusher {
    async fn run(
        self,
        mut rx: mpsc::Receiver<SpendRecord>,
        mut stop: oneshot::Receiver<()>,
        every: Duration,
    ) {
        let mut batch = Vec::with_capacity(self.flush_at);
        let mut deadline: Option<Instant> = None;
        loop {
            let wait = deadline.unwrap_or_else(|| Instant::now() + every);
            let room = self.flush_at.saturating_sub(batch.len()).max(1);
            tokio::select! {
                biased;
                _ = &mut stop => break,
                n = rx.recv_many(&mut batch, room) => {
                    if n == 0 {
                        break;
                    }
                    deadline.get_or_insert_with(|| Instant::now() + every);
                    if batch.len() >= self.flush_at {
                        self.take_queued(&mut rx, &mut batch);
                        self.flush(&mut batch).await;
                        deadline = None;
                    }
                }
                () = sleep_until(wait), if deadline.is_some() => {
                    self.take_queued(&mut rx, &mut batch);
                    self.flush(&mut batch).await;
                    deadline = None;
                }
            }
        }
        rx.close();
        loop {
            let room = self.max_batch - batch.len();
            if room == 0 || rx.recv_many(&mut batch, room).await == 0 {
                if batch.is_empty() {
                    break;
                }
                self.flush(&mut batch).await;
            }
        }
    }

    /// Adds to `batch`, up to `max_batch`, the records already waiting: a backlog is
    /// written in fewer, larger transactions.
    fn take_queued(&self, rx: &mut mpsc::Receiver<SpendRecord>, batch: &mut Vec<SpendRecord>) {
        while batch.len() < self.max_batch {
            match rx.try_recv() {
                Ok(record) => batch.push(record),
                Err(_) => break,
            }
        }
    }

    async fn flush(&self, batch: &mut Vec<SpendRecord>) {
        if batch.is_empty() {
            return;
        }
        let records = std::mem::replace(batch, Vec::with_capacity(self.flush_at));
        let n = records.len() as u64;
        let counter = match self.sink.record_batch(records).await {
            Ok(()) => &self.counters.written,
            Err(_) => &self.counters.failed,
        };
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::StorageError;
    use crate::id::KeyId;
    use crate::key_store::StoreFuture;
    use crate::spend::{SpendQuery, SpendRow, SpendScope};
    use tokio::sync::Semaphore;

    /// Reports each batch's size; waits for a permit per batch when gated.
    #[derive(Debug)]
    struct Probe {
        batches: mpsc::UnboundedSender<usize>,
        gate: Option<Arc<Semaphore>>,
    }

    impl SpendSink for Probe {
        fn record_batch(&self, records: Vec<SpendRecord>) -> StoreFuture<'_, ()> {
            Box::pin(async move {
                if let Some(gate) = &self.gate {
                    gate.acquire()
                        .await
                        .map_err(|_| StorageError::Unavailable("gate"))?
                        .forget();
                }
                let _ = self.batches.send(records.len());
                Ok(())
            })
        }
        fn report(&self, _: SpendQuery) -> StoreFuture<'_, Vec<SpendRow>> {
            Box::pin(async { Ok(vec![]) })
        }
        fn total(&self, _: SpendScope, _: i64) -> StoreFuture<'_, i64> {
            Box::pin(async { Ok(0) })
        }
    }

    fn record(n: u32) -> SpendRecord {
        SpendRecord {
            time_ms: 1,
            request_id: format!("r{n}"),
            key: KeyId::parse("k").unwrap(),
            team: None,
            model_group: "m".into(),
            deployment: "d".into(),
            tokens_in: n,
            tokens_out: 0,
            tokens_cached: 0,
            tokens_cache_write: 0,
            cost_micro_usd: 1,
            unpriced: false,
            latency_ms: 1,
            status: 200,
        }
    }

    fn probe(gate: Option<Arc<Semaphore>>) -> (Arc<dyn SpendSink>, mpsc::UnboundedReceiver<usize>) {
        let (batches, rx) = mpsc::unbounded_channel();
        (Arc::new(Probe { batches, gate }), rx)
    }

    #[tokio::test]
    async fn writes_a_full_batch_without_waiting_for_the_interval() {
        let (sink, mut batches) = probe(None);
        let config = SpendWriterConfig {
            capacity: 16,
            flush_at: 3,
            max_batch: 3,
            flush_every: Duration::from_secs(3600),
        };
        let (writer, task) = SpendWriter::spawn(sink, config);
        for n in 0..3 {
            assert!(writer.try_record(record(n)));
        }
        assert_eq!(batches.recv().await, Some(3));
        assert_eq!(task.shutdown().await.written, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn writes_a_partial_batch_once_the_interval_passes() {
        let (sink, mut batches) = probe(None);
        let config = SpendWriterConfig {
            capacity: 16,
            flush_at: 100,
            max_batch: 100,
            flush_every: Duration::from_millis(50),
        };
        let (writer, task) = SpendWriter::spawn(sink, config);
        assert!(writer.try_record(record(1)));
        assert!(writer.try_record(record(2)));
        let started = Instant::now();
        assert_eq!(batches.recv().await, Some(2));
        assert!(started.elapsed() >= Duration::from_millis(50));
        task.shutdown().await;
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_without_blocking() {
        let gate = Arc::new(Semaphore::new(0));
        let (sink, mut batches) = probe(Some(Arc::clone(&gate)));
        let config = SpendWriterConfig {
            capacity: 2,
            flush_at: 1,
            max_batch: 1,
            flush_every: Duration::from_secs(3600),
        };
        let (writer, task) = SpendWriter::spawn(sink, config);
        // The task takes one record and blocks in the sink; two more fill the queue.
        assert!(writer.try_record(record(0)));
        let mut accepted = 1;
        for n in 1..10 {
            if writer.try_record(record(n)) {
                accepted += 1;
            }
        }
        let stats = writer.stats();
        assert!(accepted <= 4, "accepted {accepted}");
        assert_eq!(stats.accepted + stats.dropped, 10);
        assert!(stats.dropped >= 6);
        gate.add_permits(100);
        let done = task.shutdown().await;
        assert_eq!(done.written, done.accepted);
        let mut total = 0;
        while let Ok(n) = batches.try_recv() {
            total += n;
        }
        assert_eq!(total as u64, done.accepted);
    }

    #[tokio::test]
    async fn shutdown_writes_everything_queued() {
        let (sink, mut batches) = probe(None);
        let config = SpendWriterConfig {
            capacity: 1000,
            flush_at: 64,
            max_batch: 64,
            flush_every: Duration::from_secs(3600),
        };
        let (writer, task) = SpendWriter::spawn(sink, config);
        for n in 0..150 {
            assert!(writer.try_record(record(n)));
        }
        let stats = task.shutdown().await;
        assert_eq!((stats.written, stats.dropped, stats.failed), (150, 0, 0));
        let mut total = 0;
        while let Ok(n) = batches.try_recv() {
            assert!(n <= 64);
            total += n;
        }
        assert_eq!(total, 150);
        assert!(
            !writer.try_record(record(0)),
            "a stopped writer refuses records"
        );
        assert_eq!(writer.stats().dropped, 1);
    }

    #[tokio::test]
    async fn a_backlog_is_written_in_one_larger_batch_not_many_small_ones() {
        let gate = Arc::new(Semaphore::new(0));
        let (sink, mut batches) = probe(Some(Arc::clone(&gate)));
        let config = SpendWriterConfig {
            capacity: 1000,
            flush_at: 2,
            max_batch: 40,
            flush_every: Duration::from_secs(3600),
        };
        let (writer, task) = SpendWriter::spawn(sink, config);
        // The first two start a write, which waits in the sink while 50 more arrive.
        assert!(writer.try_record(record(0)));
        assert!(writer.try_record(record(1)));
        tokio::task::yield_now().await;
        for n in 2..52 {
            assert!(writer.try_record(record(n)));
        }
        gate.add_permits(100);
        assert_eq!(batches.recv().await, Some(2));
        // The backlog goes out as batches of `max_batch`, then the rest.
        assert_eq!(batches.recv().await, Some(40));
        assert_eq!(batches.recv().await, Some(10));
        assert_eq!(task.shutdown().await.written, 52);
    }
}
