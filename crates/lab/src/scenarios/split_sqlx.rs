//! The story's fix: a read-only pool for reads and a writer pool limited to one connection,
//! with `BEGIN IMMEDIATE`. Correct, but every write still crosses sqlx's per-connection worker
//! thread several times (one round trip per statement), and commits one by one.

use std::str::FromStr;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::naive_pool::{point_read, rmw_statements};
use super::{Contender, Opened, Setup};
use crate::workload::{OpError, Sync};

/// sqlx's default pool size, used for the reader pool as the story did.
const READERS: u32 = 10;

pub fn connect_options(setup: &Setup) -> SqliteConnectOptions {
    let sync = match setup.sync {
        Sync::Normal => SqliteSynchronous::Normal,
        Sync::Full => SqliteSynchronous::Full,
    };
    SqliteConnectOptions::from_str("sqlite://")
        .unwrap_or_default()
        .filename(&setup.path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(sync)
}

pub async fn pool(options: SqliteConnectOptions, size: u32) -> Result<SqlitePool, sqlx::Error> {
    SqlitePoolOptions::new()
        .max_connections(size)
        .connect_with(options)
        .await
}

pub fn open(setup: Setup) -> Opened {
    Box::pin(async move {
        let writer = pool(connect_options(&setup), 1).await?;
        let readers = pool(connect_options(&setup).read_only(true), READERS).await?;
        Ok(Box::new(SplitSqlx { writer, readers }) as Box<dyn Contender>)
    })
}

struct SplitSqlx {
    writer: SqlitePool,
    readers: SqlitePool,
}

#[async_trait::async_trait]
impl Contender for SplitSqlx {
    async fn rmw(&self, account: i64) -> Result<(), OpError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        rmw_statements(&mut tx, account).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn read(&self, account: i64) -> Result<i64, OpError> {
        Ok(point_read(&self.readers, account).await?)
    }

    async fn close(&self) {
        self.readers.close().await;
        self.writer.close().await;
    }
}
