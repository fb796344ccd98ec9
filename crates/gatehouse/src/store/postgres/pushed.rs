//! Pushed authorization requests (`oidc::par`).

use async_trait::async_trait;

use super::{PgStore, db_error};
use crate::clock::UnixTime;
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
        // One statement: of two requests taking the same one, one gets it.
        sqlx::query_scalar(
            "DELETE FROM pushed_request
             WHERE request_uri_hash = $1 AND client_id = $2 AND expires_at > $3
             RETURNING request",
        )
        .bind(request_uri_hash)
        .bind(client_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)
    }
}
