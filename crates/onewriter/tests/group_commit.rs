//! Group commit: queued writes share one transaction, each in its own savepoint.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

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
