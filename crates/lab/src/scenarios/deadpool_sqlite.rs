//! deadpool-sqlite as its docs show it: a pool of rusqlite connections (default size: twice the
//! cores), each call an `interact` closure on a blocking thread. Writes from several
//! connections contend for the lock and wait in SQLite's busy handler.

use super::{Contender, Opened, Setup};
use crate::workload::{self, ErrorKind, OpError};
use deadpool_sqlite::{Config, Hook, HookError, Pool, Runtime};

pub fn open(setup: Setup) -> Opened {
    Box::pin(async move {
        let sync = setup.sync.pragma();
        let pool = Config::new(&setup.path)
            .builder(Runtime::Tokio1)?
            .post_create(Hook::async_fn(move |conn, _| {
                Box::pin(async move {
                    conn.interact(move |c| c.pragma_update(None, "synchronous", sync))
                        .await
                        .map_err(|e| HookError::message(e.to_string()))?
                        .map_err(HookError::Backend)
                })
            }))
            .build()?;
        Ok(Box::new(DeadpoolSqlite { pool }) as Box<dyn Contender>)
    })
}

struct DeadpoolSqlite {
    pool: Pool,
}

impl DeadpoolSqlite {
    async fn interact<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, OpError> {
        let conn = self.pool.get().await.map_err(|e| OpError {
            kind: ErrorKind::Other,
            message: e.to_string(),
        })?;
        conn.interact(f)
            .await
            .map_err(|e| OpError {
                kind: ErrorKind::Other,
                message: e.to_string(),
            })?
            .map_err(OpError::from)
    }
}

#[async_trait::async_trait]
impl Contender for DeadpoolSqlite {
    async fn rmw(&self, account: i64) -> Result<(), OpError> {
        self.interact(move |c| workload::rmw_immediate(c, account))
            .await
    }

    async fn read(&self, account: i64) -> Result<i64, OpError> {
        self.interact(move |c| workload::read(c, account)).await
    }

    async fn close(&self) {
        self.pool.close();
    }
}
