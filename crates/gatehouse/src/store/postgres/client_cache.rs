//! How an instance on PostgreSQL hears of changes to clients made anywhere, so that it may keep
//! them between requests (`store::client_cache`): a trigger (migration 23) notifies
//! [`CHANNEL`] with the client's id when a row is updated or deleted, and each instance
//! listening forgets that client once the change commits.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;

pub(super) use crate::store::client_cache::ClientCache;

/// The channel the trigger notifies (`0023_client_changes.sql`).
pub(super) const CHANNEL: &str = "gatehouse_client_changed";
/// How long the listener waits before it connects again after a failure.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Hears of changes to clients for `cache` until aborted (the store's drop aborts it).
pub(super) fn listen(pool: PgPool, cache: Arc<ClientCache>) -> tokio::task::AbortHandle {
    tokio::spawn(async move {
        loop {
            let listener = async {
                let mut listener = PgListener::connect_with(&pool).await?;
                listener.listen(CHANNEL).await?;
                Ok::<_, sqlx::Error>(listener)
            };
            match listener.await {
                Ok(mut listener) => {
                    cache.forget_all(true);
                    let error = loop {
                        match listener.try_recv().await {
                            Ok(Some(change)) => cache.forget(change.payload()),
                            // The connection was lost and made again: what changed meanwhile
                            // was not heard.
                            Ok(None) => cache.forget_all(true),
                            Err(e) => break e,
                        }
                    };
                    cache.forget_all(false);
                    tracing::warn!(error = %error, "not hearing of client changes: clients are read for each request until the connection is back");
                }
                Err(error) => {
                    cache.forget_all(false);
                    tracing::debug!(error = %error, "cannot listen for client changes yet");
                }
            }
            tokio::time::sleep(RECONNECT_AFTER).await;
        }
    })
    .abort_handle()
}

/// Stops the listener when the store goes.
pub(super) struct Listening(pub(super) tokio::task::AbortHandle);

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.abort();
    }
}
