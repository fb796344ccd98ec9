//! The story's phase 1: PostgreSQL habits on SQLite. A pool of 100 connections, deferred
//! transactions (`BEGIN`), sqlx's default 5 s busy timeout. Two deferred transactions that both
//! read and then write cannot both upgrade: one gets `SQLITE_BUSY` (or `SQLITE_BUSY_SNAPSHOT`,
//! which no busy timeout waits out).

use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::{Contender, Opened, Setup};
use crate::scenarios::split_sqlx::{connect_options, pool};
use crate::workload::{INSERT_LEDGER, OpError, SELECT_BALANCE, UPDATE_BALANCE};

pub fn open(setup: Setup) -> Opened {
    Box::pin(async move {
        let pool = pool(connect_options(&setup), 100).await?;
        Ok(Box::new(NaivePool { pool }) as Box<dyn Contender>)
    })
}

pub struct NaivePool {
    pub pool: SqlitePool,
}

/// A deferred read-modify-write through sqlx's own transaction API.
pub async fn deferred_rmw(pool: &SqlitePool, account: i64) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    rmw_statements(&mut tx, account).await?;
    tx.commit().await
}

/// The three statements of a read-modify-write, on a connection already in a transaction.
pub async fn rmw_statements(conn: &mut SqliteConnection, account: i64) -> Result<(), sqlx::Error> {
    let balance: i64 = sqlx::query_scalar(SELECT_BALANCE)
        .bind(account)
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query(UPDATE_BALANCE)
        .bind(balance + 1)
        .bind(account)
        .execute(&mut *conn)
        .await?;
    sqlx::query(INSERT_LEDGER)
        .bind(account)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn point_read(pool: &SqlitePool, account: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(SELECT_BALANCE)
        .bind(account)
        .fetch_one(pool)
        .await
}

#[async_trait::async_trait]
impl Contender for NaivePool {
    async fn rmw(&self, account: i64) -> Result<(), OpError> {
        Ok(deferred_rmw(&self.pool, account).await?)
    }

    async fn read(&self, account: i64) -> Result<i64, OpError> {
        Ok(point_read(&self.pool, account).await?)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
