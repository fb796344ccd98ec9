//! WAL housekeeping on its own connection and thread, off the commit path.
//!
//! In WAL mode every commit appends to the `-wal` file; a checkpoint copies those pages back
//! into the database so the WAL can start over. SQLite's automatic checkpoint runs inside the
//! COMMIT that crosses the threshold, so one unlucky caller pays for all of it. Here the
//! checkpointer thread does the work on a connection of its own:
//!
//! - when the writer goes idle, a `PASSIVE` checkpoint (it never blocks anyone), at most once
//!   per `idle_checkpoint_interval`;
//! - when the WAL passes a quarter of `wal_size_limit`, a `PASSIVE` checkpoint at once, in the
//!   background, so that little is left to copy when the limit is reached;
//! - when the WAL reaches `wal_size_limit`, a *handover*. Under a steady write load a
//!   background checkpoint never catches up (new frames keep arriving), and the WAL only starts
//!   over once every frame is copied. So the writer pauses between two transactions and waits
//!   while the checkpointer copies the last frames; the writer's next transaction then restarts
//!   the WAL from its beginning. If a reader still uses old frames (reads that never stop), or
//!   a handover did not lead to a restart, the checkpoint is a `TRUNCATE`, which waits for
//!   in-flight reads (new ones read the database file), so the WAL stays bounded. It is a
//!   handover, not a race for the lock: the writer never fights its own checkpointer, and a
//!   failed attempt backs off. The writer's pause is bounded too: while the WAL is under twice
//!   its bound it waits at most [`HANDOVER_PATIENCE`], a `TRUNCATE` tried within that wait
//!   gives up when the writer stops waiting (it holds the write lock while it waits), and a
//!   slower checkpoint (a slow sync) finishes in the background while it commits again. With
//!   NORMAL, most of what a handover waits for was the checkpoint's sync of the WAL, which the
//!   kernel had not yet written; the sync thread now flushes it as it grows (the `syncer`
//!   module).
//! - A read that lasts longer than a `TRUNCATE` waits for it ([`TRUNCATE_PATIENCE`]: a report,
//!   a backup of a large file) holds frames that no checkpoint can copy, so the WAL grows past
//!   its bound until the read ends. Another handover meanwhile would stall the writer and
//!   change nothing, so after one that could not finish the writer asks for the next only once
//!   a background checkpoint has copied past the frames held (the read has ended), or after
//!   [`HELD_BACKOFF`]; those background checkpoints run at most every
//!   [`HELD_PROBE_SPACING`] meanwhile. Each such handover is counted
//!   (`Stats::handovers_incomplete`).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use std::ffi::c_int;

use crate::db::Shared;
use crate::error::Error;
use crate::options::{Options, Role};
use crate::stats::Counters;

/// How long a `TRUNCATE` checkpoint waits for in-flight reads. The writer cannot commit
/// meanwhile, so this bounds the stall a forced checkpoint can cause.
const TRUNCATE_PATIENCE: Duration = Duration::from_millis(200);

/// Least time between two background checkpoints while the WAL grows. Each one syncs the
/// database file, which competes with the writer's own syncs under `synchronous=FULL`; more
/// often barely shortens the handover, less often leaves more for it.
pub(crate) const GROWING_SPACING: Duration = Duration::from_millis(10);

/// How long the writer waits after a `TRUNCATE` checkpoint gave up (a long read) before it
/// asks for another.
pub(crate) const TRUNCATE_BACKOFF: Duration = Duration::from_secs(1);

/// After a handover that a read kept from copying every frame, the writer asks for the next
/// one only once a background checkpoint has copied past the frames that read held (it has
/// ended), or after this long: each handover while the read lasts would stall the writer for
/// [`TRUNCATE_PATIENCE`] and leave the WAL as it was.
pub(crate) const HELD_BACKOFF: Duration = Duration::from_secs(10);

/// Least time between two background checkpoints while a read holds the WAL: each only tells
/// whether the read has ended, at a cost that grows with the WAL.
pub(crate) const HELD_PROBE_SPACING: Duration = Duration::from_millis(100);

/// The least time a handover's fallback `TRUNCATE` is given to wait for reads, within the
/// writer's patience; with less left, it is not tried.
const FALLBACK_LEAST: Duration = Duration::from_millis(2);

/// The longest the writer pauses for a handover while the WAL is under twice its bound. A
/// handover that takes longer (a slow sync of the database file) goes on in the background,
/// as any passive checkpoint does, while the writer commits again; the next one, after
/// [`HANDOVER_RETRY`], has only what was written meanwhile to copy.
pub(crate) const HANDOVER_PATIENCE: Duration = Duration::from_millis(20);

/// How long the writer commits on after a handover it cut short before it asks again.
pub(crate) const HANDOVER_RETRY: Duration = Duration::from_millis(40);

/// How long the writer may wait for a handover of `mode` with the WAL at `frames` of its
/// `limit`: [`HANDOVER_PATIENCE`], or without a bound once the WAL has reached twice its
/// bound (the bound on the file wins over the bound on the pause) or when the handover must
/// truncate past a reader (`TRUNCATE_PATIENCE` bounds that one).
pub(crate) fn patience(frames: c_int, limit: c_int, mode: Mode) -> Option<Duration> {
    (mode == Mode::Passive && frames < limit.saturating_mul(2)).then_some(HANDOVER_PATIENCE)
}

/// How a handover ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handover {
    /// Every frame was copied: the writer's next transaction restarts the WAL.
    Complete,
    /// The checkpoint could not copy every frame (a reader held them, or it failed).
    Incomplete,
    /// The writer stopped waiting after its patience; the checkpoint goes on in the
    /// background.
    CutShort,
}

enum Request {
    /// The writer has nothing queued: a good moment for a passive checkpoint.
    Idle,
    /// The WAL is getting large: copy what can be copied now, without blocking anyone.
    Growing,
    /// The WAL reached its bound and the writer waits, between transactions, for this
    /// checkpoint, until the deadline if it has one; the answer says whether every frame was
    /// copied.
    Handover(Mode, Option<Instant>, flume::Sender<bool>),
}

/// The checkpoint a handover asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Copy every frame; the writer's next transaction restarts the WAL.
    Passive,
    /// Copy every frame, wait for in-flight reads to leave the WAL, and truncate it.
    Truncate,
}

/// The writer's handle on the checkpointer thread.
pub(crate) struct Checkpointer {
    requests: Option<flume::Sender<Request>>,
    thread: Option<JoinHandle<()>>,
    /// Frames copied into the database by the last checkpoint that answered (SQLite's count
    /// for the WAL as it then was), or -1 since [`Self::forget_backfilled`].
    backfilled: Arc<AtomicI64>,
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
        let backfilled = Arc::new(AtomicI64::new(-1));
        let thread = std::thread::Builder::new()
            .name("onewriter-checkpointer".into())
            .spawn({
                let backfilled = Arc::clone(&backfilled);
                move || run(conn, rx, interval, &shared, &backfilled)
            })?;
        Ok(Checkpointer {
            requests: Some(requests),
            thread: Some(thread),
            backfilled,
        })
    }

    /// Frames the last checkpoint had copied into the database, or -1 if none answered since
    /// [`Self::forget_backfilled`].
    pub(crate) fn backfilled(&self) -> i64 {
        self.backfilled.load(Ordering::Acquire)
    }

    /// Forgets what the checkpoints so far copied: [`Self::backfilled`] then tells only of
    /// later ones.
    pub(crate) fn forget_backfilled(&self) {
        self.backfilled.store(-1, Ordering::Release);
    }

    /// Tells the checkpointer the writer is idle; never blocks.
    pub(crate) fn idle(&self) {
        if let Some(tx) = &self.requests {
            // Full means a request is already pending; the checkpointer will look soon anyway.
            let _ = tx.try_send(Request::Idle);
        }
    }

    /// Tells the checkpointer the WAL is growing; never blocks.
    pub(crate) fn growing(&self) {
        if let Some(tx) = &self.requests {
            let _ = tx.try_send(Request::Growing);
        }
    }

    /// Runs a checkpoint while the caller (the writer, between two transactions) waits, at
    /// most `patience` when given ([`patience`]).
    pub(crate) fn handover(&self, mode: Mode, patience: Option<Duration>) -> Handover {
        let Some(tx) = &self.requests else {
            return Handover::Incomplete;
        };
        let (done_tx, done_rx) = flume::bounded(1);
        let deadline = patience.map(|p| Instant::now() + p);
        let request = Request::Handover(mode, deadline, done_tx);
        let answer = match deadline {
            None => match tx.send(request) {
                Ok(()) => done_rx.recv().ok(),
                Err(_) => Some(false),
            },
            Some(deadline) => {
                match tx.send_deadline(request, deadline) {
                    Ok(()) => match done_rx.recv_deadline(deadline) {
                        Ok(done) => Some(done),
                        Err(flume::RecvTimeoutError::Timeout) => None,
                        Err(flume::RecvTimeoutError::Disconnected) => Some(false),
                    },
                    // Still busy with an earlier checkpoint.
                    Err(flume::SendTimeoutError::Timeout(_)) => None,
                    Err(flume::SendTimeoutError::Disconnected(_)) => Some(false),
                }
            }
        };
        match answer {
            Some(true) => Handover::Complete,
            Some(false) => Handover::Incomplete,
            None => Handover::CutShort,
        }
    }

    /// Stops the thread after its current checkpoint.
    pub(crate) fn stop(mut self) {
        self.requests.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    conn: Connection,
    rx: flume::Receiver<Request>,
    interval: Duration,
    shared: &Shared,
    backfilled: &AtomicI64,
) {
    let mut last_passive: Option<Instant> = None;
    let count = |done: bool| {
        if done {
            Counters::add(&shared.counters.checkpoints, 1);
        }
    };
    while let Ok(mut request) = rx.recv() {
        let spacing = match request {
            Request::Idle => interval,
            Request::Growing => GROWING_SPACING,
            Request::Handover(..) => Duration::ZERO,
        };
        if let Some(last) = last_passive {
            // Let a burst of writes run on before copying pages that are about to change
            // again; a handover cuts the wait short.
            match wait_out(&rx, last + spacing) {
                Some(handover @ Request::Handover(..)) => request = handover,
                Some(_) => {}
                None => return,
            }
        }
        match request {
            Request::Handover(mode, deadline, done) => {
                let complete = match mode {
                    // A passive checkpoint cannot copy frames a reader still uses; TRUNCATE
                    // waits for such readers, holding the write lock. Only for as long as the
                    // writer waits: once it commits again, TRUNCATE would hold it up.
                    Mode::Passive => {
                        checkpoint(&conn, "PASSIVE", backfilled)
                            || fallback_truncate(&conn, deadline, &done, backfilled)
                    }
                    Mode::Truncate => checkpoint(&conn, "TRUNCATE", backfilled),
                };
                count(complete);
                let _ = done.send(complete);
            }
            Request::Idle | Request::Growing => {
                count(checkpoint(&conn, "PASSIVE", backfilled));
                last_passive = Some(Instant::now());
            }
        }
    }
}

/// Waits until `until` unless a handover request arrives first. Returns the request to act on
/// (`Idle` when the wait ran out), or `None` when the writer has gone.
fn wait_out(rx: &flume::Receiver<Request>, until: Instant) -> Option<Request> {
    loop {
        let now = Instant::now();
        if now >= until {
            return Some(Request::Idle);
        }
        match rx.recv_timeout(until - now) {
            Ok(Request::Idle | Request::Growing) => continue,
            Ok(other) => return Some(other),
            Err(flume::RecvTimeoutError::Timeout) => return Some(Request::Idle),
            Err(flume::RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// After a passive handover that could not copy every frame: a `TRUNCATE`, which waits for
/// the reads that hold them, for as long as the writer still waits (its deadline, less a
/// margin for the answer) and [`TRUNCATE_PATIENCE`] at most; not tried when the writer
/// stopped waiting or is about to.
fn fallback_truncate(
    conn: &Connection,
    deadline: Option<Instant>,
    done: &flume::Sender<bool>,
    backfilled: &AtomicI64,
) -> bool {
    let wait = match deadline {
        None => TRUNCATE_PATIENCE,
        Some(d) => d
            .saturating_duration_since(Instant::now())
            .saturating_sub(FALLBACK_LEAST)
            .min(TRUNCATE_PATIENCE),
    };
    if done.is_disconnected() || wait < FALLBACK_LEAST {
        return false;
    }
    if wait == TRUNCATE_PATIENCE {
        return checkpoint(conn, "TRUNCATE", backfilled);
    }
    let set = |d| {
        if let Err(e) = conn.busy_timeout(d) {
            tracing::warn!(error = %e, "onewriter: the checkpointer's busy timeout not set");
        }
    };
    set(wait);
    let complete = checkpoint(conn, "TRUNCATE", backfilled);
    set(TRUNCATE_PATIENCE);
    complete
}

/// Runs one checkpoint; returns whether it copied every frame in the WAL. A checkpoint that
/// had to give up waiting for a lock, or failed, copied less. Records in `backfilled` how many
/// frames the WAL had copied into the database when it answered.
fn checkpoint(conn: &Connection, mode: &str, backfilled: &AtomicI64) -> bool {
    let sql = format!("PRAGMA wal_checkpoint({mode})");
    let result = conn.query_row(&sql, [], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    });
    match result {
        Ok((busy, log, checkpointed)) => {
            backfilled.store(checkpointed, Ordering::Release);
            busy == 0 && log == checkpointed
        }
        Err(e) if crate::error::is_busy(&e) => false,
        Err(e) => {
            tracing::warn!(error = %e, mode, "onewriter: checkpoint failed");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handover_waits_a_bounded_time_until_the_wal_is_twice_its_bound() {
        let limit = 1000;
        for (frames, mode, expected) in [
            (1000, Mode::Passive, Some(HANDOVER_PATIENCE)),
            (1999, Mode::Passive, Some(HANDOVER_PATIENCE)),
            (2000, Mode::Passive, None),
            (5000, Mode::Passive, None),
            (1000, Mode::Truncate, None),
        ] {
            assert_eq!(patience(frames, limit, mode), expected, "{frames} {mode:?}");
        }
    }
}
