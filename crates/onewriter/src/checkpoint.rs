//! WAL housekeeping on its own connection and thread, off the commit path.
//!
//! In WAL mode every commit appends to the `-wal` file; a checkpoint copies those pages back
//! into the database so the WAL can start over. SQLite's automatic checkpoint runs inside the
//! COMMIT that crosses the threshold, so one unlucky caller pays for it (tens of milliseconds).
//! Here the checkpointer thread does the work on a connection of its own:
//!
//! - when the writer goes idle, a `PASSIVE` checkpoint (it never blocks anyone), at most once
//!   per `idle_checkpoint_interval`;
//! - when the WAL passes `wal_size_limit`, a `TRUNCATE` checkpoint. A passive checkpoint cannot
//!   reset the WAL while some reader still uses it, and with reads that never stop there is
//!   always one. `TRUNCATE` waits for the in-flight reads (new ones read from the database
//!   file), so the WAL stays bounded. It needs the write lock, and a busy writer would win every
//!   race for it, so the writer asks for it between two transactions and waits until it is
//!   done: a handover, not a fight, and never a `SQLITE_BUSY` in our own process. Its patience
//!   with slow readers is short, and a failed attempt backs off.

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

/// How long the writer waits after a `TRUNCATE` checkpoint gave up (a long read) before it
/// asks for another.
pub(crate) const TRUNCATE_BACKOFF: Duration = Duration::from_secs(1);

enum Request {
    /// The writer has nothing queued: a good moment for a passive checkpoint.
    Idle,
    /// The WAL is past its bound and the writer is waiting, between transactions, for a
    /// `TRUNCATE` checkpoint; the answer says whether it completed.
    Truncate(std::sync::mpsc::SyncSender<bool>),
}

/// The writer's handle on the checkpointer thread.
pub(crate) struct Checkpointer {
    requests: Option<flume::Sender<Request>>,
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
        // One pending request is enough: an idle hint means "look at the WAL", and a truncate
        // request waits for room.
        let (requests, rx) = flume::bounded(1);
        let interval = options.idle_checkpoint_interval;
        let thread = std::thread::Builder::new()
            .name("onewriter-checkpointer".into())
            .spawn(move || run(conn, rx, interval, shared))?;
        Ok(Checkpointer {
            requests: Some(requests),
            thread: Some(thread),
        })
    }

    /// Tells the checkpointer the writer is idle; never blocks.
    pub(crate) fn idle(&self) {
        if let Some(tx) = &self.requests {
            // Full means a request is already pending; the checkpointer will look soon anyway.
            let _ = tx.try_send(Request::Idle);
        }
    }

    /// Runs a `TRUNCATE` checkpoint and waits for it. Returns whether the WAL was truncated.
    /// The caller must not be inside a transaction.
    pub(crate) fn truncate(&self) -> bool {
        let Some(tx) = &self.requests else {
            return false;
        };
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel(1);
        if tx.send(Request::Truncate(done_tx)).is_err() {
            return false;
        }
        done_rx.recv().unwrap_or(false)
    }

    /// Stops the thread after its current checkpoint.
    pub(crate) fn stop(mut self) {
        self.requests.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(conn: Connection, rx: flume::Receiver<Request>, interval: Duration, shared: Arc<Shared>) {
    let mut last_passive: Option<Instant> = None;
    while let Ok(mut request) = rx.recv() {
        if let (Request::Idle, Some(last)) = (&request, last_passive) {
            // Let a burst of writes run on before copying pages that are about to change
            // again; a truncate request cuts the wait short.
            match wait_out(&rx, last + interval) {
                Some(r) => request = r,
                None => return,
            }
        }
        match request {
            Request::Truncate(done) => {
                let truncated = match checkpoint(&conn, "TRUNCATE") {
                    Ok(completed) => completed,
                    Err(e) => {
                        tracing::warn!(error = %e, "onewriter: checkpoint failed");
                        false
                    }
                };
                if truncated {
                    Counters::add(&shared.counters.checkpoints, 1);
                }
                let _ = done.send(truncated);
            }
            Request::Idle => {
                match checkpoint(&conn, "PASSIVE") {
                    Ok(_) => Counters::add(&shared.counters.checkpoints, 1),
                    Err(e) => tracing::warn!(error = %e, "onewriter: checkpoint failed"),
                }
                last_passive = Some(Instant::now());
            }
        }
    }
}

/// Waits until `until` unless a truncate request arrives first. Returns the request to act on,
/// or `None` when the writer has gone.
fn wait_out(rx: &flume::Receiver<Request>, until: Instant) -> Option<Request> {
    loop {
        let now = Instant::now();
        if now >= until {
            return Some(Request::Idle);
        }
        match rx.recv_timeout(until - now) {
            Ok(Request::Idle) => continue,
            Ok(truncate) => return Some(truncate),
            Err(flume::RecvTimeoutError::Timeout) => return Some(Request::Idle),
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
