//! async-sqlite's `Pool` as its docs show it: WAL mode, one connection per core, each on its
//! own thread, picked round-robin. Writes from several connections contend for the lock and
//! wait in SQLite's busy handler.

use super::{Contender, Opened, Setup};
use crate::workload::{self, ErrorKind, OpError};
use async_sqlite::{JournalMode, Pool, PoolBuilder};

pub fn open(setup: Setup) -> Opened {
    Box::pin(async move {
        let pool = PoolBuilder::new()
            .path(&setup.path)
            .journal_mode(JournalMode::Wal)
            .open()
            .await?;
        let sync = setup.sync.pragma();
        for r in pool
            .conn_for_each(move |c| c.pragma_update(None, "synchronous", sync))
            .await
        {
            r?;
        }
        Ok(Box::new(AsyncSqlite { pool }) as Box<dyn Contender>)
    })
}

struct AsyncSqlite {
    pool: Pool,
}

fn unwrap(e: async_sqlite::Error) -> OpError {
    match e {
        async_sqlite::Error::Rusqlite(e) => e.into(),
        other => OpError {
            kind: ErrorKind::Other,
            message: other.to_string(),
        },
    }
}

#[async_trait::async_trait]
impl Contender for AsyncSqlite {
    async fn rmw(&self, account: i64) -> Result<(), OpError> {
        self.pool
            .conn_mut(move |c| workload::rmw_immediate(c, account))
            .await
            .map_err(unwrap)
    }

    async fn read(&self, account: i64) -> Result<i64, OpError> {
        self.pool
            .conn(move |c| workload::read(c, account))
            .await
            .map_err(unwrap)
    }

    async fn close(&self) {
        let _ = self.pool.close().await;
    }
}
