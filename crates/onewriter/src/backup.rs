//! Online backup through SQLite's backup API.
//!
//! The copy is made in one step (`sqlite3_backup_step(-1)`), inside one read transaction on a
//! connection of its own. Copying in small steps would let other connections' commits restart
//! the copy from scratch each time, so under a steady write load it might never finish; one
//! step reads one snapshot and, in WAL mode, never blocks the writer.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};

use crate::error::Error;
use crate::options::{Options, Role};
use crate::syncer::Durability;

pub(crate) fn run(
    source: &Path,
    dest: &Path,
    options: &Options,
    durability: &Durability,
) -> Result<(), Error> {
    if same_file(source, dest) {
        return Err(Error::Unsupported(format!(
            "the backup destination {} is the database itself",
            dest.display()
        )));
    }
    let partial = partial_path(dest);
    let result = copy(source, &partial, options).and_then(|()| {
        // Every commit the copy holds is synced in the source too (with FULL, see the `syncer`
        // module): a backup never holds a change the database itself could lose.
        durability.wait_for_begun()?;
        // Durable before it becomes visible under its real name.
        std::fs::File::open(&partial)?.sync_all()?;
        std::fs::rename(&partial, dest)?;
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
        let _ = std::fs::remove_file(with_suffix(&partial, "-journal"));
    }
    result
}

fn copy(source: &Path, partial: &Path, options: &Options) -> Result<(), Error> {
    let src = crate::connection::open(source, Role::Backup, options)?;
    let _ = std::fs::remove_file(partial);
    let mut dst = Connection::open(partial)?;
    {
        let backup = Backup::new(&src, &mut dst)?;
        let start = Instant::now();
        loop {
            match backup.step(-1)? {
                StepResult::Done => break,
                StepResult::More => continue,
                // Busy or Locked: a lock we need is held elsewhere (a checkpoint truncating the
                // WAL, another process). Wait like the writer would.
                _ => {
                    let waited = start.elapsed();
                    if waited >= options.busy_timeout {
                        return Err(Error::Busy { waited });
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }
    dst.close().map_err(|(_, e)| e)?;
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A name beside `dest`, unique to this process and moment, so concurrent backups to the
/// same destination do not write into each other's file.
fn partial_path(dest: &Path) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    with_suffix(dest, &format!(".partial-{}-{nanos}", std::process::id()))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}
