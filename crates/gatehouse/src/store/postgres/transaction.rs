//! Transactions that retry on serialization failures and deadlocks.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use rand::Rng as _;
use sqlx::{PgConnection, PgPool};

use super::MAX_ATTEMPTS;

type TxFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 'c>>;

/// Runs `f` in a transaction and commits; on a serialization failure (SQLSTATE 40001) or a
/// deadlock (40P01), from any statement or from the commit, rolls back and runs `f` again after
/// a short, jittered, growing pause, up to [`MAX_ATTEMPTS`] times. `f` must therefore be safe to
/// run more than once: everything it decides, it decides from what it reads in the
/// transaction.
///
/// # Errors
/// The first error that is not a serialization failure or a deadlock, or the last one after
/// [`MAX_ATTEMPTS`] attempts.
pub async fn with_retrying_transaction<T, F>(pool: &PgPool, mut f: F) -> Result<T, sqlx::Error>
where
    F: for<'c> FnMut(&'c mut PgConnection) -> TxFuture<'c, T>,
{
    let mut attempt = 1;
    loop {
        let mut tx = pool.begin().await?;
        let outcome = match f(&mut tx).await {
            Ok(value) => tx.commit().await.map(|()| value),
            Err(e) => {
                // Dropping the transaction rolls it back; saying so spares the connection a
                // round trip on its next use.
                let _ = tx.rollback().await;
                Err(e)
            }
        };
        match outcome {
            Err(e) if is_retryable(&e) && attempt < MAX_ATTEMPTS => {
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

pub(super) fn is_retryable(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40001" | "40P01")))
}

/// 5, 10, 20, 40… ms, each with up to as much again of random jitter, so the transactions that
/// collided do not collide again in lockstep.
pub(super) fn backoff(attempt: u32) -> Duration {
    let base = 5u64 << attempt.min(6);
    Duration::from_millis(base + rand::rng().random_range(0..=base))
}
