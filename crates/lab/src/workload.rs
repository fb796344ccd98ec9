//! The workloads every scenario runs, the seeded data they start from, and how their errors
//! are classified.

use std::fmt;
use std::path::Path;

use serde::Serialize;

/// Accounts in the seeded database. Point reads and updates pick one uniformly.
pub const ACCOUNTS: i64 = 1000;

/// What the workers do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// Read-modify-write: read a balance, update it, append a ledger row (shaped like a token
    /// refresh).
    Rmw,
    /// 80% point reads, 20% read-modify-write.
    Mixed,
    /// Point reads only.
    Read,
    /// Read-modify-write while another connection holds one read transaction open for the
    /// whole run, as a backup of a large file or a long report does: no checkpoint can copy
    /// the frames it holds, so the WAL grows, and what each engine does about it shows.
    BesideLongRead,
}

impl Workload {
    /// Whether the next operation is a write, given a uniform draw in `0..100`.
    pub fn is_write(self, draw: u32) -> bool {
        match self {
            Workload::Rmw | Workload::BesideLongRead => true,
            Workload::Mixed => draw < 20,
            Workload::Read => false,
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Workload::Rmw => "rmw",
            Workload::Mixed => "mixed",
            Workload::Read => "read",
            Workload::BesideLongRead => "beside-long-read",
        })
    }
}

/// SQLite's `synchronous` setting for the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Sync {
    /// `synchronous=NORMAL`: durable against a process crash.
    Normal,
    /// `synchronous=FULL`: durable against a power cut.
    Full,
}

impl Sync {
    pub fn pragma(self) -> &'static str {
        match self {
            Sync::Normal => "NORMAL",
            Sync::Full => "FULL",
        }
    }
}

impl fmt::Display for Sync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sync::Normal => "normal",
            Sync::Full => "full",
        })
    }
}

pub const SELECT_BALANCE: &str = "SELECT balance FROM account WHERE id = ?1";
pub const UPDATE_BALANCE: &str = "UPDATE account SET balance = ?1 WHERE id = ?2";
pub const INSERT_LEDGER: &str = "INSERT INTO ledger (account, amount) VALUES (?1, 1)";

/// One read-modify-write on a rusqlite connection that is already inside a transaction.
pub fn rmw(conn: &rusqlite::Connection, account: i64) -> rusqlite::Result<()> {
    let balance: i64 = conn
        .prepare_cached(SELECT_BALANCE)?
        .query_row([account], |r| r.get(0))?;
    conn.prepare_cached(UPDATE_BALANCE)?
        .execute((balance + 1, account))?;
    conn.prepare_cached(INSERT_LEDGER)?.execute([account])?;
    Ok(())
}

/// One read-modify-write in its own `BEGIN IMMEDIATE … COMMIT`, as the rusqlite-based peers
/// run it.
pub fn rmw_immediate(conn: &mut rusqlite::Connection, account: i64) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    rmw(&tx, account)?;
    tx.commit()
}

/// One point read on a rusqlite connection.
pub fn read(conn: &rusqlite::Connection, account: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached(SELECT_BALANCE)?
        .query_row([account], |r| r.get(0))
}

/// For [`Workload::BesideLongRead`]: a connection of its own (as another process's would be)
/// that has begun a read transaction on `path` and keeps it, with its snapshot, until dropped.
pub fn hold_a_read(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.execute_batch("BEGIN")?;
    // A deferred transaction takes its snapshot at its first read.
    conn.query_row("SELECT count(*) FROM ledger", [], |r| r.get::<_, i64>(0))?;
    Ok(conn)
}

/// Creates the database every scenario starts from: WAL mode, the accounts at balance 0, an
/// empty ledger.
pub fn seed(path: &Path) -> rusqlite::Result<()> {
    let conn = rusqlite::Connection::open(path)?;
    conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
    conn.execute_batch(
        "CREATE TABLE account (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
         CREATE TABLE ledger (id INTEGER PRIMARY KEY, account INTEGER NOT NULL, amount INTEGER NOT NULL);
         BEGIN;",
    )?;
    {
        let mut insert = conn.prepare("INSERT INTO account (id, balance) VALUES (?1, 0)")?;
        for id in 1..=ACCOUNTS {
            insert.execute([id])?;
        }
    }
    conn.execute_batch("COMMIT; PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(())
}

/// What kind of failure an operation met: the story's failure modes get names of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// `SQLITE_BUSY` / "database is locked".
    Busy,
    /// `SQLITE_BUSY_SNAPSHOT`: a deferred transaction's snapshot went stale before it could
    /// write.
    BusySnapshot,
    /// "cannot start a transaction within a transaction" (and its cousins, "cannot commit - no
    /// transaction is active").
    NestedTransaction,
    /// Anything else.
    Other,
}

impl ErrorKind {
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::Busy => "busy",
            ErrorKind::BusySnapshot => "busy-snapshot",
            ErrorKind::NestedTransaction => "nested-txn",
            ErrorKind::Other => "other",
        }
    }

    /// Classifies from SQLite's extended result code (when known) and message.
    pub fn classify(extended_code: Option<i32>, message: &str) -> ErrorKind {
        const SQLITE_BUSY: i32 = 5;
        const SQLITE_LOCKED: i32 = 6;
        const SQLITE_BUSY_SNAPSHOT: i32 = 517;
        let m = message.to_ascii_lowercase();
        if extended_code == Some(SQLITE_BUSY_SNAPSHOT) {
            ErrorKind::BusySnapshot
        } else if m.contains("within a transaction") || m.contains("no transaction is active") {
            ErrorKind::NestedTransaction
        } else if matches!(
            extended_code.map(|c| c & 0xff),
            Some(SQLITE_BUSY | SQLITE_LOCKED)
        ) || m.contains("database is locked")
            || m.contains("database is busy")
        {
            ErrorKind::Busy
        } else {
            ErrorKind::Other
        }
    }
}

/// A failed operation.
#[derive(Debug, Clone)]
pub struct OpError {
    pub kind: ErrorKind,
    pub message: String,
}

impl From<rusqlite::Error> for OpError {
    fn from(e: rusqlite::Error) -> Self {
        let code = match &e {
            rusqlite::Error::SqliteFailure(f, _) => Some(f.extended_code),
            _ => None,
        };
        let message = e.to_string();
        OpError {
            kind: ErrorKind::classify(code, &message),
            message,
        }
    }
}

impl From<sqlx::Error> for OpError {
    fn from(e: sqlx::Error) -> Self {
        let code = match &e {
            sqlx::Error::Database(db) => db.code().and_then(|c| c.parse().ok()),
            _ => None,
        };
        let message = e.to_string();
        OpError {
            kind: ErrorKind::classify(code, &message),
            message,
        }
    }
}

impl<E: Into<OpError>> From<onewriter::Error<E>> for OpError {
    fn from(e: onewriter::Error<E>) -> Self {
        match e {
            onewriter::Error::Job(inner) => inner.into(),
            onewriter::Error::Busy { .. } => OpError {
                kind: ErrorKind::Busy,
                message: "busy".into(),
            },
            other => OpError {
                kind: ErrorKind::Other,
                message: other_message(&other),
            },
        }
    }
}

fn other_message<E>(e: &onewriter::Error<E>) -> String {
    match e {
        onewriter::Error::Sqlite(s) => s.to_string(),
        onewriter::Error::Panicked(p) => format!("panicked: {p}"),
        onewriter::Error::Closed => "closed".into(),
        onewriter::Error::Overloaded { .. } => "overloaded".into(),
        onewriter::Error::RolledBack => "rolled back".into(),
        _ => "onewriter error".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_storys_errors_are_classified_by_code_and_message() {
        let cases = [
            (Some(5), "database is locked", ErrorKind::Busy),
            (Some(517), "database is locked", ErrorKind::BusySnapshot),
            (
                Some(1),
                "cannot start a transaction within a transaction",
                ErrorKind::NestedTransaction,
            ),
            (
                Some(1),
                "cannot commit - no transaction is active",
                ErrorKind::NestedTransaction,
            ),
            (
                None,
                "error returned from database: (code: 5) database is locked",
                ErrorKind::Busy,
            ),
            (Some(19), "UNIQUE constraint failed", ErrorKind::Other),
        ];
        for (code, message, expected) in cases {
            assert_eq!(
                ErrorKind::classify(code, message),
                expected,
                "{code:?} {message}"
            );
        }
    }

    #[test]
    fn a_held_read_keeps_every_checkpoint_from_copying_what_was_written_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("held.db");
        seed(&path).unwrap();
        let count = |held: &rusqlite::Connection| -> i64 {
            held.query_row("SELECT count(*) FROM ledger", [], |r| r.get(0))
                .unwrap()
        };
        let held = hold_a_read(&path).unwrap();
        let mut writer = rusqlite::Connection::open(&path).unwrap();
        for account in 1..=50 {
            rmw_immediate(&mut writer, account).unwrap();
        }
        let (busy, log, copied): (i64, i64, i64) = writer
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert!(log > 0 && copied < log, "{busy} {log} {copied}");
        assert_eq!(count(&held), 0, "the held read still sees its snapshot");
        drop(held);
        let (_, log, copied): (i64, i64, i64) = writer
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(copied, log, "once it ends, everything can be copied");
    }

    #[test]
    fn mixed_is_one_write_in_five() {
        let writes = (0..100).filter(|d| Workload::Mixed.is_write(*d)).count();
        assert_eq!(writes, 20);
        assert!((0..100).all(|d| Workload::Rmw.is_write(d)));
        assert!(!(0..100).any(|d| Workload::Read.is_write(d)));
    }
}
