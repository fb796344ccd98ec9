//! Pushed authorization requests (`oidc::par`).

use async_trait::async_trait;
use sqlx::Row as _;

use super::transaction::with_retrying_transaction;
use super::{PgStore, db_error};
use crate::clock::UnixTime;
use crate::oidc::par::{self, Pushed};
use crate::store::{PushedRequests, StoreResult};

#[async_trait]
impl PushedRequests for PgStore {
    async fn push_request(
        &self,
        request_uri_hash: &str,
        client_id: &str,
        request: &str,
        expires_at: UnixTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO pushed_request (request_uri_hash, client_id, request, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(request_uri_hash)
        .bind(client_id)
        .bind(request)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn take_pushed_request(
        &self,
        request_uri_hash: &str,
        client_id: &str,
        now: UnixTime,
    ) -> StoreResult<Option<String>> {
        // The row is locked while it is decided on: of two requests taking it, one gets it.
        with_retrying_transaction(&self.pool, |c| {
            let (hash, client_id) = (request_uri_hash.to_owned(), client_id.to_owned());
            Box::pin(async move {
                let pushed = sqlx::query(
                    "SELECT client_id, request, expires_at FROM pushed_request
                     WHERE request_uri_hash = $1 FOR UPDATE",
                )
                .bind(&hash)
                .fetch_optional(&mut *c)
                .await?
                .map(|r| -> Result<Pushed, sqlx::Error> {
                    Ok(Pushed {
                        client_id: r.try_get(0)?,
                        request: r.try_get(1)?,
                        expires_at: r.try_get(2)?,
                    })
                })
                .transpose()?;
                let Some(pushed) = pushed.filter(|p| par::may_take(p, &client_id, now)) else {
                    return Ok(None);
                };
                sqlx::query("DELETE FROM pushed_request WHERE request_uri_hash = $1")
                    .bind(&hash)
                    .execute(&mut *c)
                    .await?;
                Ok(Some(pushed.request))
            })
        })
        .await
        .map_err(db_error)
    }
}
