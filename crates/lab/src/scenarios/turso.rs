//! turso, the in-process Rust rewrite of SQLite, as its documentation shows it: connections of
//! one `Database`, each transaction retried while the engine answers busy (or, with MVCC, a
//! write conflict).
//!
//! - `turso`: its default WAL mode, `BEGIN IMMEDIATE`: one writer at a time, like SQLite.
//! - `turso-mvcc`: `PRAGMA journal_mode = 'mvcc'` and `BEGIN CONCURRENT` (experimental in
//!   turso): writers run at once and conflicts are found at commit, the later one retrying.
//!
//! The file is the one every scenario starts from (made by SQLite); the check after the run
//! reads it with SQLite, so whatever turso acknowledged must be in the file by then.

use std::sync::Mutex;

use super::{Contender, Opened, Setup};
use crate::workload::{ErrorKind, INSERT_LEDGER, OpError, SELECT_BALANCE, UPDATE_BALANCE};

/// How many connections the contender keeps: more workers than this take turns for one.
const CONNECTIONS: usize = 64;

pub fn open_wal(setup: Setup) -> Opened {
    Box::pin(open(setup, false))
}

pub fn open_mvcc(setup: Setup) -> Opened {
    Box::pin(open(setup, true))
}

async fn open(setup: Setup, mvcc: bool) -> anyhow::Result<Box<dyn Contender>> {
    let path = setup
        .path
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("the database path is not UTF-8"))?;
    let db = turso::Builder::new_local(path).build().await?;
    let first = db.connect()?;
    if mvcc {
        first.pragma_update("journal_mode", "'mvcc'").await?;
    }
    let mut connections = vec![first];
    for _ in 1..CONNECTIONS {
        connections.push(db.connect()?);
    }
    for c in &connections {
        c.pragma_update("synchronous", setup.sync.pragma()).await?;
    }
    Ok(Box::new(Turso {
        db: Mutex::new(Some(db)),
        idle: Mutex::new(connections),
        free: tokio::sync::Semaphore::new(CONNECTIONS),
        begin: if mvcc {
            "BEGIN CONCURRENT"
        } else {
            "BEGIN IMMEDIATE"
        },
    }))
}

struct Turso {
    db: Mutex<Option<turso::Database>>,
    idle: Mutex<Vec<turso::Connection>>,
    /// One permit per idle connection.
    free: tokio::sync::Semaphore,
    begin: &'static str,
}

fn op_error(e: &turso::Error) -> OpError {
    let message = e.to_string();
    let kind = match e {
        turso::Error::Busy(_) => ErrorKind::Busy,
        turso::Error::BusySnapshot(_) => ErrorKind::BusySnapshot,
        _ => ErrorKind::Other,
    };
    OpError { kind, message }
}

/// Whether the transaction may simply be run again: the engine was busy, or (MVCC) another
/// transaction committed a conflicting write first.
fn retryable(e: &turso::Error) -> bool {
    matches!(e, turso::Error::Busy(_) | turso::Error::BusySnapshot(_))
        || e.to_string().contains("conflict")
}

async fn balance(c: &turso::Connection, account: i64) -> Result<i64, turso::Error> {
    let mut rows = c.query(SELECT_BALANCE, [account]).await?;
    match rows.next().await? {
        Some(row) => row.get::<i64>(0),
        None => Err(turso::Error::QueryReturnedNoRows),
    }
}

async fn rmw(c: &turso::Connection, begin: &str, account: i64) -> Result<(), turso::Error> {
    c.execute(begin, ()).await?;
    let result = async {
        let balance = balance(c, account).await?;
        c.execute(UPDATE_BALANCE, [balance + 1, account]).await?;
        c.execute(INSERT_LEDGER, [account]).await?;
        c.execute("COMMIT", ()).await
    }
    .await;
    if result.is_err() {
        let _ = c.execute("ROLLBACK", ()).await;
    }
    result.map(|_| ())
}

impl Turso {
    /// Runs `f` on an idle connection, and puts it back.
    async fn with_connection<T>(
        &self,
        f: impl AsyncFnOnce(&turso::Connection) -> Result<T, OpError>,
    ) -> Result<T, OpError> {
        let permit = self.free.acquire().await.map_err(|_| OpError {
            kind: ErrorKind::Other,
            message: "closed".into(),
        })?;
        let taken = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let Some(c) = taken else {
            return Err(OpError {
                kind: ErrorKind::Other,
                message: "no idle connection".into(),
            });
        };
        let result = f(&c).await;
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(c);
        }
        drop(permit);
        result
    }
}

#[async_trait::async_trait]
impl Contender for Turso {
    async fn rmw(&self, account: i64) -> Result<(), OpError> {
        let begin = self.begin;
        self.with_connection(async |c| {
            loop {
                match rmw(c, begin, account).await {
                    Ok(()) => return Ok(()),
                    Err(e) if retryable(&e) => tokio::task::yield_now().await,
                    Err(e) => return Err(op_error(&e)),
                }
            }
        })
        .await
    }

    async fn read(&self, account: i64) -> Result<i64, OpError> {
        self.with_connection(async |c| balance(c, account).await.map_err(|e| op_error(&e)))
            .await
    }

    async fn close(&self) {
        self.free.close();
        let last = self.idle.lock().ok().and_then(|mut idle| {
            let last = idle.pop();
            idle.clear();
            last
        });
        if let Some(c) = last {
            // What MVCC mode committed is in its own log until a checkpoint; the check reads
            // the file with SQLite, which reads WAL mode only.
            if self.begin == "BEGIN CONCURRENT"
                && let Err(e) = c.pragma_update("journal_mode", "'wal'").await
            {
                eprintln!("turso-mvcc: back to WAL mode: {e}");
            }
            let checkpoint = async {
                let mut rows = c.query("PRAGMA wal_checkpoint(TRUNCATE)", ()).await?;
                while rows.next().await?.is_some() {}
                Ok::<_, turso::Error>(())
            };
            if let Err(e) = checkpoint.await {
                eprintln!("turso: checkpoint: {e}");
            }
        }
        let db = self.db.lock().ok().and_then(|mut db| db.take());
        drop(db);
    }
}
