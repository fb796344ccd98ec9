//! The story's phase 3: `BEGIN IMMEDIATE`, the queries and `COMMIT` sent through the pool as
//! separate calls. Each call may land on a different connection: the `BEGIN` leaves some
//! connection in a transaction (holding the write lock) back in the pool, the `UPDATE` runs in
//! autocommit on another, the `COMMIT` lands where no transaction is active. Expect "cannot
//! start a transaction within a transaction", busy errors behind the orphaned lock, and work
//! applied in halves.

use sqlx::sqlite::SqlitePool;

use super::naive_pool::point_read;
use super::{Contender, Opened, Setup};
use crate::scenarios::split_sqlx::{connect_options, pool};
use crate::workload::{INSERT_LEDGER, OpError, SELECT_BALANCE, UPDATE_BALANCE};

pub fn open(setup: Setup) -> Opened {
    Box::pin(async move {
        let pool = pool(connect_options(&setup), 100).await?;
        Ok(Box::new(RawImmediate { pool }) as Box<dyn Contender>)
    })
}

struct RawImmediate {
    pool: SqlitePool,
}

#[async_trait::async_trait]
impl Contender for RawImmediate {
    async fn rmw(&self, account: i64) -> Result<(), OpError> {
        let pool = &self.pool;
        sqlx::query("BEGIN IMMEDIATE").execute(pool).await?;
        let balance: i64 = sqlx::query_scalar(SELECT_BALANCE)
            .bind(account)
            .fetch_one(pool)
            .await?;
        sqlx::query(UPDATE_BALANCE)
            .bind(balance + 1)
            .bind(account)
            .execute(pool)
            .await?;
        sqlx::query(INSERT_LEDGER)
            .bind(account)
            .execute(pool)
            .await?;
        sqlx::query("COMMIT").execute(pool).await?;
        Ok(())
    }

    async fn read(&self, account: i64) -> Result<i64, OpError> {
        Ok(point_read(&self.pool, account).await?)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
