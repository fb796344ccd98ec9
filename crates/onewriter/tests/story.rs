//! The story's test suite, reproduced: many concurrent tasks doing read-modify-write
//! transactions on one file. A pool of connections fails this with "database is busy"; one
//! writer must pass it with zero errors and exactly the acknowledged work on disk.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use common::{open_bank, temp_path, totals};
use onewriter::rusqlite;
use onewriter::{Options, Synchronous};

const ACCOUNTS: i64 = 16;

async fn concurrent_read_modify_write(workers: i64, per_worker: i64, options: Options) {
    let t = temp_path();
    let db = open_bank(&t.path, options, ACCOUNTS).await;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut sum = 0;
            for i in 0..per_worker {
                let account = (w * per_worker + i) % ACCOUNTS + 1;
                let amount = w + 1;
                // A read outside the write (like a handler looking something up first)…
                db.read(move |c| {
                    c.query_row(
                        "SELECT balance FROM account WHERE id = ?1",
                        [account],
                        |r| r.get::<_, i64>(0),
                    )
                })
                .await
                .expect("read");
                // …then the read-modify-write, whole, inside one write transaction.
                db.write(move |tx| common::deposit(tx, account, amount))
                    .await
                    .expect("zero errors");
                sum += amount;
            }
            sum
        }));
    }
    let mut acknowledged = 0;
    for t in tasks {
        acknowledged += t.await.unwrap();
    }
    let stats = db.stats();
    db.close().await.unwrap();
    let (balances, ledger_sum, ledger_rows) = totals(&t.path);
    assert_eq!(
        ledger_rows,
        workers * per_worker,
        "every acknowledged transaction, once"
    );
    assert_eq!(ledger_sum, acknowledged);
    assert_eq!(
        balances, acknowledged,
        "no lost update: balances match the ledger"
    );
    assert_eq!(stats.write_errors, 0);
    // One writer never waits out a busy lock in its own process. It may find the lock taken
    // for a moment: SQLite lets a reader that sees a torn wal-index header take the write lock
    // while it rebuilds the index (`Stats::busy_waits`); the writer retries its `BEGIN
    // IMMEDIATE` and nobody sees it. Rare, never a timeout.
    assert_eq!(stats.busy_timeouts, 0, "no caller ever saw a busy lock");
    assert!(
        stats.busy_waits * 100 <= (workers * per_worker) as u64,
        "the lock was found taken at most once in a hundred transactions: {} in {}",
        stats.busy_waits,
        workers * per_worker
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn eight_workers_read_modify_write_without_a_single_error() {
    concurrent_read_modify_write(8, 500, Options::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn sixty_four_workers_read_modify_write_without_a_single_error() {
    concurrent_read_modify_write(64, 100, Options::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn sixty_four_workers_with_synchronous_full_and_no_batching() {
    concurrent_read_modify_write(
        64,
        30,
        Options::new().synchronous(Synchronous::Full).max_batch(1),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_multi_statement_read_never_sees_a_transfer_half_done() {
    let t = temp_path();
    let db = open_bank(&t.path, Options::new(), 2).await;
    db.write(|tx| tx.execute("UPDATE account SET balance = 1000", []))
        .await
        .unwrap();
    let writer = tokio::spawn({
        let db = db.clone();
        async move {
            for i in 0..2000 {
                let (from, to) = if i % 2 == 0 { (1, 2) } else { (2, 1) };
                db.write(move |tx| {
                    common::deposit(tx, from, -7)?;
                    common::deposit(tx, to, 7)
                })
                .await
                .unwrap();
            }
        }
    });
    let mut reads = 0;
    while !writer.is_finished() {
        let (a, b) = db
            .read(|c| {
                let one = |id: i64| {
                    c.query_row("SELECT balance FROM account WHERE id = ?1", [id], |r| {
                        r.get::<_, i64>(0)
                    })
                };
                Ok::<_, rusqlite::Error>((one(1)?, one(2)?))
            })
            .await
            .unwrap();
        assert_eq!(
            a + b,
            2000,
            "two statements of one read saw different snapshots"
        );
        reads += 1;
    }
    writer.await.unwrap();
    assert!(reads > 0);
}
