//! Statistics: counters and latency percentiles, cheap enough to read on every metrics scrape.
//!
//! Each worker thread records into its own histogram behind its own mutex, so recording never
//! contends with other workers; [`Db::stats`](crate::Db::stats) merges them on demand.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), onewriter::Error> {
//! # let dir = tempfile::tempdir().unwrap();
//! let db = onewriter::Db::open(dir.path().join("app.db"), onewriter::Options::new()).await?;
//! let stats = db.stats();
//! println!("{} commits, p99 write wait {:?}", stats.commits, stats.write_wait.p99);
//! # Ok(()) }
//! ```

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::checkpoint::Handover;

/// A snapshot of the engine's statistics since it was opened.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Write jobs waiting in the queue now.
    pub write_queue_depth: usize,
    /// Read jobs waiting in the queue now.
    pub read_queue_depth: usize,
    /// Write jobs run to their end (successfully or not); a job run again counts once.
    pub writes: u64,
    /// Write jobs whose closure returned an error or panicked.
    pub write_errors: u64,
    /// Read closures run (successfully or not).
    pub reads: u64,
    /// Read closures that returned an error or panicked.
    pub read_errors: u64,
    /// Jobs skipped because their caller had gone away before they started.
    pub cancelled: u64,
    /// Jobs refused with [`Error::Overloaded`](crate::Error::Overloaded).
    pub overloaded: u64,
    /// Transactions committed by the writer.
    pub commits: u64,
    /// Batches rolled back and run again, each job in a savepoint of its own, because a job
    /// failed while they ran without savepoints (see [`Db::write`](crate::Db::write)).
    pub batches_run_again: u64,
    /// Times the writer found the write lock held by another connection when it began a
    /// transaction: mostly another process; rarely, for a moment, one of this process's own
    /// readers recovering a torn wal-index header, as SQLite allows.
    pub busy_waits: u64,
    /// Transactions that failed because the lock stayed held past the busy timeout.
    pub busy_timeouts: u64,
    /// Checkpoints run by the checkpointer.
    pub checkpoints: u64,
    /// Times the WAL reached `wal_size_limit` and the writer paused, between two transactions,
    /// for the checkpointer to copy the last frames (see [`Options::wal_size_limit`]).
    ///
    /// [`Options::wal_size_limit`]: crate::Options::wal_size_limit
    pub handovers: u64,
    /// The writer's total pause for handovers: no transaction began meanwhile.
    pub handover_time: Duration,
    /// The writer's longest pause for one handover.
    pub handover_max: Duration,
    /// Handovers the writer stopped waiting for after its patience (20 ms, while the WAL is
    /// under twice its bound); their checkpoints went on in the background.
    pub handovers_cut_short: u64,
    /// Handovers whose checkpoint could not copy every frame, or could not truncate the WAL,
    /// because a read still used them (a truncating handover waits 200 ms for in-flight
    /// reads), or because the checkpoint failed. The WAL then grows past its bound until a
    /// later handover completes: the writer asks for the next once a background checkpoint
    /// has copied past the frames that were held (the read has ended), or after 10 s. A count
    /// that keeps rising under a steady write load means reads (or a backup) that last longer
    /// than 200 ms.
    pub handovers_incomplete: u64,
    /// Syncs of the WAL by the sync thread. With [`Synchronous::Full`], commits divided by
    /// syncs is how many commits one sync covered. With [`Synchronous::Normal`], nobody waits
    /// for them: the WAL is flushed in the background each time it grows by a sixteenth of
    /// [`wal_size_limit`](crate::Options::wal_size_limit), so that a checkpoint's own sync,
    /// which a WAL handover waits for, has little left to write. Failed ones are not counted.
    ///
    /// [`Synchronous::Full`]: crate::Synchronous::Full
    /// [`Synchronous::Normal`]: crate::Synchronous::Normal
    pub syncs: u64,
    /// The sync thread's total time in those syncs (`fsync` of the WAL).
    pub sync_time: Duration,
    /// The longest of those syncs. With [`Synchronous::Full`] a caller is answered after the
    /// sync of its commit: the one span of a write that [`write_run`](Stats::write_run) does
    /// not hold.
    ///
    /// [`Synchronous::Full`]: crate::Synchronous::Full
    pub sync_max: Duration,
    /// Reads whose answer waited for the sync of a commit their snapshot might hold (with
    /// [`Synchronous::Full`]); their reader thread ran other reads meanwhile.
    ///
    /// [`Synchronous::Full`]: crate::Synchronous::Full
    pub reads_waited_for_sync: u64,
    /// Jobs per committed transaction.
    pub batch_size: Percentiles<u64>,
    /// Time a write job waited in the queue before it started.
    pub write_wait: Percentiles<Duration>,
    /// Time from a write job's start to the end of its transaction, including its share of the
    /// COMMIT. With [`Synchronous::Full`], the sync that follows, before the answer, is not
    /// included: the writer does not wait for it.
    ///
    /// [`Synchronous::Full`]: crate::Synchronous::Full
    pub write_run: Percentiles<Duration>,
    /// Time a read job waited in the queue before it started.
    pub read_wait: Percentiles<Duration>,
    /// Time a read job ran, its read transaction included.
    pub read_run: Percentiles<Duration>,
}

/// Percentiles of one measurement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Percentiles<T> {
    /// How many values were recorded.
    pub count: u64,
    /// Median.
    pub p50: T,
    /// 99th percentile.
    pub p99: T,
    /// 99.9th percentile.
    pub p999: T,
    /// Largest value recorded.
    pub max: T,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) writes: AtomicU64,
    pub(crate) write_errors: AtomicU64,
    pub(crate) reads: AtomicU64,
    pub(crate) read_errors: AtomicU64,
    pub(crate) cancelled: AtomicU64,
    pub(crate) overloaded: AtomicU64,
    pub(crate) commits: AtomicU64,
    pub(crate) batches_run_again: AtomicU64,
    pub(crate) busy_waits: AtomicU64,
    pub(crate) busy_timeouts: AtomicU64,
    pub(crate) checkpoints: AtomicU64,
    pub(crate) handovers: AtomicU64,
    pub(crate) handover_micros: AtomicU64,
    pub(crate) handover_max_micros: AtomicU64,
    pub(crate) handovers_cut_short: AtomicU64,
    pub(crate) handovers_incomplete: AtomicU64,
    pub(crate) syncs: AtomicU64,
    pub(crate) sync_micros: AtomicU64,
    pub(crate) sync_max_micros: AtomicU64,
    pub(crate) reads_waited_for_sync: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// One handover that paused the writer for `d` and ended with `outcome`.
    pub(crate) fn handover(&self, d: Duration, outcome: Handover) {
        let us = micros(d);
        Counters::add(&self.handovers, 1);
        match outcome {
            Handover::Complete => {}
            Handover::Incomplete => Counters::add(&self.handovers_incomplete, 1),
            Handover::CutShort => Counters::add(&self.handovers_cut_short, 1),
        }
        Counters::add(&self.handover_micros, us);
        self.handover_max_micros.fetch_max(us, Ordering::Relaxed);
    }

    /// One sync of the WAL that took `d`.
    pub(crate) fn sync(&self, d: Duration) {
        let us = micros(d);
        Counters::add(&self.syncs, 1);
        Counters::add(&self.sync_micros, us);
        self.sync_max_micros.fetch_max(us, Ordering::Relaxed);
    }
}

/// Histograms of one worker thread. Times are in microseconds.
pub(crate) struct Histograms {
    pub(crate) wait: Histogram<u64>,
    pub(crate) run: Histogram<u64>,
    pub(crate) batch: Histogram<u64>,
}

impl Histograms {
    fn new() -> Self {
        Histograms {
            wait: micros_histogram(),
            run: micros_histogram(),
            // Batch sizes are small integers; exact up to 1,000,000 at 3 significant figures.
            // Constant, valid bounds: construction cannot fail.
            batch: Histogram::new_with_bounds(1, 1_000_000, 3).unwrap_or_else(|_| unreachable!()),
        }
    }

    pub(crate) fn record_wait(&mut self, d: Duration) {
        self.wait.saturating_record(micros(d));
    }

    pub(crate) fn record_run(&mut self, d: Duration) {
        self.run.saturating_record(micros(d));
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

fn micros_histogram() -> Histogram<u64> {
    // 1 µs to 1 hour at 2 significant figures: a few KiB, and 1% precision is plenty.
    // The bounds are constants that hdrhistogram accepts (low >= 1, high >= 2 * low, sigfig <= 5),
    // so construction cannot fail.
    Histogram::new_with_bounds(1, 3_600_000_000, 2).unwrap_or_else(|_| unreachable!())
}

/// One mutex-protected set of histograms per worker thread.
pub(crate) struct Recorder(Mutex<Histograms>);

impl Recorder {
    pub(crate) fn new() -> Self {
        Recorder(Mutex::new(Histograms::new()))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Histograms) -> R) -> R {
        // A poisoned lock only means a panic while recording; the numbers are still usable.
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

pub(crate) fn merge<'a>(recorders: impl IntoIterator<Item = &'a Recorder>) -> Histograms {
    let mut total = Histograms::new();
    for r in recorders {
        r.with(|h| {
            // Adding histograms of identical bounds cannot fail.
            let _ = total.wait.add(&h.wait);
            let _ = total.run.add(&h.run);
            let _ = total.batch.add(&h.batch);
        });
    }
    total
}

pub(crate) fn durations(h: &Histogram<u64>) -> Percentiles<Duration> {
    let at = |q: f64| Duration::from_micros(h.value_at_quantile(q));
    if h.is_empty() {
        return Percentiles::default();
    }
    Percentiles {
        count: h.len(),
        p50: at(0.5),
        p99: at(0.99),
        p999: at(0.999),
        max: Duration::from_micros(h.max()),
    }
}

pub(crate) fn counts(h: &Histogram<u64>) -> Percentiles<u64> {
    if h.is_empty() {
        return Percentiles::default();
    }
    Percentiles {
        count: h.len(),
        p50: h.value_at_quantile(0.5),
        p99: h.value_at_quantile(0.99),
        p999: h.value_at_quantile(0.999),
        max: h.max(),
    }
}

pub(crate) fn load(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}
