//! The writer thread: the one connection that writes, and group commit.
//!
//! The thread takes every job queued (up to `max_batch`) and runs them in one
//! `BEGIN IMMEDIATE … COMMIT`, so one COMMIT serves them all. Callers are answered only after
//! the COMMIT that holds their change has returned, and with `synchronous=FULL` after the WAL
//! was synced behind it (the `syncer` module). With FULL, a transaction takes in the jobs
//! queued while it ran before its COMMIT, and while a sync is in flight it stays open and
//! takes in those that arrive, until that sync ends or the batch is full ([`Writer::top_up`]).
//!
//! A job that fails must be rolled back alone. A savepoint around every job would do that,
//! but it costs two statements a job and, worse, a copy of every page the job changes that an
//! earlier job of the batch had changed (the savepoint's sub-journal): some 30% of the
//! writer's time on a refresh-shaped workload. Jobs rarely fail, so a batch first runs
//! *optimistically*, its jobs back to back with no savepoint. If one fails, the transaction
//! is rolled back and the batch runs again *guarded*, each job in its own savepoint, which a
//! write's closure allows (it is `Fn`, see `Db::write`). Batches stay guarded while they keep
//! holding a failing job, so a stream of failures costs what savepoints cost, never a run
//! again per batch.

use std::cell::Cell;
use std::collections::VecDeque;
use std::ffi::c_int;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::hooks::Wal;
use rusqlite::{Connection, Statement};

use crate::checkpoint::{
    self, Checkpointer, GROWING_SPACING, HANDOVER_RETRY, HELD_BACKOFF, HELD_PROBE_SPACING,
    Handover, Mode, TRUNCATE_BACKOFF,
};
use crate::connection::{JOB_SAVEPOINT, TxnGuard};
use crate::db::Shared;
use crate::error::Fail;
use crate::job::{Job, Msg};
use crate::stats::Counters;
use crate::syncer::{Ended, Syncer};

thread_local! {
    /// Frames in the WAL after the last commit on this thread, as SQLite's WAL hook reports;
    /// taken by the writer after each batch.
    static WAL_FRAMES: Cell<Option<c_int>> = const { Cell::new(None) };
}

fn on_wal_commit(_: &Wal, frames: c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.set(Some(frames));
    Ok(())
}

/// How long the writer looks for the next job before it sleeps, after a batch of several.
const LINGER: Duration = Duration::from_micros(100);

pub(crate) struct Writer {
    pub(crate) conn: Connection,
    pub(crate) guard: TxnGuard,
    pub(crate) rx: flume::Receiver<Msg>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) max_batch: usize,
    pub(crate) busy_timeout: Duration,
    pub(crate) checkpointer: Checkpointer,
    /// Syncs commits and answers their callers, with `synchronous=FULL`; flushes the WAL as
    /// it grows, with NORMAL.
    pub(crate) syncer: Option<Syncer>,
    /// WAL size, in frames, at which the writer hands the WAL over for a checkpoint.
    pub(crate) wal_limit_frames: c_int,
    /// How the next batch starts: guarded after a batch that held a failing job.
    pub(crate) isolation: Cell<Isolation>,
    /// Set once `Shutdown` was taken from the queue (or every sender is gone): the writer
    /// finishes the transaction it is in, then stops.
    pub(crate) stopping: Cell<bool>,
}

/// What woke a writer waiting with a transaction open.
enum Woken {
    Queue(Result<Msg, flume::RecvError>),
    Synced,
    /// The sync thread is gone (only a bug would stop it); its `Syncer::send` fails the
    /// callers.
    SyncerGone,
}

/// How the jobs of a transaction are kept apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isolation {
    /// Back to back, no savepoints: a failing job sends the batch back to run again guarded.
    Optimistic,
    /// Each job in its own savepoint when the transaction holds more than one.
    Guarded,
}

/// How a transaction of a batch ended.
enum TxnEnd {
    /// Committed, every job in it having succeeded (or been cancelled).
    Clean,
    /// Every job taken was answered, but one failed, or the transaction did.
    Failed,
    /// Optimistic, and a job failed: the transaction was rolled back and the jobs run in it
    /// are back in the queue, to run again guarded.
    RunAgain,
}

/// A job that ran (or, after an engine failure, never will) in a transaction, waiting for
/// the transaction's end to be answered.
struct Ran {
    job: Box<dyn Job>,
    started: Instant,
    /// Whether the closure succeeded; `None` if it never ran.
    ok: Option<bool>,
}

/// What the writer remembers about the WAL between batches.
struct WalWatch {
    /// No handover before this moment (after one that could not complete).
    handover_not_before: Instant,
    /// WAL size at the last handover.
    frames_at_handover: c_int,
    /// Whether the WAL started over since the last handover (a commit reported fewer frames).
    restarted: bool,
    /// After a handover a read kept from copying every frame: the WAL's size then, and when.
    /// The next handover waits until a checkpoint has copied that far (the read has ended) or
    /// the WAL started over, and [`TRUNCATE_BACKOFF`] has passed; or until [`HELD_BACKOFF`]
    /// has.
    held: Option<(c_int, Instant)>,
    /// No "growing" hint to the checkpointer before this moment: it would not act on one
    /// sooner, and each hint wakes its thread.
    growing_hint_not_before: Instant,
    /// With NORMAL, WAL size when the syncer was last asked to flush it.
    flushed_at: c_int,
}

/// With NORMAL, the writer asks the syncer to flush the WAL each time it grows by this part of
/// its bound (see the `syncer` module): a sixteenth of 16 MiB leaves about a millisecond of
/// writing for the handover's own sync on a disk that writes 1 GB/s.
const FLUSH_PARTS: c_int = 16;

/// The engine's own statements, prepared once: the hot path prepares and hashes nothing.
/// SQLite re-prepares them by itself after a schema change.
struct Statements<'c> {
    begin: Statement<'c>,
    commit: Statement<'c>,
    rollback: Statement<'c>,
    savepoint: Statement<'c>,
    release: Statement<'c>,
    rollback_to: Statement<'c>,
}

impl<'c> Statements<'c> {
    fn prepare(conn: &'c Connection) -> rusqlite::Result<Self> {
        Ok(Statements {
            begin: conn.prepare("BEGIN IMMEDIATE")?,
            commit: conn.prepare("COMMIT")?,
            rollback: conn.prepare("ROLLBACK")?,
            savepoint: conn.prepare(&format!("SAVEPOINT {JOB_SAVEPOINT}"))?,
            release: conn.prepare(&format!("RELEASE {JOB_SAVEPOINT}"))?,
            rollback_to: conn.prepare(&format!("ROLLBACK TO {JOB_SAVEPOINT}"))?,
        })
    }
}

fn exec(stmt: &mut Statement<'_>) -> rusqlite::Result<()> {
    stmt.execute([]).map(|_| ())
}

/// How one closure fared inside the shared transaction.
enum Step {
    Ran,
    /// SQLite rolled back the whole transaction (disk full, I/O error): every job run so far in
    /// it lost its changes.
    TransactionLost,
    /// A statement of the engine's own failed; the transaction cannot be trusted.
    EngineFailed(Fail),
}

impl Writer {
    pub(crate) fn install_wal_hook(conn: &Connection) {
        // `wal_autocheckpoint` installs a WAL hook of its own, so this must come after the
        // pragmas, which set it to 0.
        conn.wal_hook(Some(on_wal_commit));
    }

    pub(crate) fn run(self) {
        match Statements::prepare(&self.conn) {
            Ok(mut stmts) => self.serve(&mut stmts),
            Err(e) => {
                // Only reachable if SQLite cannot prepare `COMMIT`; the callers see `Closed`.
                tracing::error!(error = %e, "onewriter: the writer cannot prepare its statements");
            }
        }
        self.finish();
    }

    fn serve(&self, stmts: &mut Statements<'_>) {
        let mut wal = WalWatch {
            handover_not_before: Instant::now(),
            frames_at_handover: c_int::MAX,
            restarted: true,
            held: None,
            growing_hint_not_before: Instant::now(),
            flushed_at: 0,
        };
        let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(self.max_batch);
        let mut busy = false;
        while !self.stopping.get() {
            match self.next_job(busy) {
                Ok(Msg::Job(job)) => batch.push(job),
                Ok(Msg::Shutdown) | Err(_) => break,
            }
            while batch.len() < self.max_batch {
                match self.rx.try_recv() {
                    Ok(Msg::Job(job)) => batch.push(job),
                    Ok(Msg::Shutdown) => {
                        self.stopping.set(true);
                        break;
                    }
                    Err(_) => break,
                }
            }
            busy = self.run_batch(&mut batch, stmts) > 1;
            self.housekeeping(&mut wal);
        }
    }

    /// Waits for the next message. After a batch of several jobs, the callers just answered
    /// are likely to send their next jobs within microseconds: the writer looks for them for
    /// up to [`LINGER`] before it sleeps, sparing them a wake-up of this thread and itself a
    /// batch started with only the first of them.
    fn next_job(&self, busy: bool) -> Result<Msg, flume::RecvError> {
        if busy {
            let until = Instant::now() + LINGER;
            loop {
                match self.rx.try_recv() {
                    Ok(msg) => return Ok(msg),
                    Err(flume::TryRecvError::Disconnected) => {
                        return Err(flume::RecvError::Disconnected);
                    }
                    // Yielding rather than spinning: on a machine with few cores the callers'
                    // tasks may be waiting for this very core.
                    Err(flume::TryRecvError::Empty) if Instant::now() < until => {
                        std::thread::yield_now();
                    }
                    Err(flume::TryRecvError::Empty) => break,
                }
            }
        }
        self.rx.recv()
    }

    /// A job taken from the queue, unless its caller has gone or its deadline has passed
    /// (then it is answered here).
    fn admit(&self, job: Box<dyn Job>, now: Instant) -> Option<Box<dyn Job>> {
        let counters = &self.shared.counters;
        if job.cancelled() {
            Counters::add(&counters.cancelled, 1);
            None
        } else if let Some(fail) = job.envelope().expired(now) {
            Counters::add(&counters.overloaded, 1);
            job.answer(Some(&fail));
            None
        } else {
            Some(job)
        }
    }

    /// Runs the jobs of one batch, and those it takes in before its COMMIT (see
    /// [`Writer::top_up`]); answers every one of them. Returns how many jobs it took.
    fn run_batch(&self, batch: &mut Vec<Box<dyn Job>>, stmts: &mut Statements<'_>) -> usize {
        let counters = &self.shared.counters;
        let now = Instant::now();
        let mut taken = batch.len();
        let mut pending: VecDeque<Box<dyn Job>> = VecDeque::with_capacity(self.max_batch);
        pending.extend(batch.drain(..).filter_map(|job| self.admit(job, now)));
        if let Some(fail) = self.shared.durability.failure() {
            // A sync failed: no write may be acknowledged until the database is reopened.
            for job in pending.drain(..) {
                job.answer(Some(&fail));
            }
            return taken;
        }
        let mut isolation = self.isolation.get();
        let mut failed = false;
        while !pending.is_empty() {
            if let Err(fail) =
                crate::busy::begin_immediate(&mut stmts.begin, self.busy_timeout, counters)
            {
                for job in pending.drain(..) {
                    job.answer(Some(&fail));
                }
                return taken;
            }
            match self.run_transaction(&mut pending, &mut taken, isolation, stmts) {
                TxnEnd::Clean => {}
                TxnEnd::Failed => failed = true,
                TxnEnd::RunAgain => {
                    Counters::add(&counters.batches_run_again, 1);
                    isolation = Isolation::Guarded;
                    failed = true;
                }
            }
        }
        self.isolation.set(if failed {
            Isolation::Guarded
        } else {
            Isolation::Optimistic
        });
        taken
    }

    /// Runs queued jobs inside the transaction just begun, then commits it. Jobs not reached
    /// (because SQLite rolled the transaction back under them) stay in `pending`; so do the
    /// jobs of an optimistic transaction in which one failed, in their order, and the answer
    /// is then [`TxnEnd::RunAgain`]. Any other answer means every job taken was answered.
    /// Before its COMMIT it takes in the jobs queued meanwhile, counted in `taken`.
    fn run_transaction(
        &self,
        pending: &mut VecDeque<Box<dyn Job>>,
        taken: &mut usize,
        isolation: Isolation,
        stmts: &mut Statements<'_>,
    ) -> TxnEnd {
        let counters = &self.shared.counters;
        // A lone job needs no savepoint: the transaction itself is its unit of rollback.
        let mut savepoints = isolation == Isolation::Guarded && pending.len() > 1;
        let mut ran: Vec<Ran> = Vec::with_capacity(pending.len());
        let mut succeeded = 0usize;
        let mut failure: Option<Fail> = None;
        // The number of the COMMIT run, if one was.
        let mut commit_seq = None;

        'jobs: loop {
            let Some(mut job) = pending.pop_front() else {
                if self.top_up(pending, taken) {
                    // Jobs after the first run in savepoints of their own when guarded.
                    savepoints = isolation == Isolation::Guarded;
                    continue 'jobs;
                }
                break 'jobs;
            };
            if job.cancelled() {
                Counters::add(&counters.cancelled, 1);
                continue;
            }
            let started = Instant::now();
            let (step, ok) = self.run_job(job.as_mut(), savepoints, stmts);
            if !ok && !savepoints && matches!(step, Step::Ran) {
                // Only the whole transaction can undo this job's changes.
                self.rollback(stmts);
                if ran.is_empty() {
                    // It ran first: that undoes it alone. The rest go on in a new transaction.
                    let only = Ran {
                        job,
                        started,
                        ok: Some(false),
                    };
                    self.answer(vec![only], None, false, None);
                    return TxnEnd::Failed;
                }
                // The jobs before it ran in that transaction: all of them run again, guarded.
                pending.push_front(job);
                for r in ran.into_iter().rev() {
                    pending.push_front(r.job);
                }
                return TxnEnd::RunAgain;
            }
            succeeded += usize::from(ok);
            ran.push(Ran {
                job,
                started,
                ok: Some(ok),
            });
            match step {
                Step::Ran => {}
                Step::TransactionLost => {
                    failure = Some(Fail::RolledBack);
                    break 'jobs;
                }
                Step::EngineFailed(fail) => {
                    failure = Some(fail);
                    // The remaining jobs would run in a transaction we cannot trust.
                    ran.extend(pending.drain(..).map(|job| Ran {
                        job,
                        started,
                        ok: None,
                    }));
                    break 'jobs;
                }
            }
        }

        let failure = match failure {
            Some(f) => {
                self.rollback(stmts);
                Some(f)
            }
            None if succeeded == 0 => {
                // Nothing to keep: a rollback skips the sync a commit would cost.
                self.rollback(stmts);
                None
            }
            None => {
                let seq = self.shared.durability.begin_commit();
                let failure = match exec(&mut stmts.commit) {
                    Ok(()) => {
                        Counters::add(&counters.commits, 1);
                        None
                    }
                    Err(e) => {
                        self.rollback(stmts);
                        Some(Fail::sqlite(e))
                    }
                };
                commit_seq = Some(seq);
                failure
            }
        };
        let end = if failure.is_none() && succeeded == ran.len() {
            TxnEnd::Clean
        } else {
            TxnEnd::Failed
        };

        let committed = failure.is_none() && succeeded > 0;
        self.answer(ran, failure.as_ref(), committed, commit_seq);
        end
    }

    /// Before a COMMIT, with FULL: takes in the jobs queued while the transaction ran, and,
    /// while the syncer still syncs an earlier commit, waits for more until that sync ends, up
    /// to `max_batch` taken for the batch. Returns whether it added jobs to `pending`.
    ///
    /// This commit's callers are answered after a sync that begins once it is written: the
    /// *next* one if a sync is in flight. Committing now, and again for each job that trickles
    /// in meanwhile, would answer nobody sooner and write the pages each COMMIT changed to the
    /// WAL once more; one COMMIT when the sync ends serves them all. With NORMAL it adds none,
    /// so a batch is the jobs queued when it began (the group commit tests rely on that): a
    /// COMMIT is cheap there, and its callers are answered as soon as it returns.
    fn top_up(&self, pending: &mut VecDeque<Box<dyn Job>>, taken: &mut usize) -> bool {
        let before = pending.len();
        if !self.shared.durability.pipelined() {
            return false;
        }
        loop {
            while *taken < self.max_batch && !self.stopping.get() {
                match self.rx.try_recv() {
                    Ok(msg) => self.take(msg, pending, taken),
                    Err(flume::TryRecvError::Empty) => break,
                    Err(flume::TryRecvError::Disconnected) => self.stopping.set(true),
                }
            }
            if pending.len() > before || *taken >= self.max_batch || self.stopping.get() {
                return pending.len() > before;
            }
            let Some(syncer) = &self.syncer else {
                return false;
            };
            if !self.shared.durability.syncing() {
                return false;
            }
            // A message on `synced` may be left from an earlier sync: the loop looks again.
            let woken = flume::Selector::new()
                .recv(&self.rx, Woken::Queue)
                .recv(&syncer.synced, |r| match r {
                    Ok(()) => Woken::Synced,
                    Err(_) => Woken::SyncerGone,
                })
                .wait();
            match woken {
                Woken::Queue(Ok(msg)) => self.take(msg, pending, taken),
                Woken::Queue(Err(_)) => self.stopping.set(true),
                Woken::Synced => {}
                Woken::SyncerGone => return pending.len() > before,
            }
        }
    }

    /// Takes one message from the queue in the middle of a transaction.
    fn take(&self, msg: Msg, pending: &mut VecDeque<Box<dyn Job>>, taken: &mut usize) {
        match msg {
            Msg::Job(job) => {
                *taken += 1;
                if let Some(job) = self.admit(job, Instant::now()) {
                    pending.push_back(job);
                }
            }
            Msg::Shutdown => self.stopping.set(true),
        }
    }

    /// Records the jobs of a transaction that ended, `committed` or not, and answers them, or,
    /// when a syncer syncs commits, has it answer them once the commit numbered `commit_seq`
    /// is synced.
    fn answer(
        &self,
        ran: Vec<Ran>,
        failure: Option<&Fail>,
        committed: bool,
        commit_seq: Option<u64>,
    ) {
        let counters = &self.shared.counters;
        let done = Instant::now();
        self.shared.writer.with(|h| {
            if committed {
                h.batch.saturating_record(ran.len() as u64);
            }
            for r in &ran {
                h.record_wait(
                    r.started
                        .saturating_duration_since(r.job.envelope().enqueued),
                );
                h.record_run(done.saturating_duration_since(r.started));
            }
        });
        for r in &ran {
            if let Some(ok) = r.ok {
                Counters::add(&counters.writes, 1);
                if !ok {
                    Counters::add(&counters.write_errors, 1);
                }
            }
        }
        let jobs = ran.into_iter().map(|r| r.job);
        match (&self.syncer, commit_seq) {
            (Some(syncer), Some(seq)) if self.shared.durability.pipelined() => {
                let jobs = if committed {
                    jobs.collect()
                } else {
                    // Nothing of theirs to sync; the number still goes, in order, so that
                    // readers waiting for it stop waiting.
                    jobs.for_each(|job| job.answer(failure));
                    Vec::new()
                };
                syncer.send(Ended {
                    seq,
                    committed,
                    jobs,
                });
            }
            _ => jobs.for_each(|job| job.answer(failure)),
        }
    }

    /// Runs one closure, in its own savepoint if `savepoint`. Returns how the transaction
    /// fared and whether the closure succeeded.
    fn run_job(
        &self,
        job: &mut dyn Job,
        savepoint: bool,
        stmts: &mut Statements<'_>,
    ) -> (Step, bool) {
        if savepoint && let Err(e) = exec(&mut stmts.savepoint) {
            return (Step::EngineFailed(Fail::sqlite(e)), false);
        }
        let conn = &self.conn;
        let ok = self.guard.run_closure(|| job.run(conn));
        if self.conn.is_autocommit() {
            // SQLite ends a transaction by itself after SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM
            // and similar errors ("Response To Errors Within A Transaction"); the closure cannot
            // end it through SQL because the guard refuses transaction control.
            return (Step::TransactionLost, ok);
        }
        let ended = match (savepoint, ok) {
            (true, true) => exec(&mut stmts.release),
            (true, false) => exec(&mut stmts.rollback_to).and_then(|()| exec(&mut stmts.release)),
            (false, _) => Ok(()),
        };
        match ended {
            Ok(()) => (Step::Ran, ok),
            Err(e) => (Step::EngineFailed(Fail::sqlite(e)), ok),
        }
    }

    fn rollback(&self, stmts: &mut Statements<'_>) {
        if self.conn.is_autocommit() {
            return;
        }
        if let Err(e) = exec(&mut stmts.rollback) {
            // SQLite documents that ROLLBACK can fail only while statements are still running;
            // none of ours are. Log it: the next BEGIN will report the broken state.
            tracing::error!(error = %e, "onewriter: ROLLBACK failed");
        }
    }

    /// Between two transactions: keep the WAL bounded (see the `checkpoint` module).
    fn housekeeping(&self, wal: &mut WalWatch) {
        let Some(frames) = WAL_FRAMES.take() else {
            // Nothing was committed: the WAL did not change.
            return;
        };
        if frames < wal.frames_at_handover {
            wal.restarted = true;
        }
        if let Some((held_at, since)) = wal.held
            && (frames < held_at || self.checkpointer.backfilled() >= i64::from(held_at))
        {
            // The read that held those frames has ended, or the WAL started over.
            wal.held = None;
            wal.handover_not_before = since + TRUNCATE_BACKOFF;
        }
        self.flush_ahead(frames, wal);
        if frames >= self.wal_limit_frames && Instant::now() >= wal.handover_not_before {
            // If the WAL did not start over after the last handover, a reader held an old
            // frame: this time wait for the readers and truncate.
            let mode = if wal.restarted {
                Mode::Passive
            } else {
                Mode::Truncate
            };
            let patience = checkpoint::patience(frames, self.wal_limit_frames, mode);
            let paused = Instant::now();
            let outcome = self.checkpointer.handover(mode, patience);
            self.shared.counters.handover(paused.elapsed(), outcome);
            match outcome {
                Handover::Complete => {
                    wal.frames_at_handover = frames;
                    wal.restarted = false;
                    // Whatever read held frames before, none does now.
                    wal.held = None;
                }
                Handover::Incomplete => {
                    // Background checkpoints (the WAL is past a quarter of its bound) tell
                    // when the read that held the frames is gone.
                    let now = Instant::now();
                    self.checkpointer.forget_backfilled();
                    wal.held = Some((frames, now));
                    wal.handover_not_before = now + HELD_BACKOFF;
                }
                Handover::CutShort => {
                    wal.handover_not_before = Instant::now() + HANDOVER_RETRY;
                }
            }
        } else if frames >= self.wal_limit_frames / 4 {
            let now = Instant::now();
            if now >= wal.growing_hint_not_before {
                self.checkpointer.growing();
                // While a read holds the WAL, a checkpoint copies nothing: it only tells when
                // the read has ended, and it may first sort every frame of the WAL to find
                // that out (SQLite does, when the read began on a WAL copied to its end).
                let spacing = if wal.held.is_some() {
                    HELD_PROBE_SPACING
                } else {
                    GROWING_SPACING
                };
                wal.growing_hint_not_before = now + spacing;
            }
        } else if self.rx.is_empty() {
            self.checkpointer.idle();
        }
    }

    /// With NORMAL, asks the syncer to flush the WAL once it has grown by a part of its bound
    /// since the last request (or since it started over), so that a handover's checkpoint
    /// finds little left to sync.
    fn flush_ahead(&self, frames: c_int, wal: &mut WalWatch) {
        if self.shared.durability.pipelined() {
            return;
        }
        if frames < wal.flushed_at {
            // The WAL started over.
            wal.flushed_at = 0;
        }
        if frames - wal.flushed_at >= (self.wal_limit_frames / FLUSH_PARTS).max(1)
            && let Some(syncer) = &self.syncer
        {
            syncer.flush();
            wal.flushed_at = frames;
        }
    }

    /// After the last job: stop the sync thread (it syncs and answers what it holds first) and
    /// the checkpointer, then checkpoint and truncate the WAL so the file is complete on its own.
    fn finish(mut self) {
        if let Some(syncer) = self.syncer.take() {
            syncer.stop();
        }
        self.checkpointer.stop();
        let _ = self.conn.busy_timeout(self.busy_timeout);
        match self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            }) {
            Ok(0) => {}
            Ok(_) => tracing::warn!(
                "onewriter: final checkpoint could not complete (readers still open)"
            ),
            Err(e) => tracing::warn!(error = %e, "onewriter: final checkpoint failed"),
        }
        if let Err((_, e)) = self.conn.close() {
            tracing::warn!(error = %e, "onewriter: closing the writer connection failed");
        }
    }
}
