//! `with_retrying_transaction` on a real PostgreSQL server: transactions that fail with a
//! serialization failure (40001) or a deadlock (40P01) are run again until they commit, and a
//! closure's error that is not one of those is returned at once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::backend::{Backend, Database};
use gatehouse::store::postgres::with_retrying_transaction;
use sqlx::PgPool;

async fn pool() -> Option<(PgPool, Database)> {
    let db = Database::fresh(Backend::Postgres).await?;
    let pool = PgPool::connect(&db.url).await.unwrap();
    sqlx::query("CREATE TABLE counter (id INTEGER PRIMARY KEY, value BIGINT NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO counter VALUES (1, 0), (2, 0)")
        .execute(&pool)
        .await
        .unwrap();
    Some((pool, db))
}

/// The SQLSTATE of a database error (its message does not carry it), or the whole error.
fn sqlstate(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.code().map_or_else(|| e.to_string(), |c| c.into_owned()),
        _ => e.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serialization_failures_are_retried_until_every_increment_lands() {
    let Some((pool, _db)) = pool().await else {
        return;
    };
    let attempts = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (pool, attempts) = (pool.clone(), Arc::clone(&attempts));
            tokio::spawn(async move {
                with_retrying_transaction(&pool, |c| {
                    let attempts = Arc::clone(&attempts);
                    Box::pin(async move {
                        attempts.fetch_add(1, Ordering::SeqCst);
                        sqlx::query("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
                            .execute(&mut *c)
                            .await?;
                        let v: i64 = sqlx::query_scalar("SELECT value FROM counter WHERE id = 1")
                            .fetch_one(&mut *c)
                            .await?;
                        // Long enough that the others read the same value meanwhile.
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        sqlx::query("UPDATE counter SET value = $1 WHERE id = 1")
                            .bind(v + 1)
                            .execute(&mut *c)
                            .await?;
                        Ok(())
                    })
                })
                .await
            })
        })
        .collect();
    let mut failed = Vec::new();
    for t in tasks {
        if let Err(e) = t.await.unwrap() {
            failed.push(sqlstate(&e));
        }
    }
    let value: i64 = sqlx::query_scalar("SELECT value FROM counter WHERE id = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    // Six attempts each is a lot of patience, not infinite: under extreme contention a task
    // may give up, and then it must say so rather than lose its increment silently.
    assert_eq!(value as usize + failed.len(), 8, "{failed:?}");
    assert!(failed.iter().all(|code| code == "40001"), "{failed:?}");
    assert!(
        attempts.load(Ordering::SeqCst) > 8,
        "serialization failures happened and were retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlock_is_retried_and_both_transactions_commit() {
    let Some((pool, _db)) = pool().await else {
        return;
    };
    let attempts = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    // Two transactions lock rows 1 and 2 in opposite orders: PostgreSQL kills one with 40P01.
    let run = |first: i32, second: i32| {
        let (pool, attempts, barrier) = (pool.clone(), Arc::clone(&attempts), Arc::clone(&barrier));
        tokio::spawn(async move {
            with_retrying_transaction(&pool, |c| {
                let (attempts, barrier) = (Arc::clone(&attempts), Arc::clone(&barrier));
                Box::pin(async move {
                    let attempt = attempts.fetch_add(1, Ordering::SeqCst);
                    sqlx::query("UPDATE counter SET value = value + 1 WHERE id = $1")
                        .bind(first)
                        .execute(&mut *c)
                        .await?;
                    // Only the first two attempts meet, so the retry runs alone.
                    if attempt < 2 {
                        barrier.wait().await;
                    }
                    sqlx::query("UPDATE counter SET value = value + 1 WHERE id = $1")
                        .bind(second)
                        .execute(&mut *c)
                        .await?;
                    Ok(())
                })
            })
            .await
        })
    };
    let (a, b) = (run(1, 2), run(2, 1));
    a.await.unwrap().unwrap();
    b.await.unwrap().unwrap();
    let values: Vec<i64> = sqlx::query_scalar("SELECT value FROM counter ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(values, [2, 2], "both transactions committed exactly once");
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        3,
        "one of them was retried once"
    );
}

#[tokio::test]
async fn other_errors_are_not_retried() {
    let Some((pool, _db)) = pool().await else {
        return;
    };
    let attempts = Arc::new(AtomicUsize::new(0));
    let result: Result<(), sqlx::Error> = with_retrying_transaction(&pool, |c| {
        let attempts = Arc::clone(&attempts);
        Box::pin(async move {
            attempts.fetch_add(1, Ordering::SeqCst);
            sqlx::query("UPDATE counter SET value = 100 WHERE id = 1")
                .execute(&mut *c)
                .await?;
            sqlx::query("INSERT INTO counter VALUES (1, 0)")
                .execute(&mut *c)
                .await?;
            Ok(())
        })
    })
    .await;
    assert!(result.unwrap_err().to_string().contains("duplicate key"));
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    let v: i64 = sqlx::query_scalar("SELECT value FROM counter WHERE id = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(v, 0, "the failed transaction was rolled back");
}
