//! onewriter: one writer thread, reader threads, a read-modify-write as one closure.

use onewriter::{Db, Options, Synchronous};

use super::{Contender, Opened, Setup};
use crate::engine::EngineSummary;
use crate::workload::{self, OpError, Sync};

pub fn open_unbatched(setup: Setup) -> Opened {
    open(setup, Some(1))
}

/// Group commit as onewriter ships it: the default `max_batch`.
pub fn open_batched(setup: Setup) -> Opened {
    open(setup, None)
}

fn open(setup: Setup, max_batch: Option<usize>) -> Opened {
    Box::pin(async move {
        let synchronous = match setup.sync {
            Sync::Normal => Synchronous::Normal,
            Sync::Full => Synchronous::Full,
        };
        let mut options = Options::new().synchronous(synchronous);
        if let Some(n) = max_batch {
            options = options.max_batch(n);
        }
        let db = Db::open(&setup.path, options).await?;
        Ok(Box::new(OneWriter { db }) as Box<dyn Contender>)
    })
}

struct OneWriter {
    db: Db,
}

#[async_trait::async_trait]
impl Contender for OneWriter {
    async fn rmw(&self, account: i64) -> Result<(), OpError> {
        Ok(self.db.write(move |tx| workload::rmw(tx, account)).await?)
    }

    async fn read(&self, account: i64) -> Result<i64, OpError> {
        Ok(self.db.read(move |c| workload::read(c, account)).await?)
    }

    fn engine(&self) -> Option<EngineSummary> {
        Some(EngineSummary::from_stats(&self.db.stats()))
    }

    async fn close(&self) {
        let _ = self.db.close().await;
    }
}
