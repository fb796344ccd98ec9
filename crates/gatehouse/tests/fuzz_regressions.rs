//! Replays the committed fuzz inputs through the fuzz targets' own checks
//! (`gatehouse::fuzzing`): the seed corpus, and every input that once broke a property, kept
//! under `fuzz/regressions/<target>/` so a fixed bug stays fixed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

use std::path::{Path, PathBuf};

use gatehouse::fuzzing::Harness;

/// Every file of `fuzz/seeds/<target>` and `fuzz/regressions/<target>`, sorted.
fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files: Vec<PathBuf> = ["seeds", "regressions"]
        .iter()
        .filter_map(|kind| std::fs::read_dir(fuzz.join(kind).join(target)).ok())
        .flatten()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep"))
        .collect();
    files.sort();
    files
}

fn replay(target: &str, check: impl Fn(&Harness, &[u8])) {
    let harness = Harness::new();
    let files = inputs(target);
    assert!(
        files.len() >= 10,
        "only {} inputs for {target}",
        files.len()
    );
    for path in files {
        // Shown when a check panics: which input broke it.
        eprintln!("{}", path.display());
        check(&harness, &std::fs::read(&path).unwrap());
    }
}

#[test]
fn every_committed_http_input_is_answered_below_500() {
    replay("http", Harness::http);
}

#[test]
fn no_committed_id_token_hint_input_forges_a_hint() {
    replay("id_token_hint", Harness::id_token_hint);
}
