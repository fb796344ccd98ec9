//! WAL housekeeping on its own connection and thread, off the commit path.
//!
//! In WAL mode every commit appends to the `-wal` file; a checkpoint copies those pages back
//! into the database so the WAL can start over. SQLite's automatic checkpoint runs inside the
//! COMMIT that crosses the threshold, so one unlucky caller pays for it (tens of milliseconds).
//! Here the writer only drops a hint after its commits and this thread does the work:
//!
//! - when the writer goes idle, a `PASSIVE` checkpoint (never blocks anyone), at most once per
//!   `idle_checkpoint_interval`;
//! - when the WAL passes `wal_size_limit`, a `TRUNCATE` checkpoint. A passive checkpoint cannot
//!   reset the WAL while some reader still uses it, and with reads that never stop there is
//!   always one. `TRUNCATE` waits for the in-flight reads (new ones read from the database
//!   file), so the WAL stays bounded. It holds the write lock while it waits, so its patience is
//!   short and a failed attempt backs off.

use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::db::Shared;
use crate::error::Error;
use crate::options::{Options, Role};
use crate::stats::Counters;

/// How long a `TRUNCATE` checkpoint waits for in-flight reads. The writer cannot commit
/// meanwhile, so this bounds the stall a forced checkpoint can cause.
const TRUNCATE_PATIENCE: Duration = Duration::from_millis(200);
/// After a `TRUNCATE` checkpoint gave up (a long read), wait this long before the next one.
const TRUNCATE_BACKOFF: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hint {
    /// The writer has nothing queued.
    Idle,
    /// The WAL is past its size bound.
    Grown,
}

/// The writer's handle on the checkpointer thread.
pub(crate) struct Checkpointer {
    hints: Option<flume::Sender<Hint>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub(crate) fn start(
        path: &Path,
        options: &Options,
        shared: Arc<Shared>,
    ) -> Result<Self, Error> {
        let conn = crate::connection::open(path, Role::Checkpointer, options)?;
        conn.busy_timeout(TRUNCATE_PATIENCE)?;
        // One pending hint is enough: hints say "look at the WAL", and the latest one wins.
        let (hints, rx) = flume::bounded(1);
        let interval = options.idle_checkpoint_interval;
        let thread = std::thread::Builder::new()
            .name("onewriter-checkpointer".into())
            .spawn(move || run(conn, rx, interval, shared))?;
        Ok(Checkpointer {
            hints: Some(hints),
            thread: Some(thread),
        })
    }

    pub(crate) fn hint(&self, hint: Hint) {
        if let Some(tx) = &self.hints {
            // Full means a hint is already pending, so the checkpointer will look at the WAL
            // soon anyway; a dropped `Grown` is sent again after the next commit.
            let _ = tx.try_send(hint);
        }
    }

    /// Stops the thread after its current checkpoint.
    pub(crate) fn stop(mut self) {
        self.hints.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(conn: Connection, rx: flume::Receiver<Hint>, interval: Duration, shared: Arc<Shared>) {
    let mut last_passive: Option<Instant> = None;
    let mut truncate_not_before = Instant::now();
    while let Ok(mut hint) = rx.recv() {
        if let (Hint::Idle, Some(last)) = (hint, last_passive) {
            // Let a burst of writes run on before copying pages that are about to change
            // again; a `Grown` hint cuts the wait short.
            match wait_out(&rx, last + interval) {
                Some(h) => hint = h,
                None => return,
            }
        }
        if hint == Hint::Grown && Instant::now() >= truncate_not_before {
            match checkpoint(&conn, "TRUNCATE") {
                Ok(true) => Counters::add(&shared.counters.checkpoints, 1),
                Ok(false) => truncate_not_before = Instant::now() + TRUNCATE_BACKOFF,
                Err(e) => tracing::warn!(error = %e, "onewriter: checkpoint failed"),
            }
            continue;
        }
        match checkpoint(&conn, "PASSIVE") {
            Ok(_) => Counters::add(&shared.counters.checkpoints, 1),
            Err(e) => tracing::warn!(error = %e, "onewriter: checkpoint failed"),
        }
        last_passive = Some(Instant::now());
    }
}

/// Waits until `until` for a `Grown` hint. Returns the hint to act on, or `None` when the writer
/// has gone.
fn wait_out(rx: &flume::Receiver<Hint>, until: Instant) -> Option<Hint> {
    loop {
        let now = Instant::now();
        if now >= until {
            return Some(Hint::Idle);
        }
        match rx.recv_timeout(until - now) {
            Ok(Hint::Grown) => return Some(Hint::Grown),
            Ok(Hint::Idle) => continue,
            Err(flume::RecvTimeoutError::Timeout) => return Some(Hint::Idle),
            Err(flume::RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Runs one checkpoint; `Ok(false)` means it had to give up waiting for a lock.
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<bool> {
    let sql = format!("PRAGMA wal_checkpoint({mode})");
    match conn.query_row(&sql, [], |r| r.get::<_, i64>(0)) {
        Ok(busy) => Ok(busy == 0),
        Err(e) if crate::error::is_busy(&e) => Ok(false),
        Err(e) => Err(e),
    }
}
