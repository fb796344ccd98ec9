//! Opening connections: flags, pragmas and the transaction guard, in one place.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::{Connection, OpenFlags};

use crate::error::Error;
use crate::options::{Options, Role};

/// The savepoint each job of a guarded batch runs in. A closure may use savepoints of its own
/// but not this one.
pub(crate) const JOB_SAVEPOINT: &str = "onewriter_job";

/// Opens a connection for `role` and applies the engine's pragmas, then the caller's hook.
pub(crate) fn open(path: &Path, role: Role, options: &Options) -> Result<Connection, Error> {
    let flags = match role {
        Role::Writer | Role::Checkpointer => {
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        }
        // A reader cannot write even if a closure tries: the connection itself is read-only.
        Role::Reader | Role::Backup => {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
        }
    };
    let conn = Connection::open_with_flags(path, flags)?;
    apply_pragmas(&conn, role, options)?;
    if let Some(hook) = &options.on_connect {
        hook(&conn, role)?;
    }
    Ok(conn)
}

/// Every pragma the engine sets, one line each, with the reason.
fn apply_pragmas(conn: &Connection, role: Role, options: &Options) -> Result<(), Error> {
    if role == Role::Writer {
        // WAL lets readers read while the writer writes; the mode is stored in the file, so the
        // writer sets it before any reader opens.
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Unsupported(format!(
                "WAL mode is required but SQLite kept journal_mode={mode} (an in-memory database or a file system without shared memory?)"
            )));
        }
        // What an acknowledged write survives is the caller's choice (see `Synchronous`).
        conn.pragma_update(None, "synchronous", options.synchronous.pragma_value())?;
        // The engine retries BEGIN IMMEDIATE itself, counting busy waits; SQLite's own busy
        // handler would hide them and cannot tell a retryable BEGIN from anything else.
        conn.busy_timeout(std::time::Duration::ZERO)?;
        // A job in a guarded batch runs in a savepoint; a page it changes that the batch
        // changed before is first copied to the savepoint's sub-journal. Kept in memory, that is a
        // copy; in a temporary file (SQLite's default once it passes 64 KiB), a write system
        // call for each page: some 11% of a refresh-heavy server's CPU, measured with perf.
        // The sub-journal holds at most the pages one batch touches.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // A WAL that a long read made grow past its bound keeps that size on disk when it
        // starts over; SQLite cuts the file back to this at the first commit after it does.
        // Twice the bound, which the WAL stays under without such a read (see `checkpoint`).
        let cut_back_to = options.wal_size_limit.saturating_mul(2);
        conn.query_row(
            &format!("PRAGMA journal_size_limit = {cut_back_to}"),
            [],
            |_| Ok(()),
        )?;
    } else {
        // Readers and the checkpointer let SQLite wait for the rare locks they need.
        conn.busy_timeout(options.busy_timeout)?;
    }
    if role == Role::Reader || role == Role::Backup {
        // Belt and braces with the read-only open flag: no statement of a reader may write.
        conn.pragma_update(None, "query_only", true)?;
    }
    // SQLite's automatic checkpoint runs inside COMMIT and stalls the committing caller; the
    // checkpointer thread does that work off the commit path instead.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    // Foreign keys are off by default in SQLite for backwards compatibility; nobody wants that.
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(())
}

/// Denies transaction control to the caller's closures.
///
/// The engine owns `BEGIN`, `COMMIT`, `ROLLBACK` and the job savepoint. A closure that ended
/// the transaction could commit its neighbours' work before they finished, or roll back work
/// whose callers are about to be told it committed. The authorizer refuses such statements
/// when they are prepared (SQLite reports `SQLITE_AUTH`, "not authorized"), so they never run.
pub(crate) struct TxnGuard {
    engine_in_control: Arc<AtomicBool>,
}

impl TxnGuard {
    pub(crate) fn install(conn: &Connection) -> TxnGuard {
        let engine_in_control = Arc::new(AtomicBool::new(true));
        let flag = Arc::clone(&engine_in_control);
        conn.authorizer(Some(move |ctx: AuthContext<'_>| {
            if flag.load(Ordering::Relaxed) {
                return Authorization::Allow;
            }
            match ctx.action {
                AuthAction::Transaction { .. } => Authorization::Deny,
                AuthAction::Savepoint { savepoint_name, .. }
                    if savepoint_name.eq_ignore_ascii_case(JOB_SAVEPOINT) =>
                {
                    Authorization::Deny
                }
                _ => Authorization::Allow,
            }
        }));
        TxnGuard { engine_in_control }
    }

    /// Runs `f` (the caller's closure) with transaction control denied.
    pub(crate) fn run_closure<R>(&self, f: impl FnOnce() -> R) -> R {
        // Only this thread touches the connection, so Relaxed suffices: the flag is read by the
        // authorizer, which SQLite calls on this same thread.
        self.engine_in_control.store(false, Ordering::Relaxed);
        let _restore = Restore(&self.engine_in_control);
        f()
    }
}

/// Gives control back to the engine even if the closure unwinds.
struct Restore<'a>(&'a AtomicBool);

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
