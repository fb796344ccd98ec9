//! The two verbs: what `read` and `write` promise.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::sync::mpsc;

use common::{open_bank, temp_path, totals};
use onewriter::rusqlite::{self, ErrorCode};
use onewriter::{Error, Options, Synchronous};

#[tokio::test]
async fn write_returns_the_closures_value_after_commit() {
    let t = temp_path();
    let db = open_bank(&t.path, Options::new(), 1).await;
    let balance = db.write(|tx| common::deposit(tx, 1, 25)).await.unwrap();
    assert_eq!(balance, 25);
    assert_eq!(
        totals(&t.path),
        (25, 25, 1),
        "committed: visible to another connection"
    );
}

#[tokio::test]
async fn every_read_after_an_acknowledged_write_sees_it() {
    let t = temp_path();
    let db = open_bank(&t.path, Options::new().readers(4), 1).await;
    for i in 1..=500i64 {
        db.write(|tx| common::deposit(tx, 1, 1)).await.unwrap();
        let (balance, rows): (i64, i64) = db
            .read(|c| {
                c.query_row(
                    "SELECT balance, (SELECT count(*) FROM ledger) FROM account WHERE id = 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
            })
            .await
            .unwrap();
        assert_eq!(
            (balance, rows),
            (i, i),
            "read {i} missed an acknowledged write"
        );
    }
}

#[tokio::test]
async fn a_read_sees_one_snapshot_while_writes_commit() {
    let t = temp_path();
    let db = open_bank(&t.path, Options::new(), 1).await;
    let (reached_tx, reached_rx) = tokio::sync::oneshot::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let reader = tokio::spawn({
        let db = db.clone();
        async move {
            db.read(move |c| {
                let count = |c: &rusqlite::Connection| {
                    c.query_row("SELECT count(*) FROM ledger", [], |r| r.get::<_, i64>(0))
                };
                let before = count(c)?;
                let _ = reached_tx.send(());
                let _ = go_rx.recv();
                Ok::<_, rusqlite::Error>((before, count(c)?))
            })
            .await
            .unwrap()
        }
    });
    reached_rx.await.unwrap();
    // Commit while the read transaction is open between its two statements.
    for _ in 0..10 {
        db.write(|tx| common::deposit(tx, 1, 1)).await.unwrap();
    }
    go_tx.send(()).unwrap();
    let (before, after) = reader.await.unwrap();
    assert_eq!(
        (before, after),
        (0, 0),
        "both statements read the same snapshot"
    );
    let now: i64 = db
        .read(|c| c.query_row("SELECT count(*) FROM ledger", [], |r| r.get(0)))
        .await
        .unwrap();
    assert_eq!(now, 10, "the next read sees the commits");
}

#[tokio::test]
async fn a_write_in_a_read_closure_fails_clearly_and_changes_nothing() {
    let t = temp_path();
    let db = open_bank(&t.path, Options::new(), 1).await;
    let err = db
        .read(|c| c.execute("UPDATE account SET balance = 99", []))
        .await
        .unwrap_err();
    let Error::Job(e) = &err else {
        panic!("expected the closure's error, got {err:?}")
    };
    assert_eq!(e.sqlite_error_code(), Some(ErrorCode::ReadOnly), "{e}");
    assert!(err.to_string().contains("readonly"), "{err}");
    assert_eq!(totals(&t.path), (0, 0, 0));
    // The reader is still healthy.
    assert_eq!(
        db.read(|c| c.query_row("SELECT 7", [], |r| r.get::<_, i64>(0)))
            .await
            .unwrap(),
        7
    );
}

#[derive(Debug, PartialEq)]
enum BankError {
    Insufficient { balance: i64 },
    Db(String),
}

impl From<rusqlite::Error> for BankError {
    fn from(e: rusqlite::Error) -> Self {
        BankError::Db(e.to_string())
    }
}

#[tokio::test]
async fn a_closure_error_of_the_callers_type_rolls_back_its_changes_only() {
    let t = temp_path();
    let db = open_bank(&t.path, Options::new(), 1).await;
    db.write(|tx| common::deposit(tx, 1, 10)).await.unwrap();
    let err = db
        .write(|tx| {
            let balance = common::deposit(tx, 1, -50)?;
            if balance < 0 {
                return Err(BankError::Insufficient { balance });
            }
            Ok(balance)
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Job(BankError::Insufficient { balance: -40 })),
        "{err:?}"
    );
    assert_eq!(totals(&t.path), (10, 10, 1), "the withdrawal left no trace");
    db.write(|tx| common::deposit(tx, 1, 5)).await.unwrap();
    assert_eq!(totals(&t.path), (15, 15, 2), "the writer keeps serving");
}

#[tokio::test]
async fn a_panicking_closure_is_rolled_back_and_the_writer_survives() {
    let t = temp_path();
    let db = open_bank(&t.path, Options::new(), 1).await;
    let err = db
        .write(|tx| -> rusqlite::Result<()> {
            common::deposit(tx, 1, 100)?;
            panic!("boom after a deposit");
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Panicked(m) if m.contains("boom")),
        "{err:?}"
    );
    let err = db
        .read(|_| -> rusqlite::Result<()> { panic!("reader boom") })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Panicked(_)), "{err:?}");
    assert_eq!(totals(&t.path), (0, 0, 0));
    db.write(|tx| common::deposit(tx, 1, 1)).await.unwrap();
    assert_eq!(totals(&t.path), (1, 1, 1));
}

#[tokio::test]
async fn a_closure_cannot_commit_or_roll_back_the_engines_transaction() {
    let t = temp_path();
    let db = open_bank(&t.path, Options::new(), 1).await;
    for sql in [
        "COMMIT",
        "ROLLBACK",
        "BEGIN",
        "END",
        "RELEASE onewriter_job",
        "ROLLBACK TO onewriter_job",
    ] {
        let err = db
            .write(move |tx| {
                common::deposit(tx, 1, 1)?;
                tx.execute_batch(sql)
            })
            .await
            .unwrap_err();
        let Error::Job(e) = &err else {
            panic!("{sql}: expected the closure's error, got {err:?}")
        };
        assert_eq!(
            e.sqlite_error_code(),
            Some(ErrorCode::AuthorizationForStatementDenied),
            "{sql}: {e}"
        );
    }
    assert_eq!(totals(&t.path), (0, 0, 0), "no deposit was committed");
    // A closure's own savepoints are allowed.
    db.write(|tx| {
        tx.execute_batch("SAVEPOINT mine")?;
        common::deposit(tx, 1, 5)?;
        tx.execute_batch("ROLLBACK TO mine; RELEASE mine")?;
        common::deposit(tx, 1, 7)
    })
    .await
    .unwrap();
    assert_eq!(totals(&t.path), (7, 7, 1));
}

#[tokio::test]
async fn calls_after_close_fail_with_closed_and_close_is_idempotent() {
    let t = temp_path();
    let db = open_bank(&t.path, Options::new(), 1).await;
    let other = db.clone();
    db.close().await.unwrap();
    db.close().await.unwrap();
    let err = other
        .write(|tx| common::deposit(tx, 1, 1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Closed), "{err:?}");
    let err = other
        .read(|c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Closed), "{err:?}");
    assert!(matches!(
        other.backup(t.dir.path().join("b.db")).await,
        Err(Error::Closed)
    ));
}

/// Notes the thread it is dropped on.
struct DropsOn(std::sync::Arc<std::sync::Mutex<Option<std::thread::ThreadId>>>);

impl Drop for DropsOn {
    fn drop(&mut self) {
        *self.0.lock().unwrap() = Some(std::thread::current().id());
    }
}

#[tokio::test]
async fn a_writes_closure_is_dropped_on_the_callers_thread() {
    // What a caller allocated is freed on its own thread, not on the writer or the sync thread,
    // where the allocator would have to hand the memory back across threads. (A read's closure
    // runs once, by value, so what it captured goes when it returns, on the reader.)
    let here = std::thread::current().id();
    for synchronous in [Synchronous::Normal, Synchronous::Full] {
        let t = temp_path();
        let db = open_bank(&t.path, Options::new().synchronous(synchronous), 1).await;
        let dropped = std::sync::Arc::default();
        let captured = DropsOn(std::sync::Arc::clone(&dropped));
        db.write(move |tx| {
            let _ = &captured;
            common::deposit(tx, 1, 1)
        })
        .await
        .unwrap();
        assert_eq!(*dropped.lock().unwrap(), Some(here), "{synchronous:?}");
    }
}
