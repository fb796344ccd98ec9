//! Group commit: queued writes share one transaction; a failing one is rolled back alone.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Gate, open_bank, temp_path, totals, wait_for_write_queue};
use onewriter::rusqlite;
use onewriter::{Error, Options};

/// Queues `n` deposits of 1 behind a gate; job `i` fails (after depositing) when `fails(i)`.
async fn queue_deposits(
    db: &onewriter::Db,
    n: i64,
    fails: fn(i64) -> Option<&'static str>,
) -> Vec<tokio::task::JoinHandle<Result<i64, Error<String>>>> {
    let mut handles = Vec::new();
    for i in 0..n {
        let db2 = db.clone();
        handles.push(tokio::spawn(async move {
            db2.write(move |tx| {
                common::deposit(tx, 1, 1).map_err(|e| e.to_string())?;
                match fails(i) {
                    Some("error") => Err(format!("job {i} refuses")),
                    Some(_) => panic!("job {i} panics"),
                    None => Ok(i),
                }
            })
            .await
        }));
        wait_for_write_queue(db, (i + 1) as usize).await;
    }
    handles
}

#[tokio::test]
async fn a_failing_job_is_rolled_back_alone_and_its_neighbours_commit() {
    let t = temp_path();
    let db = open_bank(&t.path, Options::new().max_batch(64), 1).await;
    let gate = Gate::close(&db).await;
    let handles = queue_deposits(&db, 60, |i| match i % 5 {
        1 => Some("error"),
        3 => Some("panic"),
        _ => None,
    })
    .await;
    gate.open().await;
    let (mut ok, mut errors, mut panics) = (0, 0, 0);
    for (i, h) in handles.into_iter().enumerate() {
        match h.await.unwrap() {
            Ok(v) => {
                assert_eq!(v, i as i64);
                ok += 1
            }
            Err(Error::Job(m)) => {
                assert_eq!(m, format!("job {i} refuses"));
                errors += 1
            }
            Err(Error::Panicked(m)) => {
                assert!(m.contains(&format!("job {i} panics")));
                panics += 1
            }
            Err(e) => panic!("job {i}: unexpected {e:?}"),
        }
    }
    assert_eq!((ok, errors, panics), (36, 12, 12));
    assert_eq!(
        totals(&t.path),
        (36, 36, 36),
        "exactly the successful jobs committed"
    );
    let stats = db.stats();
    assert!(
        stats.batch_size.max >= 60,
        "the 60 queued jobs shared one transaction: {:?}",
        stats.batch_size
    );
    assert_eq!(stats.write_errors, 24);
}

#[tokio::test]
async fn with_max_batch_one_every_job_has_its_own_transaction() {
    let t = temp_path();
    let db = open_bank(&t.path, Options::new().max_batch(1), 1).await;
    let commits_before = db.stats().commits;
    let gate = Gate::close(&db).await;
    let handles = queue_deposits(&db, 20, |i| (i == 7).then_some("error")).await;
    gate.open().await;
    for h in handles {
        let _ = h.await.unwrap();
    }
    let stats = db.stats();
    assert_eq!(stats.batch_size.max, 1, "{:?}", stats.batch_size);
    // The gate's own job commits too.
    assert_eq!(
        stats.commits - commits_before,
        20,
        "19 deposits and the gate"
    );
    assert_eq!(totals(&t.path), (19, 19, 19));
}

#[tokio::test]
async fn when_the_shared_commit_fails_no_caller_is_told_it_succeeded() {
    let t = temp_path();
    static SCHEMA: &[&str] = &[
        "CREATE TABLE parent (id INTEGER PRIMARY KEY)",
        // Checked at COMMIT, not per statement: a violation fails the whole COMMIT.
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)",
    ];
    let db = onewriter::Db::open(&t.path, Options::new().migrations(SCHEMA))
        .await
        .unwrap();
    let gate = Gate::close(&db).await;
    let mut handles = Vec::new();
    for i in 0..10i64 {
        let db2 = db.clone();
        handles.push(tokio::spawn(async move {
            db2.write(move |tx| {
                if i == 4 {
                    // Dangling reference: fine until COMMIT.
                    tx.execute("INSERT INTO child (id, parent) VALUES (?1, 999)", [i])
                } else {
                    tx.execute("INSERT INTO parent (id) VALUES (?1)", [i])
                }
            })
            .await
        }));
        wait_for_write_queue(&db, (i + 1) as usize).await;
    }
    gate.open().await;
    for h in handles {
        let err = h.await.unwrap().unwrap_err();
        assert!(
            matches!(&err, Error::Sqlite(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)),
            "{err:?}"
        );
    }
    let rows: i64 = db
        .read(|c| {
            c.query_row(
                "SELECT (SELECT count(*) FROM parent) + (SELECT count(*) FROM child)",
                [],
                |r| r.get(0),
            )
        })
        .await
        .unwrap();
    assert_eq!(rows, 0, "nothing of the failed batch was committed");
    // The writer recovers: the next write commits.
    db.write(|tx| tx.execute("INSERT INTO parent (id) VALUES (100)", []))
        .await
        .unwrap();
}

/// A batch queued behind a gate: job `i` deposits 1 into account 1 and returns the balance it
/// left, or fails after depositing when `fails(i)`; `runs[i]` counts the runs of its closure.
struct Counted {
    handles: Vec<tokio::task::JoinHandle<Result<i64, Error<String>>>>,
    runs: Vec<Arc<AtomicUsize>>,
}

async fn queue_counted(db: &onewriter::Db, n: usize, fails: impl Fn(usize) -> bool) -> Counted {
    let (mut handles, mut runs) = (Vec::new(), Vec::new());
    for i in 0..n {
        let (db2, count, fail) = (db.clone(), Arc::new(AtomicUsize::new(0)), fails(i));
        runs.push(Arc::clone(&count));
        handles.push(tokio::spawn(async move {
            db2.write(move |tx| {
                count.fetch_add(1, Ordering::SeqCst);
                let balance = common::deposit(tx, 1, 1).map_err(|e| e.to_string())?;
                if fail {
                    return Err(format!("job {i} refuses"));
                }
                Ok(balance)
            })
            .await
        }));
        wait_for_write_queue(db, i + 1).await;
    }
    Counted { handles, runs }
}

/// A database of one account, batches of up to 64.
async fn bank() -> (common::TempDb, onewriter::Db) {
    let t = temp_path();
    let db = open_bank(&t.path, Options::new().max_batch(64), 1).await;
    (t, db)
}

/// Queues `n` counted deposits behind a gate (see [`queue_counted`]), lets them run as one
/// batch, and returns their answers and runs.
async fn gated_batch(
    db: &onewriter::Db,
    n: usize,
    fails: impl Fn(usize) -> bool,
) -> (Vec<Result<i64, String>>, Vec<usize>) {
    let gate = Gate::close(db).await;
    let queued = queue_counted(db, n, fails).await;
    gate.open().await;
    queued.finish().await
}

impl Counted {
    /// Every job's answer, and how many times each closure ran.
    async fn finish(self) -> (Vec<Result<i64, String>>, Vec<usize>) {
        let mut answers = Vec::new();
        for h in self.handles {
            answers.push(h.await.unwrap().map_err(|e| e.to_string()));
        }
        let runs = self.runs.iter().map(|r| r.load(Ordering::SeqCst)).collect();
        (answers, runs)
    }
}

/// The balances the successful jobs report, in job order, are exactly those of the committed
/// deposits one after the other: each answer comes from the run that committed.
fn assert_balances_follow_each_other(answers: &[Result<i64, String>], from: i64) {
    let balances: Vec<i64> = answers.iter().filter_map(|a| a.clone().ok()).collect();
    let expected: Vec<i64> = (from..from + balances.len() as i64).collect();
    assert_eq!(balances, expected, "answers: {answers:?}");
}

#[tokio::test]
async fn a_batch_without_a_failure_runs_each_closure_once() {
    let (t, db) = bank().await;
    let (answers, runs) = gated_batch(&db, 40, |_| false).await;
    assert_balances_follow_each_other(&answers, 1);
    assert!(runs.iter().all(|&r| r == 1), "runs: {runs:?}");
    assert_eq!(db.stats().batches_run_again, 0);
    assert!(db.stats().batch_size.max >= 40);
    assert_eq!(totals(&t.path), (40, 40, 40));
}

#[tokio::test]
async fn a_failure_runs_the_jobs_before_it_again_each_alone_and_only_its_change_is_lost() {
    let (t, db) = bank().await;
    let (answers, runs) = gated_batch(&db, 30, |i| i == 12).await;
    assert_eq!(answers[12], Err("job 12 refuses".to_owned()));
    assert_balances_follow_each_other(&answers, 1);
    // The failure came after jobs 0..=11 had run without savepoints: they, and job 12, ran
    // again, each in its own savepoint; the jobs after it ran once.
    let expected: Vec<usize> = (0..30).map(|i| if i <= 12 { 2 } else { 1 }).collect();
    assert_eq!(runs, expected);
    let stats = db.stats();
    assert_eq!(stats.batches_run_again, 1);
    assert_eq!(
        (stats.write_errors, stats.writes - 2),
        (1, 30),
        "each job counts once (the gate and the seed aside)"
    );
    assert_eq!(totals(&t.path), (29, 29, 29), "all but job 12's deposit");
}

#[tokio::test]
async fn a_failing_first_job_is_rolled_back_alone_without_running_its_batch_again() {
    let (t, db) = bank().await;
    let (answers, runs) = gated_batch(&db, 10, |i| i == 0).await;
    assert_eq!(answers[0], Err("job 0 refuses".to_owned()));
    assert_balances_follow_each_other(&answers, 1);
    assert!(runs.iter().all(|&r| r == 1), "runs: {runs:?}");
    assert_eq!(db.stats().batches_run_again, 0);
    assert_eq!(totals(&t.path), (9, 9, 9));
}

#[tokio::test]
async fn after_a_failure_batches_run_guarded_so_a_stream_of_failures_is_never_run_twice() {
    let (t, db) = bank().await;
    // The gate's own job fails: the batch after it starts guarded, and its failure rolls back
    // to that job's savepoint without running anything again.
    let gate = Gate::close_with(&db, Err("the gate refuses")).await;
    let queued = queue_counted(&db, 20, |i| i == 7).await;
    gate.open().await;
    let (answers, runs) = queued.finish().await;
    assert_eq!(answers[7], Err("job 7 refuses".to_owned()));
    assert!(runs.iter().all(|&r| r == 1), "runs: {runs:?}");
    assert_eq!(db.stats().batches_run_again, 0);
    // That batch had a failure, so the next one (behind a gate that succeeds, alone) is
    // guarded too; after a clean batch, the next runs optimistically again.
    let (_, runs) = gated_batch(&db, 20, |i| i == 3).await;
    assert_eq!(
        runs.iter().filter(|&&r| r == 2).count(),
        4,
        "jobs 0..=3 ran again: the gate's clean batch made the next optimistic: {runs:?}"
    );
    assert_eq!(db.stats().batches_run_again, 1);
    assert_eq!(totals(&t.path), (38, 38, 38));
}

#[tokio::test]
async fn with_full_the_writes_queued_while_a_transaction_runs_join_its_commit() {
    let t = temp_path();
    let full = Options::new().synchronous(onewriter::Synchronous::Full);
    let db = open_bank(&t.path, full, 1).await;
    let before = db.stats();
    let gate = Gate::close(&db).await;
    let queued = queue_counted(&db, 3, |_| false).await;
    gate.open().await;
    let (answers, _) = queued.finish().await;
    assert_balances_follow_each_other(&answers, 1);
    let after = db.stats();
    assert_eq!(
        (after.commits - before.commits, after.syncs - before.syncs),
        (1, 1),
        "the gate's transaction took in the writes queued behind it"
    );
}

#[tokio::test]
async fn by_default_a_batch_takes_up_to_128_queued_writes() {
    let t = temp_path();
    let db = open_bank(&t.path, Options::new(), 1).await;
    let before = db.stats().commits;
    let (answers, _) = gated_batch(&db, 200, |_| false).await;
    assert_balances_follow_each_other(&answers, 1);
    let stats = db.stats();
    assert_eq!(stats.batch_size.max, 128, "{:?}", stats.batch_size);
    assert_eq!(
        stats.commits - before,
        3,
        "the gate's transaction, then 128 and 72 of the queued writes"
    );
    assert_eq!(totals(&t.path), (200, 200, 200));
}
