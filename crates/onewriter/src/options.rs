//! How a [`Db`](crate::Db) is opened: the options builder.
//!
//! ```
//! use std::time::Duration;
//! use onewriter::{Options, Synchronous};
//!
//! let options = Options::new()
//!     .synchronous(Synchronous::Full)
//!     .readers(4)
//!     .max_batch(64)
//!     .busy_timeout(Duration::from_secs(2))
//!     .migrations(&["CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"]);
//! # let _ = options;
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;

/// SQLite's `synchronous` setting for the writer: what an acknowledged write survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// In WAL mode, a committed transaction survives a crash of the process, but the last
    /// transactions before a power cut or OS crash may roll back. The database is never
    /// corrupted. The default: fastest, and right for most servers.
    #[default]
    Normal,
    /// The WAL is synced on every commit: a committed transaction survives a power cut.
    /// Group commit makes this affordable: one sync serves a whole batch.
    ///
    /// The writer does not wait for the sync: it commits, a sync thread syncs the WAL and
    /// then answers the batch's callers, and the writer runs the next batch meanwhile (one
    /// sync covers every commit written before it). Before its COMMIT a transaction takes in
    /// the writes queued while it ran, and while a sync is in flight it stays open and takes in
    /// those that arrive until that sync ends (up to `max_batch`): one COMMIT for them all,
    /// whose callers would have waited for the next sync anyway. A read of this database
    /// whose snapshot may hold a commit not yet synced is answered after that sync, so no read
    /// shows a change a power cut could take back; another process reading the file may see a
    /// commit up to one sync early. If a sync fails, writes, and reads that would see an
    /// unsynced commit, fail with [`Error::Io`](crate::Error::Io) until the database is
    /// reopened.
    Full,
}

impl Synchronous {
    pub(crate) fn pragma_value(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

/// Which connection a hook is being run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Role {
    /// The one read-write connection that runs every `write` job.
    Writer,
    /// One of the read-only connections that run `read` jobs.
    Reader,
    /// The connection that runs WAL checkpoints.
    Checkpointer,
    /// A short-lived read-only connection used by [`Db::backup`](crate::Db::backup).
    Backup,
}

type ConnectHook = dyn Fn(&Connection, Role) -> rusqlite::Result<()> + Send + Sync;

/// Options for [`Db::open`](crate::Db::open). Every setting has a default that suits a server on
/// a laptop or a small machine.
#[derive(Clone)]
pub struct Options {
    pub(crate) readers: usize,
    pub(crate) max_batch: usize,
    pub(crate) write_queue: usize,
    pub(crate) read_queue: usize,
    pub(crate) synchronous: Synchronous,
    pub(crate) busy_timeout: Duration,
    pub(crate) deadline: Option<Duration>,
    pub(crate) wal_size_limit: u64,
    pub(crate) idle_checkpoint_interval: Duration,
    pub(crate) migrations: &'static [&'static str],
    pub(crate) on_connect: Option<Arc<ConnectHook>>,
}

impl Default for Options {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Options {
            readers: cores.max(2),
            max_batch: 128,
            write_queue: 1024,
            read_queue: 1024,
            synchronous: Synchronous::Normal,
            busy_timeout: Duration::from_secs(5),
            deadline: None,
            wal_size_limit: 16 * 1024 * 1024,
            idle_checkpoint_interval: Duration::from_millis(100),
            migrations: &[],
            on_connect: None,
        }
    }
}

impl Options {
    /// The defaults: as many readers as cores (at least 2), group commit of up to 128 jobs,
    /// queues of 1024 jobs, `synchronous=NORMAL`, a 5 s busy timeout, no deadline, and a
    /// 16 MiB WAL bound.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of reader threads, each with its own read-only connection (at least 1).
    pub fn readers(mut self, n: usize) -> Self {
        self.readers = n.max(1);
        self
    }

    /// Most write jobs committed together in one transaction (group commit); default 128. `1`
    /// turns group commit off: every job gets its own `BEGIN IMMEDIATE … COMMIT`.
    ///
    /// A batch only fills when that many writes are queued, so under light load the limit
    /// changes nothing. Under saturation a larger batch spreads the fixed cost of a
    /// transaction (its locks, the COMMIT's WAL frames and index update) over more jobs: with
    /// 256 callers of a small read-modify-write, 128 carried 0.88-0.96× of what a plain loop
    /// committing every 100 does, where 64 carried 0.72-0.81× (the lab's reports, in
    /// `docs/lab`). What it costs: the write lock is held longer per transaction (another
    /// process's writer waits that much longer), and when a job fails in a batch run without
    /// savepoints, more jobs run again.
    pub fn max_batch(mut self, n: usize) -> Self {
        self.max_batch = n.max(1);
        self
    }

    /// Capacity of the write queue. When it is full, `write` waits for room (or fails with
    /// [`Error::Overloaded`](crate::Error::Overloaded) if a deadline is set).
    pub fn write_queue(mut self, n: usize) -> Self {
        self.write_queue = n.max(1);
        self
    }

    /// Capacity of the read queue, shared by every reader thread.
    pub fn read_queue(mut self, n: usize) -> Self {
        self.read_queue = n.max(1);
        self
    }

    /// What an acknowledged write survives; see [`Synchronous`].
    pub fn synchronous(mut self, s: Synchronous) -> Self {
        self.synchronous = s;
        self
    }

    /// How long the writer waits for the write lock when another process holds it, before the
    /// jobs waiting for it fail with [`Error::Busy`](crate::Error::Busy). Readers wait as long
    /// for the rare locks a reader needs.
    pub fn busy_timeout(mut self, d: Duration) -> Self {
        self.busy_timeout = d;
        self
    }

    /// The default deadline of every call: a job that has not started running within it fails
    /// with [`Error::Overloaded`](crate::Error::Overloaded) and never runs. `None` (the default)
    /// waits as long as it takes. [`Db::with_deadline`](crate::Db::with_deadline) overrides it
    /// per handle.
    pub fn deadline(mut self, d: Option<Duration>) -> Self {
        self.deadline = d;
        self
    }

    /// The bound on the WAL file. Past a quarter of it the checkpointer copies frames back in
    /// the background; at the bound the writer pauses between two transactions so the WAL can
    /// start over (truncating it, after waiting for in-flight reads, if readers kept it from
    /// starting over), so it stays bounded even when reads never stop. The writer waits at
    /// most 20 ms for that while the WAL is under twice the bound, and lets a slower
    /// checkpoint finish in the background; past twice the bound it waits until it is done.
    /// With [`Synchronous::Normal`] the WAL is also flushed in the background each time it
    /// grows by a sixteenth of the bound, so that the checkpoint the writer waits for has
    /// little left to sync.
    pub fn wal_size_limit(mut self, bytes: u64) -> Self {
        self.wal_size_limit = bytes.max(64 * 1024);
        self
    }

    /// Minimum time between two checkpoints started because the writer went idle.
    pub fn idle_checkpoint_interval(mut self, d: Duration) -> Self {
        self.idle_checkpoint_interval = d;
        self
    }

    /// The schema migrations, in order. On open, the writer applies those the file has not seen
    /// yet (tracked in `PRAGMA user_version`) in one transaction. A migration must not contain
    /// `BEGIN`, `COMMIT` or `ROLLBACK`: the engine owns the transaction. With no migrations
    /// (the default) the engine leaves the schema and `user_version` alone.
    pub fn migrations(mut self, migrations: &'static [&'static str]) -> Self {
        self.migrations = migrations;
        self
    }

    /// A hook run on every connection right after the engine's own pragmas: your own pragmas
    /// (`cache_size`, `mmap_size`), functions, collations. Do not change `journal_mode`,
    /// `query_only`, `wal_autocheckpoint` or the authorizer: the engine relies on them.
    pub fn on_connect<F>(mut self, hook: F) -> Self
    where
        F: Fn(&Connection, Role) -> rusqlite::Result<()> + Send + Sync + 'static,
    {
        self.on_connect = Some(Arc::new(hook));
        self
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("readers", &self.readers)
            .field("max_batch", &self.max_batch)
            .field("write_queue", &self.write_queue)
            .field("read_queue", &self.read_queue)
            .field("synchronous", &self.synchronous)
            .field("busy_timeout", &self.busy_timeout)
            .field("deadline", &self.deadline)
            .field("wal_size_limit", &self.wal_size_limit)
            .field("idle_checkpoint_interval", &self.idle_checkpoint_interval)
            .field("migrations", &self.migrations.len())
            .field("on_connect", &self.on_connect.is_some())
            .finish()
    }
}
