//! `synchronous=FULL` without stopping the writer for each sync.
//!
//! With FULL, SQLite syncs the WAL inside every `COMMIT`, and the writer can do nothing else
//! meanwhile: a batch runs, then waits for its sync, then the next batch runs. Here the
//! writer's connection commits with `synchronous=NORMAL` (its commits are written to the WAL,
//! which SQLite keeps consistent through a power cut, but not yet synced), and this thread
//! syncs the WAL after it, then answers the batch's callers. The writer runs the next batch
//! during that sync, and one sync covers every commit written before it began. That next
//! batch's callers would be answered after the *next* sync whatever the writer did, so it keeps
//! the transaction open and takes in the jobs that come until the sync in flight ends (or the
//! batch is full), then commits them all at once: one COMMIT writes each page they changed
//! once, where a COMMIT per trickle of jobs wrote the same pages again and again.
//!
//! What FULL promises still holds:
//!
//! - **A caller is answered only after its commit is synced**, as with FULL.
//! - **No read of this database is answered from a commit before it is synced.** A commit is
//!   visible in the WAL as soon as `COMMIT` returns; a read that saw it and answered at once
//!   could show a change that a power cut then takes back. So once a read has run, its answer
//!   waits until every commit begun before is synced, since its snapshot may hold any of them
//!   ([`Durability::answer_read`]): at most the sync in flight and the next one. The reader
//!   thread does not wait: it runs the next read meanwhile, and the sync thread hands the
//!   answer over. A backup waits the same way before it is renamed into place.
//! - **Checkpoints copy only synced frames**: SQLite syncs the WAL before a checkpoint copies
//!   it into the database file, whatever the connection's setting.
//!
//! If a sync fails, the commits it covered are visible but may not survive a power cut, and a
//! second attempt cannot tell (the kernel may have dropped the unwritten pages and reported the
//! error once). Their callers get the error, and so does every later write and every read that
//! would wait for them: the database must be closed and reopened, which reads the WAL from disk
//! again. PostgreSQL stops for the same reason.
//!
//! # With NORMAL: flushing the WAL as it grows
//!
//! With NORMAL nothing waits for a sync, but a checkpoint syncs the WAL before it copies it
//! into the database file (SQLite does, whatever the setting), and the writer waits for the
//! checkpoint of a handover (the `checkpoint` module). Left to the kernel, a WAL of 16 MiB
//! written in a tenth of a second is all still in memory at the handover, whose sync then
//! writes it all out while the writer waits: 13-20 ms pauses, 10% of a run at 64 workers.
//! So with NORMAL this thread syncs the WAL whenever the writer has added a sixteenth of its
//! bound since the last request ([`Syncer::flush`]); the handover's sync then has only the
//! last of it to write. Nobody waits for these syncs and none is promised: a failed one is
//! logged, and the checkpoint's own sync, which SQLite checks, reports the disk's trouble.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::db::Shared;
use crate::error::Fail;
use crate::job::Job;

/// What has been committed and synced, shared by the writer, the syncer and the readers.
pub(crate) struct Durability {
    /// Whether the syncer syncs commits (`synchronous=FULL`); if not, nothing waits.
    pipelined: bool,
    /// Commits the writer began: counted just before each `COMMIT` runs, so a reader whose
    /// snapshot holds a commit counts it too.
    begun: AtomicU64,
    /// Commits synced (or known not to need it): every commit numbered up to this one.
    synced: AtomicU64,
    /// Whether a sync failed (then `State::failed` says how): read on every batch, so an
    /// atomic rather than the lock.
    failed: AtomicBool,
    state: Mutex<State>,
    changed: Condvar,
    /// Runs before each sync in tests: holds it back, or fails it.
    #[cfg(test)]
    pub(crate) before_sync: Mutex<Option<SyncHook>>,
}

/// A test's stand-in for the first part of a sync.
#[cfg(test)]
pub(crate) type SyncHook = Box<dyn FnMut() -> io::Result<()> + Send>;

struct State {
    synced: u64,
    failed: Option<Arc<io::Error>>,
    /// Reads run, each waiting for the commit numbered `.0` to be synced before its answer.
    held: Vec<(u64, Box<dyn Job>, Option<Fail>)>,
}

impl Durability {
    pub(crate) fn new(pipelined: bool) -> Self {
        Durability {
            pipelined,
            begun: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            failed: AtomicBool::new(false),
            state: Mutex::new(State {
                synced: 0,
                failed: None,
                held: Vec::new(),
            }),
            changed: Condvar::new(),
            #[cfg(test)]
            before_sync: Mutex::new(None),
        }
    }

    pub(crate) fn pipelined(&self) -> bool {
        self.pipelined
    }

    /// Numbers a commit about to run; call it before `COMMIT`.
    pub(crate) fn begin_commit(&self) -> u64 {
        let seq = self.begun.fetch_add(1, Ordering::SeqCst) + 1;
        // The count must be visible before anything of the COMMIT is (SQLite's shared memory
        // is not a Rust atomic).
        fence(Ordering::SeqCst);
        seq
    }

    /// Waits until every commit begun so far is synced. A reader calls it once its snapshot
    /// is fixed: any commit the snapshot holds was begun before, so it is synced on return.
    /// Returns whether it had to wait.
    pub(crate) fn wait_for_begun(&self) -> Result<bool, Fail> {
        if !self.pipelined {
            return Ok(false);
        }
        // Pairs with the fence in `begin_commit`: a commit the snapshot holds is counted here.
        fence(Ordering::SeqCst);
        let needed = self.begun.load(Ordering::SeqCst);
        if self.synced.load(Ordering::SeqCst) >= needed {
            return Ok(false);
        }
        let mut state = self.lock();
        loop {
            if state.synced >= needed {
                return Ok(true);
            }
            if let Some(e) = &state.failed {
                return Err(Fail::Io(Arc::clone(e)));
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Answers a read that has run, with `fail` if its read transaction failed: at once if
    /// every commit its snapshot may hold is synced, otherwise once the sync thread has synced
    /// them. Returns whether the answer was held back.
    pub(crate) fn answer_read(&self, job: Box<dyn Job>, fail: Option<Fail>) -> bool {
        if !self.pipelined {
            job.answer(fail.as_ref());
            return false;
        }
        // The snapshot was fixed by the read's first statement, so every commit it holds was
        // counted before this load (see `begin_commit`).
        fence(Ordering::SeqCst);
        let needed = self.begun.load(Ordering::SeqCst);
        if self.synced.load(Ordering::SeqCst) >= needed {
            job.answer(fail.as_ref());
            return false;
        }
        let mut state = self.lock();
        if state.synced >= needed {
            drop(state);
            job.answer(fail.as_ref());
            return false;
        }
        if let Some(e) = &state.failed {
            let failed = Fail::Io(Arc::clone(e));
            drop(state);
            job.answer(Some(&failed));
            return true;
        }
        state.held.push((needed, job, fail));
        true
    }

    /// The sync failure that stopped writes, if one did.
    pub(crate) fn failure(&self) -> Option<Fail> {
        if !self.failed.load(Ordering::SeqCst) {
            return None;
        }
        self.lock().failed.as_ref().map(|e| Fail::Io(Arc::clone(e)))
    }

    /// Whether a commit begun is still waiting for its sync (and no sync failed, which would
    /// leave it waiting for good). Never with NORMAL, where nothing is synced after a commit.
    pub(crate) fn syncing(&self) -> bool {
        self.pipelined
            && !self.failed.load(Ordering::SeqCst)
            && self.synced.load(Ordering::SeqCst) < self.begun.load(Ordering::SeqCst)
    }

    fn settle(&self, upto: u64, result: &io::Result<()>) {
        let mut state = self.lock();
        match result {
            Ok(()) => {
                state.synced = state.synced.max(upto);
                self.synced.store(state.synced, Ordering::SeqCst);
            }
            Err(e) => {
                state.failed = Some(Arc::new(io::Error::new(e.kind(), e.to_string())));
                self.failed.store(true, Ordering::SeqCst);
            }
        }
        let synced = state.synced;
        let failed = state.failed.as_ref().map(|e| Fail::Io(Arc::clone(e)));
        let held = std::mem::take(&mut state.held);
        let (due, still): (Vec<_>, Vec<_>) = held
            .into_iter()
            .partition(|(needed, ..)| *needed <= synced || failed.is_some());
        state.held = still;
        drop(state);
        self.changed.notify_all();
        for (_, job, fail) in due {
            job.answer(failed.as_ref().or(fail.as_ref()));
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One transaction's end, sent by the writer in commit order; with NORMAL, a request to flush
/// the WAL as written so far ([`Syncer::flush`]).
pub(crate) struct Ended {
    /// The commit's number from [`Durability::begin_commit`].
    pub(crate) seq: u64,
    /// Whether it committed; if its `COMMIT` failed there is nothing to sync, only its number
    /// to pass so that readers stop waiting for it.
    pub(crate) committed: bool,
    /// The jobs to answer once the commit is synced.
    pub(crate) jobs: Vec<Box<dyn Job>>,
}

/// The writer's handle on the syncer thread.
pub(crate) struct Syncer {
    tx: Option<flume::Sender<Ended>>,
    thread: Option<JoinHandle<()>>,
    /// Holds a message after each sync ends, for a writer that waits for it.
    pub(crate) synced: flume::Receiver<()>,
}

impl Syncer {
    /// Starts the thread that syncs `wal`, the database's write-ahead log.
    pub(crate) fn start(wal: PathBuf, shared: Arc<Shared>) -> io::Result<Self> {
        // Unbounded: the writer never waits for the syncer. What it holds is bounded anyway by
        // the callers waiting for their answers, that is by the write queue.
        let (tx, rx) = flume::unbounded();
        // One message says "a sync ended since you last looked"; more would say nothing more.
        let (notify, synced) = flume::bounded(1);
        let thread = std::thread::Builder::new()
            .name("onewriter-sync".into())
            .spawn(move || run(&wal, &rx, &notify, &shared))?;
        Ok(Syncer {
            tx: Some(tx),
            thread: Some(thread),
            synced,
        })
    }

    pub(crate) fn send(&self, ended: Ended) {
        if let Some(tx) = &self.tx
            && let Err(flume::SendError(ended)) = tx.send(ended)
        {
            // Only if the thread died (it cannot panic short of a bug): fail the callers
            // rather than tell them their change is durable.
            let fail = Fail::Io(Arc::new(io::Error::other(
                "the WAL sync thread has stopped",
            )));
            for job in ended.jobs {
                job.answer(Some(&fail));
            }
        }
    }

    /// With NORMAL: asks for a sync of the WAL as written so far, in the background. Requests
    /// sent while a sync runs are served by one sync after it.
    pub(crate) fn flush(&self) {
        if let Some(tx) = &self.tx {
            // With NORMAL nothing waits on commit numbers, and its jobs were answered at their
            // COMMIT: the request carries neither.
            let _ = tx.send(Ended {
                seq: 0,
                committed: true,
                jobs: Vec::new(),
            });
        }
    }

    /// Syncs and answers what was sent, then stops the thread.
    pub(crate) fn stop(mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(wal_path: &Path, rx: &flume::Receiver<Ended>, notify: &flume::Sender<()>, shared: &Shared) {
    let durability = &shared.durability;
    let mut wal: Option<File> = None;
    // With NORMAL, whether the last flush failed (see `flush_news`).
    let mut flush_failing = false;
    while let Ok(first) = rx.recv() {
        // Everything committed while the last sync ran is covered by this one.
        let mut ended = vec![first];
        ended.extend(rx.try_iter());
        let upto = ended.iter().map(|e| e.seq).max().unwrap_or(0);
        let began = Instant::now();
        let result = match durability.failure() {
            Some(Fail::Io(e)) => Err(io::Error::new(e.kind(), e.to_string())),
            _ if ended.iter().any(|e| e.committed) => sync(&mut wal, wal_path, durability),
            _ => Ok(()),
        };
        if matches!(&result, Ok(())) && ended.iter().any(|e| e.committed) {
            shared.counters.sync(began.elapsed());
        }
        if !durability.pipelined() {
            // NORMAL: a flush ahead of the checkpoint's sync, which nobody waits for.
            match (flush_news(flush_failing, result.is_ok()), &result) {
                (FlushNews::Failed, Err(e)) => {
                    tracing::warn!(error = %e, wal = %wal_path.display(),
                    "onewriter: flushing the WAL in the background failed; \
                     not reported again until a flush succeeds")
                }
                (FlushNews::Recovered, _) => tracing::info!(wal = %wal_path.display(),
                    "onewriter: flushing the WAL in the background works again"),
                _ => {}
            }
            flush_failing = result.is_err();
            continue;
        }
        if let Err(e) = &result {
            tracing::error!(error = %e, wal = %wal_path.display(),
                "onewriter: syncing the WAL failed; writes stop until the database is reopened");
        }
        durability.settle(upto, &result);
        // A writer holding its transaction open until this sync ended may commit now.
        let _ = notify.try_send(());
        let fail = result.err().map(|e| {
            Fail::Io(Arc::new(io::Error::new(
                e.kind(),
                format!("syncing the WAL failed: {e}; the change may not survive a power cut"),
            )))
        });
        for job in ended.into_iter().flat_map(|e| e.jobs) {
            job.answer(fail.as_ref());
        }
    }
}

/// What a background flush (NORMAL) has to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlushNews {
    /// It failed, after one that did not: warn once.
    Failed,
    /// It succeeded after a failure.
    Recovered,
    Nothing,
}

/// Whether a flush that succeeded or not (`ok`) is news, given whether the one before failed:
/// a disk that keeps failing is reported once, not at every sixteenth of the WAL.
fn flush_news(was_failing: bool, ok: bool) -> FlushNews {
    match (was_failing, ok) {
        (false, false) => FlushNews::Failed,
        (true, true) => FlushNews::Recovered,
        _ => FlushNews::Nothing,
    }
}

/// Syncs the WAL file, opening it the first time (and syncing its directory then, so that the
/// file itself survives a power cut, as SQLite does when it creates it).
fn sync(wal: &mut Option<File>, path: &Path, durability: &Durability) -> io::Result<()> {
    #[cfg(test)]
    if let Some(hook) = durability
        .before_sync
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_mut()
    {
        hook()?;
    }
    #[cfg(not(test))]
    let _ = durability;
    if wal.is_none() {
        // Write access: some systems refuse to flush a file opened only for reading.
        let file = std::fs::OpenOptions::new().write(true).open(path)?;
        #[cfg(unix)]
        {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            File::open(dir)?.sync_all()?;
        }
        *wal = Some(file);
    }
    match wal {
        Some(file) => file.sync_all(),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;
    use crate::{Db, Error, Options, Synchronous};

    static SCHEMA: &[&str] = &["CREATE TABLE t (id INTEGER PRIMARY KEY)"];

    async fn full(path: &Path) -> Db {
        let options = Options::new()
            .synchronous(Synchronous::Full)
            .migrations(SCHEMA);
        Db::open(path, options).await.unwrap()
    }

    /// Makes the next syncs wait for a message, and answers with it.
    fn hold_syncs(db: &Db) -> mpsc::Sender<io::Result<()>> {
        let (tx, rx) = mpsc::channel::<io::Result<()>>();
        *db.shared().durability.before_sync.lock().unwrap() =
            Some(Box::new(move || rx.recv().unwrap_or(Ok(()))));
        tx
    }

    async fn count(db: &Db) -> Result<i64, Error> {
        db.read(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
            .await
    }

    async fn committed(db: &Db, n: u64) {
        while db.stats().commits < n {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    async fn insert(db: &Db, id: i64) -> Result<usize, Error> {
        db.write(move |tx| tx.execute("INSERT INTO t (id) VALUES (?1)", [id]))
            .await
    }

    /// Starts inserting `id` and returns once its commit, the database's `nth`, is in the WAL
    /// (its sync held back by `hold_syncs`); the handle gives the caller's answer.
    async fn commit_unsynced(
        db: &Db,
        id: i64,
        nth: u64,
    ) -> tokio::task::JoinHandle<Result<usize, Error>> {
        let write = tokio::spawn({
            let db = db.clone();
            async move { insert(&db, id).await }
        });
        committed(db, nth).await;
        write
    }

    #[tokio::test]
    async fn neither_the_caller_nor_a_reader_sees_a_commit_before_its_sync() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("held.db");
        let db = full(&path).await;
        let release = hold_syncs(&db);

        let write = commit_unsynced(&db, 1, 1).await;
        // The commit is in the WAL, visible to any connection that does not wait...
        let outside = rusqlite::Connection::open(&path).unwrap();
        let seen: i64 = outside
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(seen, 1);
        // ...but its caller is not answered, and a read of this database waits for the sync.
        let read = tokio::spawn({
            let db = db.clone();
            async move { count(&db).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!write.is_finished(), "answered before the sync");
        assert!(!read.is_finished(), "a read saw a commit before its sync");

        release.send(Ok(())).unwrap();
        assert_eq!(write.await.unwrap().unwrap(), 1);
        assert_eq!(read.await.unwrap().unwrap(), 1);
        let stats = db.stats();
        assert_eq!((stats.syncs, stats.reads_waited_for_sync), (1, 1));
        // The sync was held for at least the 100 ms above, and is timed as such.
        assert!(stats.sync_max >= Duration::from_millis(100), "{stats:?}");
        assert!(stats.sync_time >= stats.sync_max, "{stats:?}");
        drop(release);
        db.close().await.unwrap();
    }

    /// Starts `n` inserts from `first` on, and returns once the writer has taken them all from
    /// the queue and had time to run them.
    async fn insert_meanwhile(
        db: &Db,
        first: i64,
        n: i64,
    ) -> Vec<tokio::task::JoinHandle<Result<usize, Error>>> {
        let writes = (first..first + n)
            .map(|id| {
                let db = db.clone();
                tokio::spawn(async move { insert(&db, id).await })
            })
            .collect();
        while db.stats().write_queue_depth > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        writes
    }

    /// A first insert committed with its sync held back, and `n` inserts started meanwhile.
    struct HeldSync {
        release: mpsc::Sender<io::Result<()>>,
        first: tokio::task::JoinHandle<Result<usize, Error>>,
        later: Vec<tokio::task::JoinHandle<Result<usize, Error>>>,
    }

    async fn writes_during_a_held_sync(db: &Db, n: i64) -> HeldSync {
        let release = hold_syncs(db);
        let first = commit_unsynced(db, 1, 1).await;
        let later = insert_meanwhile(db, 2, n).await;
        HeldSync {
            release,
            first,
            later,
        }
    }

    async fn all_answered(writes: Vec<tokio::task::JoinHandle<Result<usize, Error>>>) {
        for w in writes {
            let answer = tokio::time::timeout(Duration::from_secs(10), w).await;
            assert_eq!(answer.expect("never answered").unwrap().unwrap(), 1);
        }
    }

    #[tokio::test]
    async fn while_a_sync_runs_the_writes_that_come_share_one_commit_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = full(&dir.path().join("waiting.db")).await;
        // Each later write would be a commit of its own had the writer committed whenever its
        // queue was empty; their callers would be answered after the next sync either way.
        let HeldSync {
            release,
            first,
            later,
        } = writes_during_a_held_sync(&db, 4).await;
        assert_eq!(db.stats().commits, 1, "committed while the sync ran");

        drop(release);
        all_answered(vec![first]).await;
        all_answered(later).await;
        let stats = db.stats();
        assert_eq!((stats.commits, stats.batch_size.max), (2, 4));
        assert_eq!(count(&db).await.unwrap(), 5);
        db.close().await.unwrap();
    }

    #[tokio::test]
    async fn a_full_batch_commits_without_waiting_for_the_sync() {
        let dir = tempfile::tempdir().unwrap();
        let options = Options::new()
            .synchronous(Synchronous::Full)
            .migrations(SCHEMA)
            .max_batch(2);
        let db = Db::open(dir.path().join("full-batch.db"), options)
            .await
            .unwrap();
        let HeldSync {
            release,
            first,
            later,
        } = writes_during_a_held_sync(&db, 4).await;
        assert_eq!(db.stats().commits, 3, "two full batches of two");
        drop(release);
        all_answered(vec![first]).await;
        all_answered(later).await;
        assert_eq!(db.stats().batch_size.max, 2);
        db.close().await.unwrap();
    }

    #[tokio::test]
    async fn a_transaction_waiting_for_a_sync_that_fails_is_failed_too() {
        let dir = tempfile::tempdir().unwrap();
        let db = full(&dir.path().join("fails-while-waiting.db")).await;
        let HeldSync {
            release,
            first,
            later,
        } = writes_during_a_held_sync(&db, 1).await;
        release.send(Err(io::Error::other("disk gone"))).unwrap();
        for w in [first].into_iter().chain(later) {
            let answer = tokio::time::timeout(Duration::from_secs(10), w).await;
            let err = answer.expect("never answered").unwrap().unwrap_err();
            assert!(matches!(err, Error::Io(_)), "{err:?}");
        }
        drop(release);
        db.close().await.unwrap();
    }

    #[tokio::test]
    async fn closing_while_a_transaction_waits_for_a_sync_commits_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("closing.db");
        let db = full(&path).await;
        let HeldSync {
            release,
            first,
            later,
        } = writes_during_a_held_sync(&db, 2).await;
        let close = tokio::spawn({
            let db = db.clone();
            async move { db.close().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(release);
        all_answered(vec![first]).await;
        all_answered(later).await;
        tokio::time::timeout(Duration::from_secs(10), close)
            .await
            .expect("close never returned")
            .unwrap()
            .unwrap();
        let db = full(&path).await;
        assert_eq!(count(&db).await.unwrap(), 3);
        db.close().await.unwrap();
    }

    #[tokio::test]
    async fn a_backup_is_not_finished_before_the_commits_it_holds_are_synced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("source.db");
        let copy = dir.path().join("copy.db");
        let db = full(&path).await;
        let release = hold_syncs(&db);
        let write = commit_unsynced(&db, 1, 1).await;
        let backup = tokio::spawn({
            let (db, copy) = (db.clone(), copy.clone());
            async move { db.backup(&copy).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !backup.is_finished(),
            "a backup held a commit before its sync"
        );
        assert!(!copy.exists(), "the copy was put in place before the sync");

        release.send(Ok(())).unwrap();
        write.await.unwrap().unwrap();
        backup.await.unwrap().unwrap();
        let rows: i64 = rusqlite::Connection::open(&copy)
            .unwrap()
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1);
        drop(release);
        db.close().await.unwrap();
    }

    #[tokio::test]
    async fn a_failed_sync_fails_its_callers_and_every_later_write_until_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("failing.db");
        let db = full(&path).await;
        insert(&db, 1).await.unwrap();
        let release = hold_syncs(&db);

        let write = commit_unsynced(&db, 2, 2).await;
        release.send(Err(io::Error::other("disk gone"))).unwrap();
        let err = write.await.unwrap().unwrap_err();
        assert!(
            matches!(&err, Error::Io(e) if e.to_string().contains("disk gone")),
            "{err:?}"
        );
        // No later write is acknowledged, and a read that would see the unsynced commit fails.
        assert!(matches!(insert(&db, 3).await, Err(Error::Io(_))));
        assert!(matches!(count(&db).await, Err(Error::Io(_))));
        drop(release);
        db.close().await.unwrap();

        // Reopened, the database reads its WAL from the file again.
        let db = full(&path).await;
        insert(&db, 4).await.unwrap();
        assert_eq!(count(&db).await.unwrap(), 3);
        db.close().await.unwrap();
    }

    #[test]
    fn a_failing_flush_is_news_once_and_so_is_its_recovery() {
        let table = [
            // (the flush before failed, this one succeeded) => news
            ((false, true), FlushNews::Nothing),
            ((false, false), FlushNews::Failed),
            ((true, false), FlushNews::Nothing),
            ((true, true), FlushNews::Recovered),
        ];
        for ((was_failing, ok), news) in table {
            assert_eq!(flush_news(was_failing, ok), news, "{was_failing} {ok}");
        }
    }

    static BLOBS: &[&str] = &["CREATE TABLE f (id INTEGER PRIMARY KEY, body BLOB NOT NULL)"];

    /// A NORMAL database whose WAL bound is 1 MiB: a flush is asked for every 16th of it.
    async fn normal(path: &Path) -> Db {
        let options = Options::new()
            .synchronous(Synchronous::Normal)
            .wal_size_limit(1024 * 1024)
            .migrations(BLOBS);
        Db::open(path, options).await.unwrap()
    }

    /// Waits up to 10 s for `done` to hold; returns whether it did.
    async fn eventually(done: impl Fn() -> bool) -> bool {
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while !done() && std::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        done()
    }

    /// Writes rows `ids` of 2 KiB, one transaction each: at least one WAL frame each.
    async fn grow_wal(db: &Db, ids: std::ops::Range<i64>) {
        for id in ids {
            db.write(move |tx| {
                tx.execute("INSERT INTO f (id, body) VALUES (?1, zeroblob(2048))", [id])
            })
            .await
            .unwrap();
        }
    }

    #[tokio::test]
    async fn with_normal_the_wal_is_flushed_in_the_background_as_it_grows() {
        let dir = tempfile::tempdir().unwrap();
        let db = normal(&dir.path().join("flushed.db")).await;
        // 200 frames or more, a sixteenth of the bound is about 16: several flushes are due.
        grow_wal(&db, 0..200).await;
        eventually(|| db.stats().syncs > 0).await;
        let stats = db.stats();
        assert!(
            stats.syncs >= 1,
            "no background flush of the WAL: {stats:?}"
        );
        assert!(stats.sync_time > Duration::ZERO, "{stats:?}");
        db.close().await.unwrap();
    }

    #[tokio::test]
    async fn with_normal_a_failed_background_flush_stops_no_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flush-fails.db");
        let db = normal(&path).await;
        let attempts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        *db.shared().durability.before_sync.lock().unwrap() = Some(Box::new({
            let attempts = Arc::clone(&attempts);
            move || {
                attempts.fetch_add(1, Ordering::SeqCst);
                Err(io::Error::other("disk gone"))
            }
        }));
        grow_wal(&db, 0..200).await;
        assert!(
            eventually(|| attempts.load(Ordering::SeqCst) > 0).await,
            "no flush was tried"
        );
        // NORMAL promises nothing a flush would keep: writes and reads go on, none is failed.
        grow_wal(&db, 200..220).await;
        let rows: i64 = db
            .read(|c| c.query_row("SELECT count(*) FROM f", [], |r| r.get(0)))
            .await
            .unwrap();
        assert_eq!(rows, 220);
        let stats = db.stats();
        assert_eq!(stats.syncs, 0, "a failed flush is not counted: {stats:?}");
        db.close().await.unwrap();
    }
}
