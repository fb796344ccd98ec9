//! Bounded queues, deadlines and cancellation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::time::Duration;

use common::{Gate, open_bank, temp_path, totals, wait_for_write_queue};
use onewriter::rusqlite;
use onewriter::{Error, Options};
use rand::Rng;

#[tokio::test]
async fn a_full_queue_with_a_deadline_answers_overloaded_and_the_job_never_runs() {
    let t = temp_path();
    let db = open_bank(&t.path, Options::new().write_queue(4), 1).await;
    let gate = Gate::close(&db).await;
    let mut queued = Vec::new();
    for _ in 0..4 {
        let db = db.clone();
        queued.push(tokio::spawn(async move {
            db.write(|tx| common::deposit(tx, 1, 1)).await
        }));
    }
    wait_for_write_queue(&db, 4).await;

    let impatient = db.with_deadline(Duration::from_millis(50));
    let err = impatient
        .write(|tx| common::deposit(tx, 1, 1000))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Overloaded { .. }), "{err:?}");
    assert!(err.job_did_not_run());
    assert!(err.to_string().contains("overloaded"), "{err}");

    // Without a deadline, a caller waits for room and gets through.
    let patient = tokio::spawn({
        let db = db.clone();
        async move { db.write(|tx| common::deposit(tx, 1, 10)).await }
    });
    gate.open().await;
    for h in queued {
        h.await.unwrap().unwrap();
    }
    patient.await.unwrap().unwrap();
    assert_eq!(
        totals(&t.path),
        (14, 14, 5),
        "the overloaded deposit of 1000 never ran"
    );
    assert!(db.stats().overloaded >= 1);
}

#[tokio::test]
async fn a_job_that_waited_past_its_deadline_in_the_queue_is_skipped() {
    let t = temp_path();
    let db = open_bank(&t.path, Options::new(), 1).await;
    let gate = Gate::close(&db).await;
    let late = tokio::spawn({
        let db = db.with_deadline(Duration::from_millis(20));
        async move { db.write(|tx| common::deposit(tx, 1, 1)).await }
    });
    wait_for_write_queue(&db, 1).await;
    tokio::time::sleep(Duration::from_millis(60)).await;
    gate.open().await;
    let err = late.await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Overloaded { .. }), "{err:?}");
    assert_eq!(totals(&t.path), (0, 0, 0));
}

#[tokio::test]
async fn a_default_deadline_applies_to_reads_too() {
    let t = temp_path();
    let db = open_bank(
        &t.path,
        Options::new()
            .readers(1)
            .read_queue(1)
            .deadline(Some(Duration::from_millis(30))),
        1,
    )
    .await;
    let (entered_tx, entered_rx) = tokio::sync::oneshot::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let blocker = tokio::spawn({
        let db = db.clone();
        async move {
            db.read(move |_| {
                let _ = entered_tx.send(());
                let _ = release_rx.recv();
                Ok::<_, rusqlite::Error>(())
            })
            .await
        }
    });
    entered_rx.await.unwrap();
    // One job fills the queue of 1; the next cannot get in within its deadline.
    let queued = tokio::spawn({
        let db = db.clone();
        async move {
            db.read(|c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)))
                .await
        }
    });
    while db.stats().read_queue_depth < 1 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let err = db
        .read(|c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Overloaded { .. }), "{err:?}");
    release_tx.send(()).unwrap();
    blocker.await.unwrap().unwrap();
    // The queued read waited past its 30 ms deadline behind the blocker as well.
    let err = queued.await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Overloaded { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelling_thousands_of_writes_at_random_moments_never_leaves_half_a_job() {
    let t = temp_path();
    let db = onewriter::Db::open(&t.path, Options::new().write_queue(64).migrations(PAIRS))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for id in 0..4000i64 {
        let db = db.clone();
        let cancel_after = Duration::from_micros(rand::rng().random_range(0..400));
        tasks.push(tokio::spawn(async move {
            let write = db.write(move |tx| {
                tx.execute("INSERT INTO debit (id) VALUES (?1)", [id])?;
                // Widen the window between the two halves of the job.
                std::hint::black_box((0..2_000).sum::<u64>());
                tx.execute("INSERT INTO credit (id) VALUES (?1)", [id])?;
                Ok::<_, rusqlite::Error>(id)
            });
            match tokio::time::timeout(cancel_after, write).await {
                Ok(result) => Some(result.expect("an uncancelled write succeeds")),
                Err(_) => None,
            }
        }));
    }
    let mut acknowledged = Vec::new();
    for t in tasks {
        if let Some(id) = t.await.unwrap() {
            acknowledged.push(id);
        }
    }
    // Let jobs that had started before their caller left finish.
    let check = db
        .write(|tx| {
            let halves: i64 = tx.query_row(
                "SELECT count(*) FROM debit FULL JOIN credit USING (id) WHERE debit.id IS NULL OR credit.id IS NULL",
                [],
                |r| r.get(0),
            )?;
            let rows: i64 = tx.query_row("SELECT count(*) FROM debit", [], |r| r.get(0))?;
            Ok::<_, rusqlite::Error>((halves, rows))
        })
        .await
        .unwrap();
    let (halves, rows) = check;
    assert_eq!(halves, 0, "a job left half of its changes");
    // The test exercised what it is about: callers left while waiting for room in the queue
    // (their jobs never entered it), after their job was queued (it was skipped), or after it
    // started (it ran to COMMIT). Only the last kind can be in the file uncalled-for.
    let skipped = db.stats().cancelled;
    assert!(
        acknowledged.len() < 4000 && skipped > 0,
        "no cancellation happened: {} acknowledged, {skipped} skipped",
        acknowledged.len()
    );
    assert!(
        rows as u64 <= 4000 - skipped,
        "{rows} rows: a skipped job reached the file"
    );
    for id in &acknowledged {
        let present: bool = db
            .read({
                let id = *id;
                move |c| {
                    c.query_row(
                        "SELECT EXISTS (SELECT 1 FROM debit WHERE id = ?1)",
                        [id],
                        |r| r.get(0),
                    )
                }
            })
            .await
            .unwrap();
        assert!(present, "acknowledged write {id} is missing");
    }
    assert!(rows as usize >= acknowledged.len());
}

static PAIRS: &[&str] = &[
    "CREATE TABLE debit (id INTEGER PRIMARY KEY)",
    "CREATE TABLE credit (id INTEGER PRIMARY KEY)",
];

async fn pair_present(db: &onewriter::Db, id: i64) -> (bool, bool) {
    db.read(move |c| {
        let has = |table: &str| {
            c.query_row(
                &format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = ?1)"),
                [id],
                |r| r.get::<_, bool>(0),
            )
        };
        Ok::<_, rusqlite::Error>((has("debit")?, has("credit")?))
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_write_cancelled_before_it_starts_never_runs() {
    let t = temp_path();
    let db = onewriter::Db::open(&t.path, Options::new().migrations(PAIRS))
        .await
        .unwrap();
    let gate = Gate::close(&db).await;
    let mut callers = Vec::new();
    for id in 0..20i64 {
        let db2 = db.clone();
        callers.push(tokio::spawn(async move {
            db2.write(move |tx| {
                tx.execute("INSERT INTO debit (id) VALUES (?1)", [id])?;
                tx.execute("INSERT INTO credit (id) VALUES (?1)", [id])
            })
            .await
        }));
        wait_for_write_queue(&db, (id + 1) as usize).await;
    }
    for c in &callers {
        c.abort();
    }
    for c in callers {
        assert!(c.await.unwrap_err().is_cancelled());
    }
    gate.open().await;
    // Queued behind the cancelled jobs: once it is answered, the writer has passed them.
    db.write(|tx| tx.execute_batch("SELECT 1")).await.unwrap();
    assert_eq!(db.stats().cancelled, 20, "every queued job was skipped");
    for id in 0..20 {
        assert_eq!(pair_present(&db, id).await, (false, false), "job {id} ran");
    }
}

#[tokio::test]
async fn a_write_cancelled_after_it_started_runs_to_commit() {
    let t = temp_path();
    let db = onewriter::Db::open(&t.path, Options::new().migrations(PAIRS))
        .await
        .unwrap();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let started_tx = std::sync::Mutex::new(Some(started_tx));
    let (finish_tx, finish_rx) = std::sync::mpsc::channel::<()>();
    let caller = tokio::spawn({
        let db = db.clone();
        async move {
            db.write(move |tx| {
                tx.execute("INSERT INTO debit (id) VALUES (1)", [])?;
                if let Some(started) = started_tx.lock().unwrap().take() {
                    let _ = started.send(());
                }
                let _ = finish_rx.recv();
                tx.execute("INSERT INTO credit (id) VALUES (1)", [])
            })
            .await
        }
    });
    started_rx.await.unwrap();
    caller.abort();
    assert!(caller.await.unwrap_err().is_cancelled());
    finish_tx.send(()).unwrap();
    // The next write is queued behind the cancelled one, so once it is answered the cancelled
    // job has finished.
    db.write(|tx| tx.execute_batch("SELECT 1")).await.unwrap();
    assert_eq!(
        pair_present(&db, 1).await,
        (true, true),
        "the started job committed whole"
    );
}
