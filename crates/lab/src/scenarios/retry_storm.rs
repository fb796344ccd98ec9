//! The story's phase 2: the naive pool with a 30 s busy timeout and an application retry loop
//! with exponential backoff around each transaction. Errors drop; latency explodes, because
//! transactions wait while holding locks and retries queue up behind each other.

use std::time::Duration;

use rand::Rng;
use sqlx::sqlite::SqlitePool;

use super::naive_pool::{deferred_rmw, point_read};
use super::{Contender, Opened, Setup};
use crate::scenarios::split_sqlx::{connect_options, pool};
use crate::workload::{ErrorKind, OpError};

const ATTEMPTS: u32 = 8;
const FIRST_BACKOFF: Duration = Duration::from_millis(10);

pub fn open(setup: Setup) -> Opened {
    Box::pin(async move {
        let options = connect_options(&setup).busy_timeout(Duration::from_secs(30));
        let pool = pool(options, 100).await?;
        Ok(Box::new(RetryStorm { pool }) as Box<dyn Contender>)
    })
}

struct RetryStorm {
    pool: SqlitePool,
}

#[async_trait::async_trait]
impl Contender for RetryStorm {
    async fn rmw(&self, account: i64) -> Result<(), OpError> {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            match deferred_rmw(&self.pool, account).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    let e = OpError::from(e);
                    let retryable = matches!(e.kind, ErrorKind::Busy | ErrorKind::BusySnapshot);
                    if !retryable || attempt == ATTEMPTS {
                        return Err(e);
                    }
                }
            }
            let jitter = rand::rng().random_range(0..=backoff.as_millis() as u64);
            tokio::time::sleep(backoff + Duration::from_millis(jitter)).await;
            backoff *= 2;
            attempt += 1;
        }
    }

    async fn read(&self, account: i64) -> Result<i64, OpError> {
        Ok(point_read(&self.pool, account).await?)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
