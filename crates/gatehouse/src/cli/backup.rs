//! `gatehouse backup --into DIR --keep N`: a backup per run under a name that sorts by time,
//! and the oldest ones removed beyond the number kept (what a timer runs daily).

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::clock::UnixTime;
use crate::store::Store;

/// What a backup file is called: `gatehouse-YYYYMMDDTHHMMSSZ.db`, in UTC, so names sort as
/// times do.
pub(super) fn file_name(now: UnixTime) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(now).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "gatehouse-{:04}{:02}{:02}T{:02}{:02}{:02}Z.db",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Whether a file name is one of ours (and nothing else in the directory is ever removed).
fn is_backup(name: &str) -> bool {
    name.strip_prefix("gatehouse-")
        .and_then(|rest| rest.strip_suffix("Z.db"))
        .is_some_and(|stamp| {
            stamp.len() == 15
                && stamp.bytes().enumerate().all(|(i, b)| {
                    if i == 8 {
                        b == b'T'
                    } else {
                        b.is_ascii_digit()
                    }
                })
        })
}

/// The backups to remove so that the newest `keep` remain.
pub(super) fn to_prune(names: &[String], keep: usize) -> Vec<String> {
    let mut ours: Vec<&String> = names.iter().filter(|n| is_backup(n)).collect();
    ours.sort();
    let excess = ours.len().saturating_sub(keep);
    ours.into_iter().take(excess).cloned().collect()
}

/// Writes a backup into `dir` (created if needed), then removes the oldest beyond `keep`.
/// Returns the new file and the removed ones.
///
/// # Errors
/// The directory cannot be made or read, the backup fails, or an old one cannot be removed.
pub(super) async fn into_dir(
    store: &dyn Store,
    dir: &Path,
    keep: Option<usize>,
    now: UnixTime,
) -> anyhow::Result<(PathBuf, Vec<PathBuf>)> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = file_name(now);
    let path = dir.join(&name);
    // Written under another name and renamed once whole: a backup cut short never passes for
    // one, nor counts among those kept.
    let partial = dir.join(format!(".{name}.partial"));
    store.backup(&partial).await?;
    std::fs::rename(&partial, &path)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), path.display()))?;
    let mut removed = Vec::new();
    if let Some(keep) = keep {
        let names: Vec<String> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        for old in to_prune(&names, keep) {
            let p = dir.join(old);
            std::fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))?;
            removed.push(p);
        }
    }
    Ok((path, removed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_as_times_do() {
        assert_eq!(file_name(0), "gatehouse-19700101T000000Z.db");
        assert_eq!(file_name(1_800_000_000), "gatehouse-20270115T080000Z.db");
        assert!(file_name(1_800_000_000) < file_name(1_800_000_001));
        assert!(is_backup(&file_name(1_800_000_000)));
    }

    #[test]
    fn the_newest_are_kept_and_nothing_else_is_touched() {
        let names: Vec<String> = [
            "gatehouse-20270103T000000Z.db",
            "gatehouse-20270101T000000Z.db",
            "notes.txt",
            "gatehouse.db",
            ".gatehouse-20270104T000000Z.db.partial",
            "gatehouse-20270102T000000Z.db",
            "gatehouse-2027010XT000000Z.db",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            to_prune(&names, 2),
            ["gatehouse-20270101T000000Z.db".to_owned()]
        );
        assert_eq!(to_prune(&names, 3), Vec::<String>::new());
        assert_eq!(to_prune(&names, 0).len(), 3);
    }
}
