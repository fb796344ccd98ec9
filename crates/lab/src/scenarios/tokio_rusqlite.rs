//! tokio-rusqlite as its docs show it: one `Connection`, whose closures run on one background
//! thread. Reads and writes share that thread, so reads cannot run while a write commits.

use super::{Contender, Opened, Setup};
use crate::workload::{self, OpError};

pub fn open(setup: Setup) -> Opened {
    Box::pin(async move {
        let conn = tokio_rusqlite::Connection::open(&setup.path).await?;
        let sync = setup.sync.pragma();
        conn.call(move |c| c.pragma_update(None, "synchronous", sync))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Box::new(TokioRusqlite { conn }) as Box<dyn Contender>)
    })
}

struct TokioRusqlite {
    conn: tokio_rusqlite::Connection,
}

fn unwrap(e: tokio_rusqlite::Error<rusqlite::Error>) -> OpError {
    match e {
        tokio_rusqlite::Error::Error(e) => e.into(),
        other => OpError {
            kind: workload::ErrorKind::Other,
            message: other.to_string(),
        },
    }
}

#[async_trait::async_trait]
impl Contender for TokioRusqlite {
    async fn rmw(&self, account: i64) -> Result<(), OpError> {
        self.conn
            .call(move |c| workload::rmw_immediate(c, account))
            .await
            .map_err(unwrap)
    }

    async fn read(&self, account: i64) -> Result<i64, OpError> {
        self.conn
            .call(move |c| workload::read(c, account))
            .await
            .map_err(unwrap)
    }

    async fn close(&self) {
        // Dropping the last handle stops the background thread; a clone's close would too.
        let _ = self.conn.clone().close().await;
    }
}
