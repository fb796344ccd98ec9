//! The one error type of the engine.
//!
//! [`Error`] separates what the engine itself reports (closed, overloaded, busy past the
//! deadline, a failed `BEGIN` or `COMMIT`) from what the caller's closure returned
//! ([`Error::Job`]). The type parameter `E` is the closure's own error type, so a closure can
//! return a domain error and get it back unchanged.

use std::sync::Arc;
use std::time::Duration;

/// Everything that can go wrong with a [`Db`](crate::Db) call.
///
/// `E` is the error type of the caller's closure; it defaults to [`rusqlite::Error`], which is
/// what most closures return.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error<E = rusqlite::Error> {
    /// The closure returned an error. Its changes were rolled back; nothing else was.
    #[error("{0}")]
    Job(E),

    /// The closure panicked. Its changes were rolled back and the worker thread kept serving.
    #[error("the job panicked: {0}")]
    Panicked(String),

    /// [`Db::close`](crate::Db::close) was called (or every handle dropped) before the job ran.
    /// The job did not run.
    #[error("the database is closed")]
    Closed,

    /// The job could not start within its deadline (see
    /// [`Options::deadline`](crate::Options::deadline) and
    /// [`Db::with_deadline`](crate::Db::with_deadline)). The job did not run.
    #[error("overloaded: the job could not start within its deadline of {deadline:?}")]
    Overloaded {
        /// The deadline that passed.
        deadline: Duration,
    },

    /// Another connection, usually another process, held the write lock for longer than the
    /// busy timeout. The job did not run.
    #[error(
        "the database is locked by another connection: gave up after {waited:?} (the busy timeout)"
    )]
    Busy {
        /// How long the writer waited for the lock.
        waited: Duration,
    },

    /// SQLite rolled the whole transaction back because of an error in another job of the same
    /// group commit (disk full, I/O error). This job's closure had succeeded, but its changes
    /// were not committed.
    #[error(
        "the shared transaction was rolled back by SQLite after an error in another job; this change was not committed"
    )]
    RolledBack,

    /// A statement the engine runs itself (opening, pragmas, `BEGIN`, `COMMIT`, backup)
    /// failed. For a write, the job's changes were not committed.
    #[error("SQLite error: {0}")]
    Sqlite(#[source] Arc<rusqlite::Error>),

    /// The database file's schema is newer than the migrations this program embeds: it was
    /// written by a newer version of the program, which may rely on things this version does
    /// not know about.
    #[error(
        "the database schema is at version {found}, newer than this program's {known} migrations; run a newer version of the program"
    )]
    SchemaTooNew {
        /// The `user_version` found in the file.
        found: i64,
        /// How many migrations this program knows.
        known: usize,
    },

    /// A migration failed; it and every migration after it were rolled back.
    #[error("migration {version} failed: {source}")]
    Migration {
        /// The 1-based number of the migration that failed.
        version: usize,
        /// The SQLite error it raised.
        #[source]
        source: rusqlite::Error,
    },

    /// The file cannot serve as a onewriter database, for a reason the message gives (for
    /// example, WAL mode is not available for an in-memory database).
    #[error("unsupported database: {0}")]
    Unsupported(String),

    /// A file system operation of the engine failed: creating a backup file or renaming it,
    /// or, with [`Synchronous::Full`](crate::Synchronous::Full), syncing the WAL after a
    /// commit. In that last case the write was committed but may not survive a power cut, and
    /// every later write, and every read that would see such a commit, fails the same way
    /// until the database is closed and opened again.
    #[error("I/O error: {0}")]
    Io(#[source] Arc<std::io::Error>),
}

impl<E> Error<E> {
    /// Whether this error means the job never ran (so retrying it cannot apply it twice).
    pub fn job_did_not_run(&self) -> bool {
        matches!(
            self,
            Error::Closed | Error::Overloaded { .. } | Error::Busy { .. }
        )
    }
}

impl<E> From<rusqlite::Error> for Error<E> {
    fn from(e: rusqlite::Error) -> Self {
        Error::Sqlite(Arc::new(e))
    }
}

impl<E> From<std::io::Error> for Error<E> {
    fn from(e: std::io::Error) -> Self {
        Error::Io(Arc::new(e))
    }
}

/// An engine failure that may have to be told to every job of a batch, so it is `Clone`.
#[derive(Debug, Clone)]
pub(crate) enum Fail {
    Overloaded { deadline: Duration },
    Busy { waited: Duration },
    RolledBack,
    Sqlite(Arc<rusqlite::Error>),
    Io(Arc<std::io::Error>),
}

impl Fail {
    pub(crate) fn sqlite(e: rusqlite::Error) -> Self {
        Fail::Sqlite(Arc::new(e))
    }
}

impl<E> From<Fail> for Error<E> {
    fn from(f: Fail) -> Self {
        match f {
            Fail::Overloaded { deadline } => Error::Overloaded { deadline },
            Fail::Busy { waited } => Error::Busy { waited },
            Fail::RolledBack => Error::RolledBack,
            Fail::Sqlite(e) => Error::Sqlite(e),
            Fail::Io(e) => Error::Io(e),
        }
    }
}

/// Whether SQLite said another connection holds a lock we need.
pub(crate) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}
