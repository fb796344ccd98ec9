//! Every contender behind one trait: a new peer is one file and one line in [`ALL`].

mod async_sqlite;
mod bare_handoff;
mod deadpool_sqlite;
mod naive_pool;
mod onewriter;
mod raw_immediate;
pub mod raw_limit;
mod retry_storm;
mod split_sqlx;
mod tokio_rusqlite;
mod turso;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use crate::workload::{OpError, Sync};

/// What a scenario is given to open itself.
#[derive(Debug, Clone)]
pub struct Setup {
    /// A freshly seeded database file.
    pub path: PathBuf,
    pub sync: Sync,
}

impl Setup {
    /// A plain rusqlite connection to the file, with the run's `synchronous`: the loops' and
    /// the bare hand-off's, so that they differ in nothing else.
    pub fn connect(&self) -> rusqlite::Result<rusqlite::Connection> {
        let conn = rusqlite::Connection::open(&self.path)?;
        conn.pragma_update(None, "synchronous", self.sync.pragma())?;
        Ok(conn)
    }
}

/// An async way of running the workload's two operations.
#[async_trait::async_trait]
pub trait Contender: Send + std::marker::Sync {
    /// One read-modify-write transaction on `account`: read the balance, write it plus one,
    /// append a ledger row. `Ok` means committed.
    async fn rmw(&self, account: i64) -> Result<(), OpError>;

    /// One point read of `account`'s balance.
    async fn read(&self, account: i64) -> Result<i64, OpError>;

    /// What the engine says of its own run, read before `close`; onewriter's only.
    fn engine(&self) -> Option<crate::engine::EngineSummary> {
        None
    }

    /// Closes connections so the file can be checked.
    async fn close(&self);
}

pub type Opened = Pin<Box<dyn Future<Output = anyhow::Result<Box<dyn Contender>>> + Send>>;

pub enum Kind {
    /// Workers on the async runtime call a [`Contender`].
    Async(fn(Setup) -> Opened),
    /// One thread, one connection, no async: the ceiling everything is compared to.
    Loop {
        /// Read-modify-writes per `BEGIN IMMEDIATE … COMMIT`.
        per_commit: usize,
    },
}

pub struct Scenario {
    /// The name used on the command line and in reports.
    pub name: &'static str,
    pub about: &'static str,
    pub kind: Kind,
}

/// Every scenario, in report order.
pub static ALL: &[Scenario] = &[
    Scenario {
        name: "naive-pool",
        about: "sqlx SqlitePool with 100 connections, deferred transactions, sqlx's 5 s busy timeout (the story's phase 1)",
        kind: Kind::Async(naive_pool::open),
    },
    Scenario {
        name: "retry-storm",
        about: "the naive pool plus a 30 s busy timeout and an application retry loop with exponential backoff (phase 2)",
        kind: Kind::Async(retry_storm::open),
    },
    Scenario {
        name: "raw-immediate",
        about: "BEGIN IMMEDIATE, the queries and COMMIT sent through the pool as separate statements (phase 3)",
        kind: Kind::Async(raw_immediate::open),
    },
    Scenario {
        name: "split-sqlx",
        about: "the story's fix: a read-only sqlx pool plus a one-connection writer pool with BEGIN IMMEDIATE",
        kind: Kind::Async(split_sqlx::open),
    },
    Scenario {
        name: "tokio-rusqlite",
        about: "tokio-rusqlite: one connection on one background thread, reads and writes alike",
        kind: Kind::Async(tokio_rusqlite::open),
    },
    Scenario {
        name: "async-sqlite",
        about: "async-sqlite's Pool (one connection per core, WAL), IMMEDIATE transactions",
        kind: Kind::Async(async_sqlite::open),
    },
    Scenario {
        name: "deadpool-sqlite",
        about: "deadpool-sqlite's pool (default size) with interact(), IMMEDIATE transactions",
        kind: Kind::Async(deadpool_sqlite::open),
    },
    Scenario {
        name: "turso",
        about: "turso (the Rust rewrite of SQLite): 64 connections of one Database, BEGIN IMMEDIATE, retried while busy",
        kind: Kind::Async(turso::open_wal),
    },
    Scenario {
        name: "turso-mvcc",
        about: "turso with journal_mode 'mvcc' (experimental): BEGIN CONCURRENT, retried on busy and on write conflicts",
        kind: Kind::Async(turso::open_mvcc),
    },
    Scenario {
        name: "onewriter",
        about: "onewriter, one commit per job (max_batch = 1); with FULL its sync thread still lets one sync cover several commits",
        kind: Kind::Async(onewriter::open_unbatched),
    },
    Scenario {
        name: "onewriter-batched",
        about: "onewriter with group commit (its default max_batch, 128)",
        kind: Kind::Async(onewriter::open_batched),
    },
    Scenario {
        name: "bare-handoff",
        about: "one writer thread with group commit and nothing else: a plain thread runs the queued jobs in one transaction and answers each (a reference, not a peer)",
        kind: Kind::Async(bare_handoff::open),
    },
    Scenario {
        name: "raw-limit",
        about: "one thread, one rusqlite connection, no async: one transaction per commit",
        kind: Kind::Loop { per_commit: 1 },
    },
    Scenario {
        name: "raw-limit-32",
        about: "one thread, one rusqlite connection, no async: 32 transactions per commit, the batch 64 workers form with NORMAL (a reference, not a ceiling)",
        kind: Kind::Loop { per_commit: 32 },
    },
    Scenario {
        name: "raw-limit-64",
        about: "one thread, one rusqlite connection, no async: 64 transactions per commit, the most 64 workers can put in one (a reference, not a ceiling)",
        kind: Kind::Loop { per_commit: 64 },
    },
    Scenario {
        name: "raw-limit-100",
        about: "one thread, one rusqlite connection, no async: 100 transactions per commit, the ceiling",
        kind: Kind::Loop { per_commit: 100 },
    },
];

/// The loops that commit every few transactions, by transactions per commit, fewest first: the
/// last is the ceiling (`raw-limit-100`), the others references for what a smaller batch costs
/// with no hand-off at all.
pub fn batch_loops() -> Vec<(usize, &'static str)> {
    let mut loops: Vec<(usize, &'static str)> = ALL
        .iter()
        .filter_map(|s| match s.kind {
            Kind::Loop { per_commit } if per_commit > 1 => Some((per_commit, s.name)),
            _ => None,
        })
        .collect();
    loops.sort_unstable();
    loops
}

pub fn by_name(name: &str) -> Option<&'static Scenario> {
    ALL.iter().find(|s| s.name == name)
}

pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|s| s.name).collect()
}
