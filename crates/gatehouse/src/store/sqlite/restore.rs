//! Putting a backup (`gatehouse backup`) back in place of the database file, safely: the
//! backup is checked first, nothing is done while a process has the database open, the file it
//! replaces is kept beside it, and no write-ahead log of the old file is left to be replayed
//! into the restored one (which would corrupt it).

use std::path::{Path, PathBuf};

use onewriter::rusqlite::{Connection, OpenFlags};

use super::MIGRATIONS;
use crate::clock::UnixTime;
use crate::store::{StoreError, StoreResult};

/// Replaces the database at `target` with the backup at `backup`, and returns where the file
/// it replaced was kept (`None` when there was none). Blocking: file copies and `fsync`.
///
/// # Errors
/// `Corrupt` when the backup fails SQLite's integrity check, is not a gatehouse database, or
/// comes from a newer release; `InUse` while a process has `target` open (stop gatehouse
/// first); `Storage` when a file cannot be read, written or renamed.
pub fn restore(target: &Path, backup: &Path, now: UnixTime) -> StoreResult<Option<PathBuf>> {
    check_backup(backup)?;
    if target.exists() {
        quiesce(target)?;
    }
    let io =
        |what: String| move |e: std::io::Error| StoreError::Storage(format!("{what}: {e}").into());
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let staged = with_suffix(target, ".restoring");
    std::fs::copy(backup, &staged).map_err(io(format!("copying {}", backup.display())))?;
    std::fs::File::open(&staged)
        .and_then(|f| f.sync_all())
        .map_err(io(format!("writing {}", staged.display())))?;
    let kept = if target.exists() {
        let kept = with_suffix(target, &format!(".before-restore-{now}"));
        std::fs::rename(target, &kept).map_err(io(format!("keeping {}", target.display())))?;
        Some(kept)
    } else {
        None
    };
    // Left by the old file's last user: SQLite rebuilds it, but it must not describe the old
    // file's log when the new one opens.
    for stale in ["-wal", "-shm"] {
        let p = with_suffix(target, stale);
        if p.exists() {
            std::fs::remove_file(&p).map_err(io(format!("removing {}", p.display())))?;
        }
    }
    std::fs::rename(&staged, target).map_err(io(format!("placing {}", target.display())))?;
    // The renames are durable once the directory is.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(format!("syncing {}", dir.display())))?;
    Ok(kept)
}

/// The backup must be a whole, uncorrupted gatehouse database this release can open.
fn check_backup(backup: &Path) -> StoreResult<()> {
    let refuse = |why: String| StoreError::Corrupt(format!("{} {why}", backup.display()));
    if !backup.is_file() {
        return Err(refuse("is not a file".into()));
    }
    let conn = Connection::open_with_flags(backup, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| refuse(format!("cannot be opened: {e}")))?;
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| refuse(format!("is not a SQLite database: {e}")))?;
    if check != "ok" {
        return Err(refuse(format!("fails SQLite's integrity check: {check}")));
    }
    let gatehouse: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'user_account')",
            [],
            |r| r.get(0),
        )
        .map_err(|e| refuse(e.to_string()))?;
    if !gatehouse {
        return Err(refuse("is not a gatehouse database".into()));
    }
    let version: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| refuse(e.to_string()))?;
    if version > MIGRATIONS.len() {
        return Err(refuse(format!(
            "comes from a newer gatehouse (schema version {version}; this one knows {})",
            MIGRATIONS.len()
        )));
    }
    Ok(())
}

/// Takes `target` out of WAL mode, which SQLite allows only when no other connection has it
/// open: proof that no server is running on it, and the last of its log is in the file.
fn quiesce(target: &Path) -> StoreResult<()> {
    let in_use = || {
        StoreError::InUse(format!(
            "{} is in use: stop gatehouse (every process using this database) first",
            target.display()
        ))
    };
    let conn = Connection::open_with_flags(target, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| StoreError::Storage(format!("opening {}: {e}", target.display()).into()))?;
    // Asked once, not waited for: a running server would hold it for as long as it runs.
    conn.busy_timeout(std::time::Duration::ZERO)
        .map_err(|e| StoreError::Storage(e.into()))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .map_err(|_| in_use())?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(in_use());
    }
    conn.close().map_err(|(_, e)| StoreError::Storage(e.into()))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}
