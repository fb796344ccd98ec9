//! SQLite for async Rust servers: **one writer thread, a pool of reader threads, and
//! transactions that are closures.**
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), onewriter::Error> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("bank.db");
//! use onewriter::{Db, Options};
//!
//! static MIGRATIONS: &[&str] =
//!     &["CREATE TABLE account (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)"];
//!
//! let db = Db::open(&path, Options::new().migrations(MIGRATIONS)).await?;
//!
//! // A write is a closure: it runs whole on the writer thread, inside BEGIN IMMEDIATE … COMMIT.
//! db.write(|tx| tx.execute("INSERT INTO account (id, balance) VALUES (1, 100)", [])).await?;
//!
//! // A read runs on a reader thread inside one read transaction: one consistent snapshot.
//! let balance: i64 = db
//!     .read(|conn| conn.query_row("SELECT balance FROM account WHERE id = 1", [], |r| r.get(0)))
//!     .await?;
//! assert_eq!(balance, 100);
//!
//! db.close().await?;
//! # Ok(()) }
//! ```
//!
//! # Why one writer
//!
//! SQLite allows many readers but one writer at a time. Servers that treat it like PostgreSQL
//! meet three failures, in this order, and each is impossible by construction here:
//!
//! 1. **"database is busy" under parallel writers.** A pool of many connections lets several
//!    tasks try to write at once; all but one find the file locked. Here, exactly one
//!    connection writes: in-process writers queue for it instead of fighting over the lock, and
//!    no write of this process fails with `SQLITE_BUSY`.
//! 2. **Retry storms and latency spikes.** Raising the busy timeout and retrying whole
//!    transactions makes tasks hold open transactions while they sleep or wait on the network.
//!    Here a transaction is a synchronous closure: it cannot `.await`, so it never stays open
//!    while a task waits; the queue is bounded and a deadline turns overload into a clear
//!    [`Error::Overloaded`] instead of unbounded latency. Only `BEGIN IMMEDIATE` is ever
//!    retried, and only when another process holds the lock, because nothing has run yet.
//! 3. **"cannot start a transaction within a transaction".** Sending `BEGIN IMMEDIATE`,
//!    queries and `COMMIT` through a pool as separate calls lets them land on different
//!    connections. Here the closure receives the one connection the transaction runs on, on
//!    the thread that owns it; it cannot hop. The engine owns `BEGIN`/`COMMIT`: a closure that
//!    tries to end the transaction is refused by SQLite's authorizer.
//!
//! Deferred transactions that upgrade to a write lock (and deadlock) cannot happen either:
//! every write transaction is `BEGIN IMMEDIATE`.
//!
//! # Group commit
//!
//! When several writes are queued, the writer runs up to
//! [`max_batch`](Options::max_batch) of them in one transaction, back to back. A job that
//! fails is rolled back alone; the others commit: the batch runs again with each job in a
//! `SAVEPOINT` of its own, which is why a write's closure is `Fn` (see [`Db::write`]).
//! Every caller is answered after the shared `COMMIT` returned (and was synced), so one sync
//! serves the batch: this is what makes `synchronous=FULL` affordable. If the `COMMIT` itself fails, no caller of
//! the batch is told its write succeeded.
//!
//! With [`Synchronous::Full`], the sync does not stop the writer either: a thread of its own
//! syncs the WAL after each commit and then answers the callers, while the writer runs the next
//! batch. A caller is answered, and a read of this `Db` that may have seen a commit is
//! answered, only once that commit is synced (see [`Synchronous::Full`]).
//!
//! # Housekeeping
//!
//! WAL checkpoints run on a connection and thread of their own, never inside a caller's
//! `COMMIT`: in the background when the writer goes idle or the WAL grows, and, when it reaches
//! [`wal_size_limit`](Options::wal_size_limit), in a handover between two transactions that lets
//! the WAL start over, so it stays bounded even when reads never stop. [`Db::close`] finishes
//! queued jobs and truncates the WAL.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod backup;
mod busy;
mod checkpoint;
mod connection;
mod db;
mod error;
mod job;
mod migrate;
mod options;
mod reader;
mod stats;
mod syncer;
mod writer;

pub use db::Db;
pub use error::Error;
pub use options::{Options, Role, Synchronous};
pub use stats::{Percentiles, Stats};

/// The SQLite bindings the closures receive, re-exported so callers use the same version.
pub use rusqlite;
