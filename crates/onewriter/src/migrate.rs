//! Schema migrations, applied once, in order, by the writer when the database opens.
//!
//! The version is SQLite's `PRAGMA user_version`: the number of migrations applied. All pending
//! migrations run in one `BEGIN IMMEDIATE` transaction, so two processes opening the same new
//! file cannot both apply them, and a failure leaves the schema as it was.
//!
//! This is a few lines on purpose rather than a migration crate: it must run inside the
//! engine's own `BEGIN IMMEDIATE` with its busy handling and under its transaction guard, and
//! it needs nothing but ordered SQL strings.

use std::time::Duration;

use rusqlite::Connection;

use crate::connection::TxnGuard;
use crate::error::Error;
use crate::stats::Counters;

pub(crate) fn migrate(
    conn: &Connection,
    guard: &TxnGuard,
    migrations: &[&str],
    busy_timeout: Duration,
    counters: &Counters,
) -> Result<(), Error> {
    // Even with nothing to apply, this write transaction is what makes SQLite create the `-wal`
    // and `-shm` files of a new database, which read-only connections cannot create.
    let mut begin = conn.prepare("BEGIN IMMEDIATE")?;
    crate::busy::begin_immediate(&mut begin, busy_timeout, counters)?;
    let result = apply_pending(conn, guard, migrations);
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let ended = conn.execute_batch(end);
    result?;
    ended?;
    Ok(())
}

fn apply_pending(conn: &Connection, guard: &TxnGuard, migrations: &[&str]) -> Result<(), Error> {
    if migrations.is_empty() {
        // The caller manages the schema (and `user_version`) itself.
        return Ok(());
    }
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = migrations.len();
    let applied = usize::try_from(found).map_err(|_| {
        Error::Unsupported(format!(
            "PRAGMA user_version is {found}; migrations count from 0"
        ))
    })?;
    if applied > known {
        return Err(Error::SchemaTooNew { found, known });
    }
    for (index, sql) in migrations.iter().enumerate().skip(applied) {
        guard
            .run_closure(|| conn.execute_batch(sql))
            .map_err(|source| Error::Migration {
                version: index + 1,
                source,
            })?;
    }
    if applied < known {
        conn.pragma_update(None, "user_version", known as i64)?;
        tracing::info!(from = applied, to = known, "applied schema migrations");
    }
    Ok(())
}
