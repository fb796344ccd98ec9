//! The handle: [`Db`] and its verbs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::checkpoint::Checkpointer;
use crate::connection::{self, TxnGuard};
use crate::error::Error;
use crate::job::{self, Envelope, Job, Msg};
use crate::options::{Options, Role, Synchronous};
use crate::reader::Reader;
use crate::stats::{self, Counters, Recorder, Stats};
use crate::syncer::Syncer;
use crate::writer::Writer;

/// State shared by the handle and the worker threads.
pub(crate) struct Shared {
    pub(crate) counters: Counters,
    pub(crate) writer: Recorder,
    pub(crate) readers: Vec<Recorder>,
    pub(crate) durability: crate::syncer::Durability,
}

struct Inner {
    path: PathBuf,
    options: Options,
    write_tx: flume::Sender<Msg>,
    read_tx: flume::Sender<Msg>,
    shared: Arc<Shared>,
    closed: AtomicBool,
    /// Calls between their `closed` check and the end of their send. `close()` waits for this
    /// to reach zero before it queues the shutdown, so no job lands behind the shutdown and
    /// waits forever.
    submitting: AtomicUsize,
    /// Taken by the first `close()`.
    threads: tokio::sync::Mutex<Option<Threads>>,
}

struct Threads {
    readers: Vec<JoinHandle<()>>,
    writer: JoinHandle<()>,
}

/// A SQLite database served by one writer thread and a pool of reader threads.
///
/// `Db` is a cheap handle: clone it freely and share it between tasks. The threads stop when
/// [`close`](Db::close) is called, or when the last handle is dropped (after finishing the jobs
/// already queued).
///
/// # What an `Ok` from [`write`](Db::write) promises
///
/// The closure's changes are committed: every later [`read`](Db::read) sees them, and they
/// survive a crash of the process. With [`Synchronous::Full`](crate::Synchronous::Full) they
/// also survive a power cut; with the default `Normal`, the last commits before a power cut may
/// roll back (the database stays consistent).
///
/// # Cancellation
///
/// Dropping the future of `read` or `write` before its job started means the job never runs.
/// Once it started, it runs to its end: committed or rolled back as a whole, never half.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
    deadline: Option<Duration>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.inner.path)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl Db {
    /// Opens (or creates) the database file at `path`, applies pending migrations and starts
    /// the writer, checkpointer and reader threads.
    ///
    /// The writer connection opens first: it switches the file to WAL mode and creates the
    /// `-wal` and `-shm` files that the read-only connections need.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), onewriter::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// use onewriter::{Db, Options};
    ///
    /// static MIGRATIONS: &[&str] = &["CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)"];
    /// let db = Db::open(dir.path().join("app.db"), Options::new().migrations(MIGRATIONS)).await?;
    /// # db.close().await }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] if a connection cannot be opened or a pragma fails (a missing
    /// directory, no permission, not a database file); [`Error::Unsupported`] if the file cannot
    /// use WAL mode; [`Error::SchemaTooNew`] if the file was migrated by a newer program;
    /// [`Error::Migration`] if a migration fails (none is applied then); [`Error::Busy`] if
    /// another process held the write lock past the busy timeout while migrations waited.
    pub async fn open(path: impl AsRef<Path>, options: Options) -> Result<Db, Error> {
        let path = path.as_ref().to_path_buf();
        let shared = Arc::new(Shared {
            counters: Counters::default(),
            writer: Recorder::new(),
            readers: (0..options.readers).map(|_| Recorder::new()).collect(),
            durability: crate::syncer::Durability::new(options.synchronous == Synchronous::Full),
        });
        let (write_tx, write_rx) = flume::bounded(options.write_queue);
        let (read_tx, read_rx) = flume::bounded(options.read_queue);

        let writer = {
            let (path, options, shared) = (path.clone(), options.clone(), Arc::clone(&shared));
            spawn_worker("onewriter-writer".into(), move || {
                start_writer(&path, &options, shared, write_rx)
            })
            .await?
        };

        let mut readers = Vec::with_capacity(options.readers);
        for index in 0..options.readers {
            let (path, options, shared) = (path.clone(), options.clone(), Arc::clone(&shared));
            let rx = read_rx.clone();
            let name = format!("onewriter-reader-{}", index + 1);
            // On failure the handles built so far are dropped, which stops their threads.
            readers.push(
                spawn_worker(name, move || {
                    let conn = connection::open(&path, Role::Reader, &options)?;
                    let guard = TxnGuard::install(&conn);
                    Ok(Reader {
                        conn,
                        guard,
                        rx,
                        shared,
                        index,
                    })
                })
                .await?,
            );
        }

        Ok(Db {
            deadline: options.deadline,
            inner: Arc::new(Inner {
                path,
                options,
                write_tx,
                read_tx,
                shared,
                closed: AtomicBool::new(false),
                submitting: AtomicUsize::new(0),
                threads: tokio::sync::Mutex::new(Some(Threads { readers, writer })),
            }),
        })
    }

    /// What an acknowledged write survives: the setting this database was opened with.
    pub fn synchronous(&self) -> Synchronous {
        self.inner.options.synchronous
    }

    #[cfg(test)]
    pub(crate) fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// A handle on the same database whose calls fail with [`Error::Overloaded`] when their job
    /// has not started within `deadline` (waiting for room in the queue included).
    ///
    /// ```
    /// # async fn f(db: onewriter::Db) {
    /// use std::time::Duration;
    /// let impatient = db.with_deadline(Duration::from_millis(250));
    /// let n = impatient.read(|c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))).await;
    /// # }
    /// ```
    pub fn with_deadline(&self, deadline: Duration) -> Db {
        Db {
            inner: Arc::clone(&self.inner),
            deadline: Some(deadline),
        }
    }

    /// Runs `f` on a reader thread, inside one read transaction: every statement in `f` sees
    /// the same snapshot, which includes every write acknowledged before `read` was called.
    ///
    /// The connection is read-only: a statement that writes fails with `SQLITE_READONLY`
    /// ("attempt to write a readonly database"), and transaction control (`BEGIN`, `COMMIT`)
    /// fails with `SQLITE_AUTH` ("not authorized").
    ///
    /// ```
    /// # async fn f(db: onewriter::Db) -> Result<(), onewriter::Error> {
    /// let total: i64 = db
    ///     .read(|conn| conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Job`] with the closure's error; [`Error::Panicked`] if it panicked;
    /// [`Error::Closed`] after [`close`](Db::close); [`Error::Overloaded`] if a deadline is set
    /// and the job did not start in time.
    pub async fn read<F, T, E>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let (job, rx) = job::once(f, self.envelope());
        self.submit(&self.inner.read_tx, job).await?;
        rx.await
            .map_or(Err(Error::Closed), |(result, _spent)| result)
    }

    /// Runs `f` on the writer thread inside `BEGIN IMMEDIATE … COMMIT` and returns its value
    /// once the transaction has committed.
    ///
    /// If `f` returns an error or panics, its changes are rolled back, and only its own. When
    /// several jobs are queued, up to [`max_batch`](crate::Options::max_batch) of them share
    /// one transaction (group commit); each caller is answered only after the COMMIT that
    /// holds its change returned and, with [`Synchronous::Full`], after the WAL was synced
    /// behind it. The closure cannot end the transaction itself: `BEGIN`,
    /// `COMMIT` and `ROLLBACK` fail with `SQLITE_AUTH` ("not authorized").
    ///
    /// # `f` may run more than once
    ///
    /// The writer runs a batch's closures back to back, with no savepoint between them. If
    /// one fails, it rolls the whole batch back and runs it again, each closure in a savepoint
    /// of its own this time, so that the failure undoes only its own changes (and keeps doing
    /// so while failures keep coming). That is why `f` is `Fn`: it must be able to run again,
    /// and each run must stand on its own. Everything it does through the connection is rolled
    /// back with the batch; what it does elsewhere (a message sent, a counter bumped) is not,
    /// so keep such effects out of `f`, after the `await`. The value returned is that of the
    /// run that committed (or, for a failing `f`, of its last run). Move values into `f` and
    /// use them by reference; clone one inside `f` when a call needs it owned.
    ///
    /// ```
    /// # async fn f(db: onewriter::Db) -> Result<(), onewriter::Error> {
    /// let id = db
    ///     .write(|tx| {
    ///         tx.execute("INSERT INTO kv (k, v) VALUES (?1, ?2)", ("greeting", "hello"))?;
    ///         Ok(tx.last_insert_rowid())
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Job`] with the closure's error (rolled back); [`Error::Panicked`] (rolled back);
    /// [`Error::Busy`] if another process held the write lock past the busy timeout (not run);
    /// [`Error::Sqlite`] if `COMMIT` failed (not committed); [`Error::RolledBack`] if SQLite
    /// rolled the shared transaction back after another job's fatal error (not committed);
    /// [`Error::Closed`] and [`Error::Overloaded`] (not run).
    pub async fn write<F, T, E>(&self, f: F) -> Result<T, Error<E>>
    where
        F: Fn(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let (job, rx) = job::repeatable(f, self.envelope());
        self.submit(&self.inner.write_tx, job).await?;
        rx.await
            .map_or(Err(Error::Closed), |(result, _spent)| result)
    }

    /// Writes a consistent copy of the database to `dest` while reads and writes go on, with
    /// SQLite's online backup API. The copy holds every write acknowledged before `backup` was
    /// called. It is written to a temporary file beside `dest`, synced, then renamed over
    /// `dest`, so `dest` is never half-written.
    ///
    /// ```
    /// # async fn f(db: onewriter::Db) -> Result<(), onewriter::Error> {
    /// db.backup("nightly.db").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if `dest` cannot be written (missing directory, no permission, disk
    /// full); [`Error::Unsupported`] if `dest` is the database itself; [`Error::Busy`] if the
    /// copy could not get a read lock within the busy timeout; [`Error::Closed`] after
    /// [`close`](Db::close).
    pub async fn backup(&self, dest: impl AsRef<Path>) -> Result<(), Error> {
        if self.inner.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed);
        }
        let inner = Arc::clone(&self.inner);
        let dest = dest.as_ref().to_path_buf();
        tokio::task::spawn_blocking(move || {
            crate::backup::run(&inner.path, &dest, &inner.options, &inner.shared.durability)
        })
        .await
        .map_err(|e| Error::Panicked(e.to_string()))?
    }

    /// Statistics since the database was opened: queue depths, counters and percentiles.
    /// Cheap: it merges a few small histograms and reads some counters.
    ///
    /// ```
    /// # fn f(db: onewriter::Db) {
    /// let s = db.stats();
    /// println!("{} commits, batch p50 {}, write wait p99 {:?}", s.commits, s.batch_size.p50, s.write_wait.p99);
    /// # }
    /// ```
    pub fn stats(&self) -> Stats {
        let shared = &self.inner.shared;
        let c = &shared.counters;
        let writer = stats::merge([&shared.writer]);
        let readers = stats::merge(shared.readers.iter());
        Stats {
            write_queue_depth: self.inner.write_tx.len(),
            read_queue_depth: self.inner.read_tx.len(),
            writes: stats::load(&c.writes),
            write_errors: stats::load(&c.write_errors),
            reads: stats::load(&c.reads),
            read_errors: stats::load(&c.read_errors),
            cancelled: stats::load(&c.cancelled),
            overloaded: stats::load(&c.overloaded),
            commits: stats::load(&c.commits),
            batches_run_again: stats::load(&c.batches_run_again),
            busy_waits: stats::load(&c.busy_waits),
            busy_timeouts: stats::load(&c.busy_timeouts),
            checkpoints: stats::load(&c.checkpoints),
            handovers: stats::load(&c.handovers),
            handover_time: Duration::from_micros(stats::load(&c.handover_micros)),
            handover_max: Duration::from_micros(stats::load(&c.handover_max_micros)),
            handovers_cut_short: stats::load(&c.handovers_cut_short),
            handovers_incomplete: stats::load(&c.handovers_incomplete),
            syncs: stats::load(&c.syncs),
            sync_time: Duration::from_micros(stats::load(&c.sync_micros)),
            sync_max: Duration::from_micros(stats::load(&c.sync_max_micros)),
            reads_waited_for_sync: stats::load(&c.reads_waited_for_sync),
            batch_size: stats::counts(&writer.batch),
            write_wait: stats::durations(&writer.wait),
            write_run: stats::durations(&writer.run),
            read_wait: stats::durations(&readers.wait),
            read_run: stats::durations(&readers.run),
        }
    }

    /// Stops accepting calls, runs every job already queued, checkpoints the WAL into the
    /// database file (`TRUNCATE`), and closes every connection. Calls made afterwards fail with
    /// [`Error::Closed`]. Calling it again is harmless.
    ///
    /// ```
    /// # async fn f(db: onewriter::Db) -> Result<(), onewriter::Error> {
    /// db.close().await?;
    /// assert!(matches!(db.write(|tx| tx.execute_batch("SELECT 1")).await, Err(onewriter::Error::Closed)));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Panicked`] if a worker thread had died of a panic (which the engine itself
    /// never causes: closures' panics are caught).
    pub async fn close(&self) -> Result<(), Error> {
        let mut threads = self.inner.threads.lock().await;
        let Some(Threads { readers, writer }) = threads.take() else {
            return Ok(());
        };
        self.inner.closed.store(true, Ordering::SeqCst);
        while self.inner.submitting.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Readers first, so that the writer's final checkpoint finds no reader in the WAL.
        for _ in 0..readers.len() {
            let _ = self.inner.read_tx.send_async(Msg::Shutdown).await;
        }
        let _ = self.inner.write_tx.send_async(Msg::Shutdown).await;
        tokio::task::spawn_blocking(move || {
            let mut panicked = false;
            for t in readers.into_iter().chain([writer]) {
                panicked |= t.join().is_err();
            }
            if panicked {
                Err(Error::Panicked("a onewriter worker thread panicked".into()))
            } else {
                Ok(())
            }
        })
        .await
        .map_err(|e| Error::Panicked(e.to_string()))?
    }

    fn envelope(&self) -> Envelope {
        let enqueued = Instant::now();
        Envelope {
            enqueued,
            deadline: self.deadline.map(|d| (enqueued + d, d)),
        }
    }

    async fn submit<E>(&self, tx: &flume::Sender<Msg>, job: Box<dyn Job>) -> Result<(), Error<E>> {
        let inner = &self.inner;
        inner.submitting.fetch_add(1, Ordering::SeqCst);
        let _done = Submitting(&inner.submitting);
        if inner.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed);
        }
        let msg = match tx.try_send(Msg::Job(job)) {
            Ok(()) => return Ok(()),
            Err(flume::TrySendError::Disconnected(_)) => return Err(Error::Closed),
            Err(flume::TrySendError::Full(msg)) => msg,
        };
        // The queue is full: wait for room, at most until the deadline. Dropping this future
        // drops the job unsent.
        let deadline = self.deadline.map(|d| (Instant::now() + d, d));
        let send = tx.send_async(msg);
        let sent = match deadline {
            None => send.await,
            Some((at, deadline)) => {
                match tokio::time::timeout_at(tokio::time::Instant::from_std(at), send).await {
                    Ok(sent) => sent,
                    Err(_) => {
                        Counters::add(&inner.shared.counters.overloaded, 1);
                        return Err(Error::Overloaded { deadline });
                    }
                }
            }
        };
        sent.map_err(|_| Error::Closed)
    }
}

/// Decrements the in-flight submission count even if the submitting future is dropped.
struct Submitting<'a>(&'a AtomicUsize);

impl Drop for Submitting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Something that runs on a worker thread of its own once it is set up.
trait Worker: Send + 'static {
    fn run(self);
}

impl Worker for Writer {
    fn run(self) {
        Writer::run(self)
    }
}

impl Worker for Reader {
    fn run(self) {
        Reader::run(self)
    }
}

/// Starts a named thread that sets up its worker (opening its connection on that thread) and
/// then runs it; returns once the setup succeeded or failed.
async fn spawn_worker<W: Worker>(
    name: String,
    setup: impl FnOnce() -> Result<W, Error> + Send + 'static,
) -> Result<JoinHandle<()>, Error> {
    let (ready_tx, ready_rx) = oneshot::channel();
    let handle = std::thread::Builder::new()
        .name(name)
        .spawn(move || match setup() {
            Ok(worker) => {
                let _ = ready_tx.send(Ok(()));
                worker.run();
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e));
            }
        })?;
    ready_rx.await.unwrap_or_else(|_| {
        Err(Error::Panicked(
            "a onewriter worker thread panicked while opening".into(),
        ))
    })?;
    Ok(handle)
}

fn start_writer(
    path: &Path,
    options: &Options,
    shared: Arc<Shared>,
    rx: flume::Receiver<Msg>,
) -> Result<Writer, Error> {
    let conn = connection::open(path, Role::Writer, options)?;
    let guard = TxnGuard::install(&conn);
    crate::migrate::migrate(
        &conn,
        &guard,
        options.migrations,
        options.busy_timeout,
        &shared.counters,
    )?;
    Writer::install_wal_hook(&conn);
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    // Each WAL frame is a page plus a 24-byte frame header.
    let frame = u64::try_from(page_size).unwrap_or(4096) + 24;
    let wal_limit_frames = i32::try_from(options.wal_size_limit / frame).unwrap_or(i32::MAX);
    let checkpointer = Checkpointer::start(path, options, Arc::clone(&shared))?;
    // Migrations committed with the caller's setting; from here on, with FULL, the syncer
    // thread syncs each commit while the writer runs the next batch; with NORMAL it flushes the
    // WAL in the background as it grows (see the `syncer` module).
    if shared.durability.pipelined() {
        conn.pragma_update(None, "synchronous", Synchronous::Normal.pragma_value())?;
    }
    let db_file = conn
        .path()
        .map_or_else(|| path.to_path_buf(), PathBuf::from);
    let mut wal = db_file.into_os_string();
    wal.push("-wal");
    let syncer = Some(Syncer::start(PathBuf::from(wal), Arc::clone(&shared))?);
    Ok(Writer {
        conn,
        guard,
        rx,
        shared,
        max_batch: options.max_batch,
        busy_timeout: options.busy_timeout,
        checkpointer,
        syncer,
        wal_limit_frames,
        isolation: std::cell::Cell::new(crate::writer::Isolation::Optimistic),
        stopping: std::cell::Cell::new(false),
    })
}
